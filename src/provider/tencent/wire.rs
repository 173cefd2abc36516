//! Serde types of the CVM API 3.0 JSON wire format (version 2017-03-12), PascalCase as the
//! API spells them, and the decoding of the `{"Response": {...}}` envelope.
//!
//! Requests skip absent optional fields so the server applies its documented defaults.
//! Responses are lenient: every field defaults, and `null` (which the API returns for
//! e.g. `PublicIpAddresses` of an instance without a public IP) reads as empty.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::provider::{ChargeType, Login, ReinstallRequest, RunRequest, SecretString, StopMode};

mod response;
pub mod state;
#[cfg(test)]
mod tests;

pub use response::*;

/// `null` → `T::default()`.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

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
