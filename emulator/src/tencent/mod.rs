//! Tencent Cloud CVM API 3.0 (version 2017-03-12) wire protocol.
//!
//! Requests: `POST /` with a JSON body and `X-TC-*` headers signed with TC3-HMAC-SHA256
//! (signature v3, also `GET` with the parameters in the query string), or the older
//! signature v1 (`HmacSHA1`/`HmacSHA256`, every parameter in the query string or a form
//! body). Answers are always HTTP 200 with `{"Response": {..., "RequestId"}}` or
//! `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`.

pub mod actions;
pub mod catalog;
pub mod error;
pub mod held;
pub mod params;
pub mod render;
pub mod sign;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::app::{AppState, Shared};
use crate::calls::Outcome;
use crate::config::{Account, Provider};
use crate::http;
use crate::store::{new_uuid, now_ms};
use error::{ApiError, ApiResult};
use params::Params;

pub use render::state_name;

pub const API_VERSION: &str = "2017-03-12";
pub const SERVICE: &str = "cvm";

/// Parameters of signature v1 requests that are not action parameters.
const V1_COMMON: &[&str] = &[
    "Action",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "SignatureMethod",
    "Version",
    "Token",
    "RequestClient",
    "Language",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// TC3-HMAC-SHA256, common parameters in `X-TC-*` headers.
    V3,
    /// HmacSHA1 / HmacSHA256, common parameters among the request parameters.
    V1,
}

struct Incoming<'a> {
    mode: Mode,
    parts: &'a Parts,
    body: &'a [u8],
    /// Query (and form) pairs: all parameters for v1 and v3 GET.
    flat: Vec<(String, String)>,
    action: String,
}

impl Incoming<'_> {
    fn header(&self, name: &str) -> Option<String> {
        http::header_str(self.parts, name)
    }

    fn param(&self, name: &str) -> Option<String> {
        self.flat
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// A common parameter: `X-TC-<Name>` header for v3, parameter `<Name>` for v1.
    fn common(&self, name: &str) -> Option<String> {
        match self.mode {
            Mode::V3 => self.header(&format!("x-tc-{}", name.to_ascii_lowercase())),
            Mode::V1 => self.param(name),
        }
        .filter(|v| !v.is_empty())
    }

    fn common_name(&self, name: &str) -> String {
        match self.mode {
            Mode::V3 => format!("X-TC-{name}"),
            Mode::V1 => name.to_string(),
        }
    }
}

fn json_response(status: u16, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

pub fn error_response(code: &str, message: &str, request_id: &str, status: u16) -> Response {
    json_response(
        status,
        &json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}),
    )
}

fn ok_response(mut fields: Map<String, Value>, request_id: &str) -> Response {
    fields.insert("RequestId".into(), Value::String(request_id.to_string()));
    let mut outer = Map::new();
    outer.insert("Response".into(), Value::Object(fields));
    json_response(200, &Value::Object(outer))
}

/// Handle one Tencent request (routed here by [`crate::server::classify`]).
pub async fn handle(app: Shared, parts: Parts, body: Bytes) -> Response {
    let request_id = new_uuid();
    let mode = if parts.headers.contains_key("x-tc-action") {
        Mode::V3
    } else {
        Mode::V1
    };
    let flat = http::query_and_form_pairs(&parts, &body);
    let mut inc = Incoming {
        mode,
        parts: &parts,
        body: &body,
        flat,
        action: String::new(),
    };
    inc.action = match mode {
        Mode::V3 => inc.header("x-tc-action").unwrap_or_default(),
        Mode::V1 => inc.param("Action").unwrap_or_default(),
    };
    let action = inc.action.clone();

    let effect = app.fault_effect(Provider::Tencent, &action);
    if effect.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(effect.latency_ms)).await;
    }
    if effect.drop_connection {
        app.record_call(Provider::Tencent, &action, &Outcome::Faulted(None));
        return http::drop_connection(&parts).await;
    }
    if let Some((code, message, status)) = &effect.error {
        app.record_call(
            Provider::Tencent,
            &action,
            &Outcome::Faulted(Some(code.clone())),
        );
        return error_response(code, message, &request_id, status.unwrap_or(200));
    }

    let result = process(&app, &inc, &request_id, now_ms(), effect.launch_failed);
    if effect.latency_after_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(effect.latency_after_ms)).await;
    }
    if effect.drop_after {
        app.record_call(Provider::Tencent, &action, &Outcome::Faulted(None));
        return http::drop_connection(&parts).await;
    }
    match result {
        Ok(fields) => {
            app.record_call(Provider::Tencent, &action, &Outcome::Ok);
            tracing::debug!(action = %action, request_id = %request_id, "tencent ok");
            ok_response(fields, &request_id)
        }
        Err(e) => {
            let outcome = if e.code == "RequestLimitExceeded" {
                Outcome::Throttled
            } else {
                Outcome::Error(e.code.clone())
            };
            app.record_call(Provider::Tencent, &action, &outcome);
            tracing::debug!(action = %action, code = %e.code, "tencent error: {}", e.message);
            error_response(&e.code, &e.message, &request_id, 200)
        }
    }
}

fn process(
    app: &AppState,
    inc: &Incoming,
    request_id: &str,
    now: i64,
    launch_failed: bool,
) -> ApiResult<Map<String, Value>> {
    if inc.action.is_empty() {
        return Err(ApiError::missing(&inc.common_name("Action")));
    }
    let ts_str = inc
        .common("Timestamp")
        .ok_or_else(|| ApiError::missing(&inc.common_name("Timestamp")))?;
    let ts: i64 = ts_str
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_type(&inc.common_name("Timestamp"), "Integer"))?;
    let version = inc
        .common("Version")
        .ok_or_else(|| ApiError::missing(&inc.common_name("Version")))?;

    let settings = app.settings();
    let account = match inc.mode {
        Mode::V3 => authenticate_v3(app, inc, &ts_str, ts, now, settings.max_clock_skew_secs)?,
        Mode::V1 => authenticate_v1(app, inc, ts, now, settings.max_clock_skew_secs)?,
    };
    check_session_token(app, inc, &account)?;

    if version != API_VERSION {
        return Err(ApiError::new(
            "NoSuchVersion",
            format!("The API version `{version}` does not exist; CVM supports {API_VERSION}."),
        ));
    }
    let action = inc.action.as_str();
    if !actions::is_supported(action) {
        return Err(ApiError::new(
            "InvalidAction",
            format!("The action `{action}` does not exist or is not supported by the emulator."),
        ));
    }
    let region = inc.common("Region");
    let region = match (action, region) {
        ("DescribeRegions", None) => String::new(),
        (_, None) => return Err(ApiError::missing(&inc.common_name("Region"))),
        (_, Some(r)) => {
            if catalog::region(&r).is_none() {
                return Err(ApiError::new(
                    "UnsupportedRegion",
                    format!("The region `{r}` is not supported."),
                ));
            }
            r
        }
    };

    let rate = catalog::rate_limit(action);
    if !app.allow_request(Provider::Tencent, &account.key_id, action, rate) {
        return Err(ApiError::new(
            "RequestLimitExceeded",
            format!(
                "Your request rate for `{action}` exceeds the frequency limit of {} requests per second. Please reduce the frequency of calls.",
                rate * settings.rate_limit_multiplier
            ),
        ));
    }

    let (map, lenient) = parse_params(inc)?;
    let ctx = actions::Ctx {
        app,
        account: &account,
        region: &region,
        params: Params::root(&map, lenient),
        request_id,
        now,
        launch_failed,
    };
    actions::run(action, &ctx)
}

/// Request parameters as JSON, and whether they came flat (all strings).
fn parse_params(inc: &Incoming) -> ApiResult<(Map<String, Value>, bool)> {
    let v3_json =
        inc.mode == Mode::V3 && inc.parts.method != Method::GET && !http::is_form(inc.parts);
    if v3_json {
        if inc.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok((Map::new(), false));
        }
        return match serde_json::from_slice::<Value>(inc.body) {
            Ok(Value::Object(m)) => Ok((m, false)),
            Ok(_) => Err(ApiError::new(
                "InvalidParameter",
                "The request body must be a JSON object.",
            )),
            Err(e) => Err(ApiError::new(
                "InvalidParameter",
                format!("The request body is not valid JSON: {e}"),
            )),
        };
    }
    let pairs: Vec<(String, String)> = inc
        .flat
        .iter()
        .filter(|(k, _)| inc.mode == Mode::V3 || !V1_COMMON.contains(&k.as_str()))
        .cloned()
        .collect();
    Ok((params::unflatten(&pairs)?, true))
}

/// Temporary (STS) credentials: a request signed with a temporary key carries the session
/// token issued with it in `X-TC-Token` (signature v1: the `Token` parameter): "The token
/// used for the temporary certificate, which must be used together with a temporary key"
/// (CVM API reference, "Common Params", /work/shared/seeds/001; tencentcloud-sdk-python-common
/// 3.1.195 `abstract_client.py` sends `credential.Credential(secret_id, secret_key, token)`'s
/// token as `X-TC-Token` / `Token`). A missing or different token is
/// `AuthFailure.TokenFailure` ("token error", same reference, "Common Error Codes").
/// The token is not part of the TC3 signature (its SignedHeaders are content-type and host).
fn check_session_token(app: &AppState, inc: &Incoming, account: &Account) -> ApiResult<()> {
    let Some(want) = app
        .accounts
        .session_token(Provider::Tencent, &account.key_id)
    else {
        return Ok(());
    };
    match inc.common("Token") {
        None => Err(auth_failure(
            "AuthFailure.TokenFailure",
            format!(
                "The SecretId `{}` is a temporary key: the request needs its token ({}).",
                account.key_id,
                inc.common_name("Token")
            ),
        )),
        Some(got) if got != want => Err(auth_failure(
            "AuthFailure.TokenFailure",
            "Token verification failed, please check if your Token is correct.",
        )),
        Some(_) => Ok(()),
    }
}

fn auth_failure(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

const SIGNATURE_FAILURE: &str =
    "The provided credentials could not be validated. Please check your signature is correct.";

fn check_skew(ts: i64, now_ms: i64, max_skew: i64) -> ApiResult<()> {
    let now = now_ms / 1000;
    if (now - ts).abs() > max_skew {
        return Err(auth_failure(
            "AuthFailure.SignatureExpire",
            format!(
                "Signature expired. Timestamp {ts} differs from the server time {now} by more than {max_skew} seconds."
            ),
        ));
    }
    Ok(())
}

fn authenticate_v3(
    app: &AppState,
    inc: &Incoming,
    ts_str: &str,
    ts: i64,
    now: i64,
    max_skew: i64,
) -> ApiResult<Account> {
    let header_value = inc.header("authorization").ok_or_else(|| {
        auth_failure(
            "AuthFailure.InvalidAuthorization",
            "The request has no Authorization header.",
        )
    })?;
    let auth = sign::parse_tc3_authorization(&header_value).map_err(|e| {
        auth_failure(
            "AuthFailure.InvalidAuthorization",
            format!(
                "The Authorization header does not conform to the Tencent Cloud standard: {e}."
            ),
        )
    })?;
    let account = app
        .accounts
        .find(Provider::Tencent, &auth.secret_id)
        .cloned()
        .ok_or_else(|| {
            auth_failure(
                "AuthFailure.SecretIdNotFound",
                format!("The SecretId `{}` is not found.", auth.secret_id),
            )
        })?;
    check_skew(ts, now, max_skew)?;
    if auth.terminator != "tc3_request" {
        return Err(auth_failure(
            "AuthFailure.InvalidAuthorization",
            "The credential scope must end with tc3_request.",
        ));
    }
    let signed: Vec<String> = auth
        .signed_headers
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if !signed.iter().any(|h| h == "content-type") || !signed.iter().any(|h| h == "host") {
        return Err(auth_failure(
            "AuthFailure.InvalidAuthorization",
            "SignedHeaders must include content-type and host.",
        ));
    }
    let expected_date = sign::utc_date(ts).unwrap_or_default();
    if auth.date != expected_date {
        return Err(auth_failure(
            "AuthFailure.SignatureFailure",
            format!(
                "{SIGNATURE_FAILURE} The credential date `{}` is not the UTC date of X-TC-Timestamp ({expected_date}).",
                auth.date
            ),
        ));
    }
    if auth.service != SERVICE {
        return Err(auth_failure(
            "AuthFailure.SignatureFailure",
            format!(
                "{SIGNATURE_FAILURE} The credential service `{}` is not `{SERVICE}`.",
                auth.service
            ),
        ));
    }
    let canonical_headers =
        sign::tc3_canonical_headers(&auth.signed_headers, |name| inc.header(name)).ok_or_else(
            || {
                auth_failure(
                    "AuthFailure.SignatureFailure",
                    format!("{SIGNATURE_FAILURE} A signed header is missing from the request."),
                )
            },
        )?;
    let unsigned = inc
        .header("x-tc-content-sha256")
        .is_some_and(|v| v.trim() == "UNSIGNED-PAYLOAD");
    let payload_hash = if unsigned {
        sign::sha256_hex(b"UNSIGNED-PAYLOAD")
    } else {
        sign::sha256_hex(inc.body)
    };
    let canonical_request = sign::tc3_canonical_request(
        inc.parts.method.as_str(),
        inc.parts.uri.path(),
        inc.parts.uri.query().unwrap_or(""),
        &canonical_headers,
        &auth.signed_headers,
        &payload_hash,
    );
    let string_to_sign =
        sign::tc3_string_to_sign(ts_str.trim(), &auth.date, &auth.service, &canonical_request);
    let expected = sign::tc3_signature(&account.secret, &auth.date, &auth.service, &string_to_sign);
    if expected != auth.signature.to_ascii_lowercase() {
        tracing::debug!("TC3 signature mismatch; canonical request was:\n{canonical_request}");
        return Err(auth_failure(
            "AuthFailure.SignatureFailure",
            SIGNATURE_FAILURE,
        ));
    }
    Ok(account)
}

fn authenticate_v1(
    app: &AppState,
    inc: &Incoming,
    ts: i64,
    now: i64,
    max_skew: i64,
) -> ApiResult<Account> {
    let secret_id = inc.param("SecretId").unwrap_or_default();
    let signature = inc
        .param("Signature")
        .ok_or_else(|| ApiError::missing("Signature"))?;
    let account = app
        .accounts
        .find(Provider::Tencent, &secret_id)
        .cloned()
        .ok_or_else(|| {
            auth_failure(
                "AuthFailure.SecretIdNotFound",
                format!("The SecretId `{secret_id}` is not found."),
            )
        })?;
    check_skew(ts, now, max_skew)?;
    if inc.param("Nonce").is_none() {
        return Err(ApiError::missing("Nonce"));
    }
    let method_param = inc.param("SignatureMethod");
    let method = sign::V1Method::parse(method_param.as_deref()).ok_or_else(|| {
        ApiError::invalid_value(
            "SignatureMethod",
            "supported methods are HmacSHA1 and HmacSHA256.",
        )
    })?;
    let host = inc.header("host").unwrap_or_default();
    let sign_string = sign::v1_sign_string(
        inc.parts.method.as_str(),
        &host,
        inc.parts.uri.path(),
        &inc.flat,
    );
    let expected = sign::v1_signature(&account.secret, &sign_string, method);
    if expected != signature {
        tracing::debug!("v1 signature mismatch; source string was:\n{sign_string}");
        return Err(auth_failure(
            "AuthFailure.SignatureFailure",
            SIGNATURE_FAILURE,
        ));
    }
    Ok(account)
}
