//! The emulated Alibaba Cloud ECS catalog: regions, zones, images, instance types and
//! per-action request rate limits.

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
