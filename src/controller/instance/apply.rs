//! Stage 4, apply: carry out the planned [`Step`], one match arm per step. Each arm is
//! one provider call through the credential's handle (rate-limited, counted, marking the
//! instance for re-observation and recording an Event on success), a finalizer edit, or
//! nothing. The data a step needs travels in the step; the create path is in `apply/create.rs`.

mod create;

pub(crate) use create::{PROCESS_START, remember_unanswered};

use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{Api, Resource, ResourceExt};

use super::plan::{self, Step};
use super::resolve;
use crate::api::instance::DeletionPolicy;
use crate::api::{CloudInstance, CloudInstanceStatus};
use crate::controller::cloud::CloudHandle;
use crate::controller::context::{Context, Error};
use crate::controller::poller::GroupKey;
use crate::controller::problem::Problem;
use crate::controller::ratelimit::ActionClass;
use crate::controller::status::{add_finalizer, now_rfc3339, remove_finalizer};
use crate::controller::translate;
use crate::provider::{
    CloudProvider, ErrorKind, InstanceState, Modification, ProviderError, StopMode,
};

/// The outcome of applying one step.
#[derive(Default)]
pub struct Outcome {
    /// A provider error to surface as Synced=False.
    pub error: Option<ProviderError>,
    /// A non-provider problem to surface as Synced=False.
    pub problem: Option<Problem>,
    /// Reconcile again after this long (the step is under way).
    pub requeue: Option<Duration>,
    /// The cloud accepted a dry-run create.
    pub dry_run_ok: bool,
}

impl Outcome {
    fn ok() -> Self {
        Self::default()
    }

    fn failed(e: ProviderError) -> Self {
        Self {
            error: Some(e),
            ..Self::default()
        }
    }

    fn blocked(p: Problem) -> Self {
        Self {
            problem: Some(p),
            ..Self::default()
        }
    }

    fn again_in(d: Duration) -> Self {
        Self {
            requeue: Some(d),
            ..Self::default()
        }
    }
}

/// Apply `step` to `obj`, updating `status` with what the step changed (an id, a reboot
/// acted on, a stop requested).
pub async fn apply(
    ctx: &Context,
    api: &Api<CloudInstance>,
    obj: &CloudInstance,
    handle: &CloudHandle,
    group: &GroupKey,
    step: &Step,
    status: &mut CloudInstanceStatus,
) -> Result<Outcome, Error> {
    let id = status.instance_id.clone().unwrap_or_default();
    let a = Actor {
        ctx,
        api,
        obj,
        handle,
        group,
        id: &id,
        oref: obj.object_ref(&()),
    };
    let region = obj.spec.region.as_str();
    let ids = std::slice::from_ref(&id);
    let p = &handle.provider;
    let result = match step {
        Step::InSync
        | Step::AwaitObservation
        | Step::AwaitTransition(_)
        | Step::AwaitSpecChange => Ok(()),
        Step::AwaitGuestStop(left) => return Ok(Outcome::again_in(*left)),
        Step::ReportLost => {
            a.report_lost(status).await;
            Ok(())
        }
        Step::AddFinalizer => {
            add_finalizer(api, obj).await?;
            return Ok(Outcome::again_in(Duration::ZERO));
        }
        Step::RemoveFinalizer => return a.release(status).await,
        Step::Create => return create::create(&a, status).await,
        Step::Recreate => {
            a.forget_lost(status).await;
            return Ok(Outcome::again_in(Duration::from_millis(100)));
        }
        Step::Start => {
            let note = format!("starting instance {id}");
            a.mutate(
                "StartInstances",
                p.start_instances(region, ids),
                ("Starting", "Start", note),
            )
            .await
        }
        Step::Stop(mode) => a.stop(*mode, "stop it", status).await,
        Step::StopForResize(mode) => a.stop(*mode, "change its instance type", status).await,
        Step::StopForReinstall(mode) => a.stop(*mode, "reinstall its OS", status).await,
        Step::Reboot { requested_at } => {
            let note = format!("rebooting instance {id}");
            let r = a
                .mutate(
                    "RebootInstances",
                    p.reboot_instances(region, ids, false),
                    ("Rebooting", "Reboot", note),
                )
                .await;
            if r.is_ok() {
                status.last_reboot_requested_at = Some(requested_at.clone());
            }
            r
        }
        Step::Rename { name } => {
            let change = Modification {
                name: Some(name.clone()),
                security_group_ids: None,
            };
            let note = format!("renamed instance {id} to {name}");
            a.modify(&change, "Renamed", note).await
        }
        Step::SetSecurityGroups { ids: groups } => {
            let change = Modification {
                name: None,
                security_group_ids: Some(groups.clone()),
            };
            let note = format!("security groups of {id} set to {}", groups.join(","));
            a.modify(&change, "SecurityGroupsChanged", note).await
        }
        Step::Reinstall { image_id } => {
            let ns = obj.namespace().unwrap_or_default();
            let password = match resolve::password(ctx, &ns, &obj.spec).await {
                Ok(p) => p,
                Err(problem) => return Ok(Outcome::blocked(problem)),
            };
            let req = translate::reinstall_request(&obj.spec, image_id, password);
            let note = format!("reinstalling instance {id} with image {image_id}");
            a.mutate(
                "ResetInstance",
                p.reinstall(region, &id, &req),
                ("Reinstalling", "Reinstall", note),
            )
            .await
        }
        Step::Resize { instance_type } => {
            let note = format!("changing instance {id} to type {instance_type}");
            a.mutate(
                "ResetInstancesType",
                p.resize(region, &id, instance_type),
                ("Resizing", "Resize", note),
            )
            .await
        }
        Step::Terminate => {
            let note = format!("terminating instance {id}");
            let r = a
                .mutate(
                    "TerminateInstances",
                    p.terminate_instances(region, ids),
                    ("Terminating", "Delete", note),
                )
                .await;
            match r {
                // already gone: the next observation lets the finalizer go
                Err(e) if e.kind == ErrorKind::NotFound => {
                    ctx.poller.mark_mutated(group, &id);
                    Ok(())
                }
                r => r,
            }
        }
    };
    Ok(a.settle(step, result).await)
}

/// One object, the means to act on it in the cloud and in Kubernetes, and the Events that
/// say what was done.
struct Actor<'a> {
    ctx: &'a Context,
    api: &'a Api<CloudInstance>,
    obj: &'a CloudInstance,
    handle: &'a CloudHandle,
    group: &'a GroupKey,
    /// The instance id ("" while there is none).
    id: &'a str,
    oref: ObjectReference,
}

impl Actor<'_> {
    /// Run one mutating call: rate-limited and counted by the handle; on success the
    /// instance is marked for re-observation and the event (reason, action, note) recorded.
    async fn mutate<Fut>(
        &self,
        action: &'static str,
        fut: Fut,
        (reason, event_action, note): (&str, &str, String),
    ) -> Result<(), ProviderError>
    where
        Fut: std::future::Future<Output = Result<(), ProviderError>>,
    {
        let r = self.handle.call(ActionClass::Mutating, action, fut).await;
        if r.is_ok() {
            self.ctx.poller.mark_mutated(self.group, self.id);
            self.normal(reason, event_action, note).await;
        }
        r
    }

    /// Change attributes of the instance (ModifyInstancesAttribute and its equivalents).
    async fn modify(
        &self,
        change: &Modification,
        reason: &str,
        note: String,
    ) -> Result<(), ProviderError> {
        let region = self.obj.spec.region.as_str();
        let call = self
            .handle
            .provider
            .modify_instance(region, self.id, change);
        self.mutate("ModifyInstancesAttribute", call, (reason, "Modify", note))
            .await
    }

    async fn normal(&self, reason: &str, action: &str, note: String) {
        self.ctx
            .recorder
            .normal(&self.oref, reason, action, note)
            .await;
    }

    async fn warning(&self, reason: &str, action: &str, note: String) {
        self.ctx
            .recorder
            .warning(&self.oref, reason, action, note)
            .await;
    }

    /// Write the status (the instance id) right away, before anything else can fail.
    async fn record_id(&self, status: &CloudInstanceStatus) -> Result<(), Error> {
        super::status::record(self.ctx, self.api, self.obj, status).await
    }

    /// Stop the instance (to `why`), remembering when a stop without force was requested
    /// (the grace period runs from the first one; a forced stop needs no grace).
    async fn stop(
        &self,
        mode: StopMode,
        why: &str,
        status: &mut CloudInstanceStatus,
    ) -> Result<(), ProviderError> {
        let region = self.obj.spec.region.as_str();
        let ids = [self.id.to_owned()];
        let event = stop_event(self.id, mode, status, why);
        let r = self
            .mutate(
                "StopInstances",
                self.handle.provider.stop_instances(region, &ids, mode),
                event,
            )
            .await;
        if r.is_ok() && mode != StopMode::Hard {
            status.soft_stop_requested_at = Some(now_rfc3339());
        }
        r
    }

    /// Say (once) that the instance is gone or failed and will not be replaced.
    async fn report_lost(&self, status: &CloudInstanceStatus) {
        if status.state.as_deref() != Some("Terminated")
            && status.state.as_deref() != Some("Failed")
        {
            let note = format!("instance {} is gone or failed in the cloud", self.id);
            self.warning("InstanceLost", "Observe", note).await;
        }
    }

    /// Forget the lost instance so that the next reconcile creates the next incarnation.
    async fn forget_lost(&self, status: &mut CloudInstanceStatus) {
        let note = format!("instance {} is gone; creating a replacement", self.id);
        self.warning("InstanceLost", "Recreate", note).await;
        self.ctx.poller.forget(self.group, self.id);
        status.instance_id = None;
        status.state = None;
        status.provider_state = None;
        status.private_ips.clear();
        status.public_ips.clear();
        status.created_at = None;
        status.incarnation = Some(status.incarnation.unwrap_or(0) + 1);
    }

    /// Let go of a deleted object. Without a recorded id, a crash between RunInstances
    /// and writing its id may have left a running instance known only by its tag: it is
    /// adopted (and terminated on the next reconcile) before the finalizer goes.
    async fn release(&self, status: &mut CloudInstanceStatus) -> Result<Outcome, Error> {
        let spec = &self.obj.spec;
        if self.id.is_empty() && spec.deletion_policy == DeletionPolicy::Delete && !spec.dry_run {
            match create::find_unrecorded(self.handle, self.obj).await {
                Err(e) => return Ok(Outcome::failed(e)),
                Ok(Some(found)) => {
                    status.instance_id = Some(found.clone());
                    self.record_id(status).await?;
                    let note = format!(
                        "found instance {found} tagged with this object's UID; terminating it"
                    );
                    self.normal("Adopted", "Delete", note).await;
                    return Ok(Outcome::again_in(Duration::from_millis(200)));
                }
                Ok(None) => {
                    let requested = status.create_requested_at.as_deref();
                    let settle = create::create_settle(&self.ctx.settings);
                    let now = jiff::Timestamp::now();
                    let uid = self.obj.uid().unwrap_or_default();
                    if let Some(wait) = create::create_settling(
                        create::deletion_settle_from(&uid, requested),
                        now,
                        settle,
                    ) {
                        let message = format!(
                            "a create request (first sent at {}) got no answer and may still take \
                             effect in the cloud; nothing carries this object's UID yet; \
                             looking again in {}s before letting go",
                            requested.unwrap_or("?"),
                            wait.as_secs()
                        );
                        return Ok(Outcome {
                            problem: Some(Problem::new("CreateMayStillTakeEffect", message)),
                            requeue: Some(wait),
                            ..Outcome::ok()
                        });
                    }
                }
            }
        }
        self.ctx.poller.forget(self.group, self.id);
        remove_finalizer(self.api, self.obj).await?;
        remember_unanswered(&self.obj.uid().unwrap_or_default(), None);
        if !self.id.is_empty() {
            let what = if spec.deletion_policy == DeletionPolicy::Orphan {
                "orphaned (deletionPolicy Orphan): left running in the cloud"
            } else {
                "terminated"
            };
            let note = format!("instance {} {what}", self.id);
            self.normal("Deleted", "Delete", note).await;
        }
        Ok(Outcome::ok())
    }

    /// The outcome of a step's provider call.
    async fn settle(&self, step: &Step, result: Result<(), ProviderError>) -> Outcome {
        match result {
            Ok(()) => Outcome::ok(),
            Err(e) if e.kind == ErrorKind::WrongState => {
                // The cloud moved on under us (e.g. a console user acted): re-observe, no alarm.
                self.ctx.poller.mark_mutated(self.group, self.id);
                tracing::info!(code = %e.code, "instance in unexpected state; re-observing");
                Outcome::again_in(Duration::from_secs(2))
            }
            Err(e) => {
                self.warning("ProviderError", plan::step_name(step), e.to_string())
                    .await;
                Outcome::failed(e)
            }
        }
    }
}

/// The event of a stop: a forced stop after the guest ignored one without force is a
/// `ForcedStop` (the user chose `SoftThenHard` and should see it happen).
fn stop_event(
    id: &str,
    mode: StopMode,
    status: &CloudInstanceStatus,
    why: &str,
) -> (&'static str, &'static str, String) {
    match (mode, &status.soft_stop_requested_at) {
        (StopMode::Hard, Some(at)) => (
            "ForcedStop",
            "Stop",
            format!(
                "instance {id}: the guest OS did not shut down after the stop requested at {at}; forcing it off to {why}"
            ),
        ),
        (StopMode::Hard, None) => (
            "Stopping",
            "Stop",
            format!("forcing instance {id} off to {why}"),
        ),
        _ => (
            "Stopping",
            "Stop",
            format!("asking the guest OS of instance {id} to shut down to {why}"),
        ),
    }
}

/// Whether an instance state means it is gone (or going) for good.
fn is_gone(state: InstanceState) -> bool {
    matches!(
        state,
        InstanceState::Terminated | InstanceState::Terminating
    )
}
