//! kstatus-compatible conditions (`Ready`, `Synced`), as `metav1.Condition`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const READY: &str = "Ready";
pub const SYNCED: &str = "Synced";

/// Pattern of a condition reason: `metav1.Condition`'s (CamelCase, `_`, `,` and `:`)
/// widened by `.` and `-`, because a failed call's reason is the cloud's own error code,
/// e.g. `AuthFailure.SignatureFailure` (Tencent) or `APIGW.0301` (Huawei).
pub const REASON_PATTERN: &str = r"^[A-Za-z]([A-Za-z0-9_,:.-]*[A-Za-z0-9_])?$";

/// A status condition, shaped like `metav1.Condition` (same fields and constraints).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Type of condition: `Ready` (the object is in the desired state) or `Synced` (the
    /// last reconciliation succeeded).
    #[serde(rename = "type")]
    #[schemars(
        length(min = 1, max = 316),
        regex(
            pattern = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
        )
    )]
    pub type_: String,
    /// Status of the condition: True, False or Unknown.
    #[schemars(extend("enum" = ["True", "False", "Unknown"]))]
    pub status: String,
    /// Machine-readable reason for the last transition: CamelCase, or the cloud's error
    /// code (e.g. `AuthFailure.SignatureFailure`) when a call failed.
    #[schemars(
        length(min = 1, max = 1024),
        regex(pattern = r"^[A-Za-z]([A-Za-z0-9_,:.-]*[A-Za-z0-9_])?$")
    )]
    pub reason: String,
    /// Human-readable detail: what happened, what the cloud answered, what to do.
    #[serde(default)]
    #[schemars(length(max = 32768))]
    pub message: String,
    /// When the condition last changed status (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: Option<String>,
    /// metadata.generation of the object when the condition was set: the condition is
    /// current for the spec only if it equals metadata.generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
}

impl Condition {
    pub fn new(type_: &str, ok: bool, reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_: type_.to_owned(),
            status: if ok { "True" } else { "False" }.to_owned(),
            // Reasons and messages often carry what a cloud answered: bounded like
            // metav1.Condition (reason 1024, message 32768), cut on character boundaries.
            reason: valid_reason(reason),
            message: crate::text::clip(&message.into(), 32768),
            last_transition_time: None,
            observed_generation: None,
        }
    }

    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

/// `reason` as the schema admits it (REASON_PATTERN, 1..=1024 characters): a reason is
/// often a code from the wire, and a status write must not fail because a cloud (or
/// something posing as one) sent a code with other characters. Valid reasons, which
/// every documented code is, are kept as they are.
fn valid_reason(reason: &str) -> String {
    let mut r: String = reason
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_,:.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(1024)
        .collect();
    while r.ends_with(['.', ',', ':', '-']) {
        r.pop();
    }
    if !r.starts_with(|c: char| c.is_ascii_alphabetic()) {
        r = format!("Code{r}");
        r.truncate(1024);
        while r.ends_with(['.', ',', ':', '-']) {
            r.pop();
        }
    }
    r
}

/// Find a condition by type.
pub fn find<'a>(conds: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conds.iter().find(|c| c.type_ == type_)
}

/// Merge freshly computed conditions into the previous list, keeping
/// `lastTransitionTime` when the status did not flip (so unchanged conditions do not
/// cause status writes), and stamping `now` when it did.
pub fn merge(
    previous: &[Condition],
    fresh: Vec<Condition>,
    generation: Option<i64>,
    now: &str,
) -> Vec<Condition> {
    fresh
        .into_iter()
        .map(|mut c| {
            c.observed_generation = generation;
            c.last_transition_time = match find(previous, &c.type_) {
                Some(p) if p.status == c.status => p
                    .last_transition_time
                    .clone()
                    .or_else(|| Some(now.to_owned())),
                _ => Some(now.to_owned()),
            };
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_always_fit_the_schema() {
        let re = |r: &str| {
            let ok = r.len() <= 1024
                && r.starts_with(|c: char| c.is_ascii_alphabetic())
                && r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_,:.-".contains(c))
                && !r.ends_with(['.', ',', ':', '-']);
            assert!(ok, "{r:?} does not match {REASON_PATTERN}");
        };
        for (given, kept) in [
            ("AuthFailure.SignatureFailure", true),
            ("APIGW.0301", true),
            ("Ecs.0114", true),
            ("ReconcileSuccess", true),
            ("", false),
            ("403", false),
            ("bad code\n\"&=%;", false),
            ("Trailing.", false),
            ("日本", false),
        ] {
            let r = Condition::new(READY, false, given, "").reason;
            re(&r);
            assert_eq!(r == given, kept, "{given:?} -> {r:?}");
        }
        re(&Condition::new(READY, false, &"x".repeat(5000), "").reason);
        re(&Condition::new(READY, false, &"-".repeat(5000), "").reason);
    }

    #[test]
    fn merge_keeps_transition_time_when_status_unchanged() {
        let prev = merge(
            &[],
            vec![Condition::new(READY, false, "Pending", "creating")],
            Some(1),
            "t1",
        );
        assert_eq!(prev[0].last_transition_time.as_deref(), Some("t1"));
        let same = merge(
            &prev,
            vec![Condition::new(READY, false, "Starting", "booting")],
            Some(1),
            "t2",
        );
        assert_eq!(same[0].last_transition_time.as_deref(), Some("t1"));
        assert_eq!(same[0].reason, "Starting");
        let flipped = merge(
            &same,
            vec![Condition::new(READY, true, "Running", "ok")],
            Some(2),
            "t3",
        );
        assert_eq!(flipped[0].last_transition_time.as_deref(), Some("t3"));
        assert_eq!(flipped[0].observed_generation, Some(2));
    }
}
