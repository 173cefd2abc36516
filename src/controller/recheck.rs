//! Early credential re-verification. A cloud call that fails with an auth error (a status
//! poll, a mutation) asks for the credential to be verified again now rather than at its
//! next scheduled re-check, so a revoked key shows on the credential within a poll round.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use kube::runtime::reflector::ObjectRef;

use crate::api::CloudCredential;

/// A requested re-check is honoured at most this often per credential (the previous
/// verification must be at least this old), so a burst of auth failures from many
/// instances costs one verification call.
pub const MIN_RECHECK: Duration = Duration::from_secs(5);

/// Pending re-check requests, keyed `namespace/name`, and the trigger that delivers them
/// to the credential controller.
pub struct Rechecks {
    pending: Mutex<HashSet<String>>,
    tx: UnboundedSender<ObjectRef<CloudCredential>>,
}

impl Rechecks {
    pub fn new() -> (Self, UnboundedReceiver<ObjectRef<CloudCredential>>) {
        let (tx, rx) = unbounded();
        (
            Self {
                pending: Mutex::new(HashSet::new()),
                tx,
            },
            rx,
        )
    }

    /// Ask for credential `key` (`namespace/name`) to be verified again soon. Requests
    /// for a credential already pending are merged.
    pub fn request(&self, key: &str) {
        let fresh = self
            .pending
            .lock()
            .expect("rechecks lock")
            .insert(key.to_owned());
        if let (true, Some((ns, name))) = (fresh, key.split_once('/')) {
            let _ = self
                .tx
                .unbounded_send(ObjectRef::<CloudCredential>::new(name).within(ns));
        }
    }

    /// Whether a re-check of `key` was requested (and clear the request).
    pub fn take(&self, key: &str) -> bool {
        self.pending.lock().expect("rechecks lock").remove(key)
    }

    /// Keep a request that could not be honoured yet (the caller requeues itself).
    pub fn defer(&self, key: &str) {
        self.pending
            .lock()
            .expect("rechecks lock")
            .insert(key.to_owned());
    }
}

/// When to verify a credential's keys with the cloud.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// Now.
    Now,
    /// Not now; a requested re-check is due after this wait.
    Later(Duration),
    /// Not now, nothing pending.
    No,
}

/// Decide whether to verify. `changed`: the spec or Secret changed, or there is no
/// verdict yet. `age`: time since the last verification (None = never or unreadable).
pub fn decide(changed: bool, age: Option<Duration>, requested: bool, recheck: Duration) -> Verify {
    let Some(age) = age else { return Verify::Now };
    if changed || age >= recheck || (requested && age >= MIN_RECHECK) {
        Verify::Now
    } else if requested {
        Verify::Later(MIN_RECHECK - age)
    } else {
        Verify::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    const TEN_MIN: Duration = Duration::from_secs(600);

    #[test]
    fn verification_schedule() {
        let s = Duration::from_secs;
        assert_eq!(decide(false, None, false, TEN_MIN), Verify::Now);
        assert_eq!(decide(true, Some(s(1)), false, TEN_MIN), Verify::Now);
        assert_eq!(decide(false, Some(s(600)), false, TEN_MIN), Verify::Now);
        assert_eq!(decide(false, Some(s(30)), false, TEN_MIN), Verify::No);
        // an auth failure seen elsewhere brings the re-check forward...
        assert_eq!(decide(false, Some(s(30)), true, TEN_MIN), Verify::Now);
        // ...but not to within MIN_RECHECK of the last one
        assert_eq!(
            decide(false, Some(s(2)), true, TEN_MIN),
            Verify::Later(s(3))
        );
    }

    #[tokio::test]
    async fn requests_are_merged_until_taken() {
        let (r, mut rx) = Rechecks::new();
        r.request("ns/cred");
        r.request("ns/cred");
        r.request("other/c2");
        assert_eq!(
            rx.next().await,
            Some(ObjectRef::<CloudCredential>::new("cred").within("ns"))
        );
        assert_eq!(
            rx.next().await,
            Some(ObjectRef::<CloudCredential>::new("c2").within("other"))
        );
        assert!(r.take("ns/cred"));
        assert!(!r.take("ns/cred"));
        r.request("ns/cred");
        assert_eq!(
            rx.next().await,
            Some(ObjectRef::<CloudCredential>::new("cred").within("ns"))
        );
        drop(r);
        assert_eq!(rx.next().await, None, "no further triggers were sent");
    }
}
