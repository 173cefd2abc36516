//! Alibaba Cloud ECS API (version 2014-05-26), RPC style.
//!
//! Requests: `GET` or `POST` to `/` with every parameter in the query string or an
//! `application/x-www-form-urlencoded` body, signed with signature V2 (`HMAC-SHA1`,
//! parameters `AccessKeyId`, `Signature`, `SignatureNonce`, `Timestamp`, ...) or with V3
//! (`Authorization: ACS3-HMAC-SHA256 ...`, `x-acs-action`, `x-acs-version`, `x-acs-date`,
//! `x-acs-signature-nonce`, `x-acs-content-sha256` headers), which Alibaba's current SDKs
//! use by default. Answers are JSON: the action's fields plus `RequestId`, or on failure a
//! 4xx/5xx status with `{"RequestId", "HostId", "Code", "Message", "Recommend"}`.

pub mod actions;
pub mod billing;
pub mod catalog;
pub mod membership;
pub mod render;
pub mod sign;
pub mod single;
pub mod tagging;

#[cfg(test)]
mod create_rules_tests;
#[cfg(test)]
mod prepaid_tests;
#[cfg(test)]
mod request_rules_tests;
#[cfg(test)]
mod state_rules_tests;
#[cfg(test)]
mod tagging_tests;
#[cfg(test)]
mod test_harness;

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::app::{AppState, Shared};
use crate::calls::Outcome;
use crate::config::{Account, Provider};
use crate::http;
use crate::store::{new_uuid, now_ms};

pub use render::state_name;

pub const API_VERSION: &str = "2014-05-26";

/// An Alibaba API error: HTTP status, `Code`, `Message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl AliError {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        AliError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn missing(name: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    pub fn invalid(name: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            400,
            "InvalidParameter",
            format!("The specified parameter \"{name}\" is not valid: {detail}"),
        )
    }
}

pub type AliResult<T> = Result<T, AliError>;

/// Default HTTP status of an error code (fault injection without an explicit status).
pub fn default_status(code: &str) -> u16 {
    match code {
        "InternalError" | "UnknownError" => 500,
        "ServiceUnavailable" => 503,
        c if c.starts_with("Throttling") => 400,
        c if c.ends_with(".NotFound") => 404,
        c if c.starts_with("IncorrectInstanceStatus")
            || c.starts_with("QuotaExceed")
            || c.starts_with("Forbidden") =>
        {
            403
        }
        _ => 400,
    }
}

/// Nonces seen in the last 15 minutes, per AccessKeyId (`SignatureNonceUsed`).
static NONCES: LazyLock<Mutex<HashMap<(String, String), i64>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const NONCE_WINDOW_MS: i64 = 15 * 60 * 1000;

fn nonce_fresh(key_id: &str, nonce: &str, now: i64) -> bool {
    let mut seen = NONCES.lock().unwrap_or_else(|p| p.into_inner());
    if seen.len() > 100_000 {
        seen.retain(|_, t| now - *t < NONCE_WINDOW_MS);
    }
    let k = (key_id.to_string(), nonce.to_string());
    match seen.get(&k) {
        Some(t) if now - *t < NONCE_WINDOW_MS => false,
        _ => {
            seen.insert(k, now);
            true
        }
    }
}

fn json_response(status: u16, v: &Value, request_id: &str) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json;charset=utf-8")
        .header("x-acs-request-id", request_id)
        .body(Body::from(body))
        .unwrap_or_default()
}

pub fn error_response(e: &AliError, request_id: &str, host: &str) -> Response {
    let mut m = Map::new();
    m.insert("RequestId".into(), Value::String(request_id.to_string()));
    m.insert("HostId".into(), Value::String(host.to_string()));
    m.insert("Code".into(), Value::String(e.code.clone()));
    m.insert("Message".into(), Value::String(e.message.clone()));
    m.insert(
        "Recommend".into(),
        Value::String(format!(
            "https://api.aliyun.com/troubleshoot?q={}&product=Ecs",
            e.code
        )),
    );
    json_response(e.status, &Value::Object(m), request_id)
}

/// A received request, whichever signature version it uses.
pub struct Incoming<'a> {
    pub parts: &'a Parts,
    pub body: &'a [u8],
    /// Query and form pairs.
    pub pairs: Vec<(String, String)>,
    pub v3: bool,
}

impl Incoming<'_> {
    pub fn header(&self, name: &str) -> Option<String> {
        http::header_str(self.parts, name)
    }

    pub fn header_values(&self, name: &str) -> Vec<String> {
        http::header_values(self.parts, name)
    }

    pub fn param(&self, name: &str) -> Option<String> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    pub fn action(&self) -> String {
        let from_header = if self.v3 {
            self.header("x-acs-action")
        } else {
            None
        };
        from_header
            .or_else(|| self.param("Action"))
            .unwrap_or_default()
    }
}

/// Whether a request is for the Alibaba API: signature V2 parameters (`Action` with
/// `AccessKeyId`) or a V3 `Authorization: ACS3-HMAC-SHA256` header with `x-acs-action`.
pub fn matches(parts: &Parts, pairs: &[(String, String)]) -> bool {
    let acs3 = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with(sign::ACS3));
    if acs3 || parts.headers.contains_key("x-acs-action") {
        return true;
    }
    let has = |k: &str| pairs.iter().any(|(n, _)| n == k);
    has("Action") && has("AccessKeyId")
}

/// Handle one Alibaba request (routed here by [`crate::server::classify`]).
pub async fn handle(app: Shared, parts: Parts, body: Bytes) -> Response {
    let request_id = new_uuid().to_ascii_uppercase();
    let pairs = http::query_and_form_pairs(&parts, &body);
    let v3 = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with(sign::ACS3));
    let inc = Incoming {
        parts: &parts,
        body: &body,
        pairs,
        v3,
    };
    let action = inc.action();
    let host = inc
        .param("RegionId")
        .map(|r| format!("ecs.{r}.aliyuncs.com"))
        .unwrap_or_else(|| "ecs.aliyuncs.com".to_string());

    let effect = app.fault_effect(Provider::Alibaba, &action);
    if effect.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(effect.latency_ms)).await;
    }
    if effect.drop_connection {
        app.record_call(Provider::Alibaba, &action, &Outcome::Faulted(None));
        return http::drop_connection(&parts).await;
    }
    if let Some((code, message, status)) = &effect.error {
        app.record_call(
            Provider::Alibaba,
            &action,
            &Outcome::Faulted(Some(code.clone())),
        );
        let e = AliError::new(
            status.unwrap_or_else(|| default_status(code)),
            code.clone(),
            message.clone(),
        );
        return error_response(&e, &request_id, &host);
    }

    match process(
        &app,
        &inc,
        &action,
        &request_id,
        now_ms(),
        effect.launch_failed,
    ) {
        Ok(mut fields) => {
            app.record_call(Provider::Alibaba, &action, &Outcome::Ok);
            tracing::debug!(action = %action, request_id = %request_id, "alibaba ok");
            fields.insert("RequestId".into(), Value::String(request_id.clone()));
            json_response(200, &Value::Object(fields), &request_id)
        }
        Err(e) => {
            let outcome = if e.code.starts_with("Throttling") {
                Outcome::Throttled
            } else {
                Outcome::Error(e.code.clone())
            };
            app.record_call(Provider::Alibaba, &action, &outcome);
            tracing::debug!(action = %action, code = %e.code, "alibaba error: {}", e.message);
            error_response(&e, &request_id, &host)
        }
    }
}

fn process(
    app: &AppState,
    inc: &Incoming,
    action: &str,
    request_id: &str,
    now: i64,
    launch_failed: bool,
) -> AliResult<Map<String, Value>> {
    if action.is_empty() {
        return Err(AliError::missing("Action"));
    }
    let settings = app.settings();
    let account = if inc.v3 {
        authenticate_v3(app, inc, now, settings.max_clock_skew_secs)?
    } else {
        authenticate_v2(app, inc, now, settings.max_clock_skew_secs)?
    };
    let version = if inc.v3 {
        inc.header("x-acs-version").or_else(|| inc.param("Version"))
    } else {
        inc.param("Version")
    }
    .unwrap_or_default();
    if version.is_empty() {
        return Err(AliError::missing("Version"));
    }
    if version != API_VERSION {
        return Err(AliError::new(
            400,
            "InvalidVersion",
            format!("Specified parameter Version is not valid. ECS supports {API_VERSION}."),
        ));
    }
    if !catalog::ACTIONS.contains(&action) {
        return Err(AliError::new(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        ));
    }
    let rate = catalog::rate_limit(action);
    if !app.allow_request(Provider::Alibaba, &account.key_id, action, rate) {
        return Err(AliError::new(
            400,
            "Throttling.User",
            "Request was denied due to user flow control.",
        ));
    }
    let ctx = actions::Ctx {
        app,
        account: &account,
        params: &inc.pairs,
        request_id,
        now,
        launch_failed,
    };
    actions::run(action, &ctx)
}

fn find_account(app: &AppState, key_id: &str) -> AliResult<Account> {
    app.accounts
        .find(Provider::Alibaba, key_id)
        .cloned()
        .ok_or_else(|| {
            AliError::new(
                404,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            )
        })
}

fn check_time(value: &str, now: i64, max_skew_secs: i64) -> AliResult<()> {
    let ts: jiff::Timestamp = value.trim().parse().map_err(|_| {
        AliError::new(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    if (ts.as_millisecond() - now).abs() > max_skew_secs.saturating_mul(1000) {
        return Err(AliError::new(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    Ok(())
}

fn authenticate_v2(app: &AppState, inc: &Incoming, now: i64, max_skew: i64) -> AliResult<Account> {
    let key_id = inc
        .param("AccessKeyId")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            AliError::new(
                400,
                "MissingAccessKeyId",
                "AccessKeyId is mandatory for this action.",
            )
        })?;
    let signature = inc
        .param("Signature")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            AliError::new(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards.",
            )
        })?;
    let method = inc.param("SignatureMethod").unwrap_or_default();
    if method != "HMAC-SHA1" {
        return Err(AliError::new(
            400,
            "InvalidSignatureMethod",
            format!("Specified signature method `{method}` is not supported; use HMAC-SHA1."),
        ));
    }
    let sv = inc.param("SignatureVersion").unwrap_or_default();
    if sv != "1.0" {
        return Err(AliError::new(
            400,
            "InvalidSignatureVersion",
            "Specified SignatureVersion is not valid; use 1.0.",
        ));
    }
    let ts = inc
        .param("Timestamp")
        .ok_or_else(|| AliError::missing("Timestamp"))?;
    let nonce = inc
        .param("SignatureNonce")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AliError::missing("SignatureNonce"))?;
    check_time(&ts, now, max_skew)?;
    let account = find_account(app, &key_id)?;
    let sts = sign::v2_string_to_sign(inc.parts.method.as_str(), &inc.pairs);
    let expected = sign::v2_signature(&sts, &account.secret);
    if !sign::same(&expected, &signature) {
        return Err(AliError::new(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{sts}"
            ),
        ));
    }
    if !nonce_fresh(&key_id, &nonce, now) {
        return Err(AliError::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(account)
}

fn authenticate_v3(app: &AppState, inc: &Incoming, now: i64, max_skew: i64) -> AliResult<Account> {
    let auth = inc.header("authorization").unwrap_or_default();
    let parsed = sign::parse_acs3(&auth).map_err(|e| {
        AliError::new(
            400,
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards: {e}"),
        )
    })?;
    let date = inc
        .header("x-acs-date")
        .ok_or_else(|| AliError::missing("x-acs-date"))?;
    check_time(&date, now, max_skew)?;
    let nonce = inc
        .header("x-acs-signature-nonce")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AliError::missing("x-acs-signature-nonce"))?;
    let hashed = inc
        .header("x-acs-content-sha256")
        .ok_or_else(|| AliError::missing("x-acs-content-sha256"))?;
    if hashed != sign::sha256_hex(inc.body) {
        return Err(AliError::new(
            400,
            "SignatureDoesNotMatch",
            "The x-acs-content-sha256 header does not match the SHA-256 of the request body.",
        ));
    }
    let signed = parsed.signed_headers.to_ascii_lowercase();
    // "除Authorization外的所有RequestHeader，只要符合要求都必须被加入签名": every `host`,
    // `content-type` and `x-acs-*` header that is present must be signed (signature V3,
    // https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature ,
    // "CanonicalHeaders").
    for name in inc.parts.headers.keys() {
        let name = name.as_str();
        let must = name == "host" || name == "content-type" || name.starts_with("x-acs-");
        if must && !signed.split(';').any(|h| h.trim() == name) {
            return Err(AliError::new(
                400,
                "IncompleteSignature",
                format!(
                    "The request signature does not conform to Aliyun standards: header `{name}` must be signed."
                ),
            ));
        }
    }
    let account = find_account(app, &parsed.access_key_id)?;
    let canonical_headers = sign::v3_canonical_headers(&signed, |n| inc.header_values(n))
        .ok_or_else(|| {
            AliError::new(
                400,
                "IncompleteSignature",
                "A header listed in SignedHeaders is missing from the request.",
            )
        })?;
    // Form bodies are covered by x-acs-content-sha256; only the query string is canonicalized.
    let query: Vec<(String, String)> = inc
        .parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let canonical = sign::v3_canonical_request(
        inc.parts.method.as_str(),
        inc.parts.uri.path(),
        &sign::v3_canonical_query(&query),
        &canonical_headers,
        &signed,
        &hashed,
    );
    let sts = sign::v3_string_to_sign(&canonical);
    let expected = sign::v3_signature(&sts, &account.secret);
    if !sign::same(&expected, &parsed.signature) {
        return Err(AliError::new(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{sts}"
            ),
        ));
    }
    if !nonce_fresh(&account.key_id, &nonce, now) {
        return Err(AliError::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(account)
}
