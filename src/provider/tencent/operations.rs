//! What `DescribeInstances` tells beyond the state: why a `SHUTDOWN` instance is isolated
//! (`IsolatedSource`), and how the latest asynchronous action ended (`LatestOperation`,
//! `LatestOperationState`, `LatestOperationRequestId`, `LatestOperationErrorMsg`).
//!
//! Every mutating CVM action only starts the work: "操作结果可以通过调用 DescribeInstances
//! 接口查询，如果实例的最新操作状态(LatestOperationState)为“SUCCESS”，则代表操作成功"
//! (the outcome is found with DescribeInstances; LatestOperationState SUCCESS means it
//! succeeded), tencentcloud-sdk-go `cvm/v20170312/client.go` doc comments of
//! StartInstances, ResetInstance, ResetInstancesType; field meanings from
//! tencentcloud-sdk-python-cvm 3.1.178 `models.Instance`.
//!
//! A start or type change that fails after it was accepted leaves the instance as it was
//! (STOPPED, the old type), so the controller would ask again, and again. Before asking
//! for the same action a second time, the client looks at the instance: if the latest
//! operation is that action and it FAILED, it reports the cloud's message once (a terminal
//! error: the controller waits before trying again) instead of repeating it blindly.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::wire::{self, DescribeRequest};
use super::{PAGE_SIZE, TencentClient};
use crate::provider::{ErrorKind, InstanceState, InstanceStatus, ProviderError, Result};
use crate::text::clip;

/// Request ids of failed operations already reported (one report each).
#[derive(Clone, Debug, Default)]
pub struct Reported(Arc<Mutex<HashSet<String>>>);

impl Reported {
    /// True the first time `request_id` is seen.
    fn first(&self, request_id: &str) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 10_000 {
            seen.clear();
        }
        seen.insert(request_id.to_owned())
    }
}

/// Instances this client changed the type of (`region/id` → when), watched until the
/// change is over.
///
/// "完成实例配置调整后，实例将自动显示为运行中，无需手动进行开机" (once the type change is
/// done the instance shows RUNNING by itself, no start needed): tencentcloud-sdk-go
/// `cvm/v20170312/client.go` ResetInstancesType doc comment (= API/15744). Until then it
/// stays STOPPED with `LatestOperationState` OPERATING, and a StartInstances is refused
/// (`OperationDenied.InstanceOperationInProgress`). DescribeInstancesStatus shows only
/// STOPPED, so for a watched STOPPED instance the status poll asks DescribeInstances
/// and reports a type change under way as `Starting` (transitional: the controller waits
/// for the cloud's own start instead of sending one, then applies the desired power
/// state: a stop if the spec says Stopped).
#[derive(Clone, Debug, Default)]
pub struct Resizing(Arc<Mutex<HashMap<String, Instant>>>);

/// How long a type change is watched at most (then the instance is taken as it shows).
const RESIZE_WATCH: Duration = Duration::from_secs(30 * 60);

impl Resizing {
    fn key(region: &str, id: &str) -> String {
        format!("{region}/{id}")
    }
    pub(super) fn start(&self, region: &str, id: &str) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|_, at| at.elapsed() < RESIZE_WATCH);
        m.insert(Self::key(region, id), Instant::now());
    }
    fn watched(&self, region: &str, id: &str) -> bool {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&Self::key(region, id))
            .is_some_and(|at| at.elapsed() < RESIZE_WATCH)
    }
    fn done(&self, region: &str, id: &str) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(&Self::key(region, id));
    }
}

/// True when `i`'s latest operation is a type change still under way.
pub fn resize_operating(i: &wire::Instance) -> bool {
    i.latest_operation.as_deref() == Some("ResetInstancesType")
        && i.latest_operation_state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("OPERATING"))
}

/// The error for a failed latest operation, or None.
pub fn failed_operation(i: &wire::Instance, action: &str) -> Option<ProviderError> {
    let op = i.latest_operation.as_deref()?;
    let state = i.latest_operation_state.as_deref()?;
    if op != action || !state.eq_ignore_ascii_case("FAILED") {
        return None;
    }
    let msg = i
        .latest_operation_error_msg
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or("no error message");
    Some(
        ProviderError::new(
            ErrorKind::InvalidRequest,
            "LatestOperationFailed",
            format!(
                "the previous {action} on {} failed in the cloud (LatestOperationState FAILED): {}; not repeating it at once",
                i.instance_id,
                clip(msg, 512)
            ),
        )
        .with_request_id(i.latest_operation_request_id.clone()),
    )
}

impl TencentClient {
    async fn describe_wire(&self, region: &str, ids: &[String]) -> Result<Vec<wire::Instance>> {
        let req = DescribeRequest {
            instance_ids: ids,
            offset: Some(0),
            limit: Some(PAGE_SIZE),
            ..Default::default()
        };
        let resp: wire::DescribeInstancesResponse =
            self.call("DescribeInstances", Some(region), &req).await?;
        Ok(resp.instance_set)
    }

    /// Before `action` on one instance: report its failed latest `action` once.
    pub(super) async fn check_latest_operation(
        &self,
        region: &str,
        id: &str,
        action: &str,
    ) -> Result<()> {
        let found = self.describe_wire(region, &[id.to_owned()]).await?;
        let Some(i) = found.iter().find(|i| i.instance_id == id) else {
            return Ok(());
        };
        match failed_operation(i, action) {
            Some(e) => {
                let key = i
                    .latest_operation_request_id
                    .clone()
                    .unwrap_or_else(|| format!("{id}/{action}"));
                if self.reported.first(&key) {
                    Err(e)
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        }
    }

    /// A watched type change ([`Resizing`]): a STOPPED instance whose ResetInstancesType is
    /// still OPERATING is about to start by itself; report it `Starting`. The watch ends
    /// when the instance is no longer STOPPED or the operation has ended (SUCCESS or
    /// FAILED; a failure is reported by the next resize, `check_latest_operation`). A
    /// failed look leaves the states as they are (the cloud refuses a start meanwhile).
    pub(super) async fn add_resize(&self, region: &str, statuses: &mut [InstanceStatus]) {
        let mut ids = Vec::new();
        for s in statuses.iter() {
            if !self.resizing.watched(region, &s.id) {
                continue;
            }
            if s.state == InstanceState::Stopped {
                ids.push(s.id.clone());
            } else {
                self.resizing.done(region, &s.id);
            }
        }
        if ids.is_empty() {
            return;
        }
        let found = match self.describe_wire(region, &ids).await {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(error = %e, "type change check failed; states left as shown");
                return;
            }
        };
        for i in found {
            if resize_operating(&i) {
                if let Some(s) = statuses.iter_mut().find(|s| s.id == i.instance_id) {
                    s.state = InstanceState::Starting;
                    s.provider_state =
                        format!("{} (ResetInstancesType OPERATING)", s.provider_state);
                }
            } else if i.latest_operation.as_deref() == Some("ResetInstancesType") {
                self.resizing.done(region, &i.instance_id);
            }
        }
    }

    /// DescribeInstancesStatus shows `SHUTDOWN` without its cause; one DescribeInstances
    /// for those ids adds `IsolatedSource` (`SHUTDOWN/ARREAR`). Rare, and only for them.
    pub(super) async fn add_isolation(
        &self,
        region: &str,
        statuses: &mut [InstanceStatus],
    ) -> Result<()> {
        let ids: Vec<String> = statuses
            .iter()
            .filter(|s| s.provider_state.eq_ignore_ascii_case("SHUTDOWN"))
            .map(|s| s.id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        for i in self.describe_wire(region, &ids).await? {
            if let Some(s) = statuses.iter_mut().find(|s| s.id == i.instance_id) {
                s.provider_state = i.provider_state();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(op: &str, state: &str, msg: Option<&str>) -> wire::Instance {
        serde_json::from_value(serde_json::json!({
            "InstanceId": "ins-1",
            "InstanceState": "STOPPED",
            "LatestOperation": op,
            "LatestOperationState": state,
            "LatestOperationRequestId": "req-9",
            "LatestOperationErrorMsg": msg,
        }))
        .unwrap()
    }

    #[test]
    fn only_a_failed_same_action_is_reported() {
        let e = failed_operation(
            &inst("StartInstances", "FAILED", Some("ResourceInsufficient")),
            "StartInstances",
        )
        .expect("reported");
        assert_eq!(e.code, "LatestOperationFailed");
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(e.message.contains("ResourceInsufficient"), "{e}");
        assert_eq!(e.request_id.as_deref(), Some("req-9"));
        assert!(
            failed_operation(&inst("StartInstances", "SUCCESS", None), "StartInstances").is_none()
        );
        assert!(
            failed_operation(&inst("StartInstances", "OPERATING", None), "StartInstances")
                .is_none()
        );
        assert!(
            failed_operation(&inst("StopInstances", "FAILED", None), "StartInstances").is_none()
        );
        let null: wire::Instance = serde_json::from_value(
            serde_json::json!({"InstanceId": "ins-1", "LatestOperation": null}),
        )
        .unwrap();
        assert!(failed_operation(&null, "StartInstances").is_none());
    }

    #[test]
    fn one_report_per_failed_request() {
        let r = Reported::default();
        assert!(r.first("req-9"));
        assert!(!r.first("req-9"));
        assert!(r.first("req-10"));
    }
}
