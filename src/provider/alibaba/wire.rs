//! Alibaba ECS (2014-05-26) JSON response shapes.
//!
//! The RPC API wraps every list in an object named after the element, e.g.
//! `"Instances": {"Instance": [...]}` and `"PublicIpAddress": {"IpAddress": [...]}`. Some
//! gateways and SDK dumps flatten these to plain arrays, so every list here accepts both
//! forms (and a missing or `null` value as empty).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::provider::InstanceState;

mod request;
pub use request::*;

/// Deserialize `[..]`, `{"Element": [..]}`, `{"Element": {..}}` (a single element) or
/// `null` into a `Vec`.
pub fn flex_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Option::<Value>::deserialize(d)?;
    flex_value(v.unwrap_or(Value::Null)).map_err(serde::de::Error::custom)
}

fn flex_value<T: DeserializeOwned>(v: Value) -> Result<Vec<T>, serde_json::Error> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(_) => serde_json::from_value(v),
        Value::Object(map) if map.len() == 1 => {
            let inner = map
                .into_iter()
                .next()
                .map(|(_, v)| v)
                .unwrap_or(Value::Null);
            match inner {
                Value::Null => Ok(Vec::new()),
                Value::Array(_) => serde_json::from_value(inner),
                other => Ok(vec![serde_json::from_value(other)?]),
            }
        }
        Value::Object(map) if map.is_empty() => Ok(Vec::new()),
        other => Ok(vec![serde_json::from_value(other)?]),
    }
}

/// Lenient string: accepts JSON strings and numbers, `null` as empty.
pub fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    })
}

/// Lenient number: accepts numbers and numeric strings, anything else as 0.
pub fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    })
}

/// Map an Alibaba instance status onto the shared state. Alibaba documents `Pending`,
/// `Running`, `Starting`, `Stopping` and `Stopped`; a released instance simply
/// disappears. Unknown strings are reported as `Pending` (transitional) so callers keep
/// polling instead of acting on a state they do not understand.
pub fn map_state(status: &str) -> InstanceState {
    match status {
        "Pending" => InstanceState::Pending,
        "Running" => InstanceState::Running,
        "Starting" => InstanceState::Starting,
        "Stopping" => InstanceState::Stopping,
        "Stopped" => InstanceState::Stopped,
        _ => InstanceState::Pending,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunInstancesResponse {
    #[serde(default, deserialize_with = "flex_list")]
    pub instance_id_sets: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceStatusItem {
    #[serde(default)]
    pub instance_id: String,
    #[serde(default)]
    pub status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInstanceStatusResponse {
    #[serde(default, deserialize_with = "flex_list")]
    pub instance_statuses: Vec<InstanceStatusItem>,
    #[serde(default)]
    pub total_count: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcAttributes {
    #[serde(default, deserialize_with = "flex_list")]
    pub private_ip_address: Vec<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub v_switch_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EipAddress {
    #[serde(default)]
    pub ip_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagItem {
    #[serde(default)]
    pub tag_key: String,
    #[serde(default)]
    pub tag_value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInterface {
    #[serde(default)]
    pub primary_ip_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Instance {
    pub instance_id: String,
    #[serde(default)]
    pub instance_name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub zone_id: String,
    #[serde(default)]
    pub instance_type: String,
    #[serde(default)]
    pub image_id: String,
    #[serde(default)]
    pub creation_time: Option<String>,
    #[serde(default, deserialize_with = "flex_list")]
    pub public_ip_address: Vec<String>,
    #[serde(default, deserialize_with = "flex_list")]
    pub inner_ip_address: Vec<String>,
    #[serde(default)]
    pub vpc_attributes: Option<VpcAttributes>,
    #[serde(default)]
    pub eip_address: Option<EipAddress>,
    #[serde(default, deserialize_with = "flex_list")]
    pub security_group_ids: Vec<String>,
    #[serde(default, deserialize_with = "flex_list")]
    pub tags: Vec<TagItem>,
    #[serde(default, deserialize_with = "flex_list")]
    pub network_interfaces: Vec<NetworkInterface>,
    /// `PrePaid` (subscription) or `PostPaid` (pay-as-you-go); decides how the instance is
    /// resized and released (`super::billing`).
    #[serde(default, deserialize_with = "lenient_string")]
    pub instance_charge_type: String,
    /// End of the subscription, `yyyy-MM-ddTHH:mmZ` (PostPaid instances show a far date).
    #[serde(default)]
    pub expired_time: Option<String>,
}

impl Instance {
    pub fn private_ips(&self) -> Vec<String> {
        let mut ips: Vec<String> = self
            .vpc_attributes
            .as_ref()
            .map(|v| v.private_ip_address.clone())
            .unwrap_or_default();
        ips.extend(self.inner_ip_address.iter().cloned());
        if ips.is_empty() {
            ips.extend(
                self.network_interfaces
                    .iter()
                    .filter_map(|n| n.primary_ip_address.clone()),
            );
        }
        ips.retain(|s| !s.is_empty());
        ips.dedup();
        ips
    }

    pub fn public_ips(&self) -> Vec<String> {
        let mut ips = self.public_ip_address.clone();
        if let Some(eip) = self.eip_address.as_ref().and_then(|e| e.ip_address.clone()) {
            ips.push(eip);
        }
        ips.retain(|s| !s.is_empty());
        ips.dedup();
        ips
    }

    pub fn tag_map(&self) -> BTreeMap<String, String> {
        self.tags
            .iter()
            .map(|t| (t.tag_key.clone(), t.tag_value.clone()))
            .collect()
    }

    /// Alibaba prints creation times as `2017-12-10T04:04Z` (minutes precision); turn that
    /// into RFC 3339 by adding the seconds, leave anything else as given.
    pub fn created_rfc3339(&self) -> Option<String> {
        let t = self.creation_time.as_deref()?.trim();
        if t.is_empty() {
            return None;
        }
        // yyyy-MM-ddTHH:mmZ is 17 characters.
        if t.len() == 17 && t.ends_with('Z') && t.as_bytes()[13] == b':' {
            Some(format!("{}:00Z", &t[..16]))
        } else {
            Some(t.to_owned())
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInstancesResponse {
    #[serde(default, deserialize_with = "flex_list")]
    pub instances: Vec<Instance>,
    #[serde(default)]
    pub total_count: u64,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegionItem {
    pub region_id: String,
    #[serde(default)]
    pub local_name: String,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRegionsResponse {
    #[serde(default, deserialize_with = "flex_list")]
    pub regions: Vec<RegionItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ZoneItem {
    pub zone_id: String,
    #[serde(default)]
    pub local_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeZonesResponse {
    #[serde(default, deserialize_with = "flex_list")]
    pub zones: Vec<ZoneItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageItem {
    pub image_id: String,
    #[serde(default)]
    pub image_name: String,
    #[serde(default, rename = "OSName")]
    pub os_name: String,
    #[serde(default, rename = "OSNameEn")]
    pub os_name_en: String,
    #[serde(default)]
    pub image_owner_alias: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeImagesResponse {
    #[serde(default, deserialize_with = "flex_list")]
    pub images: Vec<ImageItem>,
    #[serde(default)]
    pub total_count: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceTypeItem {
    pub instance_type_id: String,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub cpu_core_count: f64,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub memory_size: f64,
    #[serde(default, deserialize_with = "lenient_string")]
    pub instance_type_family: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInstanceTypesResponse {
    #[serde(default, deserialize_with = "flex_list")]
    pub instance_types: Vec<InstanceTypeItem>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SupportedResource {
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AvailableResource {
    #[serde(default, rename = "Type")]
    pub kind: String,
    #[serde(default, deserialize_with = "flex_list")]
    pub supported_resources: Vec<SupportedResource>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AvailableZone {
    #[serde(default)]
    pub zone_id: String,
    #[serde(default, deserialize_with = "flex_list")]
    pub available_resources: Vec<AvailableResource>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAvailableResourceResponse {
    #[serde(default, deserialize_with = "flex_list")]
    pub available_zones: Vec<AvailableZone>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_flat_lists() {
        let nested = r#"{"RequestId":"r","TotalCount":1,"Instances":{"Instance":[{
            "InstanceId":"i-1","InstanceName":"web","Status":"Running","ZoneId":"cn-hangzhou-g",
            "InstanceType":"ecs.g6.large","ImageId":"img","CreationTime":"2017-12-10T04:04Z",
            "PublicIpAddress":{"IpAddress":["121.40.1.1"]},"InnerIpAddress":{"IpAddress":[]},
            "VpcAttributes":{"PrivateIpAddress":{"IpAddress":["172.17.0.5"]},"VpcId":"vpc-1"},
            "EipAddress":{"IpAddress":""},
            "SecurityGroupIds":{"SecurityGroupId":["sg-1","sg-2"]},
            "Tags":{"Tag":[{"TagKey":"owner","TagValue":"me"}]}}]}}"#;
        let r: DescribeInstancesResponse = serde_json::from_str(nested).unwrap();
        let i = &r.instances[0];
        assert_eq!(i.private_ips(), vec!["172.17.0.5"]);
        assert_eq!(i.public_ips(), vec!["121.40.1.1"]);
        assert_eq!(i.security_group_ids, vec!["sg-1", "sg-2"]);
        assert_eq!(i.tag_map().get("owner").map(String::as_str), Some("me"));
        assert_eq!(i.created_rfc3339().as_deref(), Some("2017-12-10T04:04:00Z"));

        let flat = r#"{"Instances":[{"InstanceId":"i-2","Status":"Stopped",
            "SecurityGroupIds":["sg-3"],"Tags":[{"TagKey":"a","TagValue":"b"}],
            "PublicIpAddress":["1.2.3.4"],"CreationTime":"2024-01-02T03:04:05Z"}]}"#;
        let r: DescribeInstancesResponse = serde_json::from_str(flat).unwrap();
        assert_eq!(r.instances[0].security_group_ids, vec!["sg-3"]);
        assert_eq!(r.instances[0].public_ips(), vec!["1.2.3.4"]);
        assert_eq!(
            r.instances[0].created_rfc3339().as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
    }

    #[test]
    fn run_instances_ids() {
        let body = r#"{"RequestId":"473469C7","OrderId":"1234567890","TradePrice":0.165,
            "InstanceIdSets":{"InstanceIdSet":["i-bp67acfmxazb4pd2****","i-bp1i43l28m7u48p1****"]}}"#;
        let r: RunInstancesResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.instance_id_sets.len(), 2);
    }

    #[test]
    fn states() {
        assert_eq!(map_state("Running"), InstanceState::Running);
        assert_eq!(map_state("Stopped"), InstanceState::Stopped);
        assert_eq!(map_state("Stopping"), InstanceState::Stopping);
        assert_eq!(map_state("Starting"), InstanceState::Starting);
        assert_eq!(map_state("Pending"), InstanceState::Pending);
        assert!(map_state("Whatever").is_transitional());
    }
}
