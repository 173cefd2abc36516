//! RunInstances rules closed for issue 14 (docs/provider-contract.md, Alibaba §5): the
//! system disk default, the `${instance_id}` HostName placeholder, the payment method of a
//! subscription and the security group–vSwitch VPC rule. Sources next to each test.

use serde_json::json;

use super::test_harness::H;

const LINUX: &str = "aliyun_3_x64_20G_alibase_20240819.vhd";
const WINDOWS: &str = "win2022_21H2_x64_dtc_en-us_40G_alibase_20240918.vhd";

fn run(h: &H, extra: &[(&str, &str)]) -> Result<String, String> {
    let mut p = vec![
        ("RegionId", "cn-hangzhou"),
        ("InstanceType", "ecs.g7.large"),
    ];
    for (k, v) in [
        ("VSwitchId", "vsw-bp1demo0000000000000"),
        ("ImageId", LINUX),
        ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
    ] {
        if !extra
            .iter()
            .any(|(x, _)| *x == k || (k == "SecurityGroupId" && x.starts_with("SecurityGroupIds.")))
        {
            p.push((k, v));
        }
    }
    p.extend_from_slice(extra);
    h.run_params(&p)
}

fn system_disk_gb(h: &H, id: &str) -> u64 {
    h.field(id, |i| json!(i.system_disk.size_gb))
        .as_u64()
        .unwrap()
}

/// "Default value: max{40, the size of the image specified by the ImageId parameter}" (SDK
/// `RunInstancesRequestSystemDisk.size`, `ReplaceSystemDiskRequestSystemDisk.size`;
/// AlibabaCloudDocs/ecs `Instances/RunInstances.md`, SystemDisk.Size: "The default value is
/// 40 or the size of the image, depending on whichever is greater").
#[test]
fn system_disk_defaults_to_max_of_40_and_the_image() {
    let h = H::new();
    let linux = run(&h, &[]).unwrap();
    assert_eq!(system_disk_gb(&h, &linux), 40, "20 GiB image: 40");
    let windows = run(&h, &[("ImageId", WINDOWS)]).unwrap();
    assert_eq!(system_disk_gb(&h, &windows), 40, "40 GiB image: 40");
    let given = run(&h, &[("SystemDisk.Size", "20")]).unwrap();
    assert_eq!(system_disk_gb(&h, &given), 20, "a given size is kept");
    // ReplaceSystemDisk without SystemDisk.Size: a new disk of the same default.
    let id = run(&h, &[("SystemDisk.Size", "60")]).unwrap();
    h.stop(&id);
    assert_eq!(
        h.code(
            "ReplaceSystemDisk",
            &[("InstanceId", &id), ("ImageId", LINUX)]
        ),
        "ok"
    );
    assert_eq!(system_disk_gb(&h, &id), 40);
}

fn host_name(h: &H, id: &str) -> String {
    h.field(id, |i| json!(i.host_name))
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// "You can use the ${instance_id} placeholder to write the instance ID into the HostName
/// parameter. For example, if HostName is set to k8s-${instance_id} and the created ECS
/// instance ID is i-123abc****, the hostname of the instance is k8s-i-123abc****" (SDK
/// `RunInstancesRequest.host_name`, for "other operating systems such as Linux"). The
/// length rule (2–64) applies to the rendered name; Windows names keep their charset.
#[test]
fn host_name_instance_id_placeholder() {
    let h = H::new();
    let id = run(&h, &[("HostName", "k8s-${instance_id}")]).unwrap();
    assert_eq!(host_name(&h, &id), format!("k8s-{id}"));
    let id = run(&h, &[("HostName", "${instance_id}.node.local")]).unwrap();
    assert_eq!(host_name(&h, &id), format!("{id}.node.local"));
    // Every instance of one call gets its own id.
    let out = h
        .call(
            "RunInstances",
            &[
                ("RegionId", "cn-hangzhou"),
                ("ImageId", LINUX),
                ("InstanceType", "ecs.g7.large"),
                ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
                ("VSwitchId", "vsw-bp1demo0000000000000"),
                ("HostName", "n-${instance_id}"),
                ("Amount", "2"),
            ],
        )
        .unwrap();
    for id in out["InstanceIdSets"]["InstanceIdSet"].as_array().unwrap() {
        let id = id.as_str().unwrap();
        assert_eq!(host_name(&h, id), format!("n-{id}"));
    }
    // 41 + "-" + a 22-character id = 64 characters: the limit; one more is refused.
    let at_limit = format!("{}-${{instance_id}}", "a".repeat(41));
    assert!(run(&h, &[("HostName", &at_limit)]).is_ok());
    let over = format!("{}-${{instance_id}}", "a".repeat(42));
    assert_eq!(
        run(&h, &[("HostName", &over)]),
        Err("InvalidHostName.Malformed".into())
    );
    // Other `${...}` text and a placeholder on a Windows image stay malformed.
    for (image, name) in [(LINUX, "k8s-${id}"), (WINDOWS, "w-${instance_id}")] {
        assert_eq!(
            run(&h, &[("ImageId", image), ("HostName", name)]),
            Err("InvalidHostName.Malformed".into()),
            "{name}"
        );
    }
    // ModifyInstanceAttribute documents no placeholder (`ModifyInstanceAttributeRequest.host_name`).
    assert_eq!(
        h.code(
            "ModifyInstanceAttribute",
            &[("InstanceId", &id), ("HostName", "k8s-${instance_id}")]
        ),
        "InvalidHostName.Malformed"
    );
}

fn prepaid(h: &H, extra: &[(&str, &str)]) -> Result<String, String> {
    let mut p = vec![
        ("InstanceChargeType", "PrePaid"),
        ("Period", "1"),
        ("PeriodUnit", "Month"),
    ];
    p.extend_from_slice(extra);
    run(h, &p)
}

/// "If you set this parameter to PrePaid, make sure that you have sufficient credit in your
/// account. Otherwise, the `InvalidPayMethod` error is returned" (AlibabaCloudDocs/ecs
/// `Instances/RunInstances.md`, InstanceChargeType; error table: 403 `InvalidPayMethod`, "The
/// specified pay method is not valid."). The emulator's switch `alibaba_no_payment_method`
/// (`POST /_emulator/config`): subscriptions are refused, dry runs too; pay-as-you-go is not
/// concerned; switched back, the same request creates.
#[test]
fn prepaid_needs_a_payment_method() {
    let h = H::new();
    h.app
        .update_settings(|s| s.alibaba_no_payment_method = true);
    let e = h
        .call(
            "RunInstances",
            &[
                ("RegionId", "cn-hangzhou"),
                ("ImageId", LINUX),
                ("InstanceType", "ecs.g7.large"),
                ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
                ("VSwitchId", "vsw-bp1demo0000000000000"),
                ("InstanceChargeType", "PrePaid"),
                ("Period", "1"),
            ],
        )
        .unwrap_err();
    assert_eq!(
        (e.status, e.code.as_str(), e.message.as_str()),
        (
            403,
            "InvalidPayMethod",
            "The specified pay method is not valid."
        )
    );
    assert_eq!(
        prepaid(&h, &[("DryRun", "true")]),
        Err("InvalidPayMethod".into())
    );
    assert!(run(&h, &[]).is_ok(), "pay-as-you-go is not concerned");
    assert!(run(&h, &[("InstanceChargeType", "PostPaid")]).is_ok());
    h.app
        .update_settings(|s| s.alibaba_no_payment_method = false);
    assert!(prepaid(&h, &[]).is_ok());
}

const OTHER_VPC_SG: &str = "sg-bp1other000000000000";
const OTHER_VPC_VSWITCH: &str = "vsw-bp1other000000000000";

/// ModifyInstanceAttribute `SecurityGroupIds.N` of `id` set to `sgs`: the answer's code.
fn replace_groups(h: &H, id: &str, sgs: &[&str]) -> String {
    let mut p = vec![("InstanceId".to_string(), id.to_string())];
    for (n, sg) in sgs.iter().enumerate() {
        p.push((format!("SecurityGroupIds.{}", n + 1), sg.to_string()));
    }
    let p: Vec<(&str, &str)> = p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    h.code("ModifyInstanceAttribute", &p)
}

fn groups(h: &H, id: &str) -> Vec<String> {
    serde_json::from_value(h.field(id, |i| json!(i.security_groups))).unwrap()
}

/// RunInstances.md, VSwitchId: "The vSwitch and security group must belong to the same VPC";
/// error table: 400 `InvalidParameter.Mismatch` "Specified security group and virtual switch
/// are not in the same VPC.", `InvalidSecurityGroupId.NotFound` for a group the account does
/// not have in the region. The groups come from `catalog::SECURITY_GROUPS`.
#[test]
fn security_groups_must_exist_and_share_the_vswitch_vpc() {
    let h = H::new();
    for (sg, code) in [
        (
            "sg-bp1nosuch000000000000",
            "InvalidSecurityGroupId.NotFound",
        ),
        // a group of cn-shanghai does not exist in cn-hangzhou
        ("sg-uf6demo0000000000000", "InvalidSecurityGroupId.NotFound"),
        (OTHER_VPC_SG, "InvalidParameter.Mismatch"),
    ] {
        assert_eq!(
            run(&h, &[("SecurityGroupId", sg)]),
            Err(code.into()),
            "{sg}"
        );
    }
    let e = h
        .call(
            "RunInstances",
            &[
                ("RegionId", "cn-hangzhou"),
                ("ImageId", LINUX),
                ("InstanceType", "ecs.g7.large"),
                ("VSwitchId", "vsw-bp1demo0000000000000"),
                ("SecurityGroupIds.1", "sg-bp1fg655nh68xyz9i7nd"),
                ("SecurityGroupIds.2", OTHER_VPC_SG),
            ],
        )
        .unwrap_err();
    assert_eq!(
        (e.status, e.code.as_str()),
        (400, "InvalidParameter.Mismatch")
    );
    assert!(
        e.message
            .starts_with("Specified security group and virtual switch are not in the same VPC")
    );
    // The same group with a vSwitch of its VPC is fine; so are several groups of one VPC.
    let id = run(
        &h,
        &[
            ("SecurityGroupId", OTHER_VPC_SG),
            ("VSwitchId", OTHER_VPC_VSWITCH),
        ],
    )
    .unwrap();
    assert_eq!(
        h.field(&id, |i| json!(i.vpc_id)),
        json!("vpc-bp1other00000000000000")
    );
    assert_eq!(
        run(&h, &[("VSwitchId", OTHER_VPC_VSWITCH)]),
        Err("InvalidParameter.Mismatch".into())
    );
    let id = run(
        &h,
        &[
            ("SecurityGroupIds.1", "sg-bp1fg655nh68xyz9i7nd"),
            ("SecurityGroupIds.2", "sg-bp1demo0000000000001"),
        ],
    )
    .unwrap();
    assert_eq!(groups(&h, &id).len(), 2);
}

/// ModifyInstanceAttribute SecurityGroupIds.N: "The security groups must belong to the same
/// VPC as the instance" (SDK `ModifyInstanceAttributeRequest.security_group_ids`);
/// JoinSecurityGroup.md: "the security group and the instance must be in the same VPC", 400
/// `InvalidInstanceId.Mismatch` (ModifyInstanceAttribute's table has no code for it: the
/// emulator answers JoinSecurityGroup's). Unknown groups: `InvalidSecurityGroupId.NotFound`.
#[test]
fn security_group_changes_stay_in_the_instance_vpc() {
    let h = H::new();
    let id = h.run("PostPaid", "ecs.g7.large");
    let before = groups(&h, &id);
    let replace = |sgs: &[&str]| replace_groups(&h, &id, sgs);
    assert_eq!(
        replace(&["sg-bp1demo0000000000001", OTHER_VPC_SG]),
        "InvalidInstanceId.Mismatch"
    );
    assert_eq!(
        replace(&["sg-uf6demo0000000000000"]),
        "InvalidSecurityGroupId.NotFound"
    );
    assert_eq!(groups(&h, &id), before);
    let join = |sg: &str| {
        h.code(
            "JoinSecurityGroup",
            &[("InstanceId", &id), ("SecurityGroupId", sg)],
        )
    };
    assert_eq!(join(OTHER_VPC_SG), "InvalidInstanceId.Mismatch");
    assert_eq!(
        join("sg-bp1nosuch000000000000"),
        "InvalidSecurityGroupId.NotFound"
    );
    assert_eq!(
        h.code(
            "LeaveSecurityGroup",
            &[
                ("InstanceId", &id),
                ("SecurityGroupId", "sg-bp1nosuch000000000000")
            ]
        ),
        "InvalidSecurityGroupId.NotFound"
    );
    assert_eq!(groups(&h, &id), before);
    assert_eq!(replace(&["sg-bp1demo0000000000001"]), "ok");
    assert_eq!(join("sg-bp1demo0000000000002"), "ok");
    assert_eq!(
        groups(&h, &id),
        vec!["sg-bp1demo0000000000001", "sg-bp1demo0000000000002"]
    );
}

const ADVANCED_SG: &str = "sg-bp1advanced000000000";
/// A basic group that already holds 1,999 instances the emulator does not (catalog).
const NEARLY_FULL_SG: &str = "sg-bp1nearlyfull0000000";

/// "A basic security group can contain a maximum of 2,000 instances. An advanced security
/// group can contain a maximum of 65,536 instances" (JoinSecurityGroup.md): a full group
/// takes no more, with each action's documented code (RunInstances and
/// ModifyInstanceAttribute 403 `SecurityGroupInstanceLimitExceed`, JoinSecurityGroup 403
/// `SecurityGroupInstanceLimitExceeded`); a place freed by a leave is taken again.
#[test]
fn a_full_security_group_takes_no_more_instances() {
    let h = H::new();
    // Two at once do not fit; one does.
    assert_eq!(
        run(&h, &[("SecurityGroupId", NEARLY_FULL_SG), ("Amount", "2")]),
        Err("SecurityGroupInstanceLimitExceed".into())
    );
    let member = run(&h, &[("SecurityGroupId", NEARLY_FULL_SG)]).unwrap();
    // Now full: a create, a join and a replacement that add an instance are refused.
    assert_eq!(
        run(&h, &[("SecurityGroupId", NEARLY_FULL_SG)]),
        Err("SecurityGroupInstanceLimitExceed".into())
    );
    let other = run(&h, &[]).unwrap();
    let join = |id: &str, sg: &str| {
        h.code(
            "JoinSecurityGroup",
            &[("InstanceId", id), ("SecurityGroupId", sg)],
        )
    };
    assert_eq!(
        join(&other, NEARLY_FULL_SG),
        "SecurityGroupInstanceLimitExceeded"
    );
    assert_eq!(
        h.code(
            "ModifyInstanceAttribute",
            &[
                ("InstanceId", &other),
                ("SecurityGroupIds.1", NEARLY_FULL_SG)
            ]
        ),
        "SecurityGroupInstanceLimitExceed"
    );
    // A member's own list may keep the group.
    assert_eq!(
        h.code(
            "ModifyInstanceAttribute",
            &[
                ("InstanceId", &member),
                ("SecurityGroupIds.1", NEARLY_FULL_SG),
                ("SecurityGroupIds.2", "sg-bp1demo0000000000001")
            ]
        ),
        "ok"
    );
    // The member leaves: its place is free again.
    assert_eq!(
        h.code(
            "LeaveSecurityGroup",
            &[("InstanceId", &member), ("SecurityGroupId", NEARLY_FULL_SG)]
        ),
        "ok"
    );
    assert_eq!(join(&other, NEARLY_FULL_SG), "ok");
}

/// "You can switch the security group type, but the list cannot contain both basic security
/// groups and advanced security groups at the same time" (SDK
/// `ModifyInstanceAttributeRequest.security_group_ids`; no code of its own:
/// `InvalidParameter`).
#[test]
fn a_security_group_list_is_basic_or_advanced() {
    let h = H::new();
    let id = h.run("PostPaid", "ecs.g7.large");
    let before = groups(&h, &id);
    let replace = |sgs: &[&str]| replace_groups(&h, &id, sgs);
    assert_eq!(
        replace(&["sg-bp1demo0000000000001", ADVANCED_SG]),
        "InvalidParameter"
    );
    assert_eq!(groups(&h, &id), before);
    // Switching the type is allowed.
    assert_eq!(replace(&[ADVANCED_SG]), "ok");
    assert_eq!(groups(&h, &id), vec![ADVANCED_SG]);
}
