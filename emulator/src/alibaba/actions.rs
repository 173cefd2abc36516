//! The ECS actions, over the shared store.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::config::{Account, Provider};
use crate::store::{Disk, Instance, Store, Tag, VmState, new_uuid, random_alnum};

use super::catalog::{self, RegionInfo};
use super::render::{self, state_name};
use super::{AliError, AliResult};

pub struct Ctx<'a> {
    pub app: &'a AppState,
    pub account: &'a Account,
    pub params: &'a [(String, String)],
    pub request_id: &'a str,
    pub now: i64,
    pub launch_failed: bool,
}

pub(super) type Fields = Map<String, Value>;

/// Parameters that belong to signing and routing rather than to an action.
const COMMON: &[&str] = &[
    "Action",
    "Version",
    "Format",
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "SignatureType",
    "Timestamp",
    "SecurityToken",
    "ClientToken",
    "DryRun",
];

impl Ctx<'_> {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn opt(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).map(str::to_string)
    }

    pub(super) fn req(&self, name: &str) -> AliResult<String> {
        self.opt(name).ok_or_else(|| AliError::missing(name))
    }

    pub(super) fn boolean(&self, name: &str) -> AliResult<Option<bool>> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(AliError::invalid(name, format!("`{v}` is not a boolean"))),
        }
    }

    pub(super) fn int(&self, name: &str) -> AliResult<Option<i64>> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| AliError::invalid(name, format!("`{v}` is not an integer"))),
        }
    }

    pub(super) fn int_in(&self, name: &str, default: i64, lo: i64, hi: i64) -> AliResult<i64> {
        let v = self.int(name)?.unwrap_or(default);
        if !(lo..=hi).contains(&v) {
            return Err(AliError::invalid(
                name,
                format!("must be between {lo} and {hi}, got {v}"),
            ));
        }
        Ok(v)
    }

    /// `Name.1`, `Name.2`, ... in index order.
    pub(super) fn list(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}.");
        let mut items: Vec<(u32, String)> = self
            .params
            .iter()
            .filter_map(|(k, v)| {
                let n: u32 = k.strip_prefix(&prefix)?.parse().ok()?;
                Some((n, v.clone()))
            })
            .collect();
        items.sort();
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// `Tag.N.Key` / `Tag.N.Value` pairs in index order.
    pub(super) fn tags(&self) -> AliResult<Vec<(String, Option<String>)>> {
        let mut by_n: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
        for (k, v) in self.params {
            let Some(rest) = k.strip_prefix("Tag.") else {
                continue;
            };
            let Some((n, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(n) = n.parse::<u32>() else {
                continue;
            };
            let e = by_n.entry(n).or_default();
            match field {
                "Key" => e.0 = Some(v.clone()),
                "Value" => e.1 = Some(v.clone()),
                _ => {}
            }
        }
        let mut out = vec![];
        for (n, (k, v)) in by_n {
            let k = k
                .filter(|k| !k.is_empty())
                .ok_or_else(|| AliError::missing(&format!("Tag.{n}.Key")))?;
            out.push((k, v));
        }
        Ok(out)
    }

    pub(super) fn region(&self) -> AliResult<&'static RegionInfo> {
        let r = self.opt("RegionId").ok_or_else(|| {
            AliError::new(
                400,
                "MissingRegionId",
                "RegionId is mandatory for this action.",
            )
        })?;
        catalog::region(&r).ok_or_else(|| {
            AliError::new(
                404,
                "InvalidRegionId.NotFound",
                "The specified RegionId does not exist.",
            )
        })
    }

    /// Digest of the action's own parameters (idempotency checks).
    pub(super) fn params_digest(&self) -> String {
        let mut p: Vec<&(String, String)> = self
            .params
            .iter()
            .filter(|(k, _)| !COMMON.contains(&k.as_str()))
            .collect();
        p.sort();
        let mut h = Sha256::new();
        for (k, v) in p {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
        hex::encode(h.finalize())
    }
}

pub(super) fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The parameters of actions whose official request model is checked strictly: every
/// wire name of the SDK model (`alibabacloud-ecs20140526` 7.11.8, `<Action>Request.to_map`;
/// lists as `.N`), generated with the recipe in docs/provider-contract.md (Alibaba §9).
/// None of these models has `RegionId`: the endpoint names the region.
const STRICT_PARAMS: &[(&str, &[&str])] = &[
    (
        "ModifyInstanceAttribute",
        &[
            "CpuOptions.Core",
            "CpuOptions.NestedVirtualization",
            "CpuOptions.ThreadsPerCore",
            "CpuOptions.TopologyType",
            "CreditSpecification",
            "DeletionProtection",
            "Description",
            "EnableJumboFrame",
            "EnableNetworkEncryption",
            "HostName",
            "InstanceId",
            "InstanceName",
            "NetworkInterfaceQueueNumber",
            "OwnerAccount",
            "OwnerId",
            "Password",
            "PrivateDnsNameOptions.EnableInstanceIdDnsAAAARecord",
            "PrivateDnsNameOptions.EnableInstanceIdDnsARecord",
            "PrivateDnsNameOptions.EnableIpDnsARecord",
            "PrivateDnsNameOptions.EnableIpDnsPtrRecord",
            "PrivateDnsNameOptions.HostnameType",
            "Recyclable",
            "RemoteConnectionOptions.Password",
            "RemoteConnectionOptions.Type",
            "ResourceOwnerAccount",
            "ResourceOwnerId",
            "SecurityGroupIds.N",
            "UserData",
        ],
    ),
    (
        "ReplaceSystemDisk",
        &[
            "Architecture",
            "Arn.N.AssumeRoleFor",
            "Arn.N.RoleType",
            "Arn.N.Rolearn",
            "ClientToken",
            "DiskId",
            "EncryptAlgorithm",
            "Encrypted",
            "ImageId",
            "InstanceId",
            "KMSKeyId",
            "KeyPairName",
            "OwnerAccount",
            "OwnerId",
            "Password",
            "PasswordInherit",
            "Platform",
            "ResourceOwnerAccount",
            "ResourceOwnerId",
            "SecurityEnhancementStrategy",
            "SystemDisk.Size",
            "UseAdditionalService",
        ],
    ),
    (
        "ModifyInstanceSpec",
        &[
            "AllowMigrateAcrossZone",
            "Async",
            "ClientToken",
            "Disk.N.Category",
            "Disk.N.DiskId",
            "Disk.N.PerformanceLevel",
            "DryRun",
            "InstanceId",
            "InstanceType",
            "InternetMaxBandwidthIn",
            "InternetMaxBandwidthOut",
            "ModifyMode",
            "OwnerAccount",
            "OwnerId",
            "ResourceOwnerAccount",
            "ResourceOwnerId",
            "SystemDisk.Category",
            "Temporary.EndTime",
            "Temporary.InternetMaxBandwidthOut",
            "Temporary.StartTime",
        ],
    ),
    (
        "DescribeInstanceTypes",
        &[
            "AdditionalAttributes.N",
            "CpuArchitecture",
            "CpuArchitectures.N",
            "GPUSpec",
            "GpuSpecs.N",
            "InstanceCategories.N",
            "InstanceCategory",
            "InstanceFamilyLevel",
            "InstanceTypeFamilies.N",
            "InstanceTypeFamily",
            "InstanceTypes.N",
            "LocalStorageCategories.N",
            "LocalStorageCategory",
            "MaxResults",
            "MaximumCpuCoreCount",
            "MaximumCpuSpeedFrequency",
            "MaximumCpuTurboFrequency",
            "MaximumGPUAmount",
            "MaximumMemorySize",
            "MinimumBaselineCredit",
            "MinimumCpuCoreCount",
            "MinimumCpuSpeedFrequency",
            "MinimumCpuTurboFrequency",
            "MinimumDiskQuantity",
            "MinimumEniIpv6AddressQuantity",
            "MinimumEniPrivateIpAddressQuantity",
            "MinimumEniQuantity",
            "MinimumEriQuantity",
            "MinimumGPUAmount",
            "MinimumInitialCredit",
            "MinimumInstanceBandwidthRx",
            "MinimumInstanceBandwidthTx",
            "MinimumInstancePpsRx",
            "MinimumInstancePpsTx",
            "MinimumLocalStorageAmount",
            "MinimumLocalStorageCapacity",
            "MinimumMemorySize",
            "MinimumPrimaryEniQueueNumber",
            "MinimumQueuePairNumber",
            "MinimumSecondaryEniQueueNumber",
            "NextToken",
            "NvmeSupport",
            "OwnerAccount",
            "OwnerId",
            "PhysicalProcessorModel",
            "PhysicalProcessorModels.N",
            "ResourceOwnerAccount",
            "ResourceOwnerId",
        ],
    ),
    (
        "DescribeRegions",
        &[
            "AcceptLanguage",
            "InstanceChargeType",
            "OwnerAccount",
            "OwnerId",
            "ResourceOwnerAccount",
            "ResourceOwnerId",
            "ResourceType",
        ],
    ),
    (
        "ModifyPrepayInstanceSpec",
        &[
            "AutoPay",
            "ClientToken",
            "Disk.N.Category",
            "Disk.N.DiskId",
            "Disk.N.PerformanceLevel",
            "EndTime",
            "InstanceId",
            "InstanceType",
            "MigrateAcrossZone",
            "ModifyMode",
            "OperatorType",
            "OwnerAccount",
            "OwnerId",
            "RebootTime",
            "RebootWhenFinished",
            "RegionId",
            "ResourceOwnerAccount",
            "ResourceOwnerId",
            "SystemDisk.Category",
        ],
    ),
    (
        "ModifyInstanceChargeType",
        &[
            "AutoPay",
            "ClientToken",
            "DryRun",
            "IncludeDataDisks",
            "InstanceChargeType",
            "InstanceIds",
            "IsDetailFee",
            "OwnerAccount",
            "OwnerId",
            "Period",
            "PeriodUnit",
            "RegionId",
            "ResourceOwnerAccount",
            "ResourceOwnerId",
        ],
    ),
];

/// `name` with every numeric list index written `N` (`Disk.2.Category` → `Disk.N.Category`).
fn model_name(name: &str) -> String {
    name.split('.')
        .map(|part| {
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                "N"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A parameter the action's official request model does not have is `UnsupportedParameter`
/// (400), common error table (AlibabaCloudDocs/ecs `API Reference/Call methods/Response
/// results.md`). Checked for the actions of [`STRICT_PARAMS`].
pub fn check_known_params(action: &str, params: &[(String, String)]) -> AliResult<()> {
    // The single-instance models (`super::single::PARAMS`) also carry the four owner
    // fields every ECS request model has.
    const OWNER: &[&str] = &[
        "OwnerAccount",
        "OwnerId",
        "ResourceOwnerAccount",
        "ResourceOwnerId",
    ];
    let (known, owner): (&[&str], bool) = match STRICT_PARAMS.iter().find(|(a, _)| *a == action) {
        Some((_, k)) => (k, false),
        None => match super::single::PARAMS.iter().find(|(a, _)| *a == action) {
            Some((_, k)) => (k, true),
            None => return Ok(()),
        },
    };
    for (name, _) in params {
        let model = model_name(name);
        if COMMON.contains(&name.as_str())
            || known.contains(&model.as_str())
            || (owner && OWNER.contains(&model.as_str()))
        {
            continue;
        }
        return Err(AliError::new(
            400,
            "UnsupportedParameter",
            format!("The parameters is unsupported: {action} has no parameter {name}."),
        ));
    }
    Ok(())
}

pub fn run(action: &str, ctx: &Ctx) -> AliResult<Fields> {
    check_known_params(action, ctx.params)?;
    match action {
        "RunInstances" => run_instances(ctx),
        "StartInstances" => start_instances(ctx),
        "StopInstances" => stop_instances(ctx),
        "RebootInstances" => reboot_instances(ctx),
        "DeleteInstances" => delete_instances(ctx),
        "DescribeInstanceStatus" => describe_instance_status(ctx),
        "DescribeInstances" => describe_instances(ctx),
        "ModifyInstanceAttribute" => modify_instance_attribute(ctx),
        "ReplaceSystemDisk" => replace_system_disk(ctx),
        "ModifyInstanceSpec" => modify_instance_spec(ctx),
        "ModifyPrepayInstanceSpec" => super::billing::modify_prepay_instance_spec(ctx),
        "ModifyInstanceChargeType" => super::billing::modify_instance_charge_type(ctx),
        "StartInstance" => super::single::start_instance(ctx),
        "StopInstance" => super::single::stop_instance(ctx),
        "RebootInstance" => super::single::reboot_instance(ctx),
        "DeleteInstance" => super::single::delete_instance(ctx),
        "DescribeRegions" => describe_regions(ctx),
        "DescribeZones" => describe_zones(ctx),
        "DescribeImages" => describe_images(ctx),
        "DescribeInstanceTypes" => describe_instance_types(ctx),
        "DescribeAvailableResource" => describe_available_resource(ctx),
        _ => Err(AliError::new(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )),
    }
}

pub(super) fn dry_run_ok() -> AliError {
    AliError::new(
        400,
        "DryRunOperation",
        "Request validation has been passed with DryRun flag set.",
    )
}

pub(super) fn not_found(id: &str) -> AliError {
    AliError::new(
        404,
        "InvalidInstanceId.NotFound",
        format!("The specified InstanceId does not exist: {id}"),
    )
}

pub(super) fn incorrect_status(id: &str, status: &str) -> AliError {
    AliError::new(
        403,
        "IncorrectInstanceStatus",
        format!(
            "The current status of the resource does not support this operation. Instance {id} is {status}."
        ),
    )
}

pub(super) fn owned<'s>(
    store: &'s Store,
    ctx: &Ctx,
    region: &str,
    id: &str,
) -> AliResult<&'s Instance> {
    store
        .get(id, ctx.now)
        .filter(|i| {
            i.provider == Provider::Alibaba && i.account == ctx.account.key_id && i.region == region
        })
        .ok_or_else(|| not_found(id))
}

fn check_password(p: &str) -> AliResult<()> {
    const SPECIAL: &str = "()`~!@#$%^&*-_+=|{}[]:;'<>,.?/\\\"";
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
    if !len_ok || classes < 3 || !charset_ok {
        return Err(AliError::new(
            400,
            "InvalidPassword.Malformed",
            "Specified parameter Password is not valid.",
        ));
    }
    Ok(())
}

fn check_instance_name(n: &str) -> AliResult<()> {
    let len = n.chars().count();
    let first_ok = n.chars().next().is_some_and(|c| c.is_alphabetic());
    if !(2..=128).contains(&len)
        || !first_ok
        || n.starts_with("http://")
        || n.starts_with("https://")
    {
        return Err(AliError::new(
            400,
            "InvalidInstanceName.Malformed",
            "Specified parameter InstanceName is not valid.",
        ));
    }
    Ok(())
}

fn check_host_name(n: &str) -> AliResult<()> {
    let ok = (2..=64).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !n.starts_with(['.', '-'])
        && !n.ends_with(['.', '-'])
        && !n.contains("..")
        && !n.contains("--");
    if !ok {
        return Err(AliError::new(
            400,
            "InvalidHostName.Malformed",
            "Specified parameter HostName is not valid.",
        ));
    }
    Ok(())
}

fn check_sg(id: &str) -> AliResult<()> {
    if !id.starts_with("sg-") || id.len() < 5 {
        return Err(AliError::new(
            404,
            "InvalidSecurityGroupId.NotFound",
            format!("The specified SecurityGroupId {id} does not exist."),
        ));
    }
    Ok(())
}

fn check_tags(tags: &[(String, Option<String>)]) -> AliResult<()> {
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

fn check_disk_category(name: &str, cat: &str, code: &str) -> AliResult<()> {
    if !catalog::DISK_CATEGORIES.contains(&cat) {
        return Err(AliError::new(
            400,
            code,
            format!("The specified {name} `{cat}` is not supported."),
        ));
    }
    Ok(())
}

fn run_instances(ctx: &Ctx) -> AliResult<Fields> {
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
    let zone = match ctx.opt("ZoneId") {
        Some(z) => {
            if !region.zones.contains(&z.as_str()) {
                return Err(AliError::new(
                    404,
                    "InvalidZoneId.NotFound",
                    format!("The specified ZoneId `{z}` does not exist."),
                ));
            }
            z
        }
        None => region.zones[0].to_string(),
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

    let base_name = ctx
        .opt("InstanceName")
        .unwrap_or_else(|| "launch-advisor".to_string());
    check_instance_name(&base_name)?;
    let host_name = ctx.opt("HostName");
    if let Some(h) = &host_name {
        check_host_name(h)?;
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
    for sg in &sgs {
        check_sg(sg)?;
    }
    let vswitch = ctx.opt("VSwitchId");
    if let Some(v) = &vswitch
        && !v.starts_with("vsw-")
    {
        return Err(AliError::new(
            404,
            "InvalidVSwitchId.NotFound",
            format!("The specified VSwitchId `{v}` does not exist."),
        ));
    }
    let bandwidth = ctx.int_in("InternetMaxBandwidthOut", 0, 0, 100)? as u64;
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
        check_password(p)?;
    }
    let inherit = ctx.boolean("PasswordInherit")?.unwrap_or(false);
    if inherit && password.is_some() {
        return Err(AliError::invalid(
            "PasswordInherit",
            "Password must be empty when PasswordInherit is true",
        ));
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
    let sys_size = ctx.int_in("SystemDisk.Size", image.size_gb.max(20) as i64, 20, 2048)? as u64;
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
        if n > 16 {
            return Err(AliError::invalid(
                "DataDisk.N",
                "at most 16 data disks are allowed",
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
        (auto_renew && charge == "PrePaid").then(|| super::billing::AUTO_RENEW.to_string());
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
    if spot != "NoSpot" && charge != "PostPaid" {
        return Err(AliError::new(
            400,
            "InvalidSpotStrategy",
            "SpotStrategy applies only to PostPaid instances.",
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
    let vpc_id = vswitch
        .as_ref()
        .map(|_| format!("vpc-{}", random_alnum(20)));
    let mut ids = Vec::with_capacity(amount);
    for n in 0..amount {
        let id = store.unique_id("i-", 20);
        let name = if unique_suffix && amount > 1 {
            format!("{base_name}{:03}", n + 1)
        } else {
            base_name.clone()
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
            provider: Provider::Alibaba,
            account: ctx.account.key_id.clone(),
            region: region.id.to_string(),
            zone: zone.clone(),
            id: id.clone(),
            name,
            image_id: image_id.clone(),
            instance_type: itype.id.to_string(),
            cpu: itype.cpu,
            memory_gb: itype.memory_gb.round() as u32,
            schedule: vec![],
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
            created_ms: ctx.now,
            updated_ms: ctx.now,
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
            vpc_id: vpc_id.clone(),
            subnet_id: vswitch.clone(),
            key_ids: key_pair.iter().cloned().collect(),
            host_name: host_name.clone(),
            user_data: user_data.clone(),
            project_id: None,
            last_operation: None,
            seq: 0,
            uuid: new_uuid(),
            protected: ctx.boolean("DeletionProtection")?.unwrap_or(false),
            stop_charging: false,
            guest_ignores_soft_stop: false,
            extra,
        };
        // A failed launch is released by Alibaba: the instance disappears.
        let end = if ctx.launch_failed {
            VmState::Gone
        } else {
            VmState::Running
        };
        inst.set_schedule(ctx.now, &[(VmState::Pending, Some(d.pending)), (end, None)]);
        inst.record_operation("RunInstances", ctx.request_id, ctx.now, inst.settles_at());
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

fn random_hex2() -> String {
    hex::encode([rand::random::<u8>()])
}

fn instance_ids(ctx: &Ctx) -> AliResult<Vec<String>> {
    let ids = ctx.list("InstanceId");
    if ids.is_empty() {
        return Err(AliError::missing("InstanceId.1"));
    }
    if ids.len() > 100 {
        return Err(AliError::invalid(
            "InstanceId.N",
            format!("{} ids given; at most 100 are allowed", ids.len()),
        ));
    }
    Ok(ids)
}

/// Shared flow of Start/Stop/Reboot/Delete: validate every id, check states, apply.
fn batch<F, A>(ctx: &Ctx, action: &str, allowed: F, mut apply: A) -> AliResult<Fields>
where
    F: Fn(VmState, &Ctx) -> bool,
    A: FnMut(&mut Instance, &Ctx),
{
    let region = ctx.region()?;
    let ids = instance_ids(ctx)?;
    let dry_run = ctx.boolean("DryRun")?.unwrap_or(false);
    let mode = ctx
        .opt("BatchOptimization")
        .unwrap_or_else(|| "AllTogether".into());
    if !matches!(mode.as_str(), "AllTogether" | "SuccessFirst") {
        return Err(AliError::invalid(
            "BatchOptimization",
            "must be AllTogether or SuccessFirst",
        ));
    }
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let mut problems: Vec<(String, AliError)> = vec![];
    for id in &ids {
        match owned(&store, ctx, region.id, id) {
            Ok(i) => {
                let s = i.state_at(ctx.now);
                // An expired subscription cannot be started, stopped or rebooted
                // (`InstanceExpiredOrInArrears` 403, StopInstance.md / StartInstance.md).
                if action != "DeleteInstances" && super::billing::expired(i, ctx.now) {
                    problems.push((
                        id.clone(),
                        AliError::new(
                            403,
                            "InstanceExpiredOrInArrears",
                            format!("The specified operation is denied as your prepay instance {id} is expired."),
                        ),
                    ));
                } else if !allowed(s, ctx) {
                    problems.push((id.clone(), incorrect_status(id, state_name(s))));
                }
            }
            Err(e) => problems.push((id.clone(), e)),
        }
    }
    if mode == "AllTogether"
        && let Some((_, e)) = problems.first()
    {
        return Err(e.clone());
    }
    if dry_run {
        // The batch actions answer a passing dry run with `DRYRUN.SUCCESS`, not
        // `DryRunOperation` (SDK alibabacloud-ecs20140526 7.11.8 `StartInstancesRequest.dry_run`,
        // `StopInstancesRequest.dry_run`, `RebootInstancesRequest.dry_run`,
        // `DeleteInstancesRequest.dry_run`).
        return Err(AliError::new(
            400,
            "DRYRUN.SUCCESS",
            "This request is a dryrun request with successful result.",
        ));
    }
    let mut responses = vec![];
    for id in &ids {
        if let Some((_, e)) = problems.iter().find(|(p, _)| p == id) {
            responses.push(json!({
                "Code": e.code, "Message": e.message, "InstanceId": id,
                "CurrentStatus": "", "PreviousStatus": "",
            }));
            continue;
        }
        let Some(inst) = store.get_mut(id, ctx.now) else {
            continue;
        };
        let before = state_name(inst.state_at(ctx.now));
        apply(inst, ctx);
        let settles = inst.settles_at();
        inst.record_operation(action, ctx.request_id, ctx.now, settles);
        responses.push(json!({
            "Code": "200", "Message": "success", "InstanceId": id,
            "CurrentStatus": state_name(inst.state_at(ctx.now)),
            "PreviousStatus": before,
        }));
    }
    Ok(fields(
        json!({"InstanceResponses": {"InstanceResponse": responses}}),
    ))
}

fn start_instances(ctx: &Ctx) -> AliResult<Fields> {
    let d = ctx.app.settings().transition_delays_ms;
    batch(
        ctx,
        "StartInstances",
        |s, _| s == VmState::Stopped,
        |i, c| {
            i.stop_charging = false;
            i.set_schedule(
                c.now,
                &[
                    (VmState::Starting, Some(d.starting)),
                    (VmState::Running, None),
                ],
            );
        },
    )
}

fn stop_instances(ctx: &Ctx) -> AliResult<Fields> {
    // ForceStop=false asks the guest to shut down (and fails if it does not).
    let soft = !ctx.boolean("ForceStop")?.unwrap_or(false);
    let mode = ctx
        .opt("StoppedMode")
        .unwrap_or_else(|| "KeepCharging".into());
    if !matches!(mode.as_str(), "KeepCharging" | "StopCharging") {
        return Err(AliError::invalid(
            "StoppedMode",
            "must be KeepCharging or StopCharging",
        ));
    }
    let d = ctx.app.settings().transition_delays_ms;
    batch(
        ctx,
        "StopInstances",
        |s, _| s == VmState::Running,
        |i, c| {
            i.stop_charging = mode == "StopCharging";
            let phases = i.stop_schedule(soft, false, d.stopping);
            i.set_schedule(c.now, &phases);
        },
    )
}

fn reboot_instances(ctx: &Ctx) -> AliResult<Fields> {
    ctx.boolean("ForceReboot")?;
    let d = ctx.app.settings().transition_delays_ms;
    let half = d.rebooting / 2;
    batch(
        ctx,
        "RebootInstances",
        |s, _| s == VmState::Running,
        |i, c| {
            i.set_schedule(
                c.now,
                &[
                    (VmState::Stopping, Some(half)),
                    (VmState::Starting, Some(d.rebooting - half)),
                    (VmState::Running, None),
                ],
            );
        },
    )
}

fn delete_instances(ctx: &Ctx) -> AliResult<Fields> {
    let force = ctx.boolean("Force")?.unwrap_or(false);
    ctx.boolean("ForceStop")?;
    let terminate_subscription = ctx.boolean("TerminateSubscription")?.unwrap_or(false);
    let d = ctx.app.settings().transition_delays_ms;
    // Protected instances cannot be released; subscription instances only once expired and
    // with TerminateSubscription=true (`super::billing::check_releasable`).
    {
        let region = ctx.region()?;
        let store = ctx.app.store();
        for id in ctx.list("InstanceId") {
            if let Ok(i) = owned(&store, ctx, region.id, &id) {
                if i.protected {
                    return Err(AliError::new(
                        403,
                        "InvalidOperation.DeletionProtection",
                        format!("The instance {id} has deletion protection enabled."),
                    ));
                }
                super::billing::check_releasable(i, terminate_subscription, ctx.now)?;
            }
        }
    }
    let mut out = batch(
        ctx,
        "DeleteInstances",
        move |s, _| s == VmState::Stopped || (force && s == VmState::Running),
        |i, c| {
            i.set_schedule(
                c.now,
                &[
                    (VmState::Terminating, Some(d.terminating)),
                    (VmState::Gone, None),
                ],
            );
        },
    )?;
    // DeleteInstances answers with the RequestId only.
    out.remove("InstanceResponses");
    Ok(out)
}

fn page(ctx: &Ctx, max: i64) -> AliResult<(usize, usize)> {
    let number = ctx.int_in("PageNumber", 1, 1, i64::from(i32::MAX))? as usize;
    let size = ctx.int_in("PageSize", 10, 1, max)? as usize;
    Ok((number, size))
}

fn describe_instance_status(ctx: &Ctx) -> AliResult<Fields> {
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
fn wildcard(pattern: &str, s: &str) -> bool {
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

fn describe_instances(ctx: &Ctx) -> AliResult<Fields> {
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
    let name = ctx.opt("InstanceName");
    let status = ctx.opt("Status");
    if let Some(s) = &status
        && !matches!(
            s.as_str(),
            "Pending" | "Running" | "Starting" | "Stopping" | "Stopped"
        )
    {
        return Err(AliError::new(
            400,
            "InvalidStatus.ValueNotSupported",
            format!("The specified Status `{s}` is not valid."),
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

fn modify_instance_attribute(ctx: &Ctx) -> AliResult<Fields> {
    let id = ctx.req("InstanceId")?;
    let name = ctx.opt("InstanceName");
    if let Some(n) = &name {
        check_instance_name(n)?;
    }
    let host = ctx.opt("HostName");
    if let Some(h) = &host {
        check_host_name(h)?;
    }
    let password = ctx.opt("Password");
    if let Some(p) = &password {
        check_password(p)?;
    }
    let sgs = ctx.list("SecurityGroupIds");
    for sg in &sgs {
        check_sg(sg)?;
    }
    if sgs.len() > 5 {
        return Err(AliError::new(
            400,
            "InvalidSecurityGroupId.ExceedLimit",
            "An instance can join at most 5 security groups here.",
        ));
    }
    let description = ctx.opt("Description");
    let user_data = ctx.opt("UserData");
    if let Some(u) = &user_data {
        base64::engine::general_purpose::STANDARD
            .decode(u.as_bytes())
            .map_err(|_| {
                AliError::new(
                    400,
                    "InvalidUserData.Base64FormatInvalid",
                    "The specified UserData is not Base64-encoded.",
                )
            })?;
    }
    let deletion_protection = ctx.boolean("DeletionProtection")?;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    // The instance may be in any region of the account: ModifyInstanceAttribute has no RegionId.
    let exists = store
        .get(&id, ctx.now)
        .is_some_and(|i| i.provider == Provider::Alibaba && i.account == ctx.account.key_id);
    if !exists {
        return Err(not_found(&id));
    }
    if user_data.is_some() {
        let s = store.get(&id, ctx.now).map(|i| i.state_at(ctx.now));
        if s != Some(VmState::Stopped) {
            return Err(incorrect_status(
                &id,
                state_name(s.unwrap_or(VmState::Running)),
            ));
        }
    }
    let Some(i) = store.get_mut(&id, ctx.now) else {
        return Err(not_found(&id));
    };
    if let Some(n) = name {
        i.name = n;
    }
    if let Some(h) = host {
        i.host_name = Some(h);
    }
    if !sgs.is_empty() {
        i.security_groups = sgs;
    }
    if let Some(d) = description {
        i.extra.insert("description".into(), Value::String(d));
    }
    if let Some(u) = user_data {
        i.user_data = Some(u);
    }
    if let Some(p) = deletion_protection {
        i.protected = p;
    }
    i.updated_ms = ctx.now;
    Ok(Map::new())
}

fn replace_system_disk(ctx: &Ctx) -> AliResult<Fields> {
    let id = ctx.req("InstanceId")?;
    let image_id = ctx.req("ImageId")?;
    let image = catalog::image(&image_id).ok_or_else(|| {
        AliError::new(
            404,
            "InvalidImageId.NotFound",
            format!("The specified ImageId `{image_id}` does not exist."),
        )
    })?;
    if let Some(p) = ctx.opt("Password") {
        check_password(&p)?;
    }
    let key_pair = ctx.opt("KeyPairName");
    let size = ctx.int("SystemDisk.Size")?;
    if let Some(s) = size
        && (!(20..=2048).contains(&s) || (s as u64) < image.size_gb)
    {
        return Err(AliError::new(
            400,
            "InvalidSystemDiskSize.ValueNotSupported",
            format!(
                "SystemDisk.Size must be between {} and 2048 GiB.",
                image.size_gb.max(20)
            ),
        ));
    }
    let dry_run = ctx.boolean("DryRun")?.unwrap_or(false);
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let state = store
        .get(&id, ctx.now)
        .filter(|i| i.provider == Provider::Alibaba && i.account == ctx.account.key_id)
        .map(|i| i.state_at(ctx.now))
        .ok_or_else(|| not_found(&id))?;
    if state != VmState::Stopped {
        return Err(incorrect_status(&id, state_name(state)));
    }
    if dry_run {
        return Err(dry_run_ok());
    }
    let disk_id = format!("d-{}", random_alnum(20));
    let Some(i) = store.get_mut(&id, ctx.now) else {
        return Err(not_found(&id));
    };
    i.image_id = image_id;
    i.system_disk.id = Some(disk_id.clone());
    if let Some(s) = size {
        i.system_disk.size_gb = s as u64;
    }
    if let Some(k) = key_pair {
        i.key_ids = vec![k];
    }
    i.record_operation("ReplaceSystemDisk", ctx.request_id, ctx.now, ctx.now);
    i.updated_ms = ctx.now;
    Ok(fields(json!({"DiskId": disk_id})))
}

fn modify_instance_spec(ctx: &Ctx) -> AliResult<Fields> {
    let id = ctx.req("InstanceId")?;
    let type_id = ctx.req("InstanceType")?;
    let itype = catalog::instance_type(&type_id).ok_or_else(|| {
        AliError::new(
            400,
            "InvalidInstanceType.ValueNotSupported",
            format!("The specified InstanceType `{type_id}` does not exist or beyond the permitted range."),
        )
    })?;
    let dry_run = ctx.boolean("DryRun")?.unwrap_or(false);
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let (state, charge, current) = store
        .get(&id, ctx.now)
        .filter(|i| i.provider == Provider::Alibaba && i.account == ctx.account.key_id)
        .map(|i| {
            (
                i.state_at(ctx.now),
                i.charge_type.clone(),
                i.instance_type.clone(),
            )
        })
        .ok_or_else(|| not_found(&id))?;
    if charge != "PostPaid" {
        return Err(AliError::new(
            403,
            "ChargeTypeViolation",
            "The operation is not permitted due to charge type of the instance; use ModifyPrepayInstanceSpec.",
        ));
    }
    if state != VmState::Stopped {
        return Err(incorrect_status(&id, state_name(state)));
    }
    if current == itype.id {
        return Err(AliError::new(
            400,
            "InvalidInstanceType.ValueNotSupported",
            "The specified InstanceType is the instance's current type.",
        ));
    }
    if dry_run {
        return Err(dry_run_ok());
    }
    let Some(i) = store.get_mut(&id, ctx.now) else {
        return Err(not_found(&id));
    };
    i.instance_type = itype.id.to_string();
    i.cpu = itype.cpu;
    i.memory_gb = itype.memory_gb.round() as u32;
    i.record_operation("ModifyInstanceSpec", ctx.request_id, ctx.now, ctx.now);
    i.updated_ms = ctx.now;
    Ok(Map::new())
}

fn english(ctx: &Ctx) -> bool {
    ctx.opt("AcceptLanguage")
        .is_some_and(|l| l.starts_with("en"))
}

fn describe_regions(ctx: &Ctx) -> AliResult<Fields> {
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

fn zone_name(region: &RegionInfo, zone: &str, en: bool) -> String {
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

fn describe_zones(ctx: &Ctx) -> AliResult<Fields> {
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

fn describe_images(ctx: &Ctx) -> AliResult<Fields> {
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

fn describe_instance_types(ctx: &Ctx) -> AliResult<Fields> {
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

fn describe_available_resource(ctx: &Ctx) -> AliResult<Fields> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert!(check_password("Passw0rd!").is_ok());
        assert!(check_password("password").is_err());
        assert!(check_password("Sh0rt!").is_err());
        assert!(check_password("NoDigitsHere!").is_ok());
    }

    #[test]
    fn wildcard_names() {
        assert!(wildcard("web*", "web-1"));
        assert!(wildcard("*-1", "web-1"));
        assert!(wildcard("w*1", "web-1"));
        assert!(!wildcard("web*", "db-1"));
        assert!(wildcard("exact", "exact"));
    }
}

#[cfg(test)]
mod strict_params_tests {
    use super::*;

    fn params(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_string(), "v".to_string()))
            .collect()
    }

    #[test]
    fn region_id_is_unsupported_where_the_model_has_none() {
        for action in [
            "ModifyInstanceAttribute",
            "ReplaceSystemDisk",
            "ModifyInstanceSpec",
            "DescribeInstanceTypes",
            "DescribeRegions",
        ] {
            let e = check_known_params(action, &params(&["RegionId"])).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (400, "UnsupportedParameter"));
        }
        // Actions whose model has RegionId (or that are not checked strictly) accept it.
        for action in ["RunInstances", "DescribeInstances", "StartInstances"] {
            check_known_params(action, &params(&["RegionId"])).unwrap();
        }
    }

    #[test]
    fn model_parameters_and_list_indexes_are_accepted() {
        check_known_params(
            "ModifyInstanceAttribute",
            &params(&[
                "InstanceId",
                "InstanceName",
                "SecurityGroupIds.1",
                "SecurityGroupIds.12",
                "HostName",
                "Action",
                "Version",
                "AccessKeyId",
                "Signature",
                "SignatureNonce",
                "Timestamp",
            ]),
        )
        .unwrap();
        check_known_params(
            "ModifyInstanceSpec",
            &params(&[
                "InstanceId",
                "InstanceType",
                "Disk.2.Category",
                "ClientToken",
            ]),
        )
        .unwrap();
        let e =
            check_known_params("ReplaceSystemDisk", &params(&["SystemDisk.Category"])).unwrap_err();
        assert_eq!(e.code, "UnsupportedParameter");
        assert_eq!(model_name("Arn.3.RoleType"), "Arn.N.RoleType");
        assert_eq!(model_name("SecurityGroupIds"), "SecurityGroupIds");
    }
}
