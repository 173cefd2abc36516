//! The create path, which must never leak or duplicate:
//! 1. look for an instance already tagged with this object's UID (and incarnation) and
//!    adopt it;
//! 2. otherwise announce the create in status, then RunInstances with a ClientToken derived
//!    from the UID and the request (a retry after a crash returns the same instance);
//! 3. record the id in status immediately.

use std::time::Duration;

use kube::ResourceExt;

use super::{Actor, Outcome, is_gone};
use crate::api::{CloudInstance, CloudInstanceStatus};
use crate::controller::cloud::CloudHandle;
use crate::controller::context::{Error, Settings, TAG_INCARNATION, TAG_UID};
use crate::controller::instance::resolve;
use crate::controller::problem::Problem;
use crate::controller::ratelimit::ActionClass;
use crate::controller::status::now_rfc3339;
use crate::controller::translate;
use crate::provider::{
    CloudProvider, DescribeFilter, ErrorKind, InstanceDetails, InstanceState, ProviderError,
};

pub(super) async fn create(
    a: &Actor<'_>,
    status: &mut CloudInstanceStatus,
) -> Result<Outcome, Error> {
    let (ctx, obj) = (a.ctx, a.obj);
    let uid = obj.uid().unwrap_or_default();
    let incarnation = status.incarnation.unwrap_or(0);

    if !obj.spec.dry_run
        && let Some(outcome) = adopt(a, status, incarnation).await?
    {
        return Ok(outcome);
    }

    let ns = obj.namespace().unwrap_or_default();
    let password = match resolve::password(ctx, &ns, &obj.spec).await {
        Ok(p) => p,
        Err(problem) => return Ok(Outcome::blocked(problem)),
    };
    // Say that a create is about to be sent before sending it, every time: if the id
    // never gets recorded (crash, lost response, timeout) the request may still take
    // effect in the cloud, so a deletion must look for the instance (even while the
    // credential is broken) and wait until the request can no longer take effect
    // (`create_settle`) before letting go. An attempt the cloud answered with a definite
    // "no" restores the previous value below.
    let req = translate::run_request(obj, incarnation, password);
    let token = req.client_token.clone().unwrap_or_default();
    // An earlier request that got no answer may still take effect. Sending the same
    // request again is safe (same idempotency token: the cloud answers with what the first
    // one made); a changed request has a new token, and sending it before the earlier one
    // can no longer take effect could make a second instance that nothing tags as ours
    // before the lookup above can see the first.
    if !obj.spec.dry_run
        && let Some(wait) = create_settling(
            status.create_requested_at.as_deref(),
            *PROCESS_START,
            jiff::Timestamp::now(),
            create_settle(&ctx.settings),
        )
        && match unanswered_token(&uid) {
            // unanswered in this process: wait unless it is the same request again
            Some(t) => t != token,
            // none here: only a request of an earlier process can still be unanswered
            None => sent_before_start(status.create_requested_at.as_deref()),
        }
    {
        let message = format!(
            "an earlier create request (sent at {}) got no answer and may still take \
             effect; the request has changed since, so it is sent in {}s, once the \
             earlier one can no longer make a second instance",
            status.create_requested_at.as_deref().unwrap_or("?"),
            wait.as_secs()
        );
        return Ok(Outcome {
            problem: Some(Problem::new("CreateMayStillTakeEffect", message)),
            requeue: Some(wait),
            ..Outcome::ok()
        });
    }
    let previous_request = status.create_requested_at.clone();
    if !obj.spec.dry_run {
        status.create_requested_at = Some(now_rfc3339());
        a.record_id(status).await?;
    }
    let r = a
        .handle
        .call(
            ActionClass::Mutating,
            "RunInstances",
            a.handle.provider.run_instances(&req),
        )
        .await;
    match r {
        Ok(ids) => {
            let Some(id) = ids.into_iter().next() else {
                return Ok(Outcome {
                    problem: Some(Problem::new(
                        "EmptyCreateResponse",
                        "the cloud accepted RunInstances but returned no instance id; will look it up by tag",
                    )),
                    requeue: Some(Duration::from_secs(5)),
                    ..Outcome::ok()
                });
            };
            status.instance_id = Some(id.clone());
            status.create_requested_at = None;
            remember_unanswered(&uid, None);
            status.last_reboot_requested_at = obj.spec.reboot_requested_at.clone();
            status.state = Some(InstanceState::Pending.as_str().into());
            a.record_id(status).await?;
            a.normal("Created", "Create", format!("created instance {id}"))
                .await;
            Ok(Outcome::again_in(Duration::from_millis(200)))
        }
        Err(e) if e.kind == ErrorKind::DryRunOk => {
            tracing::info!("dry run accepted by the cloud");
            Ok(Outcome {
                requeue: Some(ctx.settings.resync),
                dry_run_ok: true,
                ..Outcome::ok()
            })
        }
        Err(e) => {
            if !create_may_have_taken_effect(&e) {
                // Answered: this request created nothing and never will. An earlier
                // request whose outcome is unknown still counts.
                status.create_requested_at = previous_request;
                remember_unanswered(&uid, None);
            } else if !obj.spec.dry_run {
                // No answer: the client's last retry went out just before it gave up, so
                // that is when the cloud may still act on a request from now on.
                status.create_requested_at = Some(now_rfc3339());
                remember_unanswered(&uid, Some(token));
                a.record_id(status).await?;
            }
            a.warning("CreateFailed", "Create", e.to_string()).await;
            Ok(Outcome::failed(e))
        }
    }
}

/// How long after a create request the controller assumes it may still take effect in
/// the cloud: twice the time it waits for an answer. A request that timed out, or whose
/// sender died, can still be executed by the cloud after the sender gave up.
pub(super) fn create_settle(settings: &Settings) -> Duration {
    settings.provider_timeout.saturating_mul(2)
}

/// Whether a failed create may still have created something: no answer (timeout, dropped
/// connection) or an answer that does not say "not done" (5xx, internal error). Throttling,
/// refusals, quota, auth and wrong-state answers are a definite "no".
fn create_may_have_taken_effect(e: &ProviderError) -> bool {
    e.kind == ErrorKind::Transient
}

/// When this process started (first reconcile): a create request of an earlier process
/// whose outcome is unknown was sent before then, since that process is gone (or, with
/// leader election, fenced off) by the time this one acts.
pub(crate) static PROCESS_START: std::sync::LazyLock<jiff::Timestamp> =
    std::sync::LazyLock::new(jiff::Timestamp::now);

/// The idempotency token of each object's last create request that got no answer (by
/// UID), so that sending the same request again need not wait. Not persisted: after a
/// restart every unanswered request counts as a different one until it has settled.
static UNANSWERED: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, String>>,
> = std::sync::LazyLock::new(Default::default);

fn unanswered_token(uid: &str) -> Option<String> {
    UNANSWERED.lock().ok()?.get(uid).cloned()
}

/// Remember the token of `uid`'s unanswered create request (None: forget it).
pub(crate) fn remember_unanswered(uid: &str, token: Option<String>) {
    if let Ok(mut m) = UNANSWERED.lock() {
        match token {
            Some(t) => m.insert(uid.to_string(), t),
            None => m.remove(uid),
        };
    }
}

/// Whether a create request of this object may have got no answer: one this process sent
/// is remembered (`UNANSWERED`); one recorded before this process started may have been
/// cut off by a crash. A recorded time alone is not enough: a status write from a cache
/// older than our own last write can put back a `createRequestedAt` this process had
/// already cleared after a definite answer.
pub(super) fn outcome_unknown(uid: &str, requested_at: Option<&str>) -> bool {
    unanswered_token(uid).is_some() || sent_before_start(requested_at)
}

fn sent_before_start(requested_at: Option<&str>) -> bool {
    requested_at
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .is_some_and(|t| t < *PROCESS_START)
}

/// How much longer a deletion must wait before "nothing is tagged with this object's UID"
/// can be trusted. `requested_at` is when a create request whose outcome is unknown was
/// last sent (or given up on) by a controller; if that controller was an earlier process
/// that died mid-call, its last request went out no later than `started`.
pub(super) fn create_settling(
    requested_at: Option<&str>,
    started: jiff::Timestamp,
    now: jiff::Timestamp,
    settle: Duration,
) -> Option<Duration> {
    let sent: jiff::Timestamp = requested_at?.parse().ok()?;
    let until = sent.max(started) + jiff::SignedDuration::try_from(settle).ok()?;
    let left = now.duration_until(until);
    (left.is_positive())
        .then(|| Duration::try_from(left).unwrap_or_default() + Duration::from_secs(1))
}

/// Adopt the instance of this incarnation that a previous create made (found by its UID
/// tag) but whose id never got recorded; the oldest if there are several (the others are
/// reported, never touched). None when there is none.
async fn adopt(
    a: &Actor<'_>,
    status: &mut CloudInstanceStatus,
    incarnation: i32,
) -> Result<Option<Outcome>, Error> {
    let found = match find_tagged(a.handle, a.obj).await {
        Ok(f) => f,
        Err(e) => return Ok(Some(Outcome::failed(e))),
    };
    let mine: Vec<_> = found
        .into_iter()
        .filter(|d| {
            d.tags
                .get(TAG_INCARNATION)
                .map(String::as_str)
                .unwrap_or("0")
                == incarnation.to_string()
        })
        .collect();
    let Some(first) = mine.first() else {
        return Ok(None);
    };
    if mine.len() > 1 {
        let extra: Vec<_> = mine[1..].iter().map(|d| d.id.as_str()).collect();
        let note = format!(
            "more than one instance carries this object's UID; adopted {}, NOT touching {}",
            first.id,
            extra.join(",")
        );
        a.warning("DuplicateInstances", "Create", note).await;
    }
    status.instance_id = Some(first.id.clone());
    status.create_requested_at = None;
    remember_unanswered(&a.obj.uid().unwrap_or_default(), None);
    if status.last_reboot_requested_at.is_none() {
        status.last_reboot_requested_at = a.obj.spec.reboot_requested_at.clone();
    }
    a.record_id(status).await?;
    let note = format!(
        "found existing instance {} tagged with this object's UID",
        first.id
    );
    a.normal("Adopted", "Create", note).await;
    Ok(Some(Outcome::again_in(Duration::from_millis(200))))
}

/// A live instance tagged with this object's UID (any incarnation; the oldest), for an
/// object being deleted whose status names none.
pub(super) async fn find_unrecorded(
    handle: &CloudHandle,
    obj: &CloudInstance,
) -> Result<Option<String>, ProviderError> {
    Ok(find_tagged(handle, obj)
        .await?
        .into_iter()
        .next()
        .map(|d| d.id))
}

/// The live (not terminated or terminating) instances in the object's region tagged with
/// its UID, oldest first.
async fn find_tagged(
    handle: &CloudHandle,
    obj: &CloudInstance,
) -> Result<Vec<InstanceDetails>, ProviderError> {
    let filter = DescribeFilter::Tag {
        key: TAG_UID.into(),
        value: obj.uid().unwrap_or_default(),
    };
    let found = handle
        .call(
            ActionClass::Describe,
            "DescribeInstances",
            handle
                .provider
                .describe_instances(&obj.spec.region, &filter),
        )
        .await?;
    let mut live: Vec<_> = found.into_iter().filter(|d| !is_gone(d.state)).collect();
    live.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recent_create_request_holds_the_deletion_until_it_can_no_longer_take_effect() {
        let now: jiff::Timestamp = "2026-11-28T12:00:00Z".parse().unwrap();
        let at = |secs: i64| (now - jiff::SignedDuration::from_secs(secs)).to_string();
        let long_ago = now - jiff::SignedDuration::from_secs(3600);
        let settle = Duration::from_secs(60);
        let s = |req: Option<&str>, started| create_settling(req, started, now, settle);
        // sent 10 s ago by this process: 50 s left (+1 s margin)
        assert_eq!(s(Some(&at(10)), long_ago), Some(Duration::from_secs(51)));
        assert_eq!(s(Some(&at(61)), long_ago), None);
        assert_eq!(s(None, long_ago), None);
        assert_eq!(s(Some("not a time"), long_ago), None);
        // recorded 5 min ago by a process that died mid-call; this one started 20 s ago:
        // the dead process's last request went out before that
        let started = now - jiff::SignedDuration::from_secs(20);
        assert_eq!(s(Some(&at(300)), started), Some(Duration::from_secs(41)));
    }

    #[test]
    fn only_a_remembered_or_pre_start_request_counts_as_unanswered() {
        let before = (*PROCESS_START - jiff::SignedDuration::from_secs(5)).to_string();
        let after = (*PROCESS_START + jiff::SignedDuration::from_secs(5)).to_string();
        let uid = "uid-outcome-unknown-test";
        // recorded before this process started: a crash may have cut it off
        assert!(outcome_unknown(uid, Some(&before)));
        // recorded by this process, which remembers no unanswered request: its answer
        // was known (a stale status write may have put the time back)
        assert!(!outcome_unknown(uid, Some(&after)));
        assert!(!outcome_unknown(uid, None));
        remember_unanswered(uid, Some("token".into()));
        assert!(outcome_unknown(uid, Some(&after)));
        remember_unanswered(uid, None);
        assert!(!outcome_unknown(uid, Some(&after)));
    }

    #[test]
    fn only_unanswered_or_ambiguous_creates_may_have_taken_effect() {
        let e = |kind| ProviderError::new(kind, "X", "m");
        assert!(create_may_have_taken_effect(&e(ErrorKind::Transient)));
        for kind in [
            ErrorKind::Throttled,
            ErrorKind::Auth,
            ErrorKind::InvalidRequest,
            ErrorKind::NotFound,
            ErrorKind::WrongState,
            ErrorKind::Quota,
            ErrorKind::DryRunOk,
        ] {
            assert!(!create_may_have_taken_effect(&e(kind)), "{kind:?}");
        }
    }
}
