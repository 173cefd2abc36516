//! The ECS / IMS operations over the shared store.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::config::{Account, Provider};
use crate::store::{Disk, Instance, Store, Tag, VmState, new_uuid, random_alnum};

use super::{Answer, HwError, HwResult, Op, billing, catalog, jobs, render};

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
        Op::ShowServer(id) => show_server(ctx, id),
        Op::UpdateServer(id) => update_server(ctx, id),
        Op::Resize(id) => resize(ctx, id, false),
        Op::ResizeV11(id) => resize(ctx, id, true),
        Op::ChangeOs(id) => change_os(ctx, id),
        Op::NovaServerAction(id) => nova_action(ctx, id),
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

fn create_servers(ctx: &Ctx, v11: bool) -> HwResult<Answer> {
    let body = ctx.json()?;
    let dry_run = bool_field(&body, "dry_run")?.unwrap_or(false);
    let digest = request_digest(v11, &body);
    if let Some(answer) = client_token_replay(ctx, &digest)? {
        return Ok(answer);
    }
    let server = body
        .get("server")
        .and_then(Value::as_object)
        .ok_or_else(|| HwError::invalid("Invalid parameter: server is required."))?;

    let image_ref = required_str(server, "imageRef")?;
    let image = catalog::image(image_ref).ok_or_else(|| {
        HwError::invalid(format!(
            "Invalid parameter imageRef: image {image_ref} does not exist."
        ))
    })?;
    let flavor_ref = required_str(server, "flavorRef")?;
    let flavor = catalog::flavor(flavor_ref).ok_or_else(|| {
        HwError::invalid(format!(
            "Invalid parameter flavorRef: flavor {flavor_ref} does not exist."
        ))
    })?;
    let count = int_field(server, "count")?.unwrap_or(1);
    if !(1..=100).contains(&count) {
        return Err(HwError::invalid(
            "Invalid parameter count: must be between 1 and 100.",
        ));
    }
    let count = count as usize;
    let name = required_str(server, "name")?;
    check_name(name, if count > 1 { 59 } else { 64 })?;
    let auto_rename = bool_field(server, "isAutoRename")?.unwrap_or(true);

    let zone = match str_field(server, "availability_zone")? {
        Some(z) if !z.is_empty() => {
            if !catalog::zones(ctx.region).iter().any(|x| x == z) {
                return Err(HwError::invalid(format!(
                    "Invalid parameter availability_zone: {z} does not exist."
                )));
            }
            z.to_string()
        }
        _ => catalog::zones(ctx.region)[0].clone(),
    };
    if flavor.sold_out.contains(&zone.as_str()) {
        return Err(HwError::invalid(format!(
            "The flavor {flavor_ref} is sold out in {zone}."
        )));
    }

    // Network.
    let vpc = required_str(server, "vpcid")?.to_string();
    let nics = server
        .get("nics")
        .and_then(Value::as_array)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| HwError::invalid("Invalid parameter: nics is required."))?;
    if nics.len() > 12 {
        return Err(HwError::invalid(
            "Invalid parameter nics: at most 12 NICs are allowed.",
        ));
    }
    let mut subnet = None;
    for n in nics {
        let n = n
            .as_object()
            .ok_or_else(|| HwError::invalid("Invalid parameter nics."))?;
        let s = str_field(n, "subnet_id")?.filter(|s| !s.is_empty());
        let p = str_field(n, "port_id")?.filter(|s| !s.is_empty());
        if s.is_none() && p.is_none() {
            return Err(HwError::invalid(
                "Invalid parameter nics: subnet_id or port_id is required.",
            ));
        }
        if subnet.is_none() {
            subnet = s.map(str::to_string);
        }
    }
    let mut sgs = vec![];
    if let Some(list) = server.get("security_groups").and_then(Value::as_array) {
        for g in list {
            let id = g
                .get("id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    HwError::invalid("Invalid parameter security_groups: every entry needs an id.")
                })?;
            sgs.push(id.to_string());
        }
    }
    if sgs.is_empty() {
        sgs.push("default".to_string());
    }
    let mut bandwidth = 0u64;
    if let Some(pip) = server.get("publicip").and_then(Value::as_object)
        && let Some(eip) = pip.get("eip").and_then(Value::as_object)
    {
        required_str(eip, "iptype")?;
        let bw = eip
            .get("bandwidth")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                HwError::invalid("Invalid parameter: publicip.eip.bandwidth is required.")
            })?;
        let share = required_str(bw, "sharetype")?;
        if !matches!(share, "PER" | "WHOLE") {
            return Err(HwError::invalid(
                "Invalid parameter publicip.eip.bandwidth.sharetype.",
            ));
        }
        let size = int_field(bw, "size")?.unwrap_or(0);
        if share == "PER" && !(1..=2000).contains(&size) {
            return Err(HwError::invalid(
                "Invalid parameter publicip.eip.bandwidth.size: must be between 1 and 2000.",
            ));
        }
        bandwidth = size.max(1) as u64;
    }

    // Disks.
    let root = server
        .get("root_volume")
        .and_then(Value::as_object)
        .ok_or_else(|| HwError::invalid("Invalid parameter: root_volume is required."))?;
    let (root_type, root_size) = check_volume(root, "root_volume", 1, 1024)?;
    let root_size = root_size.unwrap_or(image.min_disk as i64) as u64;
    if root_size < image.min_disk {
        return Err(HwError::invalid(format!(
            "Invalid parameter root_volume.size: the image needs at least {} GB.",
            image.min_disk
        )));
    }
    let mut data_disks = vec![];
    if let Some(list) = server.get("data_volumes").and_then(Value::as_array) {
        if list.len() > 23 {
            return Err(HwError::invalid(
                "Invalid parameter data_volumes: at most 23 data disks are allowed.",
            ));
        }
        for v in list {
            let v = v
                .as_object()
                .ok_or_else(|| HwError::invalid("Invalid parameter data_volumes."))?;
            let (t, size) = check_volume(v, "data_volumes", 10, 32768)?;
            let size = size.ok_or_else(|| {
                HwError::invalid("Invalid parameter: data_volumes.size is required.")
            })?;
            data_disks.push(Disk {
                disk_type: t,
                size_gb: size as u64,
                id: Some(new_uuid()),
                delete_with_instance: bool_field(v, "delete_on_termination")?.unwrap_or(false),
            });
        }
    }

    // Login.
    let admin_pass = str_field(server, "adminPass")?.filter(|s| !s.is_empty());
    if let Some(p) = admin_pass {
        check_password(p)?;
    }
    let key_name = str_field(server, "key_name")?.filter(|s| !s.is_empty());
    if admin_pass.is_some() && key_name.is_some() {
        return Err(HwError::invalid(
            "Invalid parameter: adminPass and key_name cannot both be set.",
        ));
    }
    let user_data = match str_field(server, "user_data")? {
        Some(u) if !u.is_empty() => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(u.as_bytes())
                .map_err(|_| {
                    HwError::invalid("Invalid parameter user_data: must be Base64-encoded.")
                })?;
            if raw.len() > 32 * 1024 {
                return Err(HwError::invalid(
                    "Invalid parameter user_data: at most 32 KB before encoding.",
                ));
            }
            Some(u.to_string())
        }
        _ => None,
    };

    // Tags (server_tags, or the older "key.value" strings of tags).
    let mut tags: Vec<Tag> = vec![];
    if let Some(list) = server.get("server_tags").and_then(Value::as_array) {
        for t in list {
            let t = t
                .as_object()
                .ok_or_else(|| HwError::invalid("Invalid parameter server_tags."))?;
            let key = required_str(t, "key")?;
            let value = str_field(t, "value")?.unwrap_or_default();
            let bad = |s: &str| s.chars().any(|c| c.is_control() || "=*<>\\,|/".contains(c));
            if key.chars().count() > 36 || bad(key) {
                return Err(HwError::invalid(format!(
                    "Invalid parameter server_tags.key: `{key}`."
                )));
            }
            if value.chars().count() > 43
                || value
                    .chars()
                    .any(|c| c.is_control() || "=*<>\\,|".contains(c))
            {
                return Err(HwError::invalid(format!(
                    "Invalid parameter server_tags.value of `{key}`."
                )));
            }
            if tags.iter().any(|x| x.key == key) {
                return Err(HwError::invalid(format!(
                    "Invalid parameter server_tags: duplicate key `{key}`."
                )));
            }
            tags.push(Tag {
                key: key.to_string(),
                value: value.to_string(),
            });
        }
    }
    if let Some(list) = server.get("tags").and_then(Value::as_array) {
        for t in list.iter().filter_map(Value::as_str) {
            let (k, v) = t.split_once('.').unwrap_or((t, ""));
            if !tags.iter().any(|x| x.key == k) {
                tags.push(Tag {
                    key: k.to_string(),
                    value: v.to_string(),
                });
            }
        }
    }
    if tags.len() > 10 {
        return Err(HwError::invalid(
            "Invalid parameter server_tags: at most 10 tags are allowed.",
        ));
    }

    // Billing.
    let ext = server
        .get("extendparam")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(r) = str_field(&ext, "regionID")?
        && !r.is_empty()
        && r != ctx.region
    {
        return Err(HwError::invalid(format!(
            "Invalid parameter extendparam.regionID: {r}."
        )));
    }
    let mode = match ext.get("chargingMode") {
        None | Some(Value::Null) => "postPaid".to_string(),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => "postPaid".to_string(),
        Some(Value::String(s)) if s == "0" || s == "postPaid" => "postPaid".to_string(),
        Some(Value::String(s)) if s == "prePaid" && v11 => "prePaid".to_string(),
        Some(other) => {
            return Err(HwError::invalid(format!(
                "Invalid parameter extendparam.chargingMode: {other}."
            )));
        }
    };
    billing::check_op_svc_userid(ctx.account, server, mode == billing::PREPAID, key_name)?;
    let spot = str_field(&ext, "marketType")? == Some("spot");
    if spot && mode == "prePaid" {
        return Err(HwError::invalid(
            "Invalid parameter extendparam.marketType: spot servers are pay-per-use.",
        ));
    }
    let mut expires_ms = None;
    if mode == "prePaid" {
        let period_type = str_field(&ext, "periodType")?.unwrap_or_default();
        let num = int_field(&ext, "periodNum")?.ok_or_else(|| {
            HwError::invalid("Invalid parameter: extendparam.periodNum is required.")
        })?;
        let months = match period_type {
            "month" if (1..=9).contains(&num) => num,
            "year" if (1..=3).contains(&num) => num * 12,
            _ => {
                return Err(HwError::invalid(
                    "Invalid parameter extendparam.periodType / periodNum.",
                ));
            }
        };
        if str_field(&ext, "isAutoPay")? != Some("true") {
            return Err(HwError::invalid(
                "The emulator only creates yearly/monthly servers with extendparam.isAutoPay=true.",
            ));
        }
        expires_ms = months_from(ctx.now, months);
    }
    let charge = if spot { "spot" } else { mode.as_str() }.to_string();

    let settings = ctx.app.settings();
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    if let Some(quota) = settings.instance_quota {
        let used = store.count_owned(Provider::Huawei, &ctx.account.key_id, ctx.now) as u64;
        if used + count as u64 > quota {
            return Err(HwError::ecs(
                400,
                "Ecs.0001",
                format!(
                    "Insufficient ECS quota. Contact customer service to increase quota. ({used} in use, {count} requested, quota {quota})"
                ),
            ));
        }
    }
    if dry_run {
        // A dry run's token is recorded too (the strict reading: dry_run is a parameter,
        // so the real create needs its own token, else Ecs.0122).
        if let Some(t) = &ctx.client_token {
            jobs::token_record(
                &ctx.account.key_id,
                t,
                jobs::TokenUse {
                    digest,
                    first_used_ms: ctx.now,
                    created: None,
                },
            );
        }
        return Ok(Answer {
            status: 202,
            body: Some(json!({})),
        });
    }

    let d = &settings.transition_delays_ms;
    let description = str_field(server, "description")?
        .unwrap_or_default()
        .to_string();
    let reservation = format!("r-{}", random_alnum(8));
    let user_id = hex::encode(&sha2_digest(ctx.account.key_id.as_bytes())[..16]);
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let id = new_uuid();
        let this_name = if count > 1 && auto_rename {
            format!("{name}-{:04}", n + 1)
        } else {
            name.to_string()
        };
        let private_ip = store.alloc_private_ip();
        let public_ips = if bandwidth > 0 {
            vec![store.alloc_public_ip()]
        } else {
            vec![]
        };
        let mut extra = Map::new();
        extra.insert("description".into(), Value::String(description.clone()));
        extra.insert("reservation_id".into(), Value::String(reservation.clone()));
        extra.insert("user_id".into(), Value::String(user_id.clone()));
        extra.insert("port_id".into(), Value::String(new_uuid()));
        extra.insert(
            "host_id".into(),
            Value::String(hex::encode(rand::random::<[u8; 28]>())),
        );
        extra.insert(
            "instance_name".into(),
            Value::String(format!("instance-{:08x}", rand::random::<u32>())),
        );
        extra.insert(
            "mac".into(),
            Value::String(format!(
                "fa:16:3e:{:02x}:{:02x}:{:02x}",
                rand::random::<u8>(),
                rand::random::<u8>(),
                rand::random::<u8>()
            )),
        );
        let mut inst = Instance {
            provider: Provider::Huawei,
            account: ctx.account.key_id.clone(),
            region: ctx.region.to_string(),
            zone: zone.clone(),
            id: id.clone(),
            name: this_name,
            image_id: image.id.to_string(),
            instance_type: flavor.id.to_string(),
            cpu: flavor.vcpus,
            memory_gb: flavor.ram_mb / 1024,
            schedule: vec![],
            private_ips: vec![private_ip],
            public_ips,
            tags: tags.clone(),
            security_groups: sgs.clone(),
            created_ms: ctx.now,
            updated_ms: ctx.now,
            charge_type: charge.clone(),
            expires_ms,
            renew_flag: None,
            system_disk: Disk {
                disk_type: root_type.clone(),
                size_gb: root_size,
                id: Some(new_uuid()),
                delete_with_instance: true,
            },
            data_disks: data_disks
                .iter()
                .map(|dd| Disk {
                    id: Some(new_uuid()),
                    ..dd.clone()
                })
                .collect(),
            client_token: ctx.client_token.clone(),
            bandwidth_out: bandwidth,
            internet_charge_type: (bandwidth > 0).then(|| "traffic".to_string()),
            vpc_id: Some(vpc.clone()),
            subnet_id: subnet.clone(),
            key_ids: key_name.iter().map(|k| k.to_string()).collect(),
            host_name: None,
            user_data: user_data.clone(),
            project_id: Some(ctx.project.to_string()),
            last_operation: None,
            seq: 0,
            uuid: id.clone(),
            protected: false,
            stop_charging: false,
            guest_ignores_soft_stop: false,
            extra,
        };
        let end = if ctx.launch_failed {
            VmState::LaunchFailed
        } else {
            VmState::Running
        };
        inst.set_schedule(ctx.now, &[(VmState::Pending, Some(d.pending)), (end, None)]);
        inst.record_operation("CreateServers", ctx.request_id, ctx.now, inst.settles_at());
        store.insert(inst);
        ids.push(id);
    }
    let fail = ctx.launch_failed.then(|| {
        (
            "Ecs.0002".to_string(),
            "A system exception occurred while creating the server.".to_string(),
        )
    });
    let job = jobs::create(
        ctx.project,
        "createServer",
        "createSingleServer",
        ctx.now,
        ctx.now + d.pending as i64,
        ids.clone(),
        fail,
    );
    if let Some(t) = &ctx.client_token {
        jobs::token_record(
            &ctx.account.key_id,
            t,
            jobs::TokenUse {
                digest,
                first_used_ms: ctx.now,
                created: Some((job.clone(), ids.clone())),
            },
        );
        store.token_record(Provider::Huawei, &ctx.account.key_id, t, ids.clone());
    }
    let mut out = json!({"job_id": job, "serverIds": ids});
    if mode == "prePaid" {
        out["order_id"] = json!(format!("CS{}", random_alnum(16).to_ascii_uppercase()));
    }
    Ok(Answer::ok(out))
}

/// The idempotency identity of a create: the API version and the body as canonical JSON
/// (keys sorted), so the same parameters in another key order are the same request.
fn request_digest(v11: bool, body: &Map<String, Value>) -> String {
    let canonical =
        serde_json::to_vec(&canonical_json(&Value::Object(body.clone()))).unwrap_or_default();
    let mut data = if v11 {
        b"v1.1\n".to_vec()
    } else {
        b"v1\n".to_vec()
    };
    data.extend_from_slice(&canonical);
    hex::encode(sha2_digest(&data))
}

fn canonical_json(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical_json(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical_json).collect()),
        other => other.clone(),
    }
}

/// Whether `t` is a UUID of the documented form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`
/// (hex digits; the token is case-sensitive, so either case is a valid, distinct token).
pub fn is_client_token_uuid(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The `X-Client-Token` rules of the two create APIs (ECS API reference "Idempotent
/// Requests", https://support.huaweicloud.com/intl/en-us/api-ecs/en-us_topic_0000001105258814.html):
/// not a UUID → Ecs.0123; used more than 8 hours ago → Ecs.0124; used with other
/// parameters → Ecs.0122; used with the same parameters → the first request's answer.
fn client_token_replay(ctx: &Ctx, digest: &str) -> HwResult<Option<Answer>> {
    let Some(t) = &ctx.client_token else {
        return Ok(None);
    };
    if !is_client_token_uuid(t) {
        return Err(HwError::ecs(
            400,
            "Ecs.0123",
            "The X-Client-Token is invalid: it must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).",
        ));
    }
    let Some(used) = jobs::token_lookup(&ctx.account.key_id, t) else {
        return Ok(None);
    };
    if ctx.now - used.first_used_ms >= jobs::TOKEN_LIFETIME_MS {
        return Err(HwError::ecs(
            400,
            "Ecs.0124",
            "The X-Client-Token has expired (tokens are valid for 8 hours).",
        ));
    }
    if used.digest != digest {
        return Err(HwError::ecs(
            400,
            "Ecs.0122",
            "The X-Client-Token was already used by a request with different parameters.",
        ));
    }
    Ok(Some(match used.created {
        None => Answer {
            status: 202,
            body: Some(json!({})),
        },
        Some((job, ids)) => Answer::ok(json!({"job_id": job, "serverIds": ids})),
    }))
}

fn sha2_digest(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

fn show_job(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let job = jobs::get(id)
        .filter(|j| j.project == ctx.project)
        .ok_or_else(|| HwError::ecs(404, "Ecs.0005", format!("The job {id} does not exist.")))?;
    Ok(Answer::ok(jobs::render(&job, ctx.now)))
}

fn server_action(ctx: &Ctx) -> HwResult<Answer> {
    let body = ctx.json()?;
    let keys: Vec<&String> = body.keys().collect();
    if keys.len() != 1 {
        return Err(HwError::invalid(
            "Invalid request body: exactly one of os-start, os-stop or reboot is expected.",
        ));
    }
    let kind = keys[0].as_str();
    let opt = body[kind]
        .as_object()
        .ok_or_else(|| HwError::invalid(format!("Invalid parameter {kind}.")))?;
    let ids = servers_list(opt, "servers")?;
    let kind_type = match kind {
        "os-start" => None,
        "os-stop" => Some(str_field(opt, "type")?.unwrap_or("SOFT").to_string()),
        "reboot" => Some(
            str_field(opt, "type")?
                .ok_or_else(|| HwError::invalid("Invalid parameter: reboot.type is required."))?
                .to_string(),
        ),
        other => {
            return Err(HwError::invalid(format!(
                "Invalid request body: unknown action {other}."
            )));
        }
    };
    if let Some(t) = &kind_type
        && !matches!(t.as_str(), "SOFT" | "HARD")
    {
        return Err(HwError::invalid(format!(
            "Invalid parameter {kind}.type: must be SOFT or HARD."
        )));
    }
    let d = ctx.app.settings().transition_delays_ms;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    for id in &ids {
        let i = owned(&store, ctx, id)?;
        let s = i.state_at(ctx.now);
        let ok = match kind {
            "os-start" => s == VmState::Stopped,
            _ => s == VmState::Running,
        };
        if !ok {
            return Err(bad_state(id, render::status(i, ctx.now).0));
        }
    }
    let mut end = ctx.now;
    for id in &ids {
        let Some(i) = store.get_mut(id, ctx.now) else {
            continue;
        };
        match kind {
            "os-start" => {
                i.set_schedule(
                    ctx.now,
                    &[
                        (VmState::Starting, Some(d.starting)),
                        (VmState::Running, None),
                    ],
                );
            }
            "os-stop" => {
                let soft = kind_type.as_deref() != Some("HARD");
                let phases = i.stop_schedule(soft, false, d.stopping);
                i.set_schedule(ctx.now, &phases);
            }
            _ => {
                i.extra.insert(
                    "reboot_type".into(),
                    Value::String(kind_type.clone().unwrap_or_default()),
                );
                i.set_schedule(
                    ctx.now,
                    &[
                        (VmState::Rebooting, Some(d.rebooting)),
                        (VmState::Running, None),
                    ],
                );
            }
        }
        let settles = i.settles_at();
        i.record_operation(kind, ctx.request_id, ctx.now, settles);
        end = end.max(settles);
    }
    let (job_type, sub) = match kind {
        "os-start" => ("batchStartServers", "startServer"),
        "os-stop" => ("batchStopServers", "stopServer"),
        _ => ("batchRebootServers", "rebootServer"),
    };
    let job = jobs::create(ctx.project, job_type, sub, ctx.now, end, ids, None);
    Ok(Answer::ok(json!({ "job_id": job })))
}

fn delete_servers(ctx: &Ctx) -> HwResult<Answer> {
    let body = ctx.json()?;
    let ids = servers_list(&body, "servers")?;
    bool_field(&body, "delete_publicip")?;
    let delete_volume = bool_field(&body, "delete_volume")?.unwrap_or(false);
    let d = ctx.app.settings().transition_delays_ms;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    for id in &ids {
        let i = owned(&store, ctx, id)?;
        if i.state_at(ctx.now) == VmState::Terminating {
            return Err(bad_state(id, "deleting"));
        }
        if billing::is_prepaid(i) {
            return Err(billing::delete_refused(id));
        }
    }
    let mut end = ctx.now;
    for id in &ids {
        let Some(i) = store.get_mut(id, ctx.now) else {
            continue;
        };
        let before = render::status(i, ctx.now).0;
        i.extra.insert(
            "status_before_delete".into(),
            Value::String(before.to_string()),
        );
        if delete_volume {
            for dd in &mut i.data_disks {
                dd.delete_with_instance = true;
            }
        }
        i.set_schedule(
            ctx.now,
            &[
                (VmState::Terminating, Some(d.terminating)),
                (VmState::Terminated, Some(d.shutdown)),
                (VmState::Gone, None),
            ],
        );
        let done = ctx.now + d.terminating as i64;
        i.record_operation("DeleteServers", ctx.request_id, ctx.now, done);
        end = end.max(done);
    }
    let job = jobs::create(
        ctx.project,
        "deleteServers",
        "deleteServer",
        ctx.now,
        end,
        ids,
        None,
    );
    Ok(Answer::ok(json!({ "job_id": job })))
}

const STATUSES: &[&str] = &[
    "ACTIVE",
    "BUILD",
    "DELETED",
    "ERROR",
    "HARD_REBOOT",
    "MIGRATING",
    "REBOOT",
    "RESIZE",
    "REVERT_RESIZE",
    "SHELVED",
    "SHELVED_OFFLOADED",
    "SHUTOFF",
    "UNKNOWN",
    "VERIFY_RESIZE",
];

fn list_servers(ctx: &Ctx) -> HwResult<Answer> {
    let offset = ctx.q_int("offset", 1, 0, i64::from(i32::MAX))?.max(1) as usize;
    let limit = ctx.q_int("limit", 25, 1, 1000)? as usize;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);

    if let Some(ids) = ctx.q("server_id") {
        let ids: Vec<&str> = ids
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if ids.len() > 1000 {
            return Err(HwError::invalid(
                "Invalid parameter server_id: too many ids.",
            ));
        }
        let servers: Vec<Value> = ids
            .iter()
            .map(|id| match owned(&store, ctx, id) {
                Ok(i) => render::server(i, ctx.now),
                Err(_) => render::missing_server(id),
            })
            .collect();
        return Ok(Answer::ok(
            json!({"count": servers.len(), "servers": servers}),
        ));
    }

    let name = ctx.q("name");
    let status = ctx.q("status");
    if let Some(s) = status
        && !STATUSES.contains(&s)
    {
        return Err(HwError::invalid(format!("Invalid parameter status: {s}.")));
    }
    let tag = ctx.q("tags");
    let not_tag = ctx.q("not-tags");
    let flavor = ctx.q("flavor");
    let ip = ctx.q("ip");
    let ip_eq = ctx.q("ip_eq");
    let has_tag = |i: &Instance, t: &str| {
        i.tags
            .iter()
            .any(|x| format!("{}={}", x.key, x.value) == t || (!t.contains('=') && x.key == t))
    };
    let all = store.list(ctx.now, |i| {
        visible(i, ctx)
            && name.is_none_or(|n| i.name.contains(n))
            && status.is_none_or(|s| render::status(i, ctx.now).0 == s)
            && tag.is_none_or(|t| has_tag(i, t))
            && not_tag.is_none_or(|t| !has_tag(i, t))
            && flavor.is_none_or(|f| i.instance_type == f)
            && ip.is_none_or(|p| i.private_ips.iter().any(|x| x.contains(p)))
            && ip_eq.is_none_or(|p| i.private_ips.iter().any(|x| x == p))
    });
    let start = match ctx.q("marker") {
        Some(m) => all
            .iter()
            .position(|i| i.id == m)
            .map(|p| p + 1)
            .unwrap_or(all.len()),
        None => (offset - 1) * limit,
    };
    let total = all.len();
    let servers: Vec<Value> = all
        .into_iter()
        .skip(start)
        .take(limit)
        .map(|i| render::server(i, ctx.now))
        .collect();
    Ok(Answer::ok(json!({"count": total, "servers": servers})))
}

fn show_server(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    // A deleted server stays visible here (status DELETED) until it is purged.
    let i = store
        .get(id, ctx.now)
        .filter(|i| {
            i.provider == Provider::Huawei
                && i.account == ctx.account.key_id
                && i.project_id.as_deref() == Some(ctx.project)
        })
        .ok_or_else(|| not_found(id))?;
    Ok(Answer::ok(json!({"server": render::server(i, ctx.now)})))
}

fn update_server(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let body = ctx.json()?;
    let server = body
        .get("server")
        .and_then(Value::as_object)
        .ok_or_else(|| HwError::invalid("Invalid parameter: server is required."))?;
    let name = str_field(server, "name")?;
    if let Some(n) = name {
        check_name(n, 64)?;
    }
    let hostname = str_field(server, "hostname")?;
    if let Some(h) = hostname {
        let ok = (1..=64).contains(&h.len())
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            && !h.starts_with(['.', '-'])
            && !h.ends_with(['.', '-'])
            && !h.contains("..")
            && !h.contains("--");
        if !ok {
            return Err(HwError::invalid(format!(
                "Invalid parameter hostname: `{h}`."
            )));
        }
    }
    let description = str_field(server, "description")?;
    if description.is_some_and(|d| d.chars().count() > 85 || d.contains(['<', '>'])) {
        return Err(HwError::invalid("Invalid parameter description."));
    }
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    owned(&store, ctx, id)?;
    let Some(i) = store.get_mut(id, ctx.now) else {
        return Err(not_found(id));
    };
    if let Some(n) = name {
        i.name = n.to_string();
    }
    if let Some(h) = hostname {
        i.host_name = Some(h.to_string());
    }
    if let Some(d) = description {
        i.extra
            .insert("description".into(), Value::String(d.to_string()));
    }
    i.updated_ms = ctx.now;
    let v = render::server(i, ctx.now);
    Ok(Answer::ok(json!({"server": v})))
}

fn resize(ctx: &Ctx, id: &str, v11: bool) -> HwResult<Answer> {
    let body = ctx.json()?;
    let dry_run = bool_field(&body, "dry_run")?.unwrap_or(false);
    let opt = body
        .get("resize")
        .and_then(Value::as_object)
        .ok_or_else(|| HwError::invalid("Invalid parameter: resize is required."))?;
    let flavor_ref = required_str(opt, "flavorRef")?;
    let flavor = catalog::flavor(flavor_ref).ok_or_else(|| {
        HwError::invalid(format!(
            "Invalid parameter flavorRef: flavor {flavor_ref} does not exist."
        ))
    })?;
    let with_stop = str_field(opt, "mode")? == Some("withStopServer");
    let d = ctx.app.settings().transition_delays_ms;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let i = owned(&store, ctx, id)?;
    let prepaid = billing::is_prepaid(i);
    if prepaid && !v11 {
        return Err(billing::postpaid_resize_refused(id));
    }
    if i.instance_type == flavor.id {
        return Err(HwError::ecs(
            400,
            "Ecs.0009",
            "Another flavor must be used for resizing.",
        ));
    }
    let s = i.state_at(ctx.now);
    if !(s == VmState::Stopped || (with_stop && s == VmState::Running)) {
        return Err(bad_state(id, render::status(i, ctx.now).0));
    }
    if flavor.sold_out.contains(&i.zone.as_str()) {
        return Err(HwError::invalid(format!(
            "The flavor {flavor_ref} is sold out in {}.",
            i.zone
        )));
    }
    if dry_run {
        return Ok(Answer {
            status: 202,
            body: Some(json!({})),
        });
    }
    let Some(i) = store.get_mut(id, ctx.now) else {
        return Err(not_found(id));
    };
    let until = ctx.now + d.resize as i64;
    i.instance_type = flavor.id.to_string();
    i.cpu = flavor.vcpus;
    i.memory_gb = flavor.ram_mb / 1024;
    i.extra.insert("resize_until".into(), json!(until));
    let action = if v11 {
        "ResizeServer"
    } else {
        "ResizePostPaidServer"
    };
    i.record_operation(action, ctx.request_id, ctx.now, until);
    i.updated_ms = ctx.now;
    let job = jobs::create(
        ctx.project,
        "resizeServer",
        "",
        ctx.now,
        until,
        vec![id.to_string()],
        None,
    );
    if prepaid {
        // A yearly/monthly resize is an order (paid automatically with isAutoPay=true).
        let order = format!("CS{}", &new_uuid().replace('-', "")[..18]);
        return Ok(Answer::ok(json!({ "order_id": order, "job_id": job })));
    }
    Ok(Answer::ok(json!({ "job_id": job })))
}

fn change_os(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let body = ctx.json()?;
    let opt = body
        .get("os-change")
        .and_then(Value::as_object)
        .ok_or_else(|| HwError::invalid("Invalid parameter: os-change is required."))?;
    let image_id = required_str(opt, "imageid")?;
    let image = catalog::image(image_id).ok_or_else(|| {
        HwError::invalid(format!(
            "Invalid parameter imageid: image {image_id} does not exist."
        ))
    })?;
    let pass = str_field(opt, "adminpass")?.filter(|s| !s.is_empty());
    if let Some(p) = pass {
        check_password(p)?;
    }
    let key = str_field(opt, "keyname")?.filter(|s| !s.is_empty());
    if pass.is_some() && key.is_some() {
        return Err(HwError::invalid(
            "Invalid parameter: adminpass and keyname cannot both be set.",
        ));
    }
    let with_stop = str_field(opt, "mode")? == Some("withStopServer");
    let user_data = opt
        .get("metadata")
        .and_then(Value::as_object)
        .and_then(|m| m.get("user_data"))
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    billing::check_changeos_login(ctx.account, opt, key, pass.is_some(), user_data.is_some())?;
    let d = ctx.app.settings().transition_delays_ms;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let i = owned(&store, ctx, id)?;
    let s = i.state_at(ctx.now);
    if !(s == VmState::Stopped || (with_stop && s == VmState::Running)) {
        return Err(bad_state(id, render::status(i, ctx.now).0));
    }
    let Some(i) = store.get_mut(id, ctx.now) else {
        return Err(not_found(id));
    };
    i.image_id = image.id.to_string();
    i.system_disk.id = Some(new_uuid());
    if let Some(k) = key {
        i.key_ids = vec![k.to_string()];
    } else if pass.is_some() {
        i.key_ids.clear();
    }
    if let Some(u) = user_data {
        i.user_data = Some(u);
    }
    // The OS change runs with the server stopped and starts it when done.
    i.set_schedule(
        ctx.now,
        &[
            (VmState::Resetting, Some(d.resetting)),
            (VmState::Running, None),
        ],
    );
    let settles = i.settles_at();
    i.record_operation(
        "ChangeServerOsWithCloudInit",
        ctx.request_id,
        ctx.now,
        settles,
    );
    let job = jobs::create(
        ctx.project,
        "changeOS",
        "",
        ctx.now,
        settles,
        vec![id.to_string()],
        None,
    );
    Ok(Answer::ok(json!({ "job_id": job })))
}

fn nova_action(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let body = ctx
        .json()
        .map_err(|_| HwError::nova(400, "Malformed request body"))?;
    let (kind, opt) = body
        .iter()
        .next()
        .ok_or_else(|| HwError::nova(400, "Malformed request body"))?;
    if !matches!(kind.as_str(), "addSecurityGroup" | "removeSecurityGroup") {
        return Err(HwError::nova(
            400,
            format!("The emulator does not implement the server action {kind}."),
        ));
    }
    let sg = opt
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            HwError::nova(
                400,
                format!("Invalid input for field/attribute {kind}: 'name' is a required property"),
            )
        })?
        .to_string();
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let i = owned(&store, ctx, id)
        .map_err(|_| HwError::nova(404, format!("Instance {id} could not be found.")))?;
    let present = i.security_groups.contains(&sg);
    if kind == "addSecurityGroup" && present {
        return Err(HwError::nova(
            400,
            format!("Security group {sg} is already associated with the instance {id}"),
        ));
    }
    if kind == "removeSecurityGroup" && !present {
        return Err(HwError::nova(
            404,
            format!("Security group {sg} not associated with the instance {id}"),
        ));
    }
    let Some(i) = store.get_mut(id, ctx.now) else {
        return Err(HwError::nova(
            404,
            format!("Instance {id} could not be found."),
        ));
    };
    if kind == "addSecurityGroup" {
        i.security_groups.push(sg);
    } else {
        i.security_groups.retain(|g| g != &sg);
    }
    i.updated_ms = ctx.now;
    Ok(Answer {
        status: 202,
        body: None,
    })
}

fn list_flavors(ctx: &Ctx) -> HwResult<Answer> {
    let az = ctx.q("availability_zone");
    if let Some(z) = az
        && !catalog::zones(ctx.region).iter().any(|x| x == z)
    {
        return Err(HwError::invalid(format!(
            "Invalid parameter availability_zone: {z}."
        )));
    }
    let flavors: Vec<Value> = catalog::FLAVORS
        .iter()
        .filter(|f| ctx.q("flavor_id").is_none_or(|id| id == f.id))
        .filter(|f| az.is_none_or(|z| !f.sold_out.contains(&z)))
        .map(|f| render::flavor(f, &catalog::zones(ctx.region)))
        .collect();
    Ok(Answer::ok(json!({ "flavors": flavors })))
}

fn list_images(ctx: &Ctx) -> HwResult<Answer> {
    let limit = ctx.q_int("limit", 500, 1, 1000)? as usize;
    let status = ctx.q("status");
    let kind = ctx.q("__imagetype");
    let os_type = ctx.q("__os_type");
    let id = ctx.q("id");
    let name = ctx.q("name");
    let all: Vec<&catalog::ImageInfo> = catalog::IMAGES
        .iter()
        .filter(|_| status.is_none_or(|s| s == "active"))
        .filter(|_| kind.is_none_or(|k| k == "gold"))
        .filter(|i| os_type.is_none_or(|o| o == i.os_type))
        .filter(|i| id.is_none_or(|x| x == i.id))
        .filter(|i| name.is_none_or(|x| x == i.name))
        .collect();
    let start = match ctx.q("marker") {
        Some(m) => all
            .iter()
            .position(|i| i.id == m)
            .map(|p| p + 1)
            .unwrap_or(all.len()),
        None => 0,
    };
    let page: Vec<&catalog::ImageInfo> = all.iter().skip(start).take(limit).copied().collect();
    let mut out = json!({
        "images": page.iter().map(|i| render::image(i)).collect::<Vec<_>>(),
        "first": format!("/v2/cloudimages?limit={limit}"),
        "schema": "/v2/schemas/images",
    });
    if start + limit < all.len()
        && let Some(last) = page.last()
    {
        out["next"] = json!(format!("/v2/cloudimages?limit={limit}&marker={}", last.id));
    }
    Ok(Answer::ok(out))
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
