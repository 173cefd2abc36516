//! Tencent Cloud CVM client: API 3.0, version 2017-03-12, JSON over POST, signed with
//! TC3-HMAC-SHA256 ([`signer`]).
//!
//! Every call is one HTTPS POST to `https://cvm.tencentcloudapi.com/` (or
//! [`ClientConfig::endpoint`]) with the headers `X-TC-Action`, `X-TC-Version`,
//! `X-TC-Timestamp`, `X-TC-Region` (omitted for region-less actions), `Content-Type`,
//! `Host` and `Authorization`, wrapped in [`ClientConfig::retry`] and re-signed on every
//! attempt. Errors come back as `{"Response":{"Error":{"Code","Message"},"RequestId"}}` and
//! are classified by [`errors::classify`].
//!
//! Logging: request and response bodies are never logged (they carry passwords); only the
//! action, region, error code and RequestId are, at debug level.

pub mod errors;
pub mod operations;
pub mod signer;
pub mod tags;
pub mod wire;

pub use wire::state;

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::retry::{Observer, RetryPolicy};
use super::*;
use wire::{DescribeRequest, Filter};

/// The public endpoint ("nearest region") of CVM.
pub const DEFAULT_ENDPOINT: &str = "https://cvm.tencentcloudapi.com";
/// The API version this client speaks.
pub const API_VERSION: &str = "2017-03-12";
/// The service name of the credential scope.
pub const SERVICE: &str = "cvm";
/// Most instance ids one batched call accepts.
pub const BATCH_LIMIT: usize = 100;
/// Page size of the paged Describe* calls (the API maximum).
const PAGE_SIZE: u32 = 100;
/// Safety stop for paging loops (100,000 entries).
const MAX_PAGES: usize = 1000;
/// ClientToken length limit of RunInstances.
const MAX_CLIENT_TOKEN_LEN: usize = 64;

/// A Tencent CVM client. Cheap to clone (the HTTP connection pool is shared).
/// Security groups one instance may be bound to (ModifyInstancesAttribute).
pub const MAX_SECURITY_GROUPS: usize = 5;

#[derive(Clone)]
pub struct TencentClient {
    http: reqwest::Client,
    url: reqwest::Url,
    /// `Host` header value, exactly as sent and signed (`host[:port]`).
    host: String,
    credentials: Credentials,
    /// Session token of temporary credentials, sent as `X-TC-Token` (never logged).
    session_token: Option<SecretString>,
    timeout: Duration,
    retry: RetryPolicy,
    observer: Observer,
    policy: super::endpoint::EndpointPolicy,
    /// Failed asynchronous operations already reported (`operations.rs`).
    reported: operations::Reported,
    /// Type changes under way (`operations.rs`): the cloud starts the instance itself.
    resizing: operations::Resizing,
}

impl fmt::Debug for TencentClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TencentClient")
            .field("endpoint", &self.url.as_str())
            .field("secret_id", &self.credentials.access_key_id)
            .field("temporary", &self.session_token.is_some())
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

use super::common::invalid;

impl TencentClient {
    pub fn new(config: ClientConfig) -> Result<Self> {
        let endpoint = config
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .unwrap_or(DEFAULT_ENDPOINT);
        let url = reqwest::Url::parse(endpoint)
            .map_err(|e| invalid("InvalidEndpoint", format!("endpoint {endpoint:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(
                "InvalidEndpoint",
                format!("endpoint {endpoint:?}: scheme must be http or https"),
            ));
        }
        let Some(host) = url.host_str() else {
            return Err(invalid(
                "InvalidEndpoint",
                format!("endpoint {endpoint:?} has no host"),
            ));
        };
        // `Url::port` is None for the scheme's default port, exactly when HTTP clients
        // leave the port out of the Host header.
        let host = match url.port() {
            Some(p) => format!("{}:{p}", host.to_ascii_lowercase()),
            None => host.to_ascii_lowercase(),
        };
        config.policy.check(ProviderKind::Tencent, &url)?;
        let http = super::http::client(config.timeout, config.ca_bundle.as_deref())?;
        Ok(Self {
            http,
            url,
            host,
            credentials: config.credentials,
            session_token: config.session_token.filter(|t| !t.is_empty()),
            timeout: config.timeout,
            retry: config.retry,
            observer: config.observer,
            policy: config.policy,
            reported: Default::default(),
            resizing: Default::default(),
        })
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &str {
        self.url.as_str()
    }

    /// Serialize `req` once and POST it as `action` under the retry policy.
    async fn call<Req, Resp>(
        &self,
        action: &'static str,
        region: Option<&str>,
        req: &Req,
    ) -> Result<Resp>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let body =
            serde_json::to_vec(req).map_err(|e| invalid("SerializeRequest", e.to_string()))?;
        let region = region.filter(|r| !r.is_empty());
        self.retry
            .run_observed(&self.observer, || self.send_once(action, region, &body))
            .await
    }

    /// One signed attempt.
    async fn send_once<Resp: DeserializeOwned>(
        &self,
        action: &'static str,
        region: Option<&str>,
        body: &[u8],
    ) -> Result<Resp> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let authorization = signer::sign(&self.credentials, SERVICE, &self.host, timestamp, body);
        let mut rb = self
            .http
            .post(self.url.clone())
            .timeout(self.timeout)
            .header(reqwest::header::HOST, &self.host)
            .header(reqwest::header::CONTENT_TYPE, signer::CONTENT_TYPE)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header("X-TC-Action", action)
            .header("X-TC-Version", API_VERSION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .body(body.to_vec());
        if let Some(r) = region {
            rb = rb.header("X-TC-Region", r);
        }
        // Temporary credentials: "Token ... must be used together with a temporary key"
        // (CVM API reference "Common Params"; tencentcloud-sdk-python-common 3.1.195
        // `abstract_client.py` sends `Credential.token` as `X-TC-Token`). Not signed: TC3
        // signs content-type and host only.
        if let Some(t) = &self.session_token {
            rb = rb.header("X-TC-Token", t.expose());
        }
        tracing::debug!(action, region = region.unwrap_or(""), "tencent request");
        let result = async {
            let answer = super::http::execute(
                &self.http,
                &self.policy,
                ProviderKind::Tencent,
                rb,
                "x-tc-requestid",
            )
            .await?;
            wire::decode_response::<Resp>(answer.status, &answer.body)
        }
        .await;
        if let Err(e) = &result {
            tracing::debug!(
                action,
                code = %e.code,
                kind = e.kind.as_str(),
                request_id = e.request_id.as_deref().unwrap_or(""),
                "tencent error"
            );
        }
        result
    }

    fn check_batch(ids: &[String]) -> Result<()> {
        common::check_batch(ids, BATCH_LIMIT, "TooManyInstanceIds", |n| {
            format!("{n} instance ids in one call; Tencent accepts at most {BATCH_LIMIT}")
        })
    }

    /// Page through DescribeInstances with `filters`, de-duplicating ids that move
    /// between pages while the set changes.
    async fn describe_paged(
        &self,
        region: &str,
        filters: Vec<Filter>,
    ) -> Result<Vec<InstanceDetails>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut offset: u32 = 0;
        for _ in 0..MAX_PAGES {
            let req = DescribeRequest {
                filters: filters.clone(),
                offset: Some(offset),
                limit: Some(PAGE_SIZE),
                ..Default::default()
            };
            let page: wire::DescribeInstancesResponse =
                self.call("DescribeInstances", Some(region), &req).await?;
            let n = page.instance_set.len() as u32;
            for inst in page.instance_set {
                if seen.insert(inst.instance_id.clone()) {
                    out.push(inst.into_details());
                }
            }
            offset = offset.saturating_add(n);
            if n == 0 || u64::from(offset) >= page.total_count {
                return Ok(out);
            }
        }
        Err(too_many_pages("DescribeInstances"))
    }
}

/// A listing that does not end within [`MAX_PAGES`] pages (a hostile or broken endpoint
/// can claim any TotalCount): stop instead of paging and buffering without bound.
fn too_many_pages(action: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::Transient,
        "TooManyPages",
        format!("{action} did not finish within {MAX_PAGES} pages of {PAGE_SIZE}"),
    )
}

/// A fresh idempotency token for a create call that came without one, so that retrying
/// it (after a timeout, say) can never create a second set of instances.
fn generated_client_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill(&mut bytes);
    format!("cic-{}", hex::encode(bytes))
}

impl CloudProvider for TencentClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Tencent
    }

    fn batch_limit(&self) -> usize {
        BATCH_LIMIT
    }
    fn stops_soft_then_hard(&self) -> bool {
        true // StopType SOFT_FIRST
    }

    async fn run_instances(&self, req: &RunRequest) -> Result<Vec<String>> {
        // Tag limits the CRD cannot check without knowing the cloud (`tags.rs`).
        tags::check(&req.tags)?;
        let mut body = wire::RunInstancesRequest::from_run(req);
        match &body.client_token {
            Some(t) if t.len() > MAX_CLIENT_TOKEN_LEN || !t.is_ascii() => {
                return Err(invalid(
                    "InvalidClientToken.TooLong",
                    format!("ClientToken must be at most {MAX_CLIENT_TOKEN_LEN} ASCII characters"),
                ));
            }
            Some(_) => {}
            None => body.client_token = Some(generated_client_token()),
        }
        let resp: wire::RunInstancesResponse =
            self.call("RunInstances", Some(&req.region), &body).await?;
        if req.dry_run && resp.instance_id_set.is_empty() {
            // A passing dry run "返回RequestId" (answers with only a RequestId):
            // tencentcloud-sdk-python-cvm 3.1.178 `RunInstancesRequest.DryRun`; the older
            // reference answers with the error `DryRunOperation` (classified DryRunOk too).
            return Err(ProviderError::new(
                ErrorKind::DryRunOk,
                "DryRunOperation",
                "request validation passed with DryRun set (the answer carried no instance)",
            ));
        }
        Ok(resp.instance_id_set)
    }

    async fn start_instances(&self, region: &str, ids: &[String]) -> Result<()> {
        Self::check_batch(ids)?;
        if ids.is_empty() {
            return Ok(());
        }
        // A start that failed after it was accepted (LatestOperationState FAILED) is
        // reported once instead of being repeated blindly (`operations.rs`).
        if let [id] = ids {
            self.check_latest_operation(region, id, "StartInstances")
                .await?;
        }
        let _: wire::NoContent = self
            .call(
                "StartInstances",
                Some(region),
                &wire::InstanceIdsRequest { instance_ids: ids },
            )
            .await?;
        Ok(())
    }

    async fn stop_instances(&self, region: &str, ids: &[String], mode: StopMode) -> Result<()> {
        Self::check_batch(ids)?;
        if ids.is_empty() {
            return Ok(());
        }
        let req = wire::StopTypeRequest {
            instance_ids: ids,
            stop_type: wire::stop_type(mode),
        };
        let _: wire::NoContent = self.call("StopInstances", Some(region), &req).await?;
        Ok(())
    }

    async fn reboot_instances(&self, region: &str, ids: &[String], force: bool) -> Result<()> {
        Self::check_batch(ids)?;
        if ids.is_empty() {
            return Ok(());
        }
        let req = wire::StopTypeRequest {
            instance_ids: ids,
            stop_type: if force { "HARD" } else { "SOFT" },
        };
        let _: wire::NoContent = self.call("RebootInstances", Some(region), &req).await?;
        Ok(())
    }

    async fn terminate_instances(&self, region: &str, ids: &[String]) -> Result<()> {
        Self::check_batch(ids)?;
        if ids.is_empty() {
            return Ok(());
        }
        let _: wire::NoContent = self
            .call(
                "TerminateInstances",
                Some(region),
                &wire::InstanceIdsRequest { instance_ids: ids },
            )
            .await?;
        Ok(())
    }

    async fn describe_status(&self, region: &str, ids: &[String]) -> Result<Vec<InstanceStatus>> {
        Self::check_batch(ids)?;
        // An empty id list would make the API list arbitrary instances of the account.
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let req = DescribeRequest {
            instance_ids: ids,
            offset: Some(0),
            limit: Some(PAGE_SIZE),
            ..Default::default()
        };
        let resp: wire::DescribeInstancesStatusResponse = self
            .call("DescribeInstancesStatus", Some(region), &req)
            .await?;
        let mut out: Vec<InstanceStatus> = resp
            .instance_status_set
            .into_iter()
            .map(wire::WireInstanceStatus::into_status)
            .collect();
        // SHUTDOWN comes back after a top-up or renewal, or not: say which.
        self.add_isolation(region, &mut out).await?;
        // STOPPED during a type change means "about to start by itself".
        self.add_resize(region, &mut out).await;
        Ok(out)
    }

    async fn describe_instances(
        &self,
        region: &str,
        filter: &DescribeFilter,
    ) -> Result<Vec<InstanceDetails>> {
        match filter {
            DescribeFilter::Ids(ids) => {
                Self::check_batch(ids)?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let req = DescribeRequest {
                    instance_ids: ids,
                    offset: Some(0),
                    limit: Some(PAGE_SIZE),
                    ..Default::default()
                };
                let resp: wire::DescribeInstancesResponse =
                    self.call("DescribeInstances", Some(region), &req).await?;
                Ok(resp
                    .instance_set
                    .into_iter()
                    .map(wire::Instance::into_details)
                    .collect())
            }
            DescribeFilter::Tag { key, value } => {
                let filters = vec![Filter {
                    name: format!("tag:{key}"),
                    values: vec![value.clone()],
                }];
                self.describe_paged(region, filters).await
            }
            DescribeFilter::All => self.describe_paged(region, Vec::new()).await,
        }
    }

    async fn modify_instance(&self, region: &str, id: &str, change: &Modification) -> Result<()> {
        // One attribute per request: "每次请求必须指定实例的一种属性用于修改" (each request must
        // name one attribute of the instance to modify), tencentcloud-sdk-go
        // cvm/v20170312/client.go ModifyInstancesAttribute doc comment (API/15739);
        // "modify one attribute of the instance per request",
        // https://www.tencentcloud.com/document/api/213/33246.
        let ids = [id.to_string()];
        // At most 5 security groups per instance: `LimitExceeded.AssociateUSGLimitExceeded`
        // "一个实例绑定安全组数量不能超过5个" (tencentcloud-sdk-python-cvm 3.1.178
        // `errorcodes.py`; ModifyInstancesAttribute error list in tencentcloud-sdk-go
        // `cvm/v20170312/client.go`). Refused before any request, so a rename in the same
        // change is not half applied.
        if let Some(groups) = change.security_group_ids.as_deref()
            && groups.len() > MAX_SECURITY_GROUPS
        {
            return Err(invalid(
                "LimitExceeded.AssociateUSGLimitExceeded",
                format!(
                    "{} security groups; Tencent Cloud binds at most {MAX_SECURITY_GROUPS} to an instance",
                    groups.len()
                ),
            ));
        }
        if let Some(name) = change.name.as_deref() {
            let req = wire::ModifyInstancesAttributeRequest {
                instance_ids: &ids,
                instance_name: Some(name),
                security_groups: None,
            };
            let _: wire::NoContent = self
                .call("ModifyInstancesAttribute", Some(region), &req)
                .await?;
        }
        if let Some(groups) = change.security_group_ids.as_deref() {
            let req = wire::ModifyInstancesAttributeRequest {
                instance_ids: &ids,
                instance_name: None,
                security_groups: Some(groups),
            };
            let _: wire::NoContent = self
                .call("ModifyInstancesAttribute", Some(region), &req)
                .await?;
        }
        Ok(())
    }

    async fn reinstall(&self, region: &str, id: &str, req: &ReinstallRequest) -> Result<()> {
        self.check_latest_operation(region, id, "ResetInstance")
            .await?;
        let body = wire::ResetInstanceRequest::new(id, req);
        let _: wire::NoContent = self.call("ResetInstance", Some(region), &body).await?;
        Ok(())
    }

    async fn resize(&self, region: &str, id: &str, instance_type: &str) -> Result<()> {
        self.check_latest_operation(region, id, "ResetInstancesType")
            .await?;
        let ids = [id.to_string()];
        let req = wire::ResetInstancesTypeRequest {
            instance_ids: &ids,
            instance_type,
        };
        let _: wire::NoContent = self.call("ResetInstancesType", Some(region), &req).await?;
        // The cloud starts the instance when the change is done (`operations.rs`).
        self.resizing.start(region, id);
        Ok(())
    }

    async fn regions(&self) -> Result<Vec<Region>> {
        let resp: wire::DescribeRegionsResponse =
            self.call("DescribeRegions", None, &wire::Empty {}).await?;
        Ok(resp
            .region_set
            .into_iter()
            .map(|r| Region {
                available: r.region_state.eq_ignore_ascii_case("AVAILABLE"),
                id: r.region,
                name: r.region_name,
            })
            .collect())
    }

    async fn zones(&self, region: &str) -> Result<Vec<Zone>> {
        let resp: wire::DescribeZonesResponse = self
            .call("DescribeZones", Some(region), &wire::Empty {})
            .await?;
        Ok(resp
            .zone_set
            .into_iter()
            .map(|z| Zone {
                available: z.zone_state.eq_ignore_ascii_case("AVAILABLE"),
                id: z.zone,
                name: z.zone_name,
            })
            .collect())
    }

    async fn images(&self, region: &str) -> Result<Vec<Image>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut offset: u32 = 0;
        for _ in 0..MAX_PAGES {
            let req = DescribeRequest {
                offset: Some(offset),
                limit: Some(PAGE_SIZE),
                ..Default::default()
            };
            let page: wire::DescribeImagesResponse =
                self.call("DescribeImages", Some(region), &req).await?;
            let n = page.image_set.len() as u32;
            for i in page.image_set {
                if seen.insert(i.image_id.clone()) {
                    out.push(Image {
                        id: i.image_id,
                        name: i.image_name,
                        os_name: i.os_name,
                        image_type: i.image_type,
                    });
                }
            }
            offset = offset.saturating_add(n);
            if n == 0 || u64::from(offset) >= page.total_count {
                return Ok(out);
            }
        }
        Err(too_many_pages("DescribeImages"))
    }

    async fn instance_types(
        &self,
        region: &str,
        zone: Option<&str>,
    ) -> Result<Vec<InstanceTypeInfo>> {
        let filters = zone
            .filter(|z| !z.is_empty())
            .map(|z| {
                vec![Filter {
                    name: "zone".into(),
                    values: vec![z.to_string()],
                }]
            })
            .unwrap_or_default();
        let resp: wire::DescribeInstanceTypeConfigsResponse = self
            .call(
                "DescribeInstanceTypeConfigs",
                Some(region),
                &wire::DescribeInstanceTypeConfigsRequest { filters },
            )
            .await?;
        Ok(resp
            .instance_type_config_set
            .into_iter()
            .map(|c| InstanceTypeInfo {
                id: c.instance_type,
                zone: c.zone,
                family: c.instance_family,
                cpu: c.cpu,
                memory_gb: c.memory,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
