//! Subscription (PrePaid) rules: type changes with `ModifyPrepayInstanceSpec`, billing
//! changes with `ModifyInstanceChargeType`, and who may release what.
//!
//! Sources (docs/provider-contract.md, Alibaba §4 and §6):
//! * `ModifyPrepayInstanceSpec`: https://www.alibabacloud.com/help/doc-detail/57612.htm ;
//!   AlibabaCloudDocs/ecs `intl.en-US/API Reference/Instances/ModifyPrepayInstanceSpec.md`
//!   (rules and error table); SDK `alibabacloud-ecs20140526` 7.11.8
//!   `ModifyPrepayInstanceSpecRequest` (parameters).
//! * `ModifyInstanceChargeType`: AlibabaCloudDocs/ecs `…/Instances/ModifyInstanceChargeType.md`;
//!   SDK `ModifyInstanceChargeTypeRequest`.
//! * Release: SDK `DeleteInstancesRequest.terminate_subscription` ("whether to release an
//!   expired subscription instance", default false); https://www.alibabacloud.com/help/doc-detail/25507.htm
//!   ("You cannot release an in service subscribed instance"): `ChargeTypeViolation` (403).

use serde_json::{Value, json};

use crate::config::Provider;
use crate::store::{Instance, VmState};

use super::actions::{Ctx, Fields, dry_run_ok, fields, incorrect_status, not_found, owned};
use super::catalog;
use super::render::state_name;
use super::{AliError, AliResult};

/// Marks a PrePaid instance that renews itself at expiry (RunInstances `AutoRenew=true`).
pub const AUTO_RENEW: &str = "AutoRenew";

/// A subscription that has run out: PrePaid, past `ExpiredTime`, not auto-renewed.
pub fn expired(i: &Instance, now: i64) -> bool {
    i.charge_type == "PrePaid"
        && i.renew_flag.as_deref() != Some(AUTO_RENEW)
        && i.expires_ms.is_some_and(|e| e <= now)
}

/// "InstanceExpiration.Stop: The instance is stopped due to subscription expiration"
/// (AlibabaCloudDocs/ecs `System event/DescribeInstanceHistoryEvents.md`); an expired
/// instance is "in the Expired (`Stopped`) state" (`Instances/ReActivateInstances.md`). The
/// emulator applies it when the account's next request comes: every expired subscription of
/// the account that still runs is stopped. (The release that follows some days later,
/// InstanceExpiration.Delete, is a billing-policy period the API pages do not give; not
/// modelled.)
pub fn stop_expired(ctx: &Ctx) {
    let mut store = ctx.app.store();
    let ids: Vec<String> = store
        .list(ctx.now, |i| {
            i.provider == Provider::Alibaba
                && i.account == ctx.account.key_id
                && expired(i, ctx.now)
                && matches!(
                    i.state_at(ctx.now),
                    VmState::Running | VmState::Starting | VmState::Pending | VmState::Rebooting
                )
        })
        .iter()
        .map(|i| i.id.clone())
        .collect();
    for id in ids {
        if let Some(i) = store.get_mut(&id, ctx.now) {
            i.set_schedule(ctx.now, &[(VmState::Stopped, None)]);
        }
    }
}

/// Whether DeleteInstance(s) may release `i`. PostPaid: yes. PrePaid in service: no,
/// `ChargeTypeViolation` (403; doc-detail/25507). Expired PrePaid: only with
/// `TerminateSubscription=true` (SDK `DeleteInstancesRequest.terminate_subscription`).
pub fn check_releasable(i: &Instance, terminate_subscription: bool, now: i64) -> AliResult<()> {
    if i.charge_type != "PrePaid" {
        return Ok(());
    }
    if !expired(i, now) {
        return Err(AliError::new(
            403,
            "ChargeTypeViolation",
            format!(
                "The operation is not permitted due to charge type of the instance {}: a subscription (PrePaid) instance in service cannot be released. Change it to PostPaid with ModifyInstanceChargeType first.",
                i.id
            ),
        ));
    }
    if !terminate_subscription {
        return Err(AliError::new(
            403,
            "ChargeTypeViolation",
            format!(
                "The subscription of instance {} has expired; release it with TerminateSubscription=true.",
                i.id
            ),
        ));
    }
    Ok(())
}

/// (vCPUs, memory GiB) of a catalog type, for upgrade/downgrade decisions.
fn size_of(type_id: &str) -> Option<(u32, f64)> {
    catalog::instance_type(type_id).map(|t| (t.cpu, t.memory_gb))
}

/// "When the new instance type specified by `InstanceType` has lower specifications than
/// the current instance type" (ModifyPrepayInstanceSpec.md, `OperatorType`): fewer vCPUs or
/// less memory, and not more of the other.
pub fn is_downgrade(from: (u32, f64), to: (u32, f64)) -> bool {
    (to.0 < from.0 && to.1 <= from.1) || (to.0 <= from.0 && to.1 < from.1)
}

/// Most configuration downgrades per instance: "a maximum of three times"
/// (ModifyPrepayInstanceSpec.md) → `InstanceDowngrade.QuotaExceed`.
const MAX_DOWNGRADES: u64 = 3;

fn order_id(ctx: &Ctx) -> String {
    format!(
        "{}",
        210_000_000_000_000u64 + (ctx.now as u64 % 100_000_000_000_000)
    )
}

/// `ModifyPrepayInstanceSpec`: change the type of a subscription instance.
pub fn modify_prepay_instance_spec(ctx: &Ctx) -> AliResult<Fields> {
    let region = ctx.region()?;
    let id = ctx.req("InstanceId")?;
    let type_id = ctx.req("InstanceType")?;
    let target = size_of(&type_id).ok_or_else(|| {
        AliError::new(
            400,
            "InvalidInstanceType.ValueNotSupported",
            "The specified InstanceType does not exist or beyond the permitted range.",
        )
    })?;
    let operator = ctx.opt("OperatorType").unwrap_or_else(|| "upgrade".into());
    if !matches!(operator.as_str(), "upgrade" | "downgrade") {
        return Err(AliError::invalid(
            "OperatorType",
            "must be upgrade or downgrade",
        ));
    }
    ctx.boolean("AutoPay")?;
    ctx.boolean("MigrateAcrossZone")?;
    let reboot = ctx.boolean("RebootWhenFinished")?.unwrap_or(false);
    let token = ctx.opt("ClientToken");
    if let Some(t) = &token
        && (t.len() > 64 || !t.is_ascii())
    {
        return Err(AliError::new(
            400,
            "InvalidClientToken.ValueNotSupported",
            "The ClientToken provided is invalid.",
        ));
    }
    let digest = ctx.params_digest();
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let inst = owned(&store, ctx, region.id, &id)?;
    // Idempotency: the same token with the same parameters is the same order; with other
    // parameters it is `IdempotenceParamNotMatch` (400, error table).
    if let Some(t) = &token
        && let Some(prev) = inst.extra.get(&format!("prepay_token:{t}"))
    {
        let (prev_digest, prev_order) = (
            prev.get("digest").and_then(Value::as_str).unwrap_or(""),
            prev.get("order").and_then(Value::as_str).unwrap_or(""),
        );
        if prev_digest != digest {
            return Err(AliError::new(
                400,
                "IdempotenceParamNotMatch",
                "Request uses a client token in a previous request but is not identical to that request.",
            ));
        }
        return Ok(fields(json!({"OrderId": prev_order})));
    }
    if inst.charge_type != "PrePaid" {
        return Err(AliError::new(
            400,
            "InvalidInstanceChargeType.ValueNotSupported",
            format!(
                "Instance {id} is {}: ModifyPrepayInstanceSpec changes subscription (PrePaid) instances only; use ModifyInstanceSpec.",
                inst.charge_type
            ),
        ));
    }
    // "You cannot change the instance type of an expired instance. Renew the instance and try again."
    if expired(inst, ctx.now) {
        return Err(AliError::new(
            403,
            "InvalidInstance.PreInstanceExpired",
            format!("Instance {id} has expired: renew it before changing its type."),
        ));
    }
    if inst.instance_type == type_id {
        return Err(AliError::new(
            400,
            "InvalidInstanceType.ValueNotSupported",
            "The specified InstanceType is the instance's current type.",
        ));
    }
    let current = size_of(&inst.instance_type).unwrap_or((inst.cpu, f64::from(inst.memory_gb)));
    let downgrade = is_downgrade(current, target);
    let state = inst.state_at(ctx.now);
    if downgrade {
        // "You must specify the operation type by setting OperatorType to downgrade."
        if operator != "downgrade" {
            return Err(AliError::new(
                400,
                "InvalidInstanceType.ValueNotSupported",
                format!(
                    "{type_id} has lower specifications than {}: set OperatorType=downgrade.",
                    inst.instance_type
                ),
            ));
        }
        // "The instance must be in the Stopped state" (downgrade).
        if state != VmState::Stopped {
            return Err(AliError::new(
                400,
                "InvalidStatus.NotStopped",
                "Instance status must be stopped.",
            ));
        }
        let done = inst
            .extra
            .get("downgrades")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if done >= MAX_DOWNGRADES {
            return Err(AliError::new(
                400,
                "InstanceDowngrade.QuotaExceed",
                "Quota of instance downgrade is exceed.",
            ));
        }
    } else {
        if operator == "downgrade" {
            return Err(AliError::new(
                400,
                "InvalidInstanceType.ValueNotSupported",
                format!(
                    "{type_id} does not have lower specifications than {}: OperatorType=downgrade does not apply.",
                    inst.instance_type
                ),
            ));
        }
        // Upgrades: Running or Stopped (ModifyPrepayInstanceSpec.md; IncorrectInstanceStatus 403).
        if !matches!(state, VmState::Running | VmState::Stopped) {
            return Err(incorrect_status(&id, state_name(state)));
        }
    }
    let order = order_id(ctx);
    let d = ctx.app.settings().transition_delays_ms;
    let Some(i) = store.get_mut(&id, ctx.now) else {
        return Err(not_found(&id));
    };
    let Some(t) = catalog::instance_type(&type_id) else {
        return Err(not_found(&id));
    };
    i.instance_type = t.id.to_string();
    i.cpu = t.cpu;
    i.memory_gb = t.memory_gb.round() as u32;
    if downgrade {
        let n = i
            .extra
            .get("downgrades")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        i.extra.insert("downgrades".into(), json!(n + 1));
    }
    // "If RebootWhenFinished is set to true ... you do not need to manually restart" (a
    // running instance restarts; a stopped one stays stopped).
    if reboot && state == VmState::Running {
        let half = d.rebooting / 2;
        i.set_schedule(
            ctx.now,
            &[
                (VmState::Stopping, Some(half)),
                (VmState::Starting, Some(d.rebooting - half)),
                (VmState::Running, None),
            ],
        );
    }
    if let Some(t) = token {
        i.extra.insert(
            format!("prepay_token:{t}"),
            json!({"digest": digest, "order": order}),
        );
    }
    let settles = i.settles_at();
    i.record_operation("ModifyPrepayInstanceSpec", ctx.request_id, ctx.now, settles);
    i.updated_ms = ctx.now;
    Ok(fields(json!({"OrderId": order})))
}

/// Most instances per ModifyInstanceChargeType call (`InstanceIds`: "up to 20 instance
/// IDs") → `InstancesIdQuotaExceed`.
const CHARGE_TYPE_BATCH: usize = 20;

/// `ModifyInstanceChargeType`: PrePaid ⇄ PostPaid. The documented way to release a
/// subscription early is to change it to PostPaid (the price difference is refunded) and
/// then release it.
pub fn modify_instance_charge_type(ctx: &Ctx) -> AliResult<Fields> {
    let region = ctx.region()?;
    let raw = ctx.req("InstanceIds")?;
    let ids: Vec<String> = serde_json::from_str(&raw).map_err(|_| {
        AliError::new(
            400,
            "InvalidParameter.InstanceIds",
            "The specified InstanceIds are invalid.",
        )
    })?;
    if ids.is_empty() {
        return Err(AliError::new(
            400,
            "InvalidParameter.InstanceIds",
            "The specified InstanceIds are invalid.",
        ));
    }
    if ids.len() > CHARGE_TYPE_BATCH {
        return Err(AliError::new(
            400,
            "InstancesIdQuotaExceed",
            "The maximum number of Instances is exceeded.",
        ));
    }
    // Default value: PrePaid (ModifyInstanceChargeType.md).
    let target = ctx
        .opt("InstanceChargeType")
        .unwrap_or_else(|| "PrePaid".into());
    if !matches!(target.as_str(), "PrePaid" | "PostPaid") {
        return Err(AliError::new(
            400,
            "InvalidInstanceChargeType.ValueNotSupported",
            "Specified InstanceChargeType is not valid.",
        ));
    }
    let period = ctx.int("Period")?.unwrap_or(1);
    let unit = ctx.opt("PeriodUnit").unwrap_or_else(|| "Month".into());
    if target == "PrePaid" && !(unit == "Month" && matches!(period, 1..=9 | 12 | 24 | 36 | 48 | 60))
    {
        return Err(AliError::new(
            400,
            "InvalidPeriod",
            "The specified period is not valid.",
        ));
    }
    ctx.boolean("AutoPay")?;
    ctx.boolean("IncludeDataDisks")?;
    ctx.boolean("IsDetailFee")?;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    for id in &ids {
        let i = owned(&store, ctx, region.id, id)?;
        // "The instances must be in the Running or Stopped state."
        let s = i.state_at(ctx.now);
        if !matches!(s, VmState::Running | VmState::Stopped) {
            return Err(AliError::new(
                400,
                "InvalidStatus.ValueNotSupported",
                format!(
                    "Instance {id} is {}: it must be Running or Stopped.",
                    state_name(s)
                ),
            ));
        }
        if expired(i, ctx.now) {
            return Err(AliError::new(
                400,
                "ExpiredInstance",
                "The specified instance has expired.",
            ));
        }
        if i.charge_type == target {
            return Err(AliError::new(
                400,
                "InvalidInstanceChargeType.ValueNotSupported",
                format!("Instance {id} is already {target}."),
            ));
        }
    }
    if ctx.boolean("DryRun")?.unwrap_or(false) {
        return Err(dry_run_ok());
    }
    let order = order_id(ctx);
    let mut fees = vec![];
    for id in &ids {
        let Some(i) = store.get_mut(id, ctx.now) else {
            return Err(not_found(id));
        };
        i.charge_type = target.clone();
        if target == "PostPaid" {
            i.expires_ms = None;
            i.renew_flag = None;
        } else {
            i.expires_ms = Some(ctx.now + period * 30 * 86_400_000);
        }
        i.record_operation("ModifyInstanceChargeType", ctx.request_id, ctx.now, ctx.now);
        i.updated_ms = ctx.now;
        fees.push(json!({"InstanceId": id, "Fee": "0", "Currency": "CNY"}));
    }
    Ok(fields(json!({
        "OrderId": order,
        "FeeOfInstances": {"FeeOfInstance": fees},
    })))
}

/// Whether an instance of this account exists (any region), for the single-instance
/// actions whose models have no `RegionId`.
pub fn find<'s>(store: &'s crate::store::Store, ctx: &Ctx, id: &str) -> AliResult<&'s Instance> {
    store
        .get(id, ctx.now)
        .filter(|i| i.provider == Provider::Alibaba && i.account == ctx.account.key_id)
        .ok_or_else(|| not_found(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downgrade_means_lower_specifications() {
        assert!(is_downgrade((4, 16.0), (2, 8.0)));
        assert!(is_downgrade((4, 16.0), (4, 8.0)));
        assert!(!is_downgrade((2, 8.0), (4, 16.0)));
        assert!(!is_downgrade((2, 8.0), (2, 8.0)));
        // more vCPUs, less memory: not "lower specifications"
        assert!(!is_downgrade((2, 8.0), (4, 4.0)));
    }
}
