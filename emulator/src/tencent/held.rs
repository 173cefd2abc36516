//! States the cloud puts a CVM instance in by itself, outside its owner's API calls:
//! isolation for arrears or expiry (`SHUTDOWN` with `IsolatedSource` `ARREAR`/`EXPIRE`) and
//! rescue mode (`RESCUE_MODE`). The control API (`POST /_emulator/instances/{id}/held`)
//! drives an instance into them and back, so tests can check what a client does with an
//! instance that exists but accepts no action.
//!
//! Sources:
//! - `InstanceState` values `SHUTDOWN` (停止待销毁) and `RESCUE_MODE` (救援模式):
//!   tencentcloud-sdk-python-cvm 3.1.178 `models.Instance.InstanceState`,
//!   https://cloud.tencent.com/document/api/213/15753#Instance.
//! - `Instance.IsolatedSource`: "ARREAR：表示欠费隔离；EXPIRE：表示到期隔离；MANMADE：表示主动
//!   退还隔离；NOTISOLATED：表示未隔离" (same model).
//! - `Instance.RestrictState`: `NORMAL` / `EXPIRED` / `PROTECTIVELY_ISOLATED` (same model).
//! - While isolated, Start/Stop/Reboot/Modify/Reset/ResetInstancesType are refused with
//!   `UnsupportedOperation.InstanceStateShutdown`; in rescue mode with
//!   `UnsupportedOperation.InstanceStateRescueMode`, which is not among TerminateInstances'
//!   refusals (tencentcloud-sdk-go `cvm/v20170312/client.go`, each action's error list).
//!
//! The store keeps the neutral state underneath: an isolated instance is
//! [`VmState::Terminated`] with no end (the cloud keeps it until it is paid for, renewed or
//! terminated), a rescued one is [`VmState::Running`] with a rescue mark in `extra`.

use serde_json::Value;

use super::error::ApiError;
use super::render;
use crate::store::{Instance, VmState};

/// `extra` key: why a SHUTDOWN instance is isolated (`ARREAR`, `EXPIRE`); absent means it
/// was returned by TerminateInstances (`MANMADE`).
pub const ISOLATED_SOURCE: &str = "tencent_isolated_source";
/// `extra` key: the instance is in rescue mode.
pub const RESCUE: &str = "tencent_rescue_mode";
/// `extra` key: a prepaid instance that does not meet the refund rules
/// (https://cloud.tencent.com/document/product/213/9711, linked from the TerminateInstances
/// doc comment): its return is refused with `FailedOperation.Unreturnable` ("实例无法退还",
/// tencentcloud-sdk-python-cvm 3.1.178 `errorcodes.py`; in the TerminateInstances error
/// list of tencentcloud-sdk-go `cvm/v20170312/client.go`). Set with
/// `POST /_emulator/instances/{id}/returnable {"returnable": false}`.
pub const UNRETURNABLE: &str = "tencent_unreturnable";

/// Mark whether a (prepaid) instance may be returned.
pub fn set_returnable(inst: &mut Instance, returnable: bool) {
    if returnable {
        inst.extra.remove(UNRETURNABLE);
    } else {
        inst.extra.insert(UNRETURNABLE.into(), Value::Bool(true));
    }
}

/// The instance was marked as not meeting the refund rules.
pub fn unreturnable(i: &Instance) -> bool {
    i.extra.get(UNRETURNABLE).and_then(Value::as_bool) == Some(true)
}

/// What the cloud does to an instance (control API body `{"held": ...}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The account is in arrears: isolated, `SHUTDOWN` / `ARREAR`.
    Arrears,
    /// A prepaid instance ran out: isolated, `SHUTDOWN` / `EXPIRE`.
    Expired,
    /// Rescue mode: `RESCUE_MODE`.
    Rescue,
}

impl Hold {
    pub fn parse(s: &str) -> Option<Hold> {
        Some(match s {
            "arrears" => Hold::Arrears,
            "expired" => Hold::Expired,
            "rescue" => Hold::Rescue,
            _ => return None,
        })
    }
}

/// Put `inst` in `hold` (None: release it into `after`, `Running` or `Stopped`: paid,
/// renewed, rescue mode exited).
pub fn apply(
    inst: &mut Instance,
    hold: Option<Hold>,
    after: VmState,
    now: i64,
) -> Result<(), String> {
    if hold.is_none() && !matches!(after, VmState::Running | VmState::Stopped) {
        return Err(format!(
            "an instance comes back running or stopped, not {}",
            after.as_str()
        ));
    }
    inst.extra.remove(ISOLATED_SOURCE);
    inst.extra.remove(RESCUE);
    match hold {
        Some(Hold::Arrears) | Some(Hold::Expired) => {
            let source = if hold == Some(Hold::Arrears) {
                "ARREAR"
            } else {
                "EXPIRE"
            };
            inst.extra
                .insert(ISOLATED_SOURCE.into(), Value::String(source.into()));
            inst.set_schedule(now, &[(VmState::Terminated, None)]);
        }
        Some(Hold::Rescue) => {
            inst.extra.insert(RESCUE.into(), Value::Bool(true));
            inst.set_schedule(now, &[(VmState::Running, None)]);
        }
        None => inst.set_schedule(now, &[(after, None)]),
    }
    Ok(())
}

/// In rescue mode (only while its neutral state is still Running).
pub fn in_rescue(i: &Instance, now: i64) -> bool {
    i.extra.get(RESCUE).and_then(Value::as_bool) == Some(true)
        && i.state_at(now) == VmState::Running
}

/// The `InstanceState` of an instance.
pub fn instance_state(i: &Instance, now: i64) -> &'static str {
    if in_rescue(i, now) {
        "RESCUE_MODE"
    } else {
        render::state_name(i.state_at(now))
    }
}

/// `Instance.IsolatedSource`.
pub fn isolated_source(i: &Instance, now: i64) -> &str {
    if i.state_at(now) != VmState::Terminated {
        return "NOTISOLATED";
    }
    i.extra
        .get(ISOLATED_SOURCE)
        .and_then(Value::as_str)
        .unwrap_or("MANMADE")
}

/// `Instance.RestrictState`: `EXPIRED` for an instance isolated at expiry.
pub fn restrict_state(i: &Instance, now: i64) -> &'static str {
    if isolated_source(i, now) == "EXPIRE" {
        "EXPIRED"
    } else {
        "NORMAL"
    }
}

/// The refusal of an action not allowed in rescue mode. TerminateInstances (the only
/// action that accepts SHUTDOWN, hence `allowed` containing Terminated) is allowed.
pub fn refuse_rescue(i: &Instance, now: i64, allowed: &[VmState]) -> Result<(), ApiError> {
    if in_rescue(i, now) && !allowed.contains(&VmState::Terminated) {
        return Err(ApiError::new(
            "UnsupportedOperation.InstanceStateRescueMode",
            format!(
                "The instance `{}` is in state `RESCUE_MODE`, which does not support this operation.",
                i.id
            ),
        ));
    }
    Ok(())
}
