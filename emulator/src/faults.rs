//! Injected faults (`POST /_emulator/faults`).

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::config::Provider;

/// A fault rule. Every field is optional; a rule with no effect at all (no code, latency,
/// drop or launch failure) answers `InternalError`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Only calls to this cloud (default: any).
    #[serde(default)]
    pub provider: Option<Provider>,
    /// Only calls to this action, e.g. `RunInstances` (default: any).
    #[serde(default)]
    pub action: Option<String>,
    /// Answer with this error code.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// HTTP status of the error answer (default: what the cloud uses, 200 for Tencent).
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Delay the answer (the call is otherwise processed normally unless another effect applies).
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Close the connection without answering.
    #[serde(default)]
    pub drop_connection: bool,
    /// Instances created by the matching create call end in LAUNCH_FAILED.
    #[serde(default)]
    pub launch_failed: bool,
    /// Apply `latency_ms` / `drop_connection` AFTER the call has been processed: the cloud
    /// did the work but the answer is late or never arrives (a timeout after success).
    #[serde(default)]
    pub after_processing: bool,
    /// Chance (0..=1) that a matching call is affected (default 1).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Affect at most this many calls, then the rule disappears (default: unlimited).
    #[serde(default)]
    pub count: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FaultRule {
    pub id: u64,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Calls this rule affected so far.
    pub hits: u64,
}

/// The combined effect of all rules matching one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultEffect {
    pub latency_ms: u64,
    pub drop_connection: bool,
    /// Delay the answer after processing the call.
    pub latency_after_ms: u64,
    /// Process the call, then close the connection without answering.
    pub drop_after: bool,
    pub launch_failed: bool,
    /// (code, message, http status)
    pub error: Option<(String, String, Option<u16>)>,
}

impl FaultEffect {
    pub fn is_none(&self) -> bool {
        *self == FaultEffect::default()
    }
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<FaultRule>,
    next_id: u64,
}

impl Faults {
    pub fn add(&mut self, spec: FaultSpec) -> Result<u64, String> {
        if let Some(p) = spec.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err("probability must be between 0 and 1".into());
        }
        if spec.count == Some(0) {
            return Err("count must be at least 1".into());
        }
        self.next_id += 1;
        self.rules.push(FaultRule {
            id: self.next_id,
            spec,
            hits: 0,
        });
        Ok(self.next_id)
    }

    pub fn list(&self) -> &[FaultRule] {
        &self.rules
    }

    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id != id);
        before != self.rules.len()
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Evaluate the rules for one call, consuming counts.
    pub fn evaluate(&mut self, provider: Provider, action: &str) -> FaultEffect {
        self.evaluate_with(provider, action, || rand::rng().random::<f64>())
    }

    pub fn evaluate_with<R: FnMut() -> f64>(
        &mut self,
        provider: Provider,
        action: &str,
        mut roll: R,
    ) -> FaultEffect {
        let mut eff = FaultEffect::default();
        for r in &mut self.rules {
            let s = &r.spec;
            if s.provider.is_some_and(|p| p != provider) {
                continue;
            }
            if s.action.as_deref().is_some_and(|a| a != action) {
                continue;
            }
            if s.count.is_some_and(|c| r.hits >= c) {
                continue;
            }
            let p = s.probability.unwrap_or(1.0);
            if p < 1.0 && roll() >= p {
                continue;
            }
            r.hits += 1;
            if s.after_processing {
                eff.latency_after_ms += s.latency_ms.unwrap_or(0);
                eff.drop_after |= s.drop_connection;
            } else {
                eff.latency_ms += s.latency_ms.unwrap_or(0);
                eff.drop_connection |= s.drop_connection;
            }
            eff.launch_failed |= s.launch_failed;
            let no_effect = s.code.is_none()
                && s.latency_ms.is_none()
                && !s.drop_connection
                && !s.launch_failed;
            if eff.error.is_none() && (s.code.is_some() || no_effect) {
                let code = s
                    .code
                    .clone()
                    .unwrap_or_else(|| "InternalError".to_string());
                let message = s
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("Injected fault: {code}"));
                eff.error = Some((code, message, s.http_status));
            }
        }
        self.rules
            .retain(|r| r.spec.count.is_none_or(|c| r.hits < c));
        eff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_and_matching() {
        let mut f = Faults::default();
        f.add(FaultSpec {
            provider: Some(Provider::Tencent),
            action: Some("RunInstances".into()),
            code: Some("InternalError".into()),
            count: Some(2),
            ..Default::default()
        })
        .unwrap();
        assert!(f.evaluate(Provider::Tencent, "StartInstances").is_none());
        assert!(f.evaluate(Provider::Huawei, "RunInstances").is_none());
        assert_eq!(
            f.evaluate(Provider::Tencent, "RunInstances")
                .error
                .unwrap()
                .0,
            "InternalError"
        );
        assert!(
            f.evaluate(Provider::Tencent, "RunInstances")
                .error
                .is_some()
        );
        assert!(f.evaluate(Provider::Tencent, "RunInstances").is_none());
        assert!(f.list().is_empty());
    }

    #[test]
    fn after_processing_effects_are_separate() {
        let mut f = Faults::default();
        f.add(FaultSpec {
            action: Some("RunInstances".into()),
            latency_ms: Some(700),
            drop_connection: true,
            after_processing: true,
            count: Some(1),
            ..Default::default()
        })
        .unwrap();
        let e = f.evaluate(Provider::Tencent, "RunInstances");
        assert_eq!((e.latency_ms, e.drop_connection), (0, false));
        assert_eq!((e.latency_after_ms, e.drop_after), (700, true));
        assert!(e.error.is_none());
        assert!(f.evaluate(Provider::Tencent, "RunInstances").is_none());
    }

    #[test]
    fn probability_and_latency() {
        let mut f = Faults::default();
        f.add(FaultSpec {
            latency_ms: Some(50),
            probability: Some(0.5),
            ..Default::default()
        })
        .unwrap();
        let e = f.evaluate_with(Provider::Tencent, "X", || 0.7);
        assert!(e.is_none());
        let e = f.evaluate_with(Provider::Tencent, "X", || 0.2);
        assert_eq!(e.latency_ms, 50);
        assert!(e.error.is_none());
        assert!(
            f.add(FaultSpec {
                probability: Some(2.0),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn empty_rule_is_internal_error() {
        let mut f = Faults::default();
        let id = f.add(FaultSpec::default()).unwrap();
        assert_eq!(
            f.evaluate(Provider::Alibaba, "Any").error.unwrap().0,
            "InternalError"
        );
        assert!(f.remove(id));
        assert!(f.evaluate(Provider::Alibaba, "Any").is_none());
    }
}
