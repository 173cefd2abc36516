//! Subscription (PrePaid) instances: how they change type and how they are released.
//!
//! The client learns an instance's billing from `DescribeInstances`
//! (`InstanceChargeType`, `ExpiredTime`), so the controller stays cloud-neutral.
//!
//! * **Type change.** `ModifyInstanceSpec` is PostPaid only: on PrePaid it answers
//!   `ChargeTypeViolation` (403; AlibabaCloudDocs/ecs `API Reference/Instances/ModifyInstanceSpec.md`
//!   error table). Subscription instances use `ModifyPrepayInstanceSpec`
//!   (https://www.alibabacloud.com/help/doc-detail/57612.htm): upgrade Running or Stopped,
//!   downgrade only Stopped and with `OperatorType=downgrade` ("When the new instance type
//!   ... has lower specifications than the current instance type, you must set
//!   `OperatorType` to downgrade", AlibabaCloudDocs/ecs `…/Instances/ModifyPrepayInstanceSpec.md`);
//!   `RegionId` is required (SDK `alibabacloud-ecs20140526` 7.11.8
//!   `ModifyPrepayInstanceSpecRequest.region_id`).
//! * **Release.** `DeleteInstances` releases PostPaid instances, and expired PrePaid ones
//!   with `TerminateSubscription=true` (SDK `DeleteInstancesRequest.terminate_subscription`:
//!   "whether to release an expired subscription instance", default false). "You cannot
//!   release an in service subscribed instance" (https://www.alibabacloud.com/help/doc-detail/25507.htm;
//!   `ChargeTypeViolation`). The documented API way out before expiry is to change the billing
//!   to pay-as-you-go with `ModifyInstanceChargeType` (`InstanceChargeType=PostPaid`, at most
//!   20 ids; "the price difference is refunded", subject to a monthly refund quota,
//!   AlibabaCloudDocs/ecs `…/Instances/ModifyInstanceChargeType.md`) and then release it.
//!   Deleting a CloudInstance with `deletionPolicy: Delete` means "this VM must go", so the
//!   client does exactly that; when the cloud refuses the change (refund quota
//!   `QuotaExceed.RufundVcpu`, unpaid orders, ...) the error says so and names the ways out.

use std::collections::BTreeMap;

use super::{AlibabaClient, Params, put, put_list, random_hex, wire};
use crate::provider::{ErrorKind, ProviderError, Result};

/// Billing of one instance as `DescribeInstances` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Billing {
    /// Pay-as-you-go (`PostPaid`) or unknown: released with `DeleteInstances`.
    PostPaid,
    /// Subscription still in service: convert to PostPaid, then release.
    PrePaidInService,
    /// Subscription past its `ExpiredTime`: release with `TerminateSubscription=true`.
    PrePaidExpired,
}

/// Most ids one `ModifyInstanceChargeType` call accepts (`InstanceIds`: "a JSON array
/// that consists of up to 20 instance IDs", ModifyInstanceChargeType.md).
pub const CHARGE_TYPE_BATCH: usize = 20;

/// `yyyy-MM-ddTHH:mmZ` (ECS minute precision) or RFC 3339 → milliseconds since the epoch.
pub fn parse_time_ms(t: &str) -> Option<i64> {
    let t = t.trim();
    let full = if t.len() == 17 && t.ends_with('Z') && t.as_bytes().get(13) == Some(&b':') {
        format!("{}:00Z", &t[..16])
    } else {
        t.to_owned()
    };
    full.parse::<jiff::Timestamp>()
        .ok()
        .map(|ts| ts.as_millisecond())
}

/// The billing of `i` at `now_ms`.
pub fn billing(i: &wire::Instance, now_ms: i64) -> Billing {
    if !i.instance_charge_type.eq_ignore_ascii_case("PrePaid") {
        return Billing::PostPaid;
    }
    match i.expired_time.as_deref().and_then(parse_time_ms) {
        Some(t) if t <= now_ms => Billing::PrePaidExpired,
        _ => Billing::PrePaidInService,
    }
}

/// Whether moving from `from` to `to` (vCPUs, memory GiB) is a downgrade: "lower
/// specifications" = fewer vCPUs or less memory, and not more of the other. A mixed
/// change is an upgrade (it is not "lower").
pub fn is_downgrade(from: (f64, f64), to: (f64, f64)) -> bool {
    (to.0 < from.0 && to.1 <= from.1) || (to.0 <= from.0 && to.1 < from.1)
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl AlibabaClient {
    /// The raw `DescribeInstances` entries of up to 100 ids (absent ids are left out).
    pub(super) async fn describe_raw(
        &self,
        region: &str,
        ids: &[String],
    ) -> Result<Vec<wire::Instance>> {
        let mut p = Params::new();
        let json = serde_json::to_string(ids).map_err(|e| {
            ProviderError::new(
                ErrorKind::InvalidRequest,
                "InvalidParameter.InstanceIds",
                format!("bad ids: {e}"),
            )
        })?;
        put(&mut p, "InstanceIds", json);
        put(&mut p, "MaxResults", "100");
        let r: wire::DescribeInstancesResponse =
            self.call("DescribeInstances", Some(region), &p).await?;
        Ok(r.instances)
    }

    /// (vCPUs, memory GiB) of instance types, from `DescribeInstanceTypes`
    /// (`InstanceTypes.N`; no `RegionId` in its model).
    async fn type_sizes(
        &self,
        region: &str,
        types: &[String],
    ) -> Result<BTreeMap<String, (f64, f64)>> {
        let mut p = Params::new();
        put_list(&mut p, "InstanceTypes", types);
        let r: wire::DescribeInstanceTypesResponse =
            self.call("DescribeInstanceTypes", Some(region), &p).await?;
        Ok(r.instance_types
            .into_iter()
            .map(|t| (t.instance_type_id, (t.cpu_core_count, t.memory_size)))
            .collect())
    }

    /// Change the type of a subscription instance (`ModifyPrepayInstanceSpec`). The
    /// controller stops the instance first, so a downgrade meets its "Stopped" rule and the
    /// new type takes effect at the next start; `RebootWhenFinished` stays false.
    pub(super) async fn resize_prepaid(
        &self,
        region: &str,
        current: &wire::Instance,
        instance_type: &str,
    ) -> Result<()> {
        let mut p = Params::new();
        put(&mut p, "RegionId", region);
        put(&mut p, "InstanceId", current.instance_id.clone());
        put(&mut p, "InstanceType", instance_type);
        put(&mut p, "ClientToken", random_hex());
        put(&mut p, "RebootWhenFinished", "false");
        let types = [current.instance_type.clone(), instance_type.to_owned()];
        let sizes = self.type_sizes(region, &types).await?;
        // OperatorType only when both sizes are known; otherwise the cloud decides ("You
        // do not need to specify this parameter", SDK `ModifyPrepayInstanceSpecRequest.operator_type`).
        if let (Some(from), Some(to)) = (sizes.get(&types[0]), sizes.get(&types[1])) {
            let op = if is_downgrade(*from, *to) {
                "downgrade"
            } else {
                "upgrade"
            };
            put(&mut p, "OperatorType", op);
        }
        let _: serde_json::Value = self
            .call("ModifyPrepayInstanceSpec", Some(region), &p)
            .await?;
        Ok(())
    }

    async fn delete(
        &self,
        region: &str,
        ids: &[String],
        terminate_subscription: bool,
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut p = Params::new();
        put_list(&mut p, "InstanceId", ids);
        // Force=true releases running instances too, as Tencent's TerminateInstances does.
        put(&mut p, "Force", "true");
        if terminate_subscription {
            put(&mut p, "TerminateSubscription", "true");
        }
        let _: serde_json::Value = self.call("DeleteInstances", Some(region), &p).await?;
        Ok(())
    }

    /// Release instances whatever their billing (see the module documentation).
    pub(super) async fn release(&self, region: &str, ids: &[String]) -> Result<()> {
        let described = self.describe_raw(region, ids).await?;
        let now = now_ms();
        let of = |id: &String| {
            described
                .iter()
                .find(|i| &i.instance_id == id)
                .map(|i| billing(i, now))
                .unwrap_or(Billing::PostPaid)
        };
        let pick =
            |b: Billing| -> Vec<String> { ids.iter().filter(|id| of(id) == b).cloned().collect() };
        let (post, in_service, expired) = (
            pick(Billing::PostPaid),
            pick(Billing::PrePaidInService),
            pick(Billing::PrePaidExpired),
        );
        // Ids the cloud does not list go with the PostPaid ones: DeleteInstances then
        // answers InvalidInstanceId.NotFound, which the caller treats as "already gone".
        self.delete(region, &post, false).await?;
        self.delete(region, &expired, true).await?;
        for chunk in in_service.chunks(CHARGE_TYPE_BATCH) {
            self.to_pay_as_you_go(region, chunk).await?;
            match self.delete(region, chunk, false).await {
                Err(e) if e.code == "ChargeTypeViolation" => {
                    // The change of billing is an order; until it is processed the instance
                    // still counts as a subscription. Ask again shortly.
                    return Err(ProviderError::new(
                        ErrorKind::Transient,
                        "PrePaidConversionPending",
                        format!(
                            "subscription instance(s) {} were changed to pay-as-you-go; the release waits until Alibaba has processed that order",
                            chunk.join(",")
                        ),
                    )
                    .with_request_id(e.request_id));
                }
                r => r?,
            }
        }
        Ok(())
    }

    /// `ModifyInstanceChargeType InstanceChargeType=PostPaid` for up to 20 ids.
    async fn to_pay_as_you_go(&self, region: &str, ids: &[String]) -> Result<()> {
        let mut p = Params::new();
        put(&mut p, "RegionId", region);
        let json = serde_json::to_string(ids).map_err(|e| {
            ProviderError::new(
                ErrorKind::InvalidRequest,
                "InvalidParameter.InstanceIds",
                format!("bad ids: {e}"),
            )
        })?;
        put(&mut p, "InstanceIds", json);
        put(&mut p, "InstanceChargeType", "PostPaid");
        put(&mut p, "AutoPay", "true");
        put(&mut p, "ClientToken", random_hex());
        match self
            .call::<serde_json::Value>("ModifyInstanceChargeType", Some(region), &p)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_retryable() => Err(e),
            Err(mut e) => {
                e.message = format!(
                    "subscription (PrePaid) instance(s) {} cannot be released before they expire, and Alibaba refused to change them to pay-as-you-go so they could be ({}: {}). Unsubscribe them in the Alibaba Cloud console (refund), wait for the subscription to expire, or set deletionPolicy: Orphan to let this object go without releasing them",
                    ids.join(","),
                    e.code,
                    e.message
                );
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(charge: &str, expired: Option<&str>) -> wire::Instance {
        let v = serde_json::json!({
            "InstanceId": "i-1",
            "InstanceChargeType": charge,
            "ExpiredTime": expired,
        });
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn billing_from_the_describe_answer() {
        let now = parse_time_ms("2026-11-28T12:00:00Z").unwrap();
        assert_eq!(
            billing(&inst("PostPaid", Some("2099-12-31T15:59Z")), now),
            Billing::PostPaid
        );
        assert_eq!(
            billing(&inst("PrePaid", Some("2026-12-28T16:00Z")), now),
            Billing::PrePaidInService
        );
        assert_eq!(
            billing(&inst("PrePaid", Some("2026-11-28T11:59Z")), now),
            Billing::PrePaidExpired
        );
        // Unknown expiry: treat as in service (the conversion path asks the cloud).
        assert_eq!(
            billing(&inst("PrePaid", None), now),
            Billing::PrePaidInService
        );
        assert_eq!(billing(&inst("", None), now), Billing::PostPaid);
    }

    #[test]
    fn minute_times_parse() {
        assert_eq!(
            parse_time_ms("2017-12-10T04:04Z"),
            parse_time_ms("2017-12-10T04:04:00Z")
        );
        assert!(parse_time_ms("soon").is_none());
    }

    #[test]
    fn downgrades() {
        assert!(is_downgrade((4.0, 16.0), (2.0, 8.0)));
        assert!(is_downgrade((2.0, 16.0), (2.0, 8.0)));
        assert!(!is_downgrade((2.0, 8.0), (4.0, 16.0)));
        assert!(!is_downgrade((2.0, 8.0), (4.0, 4.0)));
        assert!(!is_downgrade((2.0, 8.0), (2.0, 8.0)));
    }
}
