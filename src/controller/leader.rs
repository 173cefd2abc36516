//! Leader election on a coordination.k8s.io/v1 Lease, so that of several replicas only
//! one acts. kube 5 has no elector built in; this one is small and follows client-go's
//! semantics: the holder renews every `renew_every`; others take over once
//! `renewTime + leaseDurationSeconds` has passed; updates use the resourceVersion, so two
//! candidates can never both win the same round (the loser gets 409 Conflict).
//!
//! Worst-case failover after the leader dies without releasing: `lease_duration +
//! retry_every`. A leader that shuts down cleanly releases the lease, and a follower takes
//! over within `retry_every`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_every: Duration,
    pub retry_every: Duration,
    /// A renewal must succeed within this much of the last successful one (client-go's
    /// renewDeadline); past it the leader stops mutating and steps down, a third of a
    /// lease before any other replica may take over.
    pub renew_deadline: Duration,
}

impl LeaseConfig {
    pub fn new(
        namespace: String,
        name: String,
        identity: String,
        lease_duration: Duration,
    ) -> Self {
        let lease_duration = lease_duration.max(Duration::from_secs(2));
        Self {
            namespace,
            name,
            identity,
            renew_every: lease_duration / 3,
            renew_deadline: lease_duration * 2 / 3,
            retry_every: (lease_duration / 5).max(Duration::from_millis(500)),
            lease_duration,
        }
    }
}

/// What to do with the lease as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No lease object yet: create it holding it.
    Create,
    /// We hold it: renew.
    Renew,
    /// Free or expired: take it (a new transition).
    TakeOver,
    /// Someone else holds a live lease.
    Wait { holder: String },
}

/// Pure decision from the current lease spec and how long ago this replica last saw the
/// lease record change (`unchanged_for`), as client-go does: expiry is judged on the local
/// clock from the moment the change was observed, never by comparing the holder's
/// `renewTime` (written with the holder's clock) with ours, so clock skew between
/// replicas can neither steal a live lease nor keep a dead one.
pub fn decide(
    spec: Option<&LeaseSpec>,
    me: &str,
    unchanged_for: Duration,
    default_duration: Duration,
) -> Decision {
    let Some(spec) = spec else {
        return Decision::Create;
    };
    let holder = spec.holder_identity.clone().unwrap_or_default();
    if holder == me {
        return Decision::Renew;
    }
    if holder.is_empty() {
        return Decision::TakeOver;
    }
    let duration = spec
        .lease_duration_seconds
        .map(|s| Duration::from_secs(s.max(0) as u64))
        .unwrap_or(default_duration);
    if unchanged_for > duration {
        Decision::TakeOver
    } else {
        Decision::Wait { holder }
    }
}

/// Leader fencing: whether this replica may still mutate clouds. Without leader election
/// it always may. With it, mutations are allowed only until `renew_deadline` after the
/// start of the last successful lease write: the write's renewTime is at least that
/// recent, so the fence closes a third of a lease before the lease can expire for others,
/// even when the apiserver connection hangs.
#[derive(Clone, Default)]
pub struct Fence(Option<Arc<Mutex<Option<Instant>>>>);

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_none() {
            "Fence(none)"
        } else {
            "Fence(lease)"
        })
    }
}

impl Fence {
    /// No leader election: always open.
    pub fn none() -> Self {
        Self(None)
    }

    /// Closed until the first successful lease write.
    pub fn closed() -> Self {
        Self(Some(Arc::new(Mutex::new(None))))
    }

    /// Whether a cloud mutation may be sent now.
    pub fn allows_mutation(&self) -> bool {
        match &self.0 {
            None => true,
            Some(m) => m
                .lock()
                .map(|u| u.is_some_and(|u| Instant::now() < u))
                .unwrap_or(false),
        }
    }

    fn open_until(&self, until: Instant) {
        if let Some(m) = &self.0
            && let Ok(mut u) = m.lock()
        {
            *u = Some(until);
        }
    }

    fn close(&self) {
        if let Some(m) = &self.0
            && let Ok(mut u) = m.lock()
        {
            *u = None;
        }
    }
}

pub struct Elector {
    api: Api<Lease>,
    cfg: LeaseConfig,
    fence: Fence,
    /// The lease record last seen (resourceVersion) and when this replica saw it change.
    observed: Mutex<Option<(String, Instant)>>,
}

impl Elector {
    pub fn new(client: Client, cfg: LeaseConfig) -> Self {
        Self {
            api: Api::namespaced(client, &cfg.namespace),
            cfg,
            fence: Fence::closed(),
            observed: Mutex::new(None),
        }
    }

    /// The fence cloud mutations check (see [`Fence`]).
    pub fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// How long the lease record has been unchanged as far as this replica knows (zero when
    /// it changed since the last look, or is seen for the first time).
    fn unchanged_for(&self, lease: Option<&Lease>) -> Duration {
        let rv = lease
            .and_then(|l| l.metadata.resource_version.clone())
            .unwrap_or_default();
        let Ok(mut seen) = self.observed.lock() else {
            return Duration::ZERO;
        };
        match &*seen {
            Some((last, at)) if *last == rv => at.elapsed(),
            _ => {
                *seen = Some((rv, Instant::now()));
                Duration::ZERO
            }
        }
    }

    /// One round with a deadline (a hung apiserver connection must not hold the loop).
    /// Opens the fence until `renew_deadline` after the round started when it won.
    async fn round(&self) -> Result<bool, String> {
        let started = Instant::now();
        match tokio::time::timeout(self.cfg.renew_deadline, self.try_acquire_or_renew()).await {
            Ok(Ok(true)) => {
                self.fence.open_until(started + self.cfg.renew_deadline);
                Ok(true)
            }
            Ok(Ok(false)) => Ok(false),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "the lease update did not finish within {:?}",
                self.cfg.renew_deadline
            )),
        }
    }

    pub fn config(&self) -> &LeaseConfig {
        &self.cfg
    }

    fn spec(&self, now: jiff::Timestamp, acquire: bool, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.cfg.identity.clone()),
            lease_duration_seconds: Some(self.cfg.lease_duration.as_secs().max(1) as i32),
            acquire_time: acquire.then_some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    /// One round: returns whether we hold the lease afterwards.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = jiff::Timestamp::now();
        let current = self.api.get_opt(&self.cfg.name).await?;
        let unchanged_for = self.unchanged_for(current.as_ref());
        let decision = decide(
            current.as_ref().and_then(|l| l.spec.as_ref()),
            &self.cfg.identity,
            unchanged_for,
            self.cfg.lease_duration,
        );
        let result = match (decision, current) {
            (Decision::Create, _) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.cfg.name.clone()),
                        namespace: Some(self.cfg.namespace.clone()),
                        ..Default::default()
                    },
                    spec: Some(self.spec(now, true, 0)),
                };
                self.api
                    .create(&PostParams::default(), &lease)
                    .await
                    .map(|_| ())
            }
            (Decision::Renew, Some(mut lease)) => {
                let old = lease.spec.clone().unwrap_or_default();
                let mut spec = self.spec(now, false, old.lease_transitions.unwrap_or(0));
                spec.acquire_time = old.acquire_time;
                lease.spec = Some(spec);
                self.api
                    .replace(&self.cfg.name, &PostParams::default(), &lease)
                    .await
                    .map(|_| ())
            }
            (Decision::TakeOver, Some(mut lease)) => {
                let t = lease
                    .spec
                    .as_ref()
                    .and_then(|s| s.lease_transitions)
                    .unwrap_or(0);
                lease.spec = Some(self.spec(now, true, t + 1));
                self.api
                    .replace(&self.cfg.name, &PostParams::default(), &lease)
                    .await
                    .map(|_| ())
            }
            (Decision::Wait { .. }, _) => return Ok(false),
            (_, None) => return Ok(false),
        };
        match result {
            Ok(()) => Ok(true),
            // Someone else won this round.
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Block until we are the leader.
    pub async fn acquire(&self) {
        loop {
            match self.round().await {
                Ok(true) => {
                    tracing::info!(identity = %self.cfg.identity, lease = %self.cfg.name, "became leader");
                    return;
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "leader election: lease update failed"),
            }
            tokio::time::sleep(self.cfg.retry_every).await;
        }
    }

    /// Renew until a renewal has not succeeded within `renew_deadline`; then close the
    /// fence and return (the caller must stop acting: another replica may soon be leader).
    /// Each attempt is bounded by the time left before the deadline, so a hung apiserver
    /// connection cannot keep this replica acting past it.
    pub async fn keep_renewing(&self) {
        let mut last_ok = Instant::now();
        loop {
            tokio::time::sleep(self.cfg.renew_every).await;
            let left = self.cfg.renew_deadline.saturating_sub(last_ok.elapsed());
            let started = Instant::now();
            let outcome = match tokio::time::timeout(left, self.try_acquire_or_renew()).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err("the lease update hung past the renew deadline".to_owned()),
            };
            match outcome {
                Ok(true) => {
                    last_ok = started;
                    self.fence.open_until(started + self.cfg.renew_deadline);
                }
                Ok(false) => {
                    self.fence.close();
                    tracing::error!("leader election: lease taken by another replica");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "leader election: renew failed");
                    if last_ok.elapsed() >= self.cfg.renew_deadline {
                        self.fence.close();
                        tracing::error!("leader election: could not renew in time");
                        return;
                    }
                }
            }
        }
    }

    /// Give the lease up (on clean shutdown) so a follower takes over at once.
    pub async fn release(&self) {
        if let Ok(Some(mut lease)) = self.api.get_opt(&self.cfg.name).await
            && lease
                .spec
                .as_ref()
                .and_then(|s| s.holder_identity.as_deref())
                == Some(self.cfg.identity.as_str())
        {
            if let Some(s) = lease.spec.as_mut() {
                s.holder_identity = None;
                s.renew_time = None;
            }
            if let Err(e) = self
                .api
                .replace(&self.cfg.name, &PostParams::default(), &lease)
                .await
            {
                tracing::warn!(error = %e, "leader election: release failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: &str, renewed_secs_ago: i64, duration: i32) -> LeaseSpec {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        LeaseSpec {
            holder_identity: (!holder.is_empty()).then(|| holder.to_string()),
            lease_duration_seconds: Some(duration),
            renew_time: Some(MicroTime(
                now - jiff::SignedDuration::from_secs(renewed_secs_ago),
            )),
            ..Default::default()
        }
    }

    #[test]
    fn decisions_judge_expiry_by_when_the_change_was_observed() {
        let d = Duration::from_secs(15);
        let secs = Duration::from_secs;
        assert_eq!(decide(None, "a", secs(0), d), Decision::Create);
        assert_eq!(
            decide(Some(&spec("a", 100, 15)), "a", secs(100), d),
            Decision::Renew
        );
        assert_eq!(
            decide(Some(&spec("b", 5, 15)), "a", secs(5), d),
            Decision::Wait { holder: "b".into() }
        );
        assert_eq!(
            decide(Some(&spec("b", 16, 15)), "a", secs(16), d),
            Decision::TakeOver
        );
        assert_eq!(
            decide(Some(&spec("", 1, 15)), "a", secs(1), d),
            Decision::TakeOver
        );
        // The holder's clock is an hour behind: its renewTime looks ancient, but we just
        // saw the record change, so the lease is live.
        assert_eq!(
            decide(Some(&spec("b", 3600, 15)), "a", secs(1), d),
            Decision::Wait { holder: "b".into() }
        );
        // The holder's clock is ahead: its renewTime is in our future, but the record has
        // not changed for longer than the lease: it is expired.
        assert_eq!(
            decide(Some(&spec("b", -3600, 15)), "a", secs(16), d),
            Decision::TakeOver
        );
    }
}
