//! Static Tencent catalog: regions, zones, images (public ones and one custom image) and
//! instance types.

pub struct Zone {
    pub zone: &'static str,
    pub zone_id: &'static str,
    pub name: &'static str,
    pub available: bool,
}

pub struct Region {
    pub region: &'static str,
    pub name: &'static str,
    pub zones: &'static [Zone],
}

pub struct Image {
    pub id: &'static str,
    pub name: &'static str,
    pub os_name: &'static str,
    pub platform: &'static str,
    pub architecture: &'static str,
    pub size_gb: u64,
    pub created: &'static str,
    /// `PUBLIC_IMAGE`, `PRIVATE_IMAGE` (custom), `SHARED_IMAGE` (tencentcloud-sdk-python-cvm
    /// 3.1.178 `Image.ImageType`).
    pub image_type: &'static str,
}

impl Image {
    pub fn is_windows(&self) -> bool {
        self.platform == "Windows"
    }
    /// Custom, shared or imported (not public or marketplace).
    pub fn is_users_own(&self) -> bool {
        matches!(self.image_type, "PRIVATE_IMAGE" | "SHARED_IMAGE")
    }
}

pub struct InstanceType {
    pub name: &'static str,
    pub family: &'static str,
    pub cpu: u32,
    pub memory_gb: u32,
}

macro_rules! zone {
    ($z:expr, $id:expr, $name:expr) => {
        Zone {
            zone: $z,
            zone_id: $id,
            name: $name,
            available: true,
        }
    };
    ($z:expr, $id:expr, $name:expr, unavailable) => {
        Zone {
            zone: $z,
            zone_id: $id,
            name: $name,
            available: false,
        }
    };
}

pub static REGIONS: &[Region] = &[
    Region {
        region: "ap-guangzhou",
        name: "South China (Guangzhou)",
        zones: &[
            zone!("ap-guangzhou-1", "100001", "Guangzhou Zone 1", unavailable),
            zone!("ap-guangzhou-2", "100002", "Guangzhou Zone 2"),
            zone!("ap-guangzhou-3", "100003", "Guangzhou Zone 3"),
            zone!("ap-guangzhou-4", "100004", "Guangzhou Zone 4"),
            zone!("ap-guangzhou-6", "100006", "Guangzhou Zone 6"),
            zone!("ap-guangzhou-7", "100007", "Guangzhou Zone 7"),
        ],
    },
    Region {
        region: "ap-shanghai",
        name: "East China (Shanghai)",
        zones: &[
            zone!("ap-shanghai-2", "200002", "Shanghai Zone 2"),
            zone!("ap-shanghai-3", "200003", "Shanghai Zone 3"),
            zone!("ap-shanghai-4", "200004", "Shanghai Zone 4"),
            zone!("ap-shanghai-5", "200005", "Shanghai Zone 5"),
        ],
    },
    Region {
        region: "ap-beijing",
        name: "North China (Beijing)",
        zones: &[
            zone!("ap-beijing-3", "800003", "Beijing Zone 3"),
            zone!("ap-beijing-5", "800005", "Beijing Zone 5"),
            zone!("ap-beijing-6", "800006", "Beijing Zone 6"),
            zone!("ap-beijing-7", "800007", "Beijing Zone 7"),
        ],
    },
    Region {
        region: "ap-chengdu",
        name: "Southwest China (Chengdu)",
        zones: &[
            zone!("ap-chengdu-1", "160001", "Chengdu Zone 1"),
            zone!("ap-chengdu-2", "160002", "Chengdu Zone 2"),
        ],
    },
    Region {
        region: "ap-nanjing",
        name: "East China (Nanjing)",
        zones: &[
            zone!("ap-nanjing-1", "330001", "Nanjing Zone 1"),
            zone!("ap-nanjing-2", "330002", "Nanjing Zone 2"),
            zone!("ap-nanjing-3", "330003", "Nanjing Zone 3"),
        ],
    },
    Region {
        region: "ap-hongkong",
        name: "Southeast Asia (Hong Kong)",
        zones: &[
            zone!("ap-hongkong-1", "300001", "Hong Kong Zone 1"),
            zone!("ap-hongkong-2", "300002", "Hong Kong Zone 2"),
            zone!("ap-hongkong-3", "300003", "Hong Kong Zone 3"),
        ],
    },
    Region {
        region: "ap-singapore",
        name: "Southeast Asia (Singapore)",
        zones: &[
            zone!("ap-singapore-1", "900001", "Singapore Zone 1"),
            zone!("ap-singapore-2", "900002", "Singapore Zone 2"),
            zone!("ap-singapore-3", "900003", "Singapore Zone 3"),
        ],
    },
    Region {
        region: "na-siliconvalley",
        name: "Western U.S. (Silicon Valley)",
        zones: &[
            zone!("na-siliconvalley-1", "150001", "Silicon Valley Zone 1"),
            zone!("na-siliconvalley-2", "150002", "Silicon Valley Zone 2"),
        ],
    },
    Region {
        region: "eu-frankfurt",
        name: "Europe (Frankfurt)",
        zones: &[
            zone!("eu-frankfurt-1", "170001", "Frankfurt Zone 1"),
            zone!("eu-frankfurt-2", "170002", "Frankfurt Zone 2"),
        ],
    },
];

/// Public images, offered in every region. Ids include the ones the reference
/// documents use in their examples.
pub static IMAGES: &[Image] = &[
    Image {
        id: "img-487zeit5",
        name: "TencentOS Server 3.1 (TK4)",
        os_name: "TencentOS Server 3.1 (TK4)",
        platform: "TencentOS",
        architecture: "x86_64",
        size_gb: 20,
        image_type: "PUBLIC_IMAGE",
        created: "2022-03-01T08:00:00Z",
    },
    Image {
        id: "img-9a0eg8mt",
        name: "TencentOS Server 3.1 for ARM64 (TK4)",
        os_name: "TencentOS Server 3.1 for ARM64 (TK4)",
        platform: "TencentOS",
        architecture: "arm",
        size_gb: 50,
        image_type: "PUBLIC_IMAGE",
        created: "2022-03-01T08:00:00Z",
    },
    Image {
        id: "img-l8og963d",
        name: "CentOS 7.9 64位",
        os_name: "CentOS 7.9 64位",
        platform: "CentOS",
        architecture: "x86_64",
        size_gb: 20,
        image_type: "PUBLIC_IMAGE",
        created: "2020-12-01T08:00:00Z",
    },
    Image {
        id: "img-8toqc6s3",
        name: "CentOS 7.4 64位",
        os_name: "CentOS 7.4 64位",
        platform: "CentOS",
        architecture: "x86_64",
        size_gb: 50,
        image_type: "PUBLIC_IMAGE",
        created: "2018-01-01T08:00:00Z",
    },
    Image {
        id: "img-pmqg1cw7",
        name: "CentOS 6.6 32-bit",
        os_name: "centos6.6x86_32",
        platform: "CentOS",
        architecture: "i386",
        size_gb: 20,
        image_type: "PUBLIC_IMAGE",
        created: "2016-01-01T00:00:00Z",
    },
    Image {
        id: "img-9qabwvbn",
        name: "Ubuntu Server 20.04 LTS 64位",
        os_name: "Ubuntu Server 20.04 LTS 64位",
        platform: "Ubuntu",
        architecture: "x86_64",
        size_gb: 20,
        image_type: "PUBLIC_IMAGE",
        created: "2020-05-01T08:00:00Z",
    },
    Image {
        id: "img-22trbn9x",
        name: "Ubuntu Server 22.04 LTS 64位",
        os_name: "Ubuntu Server 22.04 LTS 64位",
        platform: "Ubuntu",
        architecture: "x86_64",
        size_gb: 20,
        image_type: "PUBLIC_IMAGE",
        created: "2022-05-01T08:00:00Z",
    },
    Image {
        id: "img-0vbqvzfn",
        name: "Debian 12.0 64位",
        os_name: "Debian 12.0 64位",
        platform: "Debian",
        architecture: "x86_64",
        size_gb: 20,
        image_type: "PUBLIC_IMAGE",
        created: "2023-07-01T08:00:00Z",
    },
    Image {
        id: "img-dkwyg6sr",
        name: "Rocky Linux 9.2 64位",
        os_name: "Rocky Linux 9.2 64位",
        platform: "Rocky Linux",
        architecture: "x86_64",
        size_gb: 20,
        image_type: "PUBLIC_IMAGE",
        created: "2023-07-01T08:00:00Z",
    },
    Image {
        id: "img-9id7emv7",
        name: "Windows Server 2022 数据中心版 64位中文版",
        os_name: "Windows Server 2022 数据中心版 64位中文版",
        platform: "Windows",
        architecture: "x86_64",
        size_gb: 50,
        image_type: "PUBLIC_IMAGE",
        created: "2022-01-01T08:00:00Z",
    },
    // A custom image of every account (`PRIVATE_IMAGE`): the one kind KeepImageLogin
    // accepts (with shared and imported ones).
    Image {
        id: "img-cust0001",
        name: "web-golden (custom image)",
        os_name: "TencentOS Server 3.1 (TK4)",
        platform: "TencentOS",
        architecture: "x86_64",
        size_gb: 20,
        image_type: "PRIVATE_IMAGE",
        created: "2024-06-01T08:00:00Z",
    },
];

macro_rules! itype {
    ($name:expr, $family:expr, $cpu:expr, $mem:expr) => {
        InstanceType {
            name: $name,
            family: $family,
            cpu: $cpu,
            memory_gb: $mem,
        }
    };
}

/// Instance types, offered in every available zone.
pub static INSTANCE_TYPES: &[InstanceType] = &[
    itype!("S1.SMALL1", "S1", 1, 1),
    itype!("S1.SMALL2", "S1", 1, 2),
    itype!("S1.MEDIUM4", "S1", 2, 4),
    itype!("S1.LARGE4", "S1", 4, 4),
    itype!("S1.LARGE8", "S1", 4, 8),
    itype!("S2.SMALL1", "S2", 1, 1),
    itype!("S2.MEDIUM4", "S2", 2, 4),
    itype!("S5.SMALL1", "S5", 1, 1),
    itype!("S5.SMALL2", "S5", 1, 2),
    itype!("S5.SMALL4", "S5", 1, 4),
    itype!("S5.MEDIUM2", "S5", 2, 2),
    itype!("S5.MEDIUM4", "S5", 2, 4),
    itype!("S5.MEDIUM8", "S5", 2, 8),
    itype!("S5.LARGE8", "S5", 4, 8),
    itype!("S5.LARGE16", "S5", 4, 16),
    itype!("S5.2XLARGE16", "S5", 8, 16),
    itype!("S5.2XLARGE32", "S5", 8, 32),
    itype!("SA2.SMALL1", "SA2", 1, 1),
    itype!("SA2.MEDIUM4", "SA2", 2, 4),
    itype!("SA2.LARGE8", "SA2", 4, 8),
    itype!("I1.MEDIUM4", "I1", 2, 4),
    itype!("I1.MEDIUM8", "I1", 2, 8),
    itype!("I1.LARGE8", "I1", 4, 8),
];

pub fn region(id: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.region == id)
}

pub fn zone(region_id: &str, zone_id: &str) -> Option<&'static Zone> {
    region(region_id)?.zones.iter().find(|z| z.zone == zone_id)
}

pub fn image(id: &str) -> Option<&'static Image> {
    IMAGES.iter().find(|i| i.id == id)
}

pub fn instance_type(name: &str) -> Option<&'static InstanceType> {
    INSTANCE_TYPES.iter().find(|t| t.name == name)
}

/// Documented request frequency limit (requests per second per account) of an action.
pub fn rate_limit(action: &str) -> f64 {
    match action {
        "DescribeRegions" | "DescribeZones" => 20.0,
        "DescribeInstances" | "DescribeInstancesStatus" | "DescribeInstanceTypeConfigs" => 40.0,
        _ => 10.0,
    }
}
