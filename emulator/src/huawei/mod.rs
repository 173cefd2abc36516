//! Huawei Cloud ECS REST API (v1 / v1.1 / v2 / v2.1) and the IMS image list, behind the
//! API Gateway's AK/SK authentication.
//!
//! Requests carry `Authorization: SDK-HMAC-SHA256 Access=.., SignedHeaders=.., Signature=..`,
//! `X-Sdk-Date` and `X-Project-Id`; the project id is also in the path. Gateway failures
//! answer `{"error_code": "APIGW.xxxx", "error_msg", "request_id"}`, ECS failures
//! `{"error": {"code": "Ecs.xxxx", "message"}}` and the Nova-compatible v2.1 calls
//! `{"itemNotFound": {"code": 404, "message"}}`. Mutations are asynchronous jobs.

pub mod actions;
pub mod billing;
pub mod catalog;
pub mod held;
pub mod jobs;
pub mod projects;
pub mod render;
pub mod sign;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::app::{AppState, Shared};
use crate::calls::Outcome;
use crate::config::{Account, Provider};
use crate::http::{self, header_str as header};
use crate::store::{new_uuid, now_ms};

pub use render::state_name;

/// How an error body is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `{"error_code", "error_msg", "request_id"}` (API Gateway, IAM).
    Gateway,
    /// `{"error": {"code", "message"}}` (ECS).
    Ecs,
    /// `{"<kind>": {"code": <status>, "message"}}` (Nova-compatible v2.1).
    Nova,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HwError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub style: Style,
    /// ECS `error.details[].code`: the specific code under a general one, as the create
    /// pages show it (`{"error": {"message": "privateIp [%s] is not in this subnet [%s]",
    /// "code": "Ecs.0005", "details": [{"code": "Ecs.0039"}]}}`, 响应示例 of
    /// https://support.huaweicloud.com/api-ecs/zh-cn_topic_0020212668.html and
    /// ecs_02_0101.html). Empty: no `details` member.
    pub details: Vec<String>,
}

impl HwError {
    pub fn ecs(status: u16, code: &str, message: impl Into<String>) -> Self {
        HwError {
            status,
            code: code.to_string(),
            message: message.into(),
            style: Style::Ecs,
            details: vec![],
        }
    }

    pub fn gateway(status: u16, code: &str, message: impl Into<String>) -> Self {
        HwError {
            status,
            code: code.to_string(),
            message: message.into(),
            style: Style::Gateway,
            details: vec![],
        }
    }

    pub fn nova(status: u16, message: impl Into<String>) -> Self {
        HwError {
            status,
            code: status.to_string(),
            message: message.into(),
            style: Style::Nova,
            details: vec![],
        }
    }

    /// The same error with the specific code `detail` in `error.details[].code`.
    pub fn with_detail(mut self, detail: &str) -> Self {
        self.details.push(detail.to_string());
        self
    }

    /// `Ecs.0005`: invalid parameter values.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::ecs(400, "Ecs.0005", message)
    }

    pub fn auth(detail: impl std::fmt::Display) -> Self {
        Self::gateway(
            401,
            "APIGW.0301",
            format!("Incorrect IAM authentication information: {detail}"),
        )
    }
}

pub type HwResult<T> = Result<T, HwError>;

/// A successful answer: HTTP status and JSON body (`None` for an empty body).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Option<Value>,
}

impl Answer {
    pub fn ok(v: Value) -> Self {
        Answer {
            status: 200,
            body: Some(v),
        }
    }
}

fn respond(status: u16, body: Option<&Value>, request_id: &str) -> Response {
    let bytes = body
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json;charset=UTF-8")
        .header("X-Request-Id", request_id)
        .body(Body::from(bytes))
        .unwrap_or_default()
}

pub fn error_response(e: &HwError, request_id: &str) -> Response {
    respond(e.status, Some(&error_body(e, request_id)), request_id)
}

/// The JSON body of error `e` in its service's shape.
pub fn error_body(e: &HwError, request_id: &str) -> Value {
    match e.style {
        Style::Gateway => {
            json!({"error_code": e.code, "error_msg": e.message, "request_id": request_id})
        }
        Style::Ecs if e.details.is_empty() => {
            json!({"error": {"code": e.code, "message": e.message}})
        }
        Style::Ecs => {
            let details: Vec<Value> = e.details.iter().map(|c| json!({"code": c})).collect();
            json!({"error": {"code": e.code, "message": e.message, "details": details}})
        }
        Style::Nova => {
            let kind = match e.status {
                404 => "itemNotFound",
                409 => "conflictingRequest",
                403 => "forbidden",
                413 | 429 => "overLimit",
                s if s >= 500 => "computeFault",
                _ => "badRequest",
            };
            json!({ kind: {"code": e.status, "message": e.message} })
        }
    }
}

/// The API a path and method name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    CreateServers {
        v11: bool,
    },
    ShowJob(String),
    ServerAction,
    DeleteServers,
    ListServersDetails,
    ListFlavors,
    /// `GET /v1/{project_id}/cloudservers/resize_flavors` (ListResizeFlavors).
    ListResizeFlavors,
    ShowServer(String),
    UpdateServer(String),
    Resize(String),
    /// `POST /v1.1/{project_id}/cloudservers/{server_id}/resize` (prepaid capable).
    ResizeV11(String),
    ChangeOs(String),
    ReinstallOs(String),
    NovaServerAction(String),
    NovaDeleteServer(String),
    NovaListAvailabilityZones,
    /// `GET /v1/{project_id}/availability-zones`, the successor of the Nova call.
    ListServerAzInfo,
    ListImages,
    /// IAM (no project in the path).
    KeystoneListProjects,
    KeystoneListAuthProjects,
    KeystoneListAuthDomains,
    ShowPermanentAccessKey(String),
    /// BSS (global, no project).
    CancelResourcesSubscription,
    /// VPC v3 (`vpc.<region>.myhuaweicloud.com`): `GET /v3/{project_id}/ports/{port_id}`.
    ShowPort(String),
    /// `PUT /v3/{project_id}/ports/{port_id}/insert-security-groups`.
    AddSecurityGroups(String),
    /// `PUT /v3/{project_id}/ports/{port_id}/remove-security-groups`.
    RemoveSecurityGroups(String),
}

impl Op {
    /// IAM calls: global, answered for the AK, no project.
    fn is_iam(&self) -> bool {
        matches!(
            self,
            Op::KeystoneListProjects
                | Op::KeystoneListAuthProjects
                | Op::KeystoneListAuthDomains
                | Op::ShowPermanentAccessKey(_)
                | Op::CancelResourcesSubscription
        )
    }

    /// VPC calls: their errors, a project mismatch included, are VPC codes.
    fn is_vpc(&self) -> bool {
        matches!(
            self,
            Op::ShowPort(_) | Op::AddSecurityGroups(_) | Op::RemoveSecurityGroups(_)
        )
    }
}

pub struct Route {
    pub op: Op,
    pub action: String,
    /// Project id from the path (IMS has none).
    pub project: Option<String>,
}

/// Whether a request is for the Huawei APIs (path prefixes `/v1/`, `/v1.1/`, `/v2/`, `/v2.1/`;
/// IAM, VPC and BSS: `/v3/`, `/v3.0/`).
pub fn matches(parts: &Parts) -> bool {
    let p = parts.uri.path();
    ["/v1/", "/v1.1/", "/v2/", "/v2.1/", "/v3/", "/v3.0/"]
        .iter()
        .any(|pre| p.starts_with(pre))
}

/// Which API a request calls; `body` decides the name of the multiplexed action calls.
pub fn resolve(method: &Method, path: &str, body: &[u8]) -> Option<Route> {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let body_key = || -> Option<String> {
        match serde_json::from_slice::<Value>(body).ok()? {
            Value::Object(m) => m.keys().find(|k| k.as_str() != "dry_run").cloned(),
            _ => None,
        }
    };
    let r = |op: Op, action: &str, project: Option<&str>| {
        Some(Route {
            op,
            action: action.to_string(),
            project: project.map(str::to_string),
        })
    };
    match (method.as_str(), seg.as_slice()) {
        ("POST", ["v1", p, "cloudservers"]) => r(
            Op::CreateServers { v11: false },
            "CreatePostPaidServers",
            Some(p),
        ),
        ("POST", ["v1.1", p, "cloudservers"]) => {
            r(Op::CreateServers { v11: true }, "CreateServers", Some(p))
        }
        ("GET", ["v1", p, "jobs", j]) => r(Op::ShowJob(j.to_string()), "ShowJob", Some(p)),
        ("POST", ["v1", p, "cloudservers", "action"]) => {
            let name = match body_key().as_deref() {
                Some("os-start") => "BatchStartServers",
                Some("os-stop") => "BatchStopServers",
                Some("reboot") => "BatchRebootServers",
                _ => "BatchServerAction",
            };
            r(Op::ServerAction, name, Some(p))
        }
        ("POST", ["v1", p, "cloudservers", "delete"]) => {
            r(Op::DeleteServers, "DeleteServers", Some(p))
        }
        ("GET", ["v1", p, "cloudservers", "detail"]) => {
            r(Op::ListServersDetails, "ListServersDetails", Some(p))
        }
        ("GET", ["v1", p, "cloudservers", "flavors"]) => r(Op::ListFlavors, "ListFlavors", Some(p)),
        ("GET", ["v1", p, "cloudservers", "resize_flavors"]) => {
            r(Op::ListResizeFlavors, "ListResizeFlavors", Some(p))
        }
        ("GET", ["v1", p, "cloudservers", id]) => {
            r(Op::ShowServer(id.to_string()), "ShowServer", Some(p))
        }
        ("PUT", ["v1", p, "cloudservers", id]) => {
            r(Op::UpdateServer(id.to_string()), "UpdateServer", Some(p))
        }
        ("POST", ["v1", p, "cloudservers", id, "resize"]) => {
            r(Op::Resize(id.to_string()), "ResizePostPaidServer", Some(p))
        }
        ("POST", ["v1.1", p, "cloudservers", id, "resize"]) => {
            r(Op::ResizeV11(id.to_string()), "ResizeServer", Some(p))
        }
        ("POST", ["v2", "orders", "subscriptions", "resources", "unsubscribe"]) => r(
            Op::CancelResourcesSubscription,
            "CancelResourcesSubscription",
            None,
        ),
        ("POST", ["v2", p, "cloudservers", id, "changeos"]) => r(
            Op::ChangeOs(id.to_string()),
            "ChangeServerOsWithCloudInit",
            Some(p),
        ),
        ("POST", ["v2", p, "cloudservers", id, "reinstallos"]) => r(
            Op::ReinstallOs(id.to_string()),
            "ReinstallServerWithCloudInit",
            Some(p),
        ),
        ("DELETE", ["v2.1", p, "servers", id]) => r(
            Op::NovaDeleteServer(id.to_string()),
            "NovaDeleteServer",
            Some(p),
        ),
        ("POST", ["v2.1", p, "servers", id, "action"]) => {
            let name = match body_key().as_deref() {
                Some("addSecurityGroup") => "NovaAssociateSecurityGroup",
                Some("removeSecurityGroup") => "NovaDisassociateSecurityGroup",
                _ => "NovaServerAction",
            };
            r(Op::NovaServerAction(id.to_string()), name, Some(p))
        }
        ("GET", ["v2.1", p, "os-availability-zone"]) => r(
            Op::NovaListAvailabilityZones,
            "NovaListAvailabilityZones",
            Some(p),
        ),
        ("GET", ["v1", p, "availability-zones"]) => {
            r(Op::ListServerAzInfo, "ListServerAzInfo", Some(p))
        }
        ("GET", ["v2", "cloudimages"]) => r(Op::ListImages, "ListImages", None),
        ("GET", ["v3", p, "ports", port]) => r(Op::ShowPort(port.to_string()), "ShowPort", Some(p)),
        ("PUT", ["v3", p, "ports", port, "insert-security-groups"]) => r(
            Op::AddSecurityGroups(port.to_string()),
            "AddSecurityGroups",
            Some(p),
        ),
        ("PUT", ["v3", p, "ports", port, "remove-security-groups"]) => r(
            Op::RemoveSecurityGroups(port.to_string()),
            "RemoveSecurityGroups",
            Some(p),
        ),
        ("GET", ["v3", "projects"]) => r(Op::KeystoneListProjects, "KeystoneListProjects", None),
        ("GET", ["v3", "auth", "projects"]) => r(
            Op::KeystoneListAuthProjects,
            "KeystoneListAuthProjects",
            None,
        ),
        ("GET", ["v3", "auth", "domains"]) => {
            r(Op::KeystoneListAuthDomains, "KeystoneListAuthDomains", None)
        }
        ("GET", ["v3.0", "OS-CREDENTIAL", "credentials", ak]) => r(
            Op::ShowPermanentAccessKey(ak.to_string()),
            "ShowPermanentAccessKey",
            None,
        ),
        _ => None,
    }
}

/// Handle one Huawei request (routed here by [`crate::server::classify`]).
pub async fn handle(app: Shared, parts: Parts, body: Bytes) -> Response {
    let request_id = new_uuid().replace('-', "");
    let Some(route) = resolve(&parts.method, parts.uri.path(), &body) else {
        app.record_call(Provider::Huawei, "", &Outcome::Error("APIGW.0101".into()));
        let e = HwError::gateway(
            404,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment",
        );
        return error_response(&e, &request_id);
    };
    let action = route.action.clone();

    let effect = app.fault_effect(Provider::Huawei, &action);
    if effect.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(effect.latency_ms)).await;
    }
    if effect.drop_connection {
        app.record_call(Provider::Huawei, &action, &Outcome::Faulted(None));
        return http::drop_connection(&parts).await;
    }
    if let Some((code, message, status)) = &effect.error {
        app.record_call(
            Provider::Huawei,
            &action,
            &Outcome::Faulted(Some(code.clone())),
        );
        let e = if code.starts_with("APIGW.") || code.starts_with("IAM.") {
            let default = if code == "APIGW.0308" { 429 } else { 401 };
            HwError::gateway(status.unwrap_or(default), code, message.clone())
        } else {
            let default = match code.as_str() {
                "Ecs.0114" => 404,
                // Ecs.0002 "system exception" is documented with HTTP 400 (error-code table,
                // https://support.huaweicloud.com/api-ecs/ecs_07_0002.html); 0603 is 501.
                "Ecs.0603" => 501,
                c if c.contains("Internal") => 500,
                _ => 400,
            };
            HwError::ecs(status.unwrap_or(default), code, message.clone())
        };
        return error_response(&e, &request_id);
    }

    match process(
        &app,
        &parts,
        &body,
        &route,
        &request_id,
        now_ms(),
        effect.launch_failed,
    ) {
        Ok(a) => {
            app.record_call(Provider::Huawei, &action, &Outcome::Ok);
            tracing::debug!(action = %action, request_id = %request_id, "huawei ok");
            respond(a.status, a.body.as_ref(), &request_id)
        }
        Err(e) => {
            let outcome = if e.code == "APIGW.0308" {
                Outcome::Throttled
            } else {
                Outcome::Error(e.code.clone())
            };
            app.record_call(Provider::Huawei, &action, &outcome);
            tracing::debug!(action = %action, code = %e.code, "huawei error: {}", e.message);
            error_response(&e, &request_id)
        }
    }
}

/// Huawei documents a 15-minute window for `X-Sdk-Date`.
const MAX_SKEW_MS: i64 = 15 * 60 * 1000;

fn authenticate(app: &AppState, parts: &Parts, body: &[u8], now: i64) -> HwResult<Account> {
    let auth =
        header(parts, "authorization").ok_or_else(|| HwError::auth("Authorization not found."))?;
    let parsed = sign::parse_authorization(&auth).map_err(HwError::auth)?;
    let signed = parsed.signed_headers.to_ascii_lowercase();
    if !signed.split(';').any(|h| h.trim() == "host") {
        return Err(HwError::auth("header host must be signed."));
    }
    let date = header(parts, "x-sdk-date").ok_or_else(|| HwError::auth("X-Sdk-Date not found."))?;
    let ts = sign::parse_sdk_date(&date).ok_or_else(|| {
        HwError::auth(format!(
            "X-Sdk-Date `{date}` is not of the form YYYYMMDDTHHMMSSZ."
        ))
    })?;
    if (ts - now).abs() > MAX_SKEW_MS {
        return Err(HwError::auth(
            "the signature expired: X-Sdk-Date differs from the server time by more than 15 minutes.",
        ));
    }
    let account = app
        .accounts
        .find(Provider::Huawei, &parsed.access)
        .cloned()
        .ok_or_else(|| HwError::auth(format!("ak {} not found.", parsed.access)))?;
    let canonical_headers =
        sign::canonical_headers(&signed, |n| header(parts, n)).ok_or_else(|| {
            HwError::auth("a header listed in SignedHeaders is missing from the request.")
        })?;
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let payload_hash = match header(parts, "x-sdk-content-sha256") {
        Some(v) if v.trim() == "UNSIGNED-PAYLOAD" => "UNSIGNED-PAYLOAD".to_string(),
        _ => sign::sha256_hex(body),
    };
    let cr = sign::canonical_request(
        parts.method.as_str(),
        parts.uri.path(),
        &query,
        &canonical_headers,
        &signed,
        &payload_hash,
    );
    let expected = sign::signature(&account.secret, &sign::string_to_sign(date.trim(), &cr));
    if !sign::same(&expected, &parsed.signature) {
        return Err(HwError::auth(format!(
            "verify aksk signature fail, error: Signature does not match, canonicalRequest:{}",
            cr.replace('\n', "|")
        )));
    }
    Ok(account)
}

fn process(
    app: &AppState,
    parts: &Parts,
    body: &[u8],
    route: &Route,
    request_id: &str,
    now: i64,
    launch_failed: bool,
) -> HwResult<Answer> {
    let account = authenticate(app, parts, body, now)?;
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    if route.op.is_iam() {
        return match &route.op {
            Op::KeystoneListProjects => projects::list_projects(&account, &query),
            Op::KeystoneListAuthProjects => projects::list_auth_projects(&account),
            Op::KeystoneListAuthDomains => projects::list_auth_domains(&account),
            Op::ShowPermanentAccessKey(ak) => projects::show_access_key(&account, ak),
            Op::CancelResourcesSubscription => {
                billing::unsubscribe(app, &account, body, request_id, now)
            }
            _ => unreachable!("is_iam covers exactly the IAM ops"),
        };
    }
    let header_project = header(parts, "x-project-id").filter(|p| !p.is_empty());
    if let Some(h) = &header_project
        && projects::region_of(&account, h).is_none()
    {
        return Err(HwError::auth(format!(
            "the project {h} does not belong to this AK."
        )));
    }
    let project = match (&route.project, &header_project) {
        // A URL project that is not the token's (the signed X-Project-Id, or one the AK does
        // not have) is Ecs.0023 (400), error-code table
        // https://support.huaweicloud.com/api-ecs/ecs_07_0002.html (Ecs.0003 is an account
        // restriction: balance, frozen).
        (Some(p), Some(h)) if p != h => return Err(project_mismatch(&route.op, p)),
        (Some(p), _) if projects::region_of(&account, p).is_none() => {
            return Err(project_mismatch(&route.op, p));
        }
        (Some(p), _) => p.clone(),
        (None, Some(h)) => h.clone(),
        (None, None) => projects::home_project(&account),
    };
    let Some(region) = projects::region_of(&account, &project) else {
        return Err(project_mismatch(&route.op, &project));
    };
    // Projects are per region: a project of another region sent to a regional endpoint
    // (`ecs.<region>.myhuaweicloud.com`) is refused by the API gateway, which scopes the
    // AK/SK to the signed X-Project-Id in the called region ("The ID of your project
    // depending on your region": SDK huaweicloudsdkcore/auth/credentials.py; API gateway
    // code APIGW.0301 "Incorrect IAM authentication information", 401,
    // https://support.huaweicloud.com/api-ecs/ecs_07_0002.html lists the APIGW codes). The
    // emulator's own address names no region; there the project decides the region.
    if let Some(host_region) = header(parts, "host").and_then(|h| projects::host_region(&h))
        && host_region != region
    {
        return Err(HwError::auth(format!(
            "the project {project} belongs to region {region}, not to {host_region}."
        )));
    }
    let rate = catalog::rate_limit(&route.action);
    if !app.allow_request(Provider::Huawei, &account.key_id, &route.action, rate) {
        return Err(HwError::gateway(
            429,
            "APIGW.0308",
            format!(
                "The throttling threshold has been reached: policy user over ratelimit,limit:{},time:1 second",
                (rate * app.settings().rate_limit_multiplier).max(1.0) as u64
            ),
        ));
    }
    let ctx = actions::Ctx {
        app,
        account: &account,
        project: &project,
        region,
        query: &query,
        body,
        client_token: header(parts, "x-client-token").filter(|t| !t.is_empty()),
        request_id,
        now,
        launch_failed,
    };
    actions::run(&route.op, &ctx)
}

fn project_mismatch(op: &Op, p: &str) -> HwError {
    if op.is_vpc() {
        // VPC.0007 "urlTenantId is not equal tokenTenantId" (400), VPC error codes
        // https://support.huaweicloud.com/api-vpc/vpc_api_0003.html.
        return HwError::gateway(
            400,
            "VPC.0007",
            format!(
                "urlTenantId is not equal tokenTenantId: the project {p} in the URL is not the token's."
            ),
        );
    }
    HwError::ecs(
        400,
        "Ecs.0023",
        format!("The project {p} in the URL does not match the project of the token."),
    )
}

#[cfg(test)]
mod billing_tests;
#[cfg(test)]
mod held_tests;
#[cfg(test)]
mod rule_tests;
#[cfg(test)]
mod token_tests;
#[cfg(test)]
mod volume_tests;

#[cfg(test)]
mod route_tests;
