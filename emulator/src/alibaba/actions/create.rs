//! RunInstances: parameter checks and mapping of the request to new stored instances.

use super::*;

/// Password: 8–30 characters, at least three of upper case, lower case, digits and the
/// special characters ``( ) ` ~ ! @ # $ % ^ & * - _ + = | { } [ ] : ; ' < > , . ? /``; "Passwords
/// of Windows instances cannot start with a forward slash (/)". Sources: AlibabaCloudDocs/ecs
/// `Instances/RunInstances.md`, `Instances/ModifyInstanceAttribute.md`,
/// `Disk/ReplaceSystemDisk.md` (Password rows; `InvalidPassword.Malformed`, 400). The SDK
/// comment (`RunInstancesRequest.password`) shows `\\"` where the docs show `'`; the docs
/// decide, so `\` and `"` are refused.
pub(super) fn check_password(p: &str, windows: bool) -> AliResult<()> {
    const SPECIAL: &str = "()`~!@#$%^&*-_+=|{}[]:;'<>,.?/";
    let len_ok = (8..=30).contains(&p.chars().count());
    let classes = [
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| SPECIAL.contains(c)),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let charset_ok = p
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || SPECIAL.contains(c));
    if !len_ok || classes < 3 || !charset_ok || (windows && p.starts_with('/')) {
        return Err(AliError::new(
            400,
            "InvalidPassword.Malformed",
            "Specified parameter Password is not valid.",
        ));
    }
    Ok(())
}

/// InstanceName: 2–128 characters, Unicode letters and digits plus `: _ . -`, starting with a
/// letter, not `http://`/`https://`; `[`, `]` and `,` only in RunInstances (sequential
/// names). Sources: SDK `RunInstancesRequest.instance_name` (charset, "[] and ," for
/// sequential names), `ModifyInstanceAttributeRequest.instance_name` ("must start with a
/// letter and cannot start with http:// or https://"), AlibabaCloudDocs/ecs
/// `Instances/RunInstances.md` (`InvalidInstanceName.Malformed`, 400).
pub(super) fn check_instance_name(n: &str, sequential: bool) -> AliResult<()> {
    let len = n.chars().count();
    let first_ok = n.chars().next().is_some_and(|c| c.is_alphabetic());
    let chars_ok = n.chars().all(|c| {
        c.is_alphanumeric()
            || matches!(c, ':' | '_' | '.' | '-')
            || (sequential && matches!(c, '[' | ']' | ','))
    });
    let lower = n.to_ascii_lowercase();
    if !(2..=128).contains(&len)
        || !first_ok
        || !chars_ok
        || lower.starts_with("http://")
        || lower.starts_with("https://")
    {
        return Err(AliError::new(
            400,
            "InvalidInstanceName.Malformed",
            "The specified parameter \"InstanceName\" is not valid.",
        ));
    }
    Ok(())
}

/// PasswordInherit=true with a Password: `InvalidPasswordParam.Mismatch` (400) in the
/// RunInstances and ReplaceSystemDisk error tables (AlibabaCloudDocs/ecs
/// `Instances/RunInstances.md`, `Disk/ReplaceSystemDisk.md`; SDK
/// `RunInstancesRequest.password_inherit`: "the Password parameter must be left empty").
pub(super) fn password_inherit_mismatch() -> AliError {
    AliError::new(
        400,
        "InvalidPasswordParam.Mismatch",
        "The input password should be null when passwdInherit is true.",
    )
}

/// HostName: never starts or ends with `.` or `-`, no `..` or `--`. Windows: 2–15
/// characters, letters, digits and `-`, no `.`, not only digits. Others: 2–64 characters,
/// `.`-separated segments of letters, digits and `-`. Sources: SDK
/// `RunInstancesRequest.host_name`, AlibabaCloudDocs/ecs `Instances/RunInstances.md` and
/// `Instances/ModifyInstanceAttribute.md` (HostName rows; `InvalidHostName.Malformed`, 400).
pub(super) fn check_host_name(n: &str, windows: bool) -> AliResult<()> {
    let common = n
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !n.starts_with(['.', '-'])
        && !n.ends_with(['.', '-'])
        && !n.contains("..")
        && !n.contains("--");
    let ok = if windows {
        common
            && (2..=15).contains(&n.len())
            && !n.contains('.')
            && !n.chars().all(|c| c.is_ascii_digit())
    } else {
        common && (2..=64).contains(&n.len())
    };
    if !ok {
        return Err(AliError::new(
            400,
            "InvalidHostName.Malformed",
            "Specified parameter HostName is not valid.",
        ));
    }
    Ok(())
}

/// The HostName placeholder RunInstances replaces with each instance's id (SDK
/// `RunInstancesRequest.host_name`).
const INSTANCE_ID_PLACEHOLDER: &str = "${instance_id}";

pub(super) use super::super::membership::check_sg;

pub(super) fn check_tags(tags: &[(String, Option<String>)]) -> AliResult<()> {
    if tags.len() > 20 {
        return Err(AliError::new(
            400,
            "InvalidTagCount",
            "The number of tags exceeds 20.",
        ));
    }
    for (k, v) in tags {
        let lower = k.to_ascii_lowercase();
        if k.chars().count() > 128
            || lower.starts_with("aliyun")
            || lower.starts_with("acs:")
            || lower.contains("http://")
            || lower.contains("https://")
        {
            return Err(AliError::new(
                400,
                "InvalidTagKey.Malformed",
                format!("The specified tag key `{k}` is not valid."),
            ));
        }
        if v.as_deref().is_some_and(|v| {
            v.chars().count() > 128 || v.contains("http://") || v.contains("https://")
        }) {
            return Err(AliError::new(
                400,
                "InvalidTagValue.Malformed",
                format!("The value of tag `{k}` is not valid."),
            ));
        }
    }
    Ok(())
}

pub(super) fn check_disk_category(name: &str, cat: &str, code: &str) -> AliResult<()> {
    if !catalog::DISK_CATEGORIES.contains(&cat) {
        return Err(AliError::new(
            400,
            code,
            format!("The specified {name} `{cat}` is not supported."),
        ));
    }
    Ok(())
}

pub(super) fn run_instances(ctx: &Ctx) -> AliResult<Fields> {
    let region = ctx.region()?;
    let image_id = ctx.req("ImageId")?;
    let image = catalog::image(&image_id).ok_or_else(|| {
        AliError::new(
            404,
            "InvalidImageId.NotFound",
            format!("The specified ImageId `{image_id}` does not exist."),
        )
    })?;
    let type_id = ctx.req("InstanceType")?;
    let itype = catalog::instance_type(&type_id).ok_or_else(|| {
        AliError::new(
            400,
            "InvalidInstanceType.ValueNotSupported",
            format!("The specified InstanceType `{type_id}` does not exist or beyond the permitted range."),
        )
    })?;
    // VSwitchId: "If you create a VPC-type ECS instance, you must specify a vSwitch ID"
    // (SDK `RunInstancesRequest.v_switch_id`); every security group the emulator knows is
    // of the VPC type (the classic network is not modelled). Missing: `InvalidVSwitchId.Necessary`
    // (400, "The VSwitchId is necessary"); unknown in this region: `InvalidVSwitchId.NotFound`
    // (404, "Specified virtual switch does not exist."); both in the RunInstances error table
    // (AlibabaCloudDocs/ecs `Instances/RunInstances.md`).
    let vswitch_id = ctx.opt("VSwitchId").ok_or_else(|| {
        AliError::new(
            400,
            "InvalidVSwitchId.Necessary",
            "The VSwitchId is necessary",
        )
    })?;
    let vswitch = catalog::vswitch(region, &vswitch_id).ok_or_else(|| {
        AliError::new(
            404,
            "InvalidVSwitchId.NotFound",
            format!("Specified virtual switch does not exist: `{vswitch_id}`."),
        )
    })?;
    // "If you specify the VSwitchId parameter, the ZoneId parameter must be set to the zone
    // where the vSwitch resides. You can also leave the ZoneId parameter unspecified, and the
    // system automatically selects the zone where the specified vSwitch resides" (SDK
    // `RunInstancesRequest.zone_id`); a mismatch is `InvalidParameter.Mismatch` (400,
    // "Specified virtual switch is not in the specified zone.", RunInstances.md error table).
    let zone = match ctx.opt("ZoneId") {
        Some(z) => {
            if !region.zones.contains(&z.as_str()) {
                return Err(AliError::new(
                    404,
                    "InvalidZoneId.NotFound",
                    format!("The specified ZoneId `{z}` does not exist."),
                ));
            }
            if z != vswitch.zone {
                return Err(AliError::new(
                    400,
                    "InvalidParameter.Mismatch",
                    format!(
                        "Specified virtual switch is not in the specified zone: `{vswitch_id}` is in `{}`, not `{z}`.",
                        vswitch.zone
                    ),
                ));
            }
            z
        }
        None => vswitch.zone.to_string(),
    };
    if !catalog::types_in_zone(region, &zone)
        .iter()
        .any(|t| t.id == itype.id)
    {
        return Err(AliError::new(
            403,
            "InvalidResourceType.NotSupported",
            format!(
                "The instance type `{type_id}` is not available in zone `{zone}`; please try other resource types."
            ),
        ));
    }
    let amount = ctx.int_in("Amount", 1, 1, 100)? as usize;
    if let Some(min) = ctx.int("MinAmount")?
        && (min < 1 || min as usize > amount)
    {
        return Err(AliError::invalid(
            "MinAmount",
            "must be between 1 and Amount",
        ));
    }

    // No name: the instance is named after its id (SDK `RunInstancesRequest.instance_name`:
    // "The default value is the InstanceId of the instance").
    let base_name = ctx.opt("InstanceName");
    if let Some(n) = &base_name {
        check_instance_name(n, true)?;
    }
    let host_name = ctx.opt("HostName");
    let windows = image.os_type == "windows";
    if let Some(h) = &host_name {
        // "You can use the ${instance_id} placeholder to write the instance ID into the
        // HostName parameter. For example, if HostName is set to k8s-${instance_id} and the
        // created ECS instance ID is i-123abc****, the hostname of the instance is
        // k8s-i-123abc****" (SDK `RunInstancesRequest.host_name`, under "For other operating
        // systems such as Linux"; not in the 2021 docs). The rules apply to the rendered name,
        // so the placeholder is checked as an id of the emulator's form (`i-` + 20
        // characters); on Windows it stays literal and `$ { }` are refused.
        let rendered = if windows {
            h.clone()
        } else {
            h.replace(INSTANCE_ID_PLACEHOLDER, "i-00000000000000000000")
        };
        check_host_name(&rendered, windows)?;
    }
    let description = ctx.opt("Description");
    if description
        .as_deref()
        .is_some_and(|d| d.chars().count() > 256)
    {
        return Err(AliError::new(
            400,
            "InvalidDescription.Malformed",
            "Specified parameter Description is not valid.",
        ));
    }

    // Security groups and network.
    let mut sgs = ctx.list("SecurityGroupIds");
    if let Some(sg) = ctx.opt("SecurityGroupId") {
        if !sgs.is_empty() {
            return Err(AliError::invalid(
                "SecurityGroupIds",
                "SecurityGroupId and SecurityGroupIds.N cannot both be set",
            ));
        }
        sgs.push(sg);
    }
    if sgs.is_empty() {
        return Err(AliError::missing("SecurityGroupId"));
    }
    // Every group exists in the region (`InvalidSecurityGroupId.NotFound`, 404) and "The
    // vSwitch and security group must belong to the same VPC" (VSwitchId row of
    // AlibabaCloudDocs/ecs `Instances/RunInstances.md`; its error table: 400
    // `InvalidParameter.Mismatch` "Specified security group and virtual switch are not in the
    // same VPC."; the table also lists 403 `OperationDenied.InconsistentNetwork` for the same
    // case, the emulator answers the first). The groups come from `catalog::SECURITY_GROUPS`.
    let mut groups = Vec::with_capacity(sgs.len());
    for sg in &sgs {
        let group = check_sg(region, sg)?;
        groups.push(group);
        if group.vpc_id != vswitch.vpc_id {
            return Err(AliError::new(
                400,
                "InvalidParameter.Mismatch",
                format!(
                    "Specified security group and virtual switch are not in the same VPC: {sg} is in {}, `{vswitch_id}` in {}.",
                    group.vpc_id, vswitch.vpc_id
                ),
            ));
        }
    }
    // 0–100 Mbit/s; RunInstances error table: `InvalidInternetMaxBandwidthOut.Malformed`
    // (AlibabaCloudDocs/ecs `Instances/RunInstances.md`)
    let bandwidth = ctx
        .int_in("InternetMaxBandwidthOut", 0, 0, 100)
        .map_err(|e| {
            AliError::new(
                400,
                "InvalidInternetMaxBandwidthOut.Malformed",
                format!(
                    "The specified parameter internetMaxBandwidthOut is not valid. ({})",
                    e.message
                ),
            )
        })? as u64;
    let internet_charge = ctx
        .opt("InternetChargeType")
        .unwrap_or_else(|| "PayByTraffic".into());
    if !matches!(internet_charge.as_str(), "PayByTraffic" | "PayByBandwidth") {
        return Err(AliError::new(
            400,
            "InvalidInternetChargeType.ValueNotSupported",
            "Specified InternetChargeType is not valid.",
        ));
    }

    // Login.
    let password = ctx.opt("Password");
    if let Some(p) = &password {
        check_password(p, windows)?;
    }
    let inherit = ctx.boolean("PasswordInherit")?.unwrap_or(false);
    if inherit && password.is_some() {
        return Err(password_inherit_mismatch());
    }
    let key_pair = ctx.opt("KeyPairName");
    let user_data = match ctx.opt("UserData") {
        Some(u) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(u.as_bytes())
                .map_err(|_| {
                    AliError::new(
                        400,
                        "InvalidUserData.Base64FormatInvalid",
                        "The specified UserData is not Base64-encoded.",
                    )
                })?;
            if raw.len() > 32 * 1024 {
                return Err(AliError::new(
                    400,
                    "InvalidUserData.SizeExceeded",
                    "The specified UserData exceeds 32 KB.",
                ));
            }
            Some(u)
        }
        None => None,
    };

    // Disks.
    let sys_cat = ctx
        .opt("SystemDisk.Category")
        .unwrap_or_else(|| "cloud_essd".into());
    check_disk_category(
        "SystemDisk.Category",
        &sys_cat,
        "InvalidSystemDiskCategory.ValueNotSupported",
    )?;
    // "Default value: max{40, the size of the image specified by the ImageId parameter}" (SDK
    // `RunInstancesRequestSystemDisk.size`; AlibabaCloudDocs/ecs `Instances/RunInstances.md`,
    // SystemDisk.Size row: "The default value is 40 or the size of the image, depending on
    // whichever is greater"). Given sizes: 20–2048 ("Other disk categories: 20 to 2048").
    let sys_size = ctx.int_in("SystemDisk.Size", default_system_disk_gb(image), 20, 2048)? as u64;
    if sys_size < image.size_gb {
        return Err(AliError::new(
            400,
            "InvalidSystemDiskSize.LessThanImageSize",
            format!(
                "The system disk ({sys_size} GiB) is smaller than the image ({} GiB).",
                image.size_gb
            ),
        ));
    }
    let mut data_disks = vec![];
    for n in 1..=64u32 {
        let size = ctx.int(&format!("DataDisk.{n}.Size"))?;
        let cat = ctx.opt(&format!("DataDisk.{n}.Category"));
        if size.is_none() && cat.is_none() {
            continue;
        }
        // At most 16 data disks: `InstanceDiskNumber.LimitExceed` (400), RunInstances.md
        // error table ("The number of data disks attached to an instance has exceeded 16").
        if n > 16 {
            return Err(AliError::new(
                400,
                "InstanceDiskNumber.LimitExceed",
                "The total number of specified disk in an instance exceeds.",
            ));
        }
        let size = size.ok_or_else(|| AliError::missing(&format!("DataDisk.{n}.Size")))?;
        if !(20..=32768).contains(&size) {
            return Err(AliError::new(
                400,
                "InvalidDataDiskSize.ValueNotSupported",
                format!("DataDisk.{n}.Size must be between 20 and 32768 GiB."),
            ));
        }
        let cat = cat.unwrap_or_else(|| "cloud_essd".into());
        check_disk_category(
            &format!("DataDisk.{n}.Category"),
            &cat,
            "InvalidDataDiskCategory.ValueNotSupported",
        )?;
        data_disks.push(Disk {
            disk_type: cat,
            size_gb: size as u64,
            id: Some(format!("d-{}", random_alnum(20))),
            delete_with_instance: ctx
                .boolean(&format!("DataDisk.{n}.DeleteWithInstance"))?
                .unwrap_or(true),
        });
    }

    // Billing.
    let charge = ctx
        .opt("InstanceChargeType")
        .unwrap_or_else(|| "PostPaid".into());
    if !matches!(charge.as_str(), "PostPaid" | "PrePaid") {
        return Err(AliError::new(
            400,
            "InvalidInstanceChargeType.ValueNotSupported",
            "Specified InstanceChargeType is not valid.",
        ));
    }
    let mut expires_ms = None;
    if charge == "PrePaid" {
        let period = ctx
            .int("Period")?
            .ok_or_else(|| AliError::missing("Period"))?;
        let unit = ctx.opt("PeriodUnit").unwrap_or_else(|| "Month".into());
        let days = match unit.as_str() {
            "Month" if matches!(period, 1..=9 | 12 | 24 | 36 | 48 | 60) => period * 30,
            "Week" if (1..=4).contains(&period) => period * 7,
            _ => {
                return Err(AliError::new(
                    400,
                    "InvalidPeriod",
                    "The specified Period is not valid.",
                ));
            }
        };
        expires_ms = Some(ctx.now + days * 86_400_000);
    }
    // AutoRenew: PrePaid only, default false; AutoRenewPeriod (Month) 1, 2, 3, 6, 12, 24,
    // 36, 48, 60, default 1 (SDK `RunInstancesRequest.auto_renew` / `.auto_renew_period`).
    let auto_renew = ctx.boolean("AutoRenew")?.unwrap_or(false);
    if let Some(p) = ctx.int("AutoRenewPeriod")?
        && !matches!(p, 1 | 2 | 3 | 6 | 12 | 24 | 36 | 48 | 60)
    {
        return Err(AliError::invalid(
            "AutoRenewPeriod",
            "must be one of 1, 2, 3, 6, 12, 24, 36, 48, 60",
        ));
    }
    let renew_flag =
        (auto_renew && charge == "PrePaid").then(|| super::super::billing::AUTO_RENEW.to_string());
    let spot = ctx.opt("SpotStrategy").unwrap_or_else(|| "NoSpot".into());
    if !matches!(
        spot.as_str(),
        "NoSpot" | "SpotWithPriceLimit" | "SpotAsPriceGo"
    ) {
        return Err(AliError::new(
            400,
            "InvalidSpotStrategy",
            "The specified SpotStrategy is not valid.",
        ));
    }
    // SpotStrategy "is valid only when the InstanceChargeType parameter is set to PostPaid"
    // (SDK `RunInstancesRequest.spot_strategy`); a spot PrePaid instance is
    // `InvalidSpotPrepaid` (400, "The specified Spot type is not support PrePay Instance.",
    // AlibabaCloudDocs/ecs `Instances/RunInstances.md` error table).
    if spot != "NoSpot" && charge != "PostPaid" {
        return Err(AliError::new(
            400,
            "InvalidSpotPrepaid",
            "The specified Spot type is not support PrePay Instance.",
        ));
    }

    let tags = ctx.tags()?;
    check_tags(&tags)?;
    // ClientToken: at most 64 ASCII characters (SDK alibabacloud-ecs20140526 7.11.8
    // `RunInstancesRequest.client_token`); an invalid one is
    // `InvalidClientToken.ValueNotSupported` (AlibabaCloudDocs/ecs
    // `API Reference/Instances/RunInstances.md`, error table).
    let client_token = ctx.opt("ClientToken");
    if let Some(t) = &client_token
        && (t.len() > 64 || !t.is_ascii())
    {
        return Err(AliError::new(
            400,
            "InvalidClientToken.ValueNotSupported",
            "The ClientToken is invalid: at most 64 ASCII characters.",
        ));
    }
    let dry_run = ctx.boolean("DryRun")?.unwrap_or(false);
    let digest = ctx.params_digest();

    let settings = ctx.app.settings();
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    if let Some(t) = &client_token
        && let Some(ids) = store.token_lookup(Provider::Alibaba, &ctx.account.key_id, t)
    {
        let ids = ids.to_vec();
        let earlier = ids
            .iter()
            .find_map(|id| store.get(id, ctx.now))
            .and_then(|i| {
                i.extra
                    .get("request_digest")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        // The same token with other parameters: `IdempotentParameterMismatch` (400),
        // AlibabaCloudDocs/ecs `Call methods/Response results.md`.
        if earlier.is_some_and(|d| d != digest) {
            return Err(AliError::new(
                400,
                "IdempotentParameterMismatch",
                "Request uses a client token in a previous request but is not identical to that request.",
            ));
        }
        if dry_run {
            return Err(dry_run_ok());
        }
        return Ok(fields(json!({
            "InstanceIdSets": {"InstanceIdSet": ids},
            "OrderId": "",
            "TradePrice": 0.0,
        })));
    }
    // "If you set this parameter to PrePaid, make sure that you have sufficient credit in
    // your account. Otherwise, the `InvalidPayMethod` error is returned" (AlibabaCloudDocs/ecs
    // `Instances/RunInstances.md`, InstanceChargeType row; error table: 403 `InvalidPayMethod`
    // "The specified pay method is not valid."; SDK `RunInstancesRequest.instance_charge_type`:
    // "your account supports balance payment or credit payment. Otherwise, an InvalidPayMethod
    // error is returned"). Pay-as-you-go is not concerned. Switched with `POST
    // /_emulator/config {"alibaba_no_payment_method": true}`; dry runs check it too (they
    // check "service limits").
    if charge == "PrePaid" && settings.alibaba_no_payment_method {
        return Err(AliError::new(
            403,
            "InvalidPayMethod",
            "The specified pay method is not valid.",
        ));
    }
    // Room for `Amount` more instances in each group (403 `SecurityGroupInstanceLimitExceed`,
    // RunInstances.md error table; capacities in `membership.rs::check_capacity`).
    for group in &groups {
        crate::alibaba::membership::check_capacity(
            &store,
            group,
            amount as u32,
            ctx.now,
            "SecurityGroupInstanceLimitExceed",
        )?;
    }
    if let Some(quota) = settings.instance_quota {
        let used = store.count_owned(Provider::Alibaba, &ctx.account.key_id, ctx.now) as u64;
        if used + amount as u64 > quota {
            return Err(AliError::new(
                403,
                "QuotaExceed.ElasticQuota",
                format!(
                    "The number of instances ({used} + {amount}) exceeds the quota of {quota} of this account."
                ),
            ));
        }
    }
    if dry_run {
        return Err(dry_run_ok());
    }

    let d = &settings.transition_delays_ms;
    let unique_suffix = ctx.boolean("UniqueSuffix")?.unwrap_or(false);
    let mut ids = Vec::with_capacity(amount);
    for n in 0..amount {
        let id = store.unique_id("i-", 20);
        let name = match &base_name {
            None => id.clone(),
            Some(b) if unique_suffix && amount > 1 => format!("{b}{:03}", n + 1),
            Some(b) => b.clone(),
        };
        let private_ip = store.alloc_private_ip();
        let public_ips = if bandwidth > 0 {
            vec![store.alloc_public_ip()]
        } else {
            vec![]
        };
        let mut extra = Map::new();
        extra.insert("request_digest".into(), Value::String(digest.clone()));
        extra.insert("spot_strategy".into(), Value::String(spot.clone()));
        extra.insert(
            "eni_id".into(),
            Value::String(format!("eni-{}", random_alnum(20))),
        );
        extra.insert(
            "mac".into(),
            Value::String(format!(
                "00:16:3e:{}:{}:{}",
                &random_hex2(),
                &random_hex2(),
                &random_hex2()
            )),
        );
        if let Some(desc) = &description {
            extra.insert("description".into(), Value::String(desc.clone()));
        }
        let mut inst = Instance {
            name,
            image_id: image_id.clone(),
            instance_type: itype.id.to_string(),
            cpu: itype.cpu,
            memory_gb: itype.memory_gb.round() as u32,
            private_ips: vec![private_ip],
            public_ips,
            tags: tags
                .iter()
                .map(|(k, v)| Tag {
                    key: k.clone(),
                    value: v.clone().unwrap_or_default(),
                })
                .collect(),
            security_groups: sgs.clone(),
            charge_type: charge.clone(),
            expires_ms,
            renew_flag: renew_flag.clone(),
            system_disk: Disk {
                disk_type: sys_cat.clone(),
                size_gb: sys_size,
                id: Some(format!("d-{}", random_alnum(20))),
                delete_with_instance: true,
            },
            data_disks: data_disks.clone(),
            client_token: client_token.clone(),
            bandwidth_out: bandwidth,
            internet_charge_type: Some(internet_charge.clone()),
            vpc_id: Some(vswitch.vpc_id.to_string()),
            subnet_id: Some(vswitch_id.clone()),
            key_ids: key_pair.iter().cloned().collect(),
            host_name: host_name
                .as_ref()
                .map(|h| h.replace(INSTANCE_ID_PLACEHOLDER, &id)),
            user_data: user_data.clone(),
            protected: ctx.boolean("DeletionProtection")?.unwrap_or(false),
            extra,
            ..Instance::new(
                Provider::Alibaba,
                &ctx.account.key_id,
                region.id,
                &zone,
                &id,
                ctx.now,
            )
        };
        // A failed launch is released by Alibaba: the instance disappears.
        let end = if ctx.launch_failed {
            VmState::Gone
        } else {
            VmState::Running
        };
        inst.launch(ctx.now, d.pending, end, "RunInstances", ctx.request_id);
        store.insert(inst);
        ids.push(id);
    }
    if let Some(t) = &client_token {
        store.token_record(Provider::Alibaba, &ctx.account.key_id, t, ids.clone());
    }
    Ok(fields(json!({
        "InstanceIdSets": {"InstanceIdSet": ids},
        "OrderId": format!("{}", 200_000_000_000_000u64 + (ctx.now as u64 % 100_000_000_000_000)),
        "TradePrice": 0.0,
    })))
}

/// The system disk size when `SystemDisk.Size` is not given, in RunInstances and
/// ReplaceSystemDisk: max{40, image size} (SDK `RunInstancesRequestSystemDisk.size`,
/// `ReplaceSystemDiskRequestSystemDisk.size`: "Default value: Max{40, image size specified by
/// the ImageId parameter}").
pub(super) fn default_system_disk_gb(image: &catalog::ImageInfo) -> i64 {
    image.size_gb.max(40) as i64
}

pub(super) fn random_hex2() -> String {
    hex::encode([rand::random::<u8>()])
}
