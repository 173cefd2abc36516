//! Tencent error codes → [`ErrorKind`].
//!
//! Tencent codes are `Category` or `Category.Detail`. The rules below are checked in order;
//! the first match wins. Every code in the CVM 2017-03-12 reference (common error codes, the
//! authentication failures and every action's "Error Codes" list) is covered, either by an
//! exact entry or by a prefix rule; the unit test lists them all.
//!
//! Decisions where the documentation leaves room:
//! - `FailedOperation` (bare, "Operation failed") is Transient: it says nothing about the
//!   request being wrong, and retries are bounded. Its sub-codes name a concrete, lasting
//!   condition (e.g. `FailedOperation.PlacementSetNotEmpty`) and are InvalidRequest.
//! - `ResourceUnavailable*` ("Unavailable resource") is Transient; `ResourceInsufficient*`
//!   ("Insufficient resources": sold out) is Quota.
//! - `ResourceInUse*` and `MutexOperation*` ("The same task is running") are WrongState: the
//!   target is busy, retry after the current operation ends.
//! - `InvalidPermission`, `AccountQualificationRestrictions` and `UnauthorizedOperation*` are
//!   Auth: the account or key is not allowed, terminal until the credential changes.
//! - `InvalidAccount.InsufficientBalance`, `InvalidAccount.UnpaidOrder` are Quota (billing
//!   blocks the purchase until the account is topped up), as are `*QuotaLimitExceeded`,
//!   `OverQuota`, `LimitExceeded*`, `*.LimitExceeded` outside parameter validation.
//! - `InvalidInstanceId.NotFound` and `ResourceNotFound*` are NotFound; ids of other things
//!   that do not exist (image, key, host, project) are InvalidRequest, because for the caller
//!   "not found" means "the instance is gone".
//! - Unknown codes default to InvalidRequest (terminal, the provider's code and message are
//!   shown to the user) unless their category says otherwise.
//! - The 001 reference was produced by OCR and spells some codes with `ld` for `Id`
//!   (`InvalidInstanceld.NotFound`); those spellings are accepted too.

use crate::provider::ErrorKind;

/// Classify a Tencent error code.
pub fn classify(code: &str) -> ErrorKind {
    use ErrorKind::*;
    // Normalize the OCR `ld`/`Id` confusion of the reference so both spellings classify alike.
    let normalized = code.replace("Instanceld", "InstanceId");
    let code = normalized.as_str();
    let category = code.split('.').next().unwrap_or(code);

    // Exact codes first.
    match code {
        "DryRunOperation" => return DryRunOk,
        "InvalidInstanceId.NotFound" => return NotFound,
        "OperationDenied.InstanceOperationInProgress" => return WrongState,
        "InternalServerError" => return Transient,
        "FailedOperation" => return Transient,
        "InvalidPermission" | "AccountQualificationRestrictions" => return Auth,
        "InvalidAccount.InsufficientBalance" | "InvalidAccount.UnpaidOrder" => return Quota,
        "OverQuota" => return Quota,
        _ => {}
    }

    // State conflicts.
    if code.starts_with("UnsupportedOperation.InstanceState")
        || code.starts_with("InvalidInstanceState")
        || code.starts_with("IncorrectInstanceStatus")
        || category == "MutexOperation"
        || category == "ResourceInUse"
    {
        return WrongState;
    }

    match category {
        c if c.starts_with("RequestLimitExceeded") => return Throttled,
        "InternalError" | "ResourceUnavailable" => return Transient,
        c if c.starts_with("AuthFailure") || c.starts_with("UnauthorizedOperation") => {
            return Auth;
        }
        "ResourceNotFound" => return NotFound,
        "ResourceInsufficient" | "LimitExceeded" => return Quota,
        // Parameter validation: includes InvalidParameterValue.LimitExceeded (too many values
        // in one parameter), which is about the request, not the account's quota.
        "InvalidParameter"
        | "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "InvalidParameterValueLimit"
        | "InvalidParameterValueOffset"
        | "MissingParameter"
        | "UnknownParameter"
        | "InvalidFilter"
        | "InvalidFilterValue"
        | "InvalidAction"
        | "NoSuchVersion"
        | "UnsupportedRegion"
        | "UnsupportedOperation"
        | "OperationDenied"
        | "FailedOperation"
        | "RegionAbilityLimit" => return InvalidRequest,
        _ => {}
    }

    // Account/object quotas named in the code itself.
    if code.ends_with("QuotaLimitExceeded")
        || code.ends_with("QuotaExceeded")
        || code == "InvalidKeyPair.LimitExceeded"
        || code.ends_with(".InsufficientBalance")
    {
        return Quota;
    }

    // Every other `Invalid*` code names a malformed or unusable parameter: InvalidZone.*,
    // InvalidImageId.*, InvalidInstanceType.*, InvalidInstanceId.Malformed, InvalidPassword,
    // InvalidPeriod, InvalidClientToken.*, InvalidKey*, InvalidHostId.*, InvalidRegion.*, ...
    if category.starts_with("Invalid") {
        return InvalidRequest;
    }
    // VpcAddrNotInSubNet, VpcIpsUsed and anything not yet documented.
    InvalidRequest
}

/// Classify an HTTP failure whose body carries no Tencent error envelope.
pub fn classify_http_status(status: u16) -> ErrorKind {
    match status {
        429 => ErrorKind::Throttled,
        401 | 403 => ErrorKind::Auth,
        408 | 500..=599 => ErrorKind::Transient,
        _ => ErrorKind::InvalidRequest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorKind::*;

    /// Every code of the CVM API 2017-03-12 reference (seed 001): the common error codes,
    /// the authentication failures, and the union of every action's "Error Codes" table,
    /// spelled as printed there (OCR artifacts included), plus the codes the brief names
    /// from newer API revisions.
    const TABLE: &[(&str, ErrorKind)] = &[
        // Common error codes.
        ("InvalidParameter", InvalidRequest),
        ("InvalidParameterValue", InvalidRequest),
        ("MissingParameter", InvalidRequest),
        ("UnknownParameter", InvalidRequest),
        ("AuthFailure", Auth),
        ("InternalError", Transient),
        ("InvalidAction", InvalidRequest),
        ("UnauthorizedOperation", Auth),
        ("RequestLimitExceeded", Throttled),
        ("NoSuchVersion", InvalidRequest),
        ("UnsupportedRegion", InvalidRequest),
        ("UnsupportedOperation", InvalidRequest),
        ("ResourceNotFound", NotFound),
        ("LimitExceeded", Quota),
        ("ResourceUnavailable", Transient),
        ("ResourceInsufficient", Quota),
        ("FailedOperation", Transient),
        ("ResourceInUse", WrongState),
        ("DryRunOperation", DryRunOk),
        // Authentication failures.
        ("AuthFailure.SignatureExpire", Auth),
        ("AuthFailure.UnauthorizedOperation", Auth),
        ("AuthFailure.SecretIdNotFound", Auth),
        ("AuthFailure.SignatureFailure", Auth),
        ("AuthFailure.TokenFailure", Auth),
        ("AuthFailure.MFAFailure", Auth),
        ("AuthFailure.InvalidSecretId", Auth),
        // Per-action codes.
        ("AccountQualificationRestrictions", Auth),
        ("FailedOperation.PlacementSetNotEmpty", InvalidRequest),
        ("ImageQuotaLimitExceeded", Quota),
        ("InstancesQuotaLimitExceeded", Quota),
        ("InternalServerError", Transient),
        ("InvalidAccount.InsufficientBalance", Quota),
        ("InvalidAccount.UnpaidOrder", Quota),
        ("InvalidAccountId.NotFound", InvalidRequest),
        ("InvalidAccountIs.YourSelf", InvalidRequest),
        ("InvalidClientToken.TooLong", InvalidRequest),
        ("InvalidFilter", InvalidRequest),
        ("InvalidFilterValue.LimitExceeded", InvalidRequest),
        ("InvalidHost.NotSupported", InvalidRequest),
        ("InvalidHostId.Malformed", InvalidRequest),
        ("InvalidHostId.NotFound", InvalidRequest),
        ("InvalidImageId.InShared", InvalidRequest),
        ("InvalidImageId.IncorrectState", InvalidRequest),
        ("InvalidImageId.Malformed", InvalidRequest),
        ("InvalidImageId.NotFound", InvalidRequest),
        ("InvalidImageId.TooLarge", InvalidRequest),
        ("InvalidImageName.Duplicate", InvalidRequest),
        ("InvalidImageOsType.Unsupported", InvalidRequest),
        ("InvalidImageOsVersion.Unsupported", InvalidRequest),
        ("InvalidInstance.NotSupported", InvalidRequest),
        ("InvalidInstanceId.Malformed", InvalidRequest),
        ("InvalidInstanceId.NotFound", NotFound),
        ("InvalidInstanceName.TooLong", InvalidRequest),
        ("InvalidInstanceNotSupportedPrepaidInstance", InvalidRequest),
        ("InvalidInstanceState", WrongState),
        ("InvalidInstanceType.Malformed", InvalidRequest),
        ("InvalidInstanceld.Malformed", InvalidRequest),
        ("InvalidInstanceld.NotFound", NotFound),
        ("InvalidKeyId.Malformed", InvalidRequest),
        ("InvalidKeyId.NotFound", InvalidRequest),
        ("InvalidKeyName.Duplicate", InvalidRequest),
        ("InvalidKeyPair.LimitExceeded", Quota),
        ("InvalidKeyPairId.Malformed", InvalidRequest),
        ("InvalidKeyPairName.Duplicate", InvalidRequest),
        ("InvalidKeyPairName.Empty", InvalidRequest),
        ("InvalidKeyPairName.IncludeIllegalChar", InvalidRequest),
        ("InvalidKeyPairName.TooLong", InvalidRequest),
        ("InvalidKeyPairNameEmpty", InvalidRequest),
        ("InvalidKeyPairNameIncludelllegalChar", InvalidRequest),
        ("InvalidKeyPairNameTooLong", InvalidRequest),
        ("InvalidParameter.InvalidIpFormat", InvalidRequest),
        (
            "InvalidParameter.InvalidParameterCoexistImageldsFilters",
            InvalidRequest,
        ),
        ("InvalidParameter.InvalidParameterUrlError", InvalidRequest),
        ("InvalidParameter.ValueTooLarge", InvalidRequest),
        ("InvalidParameterCombination", InvalidRequest),
        (
            "InvalidParameterValue.InvalidParameterValueLimit",
            InvalidRequest,
        ),
        ("InvalidParameterValue.LimitExceeded", InvalidRequest),
        ("InvalidParameterValue.Range", InvalidRequest),
        ("InvalidParameterValue.TooLong", InvalidRequest),
        ("InvalidParameterValueLimit", InvalidRequest),
        ("InvalidParameterValueOffset", InvalidRequest),
        ("InvalidPassword", InvalidRequest),
        ("InvalidPeriod", InvalidRequest),
        ("InvalidPermission", Auth),
        ("InvalidProjectId.NotFound", InvalidRequest),
        ("InvalidPublicKey.Duplicate", InvalidRequest),
        ("InvalidPublicKey.Malformed", InvalidRequest),
        ("InvalidRegion.NotFound", InvalidRequest),
        ("InvalidRegion.Unavailable", InvalidRequest),
        ("InvalidZone.MismatchRegion", InvalidRequest),
        ("MutexOperation.TaskRunning", WrongState),
        ("OverQuota", Quota),
        (
            "RegionAbilityLimit.UnsupportedToImportImage",
            InvalidRequest,
        ),
        ("ResourceNotFound.InvalidPlacementSet", NotFound),
        ("VpcAddrNotInSubNet", InvalidRequest),
        ("VpcIpsUsed", InvalidRequest),
        // Codes of newer API revisions named in the brief / seen on the live API.
        ("RequestLimitExceeded.UinLimitExceeded", Throttled),
        (
            "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
            Throttled,
        ),
        ("RequestLimitExceeded.IPLimitExceeded", Throttled),
        ("InternalError.TradeUnknownError", Transient),
        ("ResourceUnavailable.InstanceType", Transient),
        ("ResourceInsufficient.CloudDiskSoldOut", Quota),
        ("ResourceInsufficient.SpecifiedInstanceType", Quota),
        ("LimitExceeded.InstanceQuota", Quota),
        ("LimitExceeded.SingleUSGQuota", Quota),
        ("UnauthorizedOperation.MFAExpired", Auth),
        ("UnsupportedOperation.InstanceStateRunning", WrongState),
        ("UnsupportedOperation.InstanceStateStopped", WrongState),
        ("UnsupportedOperation.InstanceStateShutdown", WrongState),
        ("UnsupportedOperation.InvalidDisk", InvalidRequest),
        ("OperationDenied.InstanceOperationInProgress", WrongState),
        ("OperationDenied", InvalidRequest),
        ("InvalidParameterValue.InvalidImageId", InvalidRequest),
        ("InvalidParameterValue.ZoneNotSupported", InvalidRequest),
        ("MissingParameter.MonitorService", InvalidRequest),
        ("UnknownParameter.Foo", InvalidRequest),
        ("InvalidInstanceType.NotFound", InvalidRequest),
        ("InvalidAccount.NewCode", InvalidRequest),
        ("SomethingNobodyDocumented", InvalidRequest),
    ];

    #[test]
    fn every_documented_code_is_classified() {
        let mut wrong = Vec::new();
        for (code, want) in TABLE {
            let got = classify(code);
            if got != *want {
                wrong.push(format!("{code}: got {got:?}, want {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
    }

    #[test]
    fn only_throttling_and_transient_errors_are_retryable() {
        for (code, kind) in TABLE {
            assert_eq!(
                classify(code).is_retryable(),
                matches!(kind, Throttled | Transient),
                "{code}"
            );
        }
    }

    #[test]
    fn http_status_without_envelope() {
        assert_eq!(classify_http_status(429), Throttled);
        assert_eq!(classify_http_status(500), Transient);
        assert_eq!(classify_http_status(502), Transient);
        assert_eq!(classify_http_status(503), Transient);
        assert_eq!(classify_http_status(504), Transient);
        assert_eq!(classify_http_status(408), Transient);
        assert_eq!(classify_http_status(401), Auth);
        assert_eq!(classify_http_status(403), Auth);
        assert_eq!(classify_http_status(404), InvalidRequest);
        assert_eq!(classify_http_status(400), InvalidRequest);
    }
}
