//! States the cloud puts a CVM instance in by itself, outside its owner's API calls:
//! isolation for arrears or expiry (`SHUTDOWN` with `IsolatedSource` `ARREAR`/`EXPIRE`),
//! rescue mode (`RESCUE_MODE`) and the platform's live migration
//! (`ENTER_SERVICE_LIVE_MIGRATE` → `SERVICE_LIVE_MIGRATE` → `EXIT_SERVICE_LIVE_MIGRATE`). The control API (`POST /_emulator/instances/{id}/held`)
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
//! - Live migration (在线服务迁移, `InstanceState` values `ENTER_SERVICE_LIVE_MIGRATE`,
//!   `SERVICE_LIVE_MIGRATE`, `EXIT_SERVICE_LIVE_MIGRATE`, same model) is driven by the
//!   platform and ends by itself; the guest keeps running. Each phase refuses
//!   Start/Stop/Reboot/ModifyInstancesAttribute/ResetInstance/ResetInstancesType with its own
//!   code (`UnsupportedOperation.InstanceStateEnterServiceLiveMigrate`,
//!   `...InstanceStateServiceLiveMigrate`, `...InstanceStateExitServiceLiveMigrate`: all
//!   three in each of those actions' error lists in tencentcloud-sdk-go
//!   `cvm/v20170312/client.go` @ 144f6c8d). TerminateInstances lists only the ENTER and EXIT
//!   codes, so it is refused in those phases and allowed in `SERVICE_LIVE_MIGRATE`.
//! - Entering and leaving rescue mode (`ENTER_RESCUE_MODE`, `EXIT_RESCUE_MODE`, same model)
//!   are short phases of their own: `UnsupportedOperation.InstanceStateEnterRescueMode` /
//!   `...ExitRescueMode` ("请求不支持进入救援模式的实例" / "请求不支持正在退出救援模式的实例",
//!   errors.go) are in the Start/Stop/Reboot/ModifyInstancesAttribute/ResetInstance and
//!   TerminateInstances lists (ResetInstancesType lists only the EXIT code; the emulator
//!   answers the ENTER code there too). RebootInstances' list has no
//!   `InstanceStateRescueMode`; what a reboot in rescue mode does is not documented, so the
//!   emulator refuses it with that code like the other actions.
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

/// `extra` key: the instance passes through some of [`PHASES`] by itself: `{"from": first
/// index, "to": last index, "since": ms, "phase_ms": ms}`; each phase lasts `phase_ms`.
pub const PHASE: &str = "tencent_phase";

/// The short `InstanceState`s the platform passes an instance through and ends by itself:
/// live migration (three phases, back to RUNNING) and the way into and out of rescue mode.
pub const PHASES: [&str; 5] = [
    "ENTER_SERVICE_LIVE_MIGRATE",
    "SERVICE_LIVE_MIGRATE",
    "EXIT_SERVICE_LIVE_MIGRATE",
    "ENTER_RESCUE_MODE",
    "EXIT_RESCUE_MODE",
];

/// The states in which TerminateInstances is not refused (see the module comment).
const TERMINABLE: [&str; 2] = ["RESCUE_MODE", "SERVICE_LIVE_MIGRATE"];

/// `extra` key: bought at a promotional price: "促销期内购买的实例不允许调整配置或计费模式"
/// (`FailedOperation.PromotionalPerioRestriction`, tencentcloud-sdk-go
/// `cvm/v20170312/errors.go`; in the ResetInstancesType error list of `client.go`). Set with
/// `POST /_emulator/instances/{id}/promotional {"promotional": true}`.
pub const PROMOTIONAL: &str = "tencent_promotional";

/// Set or clear the mark `key` in `extra`.
fn set_mark(inst: &mut Instance, key: &str, on: bool) {
    if on {
        inst.extra.insert(key.into(), Value::Bool(true));
    } else {
        inst.extra.remove(key);
    }
}

/// Whether the mark `key` is set.
fn marked(i: &Instance, key: &str) -> bool {
    i.extra.get(key).and_then(Value::as_bool) == Some(true)
}

/// Mark whether an instance was bought at a promotional price.
pub fn set_promotional(inst: &mut Instance, promotional: bool) {
    set_mark(inst, PROMOTIONAL, promotional)
}

/// The instance was bought at a promotional price.
pub fn promotional(i: &Instance) -> bool {
    marked(i, PROMOTIONAL)
}

/// The phase of [`PHASES`] the instance is in, if any: only while its neutral state is
/// still Running.
pub fn phase(i: &Instance, now: i64) -> Option<&'static str> {
    let m = i.extra.get(PHASE)?;
    if i.state_at(now) != VmState::Running {
        return None;
    }
    let from = m.get("from")?.as_u64()? as usize;
    let to = m.get("to")?.as_u64()? as usize;
    let since = m.get("since")?.as_i64()?;
    let phase_ms = m.get("phase_ms")?.as_i64()?.max(1);
    let at = from + (now.saturating_sub(since).max(0) / phase_ms) as usize;
    (at <= to).then(|| PHASES.get(at).copied()).flatten()
}

/// Mark whether a (prepaid) instance may be returned.
pub fn set_returnable(inst: &mut Instance, returnable: bool) {
    set_mark(inst, UNRETURNABLE, !returnable)
}

/// The instance was marked as not meeting the refund rules.
pub fn unreturnable(i: &Instance) -> bool {
    marked(i, UNRETURNABLE)
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
    /// Rescue mode, after `ENTER_RESCUE_MODE` for a phase.
    EnterRescue,
    /// Out of rescue mode, through `EXIT_RESCUE_MODE` for a phase, back to RUNNING.
    ExitRescue,
    /// Live migration by the platform, starting at the given phase (an index into
    /// [`LIVE_MIGRATE_PHASES`]); it ends by itself.
    LiveMigrate(usize),
}

impl Hold {
    pub fn parse(s: &str) -> Option<Hold> {
        Some(match s {
            "arrears" => Hold::Arrears,
            "expired" => Hold::Expired,
            "rescue" => Hold::Rescue,
            "enter_rescue" => Hold::EnterRescue,
            "exit_rescue" => Hold::ExitRescue,
            "enter_live_migrate" => Hold::LiveMigrate(0),
            "live_migrate" => Hold::LiveMigrate(1),
            "exit_live_migrate" => Hold::LiveMigrate(2),
            _ => return None,
        })
    }
}

/// Put `inst` in `hold` (None: release it into `after`, `Running` or `Stopped`: paid,
/// renewed, rescue mode exited). A live migration's phases last `phase_ms` each.
pub fn apply(
    inst: &mut Instance,
    hold: Option<Hold>,
    after: VmState,
    now: i64,
    phase_ms: u64,
) -> Result<(), String> {
    if hold.is_none() && !matches!(after, VmState::Running | VmState::Stopped) {
        return Err(format!(
            "an instance comes back running or stopped, not {}",
            after.as_str()
        ));
    }
    if matches!(hold, Some(Hold::LiveMigrate(_) | Hold::EnterRescue))
        && inst.state_at(now) != VmState::Running
    {
        return Err(format!(
            "only a running instance is live-migrated or rescued, this one is {}",
            inst.state_at(now).as_str()
        ));
    }
    if hold == Some(Hold::ExitRescue) && !in_rescue(inst, now) {
        return Err("only an instance in rescue mode leaves it".to_string());
    }
    inst.extra.remove(ISOLATED_SOURCE);
    inst.extra.remove(RESCUE);
    inst.extra.remove(PHASE);
    let phases = |inst: &mut Instance, from: usize, to: usize| {
        inst.extra.insert(
            PHASE.into(),
            serde_json::json!({"from": from, "to": to, "since": now, "phase_ms": phase_ms.max(1)}),
        );
        inst.set_schedule(now, &[(VmState::Running, None)]);
    };
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
            set_mark(inst, RESCUE, true);
            inst.set_schedule(now, &[(VmState::Running, None)]);
        }
        Some(Hold::EnterRescue) => {
            set_mark(inst, RESCUE, true);
            phases(inst, 3, 3);
        }
        Some(Hold::ExitRescue) => phases(inst, 4, 4),
        Some(Hold::LiveMigrate(from)) => phases(inst, from, 2),
        None => inst.set_schedule(now, &[(after, None)]),
    }
    Ok(())
}

/// In rescue mode (only while its neutral state is still Running).
pub fn in_rescue(i: &Instance, now: i64) -> bool {
    marked(i, RESCUE) && i.state_at(now) == VmState::Running
}

/// The `InstanceState` of an instance.
pub fn instance_state(i: &Instance, now: i64) -> &'static str {
    held_state(i, now).unwrap_or_else(|| render::state_name(i.state_at(now)))
}

/// The state the platform holds the instance in: a phase of [`PHASES`], else RESCUE_MODE.
fn held_state(i: &Instance, now: i64) -> Option<&'static str> {
    phase(i, now).or_else(|| in_rescue(i, now).then_some("RESCUE_MODE"))
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

/// The refusal of an action not allowed in rescue mode or in a phase of [`PHASES`]: the
/// state's own code (`RESCUE_MODE` → `UnsupportedOperation.InstanceStateRescueMode`,
/// `ENTER_SERVICE_LIVE_MIGRATE` → `...InstanceStateEnterServiceLiveMigrate`). TerminateInstances
/// (the only action that accepts SHUTDOWN, hence `allowed` containing Terminated) is allowed
/// in [`TERMINABLE`] (see the module comment for the sources).
pub fn refuse_held(i: &Instance, now: i64, allowed: &[VmState]) -> Result<(), ApiError> {
    let Some(state) = held_state(i, now) else {
        return Ok(());
    };
    if allowed.contains(&VmState::Terminated) && TERMINABLE.contains(&state) {
        return Ok(());
    }
    let code: String = state
        .split('_')
        .map(|w| w[..1].to_string() + &w[1..].to_ascii_lowercase())
        .collect();
    Err(ApiError::new(
        format!("UnsupportedOperation.InstanceState{code}"),
        format!(
            "The instance `{}` is in state `{state}`, which does not support this operation.",
            i.id
        ),
    ))
}
