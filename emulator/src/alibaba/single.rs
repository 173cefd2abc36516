//! The single-instance actions next to the batch ones: `StartInstance`, `StopInstance`,
//! `RebootInstance`, `DeleteInstance`.
//!
//! Their request models have **no `RegionId`** (SDK `alibabacloud-ecs20140526` 7.11.8:
//! `StartInstanceRequest` dry_run/init_local_disk/instance_id; `StopInstanceRequest`
//! confirm_stop/dry_run/force_stop/hibernate/instance_id/stopped_mode;
//! `RebootInstanceRequest` dry_run/force_stop/instance_id; `DeleteInstanceRequest`
//! dry_run/force/force_stop/instance_id/terminate_subscription): the endpoint names the
//! region, so the instance is looked up in the account. A passing dry run answers
//! `DryRunOperation` (the models' `dry_run` comments), unlike the batch forms'
//! `DRYRUN.SUCCESS`. State rules and error codes: AlibabaCloudDocs/ecs
//! `intl.en-US/API Reference/Instances/{StartInstance,StopInstance,RebootInstance}.md` and
//! https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-deleteinstance
//! (`IncorrectInstanceStatus` 403, `InvalidInstanceId.NotFound` 404,
//! `InstanceExpiredOrInArrears` 403, `ChargeTypeViolation` 403,
//! `InvalidOperation.DeletionProtection` 403).

use serde_json::Map;

use crate::store::{Instance, VmState};

use super::actions::{Ctx, Fields, dry_run_ok, incorrect_status, not_found};
use super::billing::{check_releasable, expired, find};
use super::render::state_name;
use super::{AliError, AliResult};

/// The parameters each single action's model has (besides the common ones and the
/// owner fields every ECS model carries); anything else is `UnsupportedParameter`.
pub const PARAMS: &[(&str, &[&str])] = &[
    ("StartInstance", &["DryRun", "InitLocalDisk", "InstanceId"]),
    (
        "StopInstance",
        &[
            "ConfirmStop",
            "DryRun",
            "ForceStop",
            "Hibernate",
            "InstanceId",
            "StoppedMode",
        ],
    ),
    ("RebootInstance", &["DryRun", "ForceStop", "InstanceId"]),
    (
        "DeleteInstance",
        &[
            "DryRun",
            "Force",
            "ForceStop",
            "InstanceId",
            "TerminateSubscription",
        ],
    ),
];

fn expired_or_in_arrears(id: &str) -> AliError {
    AliError::new(
        403,
        "InstanceExpiredOrInArrears",
        format!(
            "The specified operation is denied as your prepay instance {id} is expired (prepay mode) or in arrears (afterpay mode)."
        ),
    )
}

/// Look the instance up, check its state with `allowed`, answer a dry run, then `apply`.
fn one<F, A>(ctx: &Ctx, action: &str, allowed: F, apply: A) -> AliResult<Fields>
where
    F: Fn(&Instance, VmState) -> AliResult<()>,
    A: FnOnce(&mut Instance, i64),
{
    let id = ctx.req("InstanceId")?;
    let dry_run = ctx.boolean("DryRun")?.unwrap_or(false);
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let inst = find(&store, ctx, &id)?;
    allowed(inst, inst.state_at(ctx.now))?;
    if dry_run {
        return Err(dry_run_ok());
    }
    let Some(i) = store.get_mut(&id, ctx.now) else {
        return Err(not_found(&id));
    };
    apply(i, ctx.now);
    let settles = i.settles_at();
    i.record_operation(action, ctx.request_id, ctx.now, settles);
    i.updated_ms = ctx.now;
    Ok(Map::new())
}

/// The single-instance actions act on an unexpired instance in `want` only.
fn only_in(i: &Instance, s: VmState, now: i64, want: VmState) -> AliResult<()> {
    if expired(i, now) {
        return Err(expired_or_in_arrears(&i.id));
    }
    if s != want {
        return Err(incorrect_status(&i.id, state_name(s)));
    }
    Ok(())
}

/// StartInstance: Stopped only (StartInstance.md).
pub fn start_instance(ctx: &Ctx) -> AliResult<Fields> {
    ctx.boolean("InitLocalDisk")?;
    let d = ctx.app.settings().transition_delays_ms;
    one(
        ctx,
        "StartInstance",
        |i, s| only_in(i, s, ctx.now, VmState::Stopped),
        |i, now| {
            i.stop_charging = false;
            i.set_schedule(
                now,
                &[
                    (VmState::Starting, Some(d.starting)),
                    (VmState::Running, None),
                ],
            );
        },
    )
}

/// StopInstance: Running only; `StoppedMode` KeepCharging / StopCharging (StopInstance.md;
/// economical mode does not apply to subscription instances, which keep charging).
pub fn stop_instance(ctx: &Ctx) -> AliResult<Fields> {
    let soft = !ctx.boolean("ForceStop")?.unwrap_or(false);
    ctx.boolean("ConfirmStop")?;
    ctx.boolean("Hibernate")?;
    let mode = ctx
        .opt("StoppedMode")
        .unwrap_or_else(|| "KeepCharging".into());
    if !matches!(mode.as_str(), "KeepCharging" | "StopCharging") {
        return Err(AliError::invalid(
            "StoppedMode",
            "must be KeepCharging or StopCharging",
        ));
    }
    let d = ctx.app.settings().transition_delays_ms;
    one(
        ctx,
        "StopInstance",
        |i, s| only_in(i, s, ctx.now, VmState::Running),
        |i, now| {
            i.stop_charging = mode == "StopCharging" && i.charge_type == "PostPaid";
            let phases = i.stop_schedule(soft, false, d.stopping);
            i.set_schedule(now, &phases);
        },
    )
}

/// RebootInstance: Running only (RebootInstance.md).
pub fn reboot_instance(ctx: &Ctx) -> AliResult<Fields> {
    ctx.boolean("ForceStop")?;
    let d = ctx.app.settings().transition_delays_ms;
    let half = d.rebooting / 2;
    one(
        ctx,
        "RebootInstance",
        |i, s| only_in(i, s, ctx.now, VmState::Running),
        |i, now| {
            i.set_schedule(
                now,
                &[
                    (VmState::Stopping, Some(half)),
                    (VmState::Starting, Some(d.rebooting - half)),
                    (VmState::Running, None),
                ],
            );
        },
    )
}

/// DeleteInstance: Stopped, or Running with `Force=true`; not Pending
/// (`IncorrectInstanceStatus.Initializing`); PostPaid, or an expired PrePaid with
/// `TerminateSubscription=true`; not under deletion protection.
pub fn delete_instance(ctx: &Ctx) -> AliResult<Fields> {
    let force = ctx.boolean("Force")?.unwrap_or(false);
    ctx.boolean("ForceStop")?;
    let terminate_subscription = ctx.boolean("TerminateSubscription")?.unwrap_or(false);
    let d = ctx.app.settings().transition_delays_ms;
    one(
        ctx,
        "DeleteInstance",
        |i, s| {
            if i.protected {
                return Err(AliError::new(
                    403,
                    "InvalidOperation.DeletionProtection",
                    format!("The instance {} has deletion protection enabled.", i.id),
                ));
            }
            check_releasable(i, terminate_subscription, ctx.now)?;
            if s == VmState::Pending {
                return Err(AliError::new(
                    403,
                    "IncorrectInstanceStatus.Initializing",
                    format!("The instance {} is being initialized.", i.id),
                ));
            }
            if !(s == VmState::Stopped || (force && s == VmState::Running)) {
                return Err(incorrect_status(&i.id, state_name(s)));
            }
            Ok(())
        },
        |i, now| {
            i.set_schedule(
                now,
                &[
                    (VmState::Terminating, Some(d.terminating)),
                    (VmState::Gone, None),
                ],
            );
        },
    )
}
