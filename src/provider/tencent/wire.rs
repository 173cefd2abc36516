//! Serde types of the CVM API 3.0 JSON wire format (version 2017-03-12), PascalCase as the
//! API spells them, and the decoding of the `{"Response": {...}}` envelope.
//!
//! Requests skip absent optional fields so the server applies its documented defaults.
//! Responses are lenient: every field defaults, and `null` (which the API returns for
//! e.g. `PublicIpAddresses` of an instance without a public IP) reads as empty.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::errors;
use crate::provider::{
    ChargeType, InstanceDetails, InstanceStatus, Login, ProviderError, ReinstallRequest,
    RunRequest, SecretString, StopMode,
};

// ---------------------------------------------------------------------------------------
// Shared structures.

/// `Filter`: `Name` and the OR-ed `Values`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Placement {
    pub zone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemDisk {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_size: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataDisk {
    pub disk_size: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_type: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VirtualPrivateCloud {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InternetAccessible {
    pub internet_charge_type: String,
    pub internet_max_bandwidth_out: u32,
    pub public_ip_assigned: bool,
}

/// `LoginSettings`. The password is a [`SecretString`]: `Debug` never shows it; it is
/// exposed only when serialized into the request body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct LoginSettings {
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret"
    )]
    pub password: Option<SecretString>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_ids: Vec<String>,
    /// A String in the API: `TRUE` / `FALSE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_image_login: Option<String>,
}

fn serialize_secret<S: Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) => s.serialize_str(secret.expose()),
        None => s.serialize_none(),
    }
}

impl LoginSettings {
    /// `None` when nothing is set, so the server applies its default (a random password
    /// sent by internal message).
    pub fn from_login(login: &Login) -> Option<Self> {
        let ls = LoginSettings {
            password: login.password.clone().filter(|p| !p.is_empty()),
            key_ids: login.key_ids.clone(),
            keep_image_login: login.keep_image_login.then(|| "TRUE".to_string()),
        };
        (ls != LoginSettings::default()).then_some(ls)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tag {
    #[serde(alias = "tagKey", alias = "TagKey", deserialize_with = "null_default")]
    pub key: String,
    #[serde(
        alias = "tagValue",
        alias = "TagValue",
        deserialize_with = "null_default"
    )]
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagSpecification {
    /// Only `instance` is supported.
    pub resource_type: String,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceChargePrepaid {
    /// Months.
    pub period: u32,
}

// ---------------------------------------------------------------------------------------
// Requests.

/// RunInstances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunInstancesRequest {
    pub placement: Placement,
    pub image_id: String,
    pub instance_charge_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_charge_prepaid: Option<InstanceChargePrepaid>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instance_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_disk: Option<SystemDisk>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_disks: Vec<DataDisk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_private_cloud: Option<VirtualPrivateCloud>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internet_accessible: Option<InternetAccessible>,
    pub instance_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_settings: Option<LoginSettings>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_group_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag_specification: Vec<TagSpecification>,
    /// Base64 of the raw user data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// The `InstanceChargeType` of a [`ChargeType`].
pub fn charge_type(c: ChargeType) -> &'static str {
    match c {
        ChargeType::OnDemand => "POSTPAID_BY_HOUR",
        ChargeType::Prepaid => "PREPAID",
        ChargeType::Spot => "SPOTPAID",
    }
}

/// Network billing used when a public IP is asked for: pay by traffic, hourly (the
/// API's default `InternetChargeType`).
pub const DEFAULT_INTERNET_CHARGE_TYPE: &str = "TRAFFIC_POSTPAID_BY_HOUR";

impl RunInstancesRequest {
    pub fn from_run(req: &RunRequest) -> Self {
        let non_empty = |s: &Option<String>| s.clone().filter(|v| !v.is_empty());
        let net = &req.network;
        let vpc = (net.vpc_id.is_some() || net.subnet_id.is_some()).then(|| VirtualPrivateCloud {
            vpc_id: non_empty(&net.vpc_id),
            subnet_id: non_empty(&net.subnet_id),
        });
        let internet = net
            .public_bandwidth_mbps
            .filter(|mbps| *mbps > 0)
            .map(|mbps| InternetAccessible {
                internet_charge_type: DEFAULT_INTERNET_CHARGE_TYPE.into(),
                internet_max_bandwidth_out: mbps,
                public_ip_assigned: true,
            });
        let tags: Vec<Tag> = req
            .tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        RunInstancesRequest {
            placement: Placement {
                zone: req.zone.clone(),
                project_id: req.extras.tencent_project_id,
            },
            image_id: req.image_id.clone(),
            instance_charge_type: charge_type(req.charge_type),
            // PREPAID requires InstanceChargePrepaid; the neutral request has no period, so
            // buy the shortest (1 month) and leave RenewFlag to the API default.
            instance_charge_prepaid: (req.charge_type == ChargeType::Prepaid)
                .then_some(InstanceChargePrepaid { period: 1 }),
            instance_type: req.instance_type.clone(),
            system_disk: req.system_disk.as_ref().map(|d| SystemDisk {
                disk_type: d.disk_type.clone(),
                disk_size: Some(d.size_gb).filter(|s| *s > 0),
            }),
            data_disks: req
                .data_disks
                .iter()
                .map(|d| DataDisk {
                    disk_size: d.size_gb,
                    disk_type: d.disk_type.clone(),
                })
                .collect(),
            virtual_private_cloud: vpc,
            internet_accessible: internet,
            instance_count: req.count.max(1),
            instance_name: non_empty(&req.instance_name),
            login_settings: LoginSettings::from_login(&req.login),
            security_group_ids: net.security_group_ids.clone(),
            client_token: non_empty(&req.client_token),
            host_name: non_empty(&req.hostname),
            tag_specification: if tags.is_empty() {
                Vec::new()
            } else {
                vec![TagSpecification {
                    resource_type: "instance".into(),
                    tags,
                }]
            },
            user_data: req
                .user_data
                .as_ref()
                .map(|u| base64::engine::general_purpose::STANDARD.encode(u.as_bytes())),
            dry_run: req.dry_run,
        }
    }
}

/// Start/Terminate (and the id list of the other batch calls).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceIdsRequest<'a> {
    pub instance_ids: &'a [String],
}

/// The `StopType` of a [`StopMode`].
pub fn stop_type(m: StopMode) -> &'static str {
    match m {
        StopMode::Soft => "SOFT",
        StopMode::Hard => "HARD",
        StopMode::SoftThenHard => "SOFT_FIRST",
    }
}

/// StopInstances / RebootInstances. `StopType` supersedes the deprecated `ForceStop` /
/// `ForceReboot` booleans, which must not be sent together with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopTypeRequest<'a> {
    pub instance_ids: &'a [String],
    pub stop_type: &'static str,
}

/// DescribeInstances / DescribeInstancesStatus / DescribeImages paging.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRequest<'a> {
    #[serde(skip_serializing_if = "is_empty_slice")]
    pub instance_ids: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

fn is_empty_slice(s: &&[String]) -> bool {
    s.is_empty()
}

/// ModifyInstancesAttribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyInstancesAttributeRequest<'a> {
    pub instance_ids: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<&'a [String]>,
}

/// ResetInstance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResetInstanceRequest {
    pub instance_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_disk: Option<SystemDisk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_settings: Option<LoginSettings>,
    /// Not in the 2018 reference; later revisions of ResetInstance accept it. Sent only
    /// when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
}

impl ResetInstanceRequest {
    pub fn new(id: &str, req: &ReinstallRequest) -> Self {
        ResetInstanceRequest {
            instance_id: id.to_string(),
            image_id: Some(req.image_id.clone()).filter(|s| !s.is_empty()),
            system_disk: req
                .system_disk_size_gb
                .filter(|s| *s > 0)
                .map(|size| SystemDisk {
                    disk_type: None,
                    disk_size: Some(size),
                }),
            login_settings: LoginSettings::from_login(&req.login),
            host_name: req.hostname.clone().filter(|h| !h.is_empty()),
        }
    }
}

/// ResetInstancesType.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResetInstancesTypeRequest<'a> {
    pub instance_ids: &'a [String],
    pub instance_type: &'a str,
}

/// A request without parameters (DescribeRegions, DescribeZones).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Empty {}

/// DescribeInstanceTypeConfigs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInstanceTypeConfigsRequest {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
}

// ---------------------------------------------------------------------------------------
// Responses.

/// `null` → `T::default()`.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RunInstancesResponse {
    #[serde(deserialize_with = "null_default")]
    pub instance_id_set: Vec<String>,
}

/// Actions that answer only the RequestId.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NoContent {}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WirePlacement {
    #[serde(deserialize_with = "null_default")]
    pub zone: String,
}

/// `Instance` (only the fields we use; `LoginSettings` is deliberately not read).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Instance {
    #[serde(deserialize_with = "null_default")]
    pub instance_id: String,
    #[serde(deserialize_with = "null_default")]
    pub instance_name: String,
    #[serde(deserialize_with = "null_default")]
    pub instance_state: String,
    #[serde(deserialize_with = "null_default")]
    pub placement: WirePlacement,
    #[serde(deserialize_with = "null_default")]
    pub instance_type: String,
    #[serde(deserialize_with = "null_default")]
    pub image_id: String,
    #[serde(deserialize_with = "null_default")]
    pub private_ip_addresses: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub public_ip_addresses: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub security_group_ids: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub tags: Vec<Tag>,
    #[serde(deserialize_with = "null_default")]
    pub created_time: Option<String>,
    /// Why a `SHUTDOWN` instance is isolated: `ARREAR`, `EXPIRE`, `MANMADE` or
    /// `NOTISOLATED` (PY `Instance.IsolatedSource`).
    #[serde(deserialize_with = "null_default")]
    pub isolated_source: String,
    /// `NORMAL`, `EXPIRED`, `PROTECTIVELY_ISOLATED` (PY `Instance.RestrictState`).
    #[serde(deserialize_with = "null_default")]
    pub restrict_state: String,
    /// The latest operation (e.g. `StartInstances`), its state (`SUCCESS`, `OPERATING`,
    /// `FAILED`), request id and error message (PY `Instance.LatestOperation*`; each may
    /// be null). Every mutating action is asynchronous: its outcome shows only here.
    #[serde(deserialize_with = "null_default")]
    pub latest_operation: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub latest_operation_state: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub latest_operation_request_id: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub latest_operation_error_msg: Option<String>,
}

impl Instance {
    /// The state as shown in `provider_state`: the raw `InstanceState`, and for `SHUTDOWN`
    /// its `IsolatedSource` too (`SHUTDOWN/ARREAR`), which says whether and how it can
    /// come back (see `super::state`).
    pub fn provider_state(&self) -> String {
        super::state::with_isolation(&self.instance_state, &self.isolated_source)
    }

    pub fn into_details(self) -> InstanceDetails {
        InstanceDetails {
            state: super::state::map_state(&self.instance_state),
            provider_state: self.provider_state(),
            id: self.instance_id,
            name: self.instance_name,
            zone: self.placement.zone,
            instance_type: self.instance_type,
            image_id: self.image_id,
            private_ips: self.private_ip_addresses,
            public_ips: self.public_ip_addresses,
            security_group_ids: self.security_group_ids,
            tags: self
                .tags
                .into_iter()
                .map(|t| (t.key, t.value))
                .collect::<BTreeMap<_, _>>(),
            created_at: self.created_time.filter(|t| !t.is_empty()),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeInstancesResponse {
    pub total_count: u64,
    #[serde(deserialize_with = "null_default")]
    pub instance_set: Vec<Instance>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireInstanceStatus {
    #[serde(deserialize_with = "null_default")]
    pub instance_id: String,
    #[serde(deserialize_with = "null_default")]
    pub instance_state: String,
}

impl WireInstanceStatus {
    pub fn into_status(self) -> InstanceStatus {
        InstanceStatus {
            state: super::state::map_state(&self.instance_state),
            provider_state: self.instance_state,
            id: self.instance_id,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeInstancesStatusResponse {
    pub total_count: u64,
    #[serde(deserialize_with = "null_default")]
    pub instance_status_set: Vec<WireInstanceStatus>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegionInfo {
    #[serde(deserialize_with = "null_default")]
    pub region: String,
    #[serde(deserialize_with = "null_default")]
    pub region_name: String,
    #[serde(deserialize_with = "null_default")]
    pub region_state: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeRegionsResponse {
    #[serde(deserialize_with = "null_default")]
    pub region_set: Vec<RegionInfo>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ZoneInfo {
    #[serde(deserialize_with = "null_default")]
    pub zone: String,
    #[serde(deserialize_with = "null_default")]
    pub zone_name: String,
    #[serde(deserialize_with = "null_default")]
    pub zone_state: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeZonesResponse {
    #[serde(deserialize_with = "null_default")]
    pub zone_set: Vec<ZoneInfo>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireImage {
    #[serde(deserialize_with = "null_default")]
    pub image_id: String,
    #[serde(deserialize_with = "null_default")]
    pub image_name: String,
    #[serde(deserialize_with = "null_default")]
    pub os_name: String,
    #[serde(deserialize_with = "null_default")]
    pub image_type: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeImagesResponse {
    pub total_count: u64,
    #[serde(deserialize_with = "null_default")]
    pub image_set: Vec<WireImage>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceTypeConfig {
    #[serde(deserialize_with = "null_default")]
    pub zone: String,
    #[serde(deserialize_with = "null_default")]
    pub instance_type: String,
    #[serde(deserialize_with = "null_default")]
    pub instance_family: String,
    #[serde(rename = "CPU", deserialize_with = "null_default")]
    pub cpu: u32,
    #[serde(deserialize_with = "null_default")]
    pub memory: u32,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeInstanceTypeConfigsResponse {
    #[serde(deserialize_with = "null_default")]
    pub instance_type_config_set: Vec<InstanceTypeConfig>,
}

// ---------------------------------------------------------------------------------------
// Envelope.

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct WireError {
    #[serde(deserialize_with = "null_default")]
    code: String,
    #[serde(deserialize_with = "null_default")]
    message: String,
}

/// Decode a response: `{"Response": {"Error": {...}, "RequestId": ...}}` becomes a
/// classified [`ProviderError`] carrying Tencent's code, message and RequestId; otherwise
/// `Response` is decoded as `T`. A body without the envelope is classified by HTTP status.
pub fn decode_response<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ProviderError> {
    let value: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let response = value
        .as_ref()
        .and_then(|v| v.get("Response"))
        .filter(|r| r.is_object());
    let Some(response) = response else {
        let (kind, code) = if (200..300).contains(&status) {
            (
                crate::provider::ErrorKind::Transient,
                "InvalidResponse".to_string(),
            )
        } else {
            (
                errors::classify_http_status(status),
                format!("HTTP{status}"),
            )
        };
        let snippet: String = String::from_utf8_lossy(body).chars().take(200).collect();
        return Err(ProviderError::new(
            kind,
            code,
            format!("HTTP {status} without a Tencent Response envelope: {snippet}"),
        ));
    };
    let request_id = response
        .get("RequestId")
        .and_then(|r| r.as_str())
        .map(str::to_string);
    if let Some(err) = response.get("Error").filter(|e| !e.is_null()) {
        let err: WireError = serde_json::from_value(err.clone()).unwrap_or_default();
        let code = if err.code.is_empty() {
            format!("HTTP{status}")
        } else {
            err.code
        };
        let kind = if code.starts_with("HTTP") {
            errors::classify_http_status(status)
        } else {
            errors::classify(&code)
        };
        return Err(ProviderError::new(kind, code, err.message).with_request_id(request_id));
    }
    if !(200..300).contains(&status) {
        return Err(ProviderError::new(
            errors::classify_http_status(status),
            format!("HTTP{status}"),
            format!("HTTP {status} with a Response but no Error"),
        )
        .with_request_id(request_id));
    }
    T::deserialize(response).map_err(|e| {
        ProviderError::new(
            crate::provider::ErrorKind::Transient,
            "InvalidResponse",
            format!("undecodable Tencent response: {e}"),
        )
        .with_request_id(request_id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Disk, ErrorKind, InstanceState, Network};
    use serde_json::json;

    fn full_run_request() -> RunRequest {
        RunRequest {
            region: "ap-guangzhou".into(),
            zone: "ap-guangzhou-3".into(),
            image_id: "img-pmqg1cw7".into(),
            instance_type: "S5.MEDIUM4".into(),
            instance_name: Some("web-1".into()),
            hostname: Some("web-1".into()),
            count: 1,
            system_disk: Some(Disk {
                disk_type: Some("CLOUD_PREMIUM".into()),
                size_gb: 50,
            }),
            data_disks: vec![Disk {
                disk_type: Some("CLOUD_SSD".into()),
                size_gb: 100,
            }],
            network: Network {
                vpc_id: Some("vpc-1".into()),
                subnet_id: Some("subnet-1".into()),
                security_group_ids: vec!["sg-1".into(), "sg-2".into()],
                public_bandwidth_mbps: Some(10),
            },
            login: Login {
                key_ids: vec![],
                password: Some(SecretString::new("Qcloud@TestApi123++")),
                keep_image_login: false,
            },
            tags: [("owner".to_string(), "ci".to_string())].into(),
            user_data: Some("#!/bin/sh\necho hi\n".into()),
            charge_type: ChargeType::OnDemand,
            client_token: Some("tok-1".into()),
            dry_run: true,
            extras: crate::provider::ProviderExtras {
                tencent_project_id: Some(1_000_123),
            },
        }
    }

    #[test]
    fn run_instances_request_wire_shape() {
        let body =
            serde_json::to_value(RunInstancesRequest::from_run(&full_run_request())).unwrap();
        assert_eq!(
            body,
            json!({
                "Placement": {"Zone": "ap-guangzhou-3", "ProjectId": 1_000_123},
                "ImageId": "img-pmqg1cw7",
                "InstanceChargeType": "POSTPAID_BY_HOUR",
                "InstanceType": "S5.MEDIUM4",
                "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50},
                "DataDisks": [{"DiskSize": 100, "DiskType": "CLOUD_SSD"}],
                "VirtualPrivateCloud": {"VpcId": "vpc-1", "SubnetId": "subnet-1"},
                "InternetAccessible": {
                    "InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR",
                    "InternetMaxBandwidthOut": 10,
                    "PublicIpAssigned": true
                },
                "InstanceCount": 1,
                "InstanceName": "web-1",
                "LoginSettings": {"Password": "Qcloud@TestApi123++"},
                "SecurityGroupIds": ["sg-1", "sg-2"],
                "ClientToken": "tok-1",
                "HostName": "web-1",
                "TagSpecification": [
                    {"ResourceType": "instance", "Tags": [{"Key": "owner", "Value": "ci"}]}
                ],
                "UserData": "IyEvYmluL3NoCmVjaG8gaGkK",
                "DryRun": true
            })
        );
    }

    #[test]
    fn run_instances_request_minimal_omits_defaults() {
        let req = RunRequest {
            zone: "ap-guangzhou-3".into(),
            image_id: "img-1".into(),
            ..Default::default()
        };
        let body = serde_json::to_value(RunInstancesRequest::from_run(&req)).unwrap();
        assert_eq!(
            body,
            json!({
                "Placement": {"Zone": "ap-guangzhou-3"},
                "ImageId": "img-1",
                "InstanceChargeType": "POSTPAID_BY_HOUR",
                "InstanceCount": 1
            })
        );
    }

    #[test]
    fn charge_types_and_login_variants() {
        let mut req = full_run_request();
        req.charge_type = ChargeType::Prepaid;
        req.login = Login {
            key_ids: vec!["skey-1".into()],
            password: None,
            keep_image_login: false,
        };
        let body = serde_json::to_value(RunInstancesRequest::from_run(&req)).unwrap();
        assert_eq!(body["InstanceChargeType"], "PREPAID");
        assert_eq!(body["InstanceChargePrepaid"], json!({"Period": 1}));
        assert_eq!(body["LoginSettings"], json!({"KeyIds": ["skey-1"]}));

        req.charge_type = ChargeType::Spot;
        req.login = Login {
            keep_image_login: true,
            ..Default::default()
        };
        let body = serde_json::to_value(RunInstancesRequest::from_run(&req)).unwrap();
        assert_eq!(body["InstanceChargeType"], "SPOTPAID");
        assert!(body.get("InstanceChargePrepaid").is_none());
        assert_eq!(body["LoginSettings"], json!({"KeepImageLogin": "TRUE"}));
    }

    #[test]
    fn debug_of_a_request_never_shows_the_password() {
        let req = RunInstancesRequest::from_run(&full_run_request());
        let dbg = format!("{req:?}");
        assert!(!dbg.contains("Qcloud@TestApi123++"), "{dbg}");
        let reset = ResetInstanceRequest::new(
            "ins-1",
            &ReinstallRequest {
                image_id: "img-2".into(),
                login: Login {
                    password: Some(SecretString::new("An0ther!secret")),
                    ..Default::default()
                },
                system_disk_size_gb: Some(60),
                hostname: None,
            },
        );
        assert!(!format!("{reset:?}").contains("An0ther!secret"));
        assert_eq!(
            serde_json::to_value(&reset).unwrap(),
            json!({
                "InstanceId": "ins-1",
                "ImageId": "img-2",
                "SystemDisk": {"DiskSize": 60},
                "LoginSettings": {"Password": "An0ther!secret"}
            })
        );
    }

    #[test]
    fn stop_and_modify_requests() {
        let ids = vec!["ins-1".to_string()];
        assert_eq!(
            serde_json::to_value(StopTypeRequest {
                instance_ids: &ids,
                stop_type: stop_type(StopMode::SoftThenHard)
            })
            .unwrap(),
            json!({"InstanceIds": ["ins-1"], "StopType": "SOFT_FIRST"})
        );
        assert_eq!(stop_type(StopMode::Soft), "SOFT");
        assert_eq!(stop_type(StopMode::Hard), "HARD");
        let sgs = vec!["sg-9".to_string()];
        assert_eq!(
            serde_json::to_value(ModifyInstancesAttributeRequest {
                instance_ids: &ids,
                instance_name: None,
                security_groups: Some(&sgs),
            })
            .unwrap(),
            json!({"InstanceIds": ["ins-1"], "SecurityGroups": ["sg-9"]})
        );
        assert_eq!(
            serde_json::to_value(DescribeRequest {
                filters: vec![Filter {
                    name: "tag:owner".into(),
                    values: vec!["ci".into()]
                }],
                offset: Some(0),
                limit: Some(100),
                ..Default::default()
            })
            .unwrap(),
            json!({"Filters": [{"Name": "tag:owner", "Values": ["ci"]}], "Offset": 0, "Limit": 100})
        );
    }

    /// The DescribeInstances output example of the reference, including its quirks
    /// (`"PublicIpAssigned": "TRUE"` as a string, tags spelled `tagKey`/`tagValue`).
    #[test]
    fn decodes_the_reference_describe_instances_example() {
        let body = br#"{
          "Response": {
            "InstanceSet": [{
              "CPU": 1,
              "CreatedTime": "2016-12-02T00:22:40Z",
              "DataDisks": [{"DiskId": "disk-4rnslb35", "DiskSize": 50, "DiskType": "CLOUD_BASIC"}],
              "ExpiredTime": "2017-01-02T00:22:48Z",
              "ImageId": "img-0vbqvzfn",
              "InstanceChargeType": "PREPAID",
              "InstanceId": "ins-r8hr2upy",
              "InstanceName": "Test instance",
              "InstanceType": "S1.SMALL2",
              "InternetAccessible": {"InternetChargeType": "BANDWIDTH_PREPAID", "InternetMaxBandwidthOut": 2, "PublicIpAssigned": "TRUE"},
              "Memory": 2,
              "Placement": {"HostId": "", "ProjectId": 0, "Zone": "ap-guangzhou-1"},
              "PrivateIpAddresses": ["10.104.37.58"],
              "PublicIpAddresses": ["123.207.32.83"],
              "RenewFlag": "NOTIFY_AND_AUTO_RENEW",
              "SystemDisk": {"DiskId": "disk-4rnslbwq", "DiskSize": 20, "DiskType": "CLOUD_BASIC"},
              "Tags": [{"tagKey": "city", "tagValue": "shenzhen"}],
              "VirtualPrivateCloud": {"AsVpcGateway": "TRUE", "SubnetId": "subnet-6d7kj98i", "VpcId": "vpc-4e78ea76"}
            }],
            "RequestId": "6ef60bec-0242-43af-bb20-270359fb54a7",
            "TotalCount": 1
          }
        }"#;
        let r: DescribeInstancesResponse = decode_response(200, body).unwrap();
        assert_eq!(r.total_count, 1);
        let d = r.instance_set.into_iter().next().unwrap().into_details();
        assert_eq!(d.id, "ins-r8hr2upy");
        assert_eq!(d.name, "Test instance");
        assert_eq!(d.state, InstanceState::Pending); // the example has no InstanceState
        assert_eq!(d.zone, "ap-guangzhou-1");
        assert_eq!(d.instance_type, "S1.SMALL2");
        assert_eq!(d.image_id, "img-0vbqvzfn");
        assert_eq!(d.private_ips, vec!["10.104.37.58"]);
        assert_eq!(d.public_ips, vec!["123.207.32.83"]);
        assert_eq!(d.tags.get("city").map(String::as_str), Some("shenzhen"));
        assert_eq!(d.created_at.as_deref(), Some("2016-12-02T00:22:40Z"));
    }

    #[test]
    fn nulls_read_as_empty() {
        let body = br#"{"Response":{"TotalCount":1,"InstanceSet":[{"InstanceId":"ins-1","InstanceState":"RUNNING","PublicIpAddresses":null,"SecurityGroupIds":null,"Tags":null,"Placement":null,"CreatedTime":null}],"RequestId":"r"}}"#;
        let r: DescribeInstancesResponse = decode_response(200, body).unwrap();
        let d = r.instance_set.into_iter().next().unwrap().into_details();
        assert_eq!(d.state, InstanceState::Running);
        assert_eq!(d.provider_state, "RUNNING");
        assert!(d.public_ips.is_empty() && d.security_group_ids.is_empty() && d.tags.is_empty());
        assert_eq!(d.created_at, None);
    }

    #[test]
    fn decodes_status_regions_zones_images_types() {
        let s: DescribeInstancesStatusResponse = decode_response(
            200,
            br#"{"Response":{"InstanceStatusSet":[{"InstanceId":"ins-r8hr2upy","InstanceState":"RUNNING"},{"InstanceId":"ins-5d8a23rs","InstanceState":"STOPPED"}],"RequestId":"x","TotalCount":2}}"#,
        )
        .unwrap();
        let st: Vec<_> = s
            .instance_status_set
            .into_iter()
            .map(|s| s.into_status())
            .collect();
        assert_eq!(st[0].state, InstanceState::Running);
        assert_eq!(st[1].state, InstanceState::Stopped);
        assert_eq!(st[1].provider_state, "STOPPED");

        let r: DescribeRegionsResponse = decode_response(
            200,
            br#"{"Response":{"RegionSet":[{"Region":"ap-beijing","RegionName":"North China (Beijing)","RegionState":"AVAILABLE"}],"RequestId":"x","TotalCount":1}}"#,
        )
        .unwrap();
        assert_eq!(r.region_set[0].region, "ap-beijing");

        let z: DescribeZonesResponse = decode_response(
            200,
            br#"{"Response":{"RequestId":"x","TotalCount":1,"ZoneSet":[{"Zone":"ap-guangzhou-1","ZoneId":"100001","ZoneName":"Guangzhou Zone 1","ZoneState":"UNAVAILABLE"}]}}"#,
        )
        .unwrap();
        assert_eq!(z.zone_set[0].zone_state, "UNAVAILABLE");

        let i: DescribeImagesResponse = decode_response(
            200,
            br#"{"Response":{"ImageSet":[{"Architecture":"x86_64","ImageId":"img-8toqc6s3","ImageName":"CentOS 7.4 64","ImageType":"PUBLIC_IMAGE","OsName":"CentOS 7.4 64","ImageSize":50}],"RequestId":"x","TotalCount":62}}"#,
        )
        .unwrap();
        assert_eq!(i.total_count, 62);
        assert_eq!(i.image_set[0].image_type, "PUBLIC_IMAGE");

        let t: DescribeInstanceTypeConfigsResponse = decode_response(
            200,
            br#"{"Response":{"InstanceTypeConfigSet":[{"CPU":2,"FPGA":0,"GPU":0,"InstanceFamily":"I1","InstanceType":"I1.MEDIUM4","Memory":4,"Zone":"ap-guangzhou-2"}],"RequestId":"x"}}"#,
        )
        .unwrap();
        let c = &t.instance_type_config_set[0];
        assert_eq!((c.cpu, c.memory, c.instance_family.as_str()), (2, 4, "I1"));
    }

    #[test]
    fn error_envelope_becomes_a_classified_error() {
        let body = br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"The provided credentials could not be validated. Please check your signature is correct."},"RequestId":"ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"}}"#;
        let e = decode_response::<NoContent>(200, body).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth);
        assert_eq!(e.code, "AuthFailure.SignatureFailure");
        assert_eq!(
            e.message,
            "The provided credentials could not be validated. Please check your signature is correct."
        );
        assert_eq!(
            e.request_id.as_deref(),
            Some("ed93f3cb-f35e-473f-b9f3-0d451b8b79c6")
        );

        // The code wins over the HTTP status.
        let e = decode_response::<NoContent>(
            500,
            br#"{"Response":{"Error":{"Code":"InvalidParameterValue","Message":"bad zone"},"RequestId":"r"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert_eq!(e.message, "bad zone");
    }

    #[test]
    fn bodies_without_envelope_are_classified_by_status() {
        let e = decode_response::<NoContent>(502, b"<html>Bad Gateway</html>").unwrap_err();
        assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Transient, "HTTP502"));
        let e = decode_response::<NoContent>(429, b"").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Throttled);
        let e = decode_response::<NoContent>(200, b"not json").unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_str()),
            (ErrorKind::Transient, "InvalidResponse")
        );
        let e = decode_response::<NoContent>(404, br#"{"message":"no route"}"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn success_with_only_request_id() {
        decode_response::<NoContent>(
            200,
            br#"{"Response":{"RequestId":"d39d6c09-44e9-4e80-8661-77b5ff3cbc15"}}"#,
        )
        .unwrap();
        let r: RunInstancesResponse = decode_response(
            200,
            br#"{"Response":{"InstanceIdSet":["ins-0s7wsh5x","ins-03lw8hok"],"RequestId":"x"}}"#,
        )
        .unwrap();
        assert_eq!(r.instance_id_set, vec!["ins-0s7wsh5x", "ins-03lw8hok"]);
    }
}
