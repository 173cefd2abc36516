//! The CloudInstance reconciler: a thin async shell around the pure planner. One
//! reconcile is five stages, one module each:
//!
//! 1. [`resolve`]: the credential becomes a cloud handle (or a reason to wait);
//! 2. [`observe`]: the poller's view of the instance and the controller's memory;
//! 3. [`plan`]: the next [`plan::Step`] (pure; [`confirm`] double-checks irreversible ones);
//! 4. [`apply`]: one arm per step, one provider call;
//! 5. [`status`]: fold the result into status and write it when it changed.

pub mod apply;
pub mod confirm;
pub mod observe;
pub mod plan;
pub mod refusals;
pub mod resolve;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use crate::api::CloudInstance;
use crate::controller::context::{Context, Error};
use crate::provider::ErrorKind;
use apply::Outcome;
use observe::Observed;
use plan::Step;

const KIND: &str = "CloudInstance";

/// Entry point for the kube-runtime Controller.
pub async fn reconcile(obj: Arc<CloudInstance>, ctx: Arc<Context>) -> Result<Action, Error> {
    std::sync::LazyLock::force(&apply::PROCESS_START);
    let obj = ctx.instance_writes.freshest(obj, |o| &mut o.status);
    let ns = obj.namespace().ok_or(Error::NoNamespace)?;
    let name = obj.name_any();
    ctx.run_reconcile(KIND, &ns, &name, reconcile_inner(&obj, &ctx, &ns, &name))
        .await
}

pub fn error_policy(obj: Arc<CloudInstance>, err: &Error, ctx: Arc<Context>) -> Action {
    let uid = obj.uid().unwrap_or_default();
    let wait = ctx.failure_backoff(&uid);
    tracing::warn!(name = %obj.name_any(), error = %err, retry_in_ms = wait.as_millis() as u64, "reconcile failed");
    Action::requeue(wait)
}

async fn reconcile_inner(
    obj: &CloudInstance,
    ctx: &Context,
    ns: &str,
    name: &str,
) -> Result<Action, Error> {
    let api: Api<CloudInstance> = Api::namespaced(ctx.client.clone(), ns);
    let uid = obj.uid().unwrap_or_default();
    let deleting = obj.metadata.deletion_timestamp.is_some();
    let has_finalizer = observe::has_finalizer(obj);
    if deleting && !has_finalizer {
        ctx.instance_writes.forget(&uid);
        return Ok(Action::await_change());
    }
    // Right after a (re)start the credential cache may still be empty: "not found" below
    // must mean not found, not "not listed yet" (a deleting object without an id would
    // otherwise lose its finalizer and leak an instance created just before a crash).
    if !ctx.credentials_synced.wait().await {
        return Ok(Action::await_change()); // shutting down
    }

    // 1. resolve
    let handle = match resolve::handle(ctx, ns, &obj.spec.credential_ref.name).await {
        Ok(h) => h,
        Err(problem) => return status::without_cloud(ctx, &api, obj, problem).await,
    };
    // 2. observe
    let seen = observe::observe(ctx, ns, obj, &handle);
    // 3. plan
    let last = obj.status.clone().unwrap_or_default();
    let input = observe::plan_input(ctx, obj, name, &last, &seen, &handle);
    let step = plan::plan(&input);
    tracing::debug!(step = plan::step_name(&step), "planned");
    if let Some(wait) = confirm::wait_before(ctx, &handle, obj, &seen.observation, &step).await {
        let id = last.instance_id.as_deref().unwrap_or("");
        ctx.poller.mark_mutated(&seen.group, id);
        return Ok(Action::requeue(wait));
    }
    // 4. apply
    let mut status = last.clone();
    let outcome = apply::apply(ctx, &api, obj, &handle, &seen.group, &step, &mut status).await?;
    if step == Step::RemoveFinalizer && outcome.requeue.is_none() && outcome.error.is_none() {
        ctx.instance_writes.forget(&uid);
        return Ok(Action::await_change());
    }
    // 5. status
    status::report(ctx, &api, obj, &input, &seen, &step, &outcome, status).await?;
    Ok(next(ctx, &uid, &seen, &step, &outcome))
}

/// When to reconcile again: failures back off (retryable ones per object, terminal ones
/// rarely); a step under way asks for its own time; otherwise the poller triggers us on
/// every observed change and this is only a safety net.
fn next(ctx: &Context, uid: &str, seen: &Observed, step: &Step, outcome: &Outcome) -> Action {
    if let Some(e) = &outcome.error {
        if e.kind == ErrorKind::Auth {
            ctx.rechecks.request(&seen.group.credential);
        }
        if e.is_retryable() {
            return Action::requeue(ctx.failure_backoff(uid));
        }
        // Terminal (bad spec, auth, quota, wrong state): wait for a change, re-check rarely.
        return Action::requeue(Duration::from_secs(300));
    }
    ctx.reset_backoff(uid);
    if let Some(r) = outcome.requeue {
        return Action::requeue(r);
    }
    match step {
        Step::AwaitSpecChange => match seen.create_held {
            Some(Some(retry)) => Action::requeue(retry.min(ctx.settings.resync)),
            _ => Action::requeue(ctx.settings.resync),
        },
        Step::InSync | Step::ReportLost => Action::requeue(ctx.settings.resync),
        _ => Action::requeue(Duration::from_secs(30)),
    }
}
