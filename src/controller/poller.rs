//! The batched status poller. Instances are grouped by (credential, region); each poll
//! round costs ceil(N / batch) DescribeInstancesStatus-style calls per group, plus one
//! batched details call for instances whose state changed or whose details are stale.
//! Groups poll fast while anything in them is transitional or unobserved, slowly otherwise.
//! When an observation changes, the owning object is sent to the instance controller.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::mpsc::UnboundedSender;
use kube::runtime::reflector::ObjectRef;
use tokio::time::Instant;

use super::cloud::CloudHandle;
use super::metrics::Metrics;
use super::problem::Problem;
use super::ratelimit::ActionClass;
use super::recheck::Rechecks;
use crate::api::CloudInstance;
use crate::provider::{
    CloudProvider, DescribeFilter, ErrorKind, InstanceDetails, InstanceState, InstanceStatus,
    ProviderError,
};

/// What the poller last saw of one instance.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// Nothing fresh yet (new id, or a mutation was issued since the last poll).
    Unknown,
    /// The cloud no longer knows this id.
    Missing,
    /// The cloud's current view.
    Seen(Box<InstanceDetails>),
}

/// Details of `ids`, in batches; a failed batch is logged and skipped (the statuses are
/// still recorded, the details refreshed next round).
async fn fetch_details(
    key: &GroupKey,
    handle: &CloudHandle,
    ids: &[String],
) -> HashMap<String, InstanceDetails> {
    let mut details = HashMap::new();
    for chunk in ids.chunks(handle.batch_limit().max(1)) {
        let filter = DescribeFilter::Ids(chunk.to_vec());
        match handle.describe_instances(&key.region, &filter).await {
            Ok(list) => {
                for d in list {
                    details.insert(d.id.clone(), d);
                }
            }
            Err(e) => {
                tracing::warn!(credential = %key.credential, region = %key.region, error = %e, "details poll failed");
            }
        }
    }
    details
}

/// Identifies one poll group: `namespace/credential` and region.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    pub credential: String,
    pub region: String,
}

#[derive(Clone, Copy, Debug)]
pub struct PollConfig {
    /// Interval while something in the group is changing.
    pub fast: Duration,
    /// Interval when everything is stable.
    pub slow: Duration,
    /// Refresh details (IPs, name, ...) of stable instances at least this often.
    pub details_max_age: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            fast: Duration::from_secs(2),
            slow: Duration::from_secs(60),
            details_max_age: Duration::from_secs(600),
        }
    }
}

struct Entry {
    obj: ObjectRef<CloudInstance>,
    observation: Observation,
    /// A mutation was issued: the next poll must refresh status and details.
    dirty: bool,
    details_at: Option<Instant>,
    missing_rounds: u32,
    /// Bumped by every mutation; a poll that started before it must not clear `dirty`.
    seq: u64,
}

struct Group {
    handle: Arc<CloudHandle>,
    entries: HashMap<String, Entry>,
    next_poll: Instant,
    /// Consecutive failed status polls, and the last error.
    failures: u32,
    last_error: Option<crate::provider::ProviderError>,
}

/// Consecutive failed poll rounds after which the objects of a group are told (their
/// status would otherwise go stale silently).
pub const FAILED_ROUNDS_REPORTED: u32 = 3;

/// Shared between the instance reconciler (register/observe/mark) and the poll loop.
pub struct Poller {
    groups: Mutex<HashMap<GroupKey, Group>>,
    trigger: UnboundedSender<ObjectRef<CloudInstance>>,
    rechecks: Arc<Rechecks>,
    config: PollConfig,
    metrics: Arc<Metrics>,
}

impl Poller {
    pub fn new(
        config: PollConfig,
        trigger: UnboundedSender<ObjectRef<CloudInstance>>,
        rechecks: Arc<Rechecks>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            groups: Mutex::new(HashMap::new()),
            trigger,
            rechecks,
            config,
            metrics,
        }
    }

    /// Make sure `id` is polled for `obj`, and return the latest observation of it.
    pub fn observe(
        &self,
        key: &GroupKey,
        handle: &Arc<CloudHandle>,
        id: &str,
        obj: ObjectRef<CloudInstance>,
    ) -> Observation {
        let mut groups = self.groups.lock().expect("poller lock");
        let g = groups.entry(key.clone()).or_insert_with(|| Group {
            handle: handle.clone(),
            entries: HashMap::new(),
            next_poll: Instant::now(),
            failures: 0,
            last_error: None,
        });
        if g.handle.version != handle.version {
            g.handle = handle.clone();
        }
        let e = g.entries.entry(id.to_owned()).or_insert_with(|| Entry {
            obj,
            observation: Observation::Unknown,
            dirty: true,
            details_at: None,
            missing_rounds: 0,
            seq: 0,
        });
        if e.dirty {
            g.next_poll = g.next_poll.min(Instant::now() + self.config.fast);
            return Observation::Unknown;
        }
        e.observation.clone()
    }

    /// Why the cloud's view of this group cannot be read, once status polls have failed
    /// [`FAILED_ROUNDS_REPORTED`] times in a row, for `Synced`.
    pub fn poll_problem(&self, key: &GroupKey) -> Option<Problem> {
        let groups = self.groups.lock().expect("poller lock");
        let g = groups.get(key)?;
        let e = g.last_error.as_ref()?;
        (g.failures >= FAILED_ROUNDS_REPORTED).then(|| {
            Problem::new(
                e.code.clone(),
                format!(
                    "cannot read the instance's state from the cloud (status polls of region {} fail; the status shown may be stale): {}",
                    key.region,
                    e.summary()
                ),
            )
        })
    }

    /// A mutation was sent for `id`: forget what we saw and poll again soon.
    pub fn mark_mutated(&self, key: &GroupKey, id: &str) {
        let mut groups = self.groups.lock().expect("poller lock");
        if let Some(g) = groups.get_mut(key) {
            if let Some(e) = g.entries.get_mut(id) {
                e.dirty = true;
                e.seq += 1;
                e.observation = Observation::Unknown;
            }
            g.next_poll = g.next_poll.min(Instant::now() + self.config.fast);
        }
    }

    /// Stop polling `id`.
    pub fn forget(&self, key: &GroupKey, id: &str) {
        let mut groups = self.groups.lock().expect("poller lock");
        if let Some(g) = groups.get_mut(key) {
            g.entries.remove(id);
            if g.entries.is_empty() {
                groups.remove(key);
            }
        }
    }

    /// Count of tracked instances by cloud-neutral state (for the `instances` gauge).
    fn state_counts(&self) -> HashMap<&'static str, i64> {
        let groups = self.groups.lock().expect("poller lock");
        let mut counts = HashMap::new();
        for g in groups.values() {
            for e in g.entries.values() {
                let s = match &e.observation {
                    Observation::Unknown => "Unknown",
                    Observation::Missing => "Missing",
                    Observation::Seen(d) => d.state.as_str(),
                };
                *counts.entry(s).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The poll loop; runs until the process ends.
    pub async fn run(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut known_states: HashSet<&'static str> = HashSet::new();
        loop {
            tick.tick().await;
            let due: Vec<(GroupKey, Arc<CloudHandle>, HashMap<String, u64>)> = {
                let groups = self.groups.lock().expect("poller lock");
                let now = Instant::now();
                groups
                    .iter()
                    .filter(|(_, g)| g.next_poll <= now && !g.entries.is_empty())
                    .map(|(k, g)| {
                        let ids = g
                            .entries
                            .iter()
                            .map(|(id, e)| (id.clone(), e.seq))
                            .collect();
                        (k.clone(), g.handle.clone(), ids)
                    })
                    .collect()
            };
            // Groups are independent (different accounts/regions): poll them concurrently.
            // A panic in one group's round is contained: the other groups and the next
            // rounds go on (see guard.rs).
            let rounds = due.into_iter().map(|(key, handle, ids)| {
                super::guard::contain(self.clone().poll_group(key, handle, ids))
            });
            for r in futures::future::join_all(rounds).await {
                if let Err(p) = r {
                    tracing::error!(panic = %p, "a status poll round panicked (contained)");
                }
            }
            let counts = self.state_counts();
            for s in known_states.iter() {
                if !counts.contains_key(s) {
                    self.metrics
                        .instances
                        .get_or_create(&super::metrics::StateLabels { state: (*s).into() })
                        .set(0);
                }
            }
            for (s, n) in counts {
                known_states.insert(s);
                self.metrics
                    .instances
                    .get_or_create(&super::metrics::StateLabels { state: s.into() })
                    .set(n);
            }
        }
    }

    /// One poll round of group `key`: the status of every id in `snapshot` (id → its
    /// mutation sequence number when the round started), details where needed, then the
    /// new observations, and a trigger for every object whose observation changed.
    async fn poll_group(
        self: Arc<Self>,
        key: GroupKey,
        handle: Arc<CloudHandle>,
        snapshot: HashMap<String, u64>,
    ) {
        self.metrics.poll_rounds.inc();
        let mut ids: Vec<String> = snapshot.keys().cloned().collect();
        ids.sort();
        let statuses = match self.fetch_statuses(&key, &handle, &ids).await {
            Ok(s) => s,
            Err(e) => return self.round_failed(&key, e),
        };
        let now = Instant::now();
        let Some(need_details) = self.need_details(&key, &ids, &statuses, now) else {
            return;
        };
        let details = fetch_details(&key, &handle, &need_details).await;
        let changed = self.record_round(&key, &ids, &snapshot, &statuses, details, now);
        for obj in changed {
            let _ = self.trigger.unbounded_send(obj);
        }
    }

    /// The status of `ids`, in batches; the first failure ends the round.
    async fn fetch_statuses(
        &self,
        key: &GroupKey,
        handle: &CloudHandle,
        ids: &[String],
    ) -> Result<HashMap<String, InstanceStatus>, ProviderError> {
        let mut statuses = HashMap::new();
        for chunk in ids.chunks(handle.batch_limit().max(1)) {
            match handle
                .call(
                    ActionClass::Describe,
                    "DescribeInstancesStatus",
                    handle.provider.describe_status(&key.region, chunk),
                )
                .await
            {
                Ok(list) => {
                    for s in list {
                        statuses.insert(s.id.clone(), s);
                    }
                }
                Err(e) => {
                    tracing::warn!(credential = %key.credential, region = %key.region, error = %e, "status poll failed");
                    if e.kind == ErrorKind::Auth {
                        // keys revoked or expired: let the credential say so now
                        self.rechecks.request(&key.credential);
                    }
                    return Err(e);
                }
            }
        }
        Ok(statuses)
    }

    /// A failed round: back off, and once the failures are worth reporting (or the
    /// reported error changed), trigger every object of the group so `Synced` says so.
    fn round_failed(&self, key: &GroupKey, e: ProviderError) {
        let mut report = Vec::new();
        {
            let mut groups = self.groups.lock().expect("poller lock");
            if let Some(g) = groups.get_mut(key) {
                g.failures += 1;
                let new_problem = g.failures == FAILED_ROUNDS_REPORTED
                    || (g.failures > FAILED_ROUNDS_REPORTED
                        && g.last_error.as_ref().map(|p| p.summary()) != Some(e.summary()));
                g.last_error = Some(e);
                if new_problem {
                    report = g.entries.values().map(|e| e.obj.clone()).collect();
                }
                let backoff = self.config.fast * 2u32.saturating_pow(g.failures.min(5));
                g.next_poll = Instant::now() + backoff.min(self.config.slow);
            }
        }
        for obj in report {
            let _ = self.trigger.unbounded_send(obj);
        }
    }

    /// Which ids need details: new, dirty, state changed, or stale. None if the group is
    /// gone.
    fn need_details(
        &self,
        key: &GroupKey,
        ids: &[String],
        statuses: &HashMap<String, InstanceStatus>,
        now: Instant,
    ) -> Option<Vec<String>> {
        let groups = self.groups.lock().expect("poller lock");
        let g = groups.get(key)?;
        Some(
            ids.iter()
                .filter(|id| {
                    let (Some(e), Some(s)) = (g.entries.get(*id), statuses.get(*id)) else {
                        return false;
                    };
                    e.dirty
                        || e.details_at
                            .is_none_or(|t| now.duration_since(t) > self.config.details_max_age)
                        || match &e.observation {
                            Observation::Seen(d) => {
                                d.state != s.state || d.provider_state != s.provider_state
                            }
                            _ => true,
                        }
                })
                .cloned()
                .collect(),
        )
    }

    /// Fold a successful round into the entries; the objects whose observation changed.
    fn record_round(
        &self,
        key: &GroupKey,
        ids: &[String],
        snapshot: &HashMap<String, u64>,
        statuses: &HashMap<String, InstanceStatus>,
        mut details: HashMap<String, InstanceDetails>,
        now: Instant,
    ) -> Vec<ObjectRef<CloudInstance>> {
        let mut changed = Vec::new();
        let mut groups = self.groups.lock().expect("poller lock");
        let Some(g) = groups.get_mut(key) else {
            return changed;
        };
        if g.failures >= FAILED_ROUNDS_REPORTED {
            // the problem was reported: tell every object it is over
            changed.extend(g.entries.values().map(|e| e.obj.clone()));
        }
        g.failures = 0;
        g.last_error = None;
        let mut busy = false;
        for id in ids {
            let Some(e) = g.entries.get_mut(id) else {
                continue;
            };
            if snapshot.get(id) != Some(&e.seq) {
                // mutated while we were polling: what we saw may predate it
                busy = true;
                continue;
            }
            let new = match statuses.get(id) {
                None => {
                    e.missing_rounds += 1;
                    // A fresh id may lag in an eventually consistent API: require two
                    // consecutive misses before calling it gone.
                    if e.missing_rounds >= 2 {
                        Observation::Missing
                    } else {
                        busy = true;
                        continue;
                    }
                }
                Some(s) => {
                    e.missing_rounds = 0;
                    let mut d = match (details.remove(id), &e.observation) {
                        (Some(d), _) => {
                            e.details_at = Some(now);
                            d
                        }
                        (None, Observation::Seen(prev)) => (**prev).clone(),
                        (None, _) => InstanceDetails {
                            id: id.clone(),
                            ..Default::default()
                        },
                    };
                    d.state = s.state;
                    d.provider_state = s.provider_state.clone();
                    if d.state.is_transitional() {
                        busy = true;
                    }
                    Observation::Seen(Box::new(d))
                }
            };
            let was_dirty = e.dirty;
            e.dirty = false;
            if was_dirty || new != e.observation {
                e.observation = new;
                changed.push(e.obj.clone());
            }
            if matches!(&e.observation, Observation::Seen(d) if d.state == InstanceState::Pending) {
                busy = true;
            }
        }
        let any_dirty = g.entries.values().any(|e| e.dirty);
        g.next_poll = Instant::now()
            + if busy || any_dirty {
                self.config.fast
            } else {
                self.config.slow
            };
        changed
    }
}
