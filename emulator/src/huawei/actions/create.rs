//! CreateServers (v1 and the yearly/monthly v1.1): validation, mapping to a stored
//! instance, and the X-Client-Token idempotency rules.

use super::*;

/// EIP types the EIP API documents (see `create_servers`), for regions it does not list.
const EIP_TYPES: &[&str] = &["5_bgp", "5_sbgp", "5_youxuanbgp", "5_telcom", "5_union"];

pub(super) fn create_servers(ctx: &Ctx, v11: bool) -> HwResult<Answer> {
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
    // isAutoRename (count > 1): whether the servers may share one name, default true (SDK
    // huaweicloudsdkecs/v2/model/post_paid_server.py `is_auto_rename`: "True，表示允许重名";
    // ECS FAQ ecs_faq_0620 "Allow duplicate name ... the created ECSs will have the same
    // name"); false = distinct names with a "-0001"-style suffix.
    let allow_duplicate_names = bool_field(server, "isAutoRename")?.unwrap_or(true);

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
    let mut fixed_ip = None;
    for (index, n) in nics.iter().enumerate() {
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
        let ip = str_field(n, "ip_address")?.filter(|s| !s.is_empty());
        // A port given wins over the subnet, and then ip_address has no effect (SDK
        // post_paid_server_nic.py `port_id`); the emulator keeps no ports to check.
        if p.is_none()
            && let Some(s) = s
        {
            check_nic_subnet(ctx.region, &vpc, s, index, ip)?;
        }
        if index == 0 {
            subnet = s.map(str::to_string);
            fixed_ip = ip.filter(|_| p.is_none()).map(str::to_string);
        }
    }
    if let Some(ip) = &fixed_ip {
        // "若指定IP地址，该IP地址必须在子网（subnet）对应的网段内，且未被使用" (SDK
        // post_paid_server_nic.py `ip_address`): in use → Ecs.0010 "The private IP address
        // is already being used" (API ecs_07_0002). One address serves one server only.
        if count > 1 {
            return Err(HwError::invalid(
                "Invalid parameter nics.ip_address: a fixed address serves one server (count 1).",
            ));
        }
        if ctx.app.store().ip_in_use(ip) {
            return Err(HwError::ecs(
                400,
                "Ecs.0010",
                format!("Private IP address {ip} is already in use."),
            ));
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
            // "需要指定已有安全组的ID，UUID格式" (SDK post_paid_server_security_group.py,
            // pre_paid_server_security_group.py `id`): a group the region does not have is
            // Ecs.0014 "Incorrect VPC, subnet, or security group parameter values." (VPC参数不
            // 合法), the ECS error table's code naming security groups (API ecs_07_0002; 2024
            // snapshot huaweicloudDocs/ecs 错误码.md); it documents no code of its own for an
            // unknown group. Groups are regional, not per VPC (`catalog::SecurityGroupInfo`).
            if catalog::security_group(ctx.region, id).is_none() {
                return Err(HwError::ecs(
                    400,
                    "Ecs.0014",
                    format!(
                        "Incorrect VPC, subnet, or security group parameter values: security \
                         group [{id}] does not exist in {}.",
                        ctx.region
                    ),
                ));
            }
            sgs.push(id.to_string());
        }
    }
    if sgs.is_empty() {
        // "当该值指定为空时，默认给云服务器绑定default安全组" (SDK post_paid_server.py)
        sgs.push(catalog::default_security_group(ctx.region));
    }
    let mut bandwidth = 0u64;
    if let Some(pip) = server.get("publicip").and_then(Value::as_object)
        && let Some(eip) = pip.get("eip").and_then(Value::as_object)
    {
        // iptype: an EIP type, "详情请参见申请弹性公网IP" (SDK post_paid_server_eip.py
        // `iptype`); the EIP API lists the types per region and requires "必须是系统具体支持的
        // 类型" (https://support.huaweicloud.com/api-eip/eip_api_0001.html, eip_api_0006.html;
        // `catalog::eip_types`). In a region the pages do not list, the emulator accepts the
        // union of the documented types. No specific code is documented: Ecs.0005.
        let iptype = required_str(eip, "iptype")?;
        let offered = catalog::eip_types(ctx.region).unwrap_or(EIP_TYPES);
        if !offered.contains(&iptype) {
            return Err(HwError::invalid(format!(
                "Invalid parameter publicip.eip.iptype: {iptype} is not offered in {} ({}).",
                ctx.region,
                offered.join(", ")
            )));
        }
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
            let key = str_field(t, "key")?.ok_or_else(|| {
                HwError::invalid("Invalid parameter: server_tags.key is required.")
            })?;
            let value = str_field(t, "value")?.unwrap_or_default();
            check_tag(key, value)?;
            if tags.iter().any(|x| x.key == key) {
                return Err(HwError::ecs(
                    400,
                    "Ecs.0908",
                    format!("The tag key cannot be duplicate: `{key}`."),
                ));
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
        return Err(HwError::ecs(
            400,
            "Ecs.0905",
            "The number of tags exceeds the maximum allowed limit (10).",
        ));
    }

    check_metadata(server)?;

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
        let this_name = if count > 1 && !allow_duplicate_names {
            format!("{name}-{:04}", n + 1)
        } else {
            name.to_string()
        };
        let private_ip = match &fixed_ip {
            Some(ip) => ip.clone(),
            None => store.alloc_private_ip(),
        };
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
            name: this_name,
            image_id: image.id.to_string(),
            instance_type: flavor.id.to_string(),
            cpu: flavor.vcpus,
            memory_gb: flavor.ram_mb / 1024,
            private_ips: vec![private_ip],
            public_ips,
            tags: tags.clone(),
            security_groups: sgs.clone(),
            charge_type: charge.clone(),
            expires_ms,
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
            user_data: user_data.clone(),
            project_id: Some(ctx.project.to_string()),
            uuid: id.clone(),
            extra,
            ..Instance::new(
                Provider::Huawei,
                &ctx.account.key_id,
                ctx.region,
                &zone,
                &id,
                ctx.now,
            )
        };
        let end = if ctx.launch_failed {
            VmState::LaunchFailed
        } else {
            VmState::Running
        };
        inst.launch(ctx.now, d.pending, end, "CreateServers", ctx.request_id);
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
pub(super) fn request_digest(v11: bool, body: &Map<String, Value>) -> String {
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

pub(super) fn canonical_json(v: &Value) -> Value {
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

/// Whether `t` is a UUID of the documented form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex
/// digits in either case: client tokens (case-sensitive, so either case is a valid, distinct
/// token) and security-group ids.
pub fn is_uuid(t: &str) -> bool {
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
pub(super) fn client_token_replay(ctx: &Ctx, digest: &str) -> HwResult<Option<Answer>> {
    let Some(t) = &ctx.client_token else {
        return Ok(None);
    };
    if !is_uuid(t) {
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

pub(super) fn sha2_digest(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

/// Server tag rules (SDK huaweicloudsdkecs/v2/model/post_paid_server_tag.py: key 1-36
/// Unicode characters, value at most 43, neither with ASCII 0-31 nor `= * < > \ , |`, the
/// key not `/` either) with the ECS error codes (API 错误码 zh-cn_topic_0022067717):
/// Ecs.0906 "Failed to comply with tag character set specifications" (标签的属性非法: the
/// lengths), Ecs.0907 "Invalid tag character set" (标签字符集不合法: a forbidden character).
/// The subnet of NIC `index` against `vpcid` and the NIC's `ip_address`, against the
/// region's subnets (`catalog::SUBNETS`, a closed catalog). Codes of the ECS error table
/// (https://support.huaweicloud.com/api-ecs/ecs_07_0002.html; 2024 snapshot
/// `huaweicloudDocs/ecs` `cn.zh-cn/API参考/错误码.md`):
/// - a subnet the region does not have: Ecs.0038 "The subnet does not exist." (子网不存在,
///   处理措施 请调整网络参数); SDK post_paid_server_nic.py `subnet_id` "需要指定vpcid对应VPC下的
///   子网ID，UUID格式";
/// - the primary NIC's subnet in another VPC: Ecs.0064 "The VPC ID in the request is
///   inconsistent with that in the main subnet ID" (请求体中的vpcId与主网卡的vpcId不一致);
/// - another NIC's subnet in another VPC: Ecs.0014 "Incorrect VPC, subnet, or security group
///   parameter values" (处理措施: 请检查子网是否都属于同一个虚拟机私有云); both from SDK
///   post_paid_server.py `nics` "网卡对应的子网（subnet）必须属于vpcid对应的VPC";
/// - an `ip_address` outside the subnet: Ecs.0005 with `details` Ecs.0039 "The specified IP
///   address does not belong to the subnet", exactly as the create pages' 响应示例 show it
///   (`"message": "privateIp [%s] is not in this subnet [%s]"`, zh-cn_topic_0020212668,
///   ecs_02_0101); SDK post_paid_server_nic.py `ip_address` "必须在子网（subnet）对应的网段内".
fn check_nic_subnet(
    region: &str,
    vpc: &str,
    subnet: &str,
    index: usize,
    ip: Option<&str>,
) -> HwResult<()> {
    if let Some(ip) = ip
        && ip.parse::<std::net::Ipv4Addr>().is_err()
    {
        return Err(HwError::invalid(format!(
            "Invalid parameter nics.ip_address: {ip} is not an IPv4 address."
        )));
    }
    let Some(known) = catalog::subnet(region, subnet) else {
        return Err(HwError::ecs(
            400,
            "Ecs.0038",
            format!("The subnet does not exist: subnet [{subnet}] in {region}."),
        ));
    };
    if known.vpc_id != vpc {
        return Err(if index == 0 {
            HwError::ecs(
                400,
                "Ecs.0064",
                format!(
                    "vpcId [{vpc}] is inconsistent with the vpcId of the primary nic subnet [{subnet}]."
                ),
            )
        } else {
            HwError::ecs(
                400,
                "Ecs.0014",
                format!("subnet [{subnet}] does not belong to vpc [{vpc}]."),
            )
        });
    }
    if let Some(ip) = ip
        && catalog::in_cidr(ip, known.cidr) != Some(true)
    {
        return Err(
            HwError::invalid(format!("privateIp [{ip}] is not in this subnet [{subnet}]"))
                .with_detail("Ecs.0039"),
        );
    }
    Ok(())
}

fn check_tag(key: &str, value: &str) -> HwResult<()> {
    let forbidden = |s: &str, extra: &str| {
        s.chars()
            .any(|c| (c as u32) < 32 || "=*<>\\,|".contains(c) || extra.contains(c))
    };
    if key.is_empty() || key.chars().count() > 36 || value.chars().count() > 43 {
        return Err(HwError::ecs(
            400,
            "Ecs.0906",
            format!(
                "Failed to comply with tag character set specifications: `{key}` \
                 (key 1-36 characters, value at most 43)."
            ),
        ));
    }
    if forbidden(key, "/") || forbidden(value, "") {
        return Err(HwError::ecs(
            400,
            "Ecs.0907",
            format!("Invalid tag character set: `{key}`."),
        ));
    }
    Ok(())
}

/// `metadata` of a create (SDK huaweicloudsdkecs/v2/model/post_paid_server.py and
/// pre_paid_server.py `metadata`): at most 10 pairs, keys of 1-255 characters of
/// `A-Z a-z 0-9 - _ : .`, string values of at most 255 characters. No specific code is
/// documented: Ecs.0005 (参数非法).
fn check_metadata(server: &Map<String, Value>) -> HwResult<()> {
    let Some(meta) = server.get("metadata") else {
        return Ok(());
    };
    let meta = meta
        .as_object()
        .ok_or_else(|| HwError::invalid("Invalid parameter metadata: must be an object."))?;
    if meta.len() > 10 {
        return Err(HwError::invalid(
            "Invalid parameter metadata: at most 10 key/value pairs are allowed.",
        ));
    }
    for (k, v) in meta {
        if k.is_empty()
            || k.chars().count() > 255
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c))
        {
            return Err(HwError::invalid(format!(
                "Invalid parameter metadata: key `{k}`."
            )));
        }
        let v = v.as_str().ok_or_else(|| {
            HwError::invalid(format!("Invalid parameter metadata.{k}: must be a string."))
        })?;
        if v.chars().count() > 255 {
            return Err(HwError::invalid(format!(
                "Invalid parameter metadata.{k}: at most 255 characters."
            )));
        }
    }
    Ok(())
}
