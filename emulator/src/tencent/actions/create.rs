//! RunInstances: validation and mapping of the request to new stored instances.

use super::*;

pub(super) struct DataDiskSpec {
    disk_type: String,
    size: u64,
    delete_with_instance: bool,
}

/// Most `VirtualPrivateCloud.PrivateIpAddresses` of one RunInstances.
const MAX_PRIVATE_IPS: usize = 20;

pub(super) fn run_instances(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(RUN_KNOWN)?;

    // Placement
    let placement = p
        .object("Placement")?
        .ok_or_else(|| ApiError::missing("Placement"))?;
    placement.check_known(&[
        "Zone",
        "ProjectId",
        "HostIds",
        "HostId",
        "DedicatedResourcePackTenancy",
        "DedicatedResourcePackIds",
        "RackId",
    ])?;
    let zone = placement.required_string("Zone")?;
    let zinfo = catalog::zone(ctx.region, &zone).ok_or_else(|| {
        ApiError::new(
            "InvalidZone.MismatchRegion",
            format!(
                "The zone `{zone}` does not exist in region `{}`.",
                ctx.region
            ),
        )
    })?;
    if !zinfo.available {
        return Err(ApiError::new(
            "ResourceInsufficient.AvailabilityZoneSoldOut",
            format!("The zone `{zone}` is sold out."),
        ));
    }
    let project_id = placement.int("ProjectId")?.unwrap_or(0);
    if project_id < 0 {
        return Err(ApiError::new(
            "InvalidProjectId.NotFound",
            format!("The project `{project_id}` is not found."),
        ));
    }
    let host_ids = placement.string_list("HostIds")?.unwrap_or_default();
    if let Some(h) = host_ids.first() {
        return Err(if is_resource_id(h, "host-") {
            ApiError::new(
                "InvalidHostId.NotFound",
                format!("The CDH `{h}` is not found."),
            )
        } else {
            ApiError::new(
                "InvalidHostId.Malformed",
                format!("The CDH ID `{h}` is malformed."),
            )
        });
    }

    // Image and type
    let image_id = p.required_string("ImageId")?;
    let image = image_checked(&image_id)?;
    let windows = image.is_windows();
    let type_name = p
        .string("InstanceType")?
        .unwrap_or_else(|| "S1.SMALL1".to_string());
    let itype = instance_type_checked(&type_name)?;

    // Billing
    let charge_type = p
        .string("InstanceChargeType")?
        .unwrap_or_else(|| "POSTPAID_BY_HOUR".to_string());
    check_enum(
        p,
        "InstanceChargeType",
        &charge_type,
        &[
            "PREPAID",
            "POSTPAID_BY_HOUR",
            "CDHPAID",
            "SPOTPAID",
            "UNDERWRITE",
        ],
    )?;
    let mut period_months = None;
    let mut renew_flag = None;
    if charge_type == "PREPAID" || charge_type == "UNDERWRITE" {
        let prepaid = p
            .object("InstanceChargePrepaid")?
            .ok_or_else(|| ApiError::missing("InstanceChargePrepaid"))?;
        prepaid.check_known(&["Period", "RenewFlag"])?;
        let period = prepaid
            .int("Period")?
            .ok_or_else(|| ApiError::missing("InstanceChargePrepaid.Period"))?;
        if !matches!(period, 1..=12 | 24 | 36 | 48 | 60) {
            return Err(ApiError::new(
                "InvalidPeriod",
                "Supported periods are 1-12, 24, 36, 48 and 60 months.",
            ));
        }
        let flag = prepaid
            .string("RenewFlag")?
            .unwrap_or_else(|| "NOTIFY_AND_AUTO_RENEW".to_string());
        check_enum(
            &prepaid,
            "RenewFlag",
            &flag,
            &[
                "NOTIFY_AND_AUTO_RENEW",
                "NOTIFY_AND_MANUAL_RENEW",
                "DISABLE_NOTIFY_AND_MANUAL_RENEW",
            ],
        )?;
        period_months = Some(period);
        renew_flag = Some(flag);
    }
    if charge_type == "CDHPAID" {
        return Err(ApiError::missing("Placement.HostIds"));
    }

    // Count and names
    let count = p.int("InstanceCount")?.unwrap_or(1);
    if !(1..=100).contains(&count) {
        return Err(ApiError::new(
            "InvalidParameterValue.Range",
            format!("InstanceCount must be between 1 and 100, got {count}."),
        ));
    }
    let count = count as usize;
    if let Some(min) = p.int("MinCount")?
        && (min < 1 || min as usize > count)
    {
        return Err(ApiError::new(
            "InvalidParameterValue.InvalidParameterMinCount",
            "MinCount must be between 1 and InstanceCount.",
        ));
    }
    let base_name = p
        .string("InstanceName")?
        .unwrap_or_else(|| "未命名".to_string());
    check_instance_name(&base_name)?;
    let names = instance_names(&base_name, count);
    for n in &names {
        check_instance_name(n)?;
    }

    // Disks
    let (sys_type, sys_size) = system_disk(p, None)?;
    let mut data_disks = vec![];
    if let Some(list) = p.object_list("DataDisks")? {
        if list.len() > 21 {
            return Err(ApiError::new(
                "InvalidParameterValue.LimitExceeded",
                "At most 21 data disks are allowed.",
            ));
        }
        for d in list {
            d.check_known(&[
                "DiskSize",
                "DiskType",
                "DiskId",
                "DeleteWithInstance",
                "SnapshotId",
                "Encrypt",
                "KmsKeyId",
                "ThroughputPerformance",
                "CdcId",
                "BurstPerformance",
                "DiskName",
            ])?;
            let size = d
                .int("DiskSize")?
                .ok_or_else(|| ApiError::missing(&d.path("DiskSize")))?;
            if !(10..=32000).contains(&size) {
                return Err(ApiError::new(
                    "InvalidParameterValue.Range",
                    format!(
                        "{} must be between 10 and 32000 GB, got {size}.",
                        d.path("DiskSize")
                    ),
                ));
            }
            let disk_type = d
                .string("DiskType")?
                .unwrap_or_else(|| "LOCAL_BASIC".to_string());
            check_enum(&d, "DiskType", &disk_type, DISK_TYPES)?;
            // "最小调整步长为10GiB" (tencentcloud-sdk-python-cvm 3.1.178 `DataDisk.DiskSize`;
            // no dedicated code, the generic `InvalidParameterValue` of RunInstances) and
            // "SSD云硬盘为数据盘时，购买大小不得小于100GB"
            // (`InvalidParameterValue.CloudSsdDataDiskSizeTooSmall`, `errorcodes.py`).
            if size % 10 != 0 {
                return Err(ApiError::invalid_value(
                    &d.path("DiskSize"),
                    format!("data disk sizes go in steps of 10 GiB, got {size}."),
                ));
            }
            if disk_type == "CLOUD_SSD" && size < 100 {
                return Err(ApiError::new(
                    "InvalidParameterValue.CloudSsdDataDiskSizeTooSmall",
                    format!("A CLOUD_SSD data disk must be at least 100 GB, got {size}."),
                ));
            }
            data_disks.push(DataDiskSpec {
                disk_type,
                size: size as u64,
                delete_with_instance: d.boolean("DeleteWithInstance")?.unwrap_or(true),
            });
        }
    }

    // Network
    let mut vpc = None;
    let mut fixed_ips: Vec<String> = vec![];
    if let Some(v) = p.object("VirtualPrivateCloud")? {
        v.check_known(&[
            "VpcId",
            "SubnetId",
            "AsVpcGateway",
            "PrivateIpAddresses",
            "Ipv6AddressCount",
        ])?;
        let vpc_id = v.required_string("VpcId")?;
        let subnet_id = v.required_string("SubnetId")?;
        if !is_resource_id(&vpc_id, "vpc-") {
            return Err(ApiError::new(
                "InvalidParameterValue.VpcIdMalformed",
                format!("The VPC ID `{vpc_id}` is malformed."),
            ));
        }
        if !is_resource_id(&subnet_id, "subnet-") {
            return Err(ApiError::new(
                "InvalidParameterValue.SubnetIdMalformed",
                format!("The subnet ID `{subnet_id}` is malformed."),
            ));
        }
        v.boolean("AsVpcGateway")?;
        fixed_ips = v.string_list("PrivateIpAddresses")?.unwrap_or_default();
        for ip in &fixed_ips {
            if ip.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(ApiError::new(
                    "InvalidParameter.InvalidIpFormat",
                    format!("`{ip}` is not a valid IPv4 address."),
                ));
            }
        }
        // "InstanceCount参数必须与私有网络IP的个数一致且不能大于20" (tencentcloud-sdk-python-cvm
        // 3.1.178 `RunInstancesRequest.VirtualPrivateCloud`). No dedicated code is documented:
        // `InvalidParameterValue.LimitExceeded` ("参数值数量超过限制", RunInstances error list
        // of tencentcloud-sdk-go `cvm/v20170312/client.go`).
        if fixed_ips.len() > MAX_PRIVATE_IPS {
            return Err(ApiError::new(
                "InvalidParameterValue.LimitExceeded",
                format!(
                    "VirtualPrivateCloud.PrivateIpAddresses has {} addresses; at most {MAX_PRIVATE_IPS} are allowed.",
                    fixed_ips.len()
                ),
            ));
        }
        if !fixed_ips.is_empty() && fixed_ips.len() != count {
            return Err(ApiError::new(
                "InvalidParameterValue.AmountNotEqual",
                "The number of VirtualPrivateCloud.PrivateIpAddresses must equal InstanceCount.",
            ));
        }
        vpc = Some((vpc_id, subnet_id));
    }
    let mut bandwidth = 0i64;
    let mut internet_charge = None;
    let mut want_public_ip = false;
    if let Some(ia) = p.object("InternetAccessible")? {
        ia.check_known(&[
            "InternetChargeType",
            "InternetMaxBandwidthOut",
            "PublicIpAssigned",
            "BandwidthPackageId",
            "InternetServiceProvider",
            "IPv4AddressType",
            "IPv6AddressType",
            "AntiDDoSPackageId",
        ])?;
        let ct = ia
            .string("InternetChargeType")?
            .unwrap_or_else(|| "TRAFFIC_POSTPAID_BY_HOUR".to_string());
        check_enum(
            &ia,
            "InternetChargeType",
            &ct,
            &[
                "BANDWIDTH_PREPAID",
                "TRAFFIC_POSTPAID_BY_HOUR",
                "BANDWIDTH_POSTPAID_BY_HOUR",
                "BANDWIDTH_PACKAGE",
            ],
        )?;
        bandwidth = ia.int("InternetMaxBandwidthOut")?.unwrap_or(0);
        if !(0..=1000).contains(&bandwidth) {
            return Err(ApiError::new(
                "InvalidParameterValue.Range",
                format!(
                    "InternetAccessible.InternetMaxBandwidthOut must be between 0 and 1000, got {bandwidth}."
                ),
            ));
        }
        let assigned = ia.boolean("PublicIpAssigned")?.unwrap_or(true);
        want_public_ip = bandwidth > 0 && assigned;
        internet_charge = Some(ct);
    }

    // Login, security groups, misc
    let key_ids = login_settings(p, image)?;
    let sgs = security_group_ids(p, "SecurityGroupIds")?.unwrap_or_default();
    let client_token = p.string("ClientToken")?;
    if let Some(t) = &client_token {
        if t.len() > 64 {
            return Err(ApiError::new(
                "InvalidClientToken.TooLong",
                "ClientToken exceeds 64 characters.",
            ));
        }
        if !t.is_ascii() {
            return Err(ApiError::invalid_value(
                "ClientToken",
                "only ASCII characters are allowed.",
            ));
        }
    }
    let host_name = p.string("HostName")?;
    if let Some(h) = &host_name {
        check_host_name(h, windows)?;
    }
    let user_data = check_user_data(p, "UserData")?;
    if let Some(groups) = p.string_list("DisasterRecoverGroupIds")? {
        for g in groups {
            if !is_resource_id(&g, "ps-") {
                return Err(ApiError::new(
                    "InvalidParameterValue.DisasterRecoverGroupIdMalformed",
                    format!("The placement group ID `{g}` is malformed."),
                ));
            }
        }
    }
    let protected = p.boolean("DisableApiTermination")?.unwrap_or(false);
    let dry_run = p.boolean("DryRun")?.unwrap_or(false);

    // Tags
    let mut tags: Vec<Tag> = vec![];
    if let Some(specs) = p.object_list("TagSpecification")? {
        for spec in specs {
            spec.check_known(&["ResourceType", "Tags"])?;
            let rt = spec.required_string("ResourceType")?;
            check_enum(
                &spec,
                "ResourceType",
                &rt,
                &["instance", "host", "image", "keypair", "disk"],
            )?;
            let list = spec
                .object_list("Tags")?
                .ok_or_else(|| ApiError::missing(&spec.path("Tags")))?;
            for t in list {
                t.check_known(&["Key", "Value"])?;
                let key = t.required_string("Key")?;
                let value = t.required_string("Value")?;
                // Tag limits (https://cloud.tencent.com/document/product/651/13354): keys 1-127
                // characters, values 1-255 (not empty); keys starting with qcs:, project, 项目
                // are reserved. Codes: errorcodes.py FailedOperation.IllegalTagKey,
                // FailedOperation.IllegalTagValue, FailedOperation.TagKeyReserved (F-14).
                if key.is_empty() || key.chars().count() > 127 {
                    return Err(ApiError::new(
                        "FailedOperation.IllegalTagKey",
                        format!("The tag key `{key}` must be 1 to 127 characters."),
                    ));
                }
                if ["qcs:", "project", "项目"]
                    .iter()
                    .any(|p| key.starts_with(p))
                {
                    return Err(ApiError::new(
                        "FailedOperation.TagKeyReserved",
                        format!("The tag key `{key}` is reserved by the system."),
                    ));
                }
                if !tag_chars_ok(&key) {
                    return Err(ApiError::new(
                        "FailedOperation.IllegalTagKey",
                        format!("The tag key `{key}` contains characters tags do not allow."),
                    ));
                }
                if value.is_empty() || value.chars().count() > 255 || !tag_chars_ok(&value) {
                    return Err(ApiError::new(
                        "FailedOperation.IllegalTagValue",
                        format!(
                            "The value of tag `{key}` must be 1 to 255 characters of the allowed set."
                        ),
                    ));
                }
                if rt == "instance" {
                    if tags.iter().any(|x| x.key == key) {
                        return Err(ApiError::new(
                            "InvalidParameterValue.DuplicateTags",
                            format!("The tag key `{key}` is given twice."),
                        ));
                    }
                    tags.push(Tag { key, value });
                }
            }
        }
        if tags.len() > 50 {
            return Err(ApiError::new(
                "InvalidParameterValue.TagQuotaLimitExceeded",
                "At most 50 tags can be bound to an instance.",
            ));
        }
    }

    let settings = delays(ctx);
    let mut store = ctx.app.store();
    store.sweep(ctx.now);

    if let Some(t) = &client_token
        && let Some(ids) = store.token_lookup(Provider::Tencent, &ctx.account.key_id, t)
    {
        if dry_run {
            return Err(dry_run_error());
        }
        return Ok(fields(json!({ "InstanceIdSet": ids })));
    }
    // "预付费实例的购买会预先扣除本次实例购买所需金额，按小时后付费实例购买会预先冻结本次实例购买
    // 一小时内所需金额，在调用本接口前请确保账户余额充足" (prepaid: the amount is deducted;
    // pay-as-you-go: one hour is frozen; the balance must cover it): RunInstances doc comment
    // of tencentcloud-sdk-go `cvm/v20170312/client.go`; `InvalidAccount.InsufficientBalance`
    // "账户余额不足" is in its error list. Switched with `POST /_emulator/config
    // {"tencent_balance_insufficient": true}`.
    if settings.tencent_balance_insufficient {
        return Err(insufficient_balance());
    }
    if let Some(quota) = settings.instance_quota {
        let used = store.count_owned(Provider::Tencent, &ctx.account.key_id, ctx.now) as u64;
        if used + count as u64 > quota {
            return Err(ApiError::new(
                "InstancesQuotaLimitExceeded",
                format!(
                    "The account has {used} instances; creating {count} more exceeds the quota of {quota}."
                ),
            ));
        }
    }
    for ip in &fixed_ips {
        if store.ip_in_use(ip) {
            return Err(ApiError::new(
                // `VpcIpIsUsed` "私有网络ip已经被使用" (`errorcodes.py`; RunInstances list)
                "VpcIpIsUsed",
                format!("The VPC IP `{ip}` is already in use."),
            ));
        }
    }
    if dry_run {
        return Err(dry_run_error());
    }

    let d = &settings.transition_delays_ms;
    let expires_ms = period_months.and_then(|m| {
        let zoned = jiff::Timestamp::from_millisecond(ctx.now)
            .ok()?
            .to_zoned(jiff::tz::TimeZone::UTC);
        zoned
            .checked_add(jiff::Span::new().months(m))
            .ok()
            .map(|z| z.timestamp().as_millisecond())
    });
    let (vpc_id, subnet_id) = match &vpc {
        Some((v, s)) => (v.clone(), s.clone()),
        None => ("vpc-d3fau1t0".to_string(), "subnet-d3fau1t0".to_string()),
    };
    let mut ids = Vec::with_capacity(count);
    for (n, name) in names.into_iter().enumerate() {
        let id = store.unique_id("ins-", 8);
        let private_ip = match fixed_ips.get(n) {
            Some(ip) => ip.clone(),
            None => store.alloc_private_ip(),
        };
        let public_ips = if want_public_ip {
            vec![store.alloc_public_ip()]
        } else {
            vec![]
        };
        let mut inst = Instance {
            name,
            image_id: image_id.clone(),
            instance_type: itype.name.to_string(),
            cpu: itype.cpu,
            memory_gb: itype.memory_gb,
            private_ips: vec![private_ip],
            public_ips,
            tags: tags.clone(),
            security_groups: sgs.clone(),
            charge_type: charge_type.clone(),
            expires_ms,
            renew_flag: renew_flag.clone(),
            system_disk: Disk {
                disk_type: sys_type.clone(),
                size_gb: sys_size,
                id: (!sys_type.starts_with("LOCAL_"))
                    .then(|| format!("disk-{}", crate::store::random_alnum(8))),
                delete_with_instance: true,
            },
            data_disks: data_disks
                .iter()
                .map(|dd| Disk {
                    disk_type: dd.disk_type.clone(),
                    size_gb: dd.size,
                    id: (!dd.disk_type.starts_with("LOCAL_"))
                        .then(|| format!("disk-{}", crate::store::random_alnum(8))),
                    delete_with_instance: dd.delete_with_instance,
                })
                .collect(),
            client_token: client_token.clone(),
            bandwidth_out: bandwidth as u64,
            internet_charge_type: internet_charge.clone(),
            vpc_id: Some(vpc_id.clone()),
            subnet_id: Some(subnet_id.clone()),
            key_ids: key_ids.clone(),
            host_name: host_name.clone(),
            user_data: user_data.clone(),
            project_id: Some(project_id.to_string()),
            protected,
            ..Instance::new(
                Provider::Tencent,
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
        inst.launch(ctx.now, d.pending, end, "RunInstances", ctx.request_id);
        if ctx.launch_failed
            && let Some(op) = inst.last_operation.as_mut()
        {
            op.failed = true;
        }
        store.insert(inst);
        ids.push(id);
    }
    if let Some(t) = &client_token {
        store.token_record(Provider::Tencent, &ctx.account.key_id, t, ids.clone());
    }
    Ok(fields(json!({ "InstanceIdSet": ids })))
}

/// `InvalidAccount.InsufficientBalance` "账户余额不足" (tencentcloud-sdk-python-cvm 3.1.178
/// `errorcodes.py`).
pub(super) fn insufficient_balance() -> ApiError {
    ApiError::new(
        "InvalidAccount.InsufficientBalance",
        "The account balance is insufficient for this purchase.",
    )
}

pub(super) fn dry_run_error() -> ApiError {
    ApiError::new(
        "DryRunOperation",
        "DryRun Operation. It means that the request would have succeeded, but the DryRun parameter was used.",
    )
}
