//! kstatus-compatible conditions (`Ready`, `Synced`), as `metav1.Condition`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const READY: &str = "Ready";
pub const SYNCED: &str = "Synced";

/// A status condition, shaped like `metav1.Condition`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// True, False or Unknown.
    pub status: String,
    /// CamelCase machine-readable reason.
    pub reason: String,
    /// Human-readable detail.
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Condition {
    pub fn new(type_: &str, ok: bool, reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_: type_.to_owned(),
            status: if ok { "True" } else { "False" }.to_owned(),
            // Reasons and messages often carry what a cloud answered: bounded like
            // metav1.Condition (reason 1024, message 32768), cut on character boundaries.
            reason: crate::text::clip(reason, 1024),
            message: crate::text::clip(&message.into(), 32768),
            last_transition_time: None,
            observed_generation: None,
        }
    }

    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
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
