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
//! - `ResourceUnavailable*` ("Unavailable resource") is Transient, except
//!   `ResourceUnavailable.InstanceType` (the zone does not sell the type), which is Quota;
//!   `ResourceInsufficient*` and `ResourcesSoldOut.*` (sold out) are Quota.
//! - `UnsupportedOperation.InstanceState{Corrupted,Banning,Freezing}` are InvalidRequest
//!   (terminal): no retry leaves a permanently failed, banned or frozen instance.
//! - `ResourceInUse*` and `MutexOperation*` ("The same task is running") are WrongState: the
//!   target is busy, retry after the current operation ends.
//! - `InvalidPermission`, `AccountQualificationRestrictions` and `UnauthorizedOperation*` are
//!   Auth: the account or key is not allowed, terminal until the credential changes.
//! - `InvalidAccount.InsufficientBalance`, `InvalidAccount.UnpaidOrder` are Quota (billing
//!   blocks the purchase until the account is topped up), as are `*QuotaLimitExceeded`,
//!   `OverQuota`, `LimitExceeded*`, `*.LimitExceeded` outside parameter validation.
//! - `InvalidInstanceId.NotFound` and `ResourceNotFound.InvalidInstanceIdNotFound` are
//!   NotFound; every other `ResourceNotFound.*` and ids of other things that do not exist
//!   (image, key, host, project) are InvalidRequest, because for the caller "not found" means
//!   "the instance is gone".
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

    // Exact codes first. Descriptions quoted from `tencentcloud-sdk-python-cvm` 3.1.178
    // `tencentcloud/cvm/v20170312/errorcodes.py` (PYE); docs/provider-contract.md, Tencent §3.
    match code {
        "DryRunOperation" => return DryRunOk,
        "InvalidInstanceId.NotFound" => return NotFound,
        // PYE "实例ID未找到" (instance id not found): the one ResourceNotFound.* about the
        // instance itself.
        "ResourceNotFound.InvalidInstanceIdNotFound" => return NotFound,
        // The instance is in a state no retry leaves: PYE "请求不支持永久故障的实例"
        // (permanently failed), "该子机处于封禁状态，请联系相关人员处理" (banned: contact
        // support), "操作不支持已冻结的实例" (frozen). Terminal, so the error is shown and
        // the long back-off applies instead of a wrong-state retry every few seconds.
        "UnsupportedOperation.InstanceStateCorrupted"
        | "UnsupportedOperation.InstanceStateBanning"
        | "UnsupportedOperation.InstanceStateFreezing" => return InvalidRequest,
        // The zone does not sell the type (PYE "该可用区不售卖此机型"): capacity, not a
        // transient fault; see DescribeZoneInstanceConfigInfos.
        "ResourceUnavailable.InstanceType" => return Quota,
        // Capacity: PYE "子网可用IP已耗尽" (subnet out of IPs), "竞价数量不足" / "竞价失败"
        // (spot capacity / price).
        "FailedOperation.NoAvailableIpAddressCountInSubnet"
        | "InvalidParameterValue.InsufficientOffering"
        | "InvalidParameterValue.InsufficientPrice" => return Quota,
        // Billing: PYE "实例存在未支付订单" (the instance has an unpaid order).
        "UnsupportedOperation.NotSupportUnpaidOrder" => return Quota,
        // PYE "不支持该账户的操作" (operation not supported for this account).
        "OperationDenied.AccountNotSupported" => return Auth,
        // PYE "镜像被其他操作占用，请检查，并稍后重试" (image busy, retry later).
        "InvalidParameterValue.InvalidImageState" => return Transient,
        // The target type cannot hold the instance's current ENIs, EIPs or bandwidth (PYE
        // "需删除部分ENI后重试", "请删除部分EIP后重试", "目标实例规格不支持当前规格的外网带宽上限"):
        // the request must change, no quota increase helps.
        "LimitExceeded.EniLimitInstanceType"
        | "LimitExceeded.EniNumLimit"
        | "LimitExceeded.EipNumLimit"
        | "LimitExceeded.InstanceTypeBandwidth" => return InvalidRequest,
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
        // ResourceNotFound.* names a key pair, a zone/type pair, a cluster, a placement set or
        // a disk type (PYE `ResourceNotFound.KeyPairNotFound` "指定密钥对不存在",
        // `.InvalidZoneInstanceType` "可用区不支持此机型", `.HpcCluster`, `.NoDefaultCbs`,
        // `.InvalidPlacementSet`): a wrong request, never "the instance is gone".
        "ResourceNotFound" => return InvalidRequest,
        // Sold out (PYE `ResourcesSoldOut.SpecifiedInstanceType` "指定的实例类型已售罄",
        // `.AvailableZone` "该可用区已售罄", `.EipInsufficient` "公网IP已售罄"): capacity.
        "ResourceInsufficient" | "LimitExceeded" | "ResourcesSoldOut" => return Quota,
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
    // VpcAddrNotInSubNet, VpcIpIsUsed and anything not yet documented.
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
        ("ResourceNotFound", InvalidRequest),
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
        ("ResourceNotFound.InvalidPlacementSet", InvalidRequest),
        ("VpcAddrNotInSubNet", InvalidRequest),
        ("VpcIpIsUsed", InvalidRequest),
        // Codes of newer API revisions named in the brief / seen on the live API.
        ("RequestLimitExceeded.UinLimitExceeded", Throttled),
        (
            "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
            Throttled,
        ),
        ("RequestLimitExceeded.IPLimitExceeded", Throttled),
        ("InternalError.TradeUnknownError", Transient),
        ("ResourceUnavailable.InstanceType", Quota),
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

    /// Classifications decided from the official per-code descriptions (issue 14;
    /// `tencentcloud-sdk-python-cvm` 3.1.178 `errorcodes.py`, `tencentcloud-sdk-go`
    /// `cvm/v20170312/client.go` per-action lists).
    #[test]
    fn classifications_from_the_official_error_lists() {
        for (code, kind) in [
            // Permanently failed / banned / frozen: terminal, not a wrong-state retry loop.
            (
                "UnsupportedOperation.InstanceStateCorrupted",
                InvalidRequest,
            ),
            ("UnsupportedOperation.InstanceStateBanning", InvalidRequest),
            ("UnsupportedOperation.InstanceStateFreezing", InvalidRequest),
            // Ordinary wrong states stay WrongState, the platform's live migration too (it
            // ends by itself; errors.go "不支持状态为 `ENTER_SERVICE_LIVE_MIGRATE`.的实例").
            ("UnsupportedOperation.InstanceStateRunning", WrongState),
            ("UnsupportedOperation.InstanceStateStopped", WrongState),
            (
                "UnsupportedOperation.InstanceStateEnterServiceLiveMigrate",
                WrongState,
            ),
            (
                "UnsupportedOperation.InstanceStateServiceLiveMigrate",
                WrongState,
            ),
            (
                "UnsupportedOperation.InstanceStateExitServiceLiveMigrate",
                WrongState,
            ),
            // errors.go "退还失败，退还配额已达上限": the account's return quota, not the
            // request (a later return, or `deletionPolicy: Orphan`, gets past it).
            ("LimitExceeded.UserReturnQuota", Quota),
            // errors.go "促销期内购买的实例不允许调整配置或计费模式": no retry changes it.
            (
                "FailedOperation.PromotionalPerioRestriction",
                InvalidRequest,
            ),
            // Not sold in the zone, sold out: capacity, not transient.
            ("ResourceUnavailable.InstanceType", Quota),
            ("ResourcesSoldOut.SpecifiedInstanceType", Quota),
            ("ResourcesSoldOut.AvailableZone", Quota),
            ("ResourcesSoldOut.EipInsufficient", Quota),
            ("FailedOperation.NoAvailableIpAddressCountInSubnet", Quota),
            ("InvalidParameterValue.InsufficientOffering", Quota),
            ("InvalidParameterValue.InsufficientPrice", Quota),
            ("UnsupportedOperation.NotSupportUnpaidOrder", Quota),
            // Other ResourceUnavailable codes stay transient.
            ("ResourceUnavailable", Transient),
            // ResourceNotFound.* about other things than the instance: not "gone".
            ("ResourceNotFound.KeyPairNotFound", InvalidRequest),
            ("ResourceNotFound.InvalidZoneInstanceType", InvalidRequest),
            ("ResourceNotFound.HpcCluster", InvalidRequest),
            ("ResourceNotFound.NoDefaultCbs", InvalidRequest),
            ("ResourceNotFound.NoDefaultCbsWithReason", InvalidRequest),
            ("ResourceNotFound.InvalidInstanceIdNotFound", NotFound),
            ("InvalidInstanceId.NotFound", NotFound),
            // The target type cannot hold what the instance has: change the request.
            ("LimitExceeded.EniLimitInstanceType", InvalidRequest),
            ("LimitExceeded.EniNumLimit", InvalidRequest),
            ("LimitExceeded.EipNumLimit", InvalidRequest),
            ("LimitExceeded.InstanceTypeBandwidth", InvalidRequest),
            ("LimitExceeded.InstanceQuota", Quota),
            ("OperationDenied.AccountNotSupported", Auth),
            ("InvalidParameterValue.InvalidImageState", Transient),
        ] {
            assert_eq!(classify(code), kind, "{code}");
        }
    }

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
