//! Tencent CVM actions (API version 2017-03-12) over the shared store.

use std::collections::HashSet;

use base64::Engine;
use serde_json::{Map, Value, json};

use super::catalog;
use super::error::{ApiError, ApiResult};
use super::held;
use super::params::Params;
use super::render;
use crate::app::AppState;
use crate::config::{Account, Provider, Settings};
use crate::store::{Disk, Instance, Phase, Store, Tag, VmState};

mod create;
mod describe;
mod lifecycle;
mod modify;
mod validate;
use create::*;
use describe::*;
use lifecycle::*;
use modify::*;
use validate::*;

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
            held::refuse_held(i, ctx.now, allowed)?;
            let s = i.state_at(ctx.now);
            if !allowed.contains(&s) {
                return Err(render::wrong_state(s, id));
            }
        }
    }
    Ok(())
}

/// No instance may have an operation still under way: "实例正在执行其他操作，请稍后再试"
/// (`OperationDenied.InstanceOperationInProgress`, tencentcloud-sdk-python-cvm 3.1.178
/// `errorcodes.py`; in the error lists of StartInstances, StopInstances, RebootInstances,
/// TerminateInstances, ResetInstance and ResetInstancesType in tencentcloud-sdk-go
/// `cvm/v20170312/client.go`). The state checks come first (a transitional state has its
/// own code); what is left is a type change, which keeps the instance STOPPED while its
/// `LatestOperationState` is OPERATING.
fn require_no_operation_in_progress(store: &Store, ctx: &Ctx, ids: &[String]) -> ApiResult<()> {
    for id in ids {
        if let Some(op) = owned(store, ctx, id).and_then(|i| i.last_operation.as_ref())
            && op.state_at(ctx.now) == crate::store::OpState::Operating
        {
            return Err(ApiError::new(
                "OperationDenied.InstanceOperationInProgress",
                format!(
                    "The instance `{id}` is still running its {} operation; try again later.",
                    op.action
                ),
            ));
        }
    }
    Ok(())
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
