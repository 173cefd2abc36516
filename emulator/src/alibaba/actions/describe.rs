//! DescribeInstanceStatus, DescribeInstances and the catalog describes.

use super::*;

pub(super) fn page(ctx: &Ctx, max: i64) -> AliResult<(usize, usize)> {
    let number = ctx.int_in("PageNumber", 1, 1, i64::from(i32::MAX))? as usize;
    let size = ctx.int_in("PageSize", 10, 1, max)? as usize;
    Ok((number, size))
}

pub(super) fn describe_instance_status(ctx: &Ctx) -> AliResult<Fields> {
    let region = ctx.region()?;
    let ids = ctx.list("InstanceId");
    if ids.len() > 100 {
        return Err(AliError::invalid(
            "InstanceId.N",
            "at most 100 ids are allowed",
        ));
    }
    let zone = ctx.opt("ZoneId");
    let (number, size) = page(ctx, 50)?;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let all = store.list(ctx.now, |i| {
        i.provider == Provider::Alibaba
            && i.account == ctx.account.key_id
            && i.region == region.id
            && (ids.is_empty() || ids.contains(&i.id))
            && zone.as_ref().is_none_or(|z| &i.zone == z)
    });
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip((number - 1) * size)
        .take(size)
        .map(|i| json!({"InstanceId": i.id, "Status": state_name(i.state_at(ctx.now))}))
        .collect();
    Ok(fields(json!({
        "InstanceStatuses": {"InstanceStatus": items},
        "TotalCount": total,
        "PageNumber": number,
        "PageSize": size,
    })))
}

/// `*` matches any run of characters (InstanceName filter).
pub(super) fn wildcard(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = s.chars().collect();
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = si;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

pub(super) fn describe_instances(ctx: &Ctx) -> AliResult<Fields> {
    let region = ctx.region()?;
    let ids: Option<Vec<String>> = match ctx.opt("InstanceIds") {
        Some(raw) => {
            let v: Vec<String> = serde_json::from_str(&raw).map_err(|_| {
                AliError::new(
                    400,
                    "InvalidInstanceIds.Malformed",
                    "The specified parameter InstanceIds is not a JSON array of instance IDs.",
                )
            })?;
            if v.len() > 100 {
                return Err(AliError::new(
                    400,
                    "InvalidInstanceIds.Malformed",
                    "InstanceIds holds at most 100 IDs.",
                ));
            }
            Some(v)
        }
        None => None,
    };
    let tags = ctx.tags()?;
    // Tag.N: "Valid values of N: 1 to 20" (SDK `DescribeInstancesRequestTag.key`); more is
    // `InvalidTagCount` (400, "The specified tags are beyond the permitted range.",
    // AlibabaCloudDocs/ecs `Instances/DescribeInstances.md` error table).
    if tags.len() > 20 {
        return Err(AliError::new(
            400,
            "InvalidTagCount",
            "The specified tags are beyond the permitted range.",
        ));
    }
    let name = ctx.opt("InstanceName");
    let status = ctx.opt("Status");
    if let Some(s) = &status
        && !matches!(
            s.as_str(),
            "Pending" | "Running" | "Starting" | "Stopping" | "Stopped"
        )
    {
        // DescribeInstances error table (AlibabaCloudDocs/ecs
        // `Instances/DescribeInstances.md`): `InvalidStatus.NotFound`, 404.
        return Err(AliError::new(
            404,
            "InvalidStatus.NotFound",
            format!("The specified Status `{s}` is not found."),
        ));
    }
    let zone = ctx.opt("ZoneId");
    let itype = ctx.opt("InstanceType");
    let vsw = ctx.opt("VSwitchId");
    let image = ctx.opt("ImageId");

    // NextToken/MaxResults paging, or PageNumber/PageSize.
    let token_mode = ctx.opt("NextToken").is_some() || ctx.opt("MaxResults").is_some();
    let (offset, size, number) = if token_mode {
        let size = ctx.int_in("MaxResults", 10, 1, 100)? as usize;
        let offset = match ctx.opt("NextToken") {
            Some(t) => t.parse::<usize>().map_err(|_| {
                AliError::new(
                    400,
                    "InvalidNextToken.Malformed",
                    "The specified NextToken is not valid.",
                )
            })?,
            None => 0,
        };
        (offset, size, 0)
    } else {
        let (number, size) = page(ctx, 100)?;
        ((number - 1) * size, size, number)
    };

    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let all = store.list(ctx.now, |i| {
        i.provider == Provider::Alibaba
            && i.account == ctx.account.key_id
            && i.region == region.id
            && ids.as_ref().is_none_or(|v| v.contains(&i.id))
            && tags.iter().all(|(k, v)| {
                i.tag(k)
                    .is_some_and(|iv| v.as_deref().is_none_or(|v| v == iv))
            })
            && name.as_ref().is_none_or(|n| wildcard(n, &i.name))
            && status
                .as_ref()
                .is_none_or(|s| state_name(i.state_at(ctx.now)) == s)
            && zone.as_ref().is_none_or(|z| &i.zone == z)
            && itype.as_ref().is_none_or(|t| &i.instance_type == t)
            && vsw.as_ref().is_none_or(|v| i.subnet_id.as_ref() == Some(v))
            && image.as_ref().is_none_or(|m| &i.image_id == m)
    });
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip(offset)
        .take(size)
        .map(|i| render::instance(i, ctx.now))
        .collect();
    let next = if token_mode && offset + size < total {
        (offset + size).to_string()
    } else {
        String::new()
    };
    let mut out = fields(json!({
        "Instances": {"Instance": items},
        "TotalCount": total,
        "NextToken": next,
    }));
    if !token_mode {
        out.insert("PageNumber".into(), json!(number));
        out.insert("PageSize".into(), json!(size));
    }
    Ok(out)
}

pub(super) fn english(ctx: &Ctx) -> bool {
    ctx.opt("AcceptLanguage")
        .is_some_and(|l| l.starts_with("en"))
}

pub(super) fn describe_regions(ctx: &Ctx) -> AliResult<Fields> {
    let en = english(ctx);
    let regions: Vec<Value> = catalog::REGIONS
        .iter()
        .map(|r| {
            json!({
                "RegionId": r.id,
                "LocalName": if en { r.name_en } else { r.name_zh },
                "RegionEndpoint": format!("ecs.{}.aliyuncs.com", r.id),
                "Status": "available",
            })
        })
        .collect();
    Ok(fields(json!({"Regions": {"Region": regions}})))
}

pub(super) fn zone_name(region: &RegionInfo, zone: &str, en: bool) -> String {
    let letter = zone
        .rsplit(['-'])
        .next()
        .unwrap_or(zone)
        .chars()
        .last()
        .unwrap_or('a')
        .to_ascii_uppercase();
    if en {
        format!("{} Zone {letter}", region.name_en)
    } else {
        format!("{} 可用区{letter}", region.name_zh)
    }
}

pub(super) fn describe_zones(ctx: &Ctx) -> AliResult<Fields> {
    let region = ctx.region()?;
    let en = english(ctx);
    let verbose = ctx.boolean("Verbose")?.unwrap_or(true);
    let zones: Vec<Value> = region
        .zones
        .iter()
        .map(|z| {
            let mut m = Map::new();
            m.insert("ZoneId".into(), json!(z));
            m.insert("LocalName".into(), json!(zone_name(region, z, en)));
            m.insert("ZoneType".into(), json!("AvailabilityZone"));
            if verbose {
                let types: Vec<&str> = catalog::types_in_zone(region, z)
                    .iter()
                    .map(|t| t.id)
                    .collect();
                m.insert(
                    "AvailableInstanceTypes".into(),
                    json!({"InstanceTypes": types}),
                );
                m.insert(
                    "AvailableResourceCreation".into(),
                    json!({"ResourceTypes": ["Instance", "Disk", "VSwitch"]}),
                );
                m.insert(
                    "AvailableDiskCategories".into(),
                    json!({"DiskCategories": catalog::DISK_CATEGORIES}),
                );
            }
            Value::Object(m)
        })
        .collect();
    Ok(fields(json!({"Zones": {"Zone": zones}})))
}

pub(super) fn describe_images(ctx: &Ctx) -> AliResult<Fields> {
    let region = ctx.region()?;
    let (number, size) = page(ctx, 100)?;
    let wanted: Option<Vec<String>> = ctx
        .opt("ImageId")
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let status = ctx.opt("Status").unwrap_or_else(|| "Available".into());
    let owner = ctx.opt("ImageOwnerAlias");
    let os_type = ctx.opt("OSType");
    let all: Vec<&catalog::ImageInfo> = catalog::IMAGES
        .iter()
        .filter(|i| wanted.as_ref().is_none_or(|w| w.iter().any(|x| x == i.id)))
        .filter(|_| status.split(',').any(|s| s.trim() == "Available"))
        .filter(|_| owner.as_deref().is_none_or(|o| o == "system"))
        .filter(|i| os_type.as_deref().is_none_or(|o| o == i.os_type))
        .collect();
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip((number - 1) * size)
        .take(size)
        .map(|i| {
            json!({
                "ImageId": i.id, "ImageName": i.id, "ImageFamily": "",
                "OSName": i.os_name, "OSNameEn": i.os_name_en, "OSType": i.os_type,
                "Platform": i.platform, "Architecture": "x86_64", "ImageOwnerAlias": "system",
                "Status": "Available", "Size": i.size_gb, "Progress": "100%", "Usage": "instance",
                "CreationTime": "2024-08-19T03:00:00Z", "IsSupportCloudinit": true,
                "IsSupportIoOptimized": true, "IsPublic": true, "IsCopied": false,
            })
        })
        .collect();
    Ok(fields(json!({
        "Images": {"Image": items},
        "TotalCount": total,
        "PageNumber": number,
        "PageSize": size,
        "RegionId": region.id,
    })))
}

pub(super) fn describe_instance_types(ctx: &Ctx) -> AliResult<Fields> {
    let wanted = ctx.list("InstanceTypes");
    if wanted.len() > 10 {
        return Err(AliError::invalid(
            "InstanceTypes.N",
            "at most 10 types may be given",
        ));
    }
    let family = ctx.opt("InstanceTypeFamily");
    let max = ctx.int_in("MaxResults", 1600, 1, 1600)? as usize;
    let offset = match ctx.opt("NextToken") {
        Some(t) => t.parse::<usize>().map_err(|_| {
            AliError::new(
                400,
                "InvalidNextToken.Malformed",
                "The specified NextToken is not valid.",
            )
        })?,
        None => 0,
    };
    let all: Vec<&catalog::TypeInfo> = catalog::INSTANCE_TYPES
        .iter()
        .filter(|t| wanted.is_empty() || wanted.iter().any(|w| w == t.id))
        .filter(|t| family.as_deref().is_none_or(|f| f == t.family))
        .collect();
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip(offset)
        .take(max)
        .map(|t| {
            json!({
                "InstanceTypeId": t.id, "InstanceTypeFamily": t.family, "CpuCoreCount": t.cpu,
                "MemorySize": t.memory_gb, "GPUAmount": 0, "GPUSpec": "", "EniQuantity": 2,
                "InstanceFamilyLevel": "EnterpriseLevel", "LocalStorageCategory": "",
                "CpuArchitecture": "X86",
            })
        })
        .collect();
    let next = if offset + max < total {
        (offset + max).to_string()
    } else {
        String::new()
    };
    Ok(fields(
        json!({"InstanceTypes": {"InstanceType": items}, "NextToken": next}),
    ))
}

pub(super) fn describe_available_resource(ctx: &Ctx) -> AliResult<Fields> {
    let region = ctx.region()?;
    let dest = ctx.req("DestinationResource")?;
    if !matches!(
        dest.as_str(),
        "Zone" | "IoOptimized" | "InstanceType" | "SystemDisk" | "DataDisk" | "Network"
    ) {
        return Err(AliError::new(
            400,
            "InvalidDestinationResource.ValueNotSupported",
            format!("DestinationResource `{dest}` is not supported."),
        ));
    }
    let zone = ctx.opt("ZoneId");
    if let Some(z) = &zone
        && !region.zones.contains(&z.as_str())
    {
        return Err(AliError::new(
            404,
            "InvalidZoneId.NotFound",
            format!("The specified ZoneId `{z}` does not exist."),
        ));
    }
    let zones: Vec<Value> = region
        .zones
        .iter()
        .filter(|z| zone.as_deref().is_none_or(|w| w == **z))
        .map(|z| {
            let (kind, values): (&str, Vec<String>) = match dest.as_str() {
                "InstanceType" => (
                    "InstanceType",
                    catalog::types_in_zone(region, z).iter().map(|t| t.id.to_string()).collect(),
                ),
                "SystemDisk" => ("SystemDisk", catalog::DISK_CATEGORIES.iter().map(|c| c.to_string()).collect()),
                "DataDisk" => ("DataDisk", catalog::DISK_CATEGORIES.iter().map(|c| c.to_string()).collect()),
                "Network" => ("Network", vec!["vpc".into()]),
                "IoOptimized" => ("IoOptimized", vec!["optimized".into()]),
                _ => ("Zone", vec![z.to_string()]),
            };
            let supported: Vec<Value> = values
                .into_iter()
                .map(|v| json!({"Value": v, "Status": "Available", "StatusCategory": "WithStock"}))
                .collect();
            json!({
                "RegionId": region.id, "ZoneId": z, "Status": "Available", "StatusCategory": "WithStock",
                "AvailableResources": {"AvailableResource": [
                    {"Type": kind, "SupportedResources": {"SupportedResource": supported}}
                ]},
            })
        })
        .collect();
    Ok(fields(json!({"AvailableZones": {"AvailableZone": zones}})))
}
