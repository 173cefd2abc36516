//! The subscription (PrePaid) rules and the single-instance actions, driven through
//! `actions::run` (the same dispatch the HTTP handler uses, after authentication).
//! The same rules are also exercised through the official SDK in tests/alibaba_sdk.rs.

use serde_json::Value;

use crate::store::VmState;

use super::test_harness::H;

fn prepay<'a>(id: &'a str, itype: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("RegionId", "cn-hangzhou"),
        ("InstanceId", id),
        ("InstanceType", itype),
    ]
}

#[test]
fn prepay_spec_upgrade_running_downgrade_stopped_with_operator_type() {
    let h = H::new();
    let id = h.run("PrePaid", "ecs.g7.large");
    // Upgrade while Running.
    assert_eq!(
        h.code("ModifyPrepayInstanceSpec", &prepay(&id, "ecs.g7.xlarge")),
        "ok"
    );
    assert_eq!(
        h.field(&id, |i| Value::String(i.instance_type.clone())),
        "ecs.g7.xlarge"
    );
    // A downgrade needs OperatorType=downgrade ...
    assert_eq!(
        h.code("ModifyPrepayInstanceSpec", &prepay(&id, "ecs.g7.large")),
        "InvalidInstanceType.ValueNotSupported"
    );
    // ... and a Stopped instance.
    let mut down = prepay(&id, "ecs.g7.large");
    down.push(("OperatorType", "downgrade"));
    assert_eq!(
        h.code("ModifyPrepayInstanceSpec", &down),
        "InvalidStatus.NotStopped"
    );
    h.stop(&id);
    assert_eq!(h.code("ModifyPrepayInstanceSpec", &down), "ok");
    assert_eq!(
        h.field(&id, |i| Value::String(i.instance_type.clone())),
        "ecs.g7.large"
    );
    // Stopped stays stopped even with RebootWhenFinished.
    let mut up = prepay(&id, "ecs.g7.xlarge");
    up.push(("RebootWhenFinished", "true"));
    assert_eq!(h.code("ModifyPrepayInstanceSpec", &up), "ok");
    h.settle(&id);
    assert_eq!(h.state(&id), Some(VmState::Stopped));
    // Three downgrades at most.
    let mut n = 1;
    loop {
        let target = if n % 2 == 1 {
            "ecs.g7.large"
        } else {
            "ecs.g7.xlarge"
        };
        let mut p = prepay(&id, target);
        if target == "ecs.g7.large" {
            p.push(("OperatorType", "downgrade"));
        }
        let code = h.code("ModifyPrepayInstanceSpec", &p);
        if n >= 5 {
            // downgrades so far: 1 (above) + 2 (n = 1, 3) = 3 → the 4th is refused
            assert_eq!(code, "InstanceDowngrade.QuotaExceed");
            break;
        }
        assert_eq!(code, "ok", "round {n}");
        n += 1;
    }
}

#[test]
fn prepay_spec_reboot_when_finished_restarts_a_running_instance() {
    let h = H::new();
    let id = h.run("PrePaid", "ecs.g7.large");
    let mut up = prepay(&id, "ecs.g7.xlarge");
    up.push(("RebootWhenFinished", "true"));
    assert_eq!(h.code("ModifyPrepayInstanceSpec", &up), "ok");
    let op = h.field(&id, |i| {
        Value::String(
            i.last_operation
                .as_ref()
                .map(|o| o.action.clone())
                .unwrap_or_default(),
        )
    });
    assert_eq!(op, "ModifyPrepayInstanceSpec");
    h.settle(&id);
    assert_eq!(h.state(&id), Some(VmState::Running));
}

#[test]
fn prepay_spec_refusals() {
    let h = H::new();
    let post = h.run("PostPaid", "ecs.g7.large");
    assert_eq!(
        h.code("ModifyPrepayInstanceSpec", &prepay(&post, "ecs.g7.xlarge")),
        "InvalidInstanceChargeType.ValueNotSupported"
    );
    let pre = h.run("PrePaid", "ecs.g7.large");
    // ModifyInstanceSpec is for PostPaid only.
    h.stop(&pre);
    assert_eq!(
        h.code(
            "ModifyInstanceSpec",
            &[("InstanceId", &pre), ("InstanceType", "ecs.g7.xlarge")]
        ),
        "ChargeTypeViolation"
    );
    assert_eq!(
        h.code("ModifyPrepayInstanceSpec", &prepay(&pre, "ecs.nope")),
        "InvalidInstanceType.ValueNotSupported"
    );
    assert_eq!(
        h.code(
            "ModifyPrepayInstanceSpec",
            &prepay("i-missing", "ecs.g7.xlarge")
        ),
        "InvalidInstanceId.NotFound"
    );
    let mut no_region = prepay(&pre, "ecs.g7.xlarge");
    no_region.remove(0);
    assert_eq!(
        h.code("ModifyPrepayInstanceSpec", &no_region),
        "MissingRegionId"
    );
    let mut bogus = prepay(&pre, "ecs.g7.large");
    bogus.push(("Bogus", "1"));
    assert_eq!(
        h.code("ModifyPrepayInstanceSpec", &bogus),
        "UnsupportedParameter"
    );
    // Same token, other parameters.
    let mut a = prepay(&pre, "ecs.r7.large");
    a.push(("ClientToken", "tok-1"));
    assert_eq!(h.code("ModifyPrepayInstanceSpec", &a), "ok");
    assert_eq!(h.code("ModifyPrepayInstanceSpec", &a), "ok", "retry");
    let mut b = prepay(&pre, "ecs.g7.xlarge");
    b.push(("ClientToken", "tok-1"));
    assert_eq!(
        h.code("ModifyPrepayInstanceSpec", &b),
        "IdempotenceParamNotMatch"
    );
    // Expired: renew first.
    h.expire(&pre);
    assert_eq!(
        h.code("ModifyPrepayInstanceSpec", &prepay(&pre, "ecs.g7.xlarge")),
        "InvalidInstance.PreInstanceExpired"
    );
}

#[test]
fn subscription_release_rules() {
    let h = H::new();
    let pre = h.run("PrePaid", "ecs.g7.large");
    let del = |id: &str, extra: &[(&str, &str)]| {
        let mut p = vec![
            ("RegionId", "cn-hangzhou"),
            ("InstanceId.1", id),
            ("Force", "true"),
        ];
        p.extend_from_slice(extra);
        h.code("DeleteInstances", &p)
    };
    // In service: not releasable, by either form.
    assert_eq!(del(&pre, &[]), "ChargeTypeViolation");
    assert_eq!(
        h.code("DeleteInstance", &[("InstanceId", &pre), ("Force", "true")]),
        "ChargeTypeViolation"
    );
    // Converted to PostPaid (the documented early exit), it is.
    let ids = format!("[\"{pre}\"]");
    assert_eq!(
        h.code(
            "ModifyInstanceChargeType",
            &[
                ("RegionId", "cn-hangzhou"),
                ("InstanceIds", &ids),
                ("InstanceChargeType", "PostPaid"),
            ]
        ),
        "ok"
    );
    assert_eq!(
        h.field(&pre, |i| Value::String(i.charge_type.clone())),
        "PostPaid"
    );
    assert_eq!(del(&pre, &[]), "ok");

    // Expired: only with TerminateSubscription=true; no conversion either.
    let old = h.run("PrePaid", "ecs.g7.large");
    h.expire(&old);
    let ids = format!("[\"{old}\"]");
    assert_eq!(
        h.code(
            "ModifyInstanceChargeType",
            &[
                ("RegionId", "cn-hangzhou"),
                ("InstanceIds", &ids),
                ("InstanceChargeType", "PostPaid"),
            ]
        ),
        "ExpiredInstance"
    );
    assert_eq!(
        h.code(
            "StopInstances",
            &[("RegionId", "cn-hangzhou"), ("InstanceId.1", &old)]
        ),
        "InstanceExpiredOrInArrears"
    );
    assert_eq!(del(&old, &[]), "ChargeTypeViolation");
    assert_eq!(del(&old, &[("TerminateSubscription", "true")]), "ok");
}

#[test]
fn charge_type_change_limits() {
    let h = H::new();
    let many: Vec<String> = (0..21).map(|i| format!("i-{i:020}")).collect();
    let ids = serde_json::to_string(&many).unwrap();
    assert_eq!(
        h.code(
            "ModifyInstanceChargeType",
            &[("RegionId", "cn-hangzhou"), ("InstanceIds", &ids)]
        ),
        "InstancesIdQuotaExceed"
    );
    let post = h.run("PostPaid", "ecs.g7.large");
    let ids = format!("[\"{post}\"]");
    // The default target is PrePaid.
    assert_eq!(
        h.code(
            "ModifyInstanceChargeType",
            &[
                ("RegionId", "cn-hangzhou"),
                ("InstanceIds", &ids),
                ("DryRun", "true")
            ]
        ),
        "DryRunOperation"
    );
    assert_eq!(
        h.code(
            "ModifyInstanceChargeType",
            &[
                ("RegionId", "cn-hangzhou"),
                ("InstanceIds", &ids),
                ("InstanceChargeType", "PostPaid")
            ]
        ),
        "InvalidInstanceChargeType.ValueNotSupported"
    );
}

#[test]
fn single_instance_actions() {
    let h = H::new();
    let id = h.run("PostPaid", "ecs.g7.large");
    let one = |action: &str, extra: &[(&str, &str)]| {
        let mut p = vec![("InstanceId", id.as_str())];
        p.extend_from_slice(extra);
        h.code(action, &p)
    };
    assert_eq!(one("StartInstance", &[]), "IncorrectInstanceStatus");
    assert_eq!(
        one("StopInstance", &[("DryRun", "true")]),
        "DryRunOperation"
    );
    assert_eq!(
        one("StopInstance", &[("StoppedMode", "Sometimes")]),
        "InvalidParameter"
    );
    // No RegionId in these models.
    assert_eq!(
        one("StopInstance", &[("RegionId", "cn-hangzhou")]),
        "UnsupportedParameter"
    );
    assert_eq!(one("RebootInstance", &[("ForceStop", "true")]), "ok");
    h.settle(&id);
    assert_eq!(one("DeleteInstance", &[]), "IncorrectInstanceStatus");
    assert_eq!(
        one("StopInstance", &[("StoppedMode", "StopCharging")]),
        "ok"
    );
    h.settle(&id);
    assert_eq!(h.state(&id), Some(VmState::Stopped));
    assert_eq!(h.field(&id, |i| Value::Bool(i.stop_charging)), true);
    assert_eq!(one("StartInstance", &[]), "ok");
    h.settle(&id);
    assert_eq!(h.state(&id), Some(VmState::Running));
    assert_eq!(one("DeleteInstance", &[("Force", "true")]), "ok");
    h.settle(&id);
    assert_eq!(h.state(&id), None);
    assert_eq!(one("StartInstance", &[]), "InvalidInstanceId.NotFound");
}

/// "InstanceExpiration.Stop: The instance is stopped due to subscription expiration"
/// (DescribeInstanceHistoryEvents.md); an expired instance is "in the Expired (`Stopped`)
/// state" (ReActivateInstances.md) and cannot be started until renewed
/// (`InstanceExpiredOrInArrears`). Pay-as-you-go and auto-renewed subscriptions run on.
#[test]
fn expired_subscriptions_are_stopped() {
    let h = H::new();
    let expiring = h.run("PrePaid", "ecs.g7.large");
    let renewing = h.run("PrePaid", "ecs.g7.large");
    let postpaid = h.run("PostPaid", "ecs.g7.large");
    {
        let now = crate::store::now_ms();
        let mut store = h.app.store();
        let i = store.get_mut(&renewing, now).unwrap();
        i.renew_flag = Some(super::billing::AUTO_RENEW.to_string());
    }
    h.expire(&expiring);
    h.expire(&renewing);
    let status = |id: &str| {
        let ids = format!("[\"{id}\"]");
        let out = h
            .call(
                "DescribeInstances",
                &[("RegionId", "cn-hangzhou"), ("InstanceIds", &ids)],
            )
            .expect("DescribeInstances");
        out["Instances"]["Instance"][0]["Status"].clone()
    };
    assert_eq!(status(&expiring), "Stopped");
    assert_eq!(status(&renewing), "Running");
    assert_eq!(status(&postpaid), "Running");
    assert_eq!(
        h.code(
            "StartInstances",
            &[("RegionId", "cn-hangzhou"), ("InstanceId.1", &expiring)]
        ),
        "InstanceExpiredOrInArrears"
    );
    assert_eq!(
        h.field(&expiring, |i| Value::String(
            i.state_at(crate::store::now_ms()).as_str().into()
        )),
        VmState::Stopped.as_str()
    );
}
