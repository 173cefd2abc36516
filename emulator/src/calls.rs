//! Per cloud, per action call counters (`GET /_emulator/calls`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Provider;

/// How one API call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The API answered with this error code.
    Error(String),
    /// Rejected by the rate limiter.
    Throttled,
    /// Answered (or dropped) by an injected fault; carries the error code if any.
    Faulted(Option<String>),
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CallStats {
    /// Every call, whatever its outcome.
    pub total: u64,
    pub ok: u64,
    /// Calls answered with an error (throttled and fault-injected ones included).
    pub errors: u64,
    pub throttled: u64,
    pub faulted: u64,
    /// Error answers by code.
    pub error_codes: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub struct CallCounters {
    by_provider: BTreeMap<Provider, BTreeMap<String, CallStats>>,
}

impl CallCounters {
    pub fn record(&mut self, provider: Provider, action: &str, outcome: &Outcome) {
        let action = if action.is_empty() { "(none)" } else { action };
        let s = self
            .by_provider
            .entry(provider)
            .or_default()
            .entry(action.to_string())
            .or_default();
        s.total += 1;
        match outcome {
            Outcome::Ok => s.ok += 1,
            Outcome::Error(code) => {
                s.errors += 1;
                *s.error_codes.entry(code.clone()).or_default() += 1;
            }
            Outcome::Throttled => {
                s.errors += 1;
                s.throttled += 1;
                *s.error_codes
                    .entry("RequestLimitExceeded".to_string())
                    .or_default() += 1;
            }
            Outcome::Faulted(code) => {
                s.faulted += 1;
                s.errors += 1;
                if let Some(code) = code {
                    *s.error_codes.entry(code.clone()).or_default() += 1;
                }
            }
        }
    }

    pub fn get(&self, provider: Provider, action: &str) -> Option<&CallStats> {
        self.by_provider.get(&provider)?.get(action)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.by_provider).unwrap_or_default()
    }

    pub fn clear(&mut self) {
        self.by_provider.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_outcome() {
        let mut c = CallCounters::default();
        c.record(Provider::Tencent, "RunInstances", &Outcome::Ok);
        c.record(
            Provider::Tencent,
            "RunInstances",
            &Outcome::Error("MissingParameter".into()),
        );
        c.record(Provider::Tencent, "RunInstances", &Outcome::Throttled);
        c.record(
            Provider::Tencent,
            "RunInstances",
            &Outcome::Faulted(Some("InternalError".into())),
        );
        let s = c.get(Provider::Tencent, "RunInstances").unwrap();
        assert_eq!(
            (s.total, s.ok, s.errors, s.throttled, s.faulted),
            (4, 1, 3, 1, 1)
        );
        assert_eq!(s.error_codes["RequestLimitExceeded"], 1);
        let j = c.to_json();
        assert_eq!(j["tencent"]["RunInstances"]["total"], 4);
    }
}
