//! The instance states each mutating action is allowed in, and the parameter rules of
//! RunInstances that have no other test (docs/provider-contract.md, Alibaba §4-§5; sources
//! there: ReplaceSystemDisk.md, ModifyInstanceSpec.md, ModifyInstanceAttribute.md,
//! RunInstances.md and the SDK request models).

use super::test_harness::H;

fn run_with(h: &H, extra: &[(&str, &str)]) -> String {
    let mut p = vec![
        ("RegionId", "cn-hangzhou"),
        ("ImageId", "aliyun_3_x64_20G_alibase_20240819.vhd"),
        ("InstanceType", "ecs.g7.large"),
        ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
        ("VSwitchId", "vsw-bp1demo0000000000000"),
    ];
    p.extend_from_slice(extra);
    h.code("RunInstances", &p)
}

/// ReplaceSystemDisk and ModifyInstanceSpec (a type change) need a Stopped instance;
/// ModifyInstanceAttribute UserData too (`IncorrectInstanceStatus`, 403).
#[test]
fn stopped_only_actions() {
    let h = H::new();
    let id = h.run("PostPaid", "ecs.g7.large");
    let replace = || {
        h.code(
            "ReplaceSystemDisk",
            &[
                ("InstanceId", &id),
                ("ImageId", "ubuntu_22_04_x64_20G_alibase_20240926.vhd"),
            ],
        )
    };
    let spec = || {
        h.code(
            "ModifyInstanceSpec",
            &[("InstanceId", &id), ("InstanceType", "ecs.g7.xlarge")],
        )
    };
    let user_data = || {
        h.code(
            "ModifyInstanceAttribute",
            &[("InstanceId", &id), ("UserData", "ZWNobyBoaQ==")],
        )
    };
    assert_eq!(replace(), "IncorrectInstanceStatus");
    assert_eq!(spec(), "IncorrectInstanceStatus");
    assert_eq!(user_data(), "IncorrectInstanceStatus");
    h.stop(&id);
    assert_eq!(replace(), "ok");
    assert_eq!(spec(), "ok");
    assert_eq!(user_data(), "ok");
}

/// Start only from Stopped; Stop and Reboot only from Running (`IncorrectInstanceStatus`).
#[test]
fn power_actions_need_the_right_state() {
    let h = H::new();
    let id = h.run("PostPaid", "ecs.g7.large");
    let batch = |action: &str| {
        h.code(
            action,
            &[("RegionId", "cn-hangzhou"), ("InstanceId.1", &id)],
        )
    };
    assert_eq!(batch("StartInstances"), "IncorrectInstanceStatus");
    h.stop(&id);
    assert_eq!(batch("StopInstances"), "IncorrectInstanceStatus");
    assert_eq!(batch("RebootInstances"), "IncorrectInstanceStatus");
    assert_eq!(batch("StartInstances"), "ok");
}

/// Password: 8–30 characters from three of four classes (`InvalidPassword.Malformed`);
/// HostName: no leading/trailing/doubled `.`/`-` (`InvalidHostName.Malformed`); Amount 1–100;
/// UserData at most 32 KB before Base64 (`InvalidUserData.SizeExceeded`).
#[test]
fn run_instances_login_and_name_rules() {
    let h = H::new();
    assert_eq!(run_with(&h, &[("Password", "Passw0rd!")]), "ok");
    for bad in [
        "Sh0rt!",
        "alllowercase1",
        &format!("Aa1!{}", "x".repeat(27)),
    ] {
        assert_eq!(
            run_with(&h, &[("Password", bad)]),
            "InvalidPassword.Malformed",
            "{bad}"
        );
    }
    assert_eq!(run_with(&h, &[("HostName", "web-1.example")]), "ok");
    for bad in ["-web", "web.", "a..b", "a--b", "x"] {
        assert_eq!(
            run_with(&h, &[("HostName", bad)]),
            "InvalidHostName.Malformed",
            "{bad}"
        );
    }
    assert_eq!(run_with(&h, &[("Amount", "101")]), "InvalidParameter");
    assert_eq!(run_with(&h, &[("Amount", "0")]), "InvalidParameter");
    let big = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        vec![b'x'; 32 * 1024 + 1],
    );
    assert_eq!(
        run_with(&h, &[("UserData", &big)]),
        "InvalidUserData.SizeExceeded"
    );
}

/// RunInstances tags: at most 20 (`InvalidTagCount`), keys without the reserved prefixes
/// (`InvalidTagKey.Malformed`), values without URLs (`InvalidTagValue.Malformed`).
#[test]
fn run_instances_tag_rules() {
    let h = H::new();
    let mut many: Vec<(String, String)> = Vec::new();
    for n in 1..=21 {
        many.push((format!("Tag.{n}.Key"), format!("k{n}")));
        many.push((format!("Tag.{n}.Value"), "v".into()));
    }
    let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(run_with(&h, &many), "InvalidTagCount");
    assert_eq!(
        run_with(&h, &[("Tag.1.Key", "aliyun:x"), ("Tag.1.Value", "v")]),
        "InvalidTagKey.Malformed"
    );
    assert_eq!(
        run_with(&h, &[("Tag.1.Key", "k"), ("Tag.1.Value", "http://x")]),
        "InvalidTagValue.Malformed"
    );
}

/// The other RunInstances parameter rules: required ImageId and RegionId, one
/// security-group form, InternetMaxBandwidthOut 0–100, at most 16 data disks
/// (`InstanceDiskNumber.LimitExceed`), an instance type the zone sells.
#[test]
fn run_instances_other_parameter_rules() {
    let h = H::new();
    assert_eq!(
        h.code(
            "RunInstances",
            &[
                ("RegionId", "cn-hangzhou"),
                ("InstanceType", "ecs.g7.large"),
                ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
                ("VSwitchId", "vsw-bp1demo0000000000000")
            ]
        ),
        "MissingParameter"
    );
    assert!(
        h.code(
            "RunInstances",
            &[
                ("ImageId", "aliyun_3_x64_20G_alibase_20240819.vhd"),
                ("InstanceType", "ecs.g7.large"),
                ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
                ("VSwitchId", "vsw-bp1demo0000000000000")
            ]
        )
        .starts_with("Missing")
    );
    assert_eq!(
        run_with(&h, &[("SecurityGroupIds.1", "sg-bp1demo0000000000001")]),
        "InvalidParameter"
    );
    assert_eq!(
        run_with(&h, &[("InternetMaxBandwidthOut", "101")]),
        "InvalidInternetMaxBandwidthOut.Malformed"
    );
    assert_eq!(run_with(&h, &[("InternetMaxBandwidthOut", "100")]), "ok");
    let mut disks: Vec<(String, String)> = Vec::new();
    for n in 1..=17 {
        disks.push((format!("DataDisk.{n}.Size"), "40".into()));
    }
    let disks: Vec<(&str, &str)> = disks
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(run_with(&h, &disks), "InstanceDiskNumber.LimitExceed");
    assert_eq!(run_with(&h, &disks[..16]), "ok");
    assert_eq!(
        h.code(
            "RunInstances",
            &[
                ("RegionId", "cn-hangzhou"),
                ("ZoneId", "cn-hangzhou-k"),
                ("ImageId", "aliyun_3_x64_20G_alibase_20240819.vhd"),
                ("InstanceType", "ecs.t6-c1m1.large"),
                ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
                ("VSwitchId", "vsw-bp1demo0000000000004")
            ]
        ),
        "InvalidResourceType.NotSupported"
    );
}

/// At most 100 ids per batch call: `InstanceId.N` (StartInstances, ...) and the
/// `InstanceIds` JSON array of DescribeInstances (SDK `StartInstancesRequest.instance_id`,
/// `DescribeInstancesRequest.instance_ids`).
#[test]
fn batch_calls_take_at_most_100_ids() {
    let h = H::new();
    let ids: Vec<String> = (0..101).map(|n| format!("i-{n:020}")).collect();
    let mut p: Vec<(String, String)> = vec![("RegionId".into(), "cn-hangzhou".into())];
    for (n, id) in ids.iter().enumerate() {
        p.push((format!("InstanceId.{}", n + 1), id.clone()));
    }
    let p: Vec<(&str, &str)> = p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(h.code("StartInstances", &p), "InvalidParameter");
    let json = serde_json::to_string(&ids).unwrap();
    assert_eq!(
        h.code(
            "DescribeInstances",
            &[("RegionId", "cn-hangzhou"), ("InstanceIds", &json)]
        ),
        "InvalidInstanceIds.Malformed"
    );
    let json = serde_json::to_string(&ids[..100]).unwrap();
    assert_eq!(
        h.code(
            "DescribeInstances",
            &[("RegionId", "cn-hangzhou"), ("InstanceIds", &json)]
        ),
        "ok"
    );
}

/// DescribeInstances `Status` filter: one of the five documented states, otherwise
/// `InvalidStatus.NotFound` (404, DescribeInstances.md error table).
#[test]
fn describe_instances_status_filter() {
    let h = H::new();
    let id = h.run("PostPaid", "ecs.g7.large");
    let list = |status: &str| {
        h.call(
            "DescribeInstances",
            &[("RegionId", "cn-hangzhou"), ("Status", status)],
        )
    };
    let running = list("Running").unwrap();
    assert_eq!(
        running["Instances"]["Instance"][0]["InstanceId"],
        id.as_str()
    );
    assert_eq!(
        list("Stopped").unwrap()["Instances"]["Instance"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    let e = list("running").unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (404, "InvalidStatus.NotFound"));
}

/// ModifyInstanceAttribute Password: not while Starting (`IncorrectInstanceStatus`); a
/// HostName change is accepted then (the SDK only warns it may not take effect).
#[test]
fn modify_attribute_password_not_while_starting() {
    let h = H::new();
    let id = h.run("PostPaid", "ecs.g7.large");
    let now = crate::store::now_ms();
    if let Some(i) = h.app.store().get_mut(&id, now) {
        i.set_schedule(now, &[(crate::store::VmState::Starting, None)]);
    }
    let modify =
        |k: &str, v: &str| h.code("ModifyInstanceAttribute", &[("InstanceId", &id), (k, v)]);
    assert_eq!(modify("Password", "Passw0rd!x"), "IncorrectInstanceStatus");
    assert_eq!(modify("HostName", "web-2"), "ok");
}
