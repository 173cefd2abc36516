//! `CloudCredential`: which cloud, and where its keys live.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::conditions::Condition;

/// The supported clouds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Tencent,
    Alibaba,
    Huawei,
}

/// A cloud account the controller may act as. The keys themselves stay in a Kubernetes
/// Secret in the same namespace; this object only points at them.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "compute.cloudinstance.io",
    version = "v1alpha1",
    kind = "CloudCredential",
    namespaced,
    status = "CloudCredentialStatus",
    shortname = "ccred",
    category = "cloud",
    doc = "Keys for one cloud account (the Secret holding them is referenced, never inlined).",
    printcolumn(name = "Provider", type_ = "string", json_path = ".spec.provider"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Instances",
        type_ = "integer",
        json_path = ".status.instanceCount"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.provider != 'huawei' || has(self.projectId) || has(self.projectIds)").message("projectId is required for provider huawei unless projectIds is set: projectIds maps each region to its 32-hex-character project id (Huawei Cloud console, My Credentials, Projects)"))]
#[x_kube(validation = Rule::new("!has(self.projectId) || !has(self.projectIds) || !('cn-north-4' in self.projectIds) || self.projectIds['cn-north-4'] == self.projectId").message("projectId is the project of cn-north-4: it must equal projectIds['cn-north-4'] when both are set"))]
pub struct CloudCredentialSpec {
    /// Which cloud these keys belong to: tencent, alibaba or huawei. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("provider is immutable: create a new CloudCredential for another cloud"))]
    pub provider: Provider,
    /// The Secret (same namespace) holding the access key id and secret.
    pub secret_ref: SecretKeysRef,
    /// Override the API endpoint base URL, e.g. `http://127.0.0.1:4566` for the local
    /// emulator or a private/VPC endpoint. Default: the cloud's public endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://[^\s/]+(/.*)?$"))]
    pub endpoint: Option<String>,
    /// Extra PEM certificate authorities to trust for this credential's endpoint (a
    /// private/VPC endpoint behind a corporate CA), in addition to the platform's trust
    /// store and the public web roots. Certificates only, never keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 65536))]
    #[x_kube(validation = Rule::new("self.contains('-----BEGIN CERTIFICATE-----') && !self.contains('PRIVATE KEY')").message("caBundle must hold PEM certificates (-----BEGIN CERTIFICATE-----) and no private key"))]
    pub ca_bundle: Option<String>,
    /// Huawei Cloud: the project id (32 hex characters) of region cn-north-4, the only region
    /// a credential with a single project id was ever checked in. Kept for credentials written
    /// before projectIds; prefer projectIds. Ignored by the other clouds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-f]{32}$"))]
    pub project_id: Option<String>,
    /// Huawei Cloud project id per region: region id (e.g. `ap-southeast-1`) to that region's
    /// 32-hex-character project id. Huawei project ids are per region; every call in a region
    /// uses that region's project, and the credential is checked in each region listed here.
    /// For a region not listed the controller asks IAM (KeystoneListProjects, as Huawei's SDK
    /// does), which an IAM user needs the iam:projects:listProjects permission for. Ignored
    /// by the other clouds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 64, "additionalProperties" = {"type": "string", "pattern": "^[0-9a-f]{32}$"}))]
    #[x_kube(validation = Rule::new("self.all(r, size(r) <= 32 && r.matches('^[a-z]{2}(-[a-z0-9]+)+$'))").message("projectIds keys are Huawei region ids such as ap-southeast-1"))]
    pub project_ids: Option<BTreeMap<String, String>>,
    /// Client-side request rate limits for this account. Defaults follow the cloud's
    /// documented per-action limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimits>,
}

/// Where in the Secret the keys are.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeysRef {
    /// Name of the Secret in the credential's namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key holding the access key id (Tencent SecretId, Alibaba AccessKeyId, Huawei AK).
    #[serde(default = "default_id_key")]
    pub access_key_id_key: String,
    /// Key holding the secret (Tencent SecretKey, Alibaba AccessKeySecret, Huawei SK).
    #[serde(default = "default_secret_key")]
    pub secret_access_key_key: String,
    /// Key holding the session token of temporary (STS) credentials (Tencent `Token`,
    /// sent as `X-TC-Token`). When unset, the key `sessionToken` is used if the Secret has
    /// it; when set, the Secret must have this key. Tencent only for now: the other clouds
    /// refuse a Secret with a session token rather than ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub session_token_key: Option<String>,
}

/// The Secret key read for a session token when `sessionTokenKey` is unset.
pub const DEFAULT_SESSION_TOKEN_KEY: &str = "sessionToken";

fn default_id_key() -> String {
    "accessKeyId".into()
}
fn default_secret_key() -> String {
    "secretAccessKey".into()
}

/// Requests per second, per action class, for one credential.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RateLimits {
    /// Mutating calls (run, start, stop, reboot, terminate, modify) per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub mutating_per_second: Option<i32>,
    /// Describe/list calls per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub describe_per_second: Option<i32>,
}

/// Observed state of a CloudCredential.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudCredentialStatus {
    /// `Ready` is True when the keys were verified by an authenticated call, False with the
    /// cloud's error code when they were rejected, Unknown until the cloud could be asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Regions the account can use, as reported by the cloud.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// When the keys were last checked (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_verified_at: Option<String>,
    /// resourceVersion of the Secret that was verified; a change triggers re-verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_version: Option<String>,
    /// Number of CloudInstances referencing this credential.
    #[serde(default)]
    pub instance_count: i32,
    /// metadata.generation of the spec the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
