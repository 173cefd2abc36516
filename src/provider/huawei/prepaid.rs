//! Yearly/monthly (prepaid, `chargingMode=prePaid`) servers take other paths than
//! pay-per-use ones. The client reads a server's `metadata.charging_mode` ("1" = yearly/
//! monthly, SDK `huaweicloudsdkecs/v2/model/server_detail.py`) before a resize or a delete,
//! so the trait needs no charge type:
//!
//! * resize: `POST /v1.1/{project_id}/cloudservers/{server_id}/resize` with
//!   `extendparam.isAutoPay` (API ecs_02_0209,
//!   https://support.huaweicloud.com/api-ecs/ecs_02_0209.html; SDK `resize_pre_paid_server_option.py`,
//!   `resize_server_extend_param.py`); the pay-per-use `POST /v1/.../resize` "cannot be used
//!   to modify the specifications of a yearly/monthly ECS" (ecs_02_0210).
//! * delete: DeleteServers "仅支持删除按需计费的云服务器" (ecs_02_0103, `Ecs.0513` otherwise);
//!   a yearly/monthly server is unsubscribed with BSS CancelResourcesSubscription,
//!   `POST https://bss.myhuaweicloud.com/v2/orders/subscriptions/resources/unsubscribe`
//!   `{resource_ids (at most 10 main resources), unsubscribe_type: 1}` (SDK
//!   `huaweicloudsdkbss/v2/bss_client.py` `cancel_resources_subscription`,
//!   `model/unsubscribe_resources_req.py`); attached resources bought with it go with it.
//! * create with `key_name`: `metadata.op_svc_userid` = the IAM user id (SDK
//!   `pre_paid_server.py` `metadata`; API ecs_02_0101), from `HuaweiSettings::user_id` or
//!   IAM ShowPermanentAccessKey (`GET /v3.0/OS-CREDENTIAL/credentials/{access_key}`,
//!   https://support.huaweicloud.com/api-iam/iam_08_0003.html), which maps the AK to its
//!   user.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{HuaweiClient, Service, decode, invalid, wire};
use crate::provider::{ErrorKind, ProviderError, Result};

/// Resource ids per CancelResourcesSubscription call.
pub const UNSUBSCRIBE_LIMIT: usize = 10;

#[derive(Debug, Deserialize)]
struct AccessKey {
    credential: AccessKeyCredential,
}

#[derive(Debug, Deserialize)]
struct AccessKeyCredential {
    #[serde(default)]
    user_id: String,
}

#[derive(Debug, Deserialize)]
struct FailedResource {
    #[serde(default)]
    resource_id: String,
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    error_msg: String,
}

#[derive(Debug, Deserialize)]
struct UnsubscribeResponse {
    #[serde(default)]
    fail_resource_infos: Option<Vec<FailedResource>>,
}

/// The v1.1 resize body of a yearly/monthly server (the price difference is paid from the
/// account: `isAutoPay`).
pub fn prepaid_resize_body(instance_type: &str) -> Value {
    json!({"resize": {"flavorRef": instance_type, "extendparam": {"isAutoPay": "true"}}})
}

/// The CancelResourcesSubscription body: the resources and their renewals.
pub fn unsubscribe_body(ids: &[String]) -> Value {
    json!({"resource_ids": ids, "unsubscribe_type": 1})
}

impl HuaweiClient {
    /// The IAM user id of the AK: configured, else asked of IAM once.
    pub async fn user_id(&self, region: &str) -> Result<String> {
        if let Some(u) = self.user_id.lock().expect("user id lock").clone() {
            return Ok(u);
        }
        let ak = self.config.credentials.access_key_id.clone();
        let path = format!("/v3.0/OS-CREDENTIAL/credentials/{ak}");
        let key: AccessKey = self
            .get(Service::Iam, region, &path, &[])
            .await
            .map_err(|e| {
                if e.is_retryable() {
                    return e;
                }
                ProviderError::new(
                    ErrorKind::InvalidRequest,
                    "UserIdUnknown",
                    format!(
                        "a yearly/monthly Huawei server with an SSH key needs the IAM user id \
                         (metadata.op_svc_userid), and IAM ShowPermanentAccessKey failed \
                         ({}: {})",
                        e.code, e.message
                    ),
                )
            })?;
        let u = key.credential.user_id;
        if u.is_empty() || !u.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(
                "UserIdUnknown",
                "IAM ShowPermanentAccessKey answered without a usable user_id",
            ));
        }
        *self.user_id.lock().expect("user id lock") = Some(u.clone());
        Ok(u)
    }

    /// The servers among `ids` and whether each is yearly/monthly.
    pub(super) async fn charging(
        &self,
        region: &str,
        ids: &[String],
    ) -> Result<Vec<(String, bool)>> {
        Ok(self
            .servers_by_id(region, ids)
            .await?
            .into_iter()
            .map(|s: wire::ServerDetail| {
                let prepaid = s.is_prepaid();
                (s.id, prepaid)
            })
            .collect())
    }

    /// Unsubscribe yearly/monthly servers (BSS), 10 per call.
    pub(super) async fn unsubscribe(&self, region: &str, ids: &[String]) -> Result<()> {
        for chunk in ids.chunks(UNSUBSCRIBE_LIMIT) {
            let answer = self
                .send(
                    reqwest::Method::POST,
                    Service::Bss,
                    region,
                    "/v2/orders/subscriptions/resources/unsubscribe",
                    &[],
                    Some(&unsubscribe_body(chunk)),
                    &[],
                )
                .await?;
            let r: UnsubscribeResponse =
                decode("unsubscribe", &answer.text, answer.request_id.clone())?;
            if let Some(f) = r.fail_resource_infos.unwrap_or_default().first() {
                return Err(ProviderError::new(
                    ErrorKind::InvalidRequest,
                    if f.error_code.is_empty() {
                        "UnsubscribeFailed".to_owned()
                    } else {
                        f.error_code.clone()
                    },
                    format!(
                        "BSS did not unsubscribe yearly/monthly server {}: {}",
                        f.resource_id, f.error_msg
                    ),
                )
                .with_request_id(answer.request_id));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_the_sdk_models() {
        let b = prepaid_resize_body("s6.large.2");
        assert_eq!(b["resize"]["flavorRef"], "s6.large.2");
        assert_eq!(b["resize"]["extendparam"]["isAutoPay"], "true");
        let ids: Vec<String> = vec!["a".into(), "b".into()];
        let u = unsubscribe_body(&ids);
        assert_eq!(u["resource_ids"], json!(["a", "b"]));
        assert_eq!(u["unsubscribe_type"], 1);
    }

    #[test]
    fn charging_mode_from_metadata() {
        let s: wire::ServerDetail = serde_json::from_value(json!({
            "id": "x", "status": "ACTIVE", "metadata": {"charging_mode": "1"}
        }))
        .unwrap();
        assert!(s.is_prepaid());
        let s: wire::ServerDetail = serde_json::from_value(json!({
            "id": "x", "status": "ACTIVE", "metadata": {"charging_mode": "0"}
        }))
        .unwrap();
        assert!(!s.is_prepaid());
    }
}
