//! Huawei Cloud ECS: REST on `https://ecs.<region>.myhuaweicloud.com` with the project id in
//! the path, AK/SK-signed ([`signer`]); images come from IMS
//! (`https://ims.<region>.myhuaweicloud.com`). `config.endpoint` replaces both hosts.
//!
//! Creation is asynchronous: `POST /v1/{project_id}/cloudservers` answers with a job id
//! (and, on current API versions, the server ids). Idempotency holds twice over: the
//! request carries `X-Client-Token` (a UUID, [`token::uuid_for`] of the caller's token;
//! renewed once it expires after 8 hours), and the client tags every server it creates with a
//! digest of the token and looks for servers carrying that tag before creating, so a
//! retried create adopts what an earlier attempt made.
//!
//! Requests are never logged with their bodies: they carry passwords and user data.

pub mod errors;
mod jobs;
pub mod ports;
pub mod prepaid;
pub mod projects;
pub mod signer;
mod transport;
pub mod wire;

pub use projects::{HuaweiSettings, REGIONS};
pub use wire::{fit_tag_value, token_tag_value};

use transport::{Service, decode};
use wire::{details, flavor_on_sale, servers_json};

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;

/// Ids per batch call (batch start/stop/reboot/delete and the `server_id` filter).
pub const BATCH_LIMIT: usize = 100;
/// Page size for the server list.
const PAGE_SIZE: usize = 100;
const MAX_PAGES: usize = 1000;
/// Tag carrying a digest of the create call's client token (tag values hold at most 43
/// characters, so the token itself may not fit).
pub const TOKEN_TAG: &str = "cic-client-token";
/// How long `run_instances` waits for the create job to name its servers.
pub const DEFAULT_JOB_WAIT: Duration = Duration::from_secs(60);

/// Region of the authenticated call behind `regions()` (the credential check).
const VERIFY_REGION: &str = "cn-north-4";

/// Client for Huawei Cloud ECS.
#[derive(Clone, Debug)]
pub struct HuaweiClient {
    config: ClientConfig,
    http: reqwest::Client,
    projects: projects::Projects,
    /// The IAM user id of the AK (configured, or learnt from IAM).
    user_id: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    job_wait: Duration,
}

use super::common::{invalid, random_hex};

fn check_batch(ids: &[String]) -> Result<()> {
    super::common::check_batch(ids, BATCH_LIMIT, "TooManyServerIds", |n| {
        format!("{n} server ids given; Huawei ECS batch calls accept at most {BATCH_LIMIT}")
    })
}

/// The X-Client-Token that replaces an expired one (Ecs.0124, after 8 hours): a UUID of the
/// caller's token and the current 4-hour window, so retries within a window share it and it
/// is always younger than the 8-hour lifetime when it is used.
pub fn renewed_token(token: &str, now: std::time::SystemTime) -> String {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    token::uuid_for(&format!("{token}#renewed-{}", secs / (4 * 3600)))
}

impl HuaweiClient {
    pub fn new(config: ClientConfig) -> Result<Self> {
        if config.credentials.access_key_id.is_empty() || config.credentials.secret.is_empty() {
            return Err(ProviderError::new(
                ErrorKind::Auth,
                "MissingCredentials",
                "a Huawei AK and SK are required",
            ));
        }
        for (region, p) in &config.huawei.project_ids {
            if !projects::is_project_id(p) {
                return Err(ProviderError::new(
                    ErrorKind::InvalidRequest,
                    "InvalidProjectId",
                    format!("the project id of region {region} is not 32 lowercase hex digits"),
                ));
            }
        }
        let user_id = std::sync::Arc::new(std::sync::Mutex::new(config.huawei.user_id.clone()));
        let projects = projects::Projects::new(
            config.huawei.project_ids.clone(),
            config.credentials.project_id.clone(),
        );
        if let Some(e) = &config.endpoint {
            config.policy.check_str(ProviderKind::Huawei, e)?;
        }
        let http = super::http::client(config.timeout, config.ca_bundle.as_deref())?;
        Ok(Self {
            config,
            http,
            projects,
            user_id,
            job_wait: DEFAULT_JOB_WAIT,
        })
    }

    /// Bound the wait for create jobs (default [`DEFAULT_JOB_WAIT`]).
    pub fn with_job_wait(mut self, wait: Duration) -> Self {
        self.job_wait = wait;
        self
    }

    fn endpoint(&self, service: Service, region: &str) -> String {
        match &self.config.endpoint {
            Some(e) => e.trim_end_matches('/').to_owned(),
            None => match service {
                Service::Ecs => format!("https://ecs.{region}.myhuaweicloud.com"),
                Service::Ims => format!("https://ims.{region}.myhuaweicloud.com"),
                // SDK huaweicloudsdkvpc/v3/region/vpc_region.py (every region).
                Service::Vpc => format!("https://vpc.{region}.myhuaweicloud.com"),
                Service::Iam => projects::iam_endpoint(region),
                // SDK huaweicloudsdkbss/v2/region/bss_region.py (cn-north-1).
                Service::Bss => "https://bss.myhuaweicloud.com".to_owned(),
            },
        }
    }

    async fn batch_action(&self, region: &str, ids: &[String], body: Value) -> Result<()> {
        check_batch(ids)?;
        if ids.is_empty() {
            return Ok(());
        }
        let pid = self.project(region).await?;
        let path = format!("/v1/{}/cloudservers/action", pid);
        let _: wire::JobIdResponse = self.post(region, &path, &body).await?;
        Ok(())
    }

    /// Servers from `GET /v1/{project_id}/cloudservers/detail`, paged through.
    async fn list_servers(
        &self,
        region: &str,
        filter: &[(String, String)],
    ) -> Result<Vec<wire::ServerDetail>> {
        let pid = self.project(region).await?;
        let path = format!("/v1/{}/cloudservers/detail", pid);
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut q = filter.to_vec();
            q.push(("limit".into(), PAGE_SIZE.to_string()));
            q.push(("offset".into(), page.to_string()));
            let r: wire::ListServersResponse = self.get(Service::Ecs, region, &path, &q).await?;
            let n = r.servers.len();
            out.extend(r.servers);
            if n < PAGE_SIZE || r.count.is_some_and(|c| out.len() as u64 >= c) {
                break;
            }
        }
        Ok(out)
    }

    /// Servers for explicit ids (`server_id=id1,id2`); ids Huawei does not know come back
    /// with a null status and are dropped.
    async fn servers_by_id(&self, region: &str, ids: &[String]) -> Result<Vec<wire::ServerDetail>> {
        check_batch(ids)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let pid = self.project(region).await?;
        let path = format!("/v1/{}/cloudservers/detail", pid);
        let q = vec![
            ("server_id".to_owned(), ids.join(",")),
            ("limit".to_owned(), BATCH_LIMIT.to_string()),
        ];
        let r: wire::ListServersResponse = self.get(Service::Ecs, region, &path, &q).await?;
        Ok(r.servers
            .into_iter()
            .filter(|s| s.status.is_some() && wanted.contains(s.id.as_str()))
            .collect())
    }
}

impl CloudProvider for HuaweiClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Huawei
    }

    fn batch_limit(&self) -> usize {
        BATCH_LIMIT
    }

    async fn run_instances(&self, req: &RunRequest) -> Result<Vec<String>> {
        let token = req.client_token.clone().unwrap_or_else(random_hex);
        let pid = self.project(&req.region).await?;
        let user_id = if req.charge_type == ChargeType::Prepaid && !req.login.key_ids.is_empty() {
            Some(self.user_id(&req.region).await?)
        } else {
            None
        };
        let (path, body) = wire::create_body(req, &token, &pid, user_id.as_deref())?;
        if req.client_token.is_some() && !req.dry_run {
            let existing = self.adopt(&req.region, &token).await?;
            if !existing.is_empty() {
                tracing::debug!(
                    provider = "huawei",
                    count = existing.len(),
                    "adopting servers of an earlier create"
                );
                return Ok(existing);
            }
        }
        // X-Client-Token must be an 8-4-4-4-12 UUID (else Ecs.0123) and lives 8 hours
        // (then Ecs.0124): ECS API reference "Idempotent Requests",
        // https://support.huaweicloud.com/intl/en-us/api-ecs/en-us_topic_0000001105258814.html
        // The token tag keeps the caller's token, so adoption finds servers of either header.
        let send = async |header: String| {
            self.send(
                reqwest::Method::POST,
                Service::Ecs,
                &req.region,
                &path,
                &[],
                Some(&body),
                &[("X-Client-Token".to_owned(), header)],
            )
            .await
        };
        let answer = match send(token::uuid_for(&token)).await {
            Err(e) if e.code == "Ecs.0124" => {
                // The token expired: the adoption above found no server of it, so the
                // create is repeated with a token renewed for the current 4-hour window
                // (stable across retries within the window).
                tracing::debug!(provider = "huawei", "X-Client-Token expired; renewing it");
                send(renewed_token(&token, std::time::SystemTime::now())).await?
            }
            r => r?,
        };
        if req.dry_run {
            // Huawei answers a passing dry run with 202 and creates nothing.
            return Err(ProviderError::new(
                ErrorKind::DryRunOk,
                "DryRunOperation",
                format!(
                    "request validation passed with dry_run set (HTTP {})",
                    answer.status
                ),
            )
            .with_request_id(answer.request_id));
        }
        let r: wire::CreateServersResponse =
            decode("create servers", &answer.text, answer.request_id)?;
        let want = req.count.max(1) as usize;
        if r.server_ids.len() >= want {
            return Ok(r.server_ids);
        }
        match r.job_id {
            Some(job) if !job.is_empty() => {
                let ids = self.wait_for_servers(&req.region, &job, want).await?;
                if ids.is_empty() {
                    // The job finished without naming servers: find them by the token tag.
                    self.adopt(&req.region, &token).await
                } else {
                    Ok(ids)
                }
            }
            _ => {
                // Prepaid creates answer with an order id; the servers appear once it is paid.
                let ids = self.adopt(&req.region, &token).await?;
                if ids.is_empty() {
                    Err(ProviderError::new(
                        ErrorKind::Transient,
                        "OrderPending",
                        format!(
                            "create accepted (order {}) but no server exists yet; \
                             retrying the create adopts it",
                            r.order_id.unwrap_or_default()
                        ),
                    ))
                } else {
                    Ok(ids)
                }
            }
        }
    }

    async fn start_instances(&self, region: &str, ids: &[String]) -> Result<()> {
        self.batch_action(
            region,
            ids,
            json!({"os-start": {"servers": servers_json(ids)}}),
        )
        .await
    }

    async fn stop_instances(&self, region: &str, ids: &[String], mode: StopMode) -> Result<()> {
        // SOFT is a normal shutdown; the controller escalates to HARD when it fails.
        let kind = if mode == StopMode::Hard {
            "HARD"
        } else {
            "SOFT"
        };
        self.batch_action(
            region,
            ids,
            json!({"os-stop": {"type": kind, "servers": servers_json(ids)}}),
        )
        .await
    }

    async fn reboot_instances(&self, region: &str, ids: &[String], force: bool) -> Result<()> {
        let kind = if force { "HARD" } else { "SOFT" };
        self.batch_action(
            region,
            ids,
            json!({"reboot": {"type": kind, "servers": servers_json(ids)}}),
        )
        .await
    }

    async fn terminate_instances(&self, region: &str, ids: &[String]) -> Result<()> {
        check_batch(ids)?;
        if ids.is_empty() {
            return Ok(());
        }
        // Only pay-per-use servers can be deleted (API ecs_02_0103, Ecs.0513 otherwise);
        // yearly/monthly ones are unsubscribed (see [`prepaid`]). Ids the cloud no longer
        // knows are gone already.
        let known = self.charging(region, ids).await?;
        let subscribed: Vec<String> = known
            .iter()
            .filter(|(_, p)| *p)
            .map(|(id, _)| id.clone())
            .collect();
        let on_demand: Vec<String> = known
            .into_iter()
            .filter(|(_, p)| !*p)
            .map(|(id, _)| id)
            .collect();
        if !subscribed.is_empty() {
            self.unsubscribe(region, &subscribed).await?;
        }
        if on_demand.is_empty() {
            return Ok(());
        }
        let pid = self.project(region).await?;
        let path = format!("/v1/{pid}/cloudservers/delete");
        let body = json!({
            "servers": servers_json(&on_demand),
            "delete_publicip": true,
            "delete_volume": true,
        });
        let _: wire::JobIdResponse = self.post(region, &path, &body).await?;
        Ok(())
    }

    async fn describe_status(&self, region: &str, ids: &[String]) -> Result<Vec<InstanceStatus>> {
        Ok(self
            .servers_by_id(region, ids)
            .await?
            .into_iter()
            .map(wire::status)
            .collect())
    }

    async fn describe_instances(
        &self,
        region: &str,
        filter: &DescribeFilter,
    ) -> Result<Vec<InstanceDetails>> {
        let servers = match filter {
            DescribeFilter::Ids(ids) => self.servers_by_id(region, ids).await?,
            DescribeFilter::Tag { key, value } => {
                self.list_servers(region, &[("tags".into(), format!("{key}={value}"))])
                    .await?
                    .into_iter()
                    // The tags filter is a containment match; keep exact key=value hits.
                    .filter(|s| s.tag_map().get(key) == Some(value))
                    .collect()
            }
            DescribeFilter::All => self.list_servers(region, &[]).await?,
        };
        Ok(servers.into_iter().map(details).collect())
    }

    async fn modify_instance(&self, region: &str, id: &str, change: &Modification) -> Result<()> {
        // Security group ids are UUIDs: a name is refused before any request, so that a
        // rename in the same change is not applied either.
        if let Some(wanted) = &change.security_group_ids {
            wire::check_security_group_ids(wanted)?;
        }
        let pid = self.project(region).await?;
        if let Some(name) = &change.name {
            let path = format!("/v1/{}/cloudservers/{}", pid, id);
            self.send(
                reqwest::Method::PUT,
                Service::Ecs,
                region,
                &path,
                &[],
                Some(&json!({"server": {"name": name}})),
                &[],
            )
            .await?;
        }
        if let Some(wanted) = &change.security_group_ids {
            // Per port with the VPC v3 APIs ([`ports`]), not the deprecated Nova actions.
            self.set_security_groups(region, id, wanted).await?;
        }
        Ok(())
    }

    async fn reinstall(&self, region: &str, id: &str, req: &ReinstallRequest) -> Result<()> {
        if req.login.key_ids.len() > 1 {
            return Err(invalid(
                "InvalidKeyName",
                "Huawei ECS injects at most one SSH key pair",
            ));
        }
        if req.system_disk_size_gb.is_some() {
            tracing::warn!(
                provider = "huawei",
                "changeos keeps the system disk size; the requested size is not applied"
            );
        }
        // ChangeServerOsWithCloudInit login (SDK
        // huaweicloudsdkecs/v2/model/change_server_os_with_cloud_init_option.py; API
        // https://support.huaweicloud.com/api-ecs/ecs_02_0202.html): a key pair needs
        // `userid`, the IAM user ("如果使用秘钥方式切换操作系统，则该字段为必选字段"); with
        // neither password nor key pair `metadata.user_data` is required, which a reinstall
        // request does not carry: refused here, before any request.
        // "adminpass和keyname不能同时有值" (same SDK model, `adminpass`): refused here rather
        // than answered by the cloud (the emulator answers Ecs.0005).
        if req.login.password.is_some() && !req.login.key_ids.is_empty() {
            return Err(invalid(
                "ReinstallLoginConflict",
                "Huawei changeos takes either a password (login.passwordSecretRef) or a key \
                 pair (login.keyIds), not both; remove one of them",
            ));
        }
        if req.login.password.is_none() && req.login.key_ids.is_empty() {
            return Err(invalid(
                "ReinstallNeedsLogin",
                "Huawei changeos needs a password (login.passwordSecretRef) or a key pair \
                 (login.keyIds); the image's own login cannot be kept across changeos",
            ));
        }
        let user_id = if req.login.key_ids.is_empty() {
            None
        } else {
            Some(self.user_id(region).await?)
        };
        let pid = self.project(region).await?;
        // A yearly/monthly server's OS change that changes the price is an order: paid
        // automatically (isAutoPay), as the prepaid resize.
        let prepaid = self
            .charging(region, &[id.to_owned()])
            .await?
            .first()
            .is_some_and(|(_, p)| *p);
        let path = format!("/v2/{}/cloudservers/{}/changeos", pid, id);
        let _: wire::JobIdResponse = self
            .post(region, &path, &wire::changeos_body(req, user_id, prepaid))
            .await?;
        if let Some(h) = &req.hostname {
            let path = format!("/v1/{}/cloudservers/{}", pid, id);
            self.send(
                reqwest::Method::PUT,
                Service::Ecs,
                region,
                &path,
                &[],
                Some(&json!({"server": {"hostname": h}})),
                &[],
            )
            .await?;
        }
        Ok(())
    }

    async fn resize(&self, region: &str, id: &str, instance_type: &str) -> Result<()> {
        let pid = self.project(region).await?;
        let prepaid = self
            .charging(region, &[id.to_owned()])
            .await?
            .first()
            .is_some_and(|(_, p)| *p);
        if prepaid {
            // Yearly/monthly: the v1.1 resize, an order paid from the account (API ecs_02_0209).
            let path = format!("/v1.1/{pid}/cloudservers/{id}/resize");
            let _: wire::JobIdResponse = self
                .post(region, &path, &prepaid::prepaid_resize_body(instance_type))
                .await?;
            return Ok(());
        }
        // Pay-per-use: the v1 resize (API ecs_02_0210), as before.
        let path = format!("/v1/{pid}/cloudservers/{id}/resize");
        let _: wire::JobIdResponse = self
            .post(
                region,
                &path,
                &json!({"resize": {"flavorRef": instance_type}}),
            )
            .await?;
        Ok(())
    }

    async fn regions(&self) -> Result<Vec<Region>> {
        self.checked_regions().await
    }

    async fn zones(&self, region: &str) -> Result<Vec<Zone>> {
        // ListServerAzInfo, the documented successor of the deprecated Nova
        // `os-availability-zone` ("查询可用区列表（废弃）", API/ecs_03_1801):
        // https://support.huaweicloud.com/api-ecs/ecs_02_1501.html, SDK
        // huaweicloudsdkecs/v2/ecs_client.py `_list_server_az_info_http_info`. It has no
        // availability flag: every listed zone is usable.
        let pid = self.project(region).await?;
        let path = format!("/v1/{pid}/availability-zones");
        let r: wire::ServerAzInfoResponse = self.get(Service::Ecs, region, &path, &[]).await?;
        Ok(r.availability_zones
            .into_iter()
            .map(|z| Zone {
                name: z.availability_zone_id.clone(),
                id: z.availability_zone_id,
                available: true,
            })
            .collect())
    }

    async fn images(&self, region: &str) -> Result<Vec<Image>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut q = vec![
                ("status".to_owned(), "active".to_owned()),
                ("limit".to_owned(), PAGE_SIZE.to_string()),
            ];
            if let Some(m) = &marker {
                q.push(("marker".into(), m.clone()));
            }
            let r: wire::ImsImagesResponse = self
                .get(Service::Ims, region, "/v2/cloudimages", &q)
                .await?;
            let n = r.images.len();
            let last = r.images.last().map(|i| i.id.clone());
            out.extend(r.images.into_iter().map(wire::image));
            if n < PAGE_SIZE || last.is_none() || last == marker {
                break;
            }
            marker = last;
        }
        Ok(out)
    }

    async fn instance_types(
        &self,
        region: &str,
        zone: Option<&str>,
    ) -> Result<Vec<InstanceTypeInfo>> {
        let pid = self.project(region).await?;
        let path = format!("/v1/{}/cloudservers/flavors", pid);
        let q: Vec<(String, String)> = zone
            .map(|z| vec![("availability_zone".to_owned(), z.to_owned())])
            .unwrap_or_default();
        let r: wire::FlavorsResponse = self.get(Service::Ecs, region, &path, &q).await?;
        Ok(r.flavors
            .into_iter()
            .filter(|f| flavor_on_sale(f, zone))
            .map(|f| wire::instance_type(f, zone))
            .collect())
    }
}

#[cfg(test)]
mod tests;
