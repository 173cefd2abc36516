use super::*;
use crate::api::instance::{LocalRef, NetworkSpec};
use crate::provider::InstanceDetails;

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
    assert_eq!(
        run(&s, &st, &seen(InstanceState::Running)),
        Step::Reboot {
            requested_at: "2026-11-23T10:00:00Z".into()
        }
    );
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
        Step::Rename {
            name: "web-1".into()
        }
    );
    s.instance_name = None;
    s.network = Some(NetworkSpec {
        security_group_ids: vec!["sg-b".into(), "sg-a".into()],
        ..Default::default()
    });
    assert_eq!(
        run(&s, &st, &seen(InstanceState::Running)),
        Step::SetSecurityGroups {
            ids: vec!["sg-b".into(), "sg-a".into()]
        }
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
    assert_eq!(
        run(&s, &st, &seen(InstanceState::Stopped)),
        Step::Resize {
            instance_type: "S5.LARGE8".into()
        }
    );
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
    let reinstall = Step::Reinstall {
        image_id: "img-2".into(),
    };
    assert_eq!(run(&s, &st, &obs), reinstall);
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
    assert_eq!(stop_first(&seen(InstanceState::Stopped)), reinstall);
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
