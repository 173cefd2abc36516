//! Alibaba Cloud ECS, API version 2014-05-26, RPC style.
//!
//! Every call is an HTTPS `POST https://ecs.<region>.aliyuncs.com/?<parameters>` signed with
//! signature method V3 ([`signer`], `ACS3-HMAC-SHA256`): the action and version travel in the
//! `x-acs-action`/`x-acs-version` headers, the action's own parameters in the query string
//! (where the official SDK puts every parameter of these actions: `query[...]` in
//! `Client.<action>_with_options`, i.e. metadata location `query`, which V3 signs as the
//! canonical query string), the body is empty. `config.endpoint` replaces the host (the region
//! then only travels in `RegionId`).
//!
//! The URL therefore carries passwords and user data (as with the official SDK), so it is
//! never logged or shown: requests are logged by action only, and transport errors are
//! stripped of URLs (`http::scrub_urls`). The secret never leaves [`signer::sign`].

pub mod billing;
pub mod errors;
pub mod signer;
pub mod tags;
pub mod wire;

use serde::de::DeserializeOwned;
use std::collections::BTreeSet;

use super::common::{self, invalid, random_hex};
use super::*;
use wire::{Params, details, put, put_list, put_login, takes_region_id};

/// The ECS API version this client speaks.
pub const API_VERSION: &str = "2014-05-26";
/// Most ids one batched ECS call accepts (`InstanceId.N`, `InstanceIds`).
pub const BATCH_LIMIT: usize = 100;
/// DescribeInstanceStatus pages hold at most 50 entries.
const STATUS_PAGE_SIZE: usize = 50;
/// DescribeInstances / DescribeImages pages hold at most 100 entries.
const PAGE_SIZE: usize = 100;
/// Safety stop for paging loops.
const MAX_PAGES: usize = 1000;

fn check_batch(ids: &[String]) -> Result<()> {
    common::check_batch(ids, BATCH_LIMIT, "TooManyInstanceIds", |n| {
        format!("{n} instance ids given; Alibaba ECS accepts at most {BATCH_LIMIT} per call")
    })
}

/// Client for Alibaba Cloud ECS.
#[derive(Clone, Debug)]
pub struct AlibabaClient {
    config: ClientConfig,
    http: reqwest::Client,
}

/// The `host` header for an endpoint URL: the host, plus `:port` when the URL names a port
/// that is not its scheme's default (what the HTTP client sends, and what V3 signs).
fn host_header(endpoint: &str) -> Result<String> {
    let url = reqwest::Url::parse(endpoint).map_err(|e| {
        invalid(
            "InvalidEndpoint",
            format!("the Alibaba endpoint is not a URL: {e}"),
        )
    })?;
    let host = url
        .host_str()
        .ok_or_else(|| invalid("InvalidEndpoint", "the Alibaba endpoint has no host"))?;
    Ok(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    })
}

fn utc_timestamp() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

impl AlibabaClient {
    pub fn new(config: ClientConfig) -> Result<Self> {
        if config.credentials.access_key_id.is_empty() || config.credentials.secret.is_empty() {
            return Err(ProviderError::new(
                ErrorKind::Auth,
                "MissingCredentials",
                "an Alibaba AccessKeyId and AccessKeySecret are required",
            ));
        }
        if let Some(e) = &config.endpoint {
            config.policy.check_str(ProviderKind::Alibaba, e)?;
        }
        let http = http::client(config.timeout, config.ca_bundle.as_deref())?;
        Ok(Self { config, http })
    }

    fn endpoint(&self, region: Option<&str>) -> String {
        match (&self.config.endpoint, region) {
            (Some(e), _) => e.trim_end_matches('/').to_owned(),
            (None, Some(r)) if !r.is_empty() => format!("https://ecs.{r}.aliyuncs.com"),
            (None, _) => "https://ecs.aliyuncs.com".to_owned(),
        }
    }

    /// One API call with the configured retry policy.
    async fn call<T: DeserializeOwned>(
        &self,
        action: &str,
        region: Option<&str>,
        params: &Params,
    ) -> Result<T> {
        self.config
            .retry
            .run_observed(&self.config.observer, || {
                self.call_once(action, region, params)
            })
            .await
    }

    async fn call_once<T: DeserializeOwned>(
        &self,
        action: &str,
        region: Option<&str>,
        params: &Params,
    ) -> Result<T> {
        let creds = &self.config.credentials;
        let mut query = params.clone();
        if let Some(r) = region.filter(|r| !r.is_empty())
            && takes_region_id(action)
        {
            query
                .entry("RegionId".to_owned())
                .or_insert_with(|| r.to_owned());
        }
        let base = self.endpoint(region);
        let host = host_header(&base)?;
        // A fresh nonce and date on every attempt: the nonce is replay protection, and a
        // retry must not reuse it ("How to ensure idempotence": only the signature
        // parameters change between retries).
        let nonce = random_hex();
        let date = utc_timestamp();
        let signed = signer::sign(
            &signer::Request {
                method: "POST",
                host: &host,
                action,
                version: API_VERSION,
                date: &date,
                nonce: &nonce,
                query: &query,
                body: b"",
            },
            &creds.access_key_id,
            creds.secret.expose(),
        );
        let url = if signed.query.is_empty() {
            format!("{base}/")
        } else {
            format!("{base}/?{}", signed.query)
        };
        tracing::debug!(provider = "alibaba", action, region, "calling ECS");
        let mut rb = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &signed.headers {
            rb = rb.header(name.as_str(), value.as_str());
        }
        let answer = http::execute(
            &self.http,
            &self.config.policy,
            ProviderKind::Alibaba,
            rb,
            "x-acs-request-id",
        )
        .await?;
        let status = reqwest::StatusCode::from_u16(answer.status)
            .unwrap_or(reqwest::StatusCode::INTERNAL_SERVER_ERROR);
        let request_id = answer.request_id.clone();
        let retry_after = answer.retry_after;
        let text = answer.text();
        if status.is_success() {
            serde_json::from_str(&text).map_err(|e| {
                ProviderError::new(
                    ErrorKind::Transient,
                    "InvalidResponse",
                    format!("cannot decode the {action} answer: {e}"),
                )
                .with_request_id(request_id)
            })
        } else {
            let err = errors::from_response(status.as_u16(), request_id, retry_after, &text);
            tracing::debug!(provider = "alibaba", action, code = %err.code, kind = err.kind.as_str(), "ECS error");
            Err(err)
        }
    }

    async fn instance_action(
        &self,
        action: &str,
        region: &str,
        ids: &[String],
        extra: &[(&str, &str)],
    ) -> Result<()> {
        check_batch(ids)?;
        if ids.is_empty() {
            return Ok(());
        }
        let mut p = Params::new();
        put_list(&mut p, "InstanceId", ids);
        for (k, v) in extra {
            put(&mut p, k, *v);
        }
        let _: serde_json::Value = self.call(action, Some(region), &p).await?;
        Ok(())
    }

    /// Every page of a DescribeInstances query, with `NextToken`/`MaxResults`: the SDK marks
    /// `PageNumber`/`PageSize` "about to be deprecated. Use NextToken and MaxResults"
    /// (`DescribeInstancesRequest.page_number`/`.page_size`), and with NextToken the
    /// `TotalCount` is not meaningful, so the loop ends on an empty `NextToken`.
    async fn describe_pages(&self, region: &str, base: Params) -> Result<Vec<InstanceDetails>> {
        let (out, end) = common::token_pages(MAX_PAGES, |token| {
            let mut p = base.clone();
            put(&mut p, "MaxResults", PAGE_SIZE.to_string());
            if let Some(t) = token {
                put(&mut p, "NextToken", t);
            }
            async move {
                let r: wire::DescribeInstancesResponse =
                    self.call("DescribeInstances", Some(region), &p).await?;
                Ok((r.instances, r.next_token))
            }
        })
        .await?;
        match end {
            common::PagesEnd::Done => Ok(out.into_iter().map(details).collect()),
            common::PagesEnd::TooManyPages => Err(ProviderError::new(
                ErrorKind::Transient,
                "TooManyPages",
                format!("DescribeInstances returned more than {MAX_PAGES} pages"),
            )),
        }
    }
}

impl CloudProvider for AlibabaClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Alibaba
    }

    fn batch_limit(&self) -> usize {
        BATCH_LIMIT
    }
    fn reinstall_requires_stopped(&self) -> bool {
        // ReplaceSystemDisk answers IncorrectInstanceStatus unless the instance is Stopped.
        true
    }

    async fn run_instances(&self, req: &RunRequest) -> Result<Vec<String>> {
        // Tag limits the CRD cannot check without knowing the cloud (`tags.rs`).
        tags::check(&req.tags)?;
        let p = wire::run_params(req)?;
        let r: wire::RunInstancesResponse =
            self.call("RunInstances", Some(&req.region), &p).await?;
        Ok(r.instance_id_sets)
    }

    async fn start_instances(&self, region: &str, ids: &[String]) -> Result<()> {
        self.instance_action("StartInstances", region, ids, &[])
            .await
    }

    async fn stop_instances(&self, region: &str, ids: &[String], mode: StopMode) -> Result<()> {
        // Alibaba has no "soft, then hard" switch: a normal stop is the soft variant and the
        // controller escalates to a forced stop when the guest does not shut down.
        let force = if mode == StopMode::Hard {
            "true"
        } else {
            "false"
        };
        // StoppedMode=KeepCharging, always: the default depends on an account setting
        // (economical mode), and StopCharging releases the vCPUs and memory, so the next
        // start can fail for lack of stock and the public IP can change. The docs ask for
        // KeepCharging before a type change or an OS replacement "to avoid startup
        // failures" (SDK `StopInstancesRequest.stopped_mode`), and the controller restarts
        // what it stopped; subscription instances keep charging either way.
        self.instance_action(
            "StopInstances",
            region,
            ids,
            &[("ForceStop", force), ("StoppedMode", "KeepCharging")],
        )
        .await
    }

    async fn reboot_instances(&self, region: &str, ids: &[String], force: bool) -> Result<()> {
        let f = if force { "true" } else { "false" };
        self.instance_action("RebootInstances", region, ids, &[("ForceReboot", f)])
            .await
    }

    async fn terminate_instances(&self, region: &str, ids: &[String]) -> Result<()> {
        check_batch(ids)?;
        if ids.is_empty() {
            return Ok(());
        }
        // PostPaid: DeleteInstances Force=true; subscriptions: see `billing::release`.
        self.release(region, ids).await
    }

    async fn describe_status(&self, region: &str, ids: &[String]) -> Result<Vec<InstanceStatus>> {
        check_batch(ids)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        let pages = ids.len().div_ceil(STATUS_PAGE_SIZE);
        for page in 1..=pages {
            let mut p = Params::new();
            put_list(&mut p, "InstanceId", ids);
            put(&mut p, "PageSize", STATUS_PAGE_SIZE.to_string());
            put(&mut p, "PageNumber", page.to_string());
            let r: wire::DescribeInstanceStatusResponse = self
                .call("DescribeInstanceStatus", Some(region), &p)
                .await?;
            let n = r.instance_statuses.len();
            out.extend(
                r.instance_statuses
                    .into_iter()
                    // Filter client-side as well: the answer must only contain what was asked.
                    .filter(|s| wanted.contains(s.instance_id.as_str()))
                    .map(|s| InstanceStatus {
                        state: wire::map_state(&s.status),
                        id: s.instance_id,
                        provider_state: s.status,
                    }),
            );
            if n < STATUS_PAGE_SIZE {
                break;
            }
        }
        out.dedup_by(|a, b| a.id == b.id);
        Ok(out)
    }

    async fn describe_instances(
        &self,
        region: &str,
        filter: &DescribeFilter,
    ) -> Result<Vec<InstanceDetails>> {
        let mut p = Params::new();
        match filter {
            DescribeFilter::Ids(ids) => {
                check_batch(ids)?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let json = serde_json::to_string(ids).map_err(|e| {
                    invalid("InvalidParameter.InstanceIds", format!("bad ids: {e}"))
                })?;
                put(&mut p, "InstanceIds", json);
            }
            DescribeFilter::Tag { key, value } => {
                put(&mut p, "Tag.1.Key", key.clone());
                put(&mut p, "Tag.1.Value", value.clone());
            }
            DescribeFilter::All => {}
        }
        self.describe_pages(region, p).await
    }

    async fn modify_instance(&self, region: &str, id: &str, change: &Modification) -> Result<()> {
        if change.name.is_none() && change.security_group_ids.is_none() {
            return Ok(());
        }
        let mut p = Params::new();
        put(&mut p, "InstanceId", id);
        if let Some(n) = &change.name {
            wire::check_instance_name(n)?;
            put(&mut p, "InstanceName", n.clone());
        }
        if let Some(sgs) = &change.security_group_ids {
            if sgs.is_empty() {
                return Err(invalid(
                    "InvalidSecurityGroupIds.Empty",
                    "an Alibaba instance must stay in at least one security group",
                ));
            }
            // "The security group IDs in the array must be unique" (SDK
            // `ModifyInstanceAttributeRequest.security_group_ids`): refused here with the
            // cloud's generic code instead of a round trip.
            if let Some(dup) = sgs.iter().enumerate().find(|(n, g)| sgs[..*n].contains(g)) {
                return Err(invalid(
                    "InvalidParameter",
                    format!(
                        "security group {} is listed twice; Alibaba requires unique ids",
                        dup.1
                    ),
                ));
            }
            // ModifyInstanceAttribute's SecurityGroupIds.N replaces the instance's groups.
            put_list(&mut p, "SecurityGroupIds", sgs);
        }
        let _: serde_json::Value = self
            .call("ModifyInstanceAttribute", Some(region), &p)
            .await?;
        Ok(())
    }

    async fn reinstall(&self, region: &str, id: &str, req: &ReinstallRequest) -> Result<()> {
        let mut p = Params::new();
        put(&mut p, "InstanceId", id);
        put(&mut p, "ImageId", req.image_id.clone());
        put(&mut p, "ClientToken", random_hex());
        if let Some(s) = req.system_disk_size_gb {
            put(&mut p, "SystemDisk.Size", s.to_string());
        }
        put_login(&mut p, &req.login)?;
        let _: serde_json::Value = self.call("ReplaceSystemDisk", Some(region), &p).await?;
        // ReplaceSystemDisk has no hostname parameter; set it as an attribute instead.
        if let Some(h) = &req.hostname {
            let mut q = Params::new();
            put(&mut q, "InstanceId", id);
            put(&mut q, "HostName", h.clone());
            let _: serde_json::Value = self
                .call("ModifyInstanceAttribute", Some(region), &q)
                .await?;
        }
        Ok(())
    }

    async fn resize(&self, region: &str, id: &str, instance_type: &str) -> Result<()> {
        // ModifyInstanceSpec is PostPaid only (`ChargeTypeViolation` otherwise);
        // subscriptions change type with ModifyPrepayInstanceSpec (`billing`).
        let described = self.describe_raw(region, &[id.to_owned()]).await?;
        if let Some(current) = described.iter().find(|i| i.instance_id == id)
            && billing::billing(current, jiff::Timestamp::now().as_millisecond())
                != billing::Billing::PostPaid
        {
            return self.resize_prepaid(region, current, instance_type).await;
        }
        let mut p = Params::new();
        put(&mut p, "InstanceId", id);
        put(&mut p, "InstanceType", instance_type);
        put(&mut p, "ClientToken", random_hex());
        let _: serde_json::Value = self.call("ModifyInstanceSpec", Some(region), &p).await?;
        Ok(())
    }

    async fn regions(&self) -> Result<Vec<Region>> {
        let mut p = Params::new();
        put(&mut p, "AcceptLanguage", "en-US");
        let r: wire::DescribeRegionsResponse = self.call("DescribeRegions", None, &p).await?;
        Ok(r.regions
            .into_iter()
            .map(|x| Region {
                available: x
                    .status
                    .as_deref()
                    .is_none_or(|s| !s.eq_ignore_ascii_case("soldOut")),
                name: x.local_name,
                id: x.region_id,
            })
            .collect())
    }

    async fn zones(&self, region: &str) -> Result<Vec<Zone>> {
        let mut p = Params::new();
        put(&mut p, "RegionId", region);
        put(&mut p, "AcceptLanguage", "en-US");
        put(&mut p, "Verbose", "false");
        let r: wire::DescribeZonesResponse = self.call("DescribeZones", Some(region), &p).await?;
        Ok(r.zones
            .into_iter()
            .map(|z| Zone {
                name: z.local_name,
                id: z.zone_id,
                available: true,
            })
            .collect())
    }

    async fn images(&self, region: &str) -> Result<Vec<Image>> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut p = Params::new();
            put(&mut p, "RegionId", region);
            put(&mut p, "Status", "Available");
            put(&mut p, "PageSize", PAGE_SIZE.to_string());
            put(&mut p, "PageNumber", page.to_string());
            let r: wire::DescribeImagesResponse =
                self.call("DescribeImages", Some(region), &p).await?;
            let n = r.images.len();
            out.extend(r.images.into_iter().map(|i| Image {
                os_name: if i.os_name_en.is_empty() {
                    i.os_name
                } else {
                    i.os_name_en
                },
                id: i.image_id,
                name: i.image_name,
                image_type: i.image_owner_alias,
            }));
            if n < PAGE_SIZE || out.len() as u64 >= r.total_count {
                break;
            }
        }
        Ok(out)
    }

    async fn instance_types(
        &self,
        region: &str,
        zone: Option<&str>,
    ) -> Result<Vec<InstanceTypeInfo>> {
        // In a zone, only the types DescribeAvailableResource reports as Available count.
        let allowed: Option<BTreeSet<String>> = match zone {
            Some(z) => {
                let mut p = Params::new();
                put(&mut p, "RegionId", region);
                put(&mut p, "ZoneId", z);
                put(&mut p, "DestinationResource", "InstanceType");
                let r: wire::DescribeAvailableResourceResponse = self
                    .call("DescribeAvailableResource", Some(region), &p)
                    .await?;
                Some(
                    r.available_zones
                        .into_iter()
                        .filter(|az| az.zone_id == z)
                        .flat_map(|az| az.available_resources)
                        .filter(|res| res.kind == "InstanceType")
                        .flat_map(|res| res.supported_resources)
                        .filter(|s| s.status == "Available")
                        .map(|s| s.value)
                        .collect(),
                )
            }
            None => None,
        };
        // No RegionId: DescribeInstanceTypesRequest has none (see `takes_region_id`).
        let (types, _) = common::token_pages(MAX_PAGES, |token| {
            let mut p = Params::new();
            if let Some(t) = token {
                put(&mut p, "NextToken", t);
            }
            async move {
                let r: wire::DescribeInstanceTypesResponse =
                    self.call("DescribeInstanceTypes", Some(region), &p).await?;
                Ok((r.instance_types, r.next_token))
            }
        })
        .await?;
        Ok(types
            .into_iter()
            .filter(|t| {
                allowed
                    .as_ref()
                    .is_none_or(|a| a.contains(&t.instance_type_id))
            })
            .map(|t| InstanceTypeInfo {
                zone: zone.unwrap_or_default().to_owned(),
                family: t.instance_type_family,
                cpu: t.cpu_core_count.round() as u32,
                memory_gb: t.memory_size.round() as u32,
                id: t.instance_type_id,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
