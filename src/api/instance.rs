//! `CloudInstance`: one virtual machine, declared.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::conditions::Condition;

/// A virtual machine on a cloud, kept by the controller to match this spec.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "compute.cloudinstance.io",
    version = "v1alpha1",
    kind = "CloudInstance",
    namespaced,
    status = "CloudInstanceStatus",
    shortname = "cins",
    category = "cloud",
    doc = "A virtual machine on Tencent Cloud, Alibaba Cloud or Huawei Cloud, created and kept in the desired state by cloudinstance-controller.",
    printcolumn(name = "ID", type_ = "string", json_path = ".status.instanceId"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(
        name = "Public-IP",
        type_ = "string",
        json_path = ".status.publicIPs[0]"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Synced",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Synced\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct CloudInstanceSpec {
    /// The CloudCredential (same namespace) whose account owns the instance. Immutable:
    /// an instance cannot move between accounts or clouds.
    #[x_kube(validation = Rule::new("self == oldSelf").message("credentialRef is immutable: an instance cannot move to another account or cloud; create a new CloudInstance"))]
    pub credential_ref: LocalRef,
    /// Cloud region, e.g. ap-guangzhou (Tencent), cn-hangzhou (Alibaba), cn-north-4 (Huawei). Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("region is immutable: a running instance cannot move regions; create a new CloudInstance"))]
    #[schemars(
        length(min = 1, max = 64),
        regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    )]
    pub region: String,
    /// Availability zone, e.g. ap-guangzhou-3. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("zone is immutable: a running instance cannot move zones; create a new CloudInstance"))]
    #[schemars(
        length(min = 1, max = 64),
        regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    )]
    pub zone: String,
    /// Image to boot from. Changing it reinstalls the OS only when reinstallPolicy is OnImageChange.
    #[schemars(length(min = 1, max = 128))]
    pub image_id: String,
    /// Instance type (Tencent S5.MEDIUM4, Alibaba ecs.g7.large, Huawei s6.large.2).
    /// Changing it resizes the instance: stop, change type, restore the power state.
    #[schemars(length(min = 1, max = 64))]
    pub instance_type: String,
    /// Display name in the cloud console. Defaults to the object's name. Changing it renames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub instance_name: Option<String>,
    /// Guest host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 2, max = 60),
        regex(pattern = r"^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$")
    )]
    pub hostname: Option<String>,
    /// Desired power state.
    #[serde(default)]
    pub power_state: PowerState,
    /// How to stop the instance (when powerState becomes Stopped or a resize needs it).
    /// Stopped instances keep their resources and keep being charged for them (Alibaba
    /// `StoppedMode=KeepCharging`, Tencent's default): a stopped instance can always start
    /// again with the same type and public IP.
    #[serde(default)]
    pub stop_mode: StopMode,
    /// System (boot) disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_disk: Option<DiskSpec>,
    /// Data disks created with the instance (creation-time only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub data_disks: Vec<DiskSpec>,
    /// Networking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSpec>,
    /// How users log in. Passwords only through a Secret reference, never inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginSpec>,
    /// Tags on the cloud instance. Keys starting with `cloudinstance-` are reserved for the
    /// controller, and keys starting with `aliyun`, `acs:` (Alibaba Cloud) or `qcs:`
    /// (Tencent Cloud) are reserved by the clouds. Limits that differ per cloud are checked
    /// when the instance is created, with a `CreateRefused` condition naming the rule:
    /// Alibaba at most 20 tags per instance including the controller's 4, values at most 128
    /// characters, no `http://` or `https://`; Tencent non-empty values and no keys starting
    /// with `project` or `项目`; Huawei at most 10 tags including the controller's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new("self.all(k, !k.startsWith('cloudinstance-'))").message("tag keys starting with cloudinstance- are reserved for the controller (it tags instances with cloudinstance-uid, -name, -namespace, -incarnation)"))]
    // Prefixes the clouds reserve, rejected whatever the cloud (no cloud accepts another's
    // reserved keys as user tags): Alibaba `aliyun`, `acs:` (SDK alibabacloud-ecs20140526
    // `RunInstancesRequestTag.key`: "cannot start with aliyun or acs:"); Tencent `qcs:`
    // (https://cloud.tencent.com/document/product/651/13354, FailedOperation.TagKeyReserved).
    #[x_kube(validation = Rule::new("self.all(k, !k.lowerAscii().startsWith('aliyun') && !k.lowerAscii().startsWith('acs:') && !k.lowerAscii().startsWith('qcs:'))").message("tag keys starting with aliyun or acs: (reserved by Alibaba Cloud) or qcs: (reserved by Tencent Cloud) are not allowed"))]
    #[x_kube(validation = Rule::new("self.all(k, size(k) <= 127 && size(self[k]) <= 255)").message("tag keys are at most 127 characters and values at most 255"))]
    #[schemars(extend("maxProperties" = 40))]
    pub tags: BTreeMap<String, String>,
    /// Cloud-init / user data, plain text (the controller base64-encodes it). At most 16 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16384))]
    pub user_data: Option<String>,
    /// Billing model. `Prepaid` is a one-month subscription renewed automatically each month
    /// (Alibaba `AutoRenew`), so the cloud never stops and releases a VM this object keeps.
    /// Deleting a Prepaid Alibaba instance with `deletionPolicy: Delete` first changes it to
    /// pay-as-you-go (the rest of the month is refunded within the account's monthly refund
    /// quota) and then releases it; if Alibaba refuses, the object stays with `Synced=False`
    /// naming the reason (unsubscribe in the console, or set `deletionPolicy: Orphan`).
    #[serde(default)]
    pub charge_type: ChargeType,
    /// What happens to the cloud instance when this object is deleted.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Set or change to any new value (e.g. a timestamp) to request one reboot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub reboot_requested_at: Option<String>,
    /// Whether changing imageId reinstalls the OS (destroys the system disk's data).
    #[serde(default)]
    pub reinstall_policy: ReinstallPolicy,
    /// What to do when the instance disappears from the cloud out of band.
    #[serde(default)]
    pub recreate_policy: RecreatePolicy,
    /// Only validate the create request with the cloud (DryRun); never create.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Cloud-specific extras that have no cloud-neutral equivalent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_options: Option<ProviderOptions>,
}

/// Reference to an object in the same namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LocalRef {
    /// Name of the object in the same namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum PowerState {
    #[default]
    Running,
    Stopped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum StopMode {
    /// Guest OS shutdown.
    Soft,
    /// Immediate power off.
    Hard,
    /// Soft, falling back to hard when the guest does not respond.
    #[default]
    SoftThenHard,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum ChargeType {
    #[default]
    OnDemand,
    Prepaid,
    Spot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Terminate the cloud instance, then let the object go.
    #[default]
    Delete,
    /// Leave the cloud instance running and forget it.
    Orphan,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum ReinstallPolicy {
    /// An imageId change is reported (Synced=False, reason ReinstallRequired) but not applied.
    #[default]
    Never,
    /// An imageId change reinstalls the OS with the new image.
    OnImageChange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum RecreatePolicy {
    /// Report an instance deleted out of band (Ready=False, reason InstanceNotFound) and stop.
    #[default]
    Never,
    /// Create a replacement instance when the cloud no longer has it.
    OnCloudDeletion,
}

/// A disk.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DiskSpec {
    /// Cloud disk category, e.g. CLOUD_PREMIUM / CLOUD_SSD (Tencent), cloud_essd (Alibaba), SSD / SAS (Huawei).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub disk_type: Option<String>,
    /// Size in GiB.
    #[schemars(range(min = 1, max = 32000))]
    pub size_gb: i32,
}

/// Networking at creation; security groups can change later.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSpec {
    /// VPC id (Tencent vpc-..., Alibaba vpc-..., Huawei VPC UUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub vpc_id: Option<String>,
    /// Subnet id (Alibaba: the VSwitch id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub subnet_id: Option<String>,
    /// Security groups; changing the list re-binds them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub security_group_ids: Vec<String>,
    /// Public IP outbound bandwidth in Mbit/s; 0 or unset = no public IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub public_ip_bandwidth_mbps: Option<i32>,
}

/// Login settings. `password` exists in the schema only to reject inline passwords.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.password)").message("inline passwords are not allowed: put the password in a Secret and reference it with login.passwordSecretRef"))]
#[x_kube(validation = Rule::new("!(has(self.passwordSecretRef) && has(self.keyIds) && size(self.keyIds) > 0)").message("set either login.keyIds or login.passwordSecretRef, not both"))]
pub struct LoginSpec {
    /// SSH key pair ids (Tencent skey-..., Alibaba key pair names, Huawei key names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1))]
    pub key_ids: Vec<String>,
    /// Secret (same namespace) holding the login password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeyRef>,
    /// Keep the login configured in the image.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_image_login: bool,
    /// Not supported: always rejected. Use passwordSecretRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// One key of a Secret in the same namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret in the instance's namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key of the Secret holding the value.
    #[serde(default = "default_password_key")]
    pub key: String,
}

fn default_password_key() -> String {
    "password".into()
}

/// Per-cloud extras.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProviderOptions {
    /// Tencent Cloud only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tencent: Option<TencentOptions>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TencentOptions {
    /// Tencent project id (numeric), default project 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<i64>,
}

/// Observed state of a CloudInstance.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudInstanceStatus {
    /// The cloud's instance id, recorded as soon as the create call returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Cloud-neutral state: Pending, Running, Starting, Stopping, Stopped, Rebooting,
    /// Terminating, Terminated, Failed, Suspended (held by the cloud: isolated for arrears
    /// or expiry, in the recycle bin or in rescue mode; it still exists and the controller
    /// waits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The cloud's own state string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_state: Option<String>,
    /// Private (VPC) IPv4 addresses, as the cloud reports them.
    #[serde(default, rename = "privateIPs", skip_serializing_if = "Vec::is_empty")]
    pub private_ips: Vec<String>,
    /// Public IPv4 addresses, as the cloud reports them (empty without a public IP).
    #[serde(default, rename = "publicIPs", skip_serializing_if = "Vec::is_empty")]
    pub public_ips: Vec<String>,
    /// Availability zone the instance runs in, as the cloud reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Current instance type as the cloud reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// Current image as the cloud reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// When the cloud created the instance, as the cloud reports it (RFC 3339 for all
    /// three clouds; not format-checked, so an odd value from a cloud cannot block status
    /// writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last time the controller saw the cloud's view change (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_synced_at: Option<String>,
    /// The spec.rebootRequestedAt value that has been acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reboot_requested_at: Option<String>,
    /// How many instances this object has created (replacements after out-of-band deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incarnation: Option<i32>,
    /// When the controller first sent a create request for this object (RFC 3339), cleared
    /// once the instance id is recorded. It is written before the request, so a deletion
    /// knows an instance may exist in the cloud even when the controller died or timed out
    /// before it could record the id; a request that got no answer is waited out (twice
    /// `--provider-timeout`) before a deletion that finds nothing lets go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub create_requested_at: Option<String>,
    /// When the pending stop was requested without force (RFC 3339), cleared once the
    /// instance is stopped. A guest that has not shut down after `--soft-stop-grace` is
    /// stopped by force (`stopMode: SoftThenHard`) or asked again (`Soft`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub soft_stop_requested_at: Option<String>,
    /// metadata.generation of the spec the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`: the instance exists and is in the desired power state with the spec applied.
    /// `Synced`: the last reconciliation succeeded (False carries the cloud's error code).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
