//! Tencent `InstanceState` strings → [`InstanceState`].
//!
//! The CVM reference (data type `Instance`, field `InstanceState`) lists:
//!
//! | Tencent | meaning (reference) | mapped to |
//! |---|---|---|
//! | `PENDING` | Creating | `Pending` |
//! | `LAUNCH_FAILED` | Creation failed | `Failed` |
//! | `RUNNING` | Running | `Running` |
//! | `STOPPED` | Shut down | `Stopped` |
//! | `STARTING` | Starting up | `Starting` |
//! | `STOPPING` | Shutting down | `Stopping` |
//! | `REBOOTING` | Restarting | `Rebooting` |
//! | `SHUTDOWN` | To be terminated | `Terminated` |
//! | `TERMINATING` | Terminating | `Terminating` |
//!
//! `SHUTDOWN` is the state of an instance that has been isolated and waits for
//! destruction (a prepaid instance returned with TerminateInstances, or an expired or
//! overdue one, sitting in the recycle bin). None of the lifecycle APIs act on it any more
//! (start/stop/reboot are refused), so for the controller it is gone: `Terminated`. The
//! raw string stays in `provider_state` for callers who need the difference.
//!
//! `TERMINATED` (not in the reference) is also read as `Terminated`.
//!
//! Strings newer API revisions added (rescue mode, live migration) or any other unknown
//! string map to `Pending`: transitional, so callers keep polling rather than act on a
//! state they do not understand.

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
        "SHUTDOWN" => InstanceState::Terminated,
        "TERMINATING" => InstanceState::Terminating,
        // Not in the 2018 reference; seen from newer revisions / the emulator for an
        // instance that no longer exists.
        "TERMINATED" => InstanceState::Terminated,
        _ => InstanceState::Pending,
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
            ("SHUTDOWN", InstanceState::Terminated),
            ("TERMINATING", InstanceState::Terminating),
            ("TERMINATED", InstanceState::Terminated),
        ];
        for (raw, want) in table {
            assert_eq!(map_state(raw), want, "{raw}");
            assert_eq!(map_state(&raw.to_ascii_lowercase()), want, "{raw}");
        }
    }

    #[test]
    fn unknown_states_are_transitional() {
        for raw in ["ENTER_RESCUE_MODE", "SERVICE_LIVE_MIGRATE", "", "whatever"] {
            let s = map_state(raw);
            assert_eq!(s, InstanceState::Pending, "{raw}");
            assert!(s.is_transitional());
        }
    }
}
