//! Stage 3, plan: what should happen next to one CloudInstance, a pure function of the
//! spec, the last written status and the poller's latest observation of the cloud; and the
//! `Ready` and `Synced` conditions derived from the same inputs. No I/O here.
//!
//! A [`Step`] carries the data its execution needs (the new type of a resize, the new
//! name of a rename, ...), so [`super::apply`] never re-derives it from the spec.

use std::time::Duration;

use crate::api::conditions::{self, Condition, READY, SYNCED};
use crate::api::instance::{
    CloudInstanceSpec, CloudInstanceStatus, DeletionPolicy, PowerState, RecreatePolicy,
    ReinstallPolicy,
};
use crate::controller::poller::Observation;
use crate::controller::problem::Problem;
use crate::controller::translate::{desired_name, stop_mode, wanted_state};
use crate::provider::{InstanceState, StopMode};

/// The next step for one object.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Add our finalizer before anything is created.
    AddFinalizer,
    /// No instance yet: look for one tagged with our UID, else create one.
    Create,
    /// Wait for the poller to report the cloud's view.
    AwaitObservation,
    /// The cloud is moving the instance between states; wait.
    AwaitTransition(InstanceState),
    Start,
    Stop(StopMode),
    /// Reboot, acting on `spec.rebootRequestedAt` = `requested_at`.
    Reboot {
        requested_at: String,
    },
    /// Set the instance's name in the cloud.
    Rename {
        name: String,
    },
    /// Re-bind the security groups.
    SetSecurityGroups {
        ids: Vec<String>,
    },
    /// Reinstall the OS with `image_id` (destroys the system disk).
    Reinstall {
        image_id: String,
    },
    /// Stop first so the type can be changed.
    StopForResize(StopMode),
    /// Stop first: this cloud reinstalls only stopped instances.
    StopForReinstall(StopMode),
    /// A stop without force was requested and the guest has not shut down yet: give it
    /// the rest of the grace period.
    AwaitGuestStop(Duration),
    /// Change the (stopped) instance's type to `instance_type`.
    Resize {
        instance_type: String,
    },
    /// Deleting with policy Delete: terminate the cloud instance.
    Terminate,
    /// Done with the object: drop our finalizer.
    RemoveFinalizer,
    /// Out-of-band deletion with recreatePolicy OnCloudDeletion: forget the id, create anew.
    Recreate,
    /// Out-of-band deletion with recreatePolicy Never, or a launch failure: report and stop.
    ReportLost,
    /// The cloud refused this generation's create: nothing to do until the spec changes
    /// (or, for a refusal that can pass, until its retry time).
    AwaitSpecChange,
    /// Everything matches.
    InSync,
}

/// Inputs to [`plan`].
#[derive(Clone, Copy)]
pub struct Input<'a> {
    pub object_name: &'a str,
    pub spec: &'a CloudInstanceSpec,
    pub status: &'a CloudInstanceStatus,
    pub has_finalizer: bool,
    pub deleting: bool,
    pub observation: &'a Observation,
    /// The cloud reinstalls only stopped instances.
    pub reinstall_needs_stop: bool,
    /// Time since `status.softStopRequestedAt` (None: no stop without force pending).
    pub soft_stop_age: Option<Duration>,
    /// How long a guest gets to shut down before the stop is forced or repeated.
    pub soft_stop_grace: Duration,
    /// The cloud forces a stop the guest ignores by itself (Tencent SOFT_FIRST).
    pub cloud_forces_stop: bool,
    /// The cloud refused the create request of this generation and it is not to be sent
    /// now (recorded in status as `Ready=False`, reason [`CREATE_REFUSED`] or
    /// [`CREATE_RETRY_LATER`], with this `observedGeneration`).
    pub create_refused: bool,
}

/// `Ready` reason: the cloud refused this generation's create request as invalid; it is
/// not sent again until the spec changes (see [`super::refusals`]).
pub const CREATE_REFUSED: &str = "CreateRefused";
/// `Ready` reason: the cloud refused this generation's create request for a reason that can
/// pass (quota, capacity, balance, a missing resource); it is sent again after a while, or
/// at once when the spec changes (see [`super::refusals`]).
pub const CREATE_RETRY_LATER: &str = "CreateRetryLater";

/// Decide the next step.
pub fn plan(i: &Input<'_>) -> Step {
    let spec = i.spec;
    let id = i.status.instance_id.as_deref();

    if i.deleting {
        if !i.has_finalizer {
            return Step::InSync;
        }
        if id.is_none() || spec.deletion_policy == DeletionPolicy::Orphan {
            return Step::RemoveFinalizer;
        }
        return match i.observation {
            Observation::Missing => Step::RemoveFinalizer,
            Observation::Unknown => Step::AwaitObservation,
            Observation::Seen(d) => match d.state {
                InstanceState::Terminated => Step::RemoveFinalizer,
                InstanceState::Running
                | InstanceState::Stopped
                | InstanceState::Failed
                | InstanceState::Suspended => Step::Terminate,
                s => Step::AwaitTransition(s),
            },
        };
    }

    if !i.has_finalizer {
        return Step::AddFinalizer;
    }
    if id.is_none() {
        if i.create_refused {
            return Step::AwaitSpecChange;
        }
        return Step::Create;
    }

    let d = match i.observation {
        Observation::Unknown => return Step::AwaitObservation,
        Observation::Missing => return lost(spec),
        Observation::Seen(d) => d,
    };
    match d.state {
        InstanceState::Terminated | InstanceState::Terminating => return lost(spec),
        // A failed instance (Tencent LAUNCH_FAILED, Huawei ERROR) still exists and may bill:
        // it is terminated before any replacement is created, never just forgotten.
        InstanceState::Failed => {
            return match spec.recreate_policy {
                RecreatePolicy::OnCloudDeletion => Step::Terminate,
                RecreatePolicy::Never => Step::ReportLost,
            };
        }
        s if s.is_transitional() => return Step::AwaitTransition(s),
        // Held by the cloud (arrears/expiry isolation, recycle bin, rescue mode): not gone,
        // and every action would be refused; wait for the cloud's view to change.
        InstanceState::Suspended => return Step::AwaitTransition(d.state),
        _ => {}
    }
    let running = d.state == InstanceState::Running;

    // Resize: stop, change type, then the power-state rule below restores it.
    if !d.instance_type.is_empty() && d.instance_type != spec.instance_type {
        return if running {
            stop_or_wait(i).map_or_else(Step::AwaitGuestStop, Step::StopForResize)
        } else {
            Step::Resize {
                instance_type: spec.instance_type.clone(),
            }
        };
    }
    if spec.reinstall_policy == ReinstallPolicy::OnImageChange
        && !d.image_id.is_empty()
        && d.image_id != spec.image_id
    {
        return if running && i.reinstall_needs_stop {
            stop_or_wait(i).map_or_else(Step::AwaitGuestStop, Step::StopForReinstall)
        } else {
            Step::Reinstall {
                image_id: spec.image_id.clone(),
            }
        };
    }
    let name = desired_name(spec, i.object_name);
    if d.name != name {
        return Step::Rename {
            name: name.to_owned(),
        };
    }
    if let Some(net) = &spec.network
        && !net.security_group_ids.is_empty()
    {
        let mut want = net.security_group_ids.clone();
        let mut have = d.security_group_ids.clone();
        want.sort();
        have.sort();
        if want != have {
            return Step::SetSecurityGroups {
                ids: net.security_group_ids.clone(),
            };
        }
    }
    match (spec.power_state, running) {
        (PowerState::Running, false) => return Step::Start,
        (PowerState::Stopped, true) => {
            return stop_or_wait(i).map_or_else(Step::AwaitGuestStop, Step::Stop);
        }
        _ => {}
    }
    if running && let Some(requested_at) = reboot_pending(spec, i.status) {
        return Step::Reboot {
            requested_at: requested_at.to_owned(),
        };
    }
    Step::InSync
}

/// How to stop a running instance now, or how long to wait for the guest: a stop without
/// force gets `soft_stop_grace`; after that `SoftThenHard` forces it (unless the cloud
/// does so itself) and `Soft` asks again.
fn stop_or_wait(i: &Input<'_>) -> Result<StopMode, Duration> {
    let mode = stop_mode(i.spec);
    match (mode, i.soft_stop_age) {
        (StopMode::Hard, _) | (_, None) => Ok(mode),
        (_, Some(age)) if age < i.soft_stop_grace => Err(i.soft_stop_grace - age),
        (StopMode::SoftThenHard, Some(_)) if !i.cloud_forces_stop => Ok(StopMode::Hard),
        _ => Ok(mode),
    }
}

fn lost(spec: &CloudInstanceSpec) -> Step {
    match spec.recreate_policy {
        RecreatePolicy::OnCloudDeletion => Step::Recreate,
        RecreatePolicy::Never => Step::ReportLost,
    }
}

/// A reboot request (its `rebootRequestedAt`) that has not been acted on.
pub fn reboot_pending<'a>(
    spec: &'a CloudInstanceSpec,
    status: &CloudInstanceStatus,
) -> Option<&'a str> {
    spec.reboot_requested_at
        .as_deref()
        .filter(|r| status.last_reboot_requested_at.as_deref() != Some(*r))
}

/// The `Ready` condition for the current observation and the step just decided.
pub fn ready_condition(i: &Input<'_>, step: &Step) -> Condition {
    let c = |ok, reason: &str, msg: String| Condition::new(READY, ok, reason, msg);
    if i.deleting {
        return c(false, "Deleting", "the object is being deleted".into());
    }
    match (i.observation, step) {
        (_, Step::AwaitSpecChange) => conditions::find(&i.status.conditions, READY)
            .filter(|r| r.reason == CREATE_REFUSED || r.reason == CREATE_RETRY_LATER)
            .cloned()
            .unwrap_or_else(|| {
                c(
                    false,
                    CREATE_REFUSED,
                    "the cloud refused the create request; fix the spec".into(),
                )
            }),
        (_, Step::AddFinalizer | Step::Create) => {
            c(false, "Provisioning", "creating the cloud instance".into())
        }
        (_, Step::Recreate) => c(
            false,
            "Recreating",
            "the cloud instance is gone; creating a replacement (recreatePolicy OnCloudDeletion)"
                .into(),
        ),
        (Observation::Missing, _) => c(
            false,
            "InstanceNotFound",
            format!(
                "instance {} no longer exists in the cloud (deleted out of band); set recreatePolicy: OnCloudDeletion to replace it, or delete this object",
                i.status.instance_id.as_deref().unwrap_or("?")
            ),
        ),
        (Observation::Unknown, _) => c(
            false,
            "Observing",
            "waiting for the cloud's view of the instance".into(),
        ),
        (Observation::Seen(_), Step::AwaitGuestStop(_)) => c(
            false,
            "Stopping",
            format!(
                "the guest OS has not shut down after a stop without force requested at {}; {} {} s after the request",
                i.status.soft_stop_requested_at.as_deref().unwrap_or("?"),
                if i.spec.stop_mode == crate::api::instance::StopMode::Soft {
                    "asking again (stopMode Soft never forces it)"
                } else {
                    "forcing it"
                },
                i.soft_stop_grace.as_secs()
            ),
        ),
        (Observation::Seen(d), _) => {
            let want = wanted_state(i.spec);
            match d.state {
                InstanceState::Failed if *step == Step::Terminate => c(
                    false,
                    "LaunchFailed",
                    format!(
                        "the cloud reports {} for the instance; terminating it before a \
                         replacement is created (recreatePolicy OnCloudDeletion)",
                        d.provider_state
                    ),
                ),
                InstanceState::Failed => c(
                    false,
                    "LaunchFailed",
                    format!("the cloud reports {} for the instance", d.provider_state),
                ),
                InstanceState::Terminated | InstanceState::Terminating => c(
                    false,
                    "InstanceNotFound",
                    format!("the instance is {} in the cloud", d.provider_state),
                ),
                InstanceState::Suspended => c(
                    false,
                    "Suspended",
                    format!(
                        "the cloud holds the instance ({}): it still exists but accepts no \
                         action until it is released in the cloud (top-up or renewal, exit \
                         rescue mode, restore from the recycle bin); the controller waits",
                        d.provider_state
                    ),
                ),
                s if s == want && *step == Step::InSync => c(
                    true,
                    s.as_str(),
                    format!("instance is {} as desired", s.as_str().to_lowercase()),
                ),
                s if s.is_transitional() => c(
                    false,
                    s.as_str(),
                    format!("instance is {}", d.provider_state),
                ),
                _ => c(
                    false,
                    "Reconciling",
                    format!("applying the spec ({})", step_name(step)),
                ),
            }
        }
    }
}

/// The `Synced` condition: True unless the last step failed or the spec cannot be applied.
pub fn synced_condition(i: &Input<'_>, problem: Option<&Problem>) -> Condition {
    if let Some(p) = problem {
        return Condition::new(SYNCED, false, &p.reason, p.message.clone());
    }
    if let Observation::Seen(d) = i.observation
        && i.spec.reinstall_policy == ReinstallPolicy::Never
        && !d.image_id.is_empty()
        && d.image_id != i.spec.image_id
    {
        return Condition::new(
            SYNCED,
            false,
            "ReinstallRequired",
            format!(
                "spec.imageId {} differs from the instance's image {}; set reinstallPolicy: OnImageChange to reinstall the OS (destroys the system disk)",
                i.spec.image_id, d.image_id
            ),
        );
    }
    Condition::new(SYNCED, true, "ReconcileSuccess", "the spec was applied")
}

/// Whether a deleting object may drop its finalizer when the cloud cannot be reached
/// (credential missing or not Ready).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// Nothing can exist in the cloud for it, or the user asked to orphan the instance.
    Now,
    /// An instance may exist: keep the finalizer until the cloud has been asked. Carries
    /// why, for the condition message.
    AfterCloud(String),
}

pub fn deletion_without_cloud(spec: &CloudInstanceSpec, status: &CloudInstanceStatus) -> Release {
    if spec.deletion_policy == DeletionPolicy::Orphan {
        return Release::Now;
    }
    match (&status.instance_id, &status.create_requested_at) {
        (Some(id), _) => Release::AfterCloud(format!("instance {id} must be terminated first")),
        (None, Some(at)) => Release::AfterCloud(format!(
            "a create was requested at {at} but no instance id was recorded, so the cloud must \
             be searched for the instance (by this object's UID tag) and any found terminated"
        )),
        (None, None) => Release::Now,
    }
}

/// Short name of a step for messages, events and metrics.
pub fn step_name(step: &Step) -> &'static str {
    match step {
        Step::AddFinalizer => "AddFinalizer",
        Step::Create => "Create",
        Step::AwaitObservation => "AwaitObservation",
        Step::AwaitTransition(_) => "AwaitTransition",
        Step::Start => "Start",
        Step::Stop(_) => "Stop",
        Step::Reboot { .. } => "Reboot",
        Step::Rename { .. } => "Rename",
        Step::SetSecurityGroups { .. } => "SetSecurityGroups",
        Step::Reinstall { .. } => "Reinstall",
        Step::StopForResize(_) => "StopForResize",
        Step::StopForReinstall(_) => "StopForReinstall",
        Step::AwaitGuestStop(_) => "AwaitGuestStop",
        Step::Resize { .. } => "Resize",
        Step::Terminate => "Terminate",
        Step::RemoveFinalizer => "RemoveFinalizer",
        Step::Recreate => "Recreate",
        Step::ReportLost => "ReportLost",
        Step::AwaitSpecChange => "AwaitSpecChange",
        Step::InSync => "InSync",
    }
}

#[cfg(test)]
mod tests;
