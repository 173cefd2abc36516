//! Creates the cloud refused, and when they are sent again. A refused create is sent once
//! per spec: neither the controller's own status write (which triggers the object again)
//! nor a restart re-sends it.
//!
//! - Refused as invalid (`InvalidRequest`): `Ready` reason [`CREATE_REFUSED`] for the
//!   generation; sent again only when the spec changes.
//! - Refused for lack of quota, capacity or balance, a missing resource or a wrong state
//!   (`Quota`, `NotFound`, `WrongState`): `Ready` reason [`CREATE_RETRY_LATER`] for the
//!   generation; sent again when the spec changes, or [`CREATE_RETRY`] after the refusal
//!   (quota can be freed, a sold-out type restocked, a key pair created). When the refusal
//!   came is kept in this process's memory; a refusal recorded before this process started
//!   counts from the process start.
//! - Throttling and transient errors are retried with back-off; auth errors wait for the
//!   credential (its re-check triggers the object).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use kube::ResourceExt;

use super::apply::{Outcome, PROCESS_START};
use super::plan::{CREATE_REFUSED, CREATE_RETRY_LATER, Step};
use crate::api::CloudInstance;
use crate::api::conditions::{self, Condition, READY};
use crate::provider::ErrorKind;

/// How long a create refused for a reason that can pass waits before it is sent again.
pub const CREATE_RETRY: Duration = Duration::from_secs(300);

/// A create refused with [`CREATE_RETRY_LATER`]: for which generation, and when.
type Refused = (Option<i64>, jiff::Timestamp);

/// The last such refusal of each object (by UID).
static REFUSED_AT: LazyLock<Mutex<HashMap<String, Refused>>> = LazyLock::new(Default::default);

/// The `Ready` condition that records a refused create, if `step` was a create the cloud
/// refused (remembering when, for [`CREATE_RETRY_LATER`]). `Synced` carries the cloud's
/// error as for any failed step.
pub fn record(obj: &CloudInstance, step: &Step, outcome: &Outcome) -> Option<Condition> {
    let ready = refusal_condition(step, outcome)?;
    if ready.reason == CREATE_RETRY_LATER
        && let Ok(mut m) = REFUSED_AT.lock()
    {
        m.insert(
            obj.uid().unwrap_or_default(),
            (obj.metadata.generation, jiff::Timestamp::now()),
        );
    }
    Some(ready)
}

/// The `Ready` condition for a create refused with `outcome` (None: not a refusal).
fn refusal_condition(step: &Step, outcome: &Outcome) -> Option<Condition> {
    if *step != Step::Create {
        return None;
    }
    let e = outcome.error.as_ref()?;
    let (reason, then) = match e.kind {
        ErrorKind::InvalidRequest => (
            CREATE_REFUSED,
            "fix the spec: the next change of the spec is tried again".to_string(),
        ),
        ErrorKind::Quota | ErrorKind::NotFound | ErrorKind::WrongState => (
            CREATE_RETRY_LATER,
            format!(
                "it is sent again in {} minutes, or at once when the spec changes",
                CREATE_RETRY.as_secs() / 60
            ),
        ),
        _ => return None,
    };
    Some(Condition::new(
        READY,
        false,
        reason,
        format!(
            "the cloud refused the create request ({}); {then}",
            e.summary()
        ),
    ))
}

/// The refusal `Ready` records for this generation of `obj`, if any.
fn recorded(obj: &CloudInstance) -> Option<&Condition> {
    let status = obj.status.as_ref()?;
    conditions::find(&status.conditions, READY).filter(|r| {
        r.observed_generation == obj.metadata.generation
            && (r.reason == CREATE_REFUSED || r.reason == CREATE_RETRY_LATER)
    })
}

/// Whether this generation's create was refused and is not to be sent now, and if it is
/// sent again later, in how long.
pub fn create_held(obj: &CloudInstance) -> Option<Option<Duration>> {
    let r = recorded(obj)?;
    if r.reason == CREATE_REFUSED {
        return Some(None);
    }
    let remembered = REFUSED_AT
        .lock()
        .ok()
        .and_then(|m| m.get(&obj.uid().unwrap_or_default()).copied())
        .filter(|(g, _)| *g == obj.metadata.generation)
        .map(|(_, at)| at);
    let from = refused_from(remembered, *PROCESS_START);
    retry_in(from, jiff::Timestamp::now(), CREATE_RETRY).map(Some)
}

/// Since when a recorded retry-later refusal counts: when this process saw it, or for one
/// recorded before this process started, the process start.
fn refused_from(
    remembered: Option<jiff::Timestamp>,
    process_start: jiff::Timestamp,
) -> jiff::Timestamp {
    remembered.unwrap_or(process_start)
}

/// Time left until a create refused at `from` is sent again (None: now).
fn retry_in(from: jiff::Timestamp, now: jiff::Timestamp, after: Duration) -> Option<Duration> {
    let until = from + jiff::SignedDuration::try_from(after).ok()?;
    let left = now.duration_until(until);
    left.is_positive()
        .then(|| Duration::try_from(left).unwrap_or_default() + Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ProviderError;

    fn failed(kind: ErrorKind, code: &str) -> Outcome {
        Outcome {
            error: Some(ProviderError::new(kind, code, "refused")),
            ..Default::default()
        }
    }

    #[test]
    fn refusals_are_classified_by_what_can_change() {
        let c = refusal_condition(
            &Step::Create,
            &failed(ErrorKind::InvalidRequest, "InvalidImageId"),
        )
        .expect("recorded");
        assert_eq!(c.reason, CREATE_REFUSED);
        assert!(
            c.message.contains("InvalidImageId: refused"),
            "{}",
            c.message
        );
        for (kind, code) in [
            (
                ErrorKind::Quota,
                "ResourceInsufficient.SpecifiedInstanceType",
            ),
            (ErrorKind::NotFound, "InvalidKeyPair.NotFound"),
            (ErrorKind::WrongState, "IncorrectVSwitchStatus"),
        ] {
            let c = refusal_condition(&Step::Create, &failed(kind, code)).expect("recorded");
            assert_eq!(c.reason, CREATE_RETRY_LATER, "{kind:?}");
            assert!(c.message.contains(code), "{}", c.message);
            assert!(c.message.contains("5 minutes"), "{}", c.message);
        }
        // retried with back-off, or waiting for the credential: not recorded
        for kind in [ErrorKind::Throttled, ErrorKind::Transient, ErrorKind::Auth] {
            assert!(
                refusal_condition(&Step::Create, &failed(kind, "X")).is_none(),
                "{kind:?}"
            );
        }
        // only creates
        let invalid = failed(ErrorKind::InvalidRequest, "InvalidParameter");
        assert!(refusal_condition(&Step::Start, &invalid).is_none());
        assert!(refusal_condition(&Step::Create, &Outcome::default()).is_none());
    }

    #[test]
    fn a_retry_later_refusal_waits_its_time_from_when_it_was_seen() {
        let t0: jiff::Timestamp = "2026-11-28T10:00:00Z".parse().unwrap();
        let later = |s: i64| t0 + jiff::SignedDuration::from_secs(s);
        let wait = retry_in(t0, later(60), CREATE_RETRY).expect("still waiting");
        assert_eq!(wait, Duration::from_secs(241));
        assert_eq!(retry_in(t0, later(300), CREATE_RETRY), None);
        assert_eq!(retry_in(t0, later(900), CREATE_RETRY), None);
        // remembered by this process, or else counted from its start
        assert_eq!(refused_from(Some(t0), later(500)), t0);
        assert_eq!(refused_from(None, later(500)), later(500));
    }
}
