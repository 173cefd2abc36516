//! The one error type every provider returns, classified so callers know what to do.

use std::time::Duration;

/// Longest error code kept (the clouds' codes are under 80 characters).
pub const MAX_CODE: usize = 128;
/// Longest error message kept, in bytes.
pub const MAX_MESSAGE: usize = 2048;

/// What kind of failure this is, which decides the caller's reaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Rate limited: retry later, slower.
    Throttled,
    /// 5xx, internal errors, timeouts, dropped connections: retry with backoff.
    Transient,
    /// Keys wrong, expired or not allowed: terminal until the credential changes.
    Auth,
    /// The request itself is wrong: terminal until the spec changes.
    InvalidRequest,
    /// The instance (or other resource) does not exist.
    NotFound,
    /// The instance is in a state that does not allow the operation (e.g. stop a stopped one).
    WrongState,
    /// Quota exhausted or capacity sold out.
    Quota,
    /// The cloud accepted a dry run: the real request would succeed.
    DryRunOk,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Throttled => "Throttled",
            Self::Transient => "Transient",
            Self::Auth => "Auth",
            Self::InvalidRequest => "InvalidRequest",
            Self::NotFound => "NotFound",
            Self::WrongState => "WrongState",
            Self::Quota => "Quota",
            Self::DryRunOk => "DryRunOk",
        }
    }

    /// Whether retrying the same call may succeed without anything else changing.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Throttled | Self::Transient)
    }
}

/// An error from a cloud (or from talking to it). Carries the provider's own code and
/// message so users see exactly what the cloud said. Never contains credentials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}{}", request_id.as_deref().map(|r| format!(" (RequestId {r})")).unwrap_or_default())]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// The provider's error code, e.g. `InvalidParameterValue`, or a local one such as `Transport`.
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    /// A server-suggested wait before retrying, when the cloud gives one.
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    /// Codes and messages come from the wire: both are clipped (on a character boundary)
    /// so a hostile or chatty endpoint cannot bloat conditions, events or logs.
    pub fn new(kind: ErrorKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: crate::text::clip(&code.into(), MAX_CODE),
            message: crate::text::clip(&message.into(), MAX_MESSAGE),
            request_id: None,
            retry_after: None,
        }
    }

    pub fn with_request_id(mut self, id: Option<String>) -> Self {
        self.request_id = id.map(|r| crate::text::clip(&r, 128));
        self
    }

    /// A network-level failure; see [`super::http::transport`] (never carries the URL).
    pub fn transport(err: &reqwest::Error) -> Self {
        super::http::transport(err)
    }

    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// `code: message` without the per-call RequestId: stable across retries, so it can
    /// go into a status condition without making every attempt a status change.
    pub fn summary(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }
}
