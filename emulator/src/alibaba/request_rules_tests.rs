//! Parameter rules of RunInstances, ModifyInstanceAttribute and ReplaceSystemDisk that the
//! contract table (docs/provider-contract.md, Alibaba §5) names with their sources.

use super::test_harness::H;

fn run_named(h: &H, name: Option<&str>, amount: &str) -> Result<Vec<String>, String> {
    let mut p = vec![
        ("RegionId", "cn-hangzhou"),
        ("ImageId", "aliyun_3_x64_20G_alibase_20240819.vhd"),
        ("InstanceType", "ecs.g7.large"),
        ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
        ("VSwitchId", "vsw-bp1demo0000000000000"),
        ("Amount", amount),
    ];
    if let Some(n) = name {
        p.push(("InstanceName", n));
    }
    h.call("RunInstances", &p)
        .map(|out| {
            out["InstanceIdSets"]["InstanceIdSet"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        })
        .map_err(|e| e.code)
}

fn name_of(h: &H, id: &str) -> String {
    h.field(id, |i| serde_json::json!(i.name))
        .as_str()
        .unwrap()
        .to_string()
}

/// SDK `RunInstancesRequest.instance_name`: 2–128 characters, Unicode letters and digits,
/// `: _ . -`, `[]` and `,` for sequential names; starts with a letter, not `http(s)://`
/// (RunInstances.md); the default is the InstanceId.
#[test]
fn run_instances_instance_name_rules() {
    let h = H::new();
    for ok in ["web-1.a_b:c", "名字", "web[1,2]"] {
        assert!(run_named(&h, Some(ok), "1").is_ok(), "{ok}");
    }
    for bad in ["a", "1web", "web 1", "web/1", "http://x", &"a".repeat(129)] {
        assert_eq!(
            run_named(&h, Some(bad), "1"),
            Err("InvalidInstanceName.Malformed".to_string()),
            "{bad}"
        );
    }
    let ids = run_named(&h, None, "2").unwrap();
    for id in &ids {
        assert_eq!(&name_of(&h, id), id, "the default name is the InstanceId");
    }
}

/// `ModifyInstanceAttributeRequest.instance_name`: same charset, no sequential pattern.
#[test]
fn modify_instance_attribute_instance_name_rules() {
    let h = H::new();
    let id = h.run("PostPaid", "ecs.g7.large");
    let rename = |n: &str| {
        h.code(
            "ModifyInstanceAttribute",
            &[("InstanceId", &id), ("InstanceName", n)],
        )
    };
    assert_eq!(rename("renamed-1"), "ok");
    assert_eq!(name_of(&h, &id), "renamed-1");
    for bad in ["web[1,2]", "9lives", "a b", "https://x"] {
        assert_eq!(rename(bad), "InvalidInstanceName.Malformed", "{bad}");
    }
    assert_eq!(name_of(&h, &id), "renamed-1");
}

/// PasswordInherit=true with a Password: `InvalidPasswordParam.Mismatch` (RunInstances.md
/// and ReplaceSystemDisk.md error tables).
#[test]
fn password_inherit_excludes_password() {
    let h = H::new();
    let base = [
        ("RegionId", "cn-hangzhou"),
        ("ImageId", "aliyun_3_x64_20G_alibase_20240819.vhd"),
        ("InstanceType", "ecs.g7.large"),
        ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
        ("VSwitchId", "vsw-bp1demo0000000000000"),
        ("PasswordInherit", "true"),
    ];
    let mut with_pw = base.to_vec();
    with_pw.push(("Password", "Passw0rd!x"));
    assert_eq!(
        h.code("RunInstances", &with_pw),
        "InvalidPasswordParam.Mismatch"
    );
    assert_eq!(h.code("RunInstances", &base), "ok");
    let id = h.run("PostPaid", "ecs.g7.large");
    h.stop(&id);
    let replace = |extra: &[(&str, &str)]| {
        let mut p = vec![
            ("InstanceId", id.as_str()),
            ("ImageId", "ubuntu_22_04_x64_20G_alibase_20240926.vhd"),
        ];
        p.extend_from_slice(extra);
        h.code("ReplaceSystemDisk", &p)
    };
    assert_eq!(
        replace(&[("PasswordInherit", "true"), ("Password", "Passw0rd!x")]),
        "InvalidPasswordParam.Mismatch"
    );
    assert_eq!(replace(&[("PasswordInherit", "true")]), "ok");
}

const LINUX: &str = "aliyun_3_x64_20G_alibase_20240819.vhd";
const WINDOWS: &str = "win2022_21H2_x64_dtc_en-us_40G_alibase_20240918.vhd";

fn run(h: &H, extra: &[(&str, &str)]) -> Result<String, String> {
    let mut p = vec![
        ("RegionId", "cn-hangzhou"),
        ("InstanceType", "ecs.g7.large"),
        ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
    ];
    if !extra.iter().any(|(k, _)| *k == "ImageId") {
        p.push(("ImageId", LINUX));
    }
    p.extend_from_slice(extra);
    h.run_params(&p)
}

fn err(r: Result<String, String>) -> String {
    r.err().unwrap_or_else(|| "ok".into())
}

/// VSwitchId: "If you create a VPC-type ECS instance, you must specify a vSwitch ID" (SDK
/// `RunInstancesRequest.v_switch_id`; `InvalidVSwitchId.Necessary` 400); a vSwitch this
/// region does not have is `InvalidVSwitchId.NotFound` (404); ZoneId must be the vSwitch's
/// zone (`InvalidParameter.Mismatch` 400, "Specified virtual switch is not in the specified
/// zone."), and without ZoneId the instance lands in the vSwitch's zone (RunInstances.md).
#[test]
fn run_instances_vswitch_rules() {
    let h = H::new();
    assert_eq!(err(run(&h, &[])), "InvalidVSwitchId.Necessary");
    assert_eq!(
        err(run(&h, &[("DryRun", "true")])),
        "InvalidVSwitchId.Necessary",
        "a dry run checks it too"
    );
    assert_eq!(
        err(run(&h, &[("VSwitchId", "vsw-nosuch0000000000000")])),
        "InvalidVSwitchId.NotFound"
    );
    // a Beijing vSwitch does not exist in Hangzhou
    assert_eq!(
        err(run(&h, &[("VSwitchId", "vsw-2zedemo0000000000000")])),
        "InvalidVSwitchId.NotFound"
    );
    // vsw-bp1demo0000000000002 is in cn-hangzhou-i
    assert_eq!(
        err(run(
            &h,
            &[
                ("VSwitchId", "vsw-bp1demo0000000000002"),
                ("ZoneId", "cn-hangzhou-h")
            ]
        )),
        "InvalidParameter.Mismatch"
    );
    let id = run(
        &h,
        &[
            ("VSwitchId", "vsw-bp1demo0000000000002"),
            ("ZoneId", "cn-hangzhou-i"),
        ],
    )
    .unwrap();
    assert_eq!(h.field(&id, |i| serde_json::json!(i.zone)), "cn-hangzhou-i");
    let id = run(&h, &[("VSwitchId", "vsw-bp1demo0000000000002")]).unwrap();
    assert_eq!(
        h.field(&id, |i| serde_json::json!(i.zone)),
        "cn-hangzhou-i",
        "no ZoneId: the vSwitch's zone"
    );
    assert_eq!(
        h.field(&id, |i| serde_json::json!(i.vpc_id)),
        "vpc-bp1demo000000000000000"
    );
    assert_eq!(
        h.field(&id, |i| serde_json::json!(i.subnet_id)),
        "vsw-bp1demo0000000000002"
    );
}

/// SpotStrategy "is valid only when the InstanceChargeType parameter is set to PostPaid"
/// (SDK `RunInstancesRequest.spot_strategy`): `InvalidSpotPrepaid` (400, RunInstances.md).
#[test]
fn spot_strategy_only_for_pay_as_you_go() {
    let h = H::new();
    let vsw = ("VSwitchId", "vsw-bp1demo0000000000000");
    for spot in ["SpotAsPriceGo", "SpotWithPriceLimit"] {
        assert_eq!(
            err(run(
                &h,
                &[
                    vsw,
                    ("InstanceChargeType", "PrePaid"),
                    ("Period", "1"),
                    ("SpotStrategy", spot)
                ]
            )),
            "InvalidSpotPrepaid",
            "{spot}"
        );
        assert_eq!(
            err(run(
                &h,
                &[
                    vsw,
                    ("InstanceChargeType", "PostPaid"),
                    ("SpotStrategy", spot)
                ]
            )),
            "ok"
        );
    }
    assert_eq!(
        err(run(
            &h,
            &[
                vsw,
                ("InstanceChargeType", "PrePaid"),
                ("Period", "1"),
                ("SpotStrategy", "NoSpot")
            ]
        )),
        "ok"
    );
}

/// DescribeInstances Tag.N: "Valid values of N: 1 to 20" (SDK
/// `DescribeInstancesRequestTag.key`); more is `InvalidTagCount` (400, DescribeInstances.md).
#[test]
fn describe_instances_takes_at_most_20_tags() {
    let h = H::new();
    let mut p: Vec<(String, String)> = vec![("RegionId".into(), "cn-hangzhou".into())];
    for n in 1..=21 {
        p.push((format!("Tag.{n}.Key"), format!("k{n}")));
    }
    let refs = |n: usize| -> Vec<(&str, &str)> {
        p[..n]
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect()
    };
    assert_eq!(h.code("DescribeInstances", &refs(22)), "InvalidTagCount");
    assert_eq!(h.code("DescribeInstances", &refs(21)), "ok");
}

/// Windows rules of RunInstances, ModifyInstanceAttribute and ReplaceSystemDisk: host names
/// of 2-15 letters, digits and `-`, no `.`, not only digits; passwords must not start with
/// `/` (SDK `RunInstancesRequest.host_name`/`.password`; RunInstances.md,
/// ModifyInstanceAttribute.md, ReplaceSystemDisk.md; `InvalidHostName.Malformed`,
/// `InvalidPassword.Malformed`, 400). Linux instances accept the same values.
#[test]
fn windows_host_name_and_password_rules() {
    let h = H::new();
    let vsw = ("VSwitchId", "vsw-bp1demo0000000000000");
    for (host, code) in [
        ("web.example", "InvalidHostName.Malformed"),
        ("123456", "InvalidHostName.Malformed"),
        ("abcdefghijklmnop", "InvalidHostName.Malformed"),
        ("web--01", "InvalidHostName.Malformed"),
        ("web-01", "ok"),
    ] {
        let on = |image| err(run(&h, &[vsw, ("ImageId", image), ("HostName", host)]));
        assert_eq!(on(WINDOWS), code, "{host}");
        let linux = if host == "web--01" { code } else { "ok" };
        assert_eq!(on(LINUX), linux, "{host} on Linux");
    }
    let slash = ("Password", "/Passw0rd1");
    assert_eq!(
        err(run(&h, &[vsw, ("ImageId", WINDOWS), slash])),
        "InvalidPassword.Malformed"
    );
    assert_eq!(err(run(&h, &[vsw, ("ImageId", LINUX), slash])), "ok");

    // ModifyInstanceAttribute: the instance's image decides.
    let win = run(&h, &[vsw, ("ImageId", WINDOWS)]).unwrap();
    let lin = run(&h, &[vsw, ("ImageId", LINUX)]).unwrap();
    let modify =
        |id: &str, p: (&str, &str)| h.code("ModifyInstanceAttribute", &[("InstanceId", id), p]);
    assert_eq!(
        modify(&win, ("HostName", "web.example")),
        "InvalidHostName.Malformed"
    );
    assert_eq!(modify(&win, ("HostName", "web-02")), "ok");
    assert_eq!(modify(&lin, ("HostName", "web.example")), "ok");
    assert_eq!(modify(&win, slash), "InvalidPassword.Malformed");
    assert_eq!(modify(&lin, slash), "ok");

    // ReplaceSystemDisk: the new image decides.
    h.stop(&lin);
    let replace = |image: &str| {
        h.code(
            "ReplaceSystemDisk",
            &[("InstanceId", &lin), ("ImageId", image), slash],
        )
    };
    assert_eq!(replace(WINDOWS), "InvalidPassword.Malformed");
    assert_eq!(replace(LINUX), "ok");
}
