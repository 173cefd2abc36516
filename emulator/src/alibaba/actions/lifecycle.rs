//! Start, stop, reboot and delete: batched state changes.

use super::*;

pub(super) fn instance_ids(ctx: &Ctx) -> AliResult<Vec<String>> {
    let ids = ctx.list("InstanceId");
    if ids.is_empty() {
        return Err(AliError::missing("InstanceId.1"));
    }
    if ids.len() > 100 {
        return Err(AliError::invalid(
            "InstanceId.N",
            format!("{} ids given; at most 100 are allowed", ids.len()),
        ));
    }
    Ok(ids)
}

/// Shared flow of Start/Stop/Reboot/Delete: validate every id, check states, apply.
pub(super) fn batch<F, A>(ctx: &Ctx, action: &str, allowed: F, mut apply: A) -> AliResult<Fields>
where
    F: Fn(VmState, &Ctx) -> bool,
    A: FnMut(&mut Instance, &Ctx),
{
    let region = ctx.region()?;
    let ids = instance_ids(ctx)?;
    let dry_run = ctx.boolean("DryRun")?.unwrap_or(false);
    let mode = ctx
        .opt("BatchOptimization")
        .unwrap_or_else(|| "AllTogether".into());
    if !matches!(mode.as_str(), "AllTogether" | "SuccessFirst") {
        return Err(AliError::invalid(
            "BatchOptimization",
            "must be AllTogether or SuccessFirst",
        ));
    }
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let mut problems: Vec<(String, AliError)> = vec![];
    for id in &ids {
        match owned(&store, ctx, region.id, id) {
            Ok(i) => {
                let s = i.state_at(ctx.now);
                // An expired subscription cannot be started, stopped or rebooted
                // (`InstanceExpiredOrInArrears` 403, StopInstance.md / StartInstance.md).
                if action != "DeleteInstances" && super::super::billing::expired(i, ctx.now) {
                    problems.push((
                        id.clone(),
                        AliError::new(
                            403,
                            "InstanceExpiredOrInArrears",
                            format!("The specified operation is denied as your prepay instance {id} is expired."),
                        ),
                    ));
                } else if !allowed(s, ctx) {
                    problems.push((id.clone(), incorrect_status(id, state_name(s))));
                }
            }
            Err(e) => problems.push((id.clone(), e)),
        }
    }
    if mode == "AllTogether"
        && let Some((_, e)) = problems.first()
    {
        return Err(e.clone());
    }
    if dry_run {
        // The batch actions answer a passing dry run with `DRYRUN.SUCCESS`, not
        // `DryRunOperation` (SDK alibabacloud-ecs20140526 7.11.8 `StartInstancesRequest.dry_run`,
        // `StopInstancesRequest.dry_run`, `RebootInstancesRequest.dry_run`,
        // `DeleteInstancesRequest.dry_run`).
        return Err(AliError::new(
            400,
            "DRYRUN.SUCCESS",
            "This request is a dryrun request with successful result.",
        ));
    }
    let mut responses = vec![];
    for id in &ids {
        if let Some((_, e)) = problems.iter().find(|(p, _)| p == id) {
            responses.push(json!({
                "Code": e.code, "Message": e.message, "InstanceId": id,
                "CurrentStatus": "", "PreviousStatus": "",
            }));
            continue;
        }
        let Some(inst) = store.get_mut(id, ctx.now) else {
            continue;
        };
        let before = state_name(inst.state_at(ctx.now));
        apply(inst, ctx);
        let settles = inst.settles_at();
        inst.record_operation(action, ctx.request_id, ctx.now, settles);
        responses.push(json!({
            "Code": "200", "Message": "success", "InstanceId": id,
            "CurrentStatus": state_name(inst.state_at(ctx.now)),
            "PreviousStatus": before,
        }));
    }
    Ok(fields(
        json!({"InstanceResponses": {"InstanceResponse": responses}}),
    ))
}

pub(super) fn start_instances(ctx: &Ctx) -> AliResult<Fields> {
    let d = ctx.app.settings().transition_delays_ms;
    batch(
        ctx,
        "StartInstances",
        |s, _| s == VmState::Stopped,
        |i, c| {
            i.stop_charging = false;
            i.set_schedule(
                c.now,
                &[
                    (VmState::Starting, Some(d.starting)),
                    (VmState::Running, None),
                ],
            );
        },
    )
}

pub(super) fn stop_instances(ctx: &Ctx) -> AliResult<Fields> {
    // ForceStop=false asks the guest to shut down (and fails if it does not).
    let soft = !ctx.boolean("ForceStop")?.unwrap_or(false);
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
    batch(
        ctx,
        "StopInstances",
        |s, _| s == VmState::Running,
        |i, c| {
            i.stop_charging = mode == "StopCharging";
            let phases = i.stop_schedule(soft, false, d.stopping);
            i.set_schedule(c.now, &phases);
        },
    )
}

pub(super) fn reboot_instances(ctx: &Ctx) -> AliResult<Fields> {
    ctx.boolean("ForceReboot")?;
    let d = ctx.app.settings().transition_delays_ms;
    let half = d.rebooting / 2;
    batch(
        ctx,
        "RebootInstances",
        |s, _| s == VmState::Running,
        |i, c| {
            i.set_schedule(
                c.now,
                &[
                    (VmState::Stopping, Some(half)),
                    (VmState::Starting, Some(d.rebooting - half)),
                    (VmState::Running, None),
                ],
            );
        },
    )
}

pub(super) fn delete_instances(ctx: &Ctx) -> AliResult<Fields> {
    let force = ctx.boolean("Force")?.unwrap_or(false);
    ctx.boolean("ForceStop")?;
    let terminate_subscription = ctx.boolean("TerminateSubscription")?.unwrap_or(false);
    let d = ctx.app.settings().transition_delays_ms;
    // Protected instances cannot be released; subscription instances only once expired and
    // with TerminateSubscription=true (`super::super::billing::check_releasable`).
    {
        let region = ctx.region()?;
        let store = ctx.app.store();
        for id in ctx.list("InstanceId") {
            if let Ok(i) = owned(&store, ctx, region.id, &id) {
                if i.protected {
                    return Err(AliError::new(
                        403,
                        "InvalidOperation.DeletionProtection",
                        format!("The instance {id} has deletion protection enabled."),
                    ));
                }
                super::super::billing::check_releasable(i, terminate_subscription, ctx.now)?;
            }
        }
    }
    let mut out = batch(
        ctx,
        "DeleteInstances",
        move |s, _| s == VmState::Stopped || (force && s == VmState::Running),
        |i, c| {
            i.set_schedule(
                c.now,
                &[
                    (VmState::Terminating, Some(d.terminating)),
                    (VmState::Gone, None),
                ],
            );
        },
    )?;
    // DeleteInstances answers with the RequestId only.
    out.remove("InstanceResponses");
    Ok(out)
}
