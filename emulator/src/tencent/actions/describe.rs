//! DescribeInstances, DescribeInstancesStatus and the catalog describes.

use super::*;

pub(super) const INSTANCE_FILTERS: &[&str] = &[
    "zone",
    "project-id",
    "host-id",
    "instance-id",
    "instance-name",
    "instance-charge-type",
    "instance-state",
    "instance-type",
    "instance-family",
    "image-id",
    "private-ip-address",
    "public-ip-address",
    "vpc-id",
    "subnet-id",
    "security-group-id",
    "tag-key",
    "tag-value",
    "dedicated-cluster-id",
];

pub(super) fn filter_matches(i: &Instance, now: i64, name: &str, values: &[String]) -> bool {
    let any = |v: &str| values.iter().any(|x| x == v);
    if let Some(key) = name.strip_prefix("tag:") {
        return i.tag(key).is_some_and(any);
    }
    match name {
        "zone" => any(&i.zone),
        "project-id" => any(i.project_id.as_deref().unwrap_or("0")),
        "host-id" | "dedicated-cluster-id" => false,
        "instance-id" => any(&i.id),
        // Tencent matches instance names fuzzily (substring).
        "instance-name" => values.iter().any(|v| i.name.contains(v.as_str())),
        "instance-charge-type" => any(&i.charge_type),
        "instance-state" => any(held::instance_state(i, now)),
        "instance-type" => any(&i.instance_type),
        "instance-family" => any(i.instance_type.split('.').next().unwrap_or("")),
        "image-id" => any(&i.image_id),
        "private-ip-address" => i.private_ips.iter().any(|ip| any(ip)),
        "public-ip-address" => i.public_ips.iter().any(|ip| any(ip)),
        "vpc-id" => i.vpc_id.as_deref().is_some_and(any),
        "subnet-id" => i.subnet_id.as_deref().is_some_and(any),
        "security-group-id" => i.security_groups.iter().any(|sg| any(sg)),
        "tag-key" => i.tags.iter().any(|t| any(&t.key)),
        "tag-value" => i.tags.iter().any(|t| any(&t.value)),
        _ => false,
    }
}

/// Instances of this account and region, newest first, matching ids / filters.
pub(super) fn select<'s>(
    store: &'s Store,
    ctx: &Ctx,
    ids: &[String],
    filters: &[(String, Vec<String>)],
) -> Vec<&'s Instance> {
    let id_set: HashSet<&str> = ids.iter().map(|s| s.as_str()).collect();
    let mut v = store.list(ctx.now, |i| {
        i.provider == Provider::Tencent
            && i.account == ctx.account.key_id
            && i.region == ctx.region
            && (id_set.is_empty() || id_set.contains(i.id.as_str()))
            && filters
                .iter()
                .all(|(n, vals)| filter_matches(i, ctx.now, n, vals))
    });
    v.reverse();
    v
}

pub(super) fn describe_instances(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds", "Filters", "Offset", "Limit"])?;
    let ids = instance_ids(p, "InstanceIds", false, 100)?;
    let filters = filters(p, &|n| {
        INSTANCE_FILTERS.contains(&n) || (n.starts_with("tag:") && n.len() > 4)
    })?;
    if !ids.is_empty() && !filters.is_empty() {
        return Err(ApiError::new(
            "InvalidParameter",
            "InstanceIds and Filters cannot be specified at the same time.",
        ));
    }
    for (n, vals) in &filters {
        if n == "zone" {
            check_zone_filter(ctx.region, vals)?;
        }
    }
    let (offset, limit) = paging(p)?;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let all = select(&store, ctx, &ids, &filters);
    let set: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|i| render::instance(i, ctx.now))
        .collect();
    Ok(fields(
        json!({ "TotalCount": all.len(), "InstanceSet": set }),
    ))
}

pub(super) fn describe_instances_status(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds", "Offset", "Limit"])?;
    let ids = instance_ids(p, "InstanceIds", false, 100)?;
    let (offset, limit) = paging(p)?;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let mut all = select(&store, ctx, &ids, &[]);
    all.retain(|i| !ctx.app.hidden_from_status(&i.id));
    let set: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|i| json!({"InstanceId": i.id, "InstanceState": held::instance_state(i, ctx.now)}))
        .collect();
    Ok(fields(
        json!({ "TotalCount": all.len(), "InstanceStatusSet": set }),
    ))
}

// ---------------------------------------------------------------- modify / reset

// ---------------------------------------------------------------- catalog

pub(super) fn describe_regions(ctx: &Ctx) -> ApiResult<Fields> {
    ctx.params.check_known(&[])?;
    let set: Vec<Value> = catalog::REGIONS
        .iter()
        .map(|r| json!({"Region": r.region, "RegionName": r.name, "RegionState": "AVAILABLE"}))
        .collect();
    Ok(fields(json!({ "TotalCount": set.len(), "RegionSet": set })))
}

pub(super) fn describe_zones(ctx: &Ctx) -> ApiResult<Fields> {
    ctx.params.check_known(&[])?;
    let region = catalog::region(ctx.region).expect("region validated before dispatch");
    let set: Vec<Value> = region
        .zones
        .iter()
        .map(|z| {
            json!({
                "Zone": z.zone,
                "ZoneName": z.name,
                "ZoneId": z.zone_id,
                "ZoneState": if z.available { "AVAILABLE" } else { "UNAVAILABLE" },
            })
        })
        .collect();
    Ok(fields(json!({ "TotalCount": set.len(), "ZoneSet": set })))
}

pub(super) fn describe_images(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["ImageIds", "Filters", "Offset", "Limit", "InstanceType"])?;
    let ids = p.string_list("ImageIds")?.unwrap_or_default();

    if ids.len() > 100 {
        return Err(ApiError::new(
            "InvalidParameterValue.LimitExceeded",
            "At most 100 ImageIds are allowed.",
        ));
    }
    for id in &ids {
        if !is_resource_id(id, "img-") {
            return Err(ApiError::new(
                "InvalidImageId.Malformed",
                format!("The image ID `{id}` is malformed."),
            ));
        }
    }
    let filters = filters(p, &|n| {
        matches!(
            n,
            "image-id"
                | "image-type"
                | "image-state"
                | "image-name"
                | "platform"
                | "instance-type"
                | "image-family"
        )
    })?;
    if !ids.is_empty() && !filters.is_empty() {
        return Err(ApiError::new(
            "InvalidParameter.InvalidParameterCoexistImageIdsFilters",
            "ImageIds and Filters cannot be specified at the same time.",
        ));
    }
    if let Some(t) = p.string("InstanceType")? {
        instance_type_checked(&t)?;
    }
    let offset = p.int("Offset")?.unwrap_or(0);
    let limit = p.int("Limit")?.unwrap_or(20);
    if offset < 0 || !(1..=100).contains(&limit) {
        return Err(ApiError::new(
            "InvalidParameterValue.InvalidParameterValueLimit",
            "Offset must not be negative and Limit must be between 1 and 100.",
        ));
    }
    let matching: Vec<&catalog::Image> = catalog::IMAGES
        .iter()
        .filter(|im| ids.is_empty() || ids.iter().any(|i| i == im.id))
        .filter(|im| {
            filters.iter().all(|(n, vals)| {
                let any = |v: &str| vals.iter().any(|x| x == v);
                match n.as_str() {
                    "image-id" => any(im.id),
                    "image-type" => any(im.image_type),
                    "image-state" => any("NORMAL"),
                    "image-name" => vals.iter().any(|v| im.name.contains(v.as_str())),
                    "platform" => any(im.platform),
                    _ => true,
                }
            })
        })
        .collect();
    let set: Vec<Value> = matching
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|im| {
            json!({
                "ImageId": im.id,
                "OsName": im.os_name,
                "ImageType": im.image_type,
                "CreatedTime": im.created,
                "ImageName": im.name,
                "ImageDescription": im.name,
                "ImageSize": im.size_gb,
                "Architecture": im.architecture,
                "ImageState": "NORMAL",
                "Platform": im.platform,
                "ImageCreator": "",
                "ImageSource": if im.is_users_own() { "CREATE_IMAGE" } else { "OFFICIAL" },
                "SyncPercent": null,
                "IsSupportCloudinit": true,
                "SnapshotSet": null,
                "Tags": [],
                "LicenseType": "TencentCloud",
                "ImageFamily": "",
                "ImageDeprecated": false,
            })
        })
        .collect();
    Ok(fields(
        json!({ "ImageSet": set, "TotalCount": matching.len() }),
    ))
}

pub(super) fn describe_instance_type_configs(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["Filters"])?;
    let filters = filters(p, &|n| {
        matches!(n, "zone" | "instance-family" | "instance-type")
    })?;
    for (n, vals) in &filters {
        if n == "zone" {
            check_zone_filter(ctx.region, vals)?;
        }
    }
    let region = catalog::region(ctx.region).expect("region validated before dispatch");
    let mut set = vec![];
    for z in region.zones.iter().filter(|z| z.available) {
        for t in catalog::INSTANCE_TYPES {
            let keep = filters.iter().all(|(n, vals)| {
                let any = |v: &str| vals.iter().any(|x| x == v);
                match n.as_str() {
                    "zone" => any(z.zone),
                    "instance-family" => any(t.family),
                    "instance-type" => any(t.name),
                    _ => true,
                }
            });
            if keep {
                set.push(json!({
                    "Zone": z.zone,
                    "InstanceType": t.name,
                    "InstanceFamily": t.family,
                    "GPU": 0,
                    "CPU": t.cpu,
                    "Memory": t.memory_gb,
                    "FPGA": 0,
                    "GpuCount": 0,
                }));
            }
        }
    }
    Ok(fields(json!({ "InstanceTypeConfigSet": set })))
}
