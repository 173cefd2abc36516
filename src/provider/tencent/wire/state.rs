//! Tencent `InstanceState` strings → [`InstanceState`].
//!
//! Sources: tencentcloud-sdk-python-cvm 3.1.178 `models.InstanceStatus.InstanceState`,
//! `Instance.InstanceState` (→ https://cloud.tencent.com/document/api/213/15753#InstanceStatus),
//! `Instance.IsolatedSource`, `Instance.RestrictState`; the refusal codes
//! `UnsupportedOperation.InstanceState<State>` of each action in tencentcloud-sdk-go
//! `cvm/v20170312/client.go` (docs/provider-contract.md, Tencent §1).
//!
//! | Tencent | meaning (reference) | mapped to |
//! |---|---|---|
//! | `PENDING` | 创建中, creating | `Pending` |
//! | `LAUNCH_FAILED` | 创建失败, creation failed | `Failed` |
//! | `RUNNING` / `STOPPED` | 运行中 / 关机 | `Running` / `Stopped` |
//! | `STARTING` / `STOPPING` / `REBOOTING` | 开机中 / 关机中 / 重启中 | `Starting` / `Stopping` / `Rebooting` |
//! | `SHUTDOWN` | 停止待销毁: isolated, waiting for destruction | `Suspended` |
//! | `TERMINATING` | 销毁中 | `Terminating` |
//! | `ENTER_RESCUE_MODE` / `EXIT_RESCUE_MODE` | entering / leaving rescue mode | `Pending` (transitional) |
//! | `RESCUE_MODE` | 救援模式: stays until its owner exits it | `Suspended` |
//! | `ENTER_SERVICE_LIVE_MIGRATE` / `SERVICE_LIVE_MIGRATE` / `EXIT_SERVICE_LIVE_MIGRATE` | 在线服务迁移: platform-driven live migration, the guest keeps running | `Pending` (transitional) |
//!
//! `SHUTDOWN` is **not** gone. `IsolatedSource` says why: `ARREAR` (isolated for arrears,
//! back after a top-up), `EXPIRE` (a subscription that ran out, back after renewal),
//! `MANMADE` (returned with TerminateInstances: in the recycle bin, restorable until it is
//! destroyed; a second TerminateInstances destroys it). Every lifecycle action but
//! TerminateInstances is refused (`UnsupportedOperation.InstanceStateShutdown`), so the
//! controller must neither act on it nor replace it: `Suspended`, with the cause in
//! `provider_state` (`SHUTDOWN/ARREAR`).
//!
//! `RESCUE_MODE` is refused by Start, Stop, Reboot, Modify and Reset alike
//! (`UnsupportedOperation.InstanceStateRescueMode`) and lasts until the owner exits it:
//! `Suspended` too (no retries, slow polls). The short `ENTER_`/`EXIT_` phases and the
//! platform's live migration end by themselves: transitional (`Pending`), so the controller
//! waits and re-polls, and acts on none of them.
//!
//! `TERMINATED` (not in the reference; the emulator's name for an instance that has gone)
//! is `Terminated`. Any other unknown string maps to `Pending`: transitional, so callers
//! keep polling rather than act on a state they do not understand.

use crate::provider::InstanceState;

/// Map a Tencent instance state string (case-insensitive).
pub fn map_state(s: &str) -> InstanceState {
    match s.trim().to_ascii_uppercase().as_str() {
        "PENDING" => InstanceState::Pending,
        "LAUNCH_FAILED" => InstanceState::Failed,
        "RUNNING" => InstanceState::Running,
        "STOPPED" => InstanceState::Stopped,
        "STARTING" => InstanceState::Starting,
        "STOPPING" => InstanceState::Stopping,
        "REBOOTING" => InstanceState::Rebooting,
        "SHUTDOWN" | "RESCUE_MODE" => InstanceState::Suspended,
        "TERMINATING" => InstanceState::Terminating,
        "ENTER_RESCUE_MODE"
        | "EXIT_RESCUE_MODE"
        | "ENTER_SERVICE_LIVE_MIGRATE"
        | "SERVICE_LIVE_MIGRATE"
        | "EXIT_SERVICE_LIVE_MIGRATE" => InstanceState::Pending,
        "TERMINATED" => InstanceState::Terminated,
        _ => InstanceState::Pending,
    }
}

/// `SHUTDOWN/<IsolatedSource>` for an isolated instance with a known cause, the raw state
/// otherwise.
pub fn with_isolation(state: &str, isolated_source: &str) -> String {
    let source = isolated_source.trim();
    if state.eq_ignore_ascii_case("SHUTDOWN")
        && !source.is_empty()
        && !source.eq_ignore_ascii_case("NOTISOLATED")
    {
        format!("{state}/{source}")
    } else {
        state.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_state_maps() {
        let table = [
            ("PENDING", InstanceState::Pending),
            ("LAUNCH_FAILED", InstanceState::Failed),
            ("RUNNING", InstanceState::Running),
            ("STOPPED", InstanceState::Stopped),
            ("STARTING", InstanceState::Starting),
            ("STOPPING", InstanceState::Stopping),
            ("REBOOTING", InstanceState::Rebooting),
            ("SHUTDOWN", InstanceState::Suspended),
            ("TERMINATING", InstanceState::Terminating),
            ("RESCUE_MODE", InstanceState::Suspended),
            ("ENTER_RESCUE_MODE", InstanceState::Pending),
            ("EXIT_RESCUE_MODE", InstanceState::Pending),
            ("ENTER_SERVICE_LIVE_MIGRATE", InstanceState::Pending),
            ("SERVICE_LIVE_MIGRATE", InstanceState::Pending),
            ("EXIT_SERVICE_LIVE_MIGRATE", InstanceState::Pending),
            ("TERMINATED", InstanceState::Terminated),
        ];
        for (raw, want) in table {
            assert_eq!(map_state(raw), want, "{raw}");
            assert_eq!(map_state(&raw.to_ascii_lowercase()), want, "{raw}");
        }
    }

    #[test]
    fn shutdown_is_never_gone_and_never_actionable() {
        let s = map_state("SHUTDOWN");
        assert_ne!(s, InstanceState::Terminated);
        assert!(!s.is_transitional(), "no fast polling while isolated");
        assert_eq!(with_isolation("SHUTDOWN", "ARREAR"), "SHUTDOWN/ARREAR");
        assert_eq!(with_isolation("SHUTDOWN", "EXPIRE"), "SHUTDOWN/EXPIRE");
        assert_eq!(with_isolation("SHUTDOWN", "MANMADE"), "SHUTDOWN/MANMADE");
        assert_eq!(with_isolation("SHUTDOWN", "NOTISOLATED"), "SHUTDOWN");
        assert_eq!(with_isolation("RUNNING", "ARREAR"), "RUNNING");
    }

    #[test]
    fn unknown_states_are_transitional() {
        for raw in ["", "whatever", "HIBERNATING"] {
            let s = map_state(raw);
            assert_eq!(s, InstanceState::Pending, "{raw}");
            assert!(s.is_transitional());
        }
    }
}
