//! Cloud-neutral request and response types used by [`super::CloudProvider`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::SecretString;

/// The supported clouds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Tencent,
    Alibaba,
    Huawei,
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProviderKind::Tencent => "tencent",
            ProviderKind::Alibaba => "alibaba",
            ProviderKind::Huawei => "huawei",
        })
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tencent" => Ok(Self::Tencent),
            "alibaba" => Ok(Self::Alibaba),
            "huawei" => Ok(Self::Huawei),
            other => Err(format!(
                "unknown provider {other:?}: expected tencent, alibaba or huawei"
            )),
        }
    }
}

/// The one small state enum shared by all clouds. Each provider maps its own state
/// strings onto it and keeps the raw string next to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum InstanceState {
    #[default]
    Pending,
    Running,
    Starting,
    Stopping,
    Stopped,
    Rebooting,
    Terminating,
    Terminated,
    Failed,
    /// Held by the cloud: it still exists (and may come back) but accepts no lifecycle
    /// action until the cloud or its owner releases it, e.g. Tencent `SHUTDOWN` (isolated
    /// for arrears or expiry, or in the recycle bin) and `RESCUE_MODE`. Never "gone": the
    /// controller waits (slow polls, no actions) and only terminates it when asked to.
    Suspended,
}

impl InstanceState {
    /// True while the cloud is moving the instance between two stable states.
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            Self::Pending | Self::Starting | Self::Stopping | Self::Rebooting | Self::Terminating
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Starting => "Starting",
            Self::Stopping => "Stopping",
            Self::Stopped => "Stopped",
            Self::Rebooting => "Rebooting",
            Self::Terminating => "Terminating",
            Self::Terminated => "Terminated",
            Self::Failed => "Failed",
            Self::Suspended => "Suspended",
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to stop an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StopMode {
    /// Ask the guest OS to shut down.
    Soft,
    /// Power off immediately.
    Hard,
    /// Try a soft stop and fall back to a hard one if the guest does not respond.
    #[default]
    SoftThenHard,
}

/// Billing model, cloud-neutral.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ChargeType {
    /// Pay as you go (Tencent POSTPAID_BY_HOUR, Alibaba PostPaid, Huawei postPaid).
    #[default]
    OnDemand,
    /// Monthly subscription.
    Prepaid,
    /// Spot / preemptible.
    Spot,
}

/// A disk to attach at creation.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Disk {
    /// Cloud-specific disk category (e.g. `CLOUD_PREMIUM`, `cloud_essd`, `SSD`); `None` = cloud default.
    pub disk_type: Option<String>,
    pub size_gb: u32,
}

/// Networking for a new instance.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Network {
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub security_group_ids: Vec<String>,
    /// Public IP outbound bandwidth in Mbit/s; `None` or 0 = no public IP.
    pub public_bandwidth_mbps: Option<u32>,
}

/// How users log in.
#[derive(Clone, Debug, Default)]
pub struct Login {
    pub key_ids: Vec<String>,
    pub password: Option<SecretString>,
    /// Keep the image's preset login (Tencent KeepImageLogin).
    pub keep_image_login: bool,
}

/// Parameters of one create call.
#[derive(Clone, Debug, Default)]
pub struct RunRequest {
    pub region: String,
    pub zone: String,
    pub image_id: String,
    pub instance_type: String,
    pub instance_name: Option<String>,
    pub hostname: Option<String>,
    /// Number of instances (1 for the controller; the CLI may ask for more).
    pub count: u32,
    pub system_disk: Option<Disk>,
    pub data_disks: Vec<Disk>,
    pub network: Network,
    pub login: Login,
    /// Tags to put on the instance; the controller adds its owner tags here.
    pub tags: BTreeMap<String, String>,
    /// Raw (not yet base64-encoded) user data.
    pub user_data: Option<String>,
    pub charge_type: ChargeType,
    /// Idempotency token: the same token never creates a second set of instances.
    pub client_token: Option<String>,
    /// Validate only; the cloud answers with its dry-run code when the request would succeed.
    pub dry_run: bool,
    /// Cloud-specific extras (from `spec.providerOptions`).
    pub extras: ProviderExtras,
}

/// Settings that exist on one cloud only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderExtras {
    /// Tencent project (Placement.ProjectId); `None` = the default project 0.
    pub tencent_project_id: Option<i64>,
}

/// Cheap status of one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceStatus {
    pub id: String,
    pub state: InstanceState,
    /// The cloud's own state string (e.g. `RUNNING`, `SHUTOFF`).
    pub provider_state: String,
}

/// Full description of one instance.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InstanceDetails {
    pub id: String,
    pub name: String,
    pub state: InstanceState,
    pub provider_state: String,
    pub zone: String,
    pub instance_type: String,
    pub image_id: String,
    pub private_ips: Vec<String>,
    pub public_ips: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// RFC 3339 creation time as the cloud reports it.
    pub created_at: Option<String>,
}

/// What to describe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DescribeFilter {
    /// These ids (at most the batch limit).
    Ids(Vec<String>),
    /// Every instance carrying tag `key` = `value`.
    Tag { key: String, value: String },
    /// Every instance in the region (paged through by the client).
    All,
}

/// A change of mutable attributes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Modification {
    pub name: Option<String>,
    pub security_group_ids: Option<Vec<String>>,
}

/// Reinstall the OS.
#[derive(Clone, Debug, Default)]
pub struct ReinstallRequest {
    pub image_id: String,
    pub login: Login,
    pub system_disk_size_gb: Option<u32>,
    pub hostname: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Region {
    pub id: String,
    pub name: String,
    pub available: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub available: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub os_name: String,
    pub image_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstanceTypeInfo {
    pub id: String,
    pub zone: String,
    pub family: String,
    pub cpu: u32,
    pub memory_gb: u32,
}
