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
pub mod prepaid;
pub mod projects;
pub mod signer;
pub mod wire;

pub use projects::HuaweiSettings;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

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

/// ECS regions known to Huawei's SDK (`huaweicloudsdkecs.v2.region.ecs_region`). Huawei
/// has no ECS call that lists regions.
pub const REGIONS: &[&str] = &[
    "cn-north-1",
    "cn-north-4",
    "cn-north-2",
    "cn-north-9",
    "cn-north-11",
    "cn-north-12",
    "cn-south-1",
    "cn-south-2",
    "cn-south-4",
    "cn-east-2",
    "cn-east-3",
    "cn-east-4",
    "cn-east-5",
    "cn-southwest-2",
    "cn-southwest-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "af-south-1",
    "af-north-1",
    "sa-brazil-1",
    "la-north-2",
    "la-south-2",
    "na-mexico-1",
    "tr-west-1",
    "me-east-1",
    "ae-ad-1",
    "eu-west-0",
    "eu-west-101",
    "my-kualalumpur-1",
    "ru-moscow-1",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Service {
    Ecs,
    Ims,
    /// IAM (global service: no project header).
    Iam,
    /// BSS, the billing center (global).
    Bss,
}

impl Service {
    /// Regional services carry the region's project in the signed `X-Project-Id`.
    fn regional(self) -> bool {
        !matches!(self, Service::Iam | Service::Bss)
    }
}

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

/// Server tags per create: at most 10 (`Ecs.0905`), values of at most 43 characters.
/// Sources: SDK `huaweicloudsdkecs` 3.1.219 `v2/model/post_paid_server.py` `server_tags`,
/// `v2/model/post_paid_server_tag.py` (`value`: 0-43 characters); ECS error codes
/// https://support.huaweicloud.com/api-ecs/ecs_07_0002.html.
const MAX_SERVER_TAGS: usize = 10;
const MAX_TAG_VALUE_CHARS: usize = 43;
/// Keys of the tags the controller puts on every instance (`cloudinstance-uid`, `-name`,
/// `-namespace`, `-incarnation`; reserved for it by the CRD).
const OWN_TAG_PREFIX: &str = "cloudinstance-";

/// A tag value Huawei accepts. The controller's own informational tags (the object's name
/// can have 253 characters) are shortened to 34 characters, `-` and 8 hex digits of their
/// SHA-256 (43 in all); a user's value that is too long is an error before any call.
pub fn fit_tag_value(key: &str, value: &str) -> Result<String> {
    if value.chars().count() <= MAX_TAG_VALUE_CHARS {
        return Ok(value.to_owned());
    }
    if key.starts_with(OWN_TAG_PREFIX) {
        let head: String = value.chars().take(MAX_TAG_VALUE_CHARS - 9).collect();
        let digest = hex::encode(Sha256::digest(value.as_bytes()));
        return Ok(format!("{head}-{}", &digest[..8]));
    }
    Err(invalid(
        "InvalidTagValue",
        format!(
            "tag {key}: Huawei ECS accepts tag values of at most {MAX_TAG_VALUE_CHARS} characters"
        ),
    ))
}

/// The value of [`TOKEN_TAG`] for a client token: 40 hex digits of its SHA-256.
pub fn token_tag_value(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))[..40].to_owned()
}

fn decode<T: DeserializeOwned>(what: &str, text: &str, request_id: Option<String>) -> Result<T> {
    let body = if text.trim().is_empty() { "{}" } else { text };
    serde_json::from_str(body).map_err(|e| {
        ProviderError::new(
            ErrorKind::Transient,
            "InvalidResponse",
            format!("cannot decode the {what} answer: {e}"),
        )
        .with_request_id(request_id)
    })
}

/// Split an endpoint URL into `scheme://authority` and a path prefix.
fn split_endpoint(url: &str) -> (String, String, String) {
    let url = url.trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    (
        format!("{scheme}://{authority}"),
        authority.to_owned(),
        prefix.to_owned(),
    )
}

struct Answer {
    status: u16,
    text: String,
    request_id: Option<String>,
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
                Service::Iam => projects::iam_endpoint(region),
                // SDK huaweicloudsdkbss/v2/region/bss_region.py (cn-north-1).
                Service::Bss => "https://bss.myhuaweicloud.com".to_owned(),
            },
        }
    }

    /// The project of `region` (see [`projects`]): configured, or looked up with IAM once.
    pub async fn project(&self, region: &str) -> Result<String> {
        if let projects::Known::Yes(p) = self.projects.known(region) {
            return Ok(p);
        }
        // KeystoneListProjects, signed with the AK/SK and no project, as the SDK core does.
        let answer = Box::pin(self.send_with(
            reqwest::Method::GET,
            Service::Iam,
            region,
            None,
            "/v3/projects",
            &[("name".to_owned(), region.to_owned())],
            &[],
            false,
            &[],
        ))
        .await
        .map_err(|e| projects::lookup_failed(region, e))?;
        let list: projects::ProjectList =
            decode("IAM project list", &answer.text, answer.request_id)?;
        let p = projects::pick(region, list)?;
        if !projects::is_project_id(&p) {
            return Err(projects::no_project(
                region,
                "IAM answered a project id that is not 32 hex digits",
            ));
        }
        self.projects.learn(region, &p);
        Ok(p)
    }

    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        method: reqwest::Method,
        service: Service,
        region: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        extra_headers: &[(String, String)],
    ) -> Result<Answer> {
        let payload = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| invalid("InvalidBody", e.to_string()))?,
            None => Vec::new(),
        };
        let project = if service.regional() {
            Some(self.project(region).await?)
        } else {
            None
        };
        self.send_with(
            method,
            service,
            region,
            project.as_deref(),
            path,
            query,
            &payload,
            body.is_some(),
            extra_headers,
        )
        .await
    }

    /// [`Self::send`] with the project header given (`None`: none, for global services).
    #[allow(clippy::too_many_arguments)]
    async fn send_with(
        &self,
        method: reqwest::Method,
        service: Service,
        region: &str,
        project: Option<&str>,
        path: &str,
        query: &[(String, String)],
        payload: &[u8],
        has_body: bool,
        extra_headers: &[(String, String)],
    ) -> Result<Answer> {
        self.config
            .retry
            .run_observed(&self.config.observer, || {
                self.send_once(
                    method.clone(),
                    service,
                    region,
                    project,
                    path,
                    query,
                    has_body.then_some(payload),
                    extra_headers,
                )
            })
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_once(
        &self,
        method: reqwest::Method,
        service: Service,
        region: &str,
        project: Option<&str>,
        path: &str,
        query: &[(String, String)],
        payload: Option<&[u8]>,
        extra_headers: &[(String, String)],
    ) -> Result<Answer> {
        let (base, authority, prefix) = split_endpoint(&self.endpoint(service, region));
        let full_path = format!("{prefix}{path}");
        let sdk_date = jiff::Timestamp::now()
            .strftime(signer::DATE_FORMAT)
            .to_string();
        let mut headers: Vec<(String, String)> =
            vec![("Host".into(), authority), ("X-Sdk-Date".into(), sdk_date)];
        if let Some(p) = project {
            headers.push(("X-Project-Id".into(), p.to_owned()));
        }
        if payload.is_some() {
            headers.push((
                "Content-Type".into(),
                "application/json;charset=UTF-8".into(),
            ));
        }
        headers.extend(extra_headers.iter().cloned());
        let creds = &self.config.credentials;
        let auth = signer::authorization(
            &creds.access_key_id,
            creds.secret.expose(),
            method.as_str(),
            &full_path,
            query,
            &headers,
            payload.unwrap_or_default(),
        );
        let q = signer::canonical_query(query);
        let url = if q.is_empty() {
            format!("{base}{full_path}")
        } else {
            format!("{base}{full_path}?{q}")
        };
        tracing::debug!(provider = "huawei", method = %method, path, "calling ECS");
        let mut rb = self.http.request(method.clone(), url);
        for (k, v) in &headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        rb = rb
            .header(reqwest::header::AUTHORIZATION, auth)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(p) = payload {
            rb = rb.body(p.to_vec());
        }
        let answer = super::http::execute(
            &self.http,
            &self.config.policy,
            ProviderKind::Huawei,
            rb,
            "x-request-id",
        )
        .await?;
        let status = answer.status;
        let text = answer.text();
        let (request_id, retry_after) = (answer.request_id, answer.retry_after);
        if (200..300).contains(&status) {
            Ok(Answer {
                status,
                text,
                request_id,
            })
        } else {
            let err = errors::from_response(status, request_id, retry_after, &text);
            tracing::debug!(provider = "huawei", path, code = %err.code, kind = err.kind.as_str(), "ECS error");
            Err(err)
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        service: Service,
        region: &str,
        path: &str,
        query: &[(String, String)],
    ) -> Result<T> {
        let a = self
            .send(
                reqwest::Method::GET,
                service,
                region,
                path,
                query,
                None,
                &[],
            )
            .await?;
        decode(path, &a.text, a.request_id)
    }

    async fn post<T: DeserializeOwned>(&self, region: &str, path: &str, body: &Value) -> Result<T> {
        let a = self
            .send(
                reqwest::Method::POST,
                Service::Ecs,
                region,
                path,
                &[],
                Some(body),
                &[],
            )
            .await?;
        decode(path, &a.text, a.request_id)
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

    /// Servers an earlier create with this token already made (not yet deleted).
    async fn adopt(&self, region: &str, token: &str) -> Result<Vec<String>> {
        let tag = format!("{TOKEN_TAG}={}", token_tag_value(token));
        let servers = self.list_servers(region, &[("tags".into(), tag)]).await?;
        let mut ids: Vec<String> = servers
            .into_iter()
            .filter(|s| {
                !matches!(
                    s.status.as_deref(),
                    None | Some("DELETED") | Some("SOFT_DELETED")
                )
            })
            .map(|s| s.id)
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn create_body(
        &self,
        req: &RunRequest,
        token: &str,
        pid: &str,
        user_id: Option<&str>,
    ) -> Result<(String, Value)> {
        let vpc = req.network.vpc_id.clone().filter(|v| !v.is_empty());
        let subnet = req.network.subnet_id.clone().filter(|v| !v.is_empty());
        let (Some(vpc), Some(subnet)) = (vpc, subnet) else {
            return Err(invalid(
                "MissingNetwork",
                "Huawei ECS needs network.vpc_id and network.subnet_id",
            ));
        };
        if req.login.key_ids.len() > 1 {
            return Err(invalid(
                "InvalidKeyName",
                "Huawei ECS injects at most one SSH key pair",
            ));
        }
        let volume = |d: &Disk| wire::Volume {
            volumetype: d.disk_type.clone().unwrap_or_else(|| "GPSSD".into()),
            size: (d.size_gb > 0).then_some(d.size_gb),
        };
        let mut tags: Vec<wire::Tag> = req
            .tags
            .iter()
            .filter(|(k, _)| k.as_str() != TOKEN_TAG)
            .map(|(k, v)| {
                Ok(wire::Tag {
                    key: k.clone(),
                    value: fit_tag_value(k, v)?,
                })
            })
            .collect::<Result<_>>()?;
        tags.push(wire::Tag {
            key: TOKEN_TAG.into(),
            value: token_tag_value(token),
        });
        if tags.len() > MAX_SERVER_TAGS {
            let ours = tags
                .iter()
                .filter(|t| t.key.starts_with(OWN_TAG_PREFIX) || t.key == TOKEN_TAG)
                .count();
            return Err(invalid(
                "TooManyTags",
                format!(
                    "Huawei ECS accepts at most {MAX_SERVER_TAGS} tags per server (Ecs.0905) and \
                     {ours} of them are the controller's: at most {} user tags",
                    MAX_SERVER_TAGS.saturating_sub(ours)
                ),
            ));
        }
        let prepaid = req.charge_type == ChargeType::Prepaid;
        let extendparam = match req.charge_type {
            ChargeType::OnDemand => wire::ExtendParam {
                charging_mode: Some(json!(0)),
                ..Default::default()
            },
            ChargeType::Spot => wire::ExtendParam {
                charging_mode: Some(json!(0)),
                market_type: Some("spot"),
                ..Default::default()
            },
            ChargeType::Prepaid => wire::ExtendParam {
                charging_mode: Some(json!("prePaid")),
                period_type: Some("month"),
                period_num: Some(1),
                is_auto_pay: Some("true"),
                ..Default::default()
            },
        };
        let server = wire::CreateServer {
            image_ref: req.image_id.clone(),
            flavor_ref: req.instance_type.clone(),
            name: req
                .instance_name
                .clone()
                .or_else(|| req.hostname.clone())
                .unwrap_or_else(|| "cloudinstance".into()),
            vpcid: Some(vpc),
            nics: vec![wire::Nic { subnet_id: subnet }],
            root_volume: req
                .system_disk
                .as_ref()
                .map(volume)
                .unwrap_or(wire::Volume {
                    volumetype: "GPSSD".into(),
                    size: None,
                }),
            data_volumes: req.data_disks.iter().map(volume).collect(),
            security_groups: req
                .network
                .security_group_ids
                .iter()
                .map(|id| wire::SecurityGroupRef { id: id.clone() })
                .collect(),
            availability_zone: (!req.zone.is_empty()).then(|| req.zone.clone()),
            publicip: req
                .network
                .public_bandwidth_mbps
                .filter(|b| *b > 0)
                .map(|size| wire::PublicIp {
                    eip: wire::Eip {
                        iptype: "5_bgp",
                        bandwidth: wire::Bandwidth {
                            size,
                            sharetype: "PER",
                            chargemode: "traffic",
                        },
                    },
                }),
            count: req.count.max(1),
            is_auto_rename: true,
            admin_pass: req.login.password.as_ref().map(|p| p.expose().to_owned()),
            key_name: req.login.key_ids.first().cloned(),
            user_data: req
                .user_data
                .as_ref()
                .map(|u| base64::engine::general_purpose::STANDARD.encode(u.as_bytes())),
            server_tags: tags,
            extendparam,
            // A yearly/monthly server created with a key pair needs the IAM user id (SDK
            // huaweicloudsdkecs/v2/model/pre_paid_server.py `metadata` op_svc_userid; API
            // https://support.huaweicloud.com/api-ecs/ecs_02_0101.html).
            metadata: match (prepaid, req.login.key_ids.first(), user_id) {
                (true, Some(_), Some(u)) => [("op_svc_userid".to_owned(), u.to_owned())].into(),
                (true, Some(_), None) => {
                    return Err(invalid(
                        "UserIdUnknown",
                        "a yearly/monthly server with an SSH key needs the IAM user id",
                    ));
                }
                _ => Default::default(),
            },
        };
        let path = if prepaid {
            format!("/v1.1/{}/cloudservers", pid)
        } else {
            format!("/v1/{}/cloudservers", pid)
        };
        let body = serde_json::to_value(wire::CreateServersBody {
            server,
            dry_run: req.dry_run,
        })
        .map_err(|e| invalid("InvalidBody", e.to_string()))?;
        Ok((path, body))
    }

    /// Poll a job until it names `count` servers, finishes, or the wait runs out.
    async fn wait_for_servers(
        &self,
        region: &str,
        job_id: &str,
        count: usize,
    ) -> Result<Vec<String>> {
        let pid = self.project(region).await?;
        let path = format!("/v1/{}/jobs/{}", pid, job_id);
        let deadline = Instant::now() + self.job_wait;
        let mut delay = Duration::from_millis(200);
        loop {
            let job: wire::Job = self.get(Service::Ecs, region, &path, &[]).await?;
            let ids = job.server_ids();
            match job.status.as_str() {
                "SUCCESS" => return Ok(ids),
                "FAIL" => {
                    let sub = job.entities.sub_jobs.iter().find(|s| s.status == "FAIL");
                    let code = job
                        .error_code
                        .clone()
                        .or_else(|| sub.and_then(|s| s.error_code.clone()))
                        .unwrap_or_else(|| "JobFailed".into());
                    let reason = job
                        .fail_reason
                        .clone()
                        .or_else(|| sub.and_then(|s| s.fail_reason.clone()))
                        .or_else(|| sub.and_then(|s| s.entities.errorcode_message.clone()))
                        .unwrap_or_else(|| format!("create job {job_id} failed"));
                    let kind = match errors::classify(400, &code, &reason) {
                        // A failed job is not retried blindly: only throttling stays retryable.
                        ErrorKind::Transient => ErrorKind::InvalidRequest,
                        k => k,
                    };
                    return Err(ProviderError::new(kind, code, reason));
                }
                _ if ids.len() >= count && count > 0 => return Ok(ids),
                _ => {}
            }
            if Instant::now() + delay > deadline {
                return Err(ProviderError::new(
                    ErrorKind::Transient,
                    "JobPending",
                    format!(
                        "create job {job_id} has not named its servers within {}s; \
                         retrying the create adopts them",
                        self.job_wait.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}

fn details(s: wire::ServerDetail) -> InstanceDetails {
    InstanceDetails {
        state: s.state(),
        private_ips: s.private_ips(),
        public_ips: s.public_ips(),
        security_group_ids: s.security_group_ids(),
        tags: s.tag_map(),
        provider_state: s.status.clone().unwrap_or_default(),
        zone: s.availability_zone.clone().unwrap_or_default(),
        instance_type: s.flavor.as_ref().map(|f| f.id.clone()).unwrap_or_default(),
        image_id: s.image.as_ref().map(|i| i.id.clone()).unwrap_or_default(),
        created_at: s.created.clone(),
        name: s.name,
        id: s.id,
    }
}

fn servers_json(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "id": id })).collect())
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
        let (path, body) = self.create_body(req, &token, &pid, user_id.as_deref())?;
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
            .map(|s| InstanceStatus {
                state: s.state(),
                provider_state: s.status.unwrap_or_default(),
                id: s.id,
            })
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
            if wanted.is_empty() {
                return Err(invalid(
                    "InvalidSecurityGroups",
                    "a Huawei server must stay in at least one security group",
                ));
            }
            let path = format!("/v1/{}/cloudservers/{}", pid, id);
            let current: wire::ShowServerResponse =
                self.get(Service::Ecs, region, &path, &[]).await?;
            let have: BTreeSet<String> = current.server.security_group_ids().into_iter().collect();
            let want: BTreeSet<String> = wanted.iter().cloned().collect();
            let action = format!("/v2.1/{}/servers/{}/action", pid, id);
            // Add first, remove after: the server is never left without a group.
            for sg in want.difference(&have) {
                self.send(
                    reqwest::Method::POST,
                    Service::Ecs,
                    region,
                    &action,
                    &[],
                    Some(&json!({"addSecurityGroup": {"name": sg}})),
                    &[],
                )
                .await?;
            }
            for sg in have.difference(&want) {
                self.send(
                    reqwest::Method::POST,
                    Service::Ecs,
                    region,
                    &action,
                    &[],
                    Some(&json!({"removeSecurityGroup": {"name": sg}})),
                    &[],
                )
                .await?;
            }
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
        let mut change = serde_json::Map::new();
        if let Some(u) = user_id {
            change.insert("userid".into(), json!(u));
        }
        change.insert("imageid".into(), json!(req.image_id));
        change.insert("mode".into(), json!("withStopServer"));
        if let Some(pw) = &req.login.password {
            change.insert("adminpass".into(), json!(pw.expose()));
        }
        if let Some(k) = req.login.key_ids.first() {
            change.insert("keyname".into(), json!(k));
        }
        let pid = self.project(region).await?;
        let path = format!("/v2/{}/cloudservers/{}/changeos", pid, id);
        let _: wire::JobIdResponse = self
            .post(region, &path, &json!({"os-change": Value::Object(change)}))
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
        // ECS has no region listing, but this is also the credential check, so it must be
        // authenticated calls. Projects are per region (see [`projects`]): every configured
        // region is checked with its own project (ListServerAzInfo), and those are the
        // regions reported. Without a map (the CLI's single project id, or none: IAM) the
        // check runs in cn-north-4 and the SDK's region list is reported.
        let configured = self.projects.explicit().clone();
        if configured.is_empty() {
            self.zones(VERIFY_REGION).await?;
            return Ok(REGIONS
                .iter()
                .map(|r| Region {
                    id: (*r).to_owned(),
                    name: (*r).to_owned(),
                    available: true,
                })
                .collect());
        }
        let mut out = Vec::new();
        for (region, project) in &configured {
            let zones = self.zones(region).await.map_err(|mut e| {
                e.message = format!(
                    "region {region} with project {project} (spec.projectIds.{region}): {}",
                    e.message
                );
                e
            })?;
            // Zone ids start with their region's id (`cn-north-4a`, `ap-southeast-1a`:
            // API/ecs_02_1501 examples; Regions and Endpoints,
            // https://developer.huaweicloud.com/intl/en-us/endpoint): a project that answers
            // with another region's zones is not this region's project.
            if let Some(z) = zones.iter().find(|z| !z.id.starts_with(region.as_str())) {
                return Err(invalid(
                    "ProjectRegionMismatch",
                    format!(
                        "spec.projectIds.{region} = {project} is not a project of {region}: \
                         it answers with availability zone {} of another region",
                        z.id
                    ),
                ));
            }
            out.push(Region {
                id: region.clone(),
                name: region.clone(),
                available: true,
            });
        }
        Ok(out)
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
            out.extend(r.images.into_iter().map(|i| Image {
                os_name: if i.os_version.is_empty() {
                    i.platform
                } else {
                    i.os_version
                },
                id: i.id,
                name: i.name,
                image_type: i.image_type,
            }));
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
            .map(|f| InstanceTypeInfo {
                zone: zone.unwrap_or_default().to_owned(),
                family: f.family(),
                cpu: f.vcpus.trim().parse().unwrap_or(0),
                memory_gb: (f.ram.trim().parse::<f64>().unwrap_or(0.0) / 1024.0).round() as u32,
                id: f.id,
            })
            .collect())
    }
}

/// Flavors whose `cond:operation:status` is `abandon`/`sellout` are not sold; a zone listed
/// in `cond:operation:az` as `zone(sellout)` or `zone(abandon)` overrides that per zone.
fn flavor_on_sale(f: &wire::FlavorItem, zone: Option<&str>) -> bool {
    let spec = |k: &str| f.os_extra_specs.get(k).and_then(Value::as_str);
    let blocked = |s: &str| s == "abandon" || s == "sellout" || s == "obt_sellout";
    if let (Some(z), Some(azs)) = (zone, spec("cond:operation:az")) {
        for entry in azs.split(',') {
            if let Some((name, status)) = entry.trim().split_once('(')
                && name == z
            {
                return !blocked(status.trim_end_matches(')'));
            }
        }
    }
    !spec("cond:operation:status").is_some_and(blocked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> HuaweiClient {
        HuaweiClient::new(ClientConfig::new(Credentials {
            access_key_id: "ak".into(),
            secret: SecretString::new("sk"),
            project_id: Some("p1".into()),
        }))
        .unwrap()
    }

    #[test]
    fn projects_are_per_region_and_checked() {
        // No project at all is allowed: the region's project is then looked up with IAM.
        assert!(
            HuaweiClient::new(ClientConfig::new(Credentials {
                access_key_id: "ak".into(),
                secret: SecretString::new("sk"),
                project_id: None,
            }))
            .is_ok()
        );
        let mut cfg = ClientConfig::new(Credentials {
            access_key_id: "ak".into(),
            secret: SecretString::new("sk"),
            project_id: None,
        });
        cfg.huawei
            .project_ids
            .insert("cn-north-4".into(), "NOT-A-PROJECT".into());
        let e = HuaweiClient::new(cfg).unwrap_err();
        assert_eq!(e.code, "InvalidProjectId");
        assert!(!e.message.contains("NOT-A-PROJECT"), "{e}");
    }

    #[tokio::test]
    async fn each_region_uses_its_own_configured_project() {
        let mut cfg = ClientConfig::new(Credentials {
            access_key_id: "ak".into(),
            secret: SecretString::new("sk"),
            project_id: Some("c".repeat(32)),
        });
        cfg.huawei.project_ids = [
            ("cn-north-4".to_string(), "a".repeat(32)),
            ("ap-southeast-1".to_string(), "b".repeat(32)),
        ]
        .into();
        let c = HuaweiClient::new(cfg).unwrap();
        assert_eq!(c.project("cn-north-4").await.unwrap(), "a".repeat(32));
        assert_eq!(c.project("ap-southeast-1").await.unwrap(), "b".repeat(32));
    }

    #[test]
    fn endpoints() {
        let c = client();
        assert_eq!(
            c.endpoint(Service::Ecs, "cn-north-4"),
            "https://ecs.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(
            c.endpoint(Service::Ims, "cn-north-4"),
            "https://ims.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(
            split_endpoint("http://127.0.0.1:4566/"),
            (
                "http://127.0.0.1:4566".into(),
                "127.0.0.1:4566".into(),
                "".into()
            )
        );
        assert_eq!(
            split_endpoint("https://gw.example.com/hw"),
            (
                "https://gw.example.com".into(),
                "gw.example.com".into(),
                "/hw".into()
            )
        );
    }

    #[test]
    fn create_body_carries_tags_token_and_charging() {
        let c = client();
        let mut req = RunRequest {
            region: "cn-north-4".into(),
            zone: "cn-north-4a".into(),
            image_id: "img".into(),
            instance_type: "s6.small.1".into(),
            instance_name: Some("web".into()),
            count: 1,
            network: Network {
                vpc_id: Some("vpc".into()),
                subnet_id: Some("subnet".into()),
                security_group_ids: vec!["sg".into()],
                public_bandwidth_mbps: Some(10),
            },
            tags: [("owner".to_string(), "a.b".to_string())].into(),
            user_data: Some("hello".into()),
            charge_type: ChargeType::Spot,
            ..Default::default()
        };
        let (path, body) = c.create_body(&req, "tok", "p1", None).unwrap();
        assert_eq!(path, "/v1/p1/cloudservers");
        let s = &body["server"];
        assert_eq!(s["vpcid"], "vpc");
        assert_eq!(s["nics"][0]["subnet_id"], "subnet");
        assert_eq!(s["availability_zone"], "cn-north-4a");
        assert_eq!(s["user_data"], "aGVsbG8=");
        assert_eq!(s["extendparam"]["chargingMode"], 0);
        assert_eq!(s["extendparam"]["marketType"], "spot");
        assert_eq!(s["publicip"]["eip"]["bandwidth"]["size"], 10);
        let tags = s["server_tags"].as_array().unwrap();
        assert!(
            tags.iter()
                .any(|t| t["key"] == TOKEN_TAG && t["value"] == token_tag_value("tok").as_str())
        );
        assert_eq!(token_tag_value("tok").len(), 40);

        req.charge_type = ChargeType::Prepaid;
        let (path, body) = c.create_body(&req, "tok", "p1", None).unwrap();
        assert_eq!(path, "/v1.1/p1/cloudservers");
        assert_eq!(body["server"]["extendparam"]["chargingMode"], "prePaid");

        req.network.subnet_id = None;
        assert_eq!(
            c.create_body(&req, "tok", "p1", None).unwrap_err().code,
            "MissingNetwork"
        );
    }

    #[test]
    fn a_prepaid_create_with_a_key_carries_the_iam_user_id() {
        let c = client();
        let req = RunRequest {
            region: "cn-north-4".into(),
            zone: "cn-north-4a".into(),
            image_id: "img".into(),
            instance_type: "s6.small.1".into(),
            network: Network {
                vpc_id: Some("vpc".into()),
                subnet_id: Some("subnet".into()),
                ..Default::default()
            },
            login: Login {
                key_ids: vec!["kp-1".into()],
                ..Default::default()
            },
            charge_type: ChargeType::Prepaid,
            ..Default::default()
        };
        let (path, body) = c.create_body(&req, "tok", "p1", Some("u1")).unwrap();
        assert_eq!(path, "/v1.1/p1/cloudservers");
        assert_eq!(body["server"]["metadata"]["op_svc_userid"], "u1");
        assert_eq!(body["server"]["key_name"], "kp-1");
        let e = c.create_body(&req, "tok", "p1", None).unwrap_err();
        assert_eq!(e.code, "UserIdUnknown");
        // Pay-per-use creates do not send it.
        let od = RunRequest {
            charge_type: ChargeType::OnDemand,
            ..req
        };
        let (_, body) = c.create_body(&od, "tok", "p1", Some("u1")).unwrap();
        assert!(body["server"].get("metadata").is_none(), "{body}");
    }

    #[test]
    fn tag_values_fit_the_43_character_limit() {
        let long = "a".repeat(253);
        let v = fit_tag_value("cloudinstance-name", &long).unwrap();
        assert_eq!(v.chars().count(), 43, "{v}");
        assert!(v.starts_with(&"a".repeat(34)));
        assert_ne!(
            v,
            fit_tag_value("cloudinstance-name", &format!("{long}b")).unwrap()
        );
        let cjk = "名".repeat(50);
        assert_eq!(
            fit_tag_value("cloudinstance-namespace", &cjk)
                .unwrap()
                .chars()
                .count(),
            43
        );
        assert_eq!(fit_tag_value("team", "short").unwrap(), "short");
        let e = fit_tag_value("team", &"x".repeat(44)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn at_most_ten_server_tags() {
        let c = client();
        let mut req = RunRequest {
            region: "cn-north-4".into(),
            zone: "cn-north-4a".into(),
            image_id: "img".into(),
            instance_type: "s6.small.1".into(),
            network: Network {
                vpc_id: Some("vpc".into()),
                subnet_id: Some("subnet".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        for i in 0..9 {
            req.tags.insert(format!("k{i}"), "v".into());
        }
        assert!(
            c.create_body(&req, "tok", "p1", None).is_ok(),
            "9 tags + the token tag"
        );
        req.tags.insert("k9".into(), "v".into());
        let e = c.create_body(&req, "tok", "p1", None).unwrap_err();
        assert_eq!(e.code, "TooManyTags", "{e}");
    }

    #[test]
    fn renewed_token_is_a_uuid_stable_within_a_four_hour_window() {
        use std::time::{Duration, UNIX_EPOCH};
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        let t0 = 1_800_000_000 / 14_400 * 14_400;
        let a = renewed_token("tok", at(t0));
        assert!(token::is_uuid(&a), "{a}");
        assert_eq!(a, renewed_token("tok", at(t0 + 14_399)));
        assert_ne!(a, renewed_token("tok", at(t0 + 14_400)));
        assert_ne!(a, renewed_token("tok2", at(t0)));
        assert_ne!(a, token::uuid_for("tok"));
    }

    #[test]
    fn flavor_sale_status() {
        let f: wire::FlavorItem = serde_json::from_value(json!({
            "id": "s6.large.2", "vcpus": "2", "ram": 4096,
            "os_extra_specs": {"cond:operation:status": "normal",
                               "cond:operation:az": "cn-north-4a(sellout),cn-north-4b(normal)"}
        }))
        .unwrap();
        assert!(flavor_on_sale(&f, None));
        assert!(!flavor_on_sale(&f, Some("cn-north-4a")));
        assert!(flavor_on_sale(&f, Some("cn-north-4b")));
        assert_eq!(f.family(), "s6");
    }
}
