//! What the reliability campaigns (`tests/reliability_*.rs`) share: the campaign size and
//! seed, the fleet of objects a campaign creates, flips and deletes, the invariants every
//! campaign ends with, and the emulator's call counters.
//!
//! Every campaign ends with the same invariants: each object converges (Ready in the
//! desired power state at its latest generation, or gone when deleted), the cloud holds no
//! leaked instance (every live instance carries the `cloudinstance-uid` of an existing
//! object) and no duplicate (at most one live instance per uid, and it is the one in
//! `status.instanceId`). A failed invariant prints the history of what it names
//! (`support/forensics.rs`).
//!
//! # Sizes
//!
//! `CIC_CAMPAIGN_SCALE` picks the size (CI runs the default, `small`):
//!
//! | campaign              | file                     | small (CI)                        | full                                |
//! |-----------------------|--------------------------|-----------------------------------|-------------------------------------|
//! | controller crashes    | reliability_crash.rs     | 30 objects, 6 deletes, 6 kills    | 200 objects, 40 deletes, 24 kills   |
//! | injected faults       | reliability_faults.rs    | 20 objects                        | 100 objects                         |
//! | emulator restarts     | reliability_restarts.rs  | 12 (+6) objects, 2 restarts       | 60 (+30) objects, 4 restarts        |
//! | apiserver restarts    | reliability_restarts.rs  | 12 (+6) objects, 2 restarts       | 60 (+30) objects, 4 restarts        |
//! | key rotation          | reliability_keys.rs      | 4 objects                         | 20 objects                          |
//! | hostile inputs        | reliability_hostile.rs   | fixed                             | same                                |
//!
//! Randomised campaigns print their seed; `CIC_CAMPAIGN_SEED=<seed>` replays the same
//! schedule of operations and kill points, and the crash and fault campaigns pass it to
//! the emulator (`--seed`), whose fault schedule (which call of each action fails) is then
//! the same too. Wall-clock timing still varies: how many polls and retries the controller
//! makes, and which object's call is the k-th call of an action when several run
//! concurrently, so a replay repeats the schedule, not necessarily the interleaving.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client, ResourceExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::controller::{ControllerProcess, sum_metric, wait_until};
use super::emulator::Emulator;
use super::fixtures::{
    Cloud, Control, apply_credential, apply_instance, condition, instance, is_ready, patch_spec,
};
use super::forensics::{Changes, record_changes};
use cloudinstance_controller::api::CloudInstance;

/// Timeout for single conditions (one object, one credential).
pub const T: Duration = Duration::from_secs(120);

// ------------------------------------------------------------------------------------
// campaign size and randomness
// ------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub crash_objects: usize,
    pub crash_deletes: usize,
    pub crash_kills: usize,
    pub fault_objects: usize,
    pub restart_objects: usize,
    pub restarts: usize,
    pub rotation_objects: usize,
    /// How long a whole fleet may take to converge at the end of a campaign.
    pub converge: Duration,
}

pub fn scale() -> Scale {
    match std::env::var("CIC_CAMPAIGN_SCALE").as_deref() {
        Ok("full") => Scale {
            crash_objects: 200,
            crash_deletes: 40,
            crash_kills: 24,
            fault_objects: 100,
            restart_objects: 60,
            restarts: 4,
            rotation_objects: 20,
            converge: Duration::from_secs(600),
        },
        Ok("small") | Ok("") | Err(_) => Scale {
            crash_objects: 30,
            crash_deletes: 6,
            crash_kills: 6,
            fault_objects: 20,
            restart_objects: 12,
            restarts: 2,
            rotation_objects: 4,
            converge: Duration::from_secs(240),
        },
        Ok(other) => panic!("CIC_CAMPAIGN_SCALE={other:?}: use `small` (default) or `full`"),
    }
}

impl Scale {
    /// The bounds of a restart campaign's churn: (most objects, most deletes).
    pub fn restart_bounds(&self) -> (usize, usize) {
        (
            self.restart_objects + self.restart_objects / 2,
            self.restart_objects / 4,
        )
    }
}

pub fn campaign_rng(name: &str) -> StdRng {
    campaign_seed(name).1
}

/// The campaign's seed (`CIC_CAMPAIGN_SEED`, random when unset) and a generator seeded
/// with it.
pub fn campaign_seed(name: &str) -> (u64, StdRng) {
    let seed = match std::env::var("CIC_CAMPAIGN_SEED") {
        Ok(s) if !s.trim().is_empty() => s
            .trim()
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("CIC_CAMPAIGN_SEED={s:?} is not a u64")),
        _ => rand::random::<u64>(),
    };
    eprintln!("[{name}] seed {seed} (CIC_CAMPAIGN_SEED={seed} replays this schedule)");
    (seed, StdRng::seed_from_u64(seed))
}

pub async fn pause(rng: &mut StdRng, ms: std::ops::Range<u64>) {
    tokio::time::sleep(Duration::from_millis(rng.random_range(ms))).await;
}

// ------------------------------------------------------------------------------------
// the fleet: objects a campaign creates, flips and deletes, and what each should become
// ------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    Running,
    Stopped,
    Deleted,
}

pub struct Fleet {
    pub client: Client,
    pub ns: String,
    pub cred: String,
    pub cloud: Cloud,
    pub want: BTreeMap<String, Want>,
    pub created: usize,
    pub flips: usize,
    pub deletes: usize,
    pub renames: usize,
    /// What was done to which object, and when (printed when an invariant fails).
    pub history: Vec<(Instant, String)>,
    pub born: Instant,
    /// Every change of the fleet's objects seen by a watch (status writes included).
    pub changes: Changes,
    pub watch: tokio::task::JoinHandle<()>,
    /// Logs of controllers that are gone (killed), and the log file of the running one.
    pub old_logs: Vec<(String, String)>,
    pub log_file: Option<PathBuf>,
    /// `CIC_CAMPAIGN_SEED` of the campaign and the test's name, for the replay hint.
    pub seed: Option<(u64, &'static str)>,
    /// The emulator's URL (its control API), for the histories.
    pub emulator: Option<String>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.watch.abort();
    }
}

impl Fleet {
    pub fn new(client: &Client, ns: &str, cred: &str, cloud: Cloud) -> Fleet {
        Fleet {
            client: client.clone(),
            ns: ns.to_string(),
            cred: cred.to_string(),
            cloud,
            want: BTreeMap::new(),
            created: 0,
            flips: 0,
            deletes: 0,
            renames: 0,
            history: Vec::new(),
            born: Instant::now(),
            changes: Changes::default(),
            watch: tokio::spawn(async {}),
            old_logs: Vec::new(),
            log_file: None,
            seed: None,
            emulator: None,
        }
        .watched()
    }

    pub fn watched(mut self) -> Fleet {
        self.watch = tokio::spawn(record_changes(self.api(), self.changes.clone()));
        self
    }

    /// Follow the log of this controller (the one running now).
    pub fn follow(&mut self, controller: &ControllerProcess) {
        self.log_file = Some(controller.log.clone());
    }

    /// Keep the log of a controller that is gone (its log file goes with it).
    pub fn keep_log(&mut self, label: String, text: String) {
        self.old_logs.push((label, text));
    }

    pub fn note(&mut self, what: String) {
        self.history.push((Instant::now(), what));
    }

    /// The recorded operations on objects whose name appears in `text`.
    pub fn history_for(&self, text: &str) -> String {
        self.history
            .iter()
            .filter(|(_, w)| w.split(' ').nth(1).is_some_and(|n| text.contains(n)))
            .map(|(t, w)| format!("  +{:.3}s {w}", t.duration_since(self.born).as_secs_f64()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn api(&self) -> Api<CloudInstance> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Names of objects that exist and should keep existing.
    pub fn live(&self) -> Vec<String> {
        self.want
            .iter()
            .filter(|(_, w)| **w != Want::Deleted)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Logical operations requested so far (creates, power flips, renames, deletes).
    pub fn ops(&self) -> usize {
        self.created + self.flips + self.renames + self.deletes
    }

    pub async fn create(&mut self) -> String {
        let name = format!("vm-{:04}", self.created);
        apply_instance(
            &self.client,
            &self.ns,
            &instance(&name, &self.cred, &self.cloud, json!({})),
        )
        .await;
        self.created += 1;
        self.want.insert(name.clone(), Want::Running);
        self.note(format!("create {name}"));
        name
    }

    pub async fn flip(&mut self, name: &str) {
        let next = match self.want[name] {
            Want::Running => Want::Stopped,
            Want::Stopped => Want::Running,
            Want::Deleted => return,
        };
        let power = if next == Want::Running {
            "Running"
        } else {
            "Stopped"
        };
        patch_spec(&self.client, &self.ns, name, json!({"powerState": power})).await;
        self.flips += 1;
        self.want.insert(name.to_string(), next);
        self.note(format!("power {name} {power}"));
    }

    pub async fn rename(&mut self, name: &str, to: &str) {
        patch_spec(&self.client, &self.ns, name, json!({"instanceName": to})).await;
        self.renames += 1;
        self.note(format!("rename {name} {to}"));
    }

    pub async fn delete(&mut self, name: &str) {
        let before = match self.api().get_opt(name).await {
            Ok(Some(o)) => format!("finalizers {:?}", o.finalizers()),
            Ok(None) => "already gone".to_string(),
            Err(e) => format!("get failed: {e}"),
        };
        self.note(format!("before-delete {name} {before}"));
        match self.api().delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => panic!("delete {name}: {e}"),
        }
        self.deletes += 1;
        self.want.insert(name.to_string(), Want::Deleted);
        self.note(format!("delete {name}"));
    }

    /// A fleet of `cloud` on a new credential `cred` (at the emulator `endpoint`), with
    /// `n` objects created.
    pub async fn with_objects(
        client: &Client,
        ns: &str,
        cloud: Cloud,
        endpoint: &str,
        n: usize,
    ) -> Fleet {
        apply_credential(client, ns, "cred", &cloud, endpoint, cloud.secret).await;
        let mut fleet = Fleet::new(client, ns, "cred", cloud);
        for _ in 0..n {
            fleet.create().await;
        }
        fleet
    }

    /// `ops` random operations (see [`Self::random_op`]), each followed by a pause of
    /// `ms` milliseconds.
    pub async fn churn(
        &mut self,
        rng: &mut StdRng,
        ops: usize,
        ms: std::ops::Range<u64>,
        (max_objects, max_deletes): (usize, usize),
    ) {
        for _ in 0..ops {
            self.random_op(rng, max_objects, max_deletes).await;
            pause(rng, ms.clone()).await;
        }
    }

    /// One random operation: create (until `max_objects`), flip a power state, or delete
    /// (until `max_deletes`).
    pub async fn random_op(&mut self, rng: &mut StdRng, max_objects: usize, max_deletes: usize) {
        let live = self.live();
        let roll = rng.random_range(0..100);
        if self.created < max_objects && (roll < 40 || live.is_empty()) {
            self.create().await;
        } else if live.is_empty() {
        } else if roll < 85 || self.deletes >= max_deletes {
            let name = &live[rng.random_range(0..live.len())];
            self.flip(name).await;
        } else {
            let name = &live[rng.random_range(0..live.len())];
            self.delete(name).await;
        }
    }
}

// ------------------------------------------------------------------------------------
// invariants
// ------------------------------------------------------------------------------------

/// Problems that keep the fleet from being converged (empty = converged).
pub async fn convergence_problems(
    client: &Client,
    ns: &str,
    want: &BTreeMap<String, Want>,
) -> Vec<String> {
    let api: Api<CloudInstance> = Api::namespaced(client.clone(), ns);
    let list = match api.list(&ListParams::default()).await {
        Ok(l) => l.items,
        Err(e) => return vec![format!("cannot list CloudInstances: {e}")],
    };
    let by_name: HashMap<String, &CloudInstance> = list.iter().map(|o| (o.name_any(), o)).collect();
    let mut problems = Vec::new();
    for (name, w) in want {
        let obj = by_name.get(name);
        let desired = match (w, obj) {
            (Want::Deleted, None) => continue,
            (Want::Deleted, Some(o)) => {
                problems.push(format!(
                    "{name}: deleted but still present (finalizers {:?}, status {})",
                    o.finalizers(),
                    serde_json::to_string(&o.status).unwrap_or_default()
                ));
                continue;
            }
            (_, None) => {
                problems.push(format!("{name}: missing"));
                continue;
            }
            (Want::Running, Some(_)) => "Running",
            (Want::Stopped, Some(_)) => "Stopped",
        };
        let o = obj.expect("present");
        let status = serde_json::to_value(&o.status).unwrap_or(Value::Null);
        let generation = json!(o.metadata.generation);
        let ok = is_ready(&status)
            && status["state"] == desired
            && status["instanceId"].is_string()
            && status["observedGeneration"] == generation
            && condition(&status, "Ready").is_some_and(|c| c["observedGeneration"] == generation);
        if !ok {
            problems.push(format!(
                "{name}: want {desired} at generation {generation}, status {status}"
            ));
        }
    }
    for o in &list {
        // the fleet's objects are vm-NNNN; a test may keep others next to them
        if o.name_any().starts_with("vm-") && !want.contains_key(&o.name_any()) {
            problems.push(format!("{}: unexpected object", o.name_any()));
        }
    }
    problems
}

/// Wait until the fleet has converged; returns how long it took.
pub async fn wait_converged(
    client: &Client,
    ns: &str,
    fleet: &Fleet,
    timeout: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        let problems = convergence_problems(client, ns, &fleet.want).await;
        if problems.is_empty() {
            return start.elapsed();
        }
        if start.elapsed() > timeout {
            let ctl = fleet.emulator.as_deref().map(Control::new);
            panic!(
                "fleet not converged after {timeout:?}; {} problem(s):\n{}\n{}",
                problems.len(),
                problems
                    .iter()
                    .take(15)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n"),
                fleet.histories(&problems, ctl.as_ref()).await
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What the cloud holds, checked against the objects.
#[derive(Debug)]
pub struct CloudAudit {
    pub live: usize,
    pub terminated: usize,
}

/// Leaks (live instances without a live owner object), duplicates (more than one live
/// instance per owner) and objects whose status does not name their one live instance.
pub async fn leak_problems(
    client: &Client,
    ns: &str,
    ctl: &Control,
) -> Result<CloudAudit, Vec<String>> {
    let api: Api<CloudInstance> = Api::namespaced(client.clone(), ns);
    let objects = match api.list(&ListParams::default()).await {
        Ok(l) => l.items,
        Err(e) => return Err(vec![format!("cannot list CloudInstances: {e}")]),
    };
    let instances = ctl.instances().await;
    let mut problems = Vec::new();
    // uid -> [(id, "id (name, state)")]
    let mut live_by_uid: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let mut terminated = 0;
    for i in &instances {
        if i["state"] == "terminated" {
            terminated += 1;
            continue;
        }
        let id = i["id"].as_str().unwrap_or("?").to_string();
        let name = i["tags"]["cloudinstance-name"].as_str().unwrap_or("?");
        match i["tags"]["cloudinstance-uid"].as_str() {
            Some(uid) => live_by_uid
                .entry(uid.to_string())
                .or_default()
                .push((id.clone(), format!("{id} ({name}, {})", i["state"]))),
            None => problems.push(format!("untagged live instance {id}: {i}")),
        }
    }
    let mut owners = HashMap::new();
    for o in &objects {
        let uid = o.uid().unwrap_or_default();
        let deleting = o.metadata.deletion_timestamp.is_some();
        owners.insert(uid.clone(), (o.name_any(), deleting));
        let live = live_by_uid.get(&uid).cloned().unwrap_or_default();
        let ids: Vec<&String> = live.iter().map(|(_, d)| d).collect();
        let recorded = o.status.as_ref().and_then(|s| s.instance_id.clone());
        if live.len() > 1 {
            problems.push(format!("DUPLICATE: {} owns {ids:?}", o.name_any()));
        } else if !deleting && live.first().map(|(id, _)| id) != recorded.as_ref() {
            // An object the cloud refused has neither; otherwise status names the one.
            problems.push(format!(
                "{}: live instances {ids:?}, status.instanceId {recorded:?}",
                o.name_any()
            ));
        }
    }
    for (uid, live) in &live_by_uid {
        if !owners.contains_key(uid) {
            let ids: Vec<&String> = live.iter().map(|(_, d)| d).collect();
            problems.push(format!(
                "LEAK: live instances {ids:?} tagged with uid {uid} of no existing object"
            ));
        }
    }
    if problems.is_empty() {
        Ok(CloudAudit {
            live: live_by_uid.values().map(Vec::len).sum(),
            terminated,
        })
    } else {
        Err(problems)
    }
}

pub async fn assert_no_leaks(
    client: &Client,
    ns: &str,
    ctl: &Control,
    fleet: Option<&Fleet>,
) -> CloudAudit {
    // Converged means every deleted object's instance was seen terminated, so this holds
    // at once; the short wait only absorbs a listing taken mid-update.
    let start = Instant::now();
    loop {
        match leak_problems(client, ns, ctl).await {
            Ok(a) => return a,
            Err(p) if start.elapsed() > Duration::from_secs(30) => {
                let histories = match fleet {
                    Some(f) => f.histories(&p, Some(ctl)).await,
                    None => String::new(),
                };
                panic!(
                    "cloud does not match the objects:\n{}\n{histories}",
                    p.join("\n")
                )
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

// ------------------------------------------------------------------------------------
// emulator call counters
// ------------------------------------------------------------------------------------

pub const MUTATING: &[&str] = &[
    "RunInstances",
    "StartInstances",
    "StopInstances",
    "RebootInstances",
    "TerminateInstances",
    "ModifyInstancesAttribute",
    "ResetInstance",
    "ResetInstancesType",
];

/// Sum of counter `field` (`total`, `ok`, `errors`, `throttled`, `faulted`) of `provider`
/// over `actions` (every action when empty).
pub fn calls_sum(calls: &Value, provider: &str, field: &str, actions: &[&str]) -> u64 {
    calls[provider]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(a, _)| actions.is_empty() || actions.contains(&a.as_str()))
                .map(|(_, v)| v[field].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

pub fn calls_by_action(calls: &Value, provider: &str) -> BTreeMap<String, u64> {
    calls[provider]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(a, v)| (a.clone(), v["total"].as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// A metric's sum (0 when absent; `sum_metric` of nothing is -0.0).
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sum_metric(text, name, labels) + 0.0
}

/// Start an emulator on a fixed port (after a restart the old socket may linger briefly).
pub async fn start_emulator_on(port: u16, extra: &[&str]) -> Emulator {
    let addr = format!("127.0.0.1:{port}");
    let mut args = vec!["--addr", addr.as_str()];
    args.extend_from_slice(extra);
    let mut last = String::new();
    for _ in 0..40 {
        match Emulator::try_start(&args).await {
            Ok(e) => return e,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("cannot restart the emulator on {addr}: {last}");
}

/// Wait until the controller is idle: a 2 s interval without any reconciliation (the
/// objects' last status writes have been followed by their last reconciles).
pub async fn settle(controller: &ControllerProcess) {
    let total = || controller.metric_sum("cloudinstance_reconcile_total", &[]);
    let last = Cell::new(total().await);
    wait_until(T, "controller idle for 2 s", || async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = total().await;
        now == last.replace(now)
    })
    .await;
}
