//! Server statuses the ECS status table documents but no emulated API action reaches:
//! `SHELVED`, `SHELVED_OFFLOADED`, `PAUSED`, `SUSPENDED`, `ERROR`, `MIGRATING` (live
//! migration), `VERIFY_RESIZE`, `REVERT_RESIZE`, `SOFT_DELETED` and `UNKNOWN` (API
//! https://support.huaweicloud.com/api-ecs/ecs_08_0002.html; the `status` values of SDK
//! huaweicloudsdkecs/v2/model/list_servers_details_request.py and server_detail.py; the
//! status table does not describe SOFT_DELETED, only server_detail.py lists it; UNKNOWN is
//! "any combination not in the table", and a list filter value in
//! list_servers_details_request.py). The
//! control API (`POST /_emulator/instances/{id}/provider-status`) puts a server into one,
//! and takes it out again (`null`), as the cloud or its operator would (unshelve, unpause,
//! resume, recovery).
//!
//! While held, the server keeps its other properties; start, stop, reboot, resize and
//! changeos are refused with `Ecs.0100` (the status does not allow the operation, API
//! ecs_07_0002), renaming, security groups and deletion are not ("error / deleting" is in
//! the status table: a server in ERROR can be deleted).

use serde_json::Value;

use crate::store::Instance;

/// Where the held status is kept (`Instance::extra`).
const KEY: &str = "held_status";

/// The statuses that can be held.
pub const STATUSES: &[&str] = &[
    "SHELVED",
    "SHELVED_OFFLOADED",
    "PAUSED",
    "SUSPENDED",
    "ERROR",
    "MIGRATING",
    "VERIFY_RESIZE",
    "REVERT_RESIZE",
    "SOFT_DELETED",
    "UNKNOWN",
];

/// The held status of `i`, if any.
pub fn held(i: &Instance) -> Option<&'static str> {
    let s = i.extra.get(KEY)?.as_str()?;
    STATUSES.iter().copied().find(|x| *x == s)
}

/// Hold `i` in `status` (one of [`STATUSES`]), or release it (`None`).
pub fn set(i: &mut Instance, status: Option<&str>) -> Result<(), String> {
    match status {
        None => {
            i.extra.remove(KEY);
        }
        Some(s) if STATUSES.contains(&s) => {
            i.extra.insert(KEY.into(), Value::String(s.to_string()));
        }
        Some(s) => {
            return Err(format!(
                "`{s}` is not a status the emulator holds; one of {}",
                STATUSES.join(", ")
            ));
        }
    }
    Ok(())
}

/// `(status, OS-EXT-STS:task_state, OS-EXT-STS:vm_state, OS-EXT-STS:power_state)` of a held
/// server (vm and task states of the status table: MIGRATING active/migrating,
/// VERIFY_RESIZE resized/null, REVERT_RESIZE resized/resize_reverting; SOFT_DELETED's
/// vm_state is not in the table: `soft-delete` is OpenStack Nova's name for it. Nova power
/// states 1 running, 3 paused, 4 shutdown, 7 suspended; UNKNOWN, a combination the table
/// does not list, is vm_state `active` with power state 0 "no state"). `deleting`: a
/// deletion is under way (only ERROR documents it).
pub fn status(
    held: &'static str,
    deleting: bool,
) -> (&'static str, Option<&'static str>, &'static str, u8) {
    let task = deleting.then_some("deleting");
    match held {
        "SHELVED" => ("SHELVED", task, "shelved", 4),
        "SHELVED_OFFLOADED" => ("SHELVED_OFFLOADED", task, "shelved_offloaded", 4),
        "PAUSED" => ("PAUSED", task, "paused", 3),
        "SUSPENDED" => ("SUSPENDED", task, "suspended", 7),
        "MIGRATING" => ("MIGRATING", task.or(Some("migrating")), "active", 1),
        "VERIFY_RESIZE" => ("VERIFY_RESIZE", task, "resized", 1),
        "REVERT_RESIZE" => (
            "REVERT_RESIZE",
            task.or(Some("resize_reverting")),
            "resized",
            1,
        ),
        "SOFT_DELETED" => ("SOFT_DELETED", task, "soft-delete", 4),
        "UNKNOWN" => ("UNKNOWN", task, "active", 0),
        _ => ("ERROR", task, "error", 0),
    }
}
