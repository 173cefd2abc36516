//! Start, stop, reboot and terminate: state changes with a schedule.

use super::*;

// ---------------------------------------------------------------- state changes

/// Phases of a new schedule: `(state, duration in ms or None for "until further notice")`.
pub(super) type Schedule = Vec<(VmState, Option<u64>)>;

/// Validate ids and states, then give every instance a new schedule.
pub(super) fn transition(
    ctx: &Ctx,
    action: &str,
    ids: &[String],
    allowed: &[VmState],
    schedule: &dyn Fn(&Instance) -> Schedule,
    mutate: &dyn Fn(&mut Instance),
) -> ApiResult<Fields> {
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    require_found(&store, ctx, ids)?;
    require_states(&store, ctx, ids, allowed)?;
    require_no_operation_in_progress(&store, ctx, ids)?;
    for id in ids {
        if let Some(inst) = store.get_mut(id, ctx.now) {
            let phases = schedule(inst);
            inst.set_schedule(ctx.now, &phases);
            mutate(inst);
            let done = inst.settles_at();
            inst.record_operation(action, ctx.request_id, ctx.now, done);
        }
    }
    Ok(Map::new())
}

pub(super) fn start_instances(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds"])?;
    let ids = instance_ids(p, "InstanceIds", true, 100)?;
    let d = delays(ctx).transition_delays_ms;
    transition(
        ctx,
        "StartInstances",
        &ids,
        &[VmState::Stopped],
        &|_| {
            vec![
                (VmState::Starting, Some(d.starting)),
                (VmState::Running, None),
            ]
        },
        &|i| i.stop_charging = false,
    )
}

/// `ForceStop` / `ForceReboot`: "本参数已弃用，推荐使用StopType，不可以与参数StopType同时使用"
/// (tencentcloud-sdk-python-cvm 3.1.178 `StopInstancesRequest.ForceStop`,
/// `RebootInstancesRequest.ForceReboot`); `InvalidParameterCombination` is in both actions'
/// error lists (tencentcloud-sdk-go `cvm/v20170312/client.go`).
fn deprecated_not_with_stop_type(p: &Params, deprecated: &str) -> ApiResult<()> {
    if p.has(deprecated) && p.has("StopType") {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            format!("`{deprecated}` is deprecated and cannot be used together with `StopType`."),
        ));
    }
    Ok(())
}

pub(super) fn stop_instances(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds", "ForceStop", "StopType", "StoppedMode"])?;
    let ids = instance_ids(p, "InstanceIds", true, 100)?;
    deprecated_not_with_stop_type(p, "ForceStop")?;
    let force_stop = p.boolean("ForceStop")?.unwrap_or(false);
    let stop_type = p.string("StopType")?.unwrap_or_else(|| "SOFT".to_string());
    check_enum(p, "StopType", &stop_type, &["SOFT", "HARD", "SOFT_FIRST"])?;
    // HARD powers off; SOFT asks the guest; SOFT_FIRST (or the older ForceStop=TRUE)
    // powers off when the guest does not shut down.
    let soft = stop_type != "HARD";
    let force_on_failure = stop_type == "SOFT_FIRST" || force_stop;
    let mode = p
        .string("StoppedMode")?
        .unwrap_or_else(|| "KEEP_CHARGING".to_string());
    check_enum(p, "StoppedMode", &mode, &["KEEP_CHARGING", "STOP_CHARGING"])?;
    let stop_charging = mode == "STOP_CHARGING";
    if stop_charging {
        let store = ctx.app.store();
        for id in &ids {
            if let Some(i) = owned(&store, ctx, id)
                && i.charge_type != "POSTPAID_BY_HOUR"
            {
                return Err(ApiError::new(
                    "UnsupportedOperation.StoppedModeStopCharging",
                    format!("The instance `{id}` is not pay-as-you-go and cannot stop charging."),
                ));
            }
        }
    }
    let d = delays(ctx).transition_delays_ms;
    transition(
        ctx,
        "StopInstances",
        &ids,
        &[VmState::Running],
        &|i| i.stop_schedule(soft, force_on_failure, d.stopping),
        &|i| i.stop_charging = stop_charging,
    )
}

pub(super) fn reboot_instances(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds", "ForceReboot", "StopType"])?;
    let ids = instance_ids(p, "InstanceIds", true, 100)?;
    deprecated_not_with_stop_type(p, "ForceReboot")?;
    p.boolean("ForceReboot")?;
    if let Some(st) = p.string("StopType")? {
        check_enum(p, "StopType", &st, &["SOFT", "HARD", "SOFT_FIRST"])?;
    }
    let d = delays(ctx).transition_delays_ms;
    transition(
        ctx,
        "RebootInstances",
        &ids,
        &[VmState::Running],
        &|_| {
            vec![
                (VmState::Rebooting, Some(d.rebooting)),
                (VmState::Running, None),
            ]
        },
        &|_| {},
    )
}

/// Charge types billed in advance (包年包月): TerminateInstances moves them to the recycle
/// bin first. `UNDERWRITE` (包销) is a prepaid contract too.
fn is_prepaid(charge_type: &str) -> bool {
    matches!(charge_type, "PREPAID" | "UNDERWRITE")
}

/// TerminateInstances, as documented (https://cloud.tencent.com/document/api/213/15723,
/// "接口描述"): "包年包月实例首次调用本接口，实例将被移至回收站，再次调用本接口，实例将被销毁，
/// 且不可恢复。按量计费实例调用本接口将被直接销毁。" A prepaid instance goes to the recycle bin
/// (SHUTDOWN, `IsolatedSource` MANMADE) on the first call and is destroyed by the second; a
/// pay-as-you-go instance is destroyed directly (TERMINATING, then absent from
/// DescribeInstances). "批量操作时，所有实例的付费类型必须一致"
/// (`UnsupportedOperation.InstanceMixedPricingModel`, tencentcloud-sdk-go
/// `cvm/v20170312/client.go` TerminateInstances error list).
pub(super) fn terminate_instances(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds", "ReleaseAddress", "ReleasePrepaidDataDisks"])?;
    let ids = instance_ids(p, "InstanceIds", true, 100)?;
    p.boolean("ReleaseAddress")?;
    p.boolean("ReleasePrepaidDataDisks")?;
    let returns;
    {
        let store = ctx.app.store();
        for id in &ids {
            if owned(&store, ctx, id).is_some_and(|i| i.protected) {
                return Err(ApiError::new(
                    "UnsupportedOperation.InstancesProtected",
                    format!("The instance `{id}` has termination protection enabled."),
                ));
            }
        }
        // A prepaid instance is returned only "如符合退还规则" (if it meets the refund rules,
        // https://cloud.tencent.com/document/product/213/9711; TerminateInstances doc
        // comment, tencentcloud-sdk-go `cvm/v20170312/client.go`): otherwise
        // `FailedOperation.Unreturnable` "实例无法退还". Destroying it from the recycle bin (a
        // second call) is no refund.
        for id in &ids {
            if let Some(i) = owned(&store, ctx, id)
                && is_prepaid(&i.charge_type)
                && i.state_at(ctx.now) != VmState::Terminated
                && held::unreturnable(i)
            {
                return Err(ApiError::new(
                    "FailedOperation.Unreturnable",
                    format!(
                        "The instance `{id}` does not meet the refund rules and cannot be returned."
                    ),
                ));
            }
        }
        // "退还失败，退还配额已达上限" (`LimitExceeded.UserReturnQuota`, tencentcloud-sdk-go
        // `cvm/v20170312/errors.go`; in the TerminateInstances error list of `client.go`):
        // self-service returns of prepaid instances are limited per account and year
        // (https://cloud.tencent.com/document/product/213/9711). Modelled by the emulator
        // setting `tencent_return_quota` (returns left).
        returns = ids
            .iter()
            .filter_map(|id| owned(&store, ctx, id))
            .filter(|i| is_prepaid(&i.charge_type) && i.state_at(ctx.now) != VmState::Terminated)
            .count() as u64;
        if let Some(left) = delays(ctx).tencent_return_quota
            && returns > left
        {
            return Err(ApiError::new(
                "LimitExceeded.UserReturnQuota",
                format!(
                    "The return quota is used up: {returns} prepaid instance(s) to return, {left} return(s) left."
                ),
            ));
        }
        let charge_types: HashSet<&str> = ids
            .iter()
            .filter_map(|id| owned(&store, ctx, id))
            .map(|i| i.charge_type.as_str())
            .collect();
        if charge_types.len() > 1 {
            return Err(ApiError::new(
                "UnsupportedOperation.InstanceMixedPricingModel",
                "All instances of a TerminateInstances request must have the same charge type.",
            ));
        }
    }
    let d = delays(ctx).transition_delays_ms;
    let now = ctx.now;
    transition(
        ctx,
        "TerminateInstances",
        &ids,
        &[
            VmState::Running,
            VmState::Stopped,
            VmState::LaunchFailed,
            VmState::Terminated,
        ],
        &|i| {
            if i.state_at(now) == VmState::Terminated || !is_prepaid(&i.charge_type) {
                // In the recycle bin (or isolated), or pay-as-you-go: destroyed for good.
                vec![
                    (VmState::Terminating, Some(d.terminating)),
                    (VmState::Gone, None),
                ]
            } else {
                // Prepaid, first call: to the recycle bin, which keeps it for a while.
                vec![
                    (VmState::Terminating, Some(d.terminating)),
                    (VmState::Terminated, Some(d.shutdown)),
                    (VmState::Gone, None),
                ]
            }
        },
        &|i| {
            i.extra.remove(held::ISOLATED_SOURCE);
            i.extra.remove(held::RESCUE);
            i.extra.remove(held::PHASE);
        },
    )
    .inspect(|_f| {
        if returns > 0 {
            ctx.app.update_settings(|s| {
                if let Some(left) = s.tencent_return_quota.as_mut() {
                    *left = left.saturating_sub(returns);
                }
            });
        }
        // The operation is complete once the instance is shut down or destroyed, not when
        // a recycled one vanishes.
        let mut store = ctx.app.store();
        for id in &ids {
            if let Some(i) = store.get_mut(id, now)
                && let (
                    Some(op),
                    Some(Phase {
                        until_ms: Some(t), ..
                    }),
                ) = (i.last_operation.as_mut(), i.schedule.first())
            {
                op.done_ms = *t;
            }
        }
    })
}

// ---------------------------------------------------------------- describe
