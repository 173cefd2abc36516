//! The emulated Alibaba Cloud ECS catalog: regions, zones, images, vSwitches, security
//! groups, instance types and per-action request rate limits.

pub struct RegionInfo {
    pub id: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub zones: &'static [&'static str],
}

pub const REGIONS: &[RegionInfo] = &[
    RegionInfo {
        id: "cn-hangzhou",
        name_zh: "华东1（杭州）",
        name_en: "China (Hangzhou)",
        zones: &[
            "cn-hangzhou-h",
            "cn-hangzhou-i",
            "cn-hangzhou-j",
            "cn-hangzhou-k",
        ],
    },
    RegionInfo {
        id: "cn-shanghai",
        name_zh: "华东2（上海）",
        name_en: "China (Shanghai)",
        zones: &["cn-shanghai-e", "cn-shanghai-f", "cn-shanghai-g"],
    },
    RegionInfo {
        id: "cn-beijing",
        name_zh: "华北2（北京）",
        name_en: "China (Beijing)",
        zones: &["cn-beijing-g", "cn-beijing-h", "cn-beijing-i"],
    },
    RegionInfo {
        id: "cn-shenzhen",
        name_zh: "华南1（深圳）",
        name_en: "China (Shenzhen)",
        zones: &["cn-shenzhen-c", "cn-shenzhen-d", "cn-shenzhen-e"],
    },
    RegionInfo {
        id: "ap-southeast-1",
        name_zh: "新加坡",
        name_en: "Singapore",
        zones: &["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"],
    },
    RegionInfo {
        id: "us-west-1",
        name_zh: "美国（硅谷）",
        name_en: "US (Silicon Valley)",
        zones: &["us-west-1a", "us-west-1b"],
    },
];

pub fn region(id: &str) -> Option<&'static RegionInfo> {
    REGIONS.iter().find(|r| r.id == id)
}

pub struct ImageInfo {
    pub id: &'static str,
    pub os_name: &'static str,
    pub os_name_en: &'static str,
    pub os_type: &'static str,
    pub platform: &'static str,
    pub size_gb: u64,
}

pub const IMAGES: &[ImageInfo] = &[
    ImageInfo {
        id: "aliyun_3_x64_20G_alibase_20240819.vhd",
        os_name: "Alibaba Cloud Linux  3.2104 LTS 64位",
        os_name_en: "Alibaba Cloud Linux  3.2104 LTS 64 bit",
        os_type: "linux",
        platform: "Aliyun",
        size_gb: 20,
    },
    ImageInfo {
        id: "ubuntu_22_04_x64_20G_alibase_20240926.vhd",
        os_name: "Ubuntu  22.04 64位",
        os_name_en: "Ubuntu  22.04 64 bit",
        os_type: "linux",
        platform: "Ubuntu",
        size_gb: 20,
    },
    ImageInfo {
        id: "debian_12_6_x64_20G_alibase_20240819.vhd",
        os_name: "Debian  12.6 64位",
        os_name_en: "Debian  12.6 64 bit",
        os_type: "linux",
        platform: "Debian",
        size_gb: 20,
    },
    ImageInfo {
        id: "centos_7_9_x64_20G_alibase_20240628.vhd",
        os_name: "CentOS  7.9 64位",
        os_name_en: "CentOS  7.9 64 bit",
        os_type: "linux",
        platform: "CentOS",
        size_gb: 20,
    },
    ImageInfo {
        id: "win2022_21H2_x64_dtc_en-us_40G_alibase_20240918.vhd",
        os_name: "Windows Server  2022 数据中心版 64位英文版",
        os_name_en: "Windows Server  2022 Data Center Edition 64bit English Edition",
        os_type: "windows",
        platform: "Windows Server 2022",
        size_gb: 40,
    },
];

pub fn image(id: &str) -> Option<&'static ImageInfo> {
    IMAGES.iter().find(|i| i.id == id)
}

/// A vSwitch of the demo account. vSwitches belong to the VPC API (`DescribeVSwitches`),
/// which the emulator does not serve; RunInstances needs to know a vSwitch's region, zone
/// and VPC to apply the documented rules ("If you specify the VSwitchId parameter, the
/// ZoneId parameter must be set to the zone where the vSwitch resides", SDK
/// `RunInstancesRequest.v_switch_id`). The ids used by the examples and the tests are
/// seeded, plus one per zone in every region.
pub struct VSwitchInfo {
    pub id: &'static str,
    pub zone: &'static str,
    pub vpc_id: &'static str,
}

const fn vsw(id: &'static str, zone: &'static str, vpc_id: &'static str) -> VSwitchInfo {
    VSwitchInfo { id, zone, vpc_id }
}

const VPC_HZ: &str = "vpc-bp1demo000000000000000";
const VPC_HZ_OTHER: &str = "vpc-bp1other00000000000000";

pub const VSWITCHES: &[VSwitchInfo] = &[
    // cn-hangzhou: examples/alibaba.yaml, tests/support/fixtures.rs, tests/provider_contract,
    // tests/sdk/alibaba_*.py, the emulator unit tests.
    vsw("vsw-bp1demo0000000000000", "cn-hangzhou-h", VPC_HZ),
    vsw("vsw-bp1demo0000000000001", "cn-hangzhou-h", VPC_HZ),
    vsw("vsw-bp1demo0000000000002", "cn-hangzhou-i", VPC_HZ),
    vsw("vsw-bp1demo0000000000003", "cn-hangzhou-j", VPC_HZ),
    vsw("vsw-bp1demo0000000000004", "cn-hangzhou-k", VPC_HZ),
    vsw("vsw-it0000000000000001", "cn-hangzhou-i", VPC_HZ),
    vsw("vsw-it0000000000000002", "cn-hangzhou-k", VPC_HZ),
    vsw("vsw-sdk000000000000001", "cn-hangzhou-h", VPC_HZ),
    vsw("vsw-sdk000000000000002", "cn-hangzhou-i", VPC_HZ),
    // A second VPC in cn-hangzhou: its groups and vSwitch do not mix with the first's.
    vsw("vsw-bp1other000000000000", "cn-hangzhou-h", VPC_HZ_OTHER),
    // One per zone in the other regions.
    vsw(
        "vsw-uf6demo0000000000000",
        "cn-shanghai-e",
        "vpc-uf6demo000000000000000",
    ),
    vsw(
        "vsw-uf6demo0000000000001",
        "cn-shanghai-f",
        "vpc-uf6demo000000000000000",
    ),
    vsw(
        "vsw-uf6demo0000000000002",
        "cn-shanghai-g",
        "vpc-uf6demo000000000000000",
    ),
    vsw(
        "vsw-2zedemo0000000000000",
        "cn-beijing-g",
        "vpc-2zedemo000000000000000",
    ),
    vsw(
        "vsw-2zedemo0000000000001",
        "cn-beijing-h",
        "vpc-2zedemo000000000000000",
    ),
    vsw(
        "vsw-2zedemo0000000000002",
        "cn-beijing-i",
        "vpc-2zedemo000000000000000",
    ),
    vsw(
        "vsw-wz9demo0000000000000",
        "cn-shenzhen-c",
        "vpc-wz9demo000000000000000",
    ),
    vsw(
        "vsw-wz9demo0000000000001",
        "cn-shenzhen-d",
        "vpc-wz9demo000000000000000",
    ),
    vsw(
        "vsw-wz9demo0000000000002",
        "cn-shenzhen-e",
        "vpc-wz9demo000000000000000",
    ),
    vsw(
        "vsw-t4ndemo0000000000000",
        "ap-southeast-1a",
        "vpc-t4ndemo000000000000000",
    ),
    vsw(
        "vsw-t4ndemo0000000000001",
        "ap-southeast-1b",
        "vpc-t4ndemo000000000000000",
    ),
    vsw(
        "vsw-t4ndemo0000000000002",
        "ap-southeast-1c",
        "vpc-t4ndemo000000000000000",
    ),
    vsw(
        "vsw-rj9demo0000000000000",
        "us-west-1a",
        "vpc-rj9demo000000000000000",
    ),
    vsw(
        "vsw-rj9demo0000000000001",
        "us-west-1b",
        "vpc-rj9demo000000000000000",
    ),
];

/// The vSwitch `id` of `region` (a vSwitch of another region does not exist there).
pub fn vswitch(region: &RegionInfo, id: &str) -> Option<&'static VSwitchInfo> {
    VSWITCHES
        .iter()
        .find(|v| v.id == id && region.zones.contains(&v.zone))
}

/// A security group of the demo account. Security groups belong to their own API
/// (`CreateSecurityGroup`, `DescribeSecurityGroups`), which the emulator does not serve; the
/// instance actions need a group's region and VPC to apply the documented rules:
/// RunInstances "The vSwitch and security group must belong to the same VPC" (AlibabaCloudDocs/ecs
/// `Instances/RunInstances.md`, VSwitchId row; error table: 400 `InvalidParameter.Mismatch`
/// "Specified security group and virtual switch are not in the same VPC.", and 404
/// `InvalidSecurityGroupId.NotFound`); JoinSecurityGroup "The security group and the instance
/// must belong to the same region … the same VPC" (`Security groups/JoinSecurityGroup.md`;
/// 400 `InvalidInstanceId.Mismatch`); ModifyInstanceAttribute "The security groups must belong
/// to the same VPC as the instance" (SDK `ModifyInstanceAttributeRequest.security_group_ids`).
/// The ids the examples and the tests use are seeded (all in the VPC of their vSwitches), plus
/// one group in a second cn-hangzhou VPC and one per VPC of the other regions.
///
/// Groups are basic or advanced (enterprise): "A basic security group can contain a maximum of
/// 2,000 instances. An advanced security group can contain a maximum of 65,536 instances"
/// (JoinSecurityGroup.md), and an instance's list "cannot contain both basic security groups
/// and advanced security groups at the same time" (SDK
/// `ModifyInstanceAttributeRequest.security_group_ids`). `members_elsewhere` counts instances
/// in the group that the emulator does not hold (other accounts', the console's): it makes a
/// nearly full group possible without creating 2,000 instances.
pub struct SecurityGroupInfo {
    pub id: &'static str,
    pub region: &'static str,
    pub vpc_id: &'static str,
    pub advanced: bool,
    pub members_elsewhere: u32,
}

impl SecurityGroupInfo {
    /// The most instances the group can contain (JoinSecurityGroup.md).
    pub fn capacity(&self) -> u32 {
        if self.advanced { 65_536 } else { 2_000 }
    }
}

const fn sg(id: &'static str, region: &'static str, vpc_id: &'static str) -> SecurityGroupInfo {
    SecurityGroupInfo {
        id,
        region,
        vpc_id,
        advanced: false,
        members_elsewhere: 0,
    }
}

pub const SECURITY_GROUPS: &[SecurityGroupInfo] = &[
    // cn-hangzhou, the VPC of the vSwitches above. The emulator unit tests:
    sg("sg-bp1fg655nh68xyz9i7nd", "cn-hangzhou", VPC_HZ),
    // tests/support/fixtures.rs, tests/traffic_contract.rs, examples/alibaba.yaml and the
    // membership unit tests (`membership.rs`):
    sg("sg-bp1demo0000000000000", "cn-hangzhou", VPC_HZ),
    sg("sg-bp1demo0000000000001", "cn-hangzhou", VPC_HZ),
    sg("sg-bp1demo0000000000002", "cn-hangzhou", VPC_HZ),
    sg("sg-bp1demo0000000000003", "cn-hangzhou", VPC_HZ),
    sg("sg-bp1demo0000000000004", "cn-hangzhou", VPC_HZ),
    sg("sg-bp1demo0000000000005", "cn-hangzhou", VPC_HZ),
    sg("sg-bp1demo0000000000006", "cn-hangzhou", VPC_HZ),
    // tests/provider_contract:
    sg("sg-it0000000000000001", "cn-hangzhou", VPC_HZ),
    sg("sg-it0000000000000002", "cn-hangzhou", VPC_HZ),
    sg("sg-it0000000000000003", "cn-hangzhou", VPC_HZ),
    // tests/sdk/alibaba_*.py:
    sg("sg-sdk000000000000001", "cn-hangzhou", VPC_HZ),
    sg("sg-sdk000000000000002", "cn-hangzhou", VPC_HZ),
    sg("sg-sdk000000000000003", "cn-hangzhou", VPC_HZ),
    sg("sg-sdk000000000000004", "cn-hangzhou", VPC_HZ),
    sg("sg-sdk000000000000005", "cn-hangzhou", VPC_HZ),
    sg("sg-sdk000000000000006", "cn-hangzhou", VPC_HZ),
    sg("sg-sdk000000000000007", "cn-hangzhou", VPC_HZ),
    sg("sg-sdk000000000000008", "cn-hangzhou", VPC_HZ),
    sg("sg-sdk000000000000009", "cn-hangzhou", VPC_HZ),
    sg("sg-sdk00000000000000a", "cn-hangzhou", VPC_HZ),
    sg("sg-sdk00000000000000b", "cn-hangzhou", VPC_HZ),
    // An advanced (enterprise) group, and a basic group with 1,999 instances the emulator
    // does not hold (one more fits).
    SecurityGroupInfo {
        id: "sg-bp1advanced000000000",
        region: "cn-hangzhou",
        vpc_id: VPC_HZ,
        advanced: true,
        members_elsewhere: 0,
    },
    SecurityGroupInfo {
        id: "sg-bp1nearlyfull0000000",
        region: "cn-hangzhou",
        vpc_id: VPC_HZ,
        advanced: false,
        members_elsewhere: 1_999,
    },
    // The second cn-hangzhou VPC.
    sg("sg-bp1other000000000000", "cn-hangzhou", VPC_HZ_OTHER),
    // One per VPC of the other regions.
    sg(
        "sg-uf6demo0000000000000",
        "cn-shanghai",
        "vpc-uf6demo000000000000000",
    ),
    sg(
        "sg-2zedemo0000000000000",
        "cn-beijing",
        "vpc-2zedemo000000000000000",
    ),
    sg(
        "sg-wz9demo0000000000000",
        "cn-shenzhen",
        "vpc-wz9demo000000000000000",
    ),
    sg(
        "sg-t4ndemo0000000000000",
        "ap-southeast-1",
        "vpc-t4ndemo000000000000000",
    ),
    sg(
        "sg-rj9demo0000000000000",
        "us-west-1",
        "vpc-rj9demo000000000000000",
    ),
];

/// The security group `id` of `region` (a group of another region does not exist there).
pub fn security_group(region: &RegionInfo, id: &str) -> Option<&'static SecurityGroupInfo> {
    SECURITY_GROUPS
        .iter()
        .find(|g| g.id == id && g.region == region.id)
}

pub struct TypeInfo {
    pub id: &'static str,
    pub family: &'static str,
    pub cpu: u32,
    pub memory_gb: f64,
}

pub const INSTANCE_TYPES: &[TypeInfo] = &[
    TypeInfo {
        id: "ecs.t6-c1m1.large",
        family: "ecs.t6",
        cpu: 2,
        memory_gb: 2.0,
    },
    TypeInfo {
        id: "ecs.t6-c1m2.large",
        family: "ecs.t6",
        cpu: 2,
        memory_gb: 4.0,
    },
    TypeInfo {
        id: "ecs.e-c1m2.large",
        family: "ecs.e",
        cpu: 2,
        memory_gb: 4.0,
    },
    TypeInfo {
        id: "ecs.c7.large",
        family: "ecs.c7",
        cpu: 2,
        memory_gb: 4.0,
    },
    TypeInfo {
        id: "ecs.c7.xlarge",
        family: "ecs.c7",
        cpu: 4,
        memory_gb: 8.0,
    },
    TypeInfo {
        id: "ecs.g7.large",
        family: "ecs.g7",
        cpu: 2,
        memory_gb: 8.0,
    },
    TypeInfo {
        id: "ecs.g7.xlarge",
        family: "ecs.g7",
        cpu: 4,
        memory_gb: 16.0,
    },
    TypeInfo {
        id: "ecs.g6.large",
        family: "ecs.g6",
        cpu: 2,
        memory_gb: 8.0,
    },
    TypeInfo {
        id: "ecs.r7.large",
        family: "ecs.r7",
        cpu: 2,
        memory_gb: 16.0,
    },
];

pub fn instance_type(id: &str) -> Option<&'static TypeInfo> {
    INSTANCE_TYPES.iter().find(|t| t.id == id)
}

/// Types sold in a zone: every type except the burstable ones in the last zone of a
/// region (so zone filtering is observable).
pub fn types_in_zone(region: &RegionInfo, zone: &str) -> Vec<&'static TypeInfo> {
    let last = region.zones.last().copied() == Some(zone) && region.zones.len() > 1;
    INSTANCE_TYPES
        .iter()
        .filter(|t| !(last && t.family == "ecs.t6"))
        .collect()
}

pub const DISK_CATEGORIES: &[&str] = &[
    "cloud",
    "cloud_efficiency",
    "cloud_ssd",
    "cloud_essd",
    "cloud_auto",
    "cloud_essd_entry",
];

/// The actions the emulator implements.
pub const ACTIONS: &[&str] = &[
    "RunInstances",
    "StartInstances",
    "StopInstances",
    "RebootInstances",
    "DeleteInstances",
    "DescribeInstanceStatus",
    "DescribeInstances",
    "ModifyInstanceAttribute",
    "ReplaceSystemDisk",
    "ModifyInstanceSpec",
    "ModifyPrepayInstanceSpec",
    "ModifyInstanceChargeType",
    "StartInstance",
    "StopInstance",
    "RebootInstance",
    "DeleteInstance",
    "JoinSecurityGroup",
    "LeaveSecurityGroup",
    "TagResources",
    "UntagResources",
    "ListTagResources",
    "DescribeRegions",
    "DescribeZones",
    "DescribeImages",
    "DescribeInstanceTypes",
    "DescribeAvailableResource",
];

/// Requests per second per account and action. Alibaba enforces per-API flow control
/// (answering `Throttling.User`) with limits it does not publish per account; these
/// emulator defaults keep mutating calls well below read calls. Settings can scale or
/// override them.
pub fn rate_limit(action: &str) -> f64 {
    match action {
        "RunInstances" | "ReplaceSystemDisk" | "ModifyInstanceSpec" => 10.0,
        "StartInstances"
        | "StopInstances"
        | "RebootInstances"
        | "DeleteInstances"
        | "ModifyInstanceAttribute" => 20.0,
        "DescribeInstances" | "DescribeInstanceStatus" => 50.0,
        _ => 20.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zone_has_a_vswitch_and_every_vswitch_a_zone() {
        for r in REGIONS {
            for z in r.zones {
                assert!(VSWITCHES.iter().any(|v| v.zone == *z), "{z}");
            }
        }
        for v in VSWITCHES {
            let r = REGIONS.iter().find(|r| r.zones.contains(&v.zone));
            let r = r.unwrap_or_else(|| panic!("{}: no region has zone {}", v.id, v.zone));
            assert!(vswitch(r, v.id).is_some());
            assert_eq!(
                VSWITCHES.iter().filter(|w| w.id == v.id).count(),
                1,
                "{}",
                v.id
            );
        }
    }

    /// Every group is unique, in a known region, and in a VPC that has a vSwitch of that
    /// region (so an instance can be created with it); every VPC has a group.
    #[test]
    fn every_security_group_is_in_a_vpc_of_its_region() {
        for g in SECURITY_GROUPS {
            let r = region(g.region).unwrap_or_else(|| panic!("{}: region", g.id));
            assert!(security_group(r, g.id).is_some());
            assert!(
                VSWITCHES
                    .iter()
                    .any(|v| v.vpc_id == g.vpc_id && r.zones.contains(&v.zone)),
                "{}: no vSwitch of {} in {}",
                g.id,
                g.vpc_id,
                g.region
            );
            assert_eq!(
                SECURITY_GROUPS.iter().filter(|h| h.id == g.id).count(),
                1,
                "{}",
                g.id
            );
        }
        for v in VSWITCHES {
            assert!(
                SECURITY_GROUPS.iter().any(|g| g.vpc_id == v.vpc_id),
                "{}",
                v.vpc_id
            );
        }
    }
}
