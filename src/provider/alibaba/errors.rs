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
///
/// Sources: the common error table (AlibabaCloudDocs/ecs @322eaab8 `intl.en-US/API
/// Reference/Call methods/Response results.md`, "D:" below) and the per-action error tables
/// of the same repository (`API Reference/Instances/<Action>.md`); the SDK
/// `alibabacloud-ecs20140526` 7.11.8 for dry-run answers. docs/provider-contract.md,
/// Alibaba §7, lists every code with its class.
pub fn classify(status: u16, code: &str) -> ErrorKind {
    match code {
        // `DRYRUN.SUCCESS` is the dry-run answer of the batch actions
        // (SDK `StartInstancesRequest.dry_run`, `StopInstancesRequest.dry_run`, ...).
        "DryRunOperation" | "DRYRUN.SUCCESS" => return ErrorKind::DryRunOk,
        // Wrong state, re-observe: ModifyInstanceSpec `InvalidInstanceStatus.NotStopped` (400),
        // `InvalidStatus.ValueNotSupported` (403); ModifyPrepayInstanceSpec
        // `InvalidStatus.NotStopped` (400), `InvalidInstanceStatus` (403);
        // ModifyInstanceAttribute `InvalidInstanceStatus.NotRunning`,
        // `InvalidOperation.InvalidEcsState` (400); ReplaceSystemDisk `IncorrectDiskStatus`,
        // `OperationDenied.InstanceCreating` (403); StartInstance `InstanceNotReady` (403).
        "InvalidInstanceStatus.NotStopped"
        | "InvalidStatus.ValueNotSupported"
        | "InvalidStatus.NotStopped"
        | "InvalidInstanceStatus"
        | "InvalidInstanceStatus.NotRunning"
        | "InvalidOperation.InvalidEcsState"
        | "IncorrectDiskStatus"
        | "OperationDenied.InstanceCreating"
        | "InstanceNotReady" => return ErrorKind::WrongState,
        // Retry later: ModifyPrepayInstanceSpec `LastOrderProcessing` (400, the previous
        // order is still being processed); ReplaceSystemDisk `DiskCreatingSnapshot` (403).
        "LastOrderProcessing" | "DiskCreatingSnapshot" => return ErrorKind::Transient,
        // Capacity and billing, terminal until stock or the account changes: RunInstances
        // `Zone.NotOnSale`, `InvalidResourceType.NotSupported` (403, no stock of the type);
        // D: `InsufficientBalance`, `Account.Arrearage`, `InvalidAccountStatus.NotEnoughBalance`;
        // StartInstance `DiskInArrears` (403).
        "Zone.NotOnSale"
        | "InvalidResourceType.NotSupported"
        | "InsufficientBalance"
        | "Account.Arrearage"
        | "InvalidAccountStatus.NotEnoughBalance"
        | "DiskInArrears"
        // A subscription the account cannot pay: RunInstances `InvalidPayMethod` (403, "If you
        // set this parameter to PrePaid, make sure that you have sufficient credit in your
        // account. Otherwise, the InvalidPayMethod error is returned", InstanceChargeType row),
        // `PaymentMethodNotFound` (404, "No payment method has been registered on the
        // account"); D: `RealNameAuthenticationError` (403). The account has to change, not
        // the spec: like Tencent's `InvalidAccount.InsufficientBalance`, the create is
        // reported and sent again later (or at once when the spec changes).
        | "InvalidPayMethod"
        | "PaymentMethodNotFound"
        | "RealNameAuthenticationError"
        // ModifyPrepayInstanceSpec `InstanceDowngrade.QuotaExceed` (400, at most three
        // downgrades per subscription instance); ModifyInstanceChargeType
        // `QuotaExceed.RufundVcpu` (400, the monthly refund quota) by the prefix rule below.
        | "InstanceDowngrade.QuotaExceed" => return ErrorKind::Quota,
        // The account or key may not do this: DescribeRegions `Unauthorized.EmptyRegion`
        // (403); D: `InvalidUser.Unauthorized`, `InvalidUser.PassRoleForbidden` (403),
        // `RegionUnauthorized`.
        "Unauthorized.EmptyRegion"
        | "InvalidUser.Unauthorized"
        | "InvalidUser.PassRoleForbidden"
        | "RegionUnauthorized" => return ErrorKind::Auth,
        // RunInstances `InvalidRamRole.NotEcsRole` (401) names a parameter (the RAM role),
        // not the caller's keys: the blanket 401 rule below must not make it Auth.
        "InvalidRamRole.NotEcsRole" => return ErrorKind::InvalidRequest,
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

    /// Codes from the official per-action and common error tables (AlibabaCloudDocs/ecs
    /// `API Reference`; docs/provider-contract.md, Alibaba §7), issue 14 findings F5/F16.
    #[test]
    fn classification_from_the_documented_error_tables() {
        use ErrorKind::*;
        for (status, code, want) in [
            (400, "InvalidInstanceStatus.NotStopped", WrongState),
            (403, "InvalidStatus.ValueNotSupported", WrongState),
            (400, "InvalidStatus.NotStopped", WrongState),
            (403, "InvalidInstanceStatus", WrongState),
            (400, "InvalidInstanceStatus.NotRunning", WrongState),
            (400, "InvalidOperation.InvalidEcsState", WrongState),
            (403, "IncorrectDiskStatus", WrongState),
            (403, "OperationDenied.InstanceCreating", WrongState),
            (403, "InstanceNotReady", WrongState),
            (400, "LastOrderProcessing", Transient),
            (403, "DiskCreatingSnapshot", Transient),
            (403, "LastTokenProcessing", Transient),
            (400, "Zone.NotOnSale", Quota),
            (403, "InvalidResourceType.NotSupported", Quota),
            (403, "InsufficientBalance", Quota),
            (400, "Account.Arrearage", Quota),
            (403, "InvalidAccountStatus.NotEnoughBalance", Quota),
            (403, "DiskInArrears", Quota),
            (403, "InvalidPayMethod", Quota),
            (404, "PaymentMethodNotFound", Quota),
            (403, "RealNameAuthenticationError", Quota),
            (403, "Unauthorized.EmptyRegion", Auth),
            (403, "InvalidUser.Unauthorized", Auth),
            (403, "InvalidUser.PassRoleForbidden", Auth),
            (403, "RegionUnauthorized", Auth),
            (401, "InvalidRamRole.NotEcsRole", InvalidRequest),
            (401, "SomethingElse", Auth),
            (400, "DRYRUN.SUCCESS", DryRunOk),
            (400, "IdempotentParameterMismatch", InvalidRequest),
            (400, "InvalidClientToken.ValueNotSupported", InvalidRequest),
            (403, "ChargeTypeViolation", InvalidRequest),
            (400, "InstanceDowngrade.QuotaExceed", Quota),
            (400, "QuotaExceed.RufundVcpu", Quota),
            (403, "InvalidInstance.PreInstanceExpired", InvalidRequest),
            (403, "InstanceExpiredOrInArrears", InvalidRequest),
            (400, "ExpiredInstance", InvalidRequest),
            (400, "InstancesIdQuotaExceed", InvalidRequest),
            // Security groups of another VPC or unknown (RunInstances, JoinSecurityGroup and
            // ModifyInstanceAttribute): the spec has to change.
            (400, "InvalidParameter.Mismatch", InvalidRequest),
            (400, "InvalidInstanceId.Mismatch", InvalidRequest),
            (403, "OperationDenied.InconsistentNetwork", InvalidRequest),
            (404, "InvalidSecurityGroupId.NotFound", InvalidRequest),
        ] {
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
