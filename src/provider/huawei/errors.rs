//! Huawei Cloud error bodies and their classification into [`ErrorKind`].
//!
//! Three shapes reach a client:
//! - ECS: `{"error": {"code": "Ecs.0114", "message": "Instance[..] could not be found."}}`
//! - API Gateway / IAM: `{"error_code": "APIGW.0301", "error_msg": "...", "request_id": "..."}`
//! - Nova-compatible APIs: `{"itemNotFound": {"code": 404, "message": "..."}}`
//!
//! Like Huawei's own SDK, the parser takes the first `error_code`/`error_msg`,
//! `errorCode`/`errorMsg` or `code`/`message` pair, searching nested objects.

use std::time::Duration;

use serde_json::Value;

use crate::provider::{ErrorKind, ProviderError};

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `(code, message, request_id)` found in an error body.
pub fn parse_body(v: &Value) -> (Option<String>, Option<String>, Option<String>) {
    let Value::Object(map) = v else {
        return (None, None, None);
    };
    let request_id = map.get("request_id").and_then(as_text);
    for (c, m) in [
        ("error_code", "error_msg"),
        ("errorCode", "errorMsg"),
        ("code", "message"),
    ] {
        if let (Some(code), Some(msg)) = (map.get(c), map.get(m)) {
            return (as_text(code), as_text(msg), request_id);
        }
    }
    for inner in map.values() {
        if inner.is_object() {
            let (c, m, r) = parse_body(inner);
            if c.is_some() || m.is_some() {
                return (c, m, r.or(request_id));
            }
        }
    }
    (None, None, request_id)
}

/// Classify a Huawei error code with the HTTP status it came with.
pub fn classify(status: u16, code: &str, message: &str) -> ErrorKind {
    // API Gateway rate limiting (APIGW.0308 "The throttling threshold has been reached").
    if code == "APIGW.0308" || status == 429 {
        return ErrorKind::Throttled;
    }
    // APIGW.03xx: authentication / authorization failures at the gateway
    // (APIGW.0301 "Incorrect IAM authentication information", APIGW.0302 not authorized, ...).
    if code.starts_with("APIGW.03") || code.starts_with("IAM.") || code == "Ecs.0003" {
        return ErrorKind::Auth;
    }
    // APIGW.01xx: the API itself does not exist — a request (or endpoint) problem.
    if code.starts_with("APIGW.01") || code.starts_with("APIGW.02") {
        return ErrorKind::InvalidRequest;
    }
    match code {
        // The server does not exist.
        "Ecs.0114" | "Ecs.0614" => return ErrorKind::NotFound,
        // "Invalid ECS status. Change the status and try again."
        "Ecs.0100" => return ErrorKind::WrongState,
        // ECS / EIP quota.
        "Ecs.0001" | "Ecs.0013" => return ErrorKind::Quota,
        _ => {}
    }
    if status >= 500 {
        return ErrorKind::Transient;
    }
    match status {
        401 | 403 => ErrorKind::Auth,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::WrongState,
        _ if message.to_ascii_lowercase().contains("quota") => ErrorKind::Quota,
        _ => ErrorKind::InvalidRequest,
    }
}

/// Build the error for a non-2xx answer.
pub fn from_response(
    status: u16,
    header_request_id: Option<String>,
    retry_after: Option<Duration>,
    body: &str,
) -> ProviderError {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let (code, message, body_rid) = parse_body(&parsed);
    let code = code
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| status.to_string());
    let message = message.unwrap_or_else(|| {
        let t: String = body.chars().take(300).collect();
        if t.is_empty() {
            format!("HTTP status {status} without a body")
        } else {
            t
        }
    });
    let kind = classify(status, &code, &message);
    let mut e =
        ProviderError::new(kind, code, message).with_request_id(header_request_id.or(body_rid));
    e.retry_after = retry_after;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_shape() {
        let e = from_response(
            404,
            Some("req-1".into()),
            None,
            r#"{"error":{"message":"Instance[abc] could not be found.","code":"Ecs.0114"}}"#,
        );
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.code, "Ecs.0114");
        assert_eq!(e.message, "Instance[abc] could not be found.");
        assert_eq!(e.request_id.as_deref(), Some("req-1"));
    }

    #[test]
    fn gateway_shape() {
        let e = from_response(
            401,
            None,
            None,
            r#"{"error_msg":"Incorrect IAM authentication information: verify aksk signature fail","error_code":"APIGW.0301","request_id":"abc"}"#,
        );
        assert_eq!(e.kind, ErrorKind::Auth);
        assert_eq!(e.code, "APIGW.0301");
        assert_eq!(e.request_id.as_deref(), Some("abc"));
        let t = from_response(
            429,
            None,
            None,
            r#"{"error_msg":"The throttling threshold has been reached: policy user over ratelimit,limit:10,time:1 minute","error_code":"APIGW.0308","request_id":"x"}"#,
        );
        assert_eq!(t.kind, ErrorKind::Throttled);
    }

    #[test]
    fn nova_shape_and_fallbacks() {
        let e = from_response(
            409,
            None,
            None,
            r#"{"conflictingRequest":{"message":"Cannot 'os-stop' instance while it is in vm_state stopped","code":409}}"#,
        );
        assert_eq!(e.kind, ErrorKind::WrongState);
        assert_eq!(e.code, "409");
        let e = from_response(503, None, None, "upstream unavailable");
        assert_eq!(e.kind, ErrorKind::Transient);
        assert_eq!(e.message, "upstream unavailable");
    }

    #[test]
    fn classification_table() {
        assert_eq!(classify(400, "Ecs.0001", ""), ErrorKind::Quota);
        assert_eq!(classify(400, "Ecs.0100", ""), ErrorKind::WrongState);
        assert_eq!(classify(403, "Ecs.0003", ""), ErrorKind::Auth);
        assert_eq!(classify(404, "APIGW.0101", ""), ErrorKind::InvalidRequest);
        assert_eq!(
            classify(400, "Ecs.0005", "bad json"),
            ErrorKind::InvalidRequest
        );
        assert_eq!(classify(500, "Ecs.0002", ""), ErrorKind::Transient);
    }
}
