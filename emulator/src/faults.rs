//! Injected faults (`POST /_emulator/faults`).
//!
//! # Seeded fault schedules
//!
//! Without a seed (the default) a rule's `probability` is rolled with the thread RNG: every
//! run fails different calls. `cloud-emulator serve --seed N` makes the schedule a pure
//! function of the seed and the calls: the roll of rule R for the k-th call of action A to
//! cloud P that R matches is `hash(seed, R, P, A, k)`. The same seed and the same sequence
//! of calls *per action* therefore fail the same calls, and calls to other actions
//! (status polls, whose number depends on timing) do not shift the schedule of, say,
//! `RunInstances`. What a seed cannot pin down is which *object's* call is the k-th one
//! when a client sends calls of one action concurrently, or how many calls a client makes
//! (retries and polls depend on wall-clock timing): a replay reproduces the schedule, not
//! the interleaving.

use std::collections::HashMap;

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
    /// `--seed`: probabilistic rules roll a hash of the seed and the call (see the module
    /// documentation) instead of the thread RNG.
    seed: Option<u64>,
    /// Per (rule, cloud, action): how many matching calls that rule has rolled for.
    draws: HashMap<(u64, Provider, String), u64>,
}

/// splitmix64's finaliser: a well-mixed 64-bit value from any 64-bit input.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The roll in `0..1` of rule `rule` for the `k`-th matching call of `action` to
/// `provider` under `seed`: stable across runs, platforms and dependency versions (no
/// std hasher or RNG crate algorithm involved).
pub fn seeded_roll(seed: u64, rule: u64, provider: Provider, action: &str, k: u64) -> f64 {
    let mut h = mix64(seed ^ mix64(rule));
    for b in provider
        .as_str()
        .bytes()
        .chain([b'/'])
        .chain(action.bytes())
    {
        h = mix64(h ^ u64::from(b));
    }
    h = mix64(h ^ k);
    // the top 53 bits, as f64 in [0, 1)
    (h >> 11) as f64 / (1u64 << 53) as f64
}

impl Faults {
    /// A fault table whose probabilistic rules follow `seed` (see the module documentation).
    pub fn seeded(seed: u64) -> Self {
        Faults {
            seed: Some(seed),
            ..Faults::default()
        }
    }

    /// Seed the fault schedule (`None`: the thread RNG). Restarts every rule's sequence.
    pub fn set_seed(&mut self, seed: Option<u64>) {
        self.seed = seed;
        self.draws.clear();
    }

    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

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
        // rule ids are never reused, so the sequences of removed rules are dead weight
        self.draws.clear();
    }

    /// Evaluate the rules for one call, consuming counts. Probabilistic rules roll the
    /// seeded schedule when there is a seed, the thread RNG otherwise.
    pub fn evaluate(&mut self, provider: Provider, action: &str) -> FaultEffect {
        let Some(seed) = self.seed else {
            return self.evaluate_with(provider, action, || rand::rng().random::<f64>());
        };
        let draws = &mut self.draws;
        let eff = Self::apply(&mut self.rules, provider, action, |rule| {
            let k = draws
                .entry((rule, provider, action.to_string()))
                .or_insert(0);
            let roll = seeded_roll(seed, rule, provider, action, *k);
            *k += 1;
            roll
        });
        if !eff.is_none() {
            tracing::debug!(%provider, action, seed, effect = ?eff, "fault injected");
        }
        eff
    }

    /// Evaluate the rules for one call with the rolls of probabilistic rules taken from
    /// `roll` (in rule order).
    pub fn evaluate_with<R: FnMut() -> f64>(
        &mut self,
        provider: Provider,
        action: &str,
        mut roll: R,
    ) -> FaultEffect {
        let eff = Self::apply(&mut self.rules, provider, action, |_| roll());
        if !eff.is_none() {
            tracing::debug!(%provider, action, effect = ?eff, "fault injected");
        }
        eff
    }

    /// `roll(rule id)` is asked only for rules that match the call, have calls left and
    /// a probability below 1.
    fn apply<R: FnMut(u64) -> f64>(
        rules: &mut Vec<FaultRule>,
        provider: Provider,
        action: &str,
        mut roll: R,
    ) -> FaultEffect {
        let mut eff = FaultEffect::default();
        for r in rules.iter_mut() {
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
            if p < 1.0 && roll(r.id) >= p {
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
        rules.retain(|r| r.spec.count.is_none_or(|c| r.hits < c));
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

    /// Which of `calls` a table with the campaign's kind of rules (several probabilistic
    /// rules, some per action) fails, as (index, error code or "drop" / "slow").
    fn schedule(seed: u64, calls: &[(Provider, &str)]) -> Vec<(usize, String)> {
        let mut f = Faults::seeded(seed);
        for (code, p) in [("RequestLimitExceeded", 0.07), ("InternalError", 0.05)] {
            f.add(FaultSpec {
                provider: Some(Provider::Tencent),
                code: Some(code.into()),
                probability: Some(p),
                ..Default::default()
            })
            .unwrap();
        }
        f.add(FaultSpec {
            drop_connection: true,
            after_processing: true,
            probability: Some(0.03),
            ..Default::default()
        })
        .unwrap();
        f.add(FaultSpec {
            action: Some("RunInstances".into()),
            latency_ms: Some(700),
            probability: Some(0.2),
            ..Default::default()
        })
        .unwrap();
        calls
            .iter()
            .enumerate()
            .filter_map(|(i, (p, a))| {
                let e = f.evaluate(*p, a);
                let what = match (&e.error, e.drop_after, e.latency_ms) {
                    (Some((code, _, _)), _, _) => code.clone(),
                    (None, true, _) => "drop".into(),
                    (None, false, ms) if ms > 0 => "slow".into(),
                    _ => return None,
                };
                Some((i, what))
            })
            .collect()
    }

    fn campaign_calls(polls_between: usize) -> Vec<(Provider, &'static str)> {
        let mut calls = Vec::new();
        for i in 0..400 {
            calls.push((Provider::Tencent, "RunInstances"));
            if i % 3 == 0 {
                calls.push((Provider::Tencent, "StopInstances"));
            }
            for _ in 0..polls_between {
                calls.push((Provider::Tencent, "DescribeInstancesStatus"));
            }
            if i % 7 == 0 {
                calls.push((Provider::Huawei, "CreateServers"));
            }
        }
        calls
    }

    #[test]
    fn same_seed_same_schedule_different_seed_differs() {
        let calls = campaign_calls(2);
        let a = schedule(42, &calls);
        assert_eq!(a, schedule(42, &calls), "a seed replays its schedule");
        // about 1 - 0.93 * 0.95 * 0.97 of ~2200 calls fail, plus slow creates
        assert!((150..600).contains(&a.len()), "{} faults", a.len());
        let b = schedule(43, &calls);
        assert_ne!(a, b, "another seed, another schedule");
        let same: usize = a.iter().filter(|x| b.contains(x)).count();
        assert!(
            same < a.len() / 2,
            "seeds 42 and 43 share {same} of {}",
            a.len()
        );
        // and an unseeded table is not the seeded one
        let mut f = Faults::default();
        assert_eq!(f.seed(), None);
        f.set_seed(Some(42));
        assert_eq!(f.seed(), Some(42));
    }

    /// The schedule of one action does not depend on how many calls of other actions came
    /// in between (status polls vary with timing from one run to the next).
    #[test]
    fn seeded_schedule_of_an_action_ignores_other_actions() {
        let of = |calls: &[(Provider, &str)], action: &str| -> Vec<String> {
            let idx: Vec<usize> = (0..calls.len()).filter(|i| calls[*i].1 == action).collect();
            let s = schedule(7, calls);
            idx.iter()
                .map(|i| {
                    s.iter()
                        .find(|(j, _)| j == i)
                        .map(|(_, w)| w.clone())
                        .unwrap_or_default()
                })
                .collect()
        };
        let few = campaign_calls(1);
        let many = campaign_calls(5);
        for action in ["RunInstances", "StopInstances", "CreateServers"] {
            let (x, y) = (of(&few, action), of(&many, action));
            assert_eq!(x, y, "{action}: the k-th call has the same fate");
            assert!(x.iter().any(|w| !w.is_empty()), "{action}: some faults");
        }
    }

    #[test]
    fn seeded_roll_is_stable_and_uniform() {
        // fixed values: a change of the algorithm breaks the replay of recorded seeds
        let r = seeded_roll(1, 1, Provider::Tencent, "RunInstances", 0);
        assert_eq!(r, 122_702_097_125_518.0 / (1u64 << 53) as f64);
        assert_ne!(r, seeded_roll(1, 1, Provider::Tencent, "RunInstances", 1));
        assert_ne!(r, seeded_roll(1, 2, Provider::Tencent, "RunInstances", 0));
        assert_ne!(r, seeded_roll(1, 1, Provider::Alibaba, "RunInstances", 0));
        let n = 20_000;
        let below: usize = (0..n)
            .filter(|k| seeded_roll(9, 3, Provider::Huawei, "X", *k) < 0.2)
            .count();
        let share = below as f64 / n as f64;
        assert!((0.18..0.22).contains(&share), "share below 0.2: {share}");
        assert!((0..n).all(|k| (0.0..1.0).contains(&seeded_roll(5, 1, Provider::Tencent, "Y", k))));
    }
}
