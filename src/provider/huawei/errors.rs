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

/// The specific code of an ECS error body, `error.details[].code` (the first non-empty
/// one): the create pages show a general code with the specific one under it,
/// `{"error": {"message": "privateIp [%s] is not in this subnet [%s]", "code": "Ecs.0005",
/// "details": [{"code": "Ecs.0039"}]}}` (响应示例 of
/// https://support.huaweicloud.com/api-ecs/zh-cn_topic_0020212668.html and ecs_02_0101.html).
pub fn detail_code(v: &Value) -> Option<String> {
    let err = v.get("error").unwrap_or(v);
    err.get("details")?
        .as_array()?
        .iter()
        .filter_map(|d| d.get("code").and_then(as_text))
        .find(|c| !c.trim().is_empty())
}

/// The number of an `Ecs.NNNN` code.
fn ecs_number(code: &str) -> Option<u16> {
    code.strip_prefix("Ecs.")
        .filter(|n| n.len() == 4)
        .and_then(|n| n.parse().ok())
}

/// Classify an `Ecs.NNNN` code by the ECS error-code table (API reference "Error Codes",
/// https://support.huaweicloud.com/api-ecs/ecs_07_0002.html; docs/provider-contract.md,
/// Huawei §17). The page warns that its HTTP statuses "may not be accurate": the code
/// decides, so these come before any status rule. `None`: not listed here.
fn classify_ecs(n: u16) -> Option<ErrorKind> {
    use ErrorKind::*;
    Some(match n {
        // The server does not exist.
        114 | 614 => NotFound,
        // Status does not allow the operation (0100), server locked (0605), frozen (0030),
        // system disk being backed up (0073).
        100 | 605 | 30 | 73 => WrongState,
        // Quotas (ECS 0001, EIP 0013, EVS 0021, server group 0022) and capacity: flavor sold
        // out (0018), disk type sold out (0044), not enough capacity of the flavor (0319).
        1 | 13 | 21 | 22 | 18 | 44 | 319 => Quota,
        // Account restricted (0003 "账户受限": balance too low, frozen, op_suspended),
        // not real-name verified / insufficient balance / partner / no payment method /
        // budget / suspended (0066-0071), order creation failed (7000): a billing state of
        // the account, not bad keys. Terminal until the account is fixed (Quota's long
        // back-off), and a credential stays Ready.
        3 | 66..=71 | 7000 => Quota,
        // Permission elevation failed (0004), no permission (0110), the project in the URL
        // is not the token's (0023): the credential's configuration.
        4 | 110 | 23 => Auth,
        // "A system exception occurred, try again later" and the "failed to create / query /
        // release …" family (OpenStack, IAM, VPC, EVS access failures), documented with HTTP
        // 400: retry with back-off. 0603 (501): another command is running, retry in 1 min;
        // 0615: internal.
        2
        | 101
        | 102
        | 106
        | 201..=227
        | 301..=323
        | 401..=405
        | 501..=503
        | 507
        | 603
        | 610..=612
        | 615..=618
        | 701
        | 702
        | 1000..=1002
        | 1100
        | 1200
        | 1201
        | 1300 => Transient,
        _ => return None,
    })
}

/// Classify a Huawei error code with the HTTP status it came with.
pub fn classify(status: u16, code: &str, message: &str) -> ErrorKind {
    // API Gateway rate limiting (APIGW.0308 "The throttling threshold has been reached").
    if code == "APIGW.0308" || status == 429 {
        return ErrorKind::Throttled;
    }
    // APIGW.03xx: authentication / authorization failures at the gateway
    // (APIGW.0301 "Incorrect IAM authentication information", APIGW.0302 not authorized, ...).
    if code.starts_with("APIGW.03") || code.starts_with("IAM.") {
        return ErrorKind::Auth;
    }
    // APIGW.01xx: the API itself does not exist — a request (or endpoint) problem.
    if code.starts_with("APIGW.01") || code.starts_with("APIGW.02") {
        return ErrorKind::InvalidRequest;
    }
    if let Some(kind) = ecs_number(code).and_then(classify_ecs) {
        return kind;
    }
    // A security group the account does not have (VPC error table, vpc_api_0003, 查询安全组:
    // 404 VPC.0603 "Securitygroup is not exist.", 400 VPC.0601 "Securitygroup id is
    // invalid."), answered by the port security-group calls: the spec names a wrong group,
    // not a vanished server. Terminal, reported on the object.
    if code == "VPC.0603" || code == "VPC.0601" {
        return ErrorKind::InvalidRequest;
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
    let mut kind = classify(status, &code, &message);
    // A specific code under the general one decides when the ECS table classifies it (a
    // general Ecs.0005 "invalid parameter" may carry e.g. a quota code); the error then
    // names the specific code, and the message keeps the general one. Nothing but the
    // cloud's own code and message is used.
    let (code, message) = match detail_code(&parsed) {
        Some(detail) if detail != code => {
            if let Some(k) = ecs_number(&detail).and_then(classify_ecs) {
                kind = k;
            }
            (detail, format!("{message} ({code})"))
        }
        _ => (code, message),
    };
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

    /// The documented body with a specific code in `details` (create pages' 响应示例).
    #[test]
    fn the_specific_code_in_details_decides() {
        let e = from_response(
            400,
            None,
            None,
            r#"{"error":{"message":"privateIp [10.1.2.3] is not in this subnet [s1]","code":"Ecs.0005","details":[{"code":"Ecs.0039"}]}}"#,
        );
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert_eq!(e.code, "Ecs.0039");
        assert_eq!(
            e.message,
            "privateIp [10.1.2.3] is not in this subnet [s1] (Ecs.0005)"
        );
        // the detail's class wins over the general code's
        let q = from_response(
            400,
            None,
            None,
            r#"{"error":{"message":"m","code":"Ecs.0005","details":[{"code":""},{"code":"Ecs.0013"}]}}"#,
        );
        assert_eq!((q.kind, q.code.as_str()), (ErrorKind::Quota, "Ecs.0013"));
        // a detail the table does not classify keeps the general code's class
        let t = from_response(
            400,
            None,
            None,
            r#"{"error":{"message":"m","code":"Ecs.0002","details":[{"code":"X.1"}]}}"#,
        );
        assert_eq!((t.kind, t.code.as_str()), (ErrorKind::Transient, "X.1"));
        // no details, empty details, or the same code: unchanged
        for body in [
            r#"{"error":{"message":"m","code":"Ecs.0005"}}"#,
            r#"{"error":{"message":"m","code":"Ecs.0005","details":[]}}"#,
            r#"{"error":{"message":"m","code":"Ecs.0005","details":[{"code":"Ecs.0005"}]}}"#,
        ] {
            let e = from_response(400, None, None, body);
            assert_eq!(
                (e.code.as_str(), e.message.as_str()),
                ("Ecs.0005", "m"),
                "{body}"
            );
        }
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
        assert_eq!(classify(404, "APIGW.0101", ""), ErrorKind::InvalidRequest);
        assert_eq!(
            classify(400, "Ecs.0005", "bad json"),
            ErrorKind::InvalidRequest
        );
        assert_eq!(classify(500, "Ecs.0002", ""), ErrorKind::Transient);
    }

    /// The ECS error-code table, https://support.huaweicloud.com/api-ecs/ecs_07_0002.html,
    /// with the HTTP statuses it documents (the code decides, not the status).
    #[test]
    fn classification_from_the_documented_error_codes() {
        use ErrorKind::*;
        for (status, code, kind) in [
            // Ecs.0003 is an account restriction (balance, frozen), not bad keys.
            (403, "Ecs.0003", Quota),
            (403, "Ecs.0066", Quota),
            (403, "Ecs.0071", Quota),
            (400, "Ecs.7000", Quota),
            // "System exception, try again later" codes come with HTTP 400: retryable.
            (400, "Ecs.0002", Transient),
            (400, "Ecs.0101", Transient),
            (400, "Ecs.0106", Transient),
            (400, "Ecs.0201", Transient),
            (400, "Ecs.0227", Transient),
            (400, "Ecs.0301", Transient),
            (400, "Ecs.0401", Transient),
            (400, "Ecs.0501", Transient),
            (400, "Ecs.1000", Transient),
            (400, "Ecs.1002", Transient),
            (400, "Ecs.1100", Transient),
            (400, "Ecs.1200", Transient),
            (400, "Ecs.1201", Transient),
            (400, "Ecs.1300", Transient),
            (501, "Ecs.0603", Transient),
            (500, "Ecs.0615", Transient),
            // Capacity and quotas.
            (400, "Ecs.0013", Quota),
            (400, "Ecs.0018", Quota),
            (400, "Ecs.0021", Quota),
            (400, "Ecs.0022", Quota),
            (400, "Ecs.0044", Quota),
            (400, "Ecs.0319", Quota),
            // Wrong states.
            (400, "Ecs.0100", WrongState),
            (409, "Ecs.0100", WrongState),
            (400, "Ecs.0605", WrongState),
            (400, "Ecs.0030", WrongState),
            (400, "Ecs.0073", WrongState),
            // Credential configuration.
            (400, "Ecs.0004", Auth),
            (403, "Ecs.0110", Auth),
            (400, "Ecs.0023", Auth),
            // Not found.
            (404, "Ecs.0114", NotFound),
            (404, "Ecs.0614", NotFound),
            // Parameter and idempotency misuse stay terminal.
            (400, "Ecs.0122", InvalidRequest),
            // A spot server cannot change its flavor: no retry helps.
            (400, "Ecs.0704", InvalidRequest),
            (400, "Ecs.0123", InvalidRequest),
            (400, "Ecs.0124", InvalidRequest),
            (400, "Ecs.0513", InvalidRequest),
            (400, "Ecs.0905", InvalidRequest),
            // Flavor families that cannot switch on resize (H2, large-memory, KVM →
            // QingTian driver check, a risky switch): terminal, reported on the object.
            (400, "Ecs.0804", InvalidRequest),
            (400, "Ecs.0805", InvalidRequest),
            (400, "Ecs.0806", InvalidRequest),
            (400, "Ecs.0812", InvalidRequest),
            (400, "Ecs.0813", InvalidRequest),
            // Networks the account does not have: terminal, reported on the object.
            (400, "Ecs.0038", InvalidRequest),
            (400, "Ecs.0014", InvalidRequest),
            (400, "Ecs.0064", InvalidRequest),
            // VPC port module (https://support.huaweicloud.com/api-vpc/vpc_api_0003.html):
            // VPC.2502 is "Port xx not found" with 404 and a back-end failure with 500.
            (404, "VPC.2502", NotFound),
            (500, "VPC.2502", Transient),
            (400, "VPC.2500", InvalidRequest),
            // A security group that does not exist is the spec's fault, not a missing server.
            (404, "VPC.0603", InvalidRequest),
            (400, "VPC.0601", InvalidRequest),
        ] {
            assert_eq!(classify(status, code, ""), kind, "{code} (HTTP {status})");
        }
        assert_eq!(ecs_number("Ecs.12345"), None);
        assert_eq!(ecs_number("Ecs.00x1"), None);
    }
}
