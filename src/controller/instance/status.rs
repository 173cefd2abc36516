//! Stage 5, status: fold what was observed and done into `status` (state, IPs, type,
//! image, conditions, `observedGeneration`) and write it with server-side apply, only
//! when it changed. The fold and the choice of conditions are pure functions; [`report`]
//! and [`without_cloud`] are the writes.

use std::time::Duration;

use kube::Api;
use kube::runtime::controller::Action;

use super::KIND;
use super::apply::Outcome;
use super::observe::Observed;
use super::plan::{self, Input, Step};
use super::refusals;
use crate::api::conditions::{self, Condition, READY, SYNCED};
use crate::api::instance::PowerState;
use crate::api::{CloudInstance, CloudInstanceStatus};
use crate::controller::context::{Context, Error};
use crate::controller::poller::Observation;
use crate::controller::problem::Problem;
use crate::controller::status::{apply_status, now_rfc3339, remove_finalizer};
use crate::provider::InstanceState;

/// Write the status after `step` was applied with `outcome`. `status` holds what the step
/// changed; `input` is what the plan was made from.
#[allow(clippy::too_many_arguments)]
pub async fn report(
    ctx: &Context,
    api: &Api<CloudInstance>,
    obj: &CloudInstance,
    input: &Input<'_>,
    seen: &Observed,
    step: &Step,
    outcome: &Outcome,
    mut status: CloudInstanceStatus,
) -> Result<(), Error> {
    // A create the cloud refused is recorded in status (`Ready` for this generation, see
    // `refusals`): it is not sent again on our own status write (read-your-own-writes) nor
    // after a restart; a fixed spec is.
    let refused_now = refusals::record(obj, step, outcome);
    let ready = ready_condition(input, step, outcome, refused_now.as_ref());
    fold(&mut status, &seen.observation);
    forget_soft_stop(input, step, &mut status);
    let problem = problem(step, outcome, &status).or_else(|| ctx.poller.poll_problem(&seen.group));
    let synced = plan::synced_condition(
        &Input {
            status: &status,
            ..*input
        },
        problem.as_ref(),
    );
    write(ctx, api, obj, status, [ready, synced]).await
}

/// The credential cannot be used (`problem` says why): report it and wait for the
/// credential watch. A deleting object is let go at once if nothing can exist for it in
/// the cloud; otherwise the message says what the deletion waits for.
pub async fn without_cloud(
    ctx: &Context,
    api: &Api<CloudInstance>,
    obj: &CloudInstance,
    problem: Problem,
) -> Result<Action, Error> {
    let status = obj.status.clone().unwrap_or_default();
    let mut message = problem.message;
    if obj.metadata.deletion_timestamp.is_some() {
        match plan::deletion_without_cloud(&obj.spec, &status) {
            plan::Release::Now => {
                remove_finalizer(api, obj).await?;
                return Ok(Action::await_change());
            }
            plan::Release::AfterCloud(why) => {
                message = format!(
                    "deletion waits for the credential: {}. {why}; fix the credential, or set \
                     spec.deletionPolicy: Orphan to let go of the instance without terminating it",
                    message.trim_end_matches('.')
                );
            }
        }
    }
    let ready = conditions::find(&status.conditions, READY)
        .cloned()
        .unwrap_or_else(|| {
            Condition::new(
                READY,
                false,
                "CredentialNotReady",
                "waiting for the credential",
            )
        });
    let synced = Condition::new(SYNCED, false, &problem.reason, message);
    write(ctx, api, obj, status, [ready, synced]).await?;
    // The credential watch re-triggers us when it changes; this is a safety net.
    Ok(Action::requeue(Duration::from_secs(300)))
}

/// Merge `Ready` and `Synced` into `status`, mark it as describing this generation and
/// server-side apply it if it differs from what was read.
async fn write(
    ctx: &Context,
    api: &Api<CloudInstance>,
    obj: &CloudInstance,
    mut status: CloudInstanceStatus,
    [ready, synced]: [Condition; 2],
) -> Result<(), Error> {
    status.conditions = conditions::merge(
        &status.conditions,
        vec![ready, synced],
        obj.metadata.generation,
        &now_rfc3339(),
    );
    status.observed_generation = obj.metadata.generation;
    record(ctx, api, obj, &status).await
}

/// Server-side apply `status` if it differs from the object's, and remember what was
/// written (read-your-own-writes, [`crate::controller::own_writes`]).
pub async fn record(
    ctx: &Context,
    api: &Api<CloudInstance>,
    obj: &CloudInstance,
    status: &CloudInstanceStatus,
) -> Result<(), Error> {
    let applied = apply_status(api, obj, obj.status.as_ref(), status).await?;
    if ctx.instance_writes.note(obj, applied, status) {
        ctx.metrics.status_written(KIND);
    }
    Ok(())
}

/// `Ready`: the plan's verdict, unless the step's outcome says more (a refused or dry-run
/// create).
fn ready_condition(
    input: &Input<'_>,
    step: &Step,
    outcome: &Outcome,
    refused_now: Option<&Condition>,
) -> Condition {
    if outcome.dry_run_ok {
        return Condition::new(
            READY,
            false,
            "DryRunSucceeded",
            "the cloud validated the create request (spec.dryRun is true); no instance was created",
        );
    }
    if let Some(r) = refused_now {
        return r.clone();
    }
    plan::ready_condition(input, step)
}

/// What keeps the spec from being applied, for `Synced`: the step's problem or error; while
/// waiting for a fixed spec, the refusal as status records it.
fn problem(step: &Step, outcome: &Outcome, status: &CloudInstanceStatus) -> Option<Problem> {
    if let Some(p) = &outcome.problem {
        return Some(p.clone());
    }
    if let Some(e) = &outcome.error {
        return Some(Problem::from(e));
    }
    if *step != Step::AwaitSpecChange {
        return None;
    }
    conditions::find(&status.conditions, SYNCED)
        .filter(|c| !c.is_true())
        .map(|c| Problem::new(c.reason.clone(), c.message.clone()))
}

/// Fold the cloud's view into the status; `lastSyncedAt` moves only when it changed.
fn fold(status: &mut CloudInstanceStatus, observation: &Observation) {
    match observation {
        Observation::Seen(d) => {
            let mut changed = false;
            let mut set = |field: &mut Option<String>, v: &str| {
                let v = (!v.is_empty()).then(|| v.to_owned());
                if *field != v {
                    *field = v;
                    changed = true;
                }
            };
            set(&mut status.state, d.state.as_str());
            set(&mut status.provider_state, &d.provider_state);
            set(&mut status.zone, &d.zone);
            set(&mut status.instance_type, &d.instance_type);
            set(&mut status.image_id, &d.image_id);
            if status.created_at.is_none() {
                set(
                    &mut status.created_at,
                    d.created_at.as_deref().unwrap_or(""),
                );
            }
            if status.private_ips != d.private_ips || status.public_ips != d.public_ips {
                status.private_ips = d.private_ips.clone();
                status.public_ips = d.public_ips.clone();
                changed = true;
            }
            if changed {
                status.last_synced_at = Some(now_rfc3339());
            }
            if d.state == InstanceState::Stopped {
                status.soft_stop_requested_at = None; // it shut down
            }
        }
        Observation::Missing if status.state.as_deref() != Some("Terminated") => {
            status.state = Some(InstanceState::Terminated.as_str().into());
            status.provider_state = None;
            status.last_synced_at = Some(now_rfc3339());
        }
        Observation::Missing | Observation::Unknown => {}
    }
}

/// Wanted running again (and no stop for a resize or reinstall under way): forget the
/// stop without force that was requested.
fn forget_soft_stop(input: &Input<'_>, step: &Step, status: &mut CloudInstanceStatus) {
    if input.spec.power_state == PowerState::Running
        && !matches!(
            step,
            Step::StopForResize(_)
                | Step::StopForReinstall(_)
                | Step::AwaitGuestStop(_)
                | Step::AwaitTransition(_)
        )
    {
        status.soft_stop_requested_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{ErrorKind, InstanceDetails, ProviderError};

    fn seen(state: InstanceState) -> Observation {
        Observation::Seen(Box::new(InstanceDetails {
            id: "ins-1".into(),
            state,
            provider_state: "RUNNING".into(),
            instance_type: "S5.SMALL2".into(),
            private_ips: vec!["10.0.0.1".into()],
            ..Default::default()
        }))
    }

    #[test]
    fn fold_moves_last_synced_at_only_when_the_cloud_view_changed() {
        let mut st = CloudInstanceStatus::default();
        fold(&mut st, &seen(InstanceState::Running));
        assert_eq!(st.state.as_deref(), Some("Running"));
        assert_eq!(st.private_ips, vec!["10.0.0.1".to_string()]);
        let first = st.last_synced_at.clone().expect("synced");
        st.last_synced_at = Some("earlier".into());
        fold(&mut st, &seen(InstanceState::Running));
        assert_eq!(st.last_synced_at.as_deref(), Some("earlier"), "{first}");
        st.soft_stop_requested_at = Some("t".into());
        fold(&mut st, &seen(InstanceState::Stopped));
        assert_eq!(st.soft_stop_requested_at, None, "a stopped guest shut down");
        fold(&mut st, &Observation::Missing);
        assert_eq!(st.state.as_deref(), Some("Terminated"));
        assert_eq!(st.provider_state, None);
    }

    #[test]
    fn synced_problem_prefers_the_step_then_its_error_then_a_recorded_refusal() {
        let st = CloudInstanceStatus {
            conditions: vec![Condition::new(SYNCED, false, "InvalidImage", "bad image")],
            ..Default::default()
        };
        let none = Outcome::default();
        assert_eq!(problem(&Step::InSync, &none, &st), None);
        assert_eq!(
            problem(&Step::AwaitSpecChange, &none, &st),
            Some(Problem::new("InvalidImage", "bad image"))
        );
        let failed = Outcome {
            error: Some(ProviderError::new(
                ErrorKind::Quota,
                "LimitExceeded",
                "too many",
            )),
            ..Default::default()
        };
        assert_eq!(
            problem(&Step::Create, &failed, &st).map(|p| p.reason),
            Some("LimitExceeded".into())
        );
        let blocked = Outcome {
            problem: Some(Problem::new("PasswordSecretNotFound", "no secret")),
            ..failed
        };
        assert_eq!(
            problem(&Step::Create, &blocked, &st).map(|p| p.reason),
            Some("PasswordSecretNotFound".into())
        );
    }
}
