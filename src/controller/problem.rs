//! [`Problem`]: why an object cannot be brought in line with its spec right now, as the
//! `Synced=False` condition reports it (a reason for machines, a message for people).

use super::cloud::CredentialError;
use crate::provider::ProviderError;

/// Why the spec cannot be applied now: the `Synced` condition's reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// CamelCase reason (or the cloud's error code).
    pub reason: String,
    pub message: String,
}

impl Problem {
    pub fn new(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// A Kubernetes API read that failed (a Secret the object names).
    pub fn secret_read(e: &kube::Error) -> Self {
        Self::new("SecretReadFailed", e.to_string())
    }
}

/// A failed cloud call: the cloud's code and a one-line summary.
impl From<&ProviderError> for Problem {
    fn from(e: &ProviderError) -> Self {
        Self::new(e.code.clone(), e.summary())
    }
}

impl From<&CredentialError> for Problem {
    fn from(e: &CredentialError) -> Self {
        Self::new(e.reason(), e.to_string())
    }
}
