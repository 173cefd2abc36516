//! Alibaba Cloud error envelope and its classification into [`ErrorKind`].
//!
//! Every failed RPC call answers with a non-2xx status and
//! `{"RequestId": "...", "HostId": "...", "Code": "...", "Message": "...", "Recommend": "..."}`.

use std::time::Duration;

use serde::Deserialize;

use crate::provider::{ErrorKind, ProviderError};

/// The JSON error body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorEnvelope {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub host_id: Option<String>,
}

/// Classify an Alibaba error code (plus the HTTP status it came with).
pub fn classify(status: u16, code: &str) -> ErrorKind {
    match code {
        "DryRunOperation" => return ErrorKind::DryRunOk,
        "Throttling"
        | "Throttling.User"
        | "Throttling.Api"
        | "Throttling.Resource"
        | "ServiceUnavailable"
        | "InternalError"
        | "UnknownError"
        | "OperationConflict"
        | "LastTokenProcessing"
        | "SignatureNonceUsed" => {
            return if code.starts_with("Throttling") {
                ErrorKind::Throttled
            } else {
                ErrorKind::Transient
            };
        }
        "InvalidAccessKeyId.NotFound"
        | "InvalidAccessKeyId.Inactive"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "InvalidTimeStamp.Expired"
        | "InvalidSecurityToken.Expired"
        | "InvalidSecurityToken.Malformed"
        | "InvalidSecurityToken.MismatchWithAccessKey"
        | "NoPermission"
        | "InvalidAccessKeySecret" => return ErrorKind::Auth,
        "OperationDenied.NoStock" => return ErrorKind::Quota,
        _ => {}
    }
    if code.starts_with("Throttling") {
        ErrorKind::Throttled
    } else if code.starts_with("IncorrectInstanceStatus") {
        ErrorKind::WrongState
    } else if code.starts_with("Forbidden") {
        ErrorKind::Auth
    } else if code.starts_with("InvalidInstanceId.NotFound") {
        ErrorKind::NotFound
    } else if code.starts_with("QuotaExceed") {
        ErrorKind::Quota
    } else if status == 429 {
        ErrorKind::Throttled
    } else if status >= 500 {
        ErrorKind::Transient
    } else if status == 401 {
        ErrorKind::Auth
    } else {
        // Alibaba answers 403 for many request problems (IncorrectInstanceStatus,
        // InvalidInstanceType.ValueUnauthorized, OperationDenied.*), so 403 alone is not Auth.
        ErrorKind::InvalidRequest
    }
}

/// Build the error for a non-2xx answer. `body` is the raw response text.
pub fn from_response(
    status: u16,
    header_request_id: Option<String>,
    retry_after: Option<Duration>,
    body: &str,
) -> ProviderError {
    let env: ErrorEnvelope = serde_json::from_str(body).unwrap_or_default();
    let code = env
        .code
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| format!("HTTP{status}"));
    let message = env.message.unwrap_or_else(|| {
        let trimmed: String = body.chars().take(300).collect();
        if trimmed.is_empty() {
            format!("HTTP status {status} without a body")
        } else {
            trimmed
        }
    });
    let kind = classify(status, &code);
    let message = redact_string_to_sign(message);
    let mut e = ProviderError::new(kind, code, message)
        .with_request_id(env.request_id.or(header_request_id));
    e.retry_after = retry_after;
    e
}

/// `SignatureDoesNotMatch` messages end with the server's string to sign, which holds
/// every request parameter (passwords and user data included). Keep only the sentence.
fn redact_string_to_sign(message: String) -> String {
    match message.find("string to sign is:") {
        Some(i) => format!("{}string to sign is: <redacted>", &message[..i]),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let cases = [
            (400, "Throttling", ErrorKind::Throttled),
            (400, "Throttling.User", ErrorKind::Throttled),
            (400, "Throttling.Api", ErrorKind::Throttled),
            (503, "ServiceUnavailable", ErrorKind::Transient),
            (500, "InternalError", ErrorKind::Transient),
            (403, "IncorrectInstanceStatus", ErrorKind::WrongState),
            (
                403,
                "IncorrectInstanceStatus.Initializing",
                ErrorKind::WrongState,
            ),
            (404, "InvalidAccessKeyId.NotFound", ErrorKind::Auth),
            (400, "SignatureDoesNotMatch", ErrorKind::Auth),
            (400, "InvalidAccessKeyId.Inactive", ErrorKind::Auth),
            (403, "Forbidden.RAM", ErrorKind::Auth),
            (403, "Forbidden", ErrorKind::Auth),
            (404, "InvalidInstanceId.NotFound", ErrorKind::NotFound),
            (403, "QuotaExceed.ElasticQuota", ErrorKind::Quota),
            (403, "OperationDenied.NoStock", ErrorKind::Quota),
            (400, "DryRunOperation", ErrorKind::DryRunOk),
            (400, "InvalidParameter", ErrorKind::InvalidRequest),
            (404, "InvalidImageId.NotFound", ErrorKind::InvalidRequest),
            (502, "SomethingNew", ErrorKind::Transient),
        ];
        for (status, code, want) in cases {
            assert_eq!(classify(status, code), want, "{status} {code}");
        }
    }

    #[test]
    fn envelope_preserved() {
        let body = r#"{"RequestId":"6EF6B6A1-1111","HostId":"ecs.aliyuncs.com","Code":"InvalidInstanceType.ValueUnauthorized","Message":"The specified InstanceType is not authorized.","Recommend":"https://api.aliyun.com/troubleshoot?q=x"}"#;
        let e = from_response(403, Some("hdr".into()), None, body);
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert_eq!(e.code, "InvalidInstanceType.ValueUnauthorized");
        assert_eq!(e.message, "The specified InstanceType is not authorized.");
        assert_eq!(e.request_id.as_deref(), Some("6EF6B6A1-1111"));
    }

    #[test]
    fn string_to_sign_is_redacted() {
        let body = r#"{"RequestId":"r","Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&Password%3DSecr3t%2521"}"#;
        let e = from_response(400, None, None, body);
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(!e.message.contains("Secr3t"), "{}", e.message);
        assert!(e.message.starts_with("Specified signature is not matched"));
    }

    #[test]
    fn non_json_body() {
        let e = from_response(502, Some("r-1".into()), None, "<html>bad gateway</html>");
        assert_eq!(e.kind, ErrorKind::Transient);
        assert_eq!(e.code, "HTTP502");
        assert!(e.message.contains("bad gateway"));
        assert_eq!(e.request_id.as_deref(), Some("r-1"));
    }
}
