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
    let unanswered = unanswered(&uid);
    if !obj.spec.dry_run
        && unanswered.as_ref().is_none_or(|(t, _)| *t != token)
        && let Some(wait) = create_settling(
            settle_from(unanswered.as_ref(), status.create_requested_at.as_deref()),
            jiff::Timestamp::now(),
            create_settle(&ctx.settings),
        )
    {
        let message = format!(
            "an earlier create request (first sent at {}) got no answer and may still take \
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
    // Say that a create is about to be sent before the first one is: if the id never gets
    // recorded, a deletion knows an instance may exist (also after a crash). Written once,
    // so that repeated refusals change nothing and trigger no reconcile.
    if !obj.spec.dry_run && status.create_requested_at.is_none() {
        status.create_requested_at = Some(request_time(jiff::Timestamp::now()));
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
                // Answered: this request created nothing and never will (with the same
                // token, neither did an earlier unanswered one; a different token was only
                // sent after the earlier one had settled).
                remember_unanswered(&uid, None);
            } else if !obj.spec.dry_run {
                // No answer: the client's last retry went out just before it gave up, so
                // the cloud may act on it until `create_settle` after now.
                remember_unanswered(&uid, Some(token));
            }
            a.warning("CreateFailed", "Create", e.to_string()).await;
            Ok(Outcome::failed(e))
        }
    }
}

/// `createRequestedAt` as written: to the nanosecond, not rounded to the second like the
/// other status times (it is written once per create, so precision costs no status churn).
/// [`settle_from`] compares it with the process start: rounded down to the second, a
/// request this process sent in the second it started would count as one of an earlier
/// process and hold a changed create back for `create_settle`.
fn request_time(t: jiff::Timestamp) -> String {
    t.to_string()
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

/// The idempotency token of each object's last create request that got no answer, and
/// when the client gave up on it (by UID), so that sending the same request again need not
/// wait. Not persisted: after a restart, a request recorded in `createRequestedAt` counts
/// as unanswered from the process start on (`settle_from`).
type Unanswered = (String, jiff::Timestamp);

static UNANSWERED: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, Unanswered>>,
> = std::sync::LazyLock::new(Default::default);

fn unanswered(uid: &str) -> Option<Unanswered> {
    UNANSWERED.lock().ok()?.get(uid).cloned()
}

/// Remember `uid`'s unanswered create request by its token, given up on now (None: forget).
pub(crate) fn remember_unanswered(uid: &str, token: Option<String>) {
    if let Ok(mut m) = UNANSWERED.lock() {
        match token {
            Some(t) => m.insert(uid.to_string(), (t, jiff::Timestamp::now())),
            None => m.remove(uid),
        };
    }
}

/// From when a create request of this object may still take effect: when this process
/// gave up on one it remembers; for one recorded (`createRequestedAt`) before this process
/// started, which a crash may have cut off, the process start. None: no such request.
pub(super) fn settle_from(
    unanswered: Option<&Unanswered>,
    requested_at: Option<&str>,
) -> Option<jiff::Timestamp> {
    settle_from_since(unanswered, requested_at, *PROCESS_START)
}

/// [`settle_from`] for a process that started at `start`.
fn settle_from_since(
    unanswered: Option<&Unanswered>,
    requested_at: Option<&str>,
    start: jiff::Timestamp,
) -> Option<jiff::Timestamp> {
    if let Some((_, at)) = unanswered {
        return Some(*at);
    }
    let sent: jiff::Timestamp = requested_at?.parse().ok()?;
    (sent < start).then_some(start)
}

/// The deletion's view: from when a create request of `uid` may still take effect.
pub(super) fn deletion_settle_from(
    uid: &str,
    requested_at: Option<&str>,
) -> Option<jiff::Timestamp> {
    settle_from(unanswered(uid).as_ref(), requested_at)
}

/// How much longer to wait before "nothing is tagged with this object's UID" can be
/// trusted (or a changed create request sent), given from when an unanswered request may
/// still take effect.
pub(super) fn create_settling(
    from: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
    settle: Duration,
) -> Option<Duration> {
    let until = from? + jiff::SignedDuration::try_from(settle).ok()?;
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
    fn a_recent_unanswered_request_holds_until_it_can_no_longer_take_effect() {
        let now: jiff::Timestamp = "2026-11-28T12:00:00Z".parse().unwrap();
        let ago = |secs: i64| now - jiff::SignedDuration::from_secs(secs);
        let settle = Duration::from_secs(60);
        // given up on 10 s ago: 50 s left (+1 s margin)
        assert_eq!(
            create_settling(Some(ago(10)), now, settle),
            Some(Duration::from_secs(51))
        );
        assert_eq!(create_settling(Some(ago(61)), now, settle), None);
        assert_eq!(create_settling(None, now, settle), None);
    }

    #[test]
    fn only_a_remembered_or_pre_start_request_counts_as_unanswered() {
        let before = (*PROCESS_START - jiff::SignedDuration::from_secs(5)).to_string();
        let after = (*PROCESS_START + jiff::SignedDuration::from_secs(5)).to_string();
        // recorded before this process started: a crash may have cut it off; from the start
        assert_eq!(settle_from(None, Some(&before)), Some(*PROCESS_START));
        // recorded by this process, which remembers no unanswered request: answered
        assert_eq!(settle_from(None, Some(&after)), None);
        assert_eq!(settle_from(None, None), None);
        assert_eq!(settle_from(None, Some("not a time")), None);
        // sent by this process 1 ms after it started, in the same second: its own (rounded
        // to the second, "12:00:00" would fall before a start at 12:00:00.300)
        let start: jiff::Timestamp = "2026-11-28T12:00:00.300Z".parse().unwrap();
        let sent = start + jiff::SignedDuration::from_millis(1);
        assert_eq!(
            settle_from_since(None, Some(&request_time(sent)), start),
            None
        );
        let earlier = start - jiff::SignedDuration::from_millis(1);
        assert_eq!(
            settle_from_since(None, Some(&request_time(earlier)), start),
            Some(start)
        );
        let gave_up: jiff::Timestamp = "2026-11-28T12:00:00Z".parse().unwrap();
        let mem = ("token".to_string(), gave_up);
        assert_eq!(settle_from(Some(&mem), Some(&after)), Some(gave_up));
        let uid = "uid-settle-from-test";
        remember_unanswered(uid, Some("t".into()));
        assert!(deletion_settle_from(uid, None).is_some());
        remember_unanswered(uid, None);
        assert_eq!(deletion_settle_from(uid, None), None);
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
