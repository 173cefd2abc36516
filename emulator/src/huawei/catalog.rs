//! The emulated Huawei Cloud catalog: the region of a project, its availability zones,
//! flavors, IMS images, volume types and per-action request rate limits.

/// The region of an account's configured `project_id` (its other regions' projects are
/// derived, see [`super::projects`]).
pub const HOME_REGION: &str = "cn-north-4";
/// The availability zones of the home region.
pub const ZONES: &[&str] = &["cn-north-4a", "cn-north-4b", "cn-north-4c", "cn-north-4g"];

/// ECS regions of Huawei's SDK (`huaweicloudsdkecs/v2/region/ecs_region.py`, 3.1.219). Every
/// account has one project in each (IAM `GET /v3/projects` names a region's default
/// project after the region, https://support.huaweicloud.com/api-iam/iam_06_0001.html).
pub const REGIONS: &[&str] = &[
    "cn-north-1",
    "cn-north-4",
    "cn-north-2",
    "cn-north-9",
    "cn-north-11",
    "cn-north-12",
    "cn-south-1",
    "cn-south-2",
    "cn-south-4",
    "cn-east-2",
    "cn-east-3",
    "cn-east-4",
    "cn-east-5",
    "cn-southwest-2",
    "cn-southwest-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "af-south-1",
    "af-north-1",
    "sa-brazil-1",
    "la-north-2",
    "la-south-2",
    "na-mexico-1",
    "tr-west-1",
    "me-east-1",
    "ae-ad-1",
    "eu-west-0",
    "eu-west-101",
    "my-kualalumpur-1",
    "ru-moscow-1",
];

/// The availability zones of `region`: the home region's list, elsewhere `<region>a/b/c`.
pub fn zones(region: &str) -> Vec<String> {
    if region == HOME_REGION {
        ZONES.iter().map(|z| z.to_string()).collect()
    } else {
        ["a", "b", "c"]
            .iter()
            .map(|s| format!("{region}{s}"))
            .collect()
    }
}

pub struct FlavorInfo {
    pub id: &'static str,
    pub vcpus: u32,
    pub ram_mb: u32,
    pub generation: &'static str,
    pub performance: &'static str,
    /// Zones where the flavor is sold out.
    pub sold_out: &'static [&'static str],
    /// Whether the flavor runs on Huawei's QingTian architecture rather than KVM: "QingTian
    /// 实例：C7型弹性云服务器、M7型弹性云服务器" (ECS user guide 变更规格通用操作; 2024 snapshot
    /// `huaweicloudDocs/ecs` `cn.zh-cn/用户指南/变更规格通用操作.md`); s6 and the other
    /// families here are KVM.
    pub qingtian: bool,
}

pub const FLAVORS: &[FlavorInfo] = &[
    FlavorInfo {
        id: "s6.small.1",
        vcpus: 1,
        ram_mb: 1024,
        generation: "s6",
        performance: "normal",
        qingtian: false,
        sold_out: &[],
    },
    FlavorInfo {
        id: "s6.medium.2",
        vcpus: 1,
        ram_mb: 2048,
        generation: "s6",
        performance: "normal",
        qingtian: false,
        sold_out: &[],
    },
    FlavorInfo {
        id: "s6.large.2",
        vcpus: 2,
        ram_mb: 4096,
        generation: "s6",
        performance: "normal",
        qingtian: false,
        sold_out: &[],
    },
    FlavorInfo {
        id: "s6.xlarge.2",
        vcpus: 4,
        ram_mb: 8192,
        generation: "s6",
        performance: "normal",
        qingtian: false,
        sold_out: &[],
    },
    FlavorInfo {
        id: "c7.large.2",
        vcpus: 2,
        ram_mb: 4096,
        generation: "c7",
        performance: "computingv3",
        qingtian: true,
        sold_out: &["cn-north-4g"],
    },
    FlavorInfo {
        id: "c7.xlarge.2",
        vcpus: 4,
        ram_mb: 8192,
        generation: "c7",
        performance: "computingv3",
        qingtian: true,
        sold_out: &["cn-north-4g"],
    },
    FlavorInfo {
        id: "m7.large.8",
        vcpus: 2,
        ram_mb: 16384,
        generation: "m7",
        performance: "highmem",
        qingtian: true,
        sold_out: &[],
    },
    // Families the resize rules of the ECS error table name (API ecs_07_0002): large-memory
    // (超大内存型, `ecs:performancetype` "saphana" in 规格详情 os_extra_specs, API
    // 数据结构(查询规格详情)) and H2 (高性能计算型II代). Sizes are illustrative.
    FlavorInfo {
        id: "e3.7xlarge.12",
        vcpus: 28,
        ram_mb: 356352,
        generation: "e3",
        performance: "saphana",
        qingtian: false,
        sold_out: &[],
    },
    FlavorInfo {
        id: "e3.14xlarge.12",
        vcpus: 56,
        ram_mb: 712704,
        generation: "e3",
        performance: "saphana",
        qingtian: false,
        sold_out: &[],
    },
    FlavorInfo {
        id: "h2.3xlarge.10",
        vcpus: 16,
        ram_mb: 131072,
        generation: "h2",
        performance: "ultracpu",
        qingtian: false,
        sold_out: &[],
    },
];

/// Why a server of flavor `from` cannot be resized to flavor `to`, as the ECS error table
/// (https://support.huaweicloud.com/api-ecs/ecs_07_0002.html; 2024 snapshot
/// `huaweicloudDocs/ecs` `cn.zh-cn/API参考/错误码.md`) names it; `None`: allowed. The allowed
/// targets are those of `GET /v1/{project_id}/cloudservers/resize_flavors` ("变更规格时，部分
/// 规格的云服务器之间不能互相变更", API ecs_02_0209 and 查询云服务器规格变更支持列表):
/// - an H2 server: Ecs.0806 "H2 ECSs do not support specifications modification."
///   (高性能计算型II代实例不支持变更规格); the emulator also refuses H2 as a target with it;
/// - large-memory ↔ any other family: Ecs.0805 "A large-memory ECS cannot be switched to a
///   general computing ECS." (超大内存型 Flavor不能与普通Flavor互切);
/// - KVM → QingTian: Ecs.0812 "Current flavor %s can not resize to flavor %s." (当前规格变更到
///   目标规格需要执行驱动检查脚本; user guide "KVM实例变更为QingTian实例（Linux）"): the
///   driver check runs inside the guest, which the emulator does not have, so it is always
///   refused (Ecs.0813 "risky, the driver needs to be installed", overridden by a `force`
///   parameter that neither the resize pages ecs_02_0209/0210 nor the SDK models
///   ResizePostPaidServerOption/ResizePrePaidServerOption document, is not modelled);
/// - QingTian → KVM: Ecs.0804 "The ECS flavor cannot be switched to the target flavor."
///   (弹性云服务器不支持变更到目标规格; "不支持将“QingTian实例”变更为“KVM实例”", user guide
///   变更规格通用操作).
pub fn resize_refusal(from: &FlavorInfo, to: &FlavorInfo) -> Option<(&'static str, String)> {
    let (a, b) = (from.id, to.id);
    if from.generation == "h2" || to.generation == "h2" {
        return Some((
            "Ecs.0806",
            format!("H2 ECSs do not support specifications modification ({a} -> {b})."),
        ));
    }
    if (from.performance == "saphana") != (to.performance == "saphana") {
        return Some((
            "Ecs.0805",
            format!(
                "A large-memory ECS cannot be switched to a general computing ECS ({a} -> {b})."
            ),
        ));
    }
    match (from.qingtian, to.qingtian) {
        (false, true) => Some((
            "Ecs.0812",
            format!("Current flavor {a} can not resize to flavor {b}."),
        )),
        (true, false) => Some((
            "Ecs.0804",
            format!(
                "The ECS flavor cannot be switched to the target flavor ({a} -> {b}). Change the \
                 target flavor."
            ),
        )),
        _ => None,
    }
}

pub fn flavor(id: &str) -> Option<&'static FlavorInfo> {
    FLAVORS.iter().find(|f| f.id == id)
}

pub struct ImageInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub os_version: &'static str,
    pub platform: &'static str,
    pub os_type: &'static str,
    pub min_disk: u64,
    /// IMS `__imagetype`: gold (public), market (KooGallery/Marketplace), private, shared.
    pub image_type: &'static str,
}

pub const IMAGES: &[ImageInfo] = &[
    ImageInfo {
        id: "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61",
        name: "Ubuntu 22.04 server 64bit",
        os_version: "Ubuntu 22.04 server 64bit",
        platform: "Ubuntu",
        os_type: "Linux",
        min_disk: 40,
        image_type: "gold",
    },
    ImageInfo {
        id: "67f433d8-ed0e-4321-a8a2-a71838539e09",
        name: "CentOS 7.9 64bit",
        os_version: "CentOS 7.9 64bit",
        platform: "CentOS",
        os_type: "Linux",
        min_disk: 40,
        image_type: "gold",
    },
    ImageInfo {
        id: "c1a0e1e5-7ed4-4f70-b8e9-3d0a1b2c3d4e",
        name: "Huawei Cloud EulerOS 2.0 Standard 64 bit",
        os_version: "Huawei Cloud EulerOS 2.0 64bit",
        platform: "EulerOS",
        os_type: "Linux",
        min_disk: 40,
        image_type: "gold",
    },
    ImageInfo {
        id: "9b3e4c2a-1d5f-4a6b-8c7d-0e1f2a3b4c5d",
        name: "Windows Server 2022 Datacenter 64bit English",
        os_version: "Windows Server 2022 Datacenter 64bit English",
        platform: "Windows",
        os_type: "Windows",
        min_disk: 40,
        image_type: "gold",
    },
    // A Marketplace (KooGallery) image: a yearly/monthly server using one cannot change its
    // OS (Ecs.0510, API ecs_07_0002).
    ImageInfo {
        id: "4d2c7e10-6a3b-4f58-9e21-8b7c6d5e4f30",
        name: "Marketplace LAMP Ubuntu 22.04 64bit",
        os_version: "Ubuntu 22.04 server 64bit",
        platform: "Ubuntu",
        os_type: "Linux",
        min_disk: 40,
        image_type: "market",
    },
];

pub fn image(id: &str) -> Option<&'static ImageInfo> {
    IMAGES.iter().find(|i| i.id == id)
}

pub const VOLUME_TYPES: &[&str] = &["SATA", "SAS", "SSD", "GPSSD", "ESSD", "GPSSD2", "ESSD2"];

/// Most servers one batch action, delete or create accepts.
pub const BATCH_LIMIT: usize = 1000;

/// Requests per second per account and action. Huawei's API gateway throttles per user and
/// API (`APIGW.0308`) with limits set per service; these emulator defaults keep creation
/// and mutation below reads. Settings can scale or override them.
pub fn rate_limit(action: &str) -> f64 {
    match action {
        "CreateServers"
        | "CreatePostPaidServers"
        | "ResizePostPaidServer"
        | "ChangeServerOsWithCloudInit"
        | "ReinstallServerWithCloudInit" => 10.0,
        "BatchStartServers"
        | "BatchStopServers"
        | "BatchRebootServers"
        | "DeleteServers"
        | "UpdateServer"
        | "NovaAssociateSecurityGroup"
        | "NovaDisassociateSecurityGroup"
        | "AddSecurityGroups"
        | "RemoveSecurityGroups" => 20.0,
        "ListServersDetails" | "ShowServer" | "ShowJob" | "ShowPort" => 50.0,
        _ => 20.0,
    }
}

/// A VPC subnet of the emulated account: `(region, subnet_id, vpc_id, IPv4 CIDR)`. A subnet
/// lives in one region (a VPC is a regional resource of the region's project).
pub struct SubnetInfo {
    pub region: &'static str,
    pub id: &'static str,
    pub vpc_id: &'static str,
    pub cidr: &'static str,
}

/// The emulated account's VPC subnets (the VPC API itself is not emulated). This catalog is
/// closed: a create naming a subnet the region does not have is refused with Ecs.0038 "The
/// subnet does not exist." (API ecs_07_0002), like the real cloud refuses an id it does not
/// know. Every test, fixture, SDK script and example names one of these; the ids are UUIDs
/// ("需要指定vpcid对应VPC下已创建的子网（subnet）的网络ID，UUID格式", API ecs_02_0101 表3).
pub const SUBNETS: &[SubnetInfo] = &[
    // tests/sdk/huawei_*.py, emulator rule tests
    SubnetInfo {
        region: HOME_REGION,
        id: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        vpc_id: "0f3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
        cidr: "10.0.0.0/8",
    },
    // tests/provider_contract/huawei.rs, tests/huawei_login.rs, tests/huawei_projects.rs
    SubnetInfo {
        region: HOME_REGION,
        id: "7e4b6c2a-2f7b-4b8c-8a66-5b0000000001",
        vpc_id: "3b3e4f4b-1f6a-4a7e-9b55-0c0000000001",
        cidr: "10.0.0.0/8",
    },
    // tests/support/fixtures.rs (HUAWEI)
    SubnetInfo {
        region: HOME_REGION,
        id: "4d5e6f70-0000-4000-8000-00000000de30",
        vpc_id: "3c4d5e6f-0000-4000-8000-00000000de30",
        cidr: "10.0.0.0/8",
    },
    // examples/huawei.yaml
    SubnetInfo {
        region: HOME_REGION,
        id: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
        vpc_id: "3c5a1f7e-8d2b-4e6a-9f10-2b7c4d5e6f70",
        cidr: "10.0.0.0/8",
    },
    // a second VPC
    SubnetInfo {
        region: HOME_REGION,
        id: "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c",
        vpc_id: "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
        cidr: "192.168.0.0/24",
    },
    // ap-southeast-1 (tests/huawei_projects.rs: a server in a second region)
    SubnetInfo {
        region: "ap-southeast-1",
        id: "2c8e5a71-4b3d-4f69-a1e0-7d9c6b5a4e31",
        vpc_id: "8a1f3c5e-7b9d-4e2f-b4a6-c8e0d2f4a6b8",
        cidr: "10.0.0.0/8",
    },
    // further regions (rule_tests.rs: EIP types per region)
    SubnetInfo {
        region: "cn-southwest-2",
        id: "c15521b1-b3dc-450a-9daa-37e51b591d75",
        vpc_id: "3f372617-f0ba-4f3a-86f0-ce2ea6ec39c1",
        cidr: "10.0.0.0/8",
    },
    SubnetInfo {
        region: "ap-southeast-3",
        id: "4a800646-417a-4105-bc31-99944567ceb1",
        vpc_id: "732242fd-a890-4e32-9297-9bfcbbeb508f",
        cidr: "10.0.0.0/8",
    },
    SubnetInfo {
        region: "tr-west-1",
        id: "df7142dc-af29-46f8-b774-4cca4d909eb2",
        vpc_id: "e8af30f7-c70b-43bf-a4d0-b50f658c6762",
        cidr: "10.0.0.0/8",
    },
];

/// The subnet `id` of `region`, if the account has it.
pub fn subnet(region: &str, id: &str) -> Option<&'static SubnetInfo> {
    SUBNETS.iter().find(|s| s.region == region && s.id == id)
}

/// A security group of the emulated account: `(region, id, name)`. Huawei security groups
/// are regional resources of the region's project, not bound to a VPC: the group's
/// `vpc_id` is "该参数已废弃，不建议继续使用" (VPC API 创建安全组 `vpc_id`,
/// https://support.huaweicloud.com/api-vpc/vpc_sg01_0001.html; 2024 snapshot
/// `huaweicloudDocs/vpc` `cn.zh-cn/API参考/创建安全组.md`), and the v3 create (vpc_apiv3_0010)
/// has no VPC at all; so no same-VPC rule applies.
pub struct SecurityGroupInfo {
    pub region: &'static str,
    pub id: &'static str,
    pub name: &'static str,
}

/// The emulated account's security groups besides each region's `default` group
/// ([`default_security_group`]); the VPC security-group API itself is not emulated. Closed:
/// a create or a port naming another id is refused (`actions/create.rs`, `actions/ports.rs`).
/// Ids are UUIDs ("需要指定已有安全组的ID，UUID格式", SDK
/// huaweicloudsdkecs/v2/model/post_paid_server_security_group.py `id`).
pub const SECURITY_GROUPS: &[SecurityGroupInfo] = &[
    // tests/sdk/huawei_ports.py (SG_A, SG_B, SG_C)
    SecurityGroupInfo {
        region: HOME_REGION,
        id: "0a0a0a0a-0000-4000-8000-00000000000a",
        name: "sdk-a",
    },
    SecurityGroupInfo {
        region: HOME_REGION,
        id: "0b0b0b0b-0000-4000-8000-00000000000b",
        name: "sdk-b",
    },
    SecurityGroupInfo {
        region: HOME_REGION,
        id: "0c0c0c0c-0000-4000-8000-00000000000c",
        name: "sdk-c",
    },
    // tests/instance_lifecycle.rs, tests/traffic_contract.rs
    SecurityGroupInfo {
        region: HOME_REGION,
        id: "5e6f7081-0000-4000-8000-0000000000aa",
        name: "web",
    },
    SecurityGroupInfo {
        region: HOME_REGION,
        id: "5e6f7081-0000-4000-8000-0000000000bb",
        name: "ssh",
    },
    // tests/provider_contract/huawei.rs, tests/sdk/huawei_lifecycle.py, emulator tests
    SecurityGroupInfo {
        region: HOME_REGION,
        id: "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c01",
        name: "app",
    },
    SecurityGroupInfo {
        region: HOME_REGION,
        id: "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c02",
        name: "db",
    },
    SecurityGroupInfo {
        region: HOME_REGION,
        id: "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c03",
        name: "ops",
    },
    // ap-southeast-1 (a group of another region, named in cn-north-4 by the tests)
    SecurityGroupInfo {
        region: "ap-southeast-1",
        id: "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b01",
        name: "web",
    },
];

/// The `default` security group of `region`, which a create without `security_groups`
/// binds ("当该值指定为空时，默认给云服务器绑定default安全组", SDK post_paid_server.py
/// `security_groups`): one per region, its id a UUID derived from the region.
pub fn default_security_group(region: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("default security group of {region}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    crate::store::uuid_v4(b)
}

/// The name of security group `id` in `region`, if the account has it there.
pub fn security_group(region: &str, id: &str) -> Option<&'static str> {
    if default_security_group(region) == id {
        return Some("default");
    }
    SECURITY_GROUPS
        .iter()
        .find(|g| g.region == region && g.id == id)
        .map(|g| g.name)
}

/// The id of the security group of `region` named `name_or_id`: the deprecated Nova
/// `addSecurityGroup`/`removeSecurityGroup` take "安全组名称或者UUID" (API ecs_03_0601/0602;
/// SDK huaweicloudsdkecs/v2/model/nova_add_security_group_option.py `name`).
pub fn security_group_id(region: &str, name_or_id: &str) -> Option<String> {
    if security_group(region, name_or_id).is_some() {
        return Some(name_or_id.to_string());
    }
    if name_or_id == "default" {
        return Some(default_security_group(region));
    }
    SECURITY_GROUPS
        .iter()
        .find(|g| g.region == region && g.name == name_or_id)
        .map(|g| g.id.to_string())
}

/// Whether IPv4 address `ip` lies in `cidr` (`a.b.c.d/n`); `None` when either is malformed.
pub fn in_cidr(ip: &str, cidr: &str) -> Option<bool> {
    let (net, bits) = cidr.split_once('/')?;
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let net: std::net::Ipv4Addr = net.parse().ok()?;
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    Some(u32::from(ip) & mask == u32::from(net) & mask)
}

/// EIP types per region as the EIP API documents them: "申请弹性公网IP" `publicip.type`
/// (https://support.huaweicloud.com/api-eip/eip_api_0001.html, eip_api_0006.html; the same
/// list in the official SDK's `huaweicloudsdkeip` model `PublicipInfoResponseBody`), with
/// the Chinese region names mapped to ids by Huawei's endpoint tables. Regions the pages do
/// not list: `None`.
pub fn eip_types(region: &str) -> Option<&'static [&'static str]> {
    Some(match region {
        "cn-south-1" | "cn-east-3" | "cn-east-2" | "cn-north-1" | "cn-north-4" => {
            &["5_bgp", "5_sbgp"]
        }
        "ap-southeast-1" => &["5_bgp", "5_youxuanbgp"],
        "ap-southeast-2" | "ap-southeast-3" | "af-south-1" | "la-south-2" | "sa-brazil-1"
        | "na-mexico-1" => &["5_bgp"],
        // 西南-贵阳一: static BGP only
        "cn-southwest-2" => &["5_sbgp"],
        _ => return None,
    })
}
