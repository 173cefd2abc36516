//! The one error type every provider returns, classified so callers know what to do.

use std::time::Duration;

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
    pub fn new(kind: ErrorKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: code.into(),
            message: message.into(),
            request_id: None,
            retry_after: None,
        }
    }

    pub fn with_request_id(mut self, id: Option<String>) -> Self {
        self.request_id = id;
        self
    }

    /// A network-level failure (connect, reset, timeout, undecodable body), or a request
    /// that could not even be built (terminal: sending it again cannot help).
    pub fn transport(err: &reqwest::Error) -> Self {
        if err.is_builder() {
            return Self::new(
                ErrorKind::InvalidRequest,
                "InvalidRequest",
                format!("the request could not be built: {err}"),
            );
        }
        // reqwest's Display never includes request bodies or headers, so no secret leaks.
        let code = if err.is_timeout() {
            "Timeout"
        } else if err.is_connect() {
            "ConnectionFailed"
        } else if err.is_decode() {
            "InvalidResponse"
        } else {
            "Transport"
        };
        let mut msg = err.to_string();
        let mut src = std::error::Error::source(err);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        Self::new(ErrorKind::Transient, code, msg)
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
