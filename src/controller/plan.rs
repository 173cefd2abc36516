//! What should happen next to one CloudInstance: a pure function of the spec, the last
//! written status and the poller's latest observation of the cloud. No I/O here.

use crate::api::conditions::{self, Condition, READY, SYNCED};
use crate::api::instance::{
    CloudInstanceSpec, CloudInstanceStatus, DeletionPolicy, PowerState, RecreatePolicy,
    ReinstallPolicy,
};
use std::time::Duration;

use crate::provider::{InstanceDetails, InstanceState, StopMode};

/// What the poller last saw of one instance.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// Nothing fresh yet (new id, or a mutation was issued since the last poll).
    Unknown,
    /// The cloud no longer knows this id.
    Missing,
    /// The cloud's current view.
    Seen(Box<InstanceDetails>),
}

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
    Reboot,
    Rename(String),
    SetSecurityGroups(Vec<String>),
    Reinstall,
    /// Stop first so the type can be changed.
    StopForResize(StopMode),
    /// Stop first: this cloud reinstalls only stopped instances.
    StopForReinstall(StopMode),
    /// A stop without force was requested and the guest has not shut down yet: give it
    /// the rest of the grace period.
    AwaitGuestStop(Duration),
    Resize,
    /// Deleting with policy Delete: terminate the cloud instance.
    Terminate,
    /// Done with the object: drop our finalizer.
    RemoveFinalizer,
    /// Out-of-band deletion with recreatePolicy OnCloudDeletion: forget the id, create anew.
    Recreate,
    /// Out-of-band deletion with recreatePolicy Never, or a launch failure: report and stop.
    ReportLost,
    /// The cloud refused this generation's create: nothing to do until the spec changes.
    AwaitSpecChange,
    /// Everything matches.
    InSync,
}

/// The name the instance should have in the cloud.
pub fn desired_name<'a>(spec: &'a CloudInstanceSpec, object_name: &'a str) -> &'a str {
    spec.instance_name.as_deref().unwrap_or(object_name)
}

pub fn stop_mode(spec: &CloudInstanceSpec) -> StopMode {
    match spec.stop_mode {
        crate::api::instance::StopMode::Soft => StopMode::Soft,
        crate::api::instance::StopMode::Hard => StopMode::Hard,
        crate::api::instance::StopMode::SoftThenHard => StopMode::SoftThenHard,
    }
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
    /// The cloud refused the create request of this generation (recorded in status as
    /// `Ready=False`, reason [`CREATE_REFUSED`], with this `observedGeneration`).
    pub create_refused: bool,
}

/// `Ready` reason recording that the cloud refused this generation's create request. It
/// lives in status, so neither the controller's own status writes nor a restart send the
/// same refused request again; a new generation (a fixed spec) does.
pub const CREATE_REFUSED: &str = "CreateRefused";

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
            Step::Resize
        };
    }
    if spec.reinstall_policy == ReinstallPolicy::OnImageChange
        && !d.image_id.is_empty()
        && d.image_id != spec.image_id
    {
        return if running && i.reinstall_needs_stop {
            stop_or_wait(i).map_or_else(Step::AwaitGuestStop, Step::StopForReinstall)
        } else {
            Step::Reinstall
        };
    }
    let name = desired_name(spec, i.object_name);
    if d.name != name {
        return Step::Rename(name.to_owned());
    }
    if let Some(net) = &spec.network
        && !net.security_group_ids.is_empty()
    {
        let mut want = net.security_group_ids.clone();
        let mut have = d.security_group_ids.clone();
        want.sort();
        have.sort();
        if want != have {
            return Step::SetSecurityGroups(net.security_group_ids.clone());
        }
    }
    match (spec.power_state, running) {
        (PowerState::Running, false) => return Step::Start,
        (PowerState::Stopped, true) => {
            return stop_or_wait(i).map_or_else(Step::AwaitGuestStop, Step::Stop);
        }
        _ => {}
    }
    if running && reboot_pending(spec, i.status) {
        return Step::Reboot;
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

/// A reboot was requested that has not been acted on.
pub fn reboot_pending(spec: &CloudInstanceSpec, status: &CloudInstanceStatus) -> bool {
    match &spec.reboot_requested_at {
        Some(r) => status.last_reboot_requested_at.as_ref() != Some(r),
        None => false,
    }
}

/// The `Ready` condition for the current observation and the step just decided.
pub fn ready_condition(i: &Input<'_>, step: &Step) -> Condition {
    let c = |ok, reason: &str, msg: String| Condition::new(READY, ok, reason, msg);
    if i.deleting {
        return c(false, "Deleting", "the object is being deleted".into());
    }
    match (i.observation, step) {
        (_, Step::AwaitSpecChange) => conditions::find(&i.status.conditions, READY)
            .filter(|r| r.reason == CREATE_REFUSED)
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
            let want = match i.spec.power_state {
                PowerState::Running => InstanceState::Running,
                PowerState::Stopped => InstanceState::Stopped,
            };
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
pub fn synced_condition(i: &Input<'_>, error: Option<(&str, &str)>) -> Condition {
    if let Some((reason, message)) = error {
        return Condition::new(SYNCED, false, reason, message);
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
        Step::Reboot => "Reboot",
        Step::Rename(_) => "Rename",
        Step::SetSecurityGroups(_) => "SetSecurityGroups",
        Step::Reinstall => "Reinstall",
        Step::StopForResize(_) => "StopForResize",
        Step::StopForReinstall(_) => "StopForReinstall",
        Step::AwaitGuestStop(_) => "AwaitGuestStop",
        Step::Resize => "Resize",
        Step::Terminate => "Terminate",
        Step::RemoveFinalizer => "RemoveFinalizer",
        Step::Recreate => "Recreate",
        Step::ReportLost => "ReportLost",
        Step::AwaitSpecChange => "AwaitSpecChange",
        Step::InSync => "InSync",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::instance::{LocalRef, NetworkSpec};

    fn spec() -> CloudInstanceSpec {
        serde_json::from_value(serde_json::json!({
            "credentialRef": {"name": "c"},
            "region": "ap-guangzhou",
            "zone": "ap-guangzhou-3",
            "imageId": "img-1",
            "instanceType": "S5.SMALL2",
        }))
        .unwrap()
    }

    fn seen(state: InstanceState) -> Observation {
        Observation::Seen(Box::new(InstanceDetails {
            id: "ins-1".into(),
            name: "vm".into(),
            state,
            provider_state: format!("{state:?}").to_uppercase(),
            instance_type: "S5.SMALL2".into(),
            image_id: "img-1".into(),
            ..Default::default()
        }))
    }

    fn status_with_id() -> CloudInstanceStatus {
        CloudInstanceStatus {
            instance_id: Some("ins-1".into()),
            ..Default::default()
        }
    }

    /// Planner input with the usual defaults (live object with finalizer, 60 s grace).
    fn given<'a>(
        spec: &'a CloudInstanceSpec,
        status: &'a CloudInstanceStatus,
        observation: &'a Observation,
    ) -> Input<'a> {
        Input {
            object_name: "vm",
            spec,
            status,
            has_finalizer: true,
            deleting: false,
            observation,
            reinstall_needs_stop: false,
            soft_stop_age: None,
            soft_stop_grace: Duration::from_secs(60),
            cloud_forces_stop: false,
            create_refused: false,
        }
    }

    fn run(spec: &CloudInstanceSpec, status: &CloudInstanceStatus, obs: &Observation) -> Step {
        plan(&given(spec, status, obs))
    }

    #[test]
    fn finalizer_comes_before_create() {
        let s = spec();
        let st = CloudInstanceStatus::default();
        let step = plan(&Input {
            has_finalizer: false,
            ..given(&s, &st, &Observation::Unknown)
        });
        assert_eq!(step, Step::AddFinalizer);
        assert_eq!(run(&s, &st, &Observation::Unknown), Step::Create);
    }

    #[test]
    fn power_state_drives_start_and_stop() {
        let mut s = spec();
        let st = status_with_id();
        assert_eq!(run(&s, &st, &seen(InstanceState::Running)), Step::InSync);
        assert_eq!(run(&s, &st, &seen(InstanceState::Stopped)), Step::Start);
        s.power_state = PowerState::Stopped;
        s.stop_mode = crate::api::instance::StopMode::Hard;
        assert_eq!(
            run(&s, &st, &seen(InstanceState::Running)),
            Step::Stop(StopMode::Hard)
        );
        assert_eq!(run(&s, &st, &seen(InstanceState::Stopped)), Step::InSync);
        assert_eq!(
            run(&s, &st, &seen(InstanceState::Stopping)),
            Step::AwaitTransition(InstanceState::Stopping)
        );
        assert_eq!(run(&s, &st, &Observation::Unknown), Step::AwaitObservation);
    }

    #[test]
    fn reboot_once_per_new_value() {
        let mut s = spec();
        let mut st = status_with_id();
        s.reboot_requested_at = Some("2026-11-23T10:00:00Z".into());
        assert_eq!(run(&s, &st, &seen(InstanceState::Running)), Step::Reboot);
        st.last_reboot_requested_at = s.reboot_requested_at.clone();
        assert_eq!(run(&s, &st, &seen(InstanceState::Running)), Step::InSync);
        // not while stopped
        s.reboot_requested_at = Some("again".into());
        s.power_state = PowerState::Stopped;
        assert_eq!(run(&s, &st, &seen(InstanceState::Stopped)), Step::InSync);
    }

    #[test]
    fn rename_and_security_groups() {
        let mut s = spec();
        let st = status_with_id();
        s.instance_name = Some("web-1".into());
        assert_eq!(
            run(&s, &st, &seen(InstanceState::Running)),
            Step::Rename("web-1".into())
        );
        s.instance_name = None;
        s.network = Some(NetworkSpec {
            security_group_ids: vec!["sg-b".into(), "sg-a".into()],
            ..Default::default()
        });
        assert_eq!(
            run(&s, &st, &seen(InstanceState::Running)),
            Step::SetSecurityGroups(vec!["sg-b".into(), "sg-a".into()])
        );
        let mut obs = seen(InstanceState::Running);
        if let Observation::Seen(d) = &mut obs {
            d.security_group_ids = vec!["sg-a".into(), "sg-b".into()];
        }
        assert_eq!(run(&s, &st, &obs), Step::InSync);
    }

    #[test]
    fn resize_stops_first_then_resizes_then_restarts() {
        let mut s = spec();
        let st = status_with_id();
        s.instance_type = "S5.LARGE8".into();
        assert_eq!(
            run(&s, &st, &seen(InstanceState::Running)),
            Step::StopForResize(StopMode::SoftThenHard)
        );
        assert_eq!(run(&s, &st, &seen(InstanceState::Stopped)), Step::Resize);
        let mut obs = seen(InstanceState::Stopped);
        if let Observation::Seen(d) = &mut obs {
            d.instance_type = "S5.LARGE8".into();
        }
        assert_eq!(run(&s, &st, &obs), Step::Start);
    }

    #[test]
    fn image_change_reinstalls_only_when_allowed() {
        let mut s = spec();
        let st = status_with_id();
        s.image_id = "img-2".into();
        let obs = seen(InstanceState::Running);
        assert_eq!(run(&s, &st, &obs), Step::InSync);
        let input = given(&s, &st, &obs);
        let synced = synced_condition(&input, None);
        assert_eq!(synced.reason, "ReinstallRequired");
        assert!(!synced.is_true());
        s.reinstall_policy = ReinstallPolicy::OnImageChange;
        assert_eq!(run(&s, &st, &obs), Step::Reinstall);
        // clouds that reinstall only stopped instances: stop, reinstall, start again
        let stop_first = |obs: &Observation| {
            plan(&Input {
                reinstall_needs_stop: true,
                ..given(&s, &st, obs)
            })
        };
        assert_eq!(
            stop_first(&obs),
            Step::StopForReinstall(StopMode::SoftThenHard)
        );
        assert_eq!(stop_first(&seen(InstanceState::Stopped)), Step::Reinstall);
    }

    #[test]
    fn out_of_band_deletion_follows_recreate_policy() {
        let mut s = spec();
        let st = status_with_id();
        assert_eq!(run(&s, &st, &Observation::Missing), Step::ReportLost);
        assert_eq!(
            run(&s, &st, &seen(InstanceState::Terminated)),
            Step::ReportLost
        );
        s.recreate_policy = RecreatePolicy::OnCloudDeletion;
        assert_eq!(run(&s, &st, &Observation::Missing), Step::Recreate);
    }

    #[test]
    fn a_refused_create_waits_for_a_new_generation() {
        let s = spec();
        let st = CloudInstanceStatus {
            conditions: vec![Condition::new(READY, false, CREATE_REFUSED, "bad image")],
            ..Default::default()
        };
        let refused = Input {
            create_refused: true,
            ..given(&s, &st, &Observation::Unknown)
        };
        assert_eq!(plan(&refused), Step::AwaitSpecChange);
        // the recorded refusal is what Ready keeps saying
        let r = ready_condition(&refused, &Step::AwaitSpecChange);
        assert_eq!(
            (r.reason.as_str(), r.message.as_str()),
            (CREATE_REFUSED, "bad image")
        );
        // another generation (create_refused false) is tried
        assert_eq!(run(&s, &st, &Observation::Unknown), Step::Create);
    }

    #[test]
    fn a_failed_instance_is_terminated_before_it_is_replaced() {
        let mut s = spec();
        let st = status_with_id();
        // Never: reported, kept (the user decides)
        assert_eq!(run(&s, &st, &seen(InstanceState::Failed)), Step::ReportLost);
        // Held by the cloud: wait, neither lost nor started.
        assert_eq!(
            run(&s, &st, &seen(InstanceState::Suspended)),
            Step::AwaitTransition(InstanceState::Suspended)
        );
        // OnCloudDeletion: terminate the failed one first; only once it is gone, recreate
        s.recreate_policy = RecreatePolicy::OnCloudDeletion;
        assert_eq!(run(&s, &st, &seen(InstanceState::Failed)), Step::Terminate);
        assert_eq!(
            run(&s, &st, &seen(InstanceState::Terminating)),
            Step::Recreate
        );
        assert_eq!(run(&s, &st, &Observation::Missing), Step::Recreate);
    }

    #[test]
    fn deletion_terminates_or_orphans() {
        let mut s = spec();
        let st = status_with_id();
        let del = |s: &CloudInstanceSpec, obs: &Observation| {
            plan(&Input {
                deleting: true,
                ..given(s, &st, obs)
            })
        };
        assert_eq!(del(&s, &seen(InstanceState::Running)), Step::Terminate);
        assert_eq!(del(&s, &seen(InstanceState::Suspended)), Step::Terminate);
        assert_eq!(
            del(&s, &seen(InstanceState::Terminating)),
            Step::AwaitTransition(InstanceState::Terminating)
        );
        assert_eq!(del(&s, &Observation::Missing), Step::RemoveFinalizer);
        s.deletion_policy = DeletionPolicy::Orphan;
        assert_eq!(
            del(&s, &seen(InstanceState::Running)),
            Step::RemoveFinalizer
        );
        // never created: nothing to terminate
        let empty = CloudInstanceStatus::default();
        let step = plan(&Input {
            deleting: true,
            ..given(&spec(), &empty, &Observation::Unknown)
        });
        assert_eq!(step, Step::RemoveFinalizer);
    }

    #[test]
    fn ready_only_when_in_desired_state() {
        let s = spec();
        let st = status_with_id();
        let obs = seen(InstanceState::Running);
        let input = given(&s, &st, &obs);
        let step = plan(&input);
        assert!(ready_condition(&input, &step).is_true());
        let obs = seen(InstanceState::Pending);
        let input = Input {
            observation: &obs,
            ..input
        };
        let step = plan(&input);
        let ready = ready_condition(&input, &step);
        assert!(!ready.is_true());
        assert_eq!(ready.reason, "Pending");
        let _ = LocalRef { name: "x".into() };
    }

    #[test]
    fn deletion_without_cloud_lets_go_only_when_nothing_can_exist() {
        let mut sp = spec();
        let never = CloudInstanceStatus::default();
        assert_eq!(deletion_without_cloud(&sp, &never), Release::Now);
        // a create went out but its id was never recorded: the instance may exist
        let sent = CloudInstanceStatus {
            create_requested_at: Some("2026-11-23T10:00:00Z".into()),
            ..Default::default()
        };
        assert!(matches!(
            deletion_without_cloud(&sp, &sent),
            Release::AfterCloud(m) if m.contains("2026-11-23T10:00:00Z")
        ));
        assert!(matches!(
            deletion_without_cloud(&sp, &status_with_id()),
            Release::AfterCloud(m) if m.contains("ins-1")
        ));
        sp.deletion_policy = DeletionPolicy::Orphan;
        assert_eq!(deletion_without_cloud(&sp, &sent), Release::Now);
        assert_eq!(deletion_without_cloud(&sp, &status_with_id()), Release::Now);
    }

    #[test]
    fn a_guest_that_does_not_shut_down_gets_a_grace_period_then_force() {
        let mut s = spec();
        s.power_state = PowerState::Stopped;
        let st = status_with_id();
        let running = seen(InstanceState::Running);
        let step = |s: &CloudInstanceSpec, age: Option<u64>, native: bool| {
            plan(&Input {
                soft_stop_age: age.map(Duration::from_secs),
                cloud_forces_stop: native,
                ..given(s, &st, &running)
            })
        };
        // first the guest is asked
        assert_eq!(step(&s, None, false), Step::Stop(StopMode::SoftThenHard));
        // still running 10 s later (stop failed or not visible yet): wait out the grace
        assert_eq!(
            step(&s, Some(10), false),
            Step::AwaitGuestStop(Duration::from_secs(50))
        );
        // the Ready message while waiting does not change with the passing seconds (each
        // change would be a status write)
        let mut asked = st.clone();
        asked.soft_stop_requested_at = Some("2026-11-23T10:00:00Z".into());
        let waiting = |age: u64| {
            let i = Input {
                soft_stop_age: Some(Duration::from_secs(age)),
                ..given(&s, &asked, &running)
            };
            ready_condition(&i, &plan(&i))
        };
        assert_eq!(waiting(10).reason, "Stopping");
        assert!(
            waiting(10).message.contains("2026-11-23T10:00:00Z"),
            "{:?}",
            waiting(10)
        );
        assert_eq!(waiting(10), waiting(40));
        // grace over: force it, unless the cloud forces by itself (Tencent SOFT_FIRST)
        assert_eq!(step(&s, Some(60), false), Step::Stop(StopMode::Hard));
        assert_eq!(step(&s, Some(60), true), Step::Stop(StopMode::SoftThenHard));
        // Soft never forces: it asks again; Hard never waits
        s.stop_mode = crate::api::instance::StopMode::Soft;
        assert_eq!(step(&s, Some(60), false), Step::Stop(StopMode::Soft));
        s.stop_mode = crate::api::instance::StopMode::Hard;
        assert_eq!(step(&s, Some(10), false), Step::Stop(StopMode::Hard));
        // the same for a stop a resize needs
        let mut s = spec();
        s.instance_type = "S5.LARGE8".into();
        assert_eq!(
            step(&s, Some(10), false),
            Step::AwaitGuestStop(Duration::from_secs(50))
        );
        assert_eq!(
            step(&s, Some(70), false),
            Step::StopForResize(StopMode::Hard)
        );
    }
}
