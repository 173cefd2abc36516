//! The ECS actions, over the shared store.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::config::{Account, Provider};
use crate::store::{Disk, Instance, Store, Tag, VmState, random_alnum};

use super::catalog::{self, RegionInfo};
use super::render::{self, state_name};
use super::{AliError, AliResult};

mod create;
mod describe;
mod lifecycle;
mod modify;
use create::*;
use describe::*;
use lifecycle::*;
use modify::*;

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
        None => match super::single::PARAMS
            .iter()
            .chain(super::membership::PARAMS)
            .chain(super::tagging::PARAMS)
            .find(|(a, _)| *a == action)
        {
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
    super::billing::stop_expired(ctx);
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
        "JoinSecurityGroup" => super::membership::join_security_group(ctx),
        "LeaveSecurityGroup" => super::membership::leave_security_group(ctx),
        "TagResources" => super::tagging::tag_resources(ctx),
        "UntagResources" => super::tagging::untag_resources(ctx),
        "ListTagResources" => super::tagging::list_tag_resources(ctx),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        let linux = |p: &str| check_password(p, false).is_ok();
        assert!(linux("Passw0rd!"));
        assert!(!linux("password"));
        assert!(!linux("Sh0rt!"));
        assert!(linux("NoDigitsHere!"));
        // Every special character the docs list counts as one ...
        for c in "()`~!@#$%^&*-_+=|{}[]:;'<>,.?/".chars() {
            assert!(linux(&format!("abcdefg1{c}")), "{c}");
        }
        // ... and nothing else is accepted: `\` and `"` are not in the documented set.
        assert!(!linux("Passw0rd\\x"));
        assert!(!linux("Passw0rd\"x"));
        assert!(!linux("Passw0rd x"));
        // Windows: must not start with `/` (Linux may).
        assert!(linux("/Passw0rd"));
        assert!(check_password("/Passw0rd", true).is_err());
        assert!(check_password("Passw0rd/", true).is_ok());
    }

    #[test]
    fn host_name_rules() {
        let ok = |h: &str, windows: bool| check_host_name(h, windows).is_ok();
        // Linux: 2-64, segments separated by dots.
        assert!(ok("web-1.example", false));
        assert!(ok(&"a".repeat(64), false));
        assert!(!ok(&"a".repeat(65), false));
        assert!(ok("12345", false));
        // Windows: 2-15, no dot, not only digits, no leading/trailing/double hyphen.
        assert!(ok("web-01", true));
        assert!(ok(&"a".repeat(15), true));
        assert!(!ok(&"a".repeat(16), true));
        assert!(!ok("web.example", true));
        assert!(!ok("12345", true));
        assert!(!ok("-web", true));
        assert!(!ok("web-", true));
        assert!(!ok("we--b", true));
        assert!(!ok("w", true));
        assert!(!ok("web_1", true));
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
mod strict_params_tests;
