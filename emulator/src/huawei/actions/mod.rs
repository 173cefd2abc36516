//! The ECS / IMS operations over the shared store.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::config::{Account, Provider};
use crate::store::{Disk, Instance, Store, Tag, VmState, new_uuid, random_alnum};

use super::{Answer, HwError, HwResult, Op, billing, catalog, held, jobs, render};

mod create;
mod describe;
mod lifecycle;
mod modify;
mod ports;
use create::*;
use describe::*;
use lifecycle::*;
use modify::*;

pub use create::is_uuid;
pub use ports::MAX_PORT_SECURITY_GROUPS;

pub struct Ctx<'a> {
    pub app: &'a AppState,
    pub account: &'a Account,
    pub project: &'a str,
    /// The region of `project` (projects are regional).
    pub region: &'a str,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
    pub client_token: Option<String>,
    pub request_id: &'a str,
    pub now: i64,
    pub launch_failed: bool,
}

impl Ctx<'_> {
    fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn q_int(&self, name: &str, default: i64, lo: i64, hi: i64) -> HwResult<i64> {
        let v = match self.q(name) {
            None => default,
            Some(s) => s.trim().parse().map_err(|_| {
                HwError::invalid(format!(
                    "Invalid parameter {name}: `{s}` is not an integer."
                ))
            })?,
        };
        if !(lo..=hi).contains(&v) {
            return Err(HwError::invalid(format!(
                "Invalid parameter {name}: must be between {lo} and {hi}."
            )));
        }
        Ok(v)
    }

    fn json(&self) -> HwResult<Map<String, Value>> {
        match serde_json::from_slice::<Value>(self.body) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(HwError::invalid("request body is illegal.")),
        }
    }
}

pub fn run(op: &Op, ctx: &Ctx) -> HwResult<Answer> {
    match op {
        Op::CreateServers { v11 } => create_servers(ctx, *v11),
        Op::ShowJob(id) => show_job(ctx, id),
        Op::ServerAction => server_action(ctx),
        Op::DeleteServers => delete_servers(ctx),
        Op::ListServersDetails => list_servers(ctx),
        Op::ListFlavors => list_flavors(ctx),
        Op::ListResizeFlavors => list_resize_flavors(ctx),
        Op::ShowServer(id) => show_server(ctx, id),
        Op::UpdateServer(id) => update_server(ctx, id),
        Op::Resize(id) => resize(ctx, id, false),
        Op::ResizeV11(id) => resize(ctx, id, true),
        Op::ChangeOs(id) => change_os(ctx, id),
        Op::ReinstallOs(id) => reinstall_os(ctx, id),
        Op::NovaServerAction(id) => nova_action(ctx, id),
        Op::NovaDeleteServer(id) => nova_delete_server(ctx, id),
        Op::NovaListAvailabilityZones => Ok(Answer::ok(json!({
            "availabilityZoneInfo": catalog::zones(ctx.region)
                .iter()
                .map(|z| json!({"zoneName": z, "zoneState": {"available": true}, "hosts": null}))
                .collect::<Vec<_>>()
        }))),
        // ListServerAzInfo, the documented successor of os-availability-zone:
        // https://support.huaweicloud.com/api-ecs/ecs_02_1501.html,
        // SDK huaweicloudsdkecs/v2/model/list_server_az_info.py.
        Op::ListServerAzInfo => Ok(Answer::ok(json!({
            "availability_zones": catalog::zones(ctx.region)
                .iter()
                .map(|z| json!({
                    "availability_zone_id": z, "type": "Center", "mode": "shared",
                    "public_border_group": "center", "alias": z, "az_group_ids": [],
                    "category": 0,
                }))
                .collect::<Vec<_>>()
        }))),
        Op::ListImages => list_images(ctx),
        Op::ShowPort(port) => ports::show_port(ctx, port),
        Op::AddSecurityGroups(port) => ports::insert_security_groups(ctx, port),
        Op::RemoveSecurityGroups(port) => ports::remove_security_groups(ctx, port),
        Op::KeystoneListProjects
        | Op::KeystoneListAuthProjects
        | Op::KeystoneListAuthDomains
        | Op::ShowPermanentAccessKey(_)
        | Op::CancelResourcesSubscription => Err(HwError::gateway(
            404,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment",
        )),
    }
}

fn not_found(id: &str) -> HwError {
    HwError::ecs(
        404,
        "Ecs.0114",
        format!("Instance[{id}] could not be found."),
    )
}

/// Ecs.0100 is documented with HTTP 400 (error-code table,
/// https://support.huaweicloud.com/api-ecs/ecs_07_0002.html).
fn bad_state(id: &str, status: &str) -> HwError {
    HwError::ecs(
        400,
        "Ecs.0100",
        format!("Invalid ECS status. Change the status and try again. Server {id} is {status}."),
    )
}

/// Start, stop, reboot, resize and changeos are refused for a server the cloud holds
/// (SHELVED, PAUSED, SUSPENDED, ERROR, MIGRATING, VERIFY_RESIZE, REVERT_RESIZE,
/// SOFT_DELETED; see [`held`]) with Ecs.0100.
fn refuse_held(i: &Instance, ctx: &Ctx) -> HwResult<()> {
    match held::held(i) {
        Some(_) => Err(bad_state(&i.id, render::status(i, ctx.now).0)),
        None => Ok(()),
    }
}

fn visible(i: &Instance, ctx: &Ctx) -> bool {
    i.provider == Provider::Huawei
        && i.account == ctx.account.key_id
        && i.project_id.as_deref() == Some(ctx.project)
        && i.state_at(ctx.now) != VmState::Terminated
}

fn owned<'s>(store: &'s Store, ctx: &Ctx, id: &str) -> HwResult<&'s Instance> {
    store
        .get(id, ctx.now)
        .filter(|i| visible(i, ctx))
        .ok_or_else(|| not_found(id))
}

fn str_field<'a>(m: &'a Map<String, Value>, name: &str) -> HwResult<Option<&'a str>> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(HwError::invalid(format!(
            "Invalid parameter {name}: must be a string."
        ))),
    }
}

fn required_str<'a>(m: &'a Map<String, Value>, name: &str) -> HwResult<&'a str> {
    str_field(m, name)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| HwError::invalid(format!("Invalid parameter: {name} is required.")))
}

fn bool_field(m: &Map<String, Value>, name: &str) -> HwResult<Option<bool>> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(_) => Err(HwError::invalid(format!(
            "Invalid parameter {name}: must be a boolean."
        ))),
    }
}

fn int_field(m: &Map<String, Value>, name: &str) -> HwResult<Option<i64>> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
            HwError::invalid(format!("Invalid parameter {name}: must be an integer."))
        }),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
            HwError::invalid(format!("Invalid parameter {name}: must be an integer."))
        }),
        Some(_) => Err(HwError::invalid(format!(
            "Invalid parameter {name}: must be an integer."
        ))),
    }
}

fn check_name(name: &str, max: usize) -> HwResult<()> {
    let n = name.chars().count();
    let ok = (1..=max).contains(&n)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.');
    if !ok {
        return Err(HwError::invalid(format!(
            "Invalid parameter name: `{name}` must be 1 to {max} characters of letters, digits, _, - and ."
        )));
    }
    Ok(())
}

fn check_password(p: &str) -> HwResult<()> {
    const SPECIAL: &str = "!@$%^-_=+[{}]:,./?~#*";
    let classes = [
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| SPECIAL.contains(c)),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if !(8..=26).contains(&p.chars().count()) || classes < 3 {
        return Err(HwError::ecs(
            400,
            "Ecs.0011",
            "Ensure the password meets the password complexity requirements: 8 to 26 characters with at least three of uppercase letters, lowercase letters, digits and special characters.",
        ));
    }
    Ok(())
}

fn check_volume(
    v: &Map<String, Value>,
    what: &str,
    min: i64,
    max: i64,
) -> HwResult<(String, Option<i64>)> {
    let t = required_str(v, "volumetype").map_err(|_| {
        HwError::invalid(format!("Invalid parameter: {what}.volumetype is required."))
    })?;
    if !catalog::VOLUME_TYPES.contains(&t) {
        return Err(HwError::invalid(format!(
            "Invalid parameter {what}.volumetype: `{t}` is not supported."
        )));
    }
    // `iops`: "购买GPSSD2、ESSD2类型的云硬盘时必填，其他类型不能设置"; `throughput` (MiB/s):
    // required for GPSSD2, not settable otherwise (SDK huaweicloudsdkecs/v2/model/
    // post_paid_server_root_volume.py, post_paid_server_data_volume.py and the prepaid twins).
    for (field, types) in [
        ("iops", &["GPSSD2", "ESSD2"][..]),
        ("throughput", &["GPSSD2"][..]),
    ] {
        let given = int_field(v, field)?;
        match (types.contains(&t), given) {
            (true, None) => {
                return Err(HwError::invalid(format!(
                    "Invalid parameter {what}.{field}: required for volumetype {t}."
                )));
            }
            (true, Some(n)) if n <= 0 => {
                return Err(HwError::invalid(format!(
                    "Invalid parameter {what}.{field}: must be positive."
                )));
            }
            (false, Some(_)) => {
                return Err(HwError::invalid(format!(
                    "Invalid parameter {what}.{field}: cannot be set for volumetype {t}."
                )));
            }
            _ => {}
        }
    }
    let size = int_field(v, "size")?;
    if let Some(s) = size
        && s != 0
        && !(min..=max).contains(&s)
    {
        return Err(HwError::invalid(format!(
            "Invalid parameter {what}.size: must be between {min} and {max} GB."
        )));
    }
    Ok((t.to_string(), size.filter(|s| *s > 0)))
}

fn servers_list(m: &Map<String, Value>, name: &str) -> HwResult<Vec<String>> {
    let arr = m
        .get(name)
        .and_then(Value::as_array)
        .ok_or_else(|| HwError::invalid(format!("Invalid parameter: {name} is required.")))?;
    if arr.is_empty() || arr.len() > catalog::BATCH_LIMIT {
        return Err(HwError::invalid(format!(
            "Invalid parameter {name}: between 1 and {} servers are allowed.",
            catalog::BATCH_LIMIT
        )));
    }
    let mut ids = Vec::with_capacity(arr.len());
    for s in arr {
        let id = s
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                HwError::invalid(format!(
                    "Invalid parameter {name}: every entry needs an id."
                ))
            })?;
        if !ids.iter().any(|x: &String| x == id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

fn months_from(now: i64, months: i64) -> Option<i64> {
    let zoned = jiff::Timestamp::from_millisecond(now)
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC);
    zoned
        .checked_add(jiff::Span::new().months(months))
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords() {
        assert!(check_name("web-1.a_b", 64).is_ok());
        assert!(check_name("bad name", 64).is_err());
        assert!(check_name("", 64).is_err());
        assert!(check_password("Passw0rd!").is_ok());
        assert!(check_password("password").is_err());
    }
}
