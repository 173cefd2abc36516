//! Parameter rules of RunInstances, ModifyInstanceAttribute and ReplaceSystemDisk that the
//! contract table (docs/provider-contract.md, Alibaba §5) names with their sources.

use super::test_harness::H;

fn run_named(h: &H, name: Option<&str>, amount: &str) -> Result<Vec<String>, String> {
    let mut p = vec![
        ("RegionId", "cn-hangzhou"),
        ("ImageId", "aliyun_3_x64_20G_alibase_20240819.vhd"),
        ("InstanceType", "ecs.g7.large"),
        ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
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
