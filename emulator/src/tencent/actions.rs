//! Tencent CVM actions (API version 2017-03-12) over the shared store.

use std::collections::HashSet;

use base64::Engine;
use serde_json::{Map, Value, json};

use super::catalog;
use super::error::{ApiError, ApiResult};
use super::params::Params;
use super::render;
use crate::app::AppState;
use crate::config::{Account, Provider, Settings};
use crate::store::{Disk, Instance, Phase, Store, Tag, VmState, new_uuid};

/// Everything an action needs.
pub struct Ctx<'a> {
    pub app: &'a AppState,
    pub account: &'a Account,
    /// Empty for DescribeRegions called without a region.
    pub region: &'a str,
    pub params: Params<'a>,
    pub request_id: &'a str,
    pub now: i64,
    /// Fault injection: instances created by this call end in LAUNCH_FAILED.
    pub launch_failed: bool,
}

pub type Fields = Map<String, Value>;

/// Actions the emulator implements.
pub const ACTIONS: &[&str] = &[
    "RunInstances",
    "StartInstances",
    "StopInstances",
    "RebootInstances",
    "TerminateInstances",
    "DescribeInstances",
    "DescribeInstancesStatus",
    "ModifyInstancesAttribute",
    "ResetInstance",
    "ResetInstancesType",
    "DescribeRegions",
    "DescribeZones",
    "DescribeImages",
    "DescribeInstanceTypeConfigs",
];

pub fn is_supported(action: &str) -> bool {
    ACTIONS.contains(&action)
}

pub fn run(action: &str, ctx: &Ctx) -> ApiResult<Fields> {
    match action {
        "RunInstances" => run_instances(ctx),
        "StartInstances" => start_instances(ctx),
        "StopInstances" => stop_instances(ctx),
        "RebootInstances" => reboot_instances(ctx),
        "TerminateInstances" => terminate_instances(ctx),
        "DescribeInstances" => describe_instances(ctx),
        "DescribeInstancesStatus" => describe_instances_status(ctx),
        "ModifyInstancesAttribute" => modify_instances_attribute(ctx),
        "ResetInstance" => reset_instance(ctx),
        "ResetInstancesType" => reset_instances_type(ctx),
        "DescribeRegions" => describe_regions(ctx),
        "DescribeZones" => describe_zones(ctx),
        "DescribeImages" => describe_images(ctx),
        "DescribeInstanceTypeConfigs" => describe_instance_type_configs(ctx),
        other => Err(ApiError::new(
            "InvalidAction",
            format!("The action `{other}` is not supported by the emulator."),
        )),
    }
}

fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

// ---------------------------------------------------------------- validation helpers

fn is_alnum_lower(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// `prefix` followed by exactly 8 lowercase alphanumerics (`ins-1a2b3c4d`).
pub fn is_resource_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 8 && is_alnum_lower(rest))
}

fn check_enum(p: &Params, key: &str, value: &str, allowed: &[&str]) -> ApiResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::invalid_value(
            &p.path(key),
            format!("`{value}` is not one of {}.", allowed.join(", ")),
        ))
    }
}

/// `InstanceIds.N`: present (if required), at most `max`, well formed; duplicates removed.
fn instance_ids(p: &Params, key: &str, required: bool, max: usize) -> ApiResult<Vec<String>> {
    let ids = p.string_list(key)?.unwrap_or_default();
    if ids.is_empty() {
        return if required {
            Err(ApiError::missing(key))
        } else {
            Ok(ids)
        };
    }
    if ids.len() > max {
        return Err(ApiError::new(
            "InvalidParameterValue.LimitExceeded",
            format!(
                "The number of `{key}` is {}, which exceeds the limit of {max}.",
                ids.len()
            ),
        ));
    }
    let bad: Vec<&String> = ids
        .iter()
        .filter(|id| !is_resource_id(id, "ins-"))
        .collect();
    if !bad.is_empty() {
        return Err(ApiError::new(
            "InvalidInstanceId.Malformed",
            format!("The instance ID(s) {bad:?} are malformed."),
        ));
    }
    let mut seen = HashSet::new();
    Ok(ids
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect())
}

fn owned<'s>(store: &'s Store, ctx: &Ctx, id: &str) -> Option<&'s Instance> {
    store.get(id, ctx.now).filter(|i| {
        i.provider == Provider::Tencent && i.account == ctx.account.key_id && i.region == ctx.region
    })
}

/// All ids must name instances of this account in this region.
fn require_found(store: &Store, ctx: &Ctx, ids: &[String]) -> ApiResult<()> {
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| owned(store, ctx, id).is_none())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidInstanceId.NotFound",
            format!("The instance ID(s) {missing:?} are not found."),
        ))
    }
}

/// All instances must currently be in one of `allowed`.
fn require_states(store: &Store, ctx: &Ctx, ids: &[String], allowed: &[VmState]) -> ApiResult<()> {
    for id in ids {
        if let Some(i) = owned(store, ctx, id) {
            let s = i.state_at(ctx.now);
            if !allowed.contains(&s) {
                return Err(render::wrong_state(s, id));
            }
        }
    }
    Ok(())
}

fn image_checked(id: &str) -> ApiResult<&'static catalog::Image> {
    if !is_resource_id(id, "img-") {
        return Err(ApiError::new(
            "InvalidImageId.Malformed",
            format!("The image ID `{id}` is malformed."),
        ));
    }
    catalog::image(id).ok_or_else(|| {
        ApiError::new(
            "InvalidImageId.NotFound",
            format!("The image `{id}` is not found."),
        )
    })
}

fn instance_type_checked(name: &str) -> ApiResult<&'static catalog::InstanceType> {
    let well_formed = name.split_once('.').is_some_and(|(family, size)| {
        !family.is_empty()
            && !size.is_empty()
            && family
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && size
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    }) || (name.starts_with("CDH_") && name.len() > 4);
    if !well_formed {
        return Err(ApiError::new(
            "InvalidInstanceType.Malformed",
            format!("The instance type `{name}` is malformed."),
        ));
    }
    catalog::instance_type(name).ok_or_else(|| {
        ApiError::new(
            "InvalidParameterValue.InstanceTypeNotFound",
            format!("The instance type `{name}` is not found."),
        )
    })
}

fn check_instance_name(name: &str) -> ApiResult<()> {
    if name.chars().count() > 60 {
        return Err(ApiError::new(
            "InvalidInstanceName.TooLong",
            "The instance name exceeds 60 characters.",
        ));
    }
    if name.is_empty() {
        return Err(ApiError::invalid_value(
            "InstanceName",
            "the name must not be empty.",
        ));
    }
    Ok(())
}

fn check_user_data(p: &Params, key: &str) -> ApiResult<Option<String>> {
    let Some(ud) = p.string(key)? else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(ud.as_bytes())
        .map_err(|_| {
            ApiError::new(
                "InvalidParameterValue.InvalidUserDataFormat",
                "UserData must be base64 encoded.",
            )
        })?;
    if decoded.len() > 16 * 1024 {
        return Err(ApiError::new(
            "InvalidParameterValue.TooLarge",
            format!(
                "UserData is {} bytes once decoded, more than the 16 KB allowed.",
                decoded.len()
            ),
        ));
    }
    Ok(Some(ud))
}

fn check_host_name(name: &str, windows: bool) -> ApiResult<()> {
    let err = || {
        ApiError::new(
            "InvalidParameterValue.IllegalHostName",
            format!("The host name `{name}` is invalid."),
        )
    };
    let len = name.chars().count();
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || (c == '.' && !windows));
    let bad_edges = name.starts_with(['.', '-']) || name.ends_with(['.', '-']);
    let bad_runs = name.contains("..") || name.contains("--");
    let range = if windows { 2..=15 } else { 2..=60 };
    if !range.contains(&len)
        || !ok_chars
        || bad_edges
        || bad_runs
        || (windows && name.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(err());
    }
    Ok(())
}

fn check_password(pw: &str, windows: bool) -> ApiResult<()> {
    const SPECIAL: &str = "()`~!@#$%^&*-+=_|{}[]:;'<>,.?/";
    let len = pw.chars().count();
    let classes = [
        pw.chars().any(|c| c.is_ascii_lowercase()),
        pw.chars().any(|c| c.is_ascii_uppercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| SPECIAL.contains(c)),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let only_allowed = pw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || SPECIAL.contains(c));
    let ok = if windows {
        (12..=30).contains(&len) && classes >= 3
    } else {
        (8..=30).contains(&len) && classes >= 2
    };
    if ok && only_allowed {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidPassword",
            if windows {
                "The password must be 12 to 30 characters and contain at least three of: lowercase letters, uppercase letters, digits and special characters."
            } else {
                "The password must be 8 to 30 characters and contain at least two of: lowercase letters, uppercase letters, digits and special characters."
            },
        ))
    }
}

/// LoginSettings: returns the key ids to remember.
fn login_settings(p: &Params, windows: bool) -> ApiResult<Vec<String>> {
    let Some(ls) = p.object("LoginSettings")? else {
        return Ok(vec![]);
    };
    ls.check_known(&["Password", "KeyIds", "KeepImageLogin"])?;
    let password = ls.string("Password")?;
    let key_ids = ls.string_list("KeyIds")?.unwrap_or_default();
    let keep = match ls.string("KeepImageLogin") {
        Ok(v) => v.is_some_and(|s| s.eq_ignore_ascii_case("TRUE")),
        Err(_) => ls.boolean("KeepImageLogin")?.unwrap_or(false),
    };
    if password.is_some() && !key_ids.is_empty()
        || keep && (password.is_some() || !key_ids.is_empty())
    {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "Only one of LoginSettings.Password, LoginSettings.KeyIds and LoginSettings.KeepImageLogin may be given.",
        ));
    }
    if let Some(pw) = &password {
        check_password(pw, windows)?;
    }
    for k in &key_ids {
        if !is_resource_id(k, "skey-") {
            return Err(ApiError::new(
                "InvalidKeyPairId.Malformed",
                format!("The key pair ID `{k}` is malformed."),
            ));
        }
    }
    if windows && !key_ids.is_empty() {
        return Err(ApiError::new(
            "UnsupportedOperation.KeyPairUnsupportedWindows",
            "Key pairs are not supported for Windows instances.",
        ));
    }
    Ok(key_ids)
}

fn security_group_ids(p: &Params, key: &str) -> ApiResult<Option<Vec<String>>> {
    let Some(sgs) = p.string_list(key)? else {
        return Ok(None);
    };
    for sg in &sgs {
        if !is_resource_id(sg, "sg-") {
            return Err(ApiError::new(
                "InvalidSgId.Malformed",
                format!("The security group ID `{sg}` is malformed."),
            ));
        }
    }
    Ok(Some(sgs))
}

const DISK_TYPES: &[&str] = &[
    "LOCAL_BASIC",
    "LOCAL_SSD",
    "CLOUD_BASIC",
    "CLOUD_PREMIUM",
    "CLOUD_SSD",
    "CLOUD_BSSD",
    "CLOUD_HSSD",
    "CLOUD_TSSD",
];

/// SystemDisk: (type, size). `current` is the existing disk for ResetInstance.
fn system_disk(p: &Params, current: Option<&Disk>) -> ApiResult<(String, u64)> {
    let default_type = current
        .map(|d| d.disk_type.clone())
        .unwrap_or_else(|| "LOCAL_BASIC".to_string());
    let default_size = current.map(|d| d.size_gb).unwrap_or(50);
    let Some(sd) = p.object("SystemDisk")? else {
        return Ok((default_type, default_size));
    };
    sd.check_known(&[
        "DiskType", "DiskId", "DiskSize", "CdcId", "DiskName", "Encrypt", "KmsKeyId",
    ])?;
    let disk_type = sd.string("DiskType")?.unwrap_or(default_type);
    check_enum(&sd, "DiskType", &disk_type, DISK_TYPES)?;
    if let Some(cur) = current
        && cur.disk_type != disk_type
    {
        return Err(ApiError::invalid_value(
            "SystemDisk.DiskType",
            "reinstalling cannot change the system disk type.",
        ));
    }
    let size = sd.int("DiskSize")?.unwrap_or(default_size as i64);
    if !(20..=1024).contains(&size) {
        return Err(ApiError::new(
            "InvalidParameterValue.Range",
            format!("SystemDisk.DiskSize must be between 20 and 1024 GB, got {size}."),
        ));
    }
    if let Some(cur) = current
        && (size as u64) < cur.size_gb
    {
        return Err(ApiError::invalid_value(
            "SystemDisk.DiskSize",
            format!("the system disk cannot shrink below {} GB.", cur.size_gb),
        ));
    }
    Ok((disk_type, size as u64))
}

fn paging(p: &Params) -> ApiResult<(usize, usize)> {
    let offset = p.int("Offset")?.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid_value("Offset", "must not be negative."));
    }
    let limit = p.int("Limit")?.unwrap_or(20);
    if limit > 100 {
        return Err(ApiError::new(
            "InvalidParameterValue.LimitExceeded",
            format!("Limit is {limit}, the maximum is 100."),
        ));
    }
    if limit < 1 {
        return Err(ApiError::invalid_value(
            "Limit",
            "must be between 1 and 100.",
        ));
    }
    Ok((offset as usize, limit as usize))
}

/// Filters.N: (name, values), with the documented limits (10 filters, 5 values each).
fn filters(p: &Params, known: &dyn Fn(&str) -> bool) -> ApiResult<Vec<(String, Vec<String>)>> {
    let Some(list) = p.object_list("Filters")? else {
        return Ok(vec![]);
    };
    if list.len() > 10 {
        return Err(ApiError::new(
            "InvalidParameterValue.LimitExceeded",
            format!("At most 10 Filters are allowed, got {}.", list.len()),
        ));
    }
    let mut out = vec![];
    for f in list {
        f.check_known(&["Name", "Values"])?;
        let name = f.required_string("Name")?;
        let values = f
            .string_list("Values")?
            .ok_or_else(|| ApiError::missing(&f.path("Values")))?;
        if !known(&name) {
            return Err(ApiError::new(
                "InvalidFilter",
                format!("The filter `{name}` is not supported."),
            ));
        }
        if values.len() > 5 {
            return Err(ApiError::new(
                "InvalidFilterValue.LimitExceeded",
                format!(
                    "The filter `{name}` has {} values, the maximum is 5.",
                    values.len()
                ),
            ));
        }
        out.push((name, values));
    }
    Ok(out)
}

fn check_zone_filter(region: &str, zones: &[String]) -> ApiResult<()> {
    for z in zones {
        if catalog::zone(region, z).is_none() {
            return Err(ApiError::new(
                "InvalidZone.MismatchRegion",
                format!("The zone `{z}` does not exist in region `{region}`."),
            ));
        }
    }
    Ok(())
}

fn delays(ctx: &Ctx) -> Settings {
    ctx.app.settings()
}

// ---------------------------------------------------------------- RunInstances

const RUN_KNOWN: &[&str] = &[
    "InstanceChargeType",
    "InstanceChargePrepaid",
    "Placement",
    "InstanceType",
    "ImageId",
    "SystemDisk",
    "DataDisks",
    "VirtualPrivateCloud",
    "InternetAccessible",
    "InstanceCount",
    "MinCount",
    "InstanceName",
    "LoginSettings",
    "SecurityGroupIds",
    "EnhancedService",
    "ClientToken",
    "HostName",
    "ActionTimer",
    "DisasterRecoverGroupIds",
    "TagSpecification",
    "InstanceMarketOptions",
    "UserData",
    "Metadata",
    "DryRun",
    "CpuTopology",
    "CamRoleName",
    "HpcClusterId",
    "LaunchTemplate",
    "DedicatedClusterId",
    "ChcIds",
    "PartitionNumber",
    "DisableApiTermination",
    "EnableJumboFrame",
    "NetworkInterfaces",
];

/// Display names for `count` instances: `{R:x}` patterns count up from x, otherwise
/// a 1-based suffix is appended when more than one instance is bought.
pub fn instance_names(base: &str, count: usize) -> Vec<String> {
    fn expand(base: &str, offset: usize) -> Option<String> {
        let mut out = String::new();
        let mut rest = base;
        let mut found = false;
        while let Some(pos) = rest.find("{R:") {
            let after = &rest[pos + 3..];
            let Some(end) = after.find('}') else { break };
            let Ok(start) = after[..end].parse::<usize>() else {
                out.push_str(&rest[..pos + 3]);
                rest = after;
                continue;
            };
            found = true;
            out.push_str(&rest[..pos]);
            out.push_str(&(start + offset).to_string());
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        found.then_some(out)
    }
    (0..count)
        .map(|i| match expand(base, i) {
            Some(n) => n,
            None if count > 1 => format!("{base}{}", i + 1),
            None => base.to_string(),
        })
        .collect()
}

struct DataDiskSpec {
    disk_type: String,
    size: u64,
    delete_with_instance: bool,
}

fn run_instances(ctx: &Ctx) -> ApiResult<Fields> {
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
    let key_ids = login_settings(p, windows)?;
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
                if value.is_empty() || value.chars().count() > 255 {
                    return Err(ApiError::new(
                        "FailedOperation.IllegalTagValue",
                        format!("The value of tag `{key}` must be 1 to 255 characters."),
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
                "VpcIpsUsed",
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
            provider: Provider::Tencent,
            account: ctx.account.key_id.clone(),
            region: ctx.region.to_string(),
            zone: zone.clone(),
            id: id.clone(),
            name,
            image_id: image_id.clone(),
            instance_type: itype.name.to_string(),
            cpu: itype.cpu,
            memory_gb: itype.memory_gb,
            schedule: vec![],
            private_ips: vec![private_ip],
            public_ips,
            tags: tags.clone(),
            security_groups: sgs.clone(),
            created_ms: ctx.now,
            updated_ms: ctx.now,
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
            last_operation: None,
            seq: 0,
            uuid: new_uuid(),
            protected,
            stop_charging: false,
            guest_ignores_soft_stop: false,
            extra: Map::new(),
        };
        let end = if ctx.launch_failed {
            VmState::LaunchFailed
        } else {
            VmState::Running
        };
        inst.set_schedule(ctx.now, &[(VmState::Pending, Some(d.pending)), (end, None)]);
        inst.record_operation("RunInstances", ctx.request_id, ctx.now, inst.settles_at());
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

fn dry_run_error() -> ApiError {
    ApiError::new(
        "DryRunOperation",
        "DryRun Operation. It means that the request would have succeeded, but the DryRun parameter was used.",
    )
}

// ---------------------------------------------------------------- state changes

/// Phases of a new schedule: `(state, duration in ms or None for "until further notice")`.
type Schedule = Vec<(VmState, Option<u64>)>;

/// Validate ids and states, then give every instance a new schedule.
fn transition(
    ctx: &Ctx,
    action: &str,
    ids: &[String],
    allowed: &[VmState],
    schedule: &dyn Fn(&Instance) -> Schedule,
    mutate: &dyn Fn(&mut Instance),
) -> ApiResult<Fields> {
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    require_found(&store, ctx, ids)?;
    require_states(&store, ctx, ids, allowed)?;
    for id in ids {
        if let Some(inst) = store.get_mut(id, ctx.now) {
            let phases = schedule(inst);
            inst.set_schedule(ctx.now, &phases);
            mutate(inst);
            let done = inst.settles_at();
            inst.record_operation(action, ctx.request_id, ctx.now, done);
        }
    }
    Ok(Map::new())
}

fn start_instances(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds"])?;
    let ids = instance_ids(p, "InstanceIds", true, 100)?;
    let d = delays(ctx).transition_delays_ms;
    transition(
        ctx,
        "StartInstances",
        &ids,
        &[VmState::Stopped],
        &|_| {
            vec![
                (VmState::Starting, Some(d.starting)),
                (VmState::Running, None),
            ]
        },
        &|i| i.stop_charging = false,
    )
}

fn stop_instances(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds", "ForceStop", "StopType", "StoppedMode"])?;
    let ids = instance_ids(p, "InstanceIds", true, 100)?;
    let force_stop = p.boolean("ForceStop")?.unwrap_or(false);
    let stop_type = p.string("StopType")?.unwrap_or_else(|| "SOFT".to_string());
    check_enum(p, "StopType", &stop_type, &["SOFT", "HARD", "SOFT_FIRST"])?;
    // HARD powers off; SOFT asks the guest; SOFT_FIRST (or the older ForceStop=TRUE)
    // powers off when the guest does not shut down.
    let soft = stop_type != "HARD";
    let force_on_failure = stop_type == "SOFT_FIRST" || force_stop;
    let mode = p
        .string("StoppedMode")?
        .unwrap_or_else(|| "KEEP_CHARGING".to_string());
    check_enum(p, "StoppedMode", &mode, &["KEEP_CHARGING", "STOP_CHARGING"])?;
    let stop_charging = mode == "STOP_CHARGING";
    if stop_charging {
        let store = ctx.app.store();
        for id in &ids {
            if let Some(i) = owned(&store, ctx, id)
                && i.charge_type != "POSTPAID_BY_HOUR"
            {
                return Err(ApiError::new(
                    "UnsupportedOperation.StoppedModeStopCharging",
                    format!("The instance `{id}` is not pay-as-you-go and cannot stop charging."),
                ));
            }
        }
    }
    let d = delays(ctx).transition_delays_ms;
    transition(
        ctx,
        "StopInstances",
        &ids,
        &[VmState::Running],
        &|i| i.stop_schedule(soft, force_on_failure, d.stopping),
        &|i| i.stop_charging = stop_charging,
    )
}

fn reboot_instances(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds", "ForceReboot", "StopType"])?;
    let ids = instance_ids(p, "InstanceIds", true, 100)?;
    p.boolean("ForceReboot")?;
    if let Some(st) = p.string("StopType")? {
        check_enum(p, "StopType", &st, &["SOFT", "HARD", "SOFT_FIRST"])?;
    }
    let d = delays(ctx).transition_delays_ms;
    transition(
        ctx,
        "RebootInstances",
        &ids,
        &[VmState::Running],
        &|_| {
            vec![
                (VmState::Rebooting, Some(d.rebooting)),
                (VmState::Running, None),
            ]
        },
        &|_| {},
    )
}

fn terminate_instances(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds", "ReleaseAddress", "ReleasePrepaidDataDisks"])?;
    let ids = instance_ids(p, "InstanceIds", true, 100)?;
    p.boolean("ReleaseAddress")?;
    p.boolean("ReleasePrepaidDataDisks")?;
    {
        let store = ctx.app.store();
        for id in &ids {
            if owned(&store, ctx, id).is_some_and(|i| i.protected) {
                return Err(ApiError::new(
                    "UnsupportedOperation.InstancesProtected",
                    format!("The instance `{id}` has termination protection enabled."),
                ));
            }
        }
    }
    let d = delays(ctx).transition_delays_ms;
    let now = ctx.now;
    transition(
        ctx,
        "TerminateInstances",
        &ids,
        &[
            VmState::Running,
            VmState::Stopped,
            VmState::LaunchFailed,
            VmState::Terminated,
        ],
        &|i| {
            if i.state_at(now) == VmState::Terminated {
                // Already in the recycle bin: destroy it for good.
                vec![
                    (VmState::Terminating, Some(d.terminating)),
                    (VmState::Gone, None),
                ]
            } else {
                vec![
                    (VmState::Terminating, Some(d.terminating)),
                    (VmState::Terminated, Some(d.shutdown)),
                    (VmState::Gone, None),
                ]
            }
        },
        &|_| {},
    )
    .inspect(|_f| {
        // The operation is complete once the instance is shut down, not when it vanishes.
        let mut store = ctx.app.store();
        for id in &ids {
            if let Some(i) = store.get_mut(id, now)
                && let (
                    Some(op),
                    Some(Phase {
                        until_ms: Some(t), ..
                    }),
                ) = (i.last_operation.as_mut(), i.schedule.first())
            {
                op.done_ms = *t;
            }
        }
    })
}

// ---------------------------------------------------------------- describe

const INSTANCE_FILTERS: &[&str] = &[
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

fn filter_matches(i: &Instance, now: i64, name: &str, values: &[String]) -> bool {
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
        "instance-state" => any(render::state_name(i.state_at(now))),
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
fn select<'s>(
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

fn describe_instances(ctx: &Ctx) -> ApiResult<Fields> {
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

fn describe_instances_status(ctx: &Ctx) -> ApiResult<Fields> {
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
        .map(|i| json!({"InstanceId": i.id, "InstanceState": render::state_name(i.state_at(ctx.now))}))
        .collect();
    Ok(fields(
        json!({ "TotalCount": all.len(), "InstanceStatusSet": set }),
    ))
}

// ---------------------------------------------------------------- modify / reset

fn modify_instances_attribute(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&[
        "InstanceIds",
        "InstanceName",
        "UserData",
        "SecurityGroups",
        "CamRoleName",
        "HostName",
        "DisableApiTermination",
        "CamRoleType",
        "AutoReboot",
        "EnableJumboFrame",
    ])?;
    let ids = instance_ids(p, "InstanceIds", true, 100)?;
    let name = p.string("InstanceName")?;
    if let Some(n) = &name {
        check_instance_name(n)?;
    }
    let sgs = security_group_ids(p, "SecurityGroups")?;
    let user_data = check_user_data(p, "UserData")?;
    let host_name = p.string("HostName")?;
    let protect = p.boolean("DisableApiTermination")?;
    let cam = p.string("CamRoleName")?;
    p.string("CamRoleType")?;
    p.boolean("AutoReboot")?;
    let jumbo = p.boolean("EnableJumboFrame")?;
    let given = [
        name.is_some(),
        sgs.is_some(),
        user_data.is_some(),
        host_name.is_some(),
        protect.is_some(),
        cam.is_some(),
        jumbo.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given == 0 {
        return Err(ApiError::new(
            "MissingParameter.AtLeastOne",
            "At least one attribute to modify must be given.",
        ));
    }
    if given > 1 {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "Only one attribute can be modified per request.",
        ));
    }
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    require_found(&store, ctx, &ids)?;
    let busy = [VmState::Terminating, VmState::Terminated];
    let allowed: Vec<VmState> = if user_data.is_some() || host_name.is_some() {
        // Changing the user data or host name needs a stopped instance.
        vec![VmState::Stopped]
    } else {
        [
            VmState::Pending,
            VmState::LaunchFailed,
            VmState::Running,
            VmState::Stopping,
            VmState::Stopped,
            VmState::Starting,
            VmState::Rebooting,
            VmState::Resetting,
        ]
        .into_iter()
        .filter(|s| !busy.contains(s))
        .collect()
    };
    require_states(&store, ctx, &ids, &allowed)?;
    for id in &ids {
        let windows = owned(&store, ctx, id)
            .and_then(|i| catalog::image(&i.image_id))
            .is_some_and(|im| im.is_windows());
        if let Some(h) = &host_name {
            check_host_name(h, windows)?;
        }
    }
    for id in &ids {
        if let Some(i) = store.get_mut(id, ctx.now) {
            if let Some(n) = &name {
                i.name = n.clone();
            }
            if let Some(s) = &sgs {
                i.security_groups = s.clone();
            }
            if let Some(u) = &user_data {
                i.user_data = Some(u.clone());
            }
            if let Some(h) = &host_name {
                i.host_name = Some(h.clone());
            }
            if let Some(pr) = protect {
                i.protected = pr;
            }
            i.updated_ms = ctx.now;
            if !i.state_at(ctx.now).is_transitional() {
                i.record_operation("ModifyInstancesAttribute", ctx.request_id, ctx.now, ctx.now);
            }
        }
    }
    Ok(Map::new())
}

fn reset_instance(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&[
        "InstanceId",
        "ImageId",
        "SystemDisk",
        "LoginSettings",
        "EnhancedService",
        "HostName",
        "UserData",
    ])?;
    let id = p.required_string("InstanceId")?;
    if !is_resource_id(&id, "ins-") {
        return Err(ApiError::new(
            "InvalidInstanceId.Malformed",
            format!("The instance ID `{id}` is malformed."),
        ));
    }
    let ids = vec![id.clone()];
    let image_param = p.string("ImageId")?;
    let user_data = check_user_data(p, "UserData")?;
    let host_name = p.string("HostName")?;
    let d = delays(ctx).transition_delays_ms;

    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    require_found(&store, ctx, &ids)?;
    let current = owned(&store, ctx, &id).cloned().expect("checked above");
    let image_id = image_param.unwrap_or_else(|| current.image_id.clone());
    let image = image_checked(&image_id)?;
    let (_, size) = system_disk(p, Some(&current.system_disk))?;
    let key_ids = login_settings(p, image.is_windows())?;
    if let Some(h) = &host_name {
        check_host_name(h, image.is_windows())?;
    }
    require_states(&store, ctx, &ids, &[VmState::Running, VmState::Stopped])?;
    if let Some(i) = store.get_mut(&id, ctx.now) {
        i.image_id = image_id;
        i.system_disk.size_gb = size;
        i.key_ids = key_ids;
        if let Some(u) = user_data {
            i.user_data = Some(u);
        }
        if let Some(h) = host_name {
            i.host_name = Some(h);
        }
        i.set_schedule(
            ctx.now,
            &[
                (VmState::Resetting, Some(d.resetting)),
                (VmState::Running, None),
            ],
        );
        let done = i.settles_at();
        i.record_operation("ResetInstance", ctx.request_id, ctx.now, done);
    }
    Ok(Map::new())
}

fn reset_instances_type(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds", "InstanceType", "ForceStop"])?;
    let ids = instance_ids(p, "InstanceIds", true, 1)?;
    let type_name = p.required_string("InstanceType")?;
    let itype = instance_type_checked(&type_name)?;
    let force = p.boolean("ForceStop")?.unwrap_or(false);
    let d = delays(ctx).transition_delays_ms;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    require_found(&store, ctx, &ids)?;
    let allowed: &[VmState] = if force {
        &[VmState::Stopped, VmState::Running]
    } else {
        &[VmState::Stopped]
    };
    require_states(&store, ctx, &ids, allowed)?;
    for id in &ids {
        if let Some(i) = store.get_mut(id, ctx.now) {
            if i.state_at(ctx.now) == VmState::Running {
                i.set_schedule(
                    ctx.now,
                    &[
                        (VmState::Stopping, Some(d.stopping)),
                        (VmState::Stopped, None),
                    ],
                );
            } else {
                i.updated_ms = ctx.now;
            }
            i.instance_type = itype.name.to_string();
            i.cpu = itype.cpu;
            i.memory_gb = itype.memory_gb;
            let done = i.settles_at().max(ctx.now) + d.resize as i64;
            i.record_operation("ResetInstancesType", ctx.request_id, ctx.now, done);
        }
    }
    Ok(Map::new())
}

// ---------------------------------------------------------------- catalog

fn describe_regions(ctx: &Ctx) -> ApiResult<Fields> {
    ctx.params.check_known(&[])?;
    let set: Vec<Value> = catalog::REGIONS
        .iter()
        .map(|r| json!({"Region": r.region, "RegionName": r.name, "RegionState": "AVAILABLE"}))
        .collect();
    Ok(fields(json!({ "TotalCount": set.len(), "RegionSet": set })))
}

fn describe_zones(ctx: &Ctx) -> ApiResult<Fields> {
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

fn describe_images(ctx: &Ctx) -> ApiResult<Fields> {
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
                    "image-type" => any("PUBLIC_IMAGE"),
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
                "ImageType": "PUBLIC_IMAGE",
                "CreatedTime": im.created,
                "ImageName": im.name,
                "ImageDescription": im.name,
                "ImageSize": im.size_gb,
                "Architecture": im.architecture,
                "ImageState": "NORMAL",
                "Platform": im.platform,
                "ImageCreator": "",
                "ImageSource": "OFFICIAL",
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

fn describe_instance_type_configs(ctx: &Ctx) -> ApiResult<Fields> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_patterns() {
        assert_eq!(instance_names("web", 1), vec!["web"]);
        assert_eq!(instance_names("server_", 2), vec!["server_1", "server_2"]);
        assert_eq!(
            instance_names("server_{R:3}", 2),
            vec!["server_3", "server_4"]
        );
        assert_eq!(instance_names("server_{R:3}", 1), vec!["server_3"]);
        assert_eq!(
            instance_names("a{R:1}-b{R:10}", 2),
            vec!["a1-b10", "a2-b11"]
        );
        assert_eq!(instance_names("x{R:y}", 2), vec!["x{R:y}1", "x{R:y}2"]);
    }

    #[test]
    fn resource_ids() {
        assert!(is_resource_id("ins-1a2b3c4d", "ins-"));
        assert!(!is_resource_id("ins-1122", "ins-"));
        assert!(!is_resource_id("ins-1A2B3C4D", "ins-"));
        assert!(!is_resource_id("img-1a2b3c4d", "ins-"));
    }

    #[test]
    fn passwords_and_host_names() {
        assert!(check_password("Passw0rd", false).is_ok());
        assert!(check_password("short1", false).is_err());
        assert!(check_password("alllowercase", false).is_err());
        assert!(check_password("Passw0rd", true).is_err());
        assert!(check_password("Passw0rd!Passw0rd", true).is_ok());
        assert!(check_host_name("web-1.example", false).is_ok());
        assert!(check_host_name("-web", false).is_err());
        assert!(check_host_name("a..b", false).is_err());
        assert!(check_host_name("web.1", true).is_err());
    }
}
