//! Huawei Cloud ECS (v1/v1.1/v2/v2.1) and IMS (v2) JSON shapes.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::provider::InstanceState;

pub mod request;
pub mod response;

pub use request::{
    changeos_body, check_security_group_ids, create_body, fit_tag_value, servers_json,
    token_tag_value,
};
pub use response::{details, flavor_on_sale, image, instance_type, status};

/// Lenient string: strings, numbers (ECS prints `vcpus` as a string, `ram` as a number),
/// `null` as empty.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    })
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Map an ECS server status (plus `OS-EXT-STS:task_state`) onto the shared state.
///
/// Statuses: BUILD, ACTIVE, SHUTOFF, REBOOT, HARD_REBOOT, RESIZE, VERIFY_RESIZE,
/// REVERT_RESIZE, REBUILD, MIGRATING, ERROR, DELETED, SOFT_DELETED (and SHELVED*, PAUSED,
/// SUSPENDED, UNKNOWN). Start and stop do not have statuses of their own: ACTIVE with task
/// `powering-off` is stopping, SHUTOFF with `powering-on` is starting.
pub fn map_state(status: &str, task_state: Option<&str>) -> InstanceState {
    let task = task_state.unwrap_or_default();
    if task == "deleting" {
        return InstanceState::Terminating;
    }
    match status {
        "BUILD" => InstanceState::Pending,
        "ACTIVE" => match task {
            "powering-off" => InstanceState::Stopping,
            "rebooting"
            | "reboot_pending"
            | "reboot_started"
            | "rebooting_hard"
            | "reboot_pending_hard"
            | "reboot_started_hard" => InstanceState::Rebooting,
            _ => InstanceState::Running,
        },
        "SHUTOFF" => match task {
            "powering-on" => InstanceState::Starting,
            _ => InstanceState::Stopped,
        },
        "REBOOT" | "HARD_REBOOT" => InstanceState::Rebooting,
        "RESIZE" | "VERIFY_RESIZE" | "REVERT_RESIZE" | "REBUILD" | "MIGRATING" => {
            InstanceState::Pending
        }
        // ERROR: the server still exists (it can be deleted; `fault` says why), API status
        // table https://support.huaweicloud.com/api-ecs/ecs_08_0002.html.
        "ERROR" => InstanceState::Failed,
        "DELETED" => InstanceState::Terminated,
        // SOFT_DELETED: listed by SDK server_detail.py `status` only; the status table
        // (ecs_08_0002) does not say what it means. In OpenStack it is a deletion that can
        // still be undone (restore) before the cloud reclaims the server, so it is not taken
        // for gone: treating it as Terminated would let OnCloudDeletion create a replacement
        // next to a server that may come back. Held (below) until it is restored or really
        // disappears from the list.
        // Shelved, paused and suspended servers exist but do not run, and os-start cannot
        // bring them back (Nova needs unshelve/unpause/resume, which this client does not
        // send): held by the cloud, never gone, no actions (statuses of the SDK's
        // ListServersDetails `status` filter, huaweicloudsdkecs/v2/model/
        // list_servers_details_request.py; API zh-cn_topic_0094148850). UNKNOWN ("any
        // combination not in the table", ecs_08_0002) and statuses this client does not
        // know are held the same way rather than acted on or polled fast.
        "SHELVED" | "SHELVED_OFFLOADED" | "PAUSED" | "SUSPENDED" | "SOFT_DELETED" => {
            InstanceState::Suspended
        }
        _ => InstanceState::Suspended,
    }
}

// ---- requests ----

#[derive(Debug, Serialize)]
pub struct ServerRef {
    pub id: String,
}

#[derive(Debug, Serialize, Default)]
pub struct Volume {
    pub volumetype: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct Nic {
    pub subnet_id: String,
}

#[derive(Debug, Serialize)]
pub struct SecurityGroupRef {
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct Bandwidth {
    pub size: u32,
    pub sharetype: &'static str,
    pub chargemode: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Eip {
    pub iptype: &'static str,
    pub bandwidth: Bandwidth,
}

#[derive(Debug, Serialize)]
pub struct PublicIp {
    pub eip: Eip,
}

/// `extendparam` of a create request.
#[derive(Debug, Serialize, Default)]
pub struct ExtendParam {
    #[serde(rename = "chargingMode", skip_serializing_if = "Option::is_none")]
    pub charging_mode: Option<Value>,
    #[serde(rename = "regionID", skip_serializing_if = "Option::is_none")]
    pub region_id: Option<String>,
    #[serde(rename = "marketType", skip_serializing_if = "Option::is_none")]
    pub market_type: Option<&'static str>,
    #[serde(rename = "periodType", skip_serializing_if = "Option::is_none")]
    pub period_type: Option<&'static str>,
    #[serde(rename = "periodNum", skip_serializing_if = "Option::is_none")]
    pub period_num: Option<u32>,
    #[serde(rename = "isAutoPay", skip_serializing_if = "Option::is_none")]
    pub is_auto_pay: Option<&'static str>,
}

/// The `server` object of `POST /v1/{project_id}/cloudservers` (and v1.1).
#[derive(Debug, Serialize)]
pub struct CreateServer {
    #[serde(rename = "imageRef")]
    pub image_ref: String,
    #[serde(rename = "flavorRef")]
    pub flavor_ref: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpcid: Option<String>,
    pub nics: Vec<Nic>,
    pub root_volume: Volume,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_volumes: Vec<Volume>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<SecurityGroupRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publicip: Option<PublicIp>,
    pub count: u32,
    #[serde(rename = "isAutoRename")]
    pub is_auto_rename: bool,
    #[serde(rename = "adminPass", skip_serializing_if = "Option::is_none")]
    pub admin_pass: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_tags: Vec<Tag>,
    pub extendparam: ExtendParam,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct CreateServersBody {
    pub server: CreateServer,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

// ---- responses ----

#[derive(Debug, Deserialize)]
pub struct CreateServersResponse {
    #[serde(default)]
    pub job_id: Option<String>,
    #[serde(default, rename = "serverIds", deserialize_with = "null_as_default")]
    pub server_ids: Vec<String>,
    #[serde(default)]
    pub order_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct JobIdResponse {
    #[serde(default)]
    pub job_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SubJobEntities {
    #[serde(default)]
    pub server_id: Option<String>,
    #[serde(default)]
    pub errorcode_message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SubJob {
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub entities: SubJobEntities,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub fail_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct JobEntities {
    #[serde(default)]
    pub server_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sub_jobs: Vec<SubJob>,
    #[serde(default)]
    pub sub_jobs_total: Option<u32>,
}

/// `GET /v1/{project_id}/jobs/{job_id}`. Status: INIT, RUNNING, SUCCESS, FAIL.
#[derive(Debug, Deserialize)]
pub struct Job {
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub entities: JobEntities,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub fail_reason: Option<String>,
    #[serde(default)]
    pub job_id: Option<String>,
}

impl Job {
    /// Server ids the job (or its sub jobs) reports.
    pub fn server_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .entities
            .sub_jobs
            .iter()
            .filter_map(|s| s.entities.server_id.clone())
            .filter(|s| !s.is_empty())
            .collect();
        if ids.is_empty()
            && let Some(id) = self.entities.server_id.clone().filter(|s| !s.is_empty())
        {
            ids.push(id);
        }
        ids
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Flavor {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ImageRef {
    #[serde(default)]
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct Address {
    #[serde(default)]
    pub addr: String,
    #[serde(default, rename = "OS-EXT-IPS:type")]
    pub ip_type: Option<String>,
    /// The port (NIC) the address is on (SDK huaweicloudsdkecs/v2/model/server_address.py
    /// `OS-EXT-IPS:port_id`).
    #[serde(default, rename = "OS-EXT-IPS:port_id")]
    pub port_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SecurityGroup {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ServerDetail {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `null` for ids a `server_id=` filter did not find.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "OS-EXT-STS:task_state")]
    pub task_state: Option<String>,
    #[serde(default, rename = "OS-EXT-AZ:availability_zone")]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub flavor: Option<Flavor>,
    #[serde(default)]
    pub image: Option<ImageRef>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub addresses: BTreeMap<String, Vec<Address>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub security_groups: Vec<SecurityGroup>,
    /// `key=value` strings.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub created: Option<String>,
    /// `charging_mode` ("0" pay-per-use, "1" yearly/monthly, "2" spot), `metering.order_id`,
    /// ... (SDK `huaweicloudsdkecs/v2/model/server_detail.py` `metadata`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: BTreeMap<String, Value>,
}

impl ServerDetail {
    /// Whether the server is yearly/monthly (`metadata.charging_mode` "1").
    pub fn is_prepaid(&self) -> bool {
        self.metadata.get("charging_mode").and_then(Value::as_str) == Some("1")
    }

    pub fn state(&self) -> InstanceState {
        map_state(
            self.status.as_deref().unwrap_or_default(),
            self.task_state.as_deref(),
        )
    }

    fn ips(&self, floating: bool) -> Vec<String> {
        let mut v: Vec<String> = self
            .addresses
            .values()
            .flatten()
            .filter(|a| (a.ip_type.as_deref() == Some("floating")) == floating)
            .map(|a| a.addr.clone())
            .filter(|a| !a.is_empty())
            .collect();
        v.dedup();
        v
    }

    pub fn private_ips(&self) -> Vec<String> {
        self.ips(false)
    }

    pub fn public_ips(&self) -> Vec<String> {
        self.ips(true)
    }

    pub fn tag_map(&self) -> BTreeMap<String, String> {
        self.tags
            .iter()
            .map(|t| match t.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (t.clone(), String::new()),
            })
            .collect()
    }

    /// The ids of the server's ports (NICs), in address order, each once.
    pub fn port_ids(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self
            .addresses
            .values()
            .flatten()
            .filter_map(|a| a.port_id.as_deref())
        {
            if !p.is_empty() && !out.iter().any(|x| x == p) {
                out.push(p.to_owned());
            }
        }
        out
    }

    /// Security group ids (falling back to the name, which Nova-style APIs put there).
    pub fn security_group_ids(&self) -> Vec<String> {
        self.security_groups
            .iter()
            .filter_map(|g| g.id.clone().or_else(|| g.name.clone()))
            .collect()
    }
}

#[derive(Debug, Deserialize)]
pub struct ListServersResponse {
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub servers: Vec<ServerDetail>,
}

#[derive(Debug, Deserialize)]
pub struct ShowServerResponse {
    pub server: ServerDetail,
}

/// One zone of `GET /v1/{project_id}/availability-zones` (ListServerAzInfo; SDK
/// `huaweicloudsdkecs/v2/model/list_server_az_info.py`).
#[derive(Debug, Deserialize)]
pub struct ServerAzInfo {
    pub availability_zone_id: String,
}

#[derive(Debug, Deserialize)]
pub struct ServerAzInfoResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub availability_zones: Vec<ServerAzInfo>,
}

#[derive(Debug, Deserialize)]
pub struct FlavorItem {
    pub id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub vcpus: String,
    /// MiB.
    #[serde(default, deserialize_with = "lenient_string")]
    pub ram: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub os_extra_specs: BTreeMap<String, Value>,
}

impl FlavorItem {
    /// The flavor family: `ecs:generation` when present, else the part before the first dot
    /// of the id (`s6.large.2` → `s6`).
    pub fn family(&self) -> String {
        self.os_extra_specs
            .get("ecs:generation")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| self.id.split('.').next().unwrap_or_default().to_owned())
    }
}

#[derive(Debug, Deserialize)]
pub struct FlavorsResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub flavors: Vec<FlavorItem>,
}

#[derive(Debug, Deserialize)]
pub struct ImsImage {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, rename = "__os_version", deserialize_with = "null_as_default")]
    pub os_version: String,
    #[serde(default, rename = "__platform", deserialize_with = "null_as_default")]
    pub platform: String,
    #[serde(default, rename = "__imagetype", deserialize_with = "null_as_default")]
    pub image_type: String,
}

#[derive(Debug, Deserialize)]
pub struct ImsImagesResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub images: Vec<ImsImage>,
}

#[cfg(test)]
mod tests;
