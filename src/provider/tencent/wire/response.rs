//! CVM response shapes and the `{"Response": {...}}` envelope (see [`super`]).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::super::errors;
use super::{Tag, null_default};
use crate::provider::{InstanceDetails, InstanceStatus, ProviderError};

// ---------------------------------------------------------------------------------------
// Responses.

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
