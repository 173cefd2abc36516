//! The yearly/monthly (prepaid) rules of [`super::billing`], one test per rule (sources in
//! that module; docs/provider-contract.md Huawei §3, §7, §11).

use serde_json::{Value, json};

use super::actions::{self, Ctx};
use super::{Answer, HwError, Op, billing, projects};
use crate::app::AppState;
use crate::config::{
    Account, Accounts, HUAWEI_DEMO_KEY_ID, HUAWEI_DEMO_PROJECT, Provider, Settings,
};
use crate::store::{Store, VmState, new_uuid, now_ms};

const HOUR_MS: i64 = 3600 * 1000;

fn app() -> AppState {
    AppState::new(Accounts::demo(), Settings::default(), Store::new(), None)
}

fn account() -> Account {
    Accounts::demo()
        .find(Provider::Huawei, HUAWEI_DEMO_KEY_ID)
        .unwrap()
        .clone()
}

fn run(app: &AppState, op: &Op, body: &Value, now: i64) -> Result<Answer, HwError> {
    let account = account();
    let bytes = serde_json::to_vec(body).unwrap();
    let ctx = Ctx {
        app,
        account: &account,
        project: HUAWEI_DEMO_PROJECT,
        region: "cn-north-4",
        query: &[],
        body: &bytes,
        client_token: Some(new_uuid()),
        request_id: "req",
        now,
        launch_failed: false,
    };
    actions::run(op, &ctx)
}

fn server(prepaid: bool, metadata: Option<Value>) -> Value {
    let mut s = json!({
        "imageRef": "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61",
        "flavorRef": "s6.medium.2",
        "name": "sub",
        "vpcid": "0f3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
        "nics": [{"subnet_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}],
        "root_volume": {"volumetype": "SSD"},
        "availability_zone": "cn-north-4a",
        "key_name": "kp-1",
    });
    if prepaid {
        s["extendparam"] = json!({"chargingMode": "prePaid", "periodType": "month",
                                  "periodNum": 1, "isAutoPay": "true"});
    }
    if let Some(m) = metadata {
        s["metadata"] = m;
    }
    json!({ "server": s })
}

fn create(app: &AppState, prepaid: bool, now: i64) -> String {
    let meta = json!({"op_svc_userid": projects::user_id(&account())});
    let a = run(
        app,
        &Op::CreateServers { v11: true },
        &server(prepaid, Some(meta)),
        now,
    )
    .expect("create");
    a.body.unwrap()["serverIds"][0]
        .as_str()
        .expect("server id")
        .to_string()
}

fn code(r: Result<Answer, HwError>) -> String {
    match r {
        Ok(a) => format!("{}", a.status),
        Err(e) => e.code,
    }
}

#[test]
fn a_prepaid_create_with_a_key_needs_the_iam_user_id() {
    let app = app();
    let now = now_ms();
    let op = Op::CreateServers { v11: true };
    assert_eq!(code(run(&app, &op, &server(true, None), now)), "Ecs.0005");
    let wrong = json!({"op_svc_userid": "0123456789abcdef0123456789abcdef"});
    assert_eq!(
        code(run(&app, &op, &server(true, Some(wrong)), now)),
        "Ecs.0005"
    );
    // Pay-per-use servers do not need it.
    assert_eq!(code(run(&app, &op, &server(false, None), now)), "200");
    create(&app, true, now);
}

#[test]
fn a_prepaid_server_is_resized_with_the_v11_api_only() {
    let app = app();
    let now = now_ms();
    let id = create(&app, true, now);
    let later = now + HOUR_MS;
    let body = json!({"resize": {"flavorRef": "s6.large.2", "mode": "withStopServer",
                                 "extendparam": {"isAutoPay": "true"}}});
    assert_eq!(
        code(run(&app, &Op::Resize(id.clone()), &body, later)),
        "Ecs.0005"
    );
    let a = run(&app, &Op::ResizeV11(id.clone()), &body, later).expect("v1.1 resize");
    let v = a.body.unwrap();
    assert!(v["order_id"].as_str().is_some_and(|o| !o.is_empty()), "{v}");
    let store = app.store();
    assert_eq!(store.get(&id, later).unwrap().instance_type, "s6.large.2");
}

#[test]
fn the_v11_resize_also_serves_pay_per_use_servers() {
    let app = app();
    let now = now_ms();
    let id = create(&app, false, now);
    let body = json!({"resize": {"flavorRef": "s6.large.2", "mode": "withStopServer"}});
    let v = run(&app, &Op::ResizeV11(id), &body, now + HOUR_MS)
        .unwrap()
        .body
        .unwrap();
    assert!(
        v["job_id"].is_string() && v.get("order_id").is_none(),
        "{v}"
    );
}

#[test]
fn a_prepaid_server_is_not_deleted_but_unsubscribed() {
    let app = app();
    let now = now_ms();
    let id = create(&app, true, now);
    let later = now + HOUR_MS;
    let del = json!({"servers": [{"id": id}], "delete_publicip": true, "delete_volume": true});
    assert_eq!(code(run(&app, &Op::DeleteServers, &del, later)), "Ecs.0513");
    assert_eq!(
        app.store().get(&id, later).unwrap().state_at(later),
        VmState::Running
    );

    let acc = account();
    let bad = json!({"resource_ids": [], "unsubscribe_type": 1});
    let e = billing::unsubscribe(&app, &acc, &serde_json::to_vec(&bad).unwrap(), "r", later)
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (400, "CBC.0100"));
    let postpaid = create(&app, false, now);
    let req = json!({"resource_ids": [id, postpaid], "unsubscribe_type": 1});
    let v = billing::unsubscribe(&app, &acc, &serde_json::to_vec(&req).unwrap(), "r", later)
        .unwrap()
        .body
        .unwrap();
    assert_eq!(v["order_ids"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(
        v["fail_resource_infos"][0]["resource_id"],
        postpaid.as_str()
    );
    assert_eq!(
        app.store().get(&id, later).unwrap().state_at(later),
        VmState::Terminating
    );
    // The pay-per-use server is deleted the ordinary way.
    let del = json!({"servers": [{"id": postpaid}]});
    assert_eq!(code(run(&app, &Op::DeleteServers, &del, later)), "200");
}

#[test]
fn changeos_with_a_key_needs_the_user_and_without_login_needs_user_data() {
    let app = app();
    let now = now_ms();
    let id = create(&app, false, now);
    let later = now + HOUR_MS;
    let op = Op::ChangeOs(id);
    let change = |extra: Value| {
        let mut o = json!({"imageid": "67f433d8-ed0e-4321-a8a2-a71838539e09",
                           "mode": "withStopServer"});
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        json!({ "os-change": o })
    };
    assert_eq!(
        code(run(&app, &op, &change(json!({"keyname": "kp-1"})), later)),
        "Ecs.0005"
    );
    let other = json!({"keyname": "kp-1", "userid": "0123456789abcdef0123456789abcdef"});
    assert_eq!(code(run(&app, &op, &change(other), later)), "Ecs.0005");
    assert_eq!(code(run(&app, &op, &change(json!({})), later)), "Ecs.0005");
    let user = projects::user_id(&account());
    let ok = json!({"keyname": "kp-1", "userid": user});
    assert_eq!(code(run(&app, &op, &change(ok), later)), "200");
    let data = json!({"metadata": {"user_data": "IyEvYmluL3NoCg=="}});
    assert_eq!(code(run(&app, &op, &change(data), later + HOUR_MS)), "200");
}

/// "adminpass和keyname不能同时有值" (SDK change_server_os_with_cloud_init_option.py
/// `adminpass`; API ecs_02_0202): both set is Ecs.0005, even with a valid `userid`.
#[test]
fn changeos_takes_a_password_or_a_key_not_both() {
    let app = app();
    let now = now_ms();
    let id = create(&app, false, now);
    let later = now + HOUR_MS;
    let op = Op::ChangeOs(id);
    let user = projects::user_id(&account());
    let change = |extra: Value| {
        let mut o = json!({"imageid": "67f433d8-ed0e-4321-a8a2-a71838539e09",
                           "mode": "withStopServer"});
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        json!({ "os-change": o })
    };
    let both = json!({"adminpass": "Sdk-Passw0rd!", "keyname": "kp-1", "userid": user});
    assert_eq!(code(run(&app, &op, &change(both), later)), "Ecs.0005");
    let pass = json!({"adminpass": "Sdk-Passw0rd!"});
    assert_eq!(code(run(&app, &op, &change(pass), later)), "200");
}

#[test]
fn prepaid_changeos_refuses_market_images_and_needs_auto_pay_for_a_price_change() {
    const MARKET: &str = "4d2c7e10-6a3b-4f58-9e21-8b7c6d5e4f30";
    const WINDOWS: &str = "9b3e4c2a-1d5f-4a6b-8c7d-0e1f2a3b4c5d";
    const CENTOS: &str = "67f433d8-ed0e-4321-a8a2-a71838539e09";
    let app = app();
    let now = now_ms();
    let later = now + HOUR_MS;
    let change = |image: &str, extra: Value| {
        let mut o =
            json!({"imageid": image, "mode": "withStopServer", "adminpass": "Sdk-Passw0rd!"});
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        json!({ "os-change": o })
    };
    let prepaid = Op::ChangeOs(create(&app, true, now));
    // to a Marketplace image: Ecs.0510
    let to_market = change(MARKET, json!({"isAutoPay": "true"}));
    assert_eq!(code(run(&app, &prepaid, &to_market, later)), "Ecs.0510");
    // Linux -> Windows changes the price: only with isAutoPay "true" (a string)
    for bad in [
        json!({}),
        json!({"isAutoPay": "false"}),
        json!({"isAutoPay": true}),
    ] {
        let r = run(&app, &prepaid, &change(WINDOWS, bad.clone()), later);
        assert_eq!(code(r), "Ecs.0005", "{bad}");
    }
    let paid = change(WINDOWS, json!({"isAutoPay": "true"}));
    assert_eq!(code(run(&app, &prepaid, &paid, later)), "200");
    // pay-per-use servers may use Marketplace images
    let on_demand = Op::ChangeOs(create(&app, false, now));
    assert_eq!(
        code(run(&app, &on_demand, &change(MARKET, json!({})), later)),
        "200"
    );
    // a yearly/monthly server on a Marketplace image cannot leave it either
    let meta = json!({"op_svc_userid": projects::user_id(&account())});
    let mut body = server(true, Some(meta));
    body["server"]["imageRef"] = json!(MARKET);
    let a = run(&app, &Op::CreateServers { v11: true }, &body, now).expect("create");
    let id = a.body.unwrap()["serverIds"][0]
        .as_str()
        .unwrap()
        .to_string();
    let r = run(&app, &Op::ChangeOs(id), &change(CENTOS, json!({})), later);
    assert_eq!(code(r), "Ecs.0510");
}
