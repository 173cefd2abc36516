//! Yearly/monthly (prepaid, `chargingMode=prePaid`) servers: what ECS refuses for them and
//! the BSS call that removes them.
//!
//! * The pay-per-use resize (`POST /v1/.../resize`) "cannot be used to modify the
//!   specifications of a yearly/monthly ECS" (API reference ecs_02_0210, 接口约束,
//!   https://support.huaweicloud.com/api-ecs/ecs_02_0210.html); the v1.1 resize does both
//!   and answers prepaid servers with an `order_id` (ecs_02_0209,
//!   https://support.huaweicloud.com/api-ecs/ecs_02_0209.html; SDK
//!   `huaweicloudsdkecs/v2/model/resize_server_response.py`). The page names no error code
//!   for the v1 call; the emulator answers `Ecs.0005` (invalid parameter, 400).
//! * DeleteServers "仅支持删除按需计费的云服务器" (ecs_02_0103); a prepaid server is
//!   `Ecs.0513` (400, "请执行退订操作", error-code table ecs_07_0002).
//! * BSS CancelResourcesSubscription, `POST /v2/orders/subscriptions/resources/unsubscribe`
//!   on `bss.myhuaweicloud.com` (SDK `huaweicloudsdkbss/v2/bss_client.py`
//!   `cancel_resources_subscription`; body `UnsubscribeResourcesReq`: `resource_ids` at most
//!   10 main-resource ids, `unsubscribe_type` 1 = the resource and its renewals, 2 = only
//!   the renewals), answers `order_ids` and `fail_resource_infos`
//!   (`cancel_resources_subscription_response.py`).
//! * A prepaid create with `key_name` needs `metadata.op_svc_userid`, the IAM user id (SDK
//!   `huaweicloudsdkecs/v2/model/pre_paid_server.py` `metadata`; API ecs_02_0101).

use serde_json::{Map, Value, json};

use super::{Answer, HwError, HwResult, catalog, jobs, projects, render};
use crate::app::AppState;
use crate::config::{Account, Provider};
use crate::store::{Instance, VmState, new_uuid};

/// The store's charge type of a yearly/monthly server.
pub const PREPAID: &str = "prePaid";

pub fn is_prepaid(i: &Instance) -> bool {
    i.charge_type == PREPAID
}

/// The v1 (pay-per-use) resize of a prepaid server.
pub fn postpaid_resize_refused(id: &str) -> HwError {
    HwError::invalid(format!(
        "Server {id} is a yearly/monthly server: change its flavor with POST \
         /v1.1/{{project_id}}/cloudservers/{id}/resize."
    ))
}

/// DeleteServers with a prepaid server among its ids.
pub fn delete_refused(id: &str) -> HwError {
    HwError::ecs(
        400,
        "Ecs.0513",
        format!(
            "Server {id} is a yearly/monthly server and cannot be deleted: unsubscribe it \
             (BSS CancelResourcesSubscription)."
        ),
    )
}

/// `metadata.op_svc_userid` of a prepaid create that injects a key pair.
pub fn check_op_svc_userid(
    account: &Account,
    server: &Map<String, Value>,
    prepaid: bool,
    key_name: Option<&str>,
) -> HwResult<()> {
    if !prepaid || key_name.is_none() {
        return Ok(());
    }
    let given = server
        .get("metadata")
        .and_then(Value::as_object)
        .and_then(|m| m.get("op_svc_userid"))
        .and_then(Value::as_str);
    match given {
        Some(u) if u == projects::user_id(account) => Ok(()),
        Some(u) => Err(HwError::invalid(format!(
            "Invalid parameter metadata.op_svc_userid: {u} is not the IAM user of this AK."
        ))),
        None => Err(HwError::invalid(
            "Invalid parameter: metadata.op_svc_userid (the IAM user id) is required to create \
             a yearly/monthly server with key_name.",
        )),
    }
}

/// ChangeServerOsWithCloudInit login rules (SDK
/// `huaweicloudsdkecs/v2/model/change_server_os_with_cloud_init_option.py`; API ecs_02_0202,
/// https://support.huaweicloud.com/api-ecs/ecs_02_0202.html): with `keyname`, `userid` (the
/// IAM user) "如果使用秘钥方式切换操作系统，则该字段为必选字段"; with neither `adminpass` nor
/// `keyname`, `metadata.user_data` must be given. No specific code is documented: Ecs.0005.
pub fn check_changeos_login(
    account: &Account,
    opt: &Map<String, Value>,
    key: Option<&str>,
    password: bool,
    user_data: bool,
) -> HwResult<()> {
    let userid = opt
        .get("userid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty());
    if key.is_some() {
        match userid {
            None => {
                return Err(HwError::invalid(
                    "Invalid parameter: userid is required when keyname is set.",
                ));
            }
            Some(u) if u != projects::user_id(account) => {
                return Err(HwError::invalid(format!(
                    "Invalid parameter userid: {u} is not the IAM user of this AK."
                )));
            }
            Some(_) => {}
        }
    }
    if key.is_none() && !password && !user_data {
        return Err(HwError::invalid(
            "Invalid parameter: adminpass, keyname or metadata.user_data is required.",
        ));
    }
    Ok(())
}

fn bss_invalid(message: impl Into<String>) -> HwError {
    HwError::gateway(400, "CBC.0100", message)
}

/// `POST /v2/orders/subscriptions/resources/unsubscribe` for the account (any region).
pub fn unsubscribe(
    app: &AppState,
    account: &Account,
    body: &[u8],
    request_id: &str,
    now: i64,
) -> HwResult<Answer> {
    let m = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => return Err(bss_invalid("The request body is invalid.")),
    };
    let ids: Vec<String> = match m.get("resource_ids") {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= 10 => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| bss_invalid("resource_ids must be strings."))?,
        _ => {
            return Err(bss_invalid(
                "resource_ids is required: 1 to 10 main resource ids.",
            ));
        }
    };
    let kind = m.get("unsubscribe_type").and_then(Value::as_i64);
    if !matches!(kind, Some(1) | Some(2)) {
        return Err(bss_invalid("unsubscribe_type must be 1 or 2."));
    }
    let d = app.settings().transition_delays_ms;
    let mut store = app.store();
    store.sweep(now);
    let mut failed = Vec::new();
    let mut orders = Vec::new();
    for id in &ids {
        let usable = store.get(id, now).filter(|i| {
            i.provider == Provider::Huawei
                && i.account == account.key_id
                && !matches!(
                    i.state_at(now),
                    VmState::Terminating | VmState::Terminated | VmState::Gone
                )
        });
        let reason = match usable {
            None => Some("The resource does not exist or has been unsubscribed."),
            Some(i) if !is_prepaid(i) => Some("The resource is not a yearly/monthly resource."),
            Some(_) => None,
        };
        if let Some(msg) = reason {
            failed.push(json!({"resource_id": id, "error_code": "CBC.0100", "error_msg": msg}));
            continue;
        }
        if kind == Some(2) {
            // Only the renewals: nothing renewed in the emulator, the resource stays.
            orders.push(format!("CS{}", &new_uuid().replace('-', "")[..18]));
            continue;
        }
        let Some(i) = store.get_mut(id, now) else {
            continue;
        };
        let before = render::status(i, now).0;
        i.extra.insert(
            "status_before_delete".into(),
            Value::String(before.to_string()),
        );
        for dd in &mut i.data_disks {
            dd.delete_with_instance = true;
        }
        i.set_schedule(
            now,
            &[
                (VmState::Terminating, Some(d.terminating)),
                (VmState::Terminated, Some(d.shutdown)),
                (VmState::Gone, None),
            ],
        );
        i.record_operation(
            "CancelResourcesSubscription",
            request_id,
            now,
            now + d.terminating as i64,
        );
        let project = i.project_id.clone().unwrap_or_default();
        jobs::create(
            &project,
            "deleteServers",
            "deleteServer",
            now,
            now + d.terminating as i64,
            vec![id.clone()],
            None,
        );
        orders.push(format!("CS{}", &new_uuid().replace('-', "")[..18]));
    }
    Ok(Answer::ok(
        json!({"order_ids": orders, "fail_resource_infos": failed}),
    ))
}

/// ChangeServerOsWithCloudInit of a yearly/monthly server (API
/// https://support.huaweicloud.com/api-ecs/ecs_02_0202.html; error codes ecs_07_0002):
/// a server on a Marketplace image, or a change to one, is refused with Ecs.0510 ("包周期
/// 云服务器使用市场镜像，不支持切换操作系统"); `isAutoPay` is the string "true" or "false"
/// (SDK change_server_os_with_cloud_init_option.py `is_auto_pay: str`). A change that
/// changes the price (here: Linux ↔ Windows, Windows images are charged) is an order, paid
/// from the account only with `isAutoPay` "true" (default: manual payment, the order waits);
/// the emulator refuses such a change without it (Ecs.0005) rather than model a pending
/// order.
pub fn check_prepaid_changeos(
    i: &Instance,
    opt: &Map<String, Value>,
    target_image: &catalog::ImageInfo,
) -> HwResult<()> {
    let auto_pay = match opt.get("isAutoPay") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "true" || s == "false" => Some(s == "true"),
        Some(_) => {
            return Err(HwError::invalid(
                "Invalid parameter isAutoPay: must be the string true or false.",
            ));
        }
    };
    if !is_prepaid(i) {
        return Ok(());
    }
    let market = |id: &str| catalog::image(id).is_some_and(|x| x.image_type == "market");
    if market(&i.image_id) || target_image.image_type == "market" {
        return Err(HwError::ecs(
            400,
            "Ecs.0510",
            "Yearly/monthly ECSs using Marketplace images do not support OS change.",
        ));
    }
    let current = catalog::image(&i.image_id).map(|x| x.os_type);
    if current.is_some_and(|os| os != target_image.os_type) && auto_pay != Some(true) {
        return Err(HwError::invalid(
            "A yearly/monthly OS change between Linux and Windows changes the price: the emulator only accepts it with isAutoPay=true.",
        ));
    }
    Ok(())
}
