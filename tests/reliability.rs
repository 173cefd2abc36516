//! Reliability campaigns: the real controller binary against a real kube-apiserver and the
//! cloud emulator, under controller crashes, injected cloud faults, cloud API and
//! apiserver restarts, key rotation and revocation, and hostile inputs.
//!
//! Every campaign ends with the same invariants: each object converges (Ready in the
//! desired power state at its latest generation, or gone when deleted), the cloud holds no
//! leaked instance (every live instance carries the `cloudinstance-uid` of an existing
//! object) and no duplicate (at most one live instance per uid, and it is the one in
//! `status.instanceId`).
//!
//! | test | what |
//! |---|---|
//! | `crash_campaign_converges_without_leaks_or_duplicates` | churn while the controller is SIGKILLed at random moments |
//! | `crash_between_create_and_delete_does_not_leak` | the worst moment, forced: killed after RunInstances, before the id is written, object deleted meanwhile |
//! | `fault_campaign_converges_with_bounded_calls` | ~20 % of cloud calls fail, 5 % are slow, one times out; call counts bounded |
//! | `terminal_errors_are_not_retried_when_siblings_change` | a rejected create is not retried on unrelated credential status changes |
//! | `emulator_restart_during_churn_is_survived` | the cloud API restarts (same port, state file) |
//! | `apiserver_restart_during_churn_is_survived` | kube-apiserver is killed and restarted (a private control plane) |
//! | `key_revocation_and_rotation` | the cloud revokes the key, then the Secret gets the new one |
//! | `hostile_inputs_get_clear_conditions_and_never_leak_secrets` | 39 hostile-but-valid inputs; no secret in logs, events or status |
//!
//! # Sizes
//!
//! `CIC_CAMPAIGN_SCALE` picks the size (CI runs the default, `small`):
//!
//! | campaign              | small (CI)                        | full                                |
//! |-----------------------|-----------------------------------|-------------------------------------|
//! | controller crashes    | 30 objects, 6 deletes, 6 kills    | 200 objects, 40 deletes, 24 kills   |
//! | injected faults       | 20 objects                        | 100 objects                         |
//! | emulator restarts     | 12 (+6) objects, 2 restarts       | 60 (+30) objects, 4 restarts        |
//! | apiserver restarts    | 12 (+6) objects, 2 restarts       | 60 (+30) objects, 4 restarts        |
//! | key rotation          | 4 objects                         | 20 objects                          |
//! | the others            | fixed                             | same                                |
//!
//! The small size takes about 70 s with `--test-threads=4` on 2 cores; the full size about
//! 5 minutes one campaign at a time (which keeps the timings meaningful):
//!
//! ```sh
//! CIC_CAMPAIGN_SCALE=full hack/test.sh --test reliability -- --test-threads=1
//! # or, against a running control plane (KUBECONFIG exported):
//! CIC_CAMPAIGN_SCALE=full cargo test --test reliability -- --test-threads=1 --nocapture
//! ```
//!
//! Each campaign prints its figures (`--nocapture`): convergence times, calls per object,
//! outage and recovery times. Randomised campaigns print their seed;
//! `CIC_CAMPAIGN_SEED=<seed>` replays the same schedule of operations and kill points, and
//! the crash and fault campaigns pass it to the emulator (`--seed`), whose fault schedule
//! (which call of each action fails) is then the same too. Wall-clock timing still varies:
//! how many polls and retries the controller makes, and which object's call is the k-th
//! call of an action when several run concurrently, so a replay repeats the schedule, not
//! necessarily the interleaving.
//!
//! `hack/soak.sh` runs the crash and fault campaigns over and over with a fresh seed each
//! run and stops at the first failure. A failed invariant prints the history of every
//! object and instance it names: the campaign's operations on the object, each change of
//! the object seen by a watch (status writes, finalizers, deletion), the emulator's record
//! of the instances, the cloud requests naming them (when the emulator keeps a request
//! log), and the lines of every controller incarnation's log that mention them.

mod support;

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::api::core::v1::Event;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config, ResourceExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use cloudinstance_controller::api::{CloudCredential, CloudInstance};
use support::cluster::{TestNamespace, admin_client, kubectl_path, repo_root};
use support::controller::{
    ControllerProcess, free_port, install_crds, sum_metric, wait_for, wait_until,
};
use support::emulator::Emulator;
use support::fixtures::*;
use support::scenario::create_with_answer_held_back;

/// Timeout for single conditions (one object, one credential).
const T: Duration = Duration::from_secs(120);

// ------------------------------------------------------------------------------------
// campaign size and randomness
// ------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct Scale {
    crash_objects: usize,
    crash_deletes: usize,
    crash_kills: usize,
    fault_objects: usize,
    restart_objects: usize,
    restarts: usize,
    rotation_objects: usize,
    /// How long a whole fleet may take to converge at the end of a campaign.
    converge: Duration,
}

fn scale() -> Scale {
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

fn campaign_rng(name: &str) -> StdRng {
    campaign_seed(name).1
}

/// The campaign's seed (`CIC_CAMPAIGN_SEED`, random when unset) and a generator seeded
/// with it.
fn campaign_seed(name: &str) -> (u64, StdRng) {
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

async fn pause(rng: &mut StdRng, ms: std::ops::Range<u64>) {
    tokio::time::sleep(Duration::from_millis(rng.random_range(ms))).await;
}

// ------------------------------------------------------------------------------------
// the fleet: objects a campaign creates, flips and deletes, and what each should become
// ------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    Running,
    Stopped,
    Deleted,
}

struct Fleet {
    client: Client,
    ns: String,
    cred: String,
    cloud: Cloud,
    want: BTreeMap<String, Want>,
    created: usize,
    flips: usize,
    deletes: usize,
    renames: usize,
    /// What was done to which object, and when (printed when an invariant fails).
    history: Vec<(Instant, String)>,
    born: Instant,
    /// Every change of the fleet's objects seen by a watch (status writes included).
    changes: Changes,
    watch: tokio::task::JoinHandle<()>,
    /// Logs of controllers that are gone (killed), and the log file of the running one.
    old_logs: Vec<(String, String)>,
    log_file: Option<PathBuf>,
    /// `CIC_CAMPAIGN_SEED` of the campaign and the test's name, for the replay hint.
    seed: Option<(u64, &'static str)>,
    /// The emulator's URL (its control API), for the histories.
    emulator: Option<String>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.watch.abort();
    }
}

impl Fleet {
    fn new(client: &Client, ns: &str, cred: &str, cloud: Cloud) -> Fleet {
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

    fn watched(mut self) -> Fleet {
        self.watch = tokio::spawn(record_changes(self.api(), self.changes.clone()));
        self
    }

    /// Follow the log of this controller (the one running now).
    fn follow(&mut self, controller: &ControllerProcess) {
        self.log_file = Some(controller.log.clone());
    }

    /// Keep the log of a controller that is gone (its log file goes with it).
    fn keep_log(&mut self, label: String, text: String) {
        self.old_logs.push((label, text));
    }

    fn note(&mut self, what: String) {
        self.history.push((Instant::now(), what));
    }

    /// The recorded operations on objects whose name appears in `text`.
    fn history_for(&self, text: &str) -> String {
        self.history
            .iter()
            .filter(|(_, w)| w.split(' ').nth(1).is_some_and(|n| text.contains(n)))
            .map(|(t, w)| format!("  +{:.3}s {w}", t.duration_since(self.born).as_secs_f64()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn api(&self) -> Api<CloudInstance> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Names of objects that exist and should keep existing.
    fn live(&self) -> Vec<String> {
        self.want
            .iter()
            .filter(|(_, w)| **w != Want::Deleted)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Logical operations requested so far (creates, power flips, renames, deletes).
    fn ops(&self) -> usize {
        self.created + self.flips + self.renames + self.deletes
    }

    async fn create(&mut self) -> String {
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

    async fn flip(&mut self, name: &str) {
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

    async fn rename(&mut self, name: &str, to: &str) {
        patch_spec(&self.client, &self.ns, name, json!({"instanceName": to})).await;
        self.renames += 1;
        self.note(format!("rename {name} {to}"));
    }

    async fn delete(&mut self, name: &str) {
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

    /// One random operation: create (until `max_objects`), flip a power state, or delete
    /// (until `max_deletes`).
    async fn random_op(&mut self, rng: &mut StdRng, max_objects: usize, max_deletes: usize) {
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
// forensics: the history of the objects and instances an invariant failure names
// ------------------------------------------------------------------------------------

/// Changes of the fleet's objects as a watch saw them: (time, object name, summary).
type Changes = std::sync::Arc<std::sync::Mutex<Vec<(Instant, String, String)>>>;

/// What of an object a history shows: metadata the controller touches (finalizers,
/// deletion) and its status (instance id, state, the create marker, conditions).
fn change_summary(o: &CloudInstance) -> String {
    let st = serde_json::to_value(&o.status).unwrap_or(Value::Null);
    let conds: Vec<String> = st["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    format!(
                        "{}={}/{}@{}",
                        c["type"].as_str().unwrap_or("?"),
                        c["status"].as_str().unwrap_or("?"),
                        c["reason"].as_str().unwrap_or("?"),
                        c["observedGeneration"]
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "uid {} gen {} deleting {} finalizers {:?} | status instanceId {} state {} observedGeneration {} \
         createRequestedAt {} incarnation {} conditions [{}]",
        o.uid().unwrap_or_default(),
        o.metadata.generation.unwrap_or(0),
        o.metadata.deletion_timestamp.is_some(),
        o.finalizers(),
        st["instanceId"],
        st["state"],
        st["observedGeneration"],
        st["createRequestedAt"],
        st["incarnation"],
        conds.join(" ")
    )
}

/// Record every change of the objects `api` lists (until aborted). Consecutive identical
/// summaries of an object are recorded once; resourceVersion is shown, not compared.
async fn record_changes(api: Api<CloudInstance>, changes: Changes) {
    use futures::StreamExt as _;
    use kube::runtime::{WatchStreamExt as _, watcher};
    let mut last: HashMap<String, String> = HashMap::new();
    let mut events = std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
    while let Some(ev) = events.next().await {
        let (obj, gone) = match ev {
            Ok(watcher::Event::Apply(o)) | Ok(watcher::Event::InitApply(o)) => (o, false),
            Ok(watcher::Event::Delete(o)) => (o, true),
            Ok(_) => continue,
            Err(e) => {
                let mut c = changes.lock().unwrap_or_else(|p| p.into_inner());
                c.push((Instant::now(), String::new(), format!("watch error: {e}")));
                continue;
            }
        };
        let name = obj.name_any();
        let summary = if gone {
            "DELETED from the API".to_string()
        } else {
            change_summary(&obj)
        };
        if last.get(&name) == Some(&summary) {
            continue;
        }
        last.insert(name.clone(), summary.clone());
        let rv = obj.resource_version().unwrap_or_default();
        changes.lock().unwrap_or_else(|p| p.into_inner()).push((
            Instant::now(),
            name,
            format!("rv {rv} {summary}"),
        ));
    }
}

/// The object names (`vm-NNNN`), Tencent instance ids (`ins-xxxxxxxx`) and UIDs a text
/// mentions.
fn mentioned(text: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut names, mut ids, mut uids) = (Vec::new(), Vec::new(), Vec::new());
    let tokens = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
    for t in tokens {
        let push = |v: &mut Vec<String>, x: &str| {
            if !v.iter().any(|y| y == x) {
                v.push(x.to_string());
            }
        };
        if let Some(rest) = t.strip_prefix("vm-")
            && rest.len() >= 4
            && rest[..4].bytes().all(|b| b.is_ascii_digit())
        {
            push(&mut names, &t[..7]);
        } else if t.len() == 12
            && t.starts_with("ins-")
            && t[4..].bytes().all(|b| b.is_ascii_alphanumeric())
        {
            push(&mut ids, t);
        } else if t.len() == 36
            && t.bytes().enumerate().all(|(i, b)| {
                if [8, 13, 18, 23].contains(&i) {
                    b == b'-'
                } else {
                    b.is_ascii_hexdigit()
                }
            })
        {
            push(&mut uids, t);
        }
    }
    (names, ids, uids)
}

/// The emulator's request log (`GET /_emulator/requests`), `None` when it has none.
async fn emulator_requests(ctl: &Control) -> Option<Vec<Value>> {
    let r = reqwest::get(format!("{}/requests", ctl.base)).await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    match r.json::<Value>().await.ok()? {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

/// `text` without ANSI colour sequences (the controller colours its log).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// At most the last `n` of `lines`, with a note of how many were left out.
fn last_lines(lines: Vec<&str>, n: usize) -> String {
    let skip = lines.len().saturating_sub(n);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("    ... {skip} earlier line(s) left out\n"));
    }
    for l in &lines[skip..] {
        out.push_str("    ");
        out.push_str(l);
        out.push('\n');
    }
    out
}

impl Fleet {
    /// The history of every object and instance that `problems` name: the campaign's
    /// operations, the watched changes of the objects (status writes included), the
    /// emulator's record of the instances, the cloud requests that name them (when the
    /// emulator keeps a request log), and the controllers' log lines about them.
    async fn histories(&self, problems: &[String], ctl: Option<&Control>) -> String {
        let text = problems.join(" ");
        let (mut names, mut ids, mut uids) = mentioned(&text);
        // widen: the objects' uids and instance ids, the instances' owners
        if let Ok(list) = self.api().list(&ListParams::default()).await {
            for o in list.items.iter().filter(|o| names.contains(&o.name_any())) {
                uids.extend(o.uid());
                if let Some(id) = o.status.as_ref().and_then(|s| s.instance_id.clone()) {
                    ids.push(id);
                }
            }
        }
        {
            let changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
            for (_, name, what) in changes.iter() {
                if names.contains(name) {
                    let (_, i, u) = mentioned(what);
                    ids.extend(i);
                    uids.extend(u);
                }
            }
        }
        let instances = match ctl {
            Some(c) => c.instances().await,
            None => Vec::new(),
        };
        let mut tokens = Vec::new();
        for i in &instances {
            let id = i["id"].as_str().unwrap_or_default().to_string();
            let uid = i["tags"]["cloudinstance-uid"].as_str().unwrap_or_default();
            let name = i["tags"]["cloudinstance-name"].as_str().unwrap_or_default();
            if ids.contains(&id) || uids.iter().any(|u| u == uid) || names.iter().any(|n| n == name)
            {
                ids.push(id);
                uids.push(uid.to_string());
                if !names.iter().any(|n| n == name) && !name.is_empty() {
                    names.push(name.to_string());
                }
                tokens.extend(i["client_token"].as_str().map(str::to_string));
            }
        }
        for v in [&mut names, &mut ids, &mut uids, &mut tokens] {
            v.retain(|x| !x.is_empty());
            v.sort();
            v.dedup();
        }
        let keys: Vec<&String> = names
            .iter()
            .chain(&ids)
            .chain(&uids)
            .chain(&tokens)
            .collect();
        let hit = |line: &str| keys.iter().any(|k| line.contains(k.as_str()));
        let t = |at: &Instant| at.saturating_duration_since(self.born).as_secs_f64();

        let mut out = String::new();
        out.push_str(&format!(
            "==== histories of objects {names:?}, instances {ids:?}, uids {uids:?} ====\n"
        ));
        if let Some((seed, test)) = self.seed {
            out.push_str(&format!(
                "replay: CIC_CAMPAIGN_SEED={seed} cargo test --test reliability {test} -- --nocapture\n"
            ));
        }
        out.push_str("-- campaign operations --\n");
        out.push_str(&self.history_for(&names.join(" ")));
        out.push_str(
            "\n-- object changes seen by a watch (status writes, finalizers, deletion) --\n",
        );
        {
            let changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
            for (at, name, what) in changes.iter() {
                if names.contains(name) || (name.is_empty() && !what.is_empty()) {
                    out.push_str(&format!("  +{:.3}s {name} {what}\n", t(at)));
                }
            }
        }
        out.push_str("-- the emulator's record of the instances --\n");
        for i in instances
            .iter()
            .filter(|i| ids.iter().any(|id| i["id"].as_str() == Some(id.as_str())))
        {
            out.push_str(&format!("  {i}\n"));
        }
        if let Some(c) = ctl {
            out.push_str("-- cloud requests naming them (emulator request log) --\n");
            match emulator_requests(c).await {
                Some(reqs) => {
                    let lines: Vec<String> = reqs
                        .iter()
                        .map(|r| r.to_string())
                        .filter(|r| hit(r))
                        .collect();
                    out.push_str(&last_lines(lines.iter().map(String::as_str).collect(), 200));
                }
                None => out.push_str("    (this emulator keeps no request log)\n"),
            }
        }
        let mut logs = self.old_logs.clone();
        if let Some(f) = &self.log_file {
            logs.push((
                "the running controller".to_string(),
                std::fs::read_to_string(f).unwrap_or_default(),
            ));
        }
        for (label, text) in &logs {
            let text = strip_ansi(text);
            let lines: Vec<&str> = text.lines().filter(|l| hit(l)).collect();
            out.push_str(&format!(
                "-- controller log, {label}: {} line(s) about them --\n",
                lines.len()
            ));
            out.push_str(&last_lines(lines, 300));
        }
        out
    }
}

// ------------------------------------------------------------------------------------
// invariants
// ------------------------------------------------------------------------------------

/// Problems that keep the fleet from being converged (empty = converged).
async fn convergence_problems(
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
async fn wait_converged(client: &Client, ns: &str, fleet: &Fleet, timeout: Duration) -> Duration {
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
struct CloudAudit {
    live: usize,
    terminated: usize,
}

/// Leaks (live instances without a live owner object), duplicates (more than one live
/// instance per owner) and objects whose status does not name their one live instance.
async fn leak_problems(
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

async fn assert_no_leaks(
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

const MUTATING: &[&str] = &[
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
fn calls_sum(calls: &Value, provider: &str, field: &str, actions: &[&str]) -> u64 {
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

fn calls_by_action(calls: &Value, provider: &str) -> BTreeMap<String, u64> {
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
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sum_metric(text, name, labels) + 0.0
}

// ------------------------------------------------------------------------------------
// Secrets and credentials with arbitrary contents
// ------------------------------------------------------------------------------------

/// Server-side apply a Secret whose `data` holds exactly these (possibly non-UTF-8) bytes.
async fn apply_secret(client: &Client, ns: &str, name: &str, data: &[(&str, &[u8])]) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), json!(b64.encode(v))))
        .collect();
    // marked both ways: these Secrets serve credentials and login passwords alike
    let s = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "labels": {CREDENTIAL_LABEL: "true", LOGIN_LABEL: "true"}},
        "data": data,
    });
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), ns)
        .patch(
            name,
            &PatchParams::apply("cic-tests").force(),
            &Patch::Apply(&s),
        )
        .await
        .unwrap_or_else(|e| panic!("apply secret {name}: {e}"));
}

/// Server-side apply a CloudCredential; `extra` is merged into the spec.
async fn apply_cred(
    client: &Client,
    ns: &str,
    name: &str,
    provider: &str,
    secret: &str,
    endpoint: &str,
    extra: Value,
) {
    let mut spec = json!({
        "provider": provider,
        "secretRef": {"name": secret},
        "endpoint": endpoint,
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            if k == "secretRef" {
                for (rk, rv) in v.as_object().expect("secretRef object") {
                    s["secretRef"][rk] = rv.clone();
                }
            } else {
                s.insert(k.clone(), v.clone());
            }
        }
    }
    let c = json!({
        "apiVersion": "compute.cloudinstance.io/v1alpha1", "kind": "CloudCredential",
        "metadata": {"name": name}, "spec": spec,
    });
    Api::<CloudCredential>::namespaced(client.clone(), ns)
        .patch(
            name,
            &PatchParams::apply("cic-tests").force(),
            &Patch::Apply(&c),
        )
        .await
        .unwrap_or_else(|e| panic!("apply credential {name}: {e}"));
}

/// Wait for a credential's Ready=False whose reason starts with `reason`.
async fn cred_not_ready(client: &Client, ns: &str, name: &str, reason: &str) -> Value {
    wait_for(
        T,
        &format!("credential {name} Ready=False/{reason}"),
        || async {
            let s = credential_status(client, ns, name).await;
            condition(&s, "Ready")
                .filter(|c| {
                    c["status"] == "False"
                        && c["reason"].as_str().is_some_and(|r| r.starts_with(reason))
                })
                .cloned()
        },
    )
    .await
}

/// Wait for an instance condition `type_`=False whose reason starts with `reason`.
async fn inst_false(client: &Client, ns: &str, name: &str, type_: &str, reason: &str) -> Value {
    wait_for(
        T,
        &format!("instance {name} {type_}=False/{reason}"),
        || async {
            let s = instance_status(client, ns, name).await;
            condition(&s, type_)
                .filter(|c| {
                    c["status"] == "False"
                        && c["reason"].as_str().is_some_and(|r| r.starts_with(reason))
                })
                .cloned()
        },
    )
    .await
}

async fn inst_ready(client: &Client, ns: &str, name: &str) -> Value {
    wait_for(T, &format!("instance {name} Ready"), || async {
        let s = instance_status(client, ns, name).await;
        is_ready(&s).then_some(s)
    })
    .await
}

fn message(c: &Value) -> &str {
    c["message"].as_str().unwrap_or("")
}

/// Start an emulator on a fixed port (after a restart the old socket may linger briefly).
async fn start_emulator_on(port: u16, extra: &[&str]) -> Emulator {
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
async fn settle(controller: &ControllerProcess) {
    let total = || controller.metric_sum("cloudinstance_reconcile_total", &[]);
    let last = Cell::new(total().await);
    wait_until(T, "controller idle for 2 s", || async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = total().await;
        now == last.replace(now)
    })
    .await;
}

/// What an invariant failure prints: the history of the objects and instances it names
/// (the soak stops at a failure and shows this, so it must name the object's status
/// writes, the emulator's record and requests, and every controller incarnation's lines).
#[tokio::test]
async fn audit_failure_prints_the_history_of_what_it_names() {
    assert_eq!(
        mentioned(
            "LEAK: live instances [\"ins-1a2b3c4d (vm-0007-renamed, \\\"running\\\")\"] tagged with uid 0f8fad5b-d9cb-469f-a165-70867728950e of no existing object; vm-0012: missing"
        ),
        (
            vec!["vm-0007".to_string(), "vm-0012".to_string()],
            vec!["ins-1a2b3c4d".to_string()],
            vec!["0f8fad5b-d9cb-469f-a165-70867728950e".to_string()]
        )
    );
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "rel-forensics").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "100", "--seed", "1"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let mut first = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    let mut fleet = Fleet::new(&client, &ns, "cred", cloud);
    fleet.seed = Some((1, "audit_failure_prints_the_history_of_what_it_names"));
    fleet.emulator = Some(emu.url().to_string());
    let name = fleet.create().await;
    fleet.create().await;
    let id = wait_for(T, "an instance id", || async {
        instance_status(&client, &ns, &name).await["instanceId"]
            .as_str()
            .map(str::to_string)
    })
    .await;
    first.kill().await;
    fleet.keep_log("incarnation 1".into(), first.logs());
    let second = ControllerProcess::start(&ns, &[]).await;
    fleet.follow(&second);
    wait_converged(&client, &ns, &fleet, T).await;
    // a made-up problem naming the instance only
    let h = fleet
        .histories(
            &[format!("LEAK: live instances [\"{id} (x)\"]")],
            Some(&ctl),
        )
        .await;
    eprintln!("{h}");
    assert!(h.contains(&format!("objects [\"{name}\"]")), "{h}");
    assert!(
        h.contains("CIC_CAMPAIGN_SEED=1 cargo test --test reliability"),
        "{h}"
    );
    assert!(
        h.contains(&format!("create {name}")),
        "campaign operations: {h}"
    );
    assert!(
        h.contains(&format!("instanceId \"{id}\"")),
        "status writes: {h}"
    );
    assert!(
        h.contains(&format!("\"id\":\"{id}\"")),
        "emulator record: {h}"
    );
    assert!(!h.contains("vm-0001"), "only what the problem names: {h}");
    for label in ["incarnation 1", "the running controller"] {
        let section = h
            .split(&format!("-- controller log, {label}: "))
            .nth(1)
            .unwrap_or_else(|| panic!("no section for {label}: {h}"));
        assert!(
            !section.starts_with("0 line"),
            "{label}: no line about {name}: {h}"
        );
    }
}

// ------------------------------------------------------------------------------------
// 1. controller crashes
// ------------------------------------------------------------------------------------

/// Crash campaign: a churn driver creates objects, flips their power state and deletes
/// some, while the controller is SIGKILLed at random moments and restarted each time.
/// After the last kill every object converges and the cloud holds no leaked or
/// duplicate instance.
#[tokio::test]
async fn crash_campaign_converges_without_leaks_or_duplicates() {
    let sc = scale();
    let (seed, mut rng) = campaign_seed("crash");
    let mut kill_rng = StdRng::seed_from_u64(rng.random());
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "rel-crash").await;
    let ns = ns.name().to_string();
    let emu_seed = seed.to_string();
    let emu = Emulator::start(&[
        "--transition-delay-ms",
        "300",
        "--delay",
        "shutdown=1000",
        "--seed",
        &emu_seed,
    ])
    .await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let args = ["--concurrency", "16", "--poll-slow", "3s"];
    let mut controller = ControllerProcess::start(&ns, &args).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    let mut fleet = Fleet::new(&client, &ns, "cred", cloud);
    fleet.seed = Some((seed, "crash_campaign_converges_without_leaks_or_duplicates"));
    fleet.emulator = Some(emu.url().to_string());
    for _ in 0..sc.crash_objects / 3 {
        fleet.create().await;
    }

    let started = Instant::now();
    let kills_done = Cell::new(false);
    let churn = async {
        while !kills_done.get() || fleet.created < sc.crash_objects {
            fleet
                .random_op(&mut rng, sc.crash_objects, sc.crash_deletes)
                .await;
            pause(&mut rng, 50..400).await;
        }
    };
    let mut killed_logs = Vec::new();
    let killer = async {
        for k in 0..sc.crash_kills {
            pause(&mut kill_rng, 1500..5000).await;
            controller.kill().await;
            killed_logs.push((
                format!(
                    "incarnation {} (SIGKILLed {:.3}s after the start)",
                    k + 1,
                    started.elapsed().as_secs_f64()
                ),
                controller.logs(),
            ));
            // sometimes restart at once, sometimes after a while (work piles up)
            pause(&mut kill_rng, 0..1500).await;
            controller = ControllerProcess::start(&ns, &args).await;
        }
        kills_done.set(true);
    };
    tokio::join!(churn, killer);
    let churn_time = started.elapsed();
    for (label, text) in killed_logs {
        fleet.keep_log(label, text);
    }
    fleet.follow(&controller);

    let converge = wait_converged(&client, &ns, &fleet, sc.converge).await;
    let audit = assert_no_leaks(&client, &ns, &ctl, Some(&fleet)).await;
    let calls = ctl.calls().await;
    let runs = calls_sum(&calls, "tencent", "total", &["RunInstances"]);
    eprintln!(
        "[crash] {} objects ({} deleted, {} power flips), {} kills over {:.1}s of churn; \
         converged {:.1}s after the last kill; cloud: {} live, {} terminated; \
         RunInstances calls {runs}; calls by action {:?}",
        fleet.created,
        fleet.deletes,
        fleet.flips,
        sc.crash_kills,
        churn_time.as_secs_f64(),
        converge.as_secs_f64(),
        audit.live,
        audit.terminated,
        calls_by_action(&calls, "tencent"),
    );
    assert_eq!(audit.live, fleet.live().len());
}

/// Wait for object `vm` to be gone, then check that no live instance carries its UID.
async fn object_gone_and_instance_terminated(
    api: &Api<CloudInstance>,
    ctl: &Control,
    uid: &str,
    logs: &str,
) {
    wait_until(T, "object gone", || async {
        api.get_opt("vm").await.unwrap().is_none()
    })
    .await;
    let left: Vec<Value> = ctl
        .owned_by(uid)
        .await
        .into_iter()
        .filter(|i| i["state"] != "terminated")
        .collect();
    assert!(
        left.is_empty(),
        "LEAK: the object is gone but its instance was not terminated: {left:?}\n{logs}"
    );
}

/// The worst moment to crash, forced: RunInstances has created the instance but its
/// answer is held back (so status.instanceId is not written), the user deletes the
/// object, and the controller dies. The restarted controller must find the instance by
/// its tag and terminate it before letting the object go, not drop the finalizer and
/// leak a running VM.
#[tokio::test]
async fn crash_between_create_and_delete_does_not_leak() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "rel-crash-del").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let (mut first, uid) =
        create_with_answer_held_back(&client, &ns, emu.url(), Duration::from_secs(30)).await;
    let api = Api::<CloudInstance>::namespaced(client.clone(), &ns);
    api.delete("vm", &DeleteParams::default()).await.unwrap();
    first.kill().await;
    let held = api.get("vm").await.unwrap();
    assert!(
        held.metadata.deletion_timestamp.is_some() && !held.finalizers().is_empty(),
        "the scenario needs the object deleting and held by our finalizer"
    );

    let _second = ControllerProcess::start(&ns, &[]).await;
    object_gone_and_instance_terminated(&api, &ctl, &uid, "").await;
}

/// The same unlucky moment, and then the keys stop working: the object is deleted while
/// its credential is not Ready. The controller cannot ask the cloud whether an instance
/// exists, and the object's status names none, but a create was sent. It must keep the
/// finalizer and say why (not let go and leak the VM), and finish the deletion, by tag
/// lookup and terminate, once the keys work again.
#[tokio::test]
async fn deletion_with_broken_credential_waits_instead_of_leaking() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "rel-del-badkey").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let (mut first, uid) =
        create_with_answer_held_back(&client, &ns, emu.url(), Duration::from_secs(30)).await;
    let api = Api::<CloudInstance>::namespaced(client.clone(), &ns);
    let st = instance_status(&client, &ns, "vm").await;
    assert!(
        st["createRequestedAt"].is_string(),
        "the create was announced in status before it was sent: {st}"
    );
    first.kill().await;

    // The keys break (wrong secret) and the user deletes the object.
    let keys = [
        ("accessKeyId", cloud.key_id.as_bytes()),
        ("secretAccessKey", b"not-the-secret".as_slice()),
    ];
    apply_secret(&client, &ns, "cred-keys", &keys).await;
    api.delete("vm", &DeleteParams::default()).await.unwrap();

    let controller = ControllerProcess::start(&ns, &[]).await;
    cred_not_ready(&client, &ns, "cred", "AuthFailure.SignatureFailure").await;
    let c = wait_for(
        T,
        "deletion reported as waiting for the credential",
        || async {
            let s = instance_status(&client, &ns, "vm").await;
            condition(&s, "Synced")
                .filter(|c| c["status"] == "False" && message(c).contains("deletion waits"))
                .cloned()
        },
    )
    .await;
    eprintln!("[del-badkey] {c}");
    assert_eq!(c["reason"], "CredentialNotReady", "{c}");
    assert!(message(&c).contains("create was requested"), "{c}");
    assert!(message(&c).contains("deletionPolicy: Orphan"), "{c}");
    // and it keeps waiting
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = api.get_opt("vm").await.unwrap();
    assert!(
        held.is_some_and(|o| o.finalizers().iter().any(|f| f.contains("cloudinstance"))),
        "the object let go while its instance may exist"
    );
    assert_eq!(
        ctl.owned_by(&uid)
            .await
            .iter()
            .filter(|i| i["state"] != "terminated")
            .count(),
        1,
        "the instance is still there, as the object's finalizer says"
    );

    // Keys fixed: the controller finds the instance by its tag and terminates it.
    let keys = [
        ("accessKeyId", cloud.key_id.as_bytes()),
        ("secretAccessKey", cloud.secret.as_bytes()),
    ];
    apply_secret(&client, &ns, "cred-keys", &keys).await;
    object_gone_and_instance_terminated(&api, &ctl, &uid, &controller.logs()).await;
}

// ------------------------------------------------------------------------------------
// 2. injected faults
// ------------------------------------------------------------------------------------

/// About 20 % of provider calls fail (throttling, internal errors, 5xx, dropped
/// connections before and after the cloud did the work) and 5 % are slow; at the end one
/// call is answered only after the client's 30 s timeout. Every object converges, the cloud
/// has no leak or duplicate, the calls made stay bounded (no hot loop, also in steady
/// state), and the failures are visible in the controller's metrics.
#[tokio::test]
async fn fault_campaign_converges_with_bounded_calls() {
    let sc = scale();
    let (seed, mut rng) = campaign_seed("faults");
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "rel-faults").await;
    let ns = ns.name().to_string();
    // rate limits stay on: real throttling comes on top of the injected one; the fault
    // schedule follows the campaign's seed
    let emu_seed = seed.to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300", "--seed", &emu_seed]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let controller = ControllerProcess::start(&ns, &[]).await;
    let failing = [
        json!({"provider": "tencent", "code": "RequestLimitExceeded", "message": "injected: request limit exceeded", "probability": 0.07}),
        json!({"provider": "tencent", "code": "InternalError", "message": "injected: internal error", "probability": 0.05}),
        json!({"provider": "tencent", "code": "InternalError", "message": "injected: bad gateway", "http_status": 502, "probability": 0.03}),
        json!({"provider": "tencent", "drop_connection": true, "probability": 0.03}),
        // the cloud did the work, the answer is lost (a create retried with its ClientToken)
        json!({"provider": "tencent", "drop_connection": true, "after_processing": true, "probability": 0.03}),
    ];
    for f in failing {
        ctl.add_fault(f).await;
    }
    ctl.add_fault(json!({"provider": "tencent", "latency_ms": 700, "probability": 0.05}))
        .await;

    let started = Instant::now();
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    let mut fleet = Fleet::new(&client, &ns, "cred", cloud);
    fleet.seed = Some((seed, "fault_campaign_converges_with_bounded_calls"));
    fleet.emulator = Some(emu.url().to_string());
    fleet.follow(&controller);
    for _ in 0..sc.fault_objects {
        fleet.create().await;
    }
    // churn: half stop, some renamed, a quarter deleted
    let names: Vec<String> = fleet.live();
    for name in &names {
        pause(&mut rng, 20..200).await;
        match rng.random_range(0..100) {
            0..50 => fleet.flip(name).await,
            50..70 => fleet.rename(name, &format!("{name}-renamed")).await,
            70..95 => fleet.delete(name).await,
            _ => {}
        }
    }
    let converge = wait_converged(&client, &ns, &fleet, sc.converge).await;
    let elapsed = started.elapsed();
    // Renames are part of the spec: check they reached the cloud.
    for name in fleet.live() {
        let obj = fleet.api().get(&name).await.unwrap();
        if let Some(want) = &obj.spec.instance_name {
            let id = obj.status.as_ref().unwrap().instance_id.clone().unwrap();
            wait_until(T, &format!("{name} renamed in the cloud"), || async {
                ctl.instance(&id)
                    .await
                    .is_some_and(|i| i["name"] == want.as_str())
            })
            .await;
        }
    }
    let audit = assert_no_leaks(&client, &ns, &ctl, Some(&fleet)).await;

    let calls = ctl.calls().await;
    let total = calls_sum(&calls, "tencent", "total", &[]);
    let faulted = calls_sum(&calls, "tencent", "faulted", &[]);
    let mutating = calls_sum(&calls, "tencent", "total", MUTATING);
    let describe = total - mutating;
    let m = controller.metrics().await;
    let calls_metric =
        |labels: &[(&str, &str)]| metric(&m, "cloudinstance_provider_calls_total", labels);
    eprintln!(
        "[faults] {} objects, {} logical operations; converged in {:.1}s ({:.1}s after the churn); \
         cloud calls {total} ({faulted} faulted = {:.0} %), {mutating} mutating, {describe} describe, \
         {:.1} calls per object; controller results: ok {}, Throttled {}, Transient {}; \
         throttled_total {}; reconcile errors {}; cloud: {} live, {} terminated; by action {:?}",
        fleet.created,
        fleet.ops(),
        elapsed.as_secs_f64(),
        converge.as_secs_f64(),
        100.0 * faulted as f64 / total.max(1) as f64,
        total as f64 / fleet.created as f64,
        calls_metric(&[("result", "ok")]),
        calls_metric(&[("result", "Throttled")]),
        calls_metric(&[("result", "Transient")]),
        metric(
            &m,
            "cloudinstance_provider_throttled_total",
            &[("cloud", "tencent")]
        ),
        metric(&m, "cloudinstance_reconcile_total", &[("result", "error")]),
        audit.live,
        audit.terminated,
        calls_by_action(&calls, "tencent"),
    );
    let share = faulted as f64 / total as f64;
    assert!(
        (0.08..=0.40).contains(&share),
        "the campaign should fault about 20 % of the calls, faulted {faulted} of {total}"
    );
    // Bounds. A mutation needs one call, 1.25 on average at a 20 % failure rate (each
    // failed attempt is retried up to 3 times), plus a wrong-state answer now and then
    // after a lost response: 4 per logical operation leaves a wide margin. Describe calls
    // come from create lookups (one per object and attempt) and poll rounds (one status
    // and at most one details call per round, about two rounds a second while anything
    // moves, one per 5 s otherwise): 10 per object plus 4 a second is a wide margin, and
    // a hot loop would exceed it many times over.
    let ops = fleet.ops() as u64;
    let mutating_bound = 4 * ops + 20;
    let describe_bound = 10 * fleet.created as u64 + 4 * elapsed.as_secs() + 40;
    assert!(
        mutating <= mutating_bound,
        "{mutating} mutating calls for {ops} operations (bound {mutating_bound}): a retry loop?"
    );
    assert!(
        describe <= describe_bound,
        "{describe} describe calls (bound {describe_bound} for {} objects in {:?}): a poll loop?",
        fleet.created,
        elapsed
    );
    // steady state under faults: slow polling only
    let before = calls_sum(&ctl.calls().await, "tencent", "total", &[]);
    let window = Duration::from_secs(10);
    tokio::time::sleep(window).await;
    let steady = calls_sum(&ctl.calls().await, "tencent", "total", &[]) - before;
    eprintln!("[faults] steady state: {steady} calls in {window:?}");
    // --poll-slow 5s: 2-3 rounds of 1-2 calls, each retried at most 3 times
    assert!(steady <= 24, "{steady} calls in {window:?} of steady state");

    // Failures surface in the metrics. Every attempt is counted with its outcome
    // (provider_attempts_total, provider_throttled_total), also those the client's
    // retries absorb, so the campaign's throttling shows there...
    let m = controller.metrics().await;
    let attempts =
        |labels: &[(&str, &str)]| metric(&m, "cloudinstance_provider_attempts_total", labels);
    let (att_throttled, att_transient, call_throttled) = (
        attempts(&[("cloud", "tencent"), ("result", "Throttled")]),
        attempts(&[("cloud", "tencent"), ("result", "Transient")]),
        calls_metric(&[("result", "Throttled")]),
    );
    // (read after the metrics: every attempt counted there was answered before, so it is
    // in the emulator's count too; a few more may be answered in between)
    let emu_throttled: u64 = ctl.calls().await["tencent"]
        .as_object()
        .map(|by_action| {
            by_action
                .values()
                .filter_map(|a| a["error_codes"]["RequestLimitExceeded"].as_u64())
                .sum()
        })
        .unwrap_or(0);
    eprintln!(
        "[faults] attempts: Throttled {att_throttled}, Transient {att_transient}; calls that \
         stayed Throttled after retries: {call_throttled}; emulator answered {emu_throttled} \
         with a throttling error"
    );
    // (about 7 % of some 90 calls are throttled: none at all is a 0.3 % chance, so only
    // compare when there were some)
    assert!(
        emu_throttled == 0 || att_throttled > call_throttled,
        "retried throttling is visible per attempt: {att_throttled} attempts vs {call_throttled} calls"
    );
    assert!(
        att_throttled <= emu_throttled as f64 && att_throttled + 4.0 >= emu_throttled as f64,
        "every throttling answer of the cloud ({emu_throttled}) is one throttled attempt \
         in the metrics ({att_throttled})"
    );
    assert!(
        att_transient >= 1.0,
        "transient failures visible per attempt"
    );
    // ...and a call whose every attempt failed is counted with its error class: make whole
    // retry sequences fail, one rule at a time, alone.
    ctl.clear_faults().await;
    for (code, result) in [
        ("RequestLimitExceeded", "Throttled"),
        ("InternalError", "Transient"),
    ] {
        ctl.add_fault(json!({
            "provider": "tencent", "action": "DescribeInstancesStatus",
            "code": code, "message": "injected burst", "count": 4
        }))
        .await;
        wait_until(T, &format!("{code} burst consumed"), || async {
            emu.faults().await.as_array().is_some_and(|f| f.is_empty())
        })
        .await;
        wait_until(T, &format!("{result} calls visible in metrics"), || async {
            controller
                .metric_sum(
                    "cloudinstance_provider_calls_total",
                    &[("cloud", "tencent"), ("result", result)],
                )
                .await
                > 0.0
        })
        .await;
    }
    let m = controller.metrics().await;
    assert!(
        metric(
            &m,
            "cloudinstance_provider_throttled_total",
            &[("cloud", "tencent")]
        ) > 0.0,
        "throttling visible in cloudinstance_provider_throttled_total"
    );

    // A timeout: the cloud stops the instance but answers only after the client's 30 s
    // timeout. (Alone: combined with the random rules a drop could pre-empt it.) The
    // retry finds the instance stopping or stopped, and the object converges; meanwhile
    // the other objects are not held up.
    // The random churn may have left fewer than two objects wanting Running: start some
    // (before the fault exists) and let them settle.
    let stopped: Vec<String> = fleet
        .live()
        .into_iter()
        .filter(|n| fleet.want[n] == Want::Stopped)
        .collect();
    let wanting_running = fleet.live().len() - stopped.len();
    if wanting_running < 2 {
        ctl.clear_faults().await;
        for n in stopped.iter().take(2 - wanting_running) {
            fleet.flip(n).await;
        }
        wait_converged(&client, &ns, &fleet, sc.converge).await;
    }
    let running: Vec<String> = fleet
        .live()
        .into_iter()
        .filter(|n| fleet.want[n] == Want::Running)
        .take(2)
        .collect();
    assert_eq!(running.len(), 2, "two running objects to stop");
    ctl.add_fault(json!({
        "provider": "tencent", "action": "StopInstances",
        "latency_ms": 35000, "after_processing": true, "count": 1
    }))
    .await;

    let timed_out = Instant::now();
    fleet.flip(&running[0]).await;
    wait_until(
        T,
        "the first stop reached the cloud (rule consumed)",
        || async { emu.faults().await.as_array().is_some_and(|f| f.is_empty()) },
    )
    .await;
    fleet.flip(&running[1]).await;
    // the second is not held up behind the first one's hanging call
    wait_until(T, "the second stop done while the first hangs", || async {
        let s = instance_status(&client, &ns, &running[1]).await;
        is_ready(&s) && s["state"] == "Stopped"
    })
    .await;
    let second = timed_out.elapsed();
    wait_converged(&client, &ns, &fleet, sc.converge).await;
    let first = timed_out.elapsed();
    let m = controller.metrics().await;
    eprintln!(
        "[faults] timeout: the other stop converged after {:.1}s, the timed-out one after {:.1}s; \
         Transient results {}",
        second.as_secs_f64(),
        first.as_secs_f64(),
        metric(
            &m,
            "cloudinstance_provider_calls_total",
            &[("result", "Transient")]
        )
    );
    assert!(
        second < Duration::from_secs(25),
        "an unrelated stop waited for the hanging call ({second:?})"
    );
    assert!(
        first >= Duration::from_secs(29),
        "the hanging stop converged before the client's 30 s timeout ({first:?})?"
    );
    assert_no_leaks(&client, &ns, &ctl, Some(&fleet)).await;
}

/// A terminal error (a spec the cloud rejects) waits for a change of the object itself:
/// it is not retried every time the credential's status changes for an unrelated reason,
/// such as its instanceCount while sibling instances come and go. Otherwise N broken
/// objects cost N create attempts per sibling created or deleted: a retry storm driven
/// by ordinary churn.
#[tokio::test]
async fn terminal_errors_are_not_retried_when_siblings_change() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "rel-terminal").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    let broken = ["bad-image", "bad-zone", "bad-type"];
    apply_instance(
        &client,
        &ns,
        &instance(
            "bad-image",
            "cred",
            &cloud,
            json!({"imageId": "img-doesnotexist"}),
        ),
    )
    .await;
    apply_instance(
        &client,
        &ns,
        &instance("bad-zone", "cred", &cloud, json!({"zone": "ap-shanghai-2"})),
    )
    .await;
    apply_instance(
        &client,
        &ns,
        &instance(
            "bad-type",
            "cred",
            &cloud,
            json!({"instanceType": "S5.NOSUCHTYPE"}),
        ),
    )
    .await;
    for name in broken {
        inst_false(&client, &ns, name, "Synced", "Invalid").await;
    }
    let runs0 = ctl.call_count("tencent", "RunInstances").await;
    let mut fleet = Fleet::new(&client, &ns, "cred", cloud);
    let siblings = 6;
    for i in 0..siblings {
        fleet.create().await;
        // the credential counts its users: a status change per sibling
        wait_until(T, "credential counted the new sibling", || async {
            credential_status(&client, &ns, "cred").await["instanceCount"]
                == json!(broken.len() + i + 1)
        })
        .await;
    }
    for name in fleet.live().into_iter().take(2) {
        fleet.delete(&name).await;
    }
    wait_converged(&client, &ns, &fleet, Duration::from_secs(120)).await;
    wait_until(T, "credential counted the deletions", || async {
        credential_status(&client, &ns, "cred").await["instanceCount"]
            == json!(broken.len() + siblings - 2)
    })
    .await;
    let retries = ctl.call_count("tencent", "RunInstances").await - runs0 - siblings as u64;
    // A broken object's own status write (Synced=False) triggers one more reconcile, which
    // may land after runs0 was taken: at most one attempt each. Siblings add nothing
    // (before the fix: 19 attempts here, about 3 per sibling change).
    assert!(
        retries <= broken.len() as u64,
        "{retries} create attempts of the {} broken objects while {siblings} siblings came and 2 went",
        broken.len()
    );
}

// ------------------------------------------------------------------------------------
// 3. the cloud API goes away and comes back
// ------------------------------------------------------------------------------------

/// The emulator (with a state file) is stopped during churn and a new one is started on
/// the same port with the same state; the controller, never restarted, reconnects and
/// converges. Work requested while the cloud is down is carried out when it is back.
#[tokio::test]
async fn emulator_restart_during_churn_is_survived() {
    let sc = scale();
    let mut rng = campaign_rng("emulator-restart");
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "rel-emu").await;
    let ns = ns.name().to_string();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator-state.json");
    let state = state.to_str().unwrap().to_string();
    let emu_args = [
        "--transition-delay-ms",
        "300",
        "--state-file",
        state.as_str(),
    ];
    let mut emu = Emulator::start(&emu_args).await;
    let port = emu.port();
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    let mut fleet = Fleet::new(&client, &ns, "cred", cloud);
    let max_objects = sc.restart_objects + sc.restart_objects / 2;
    let max_deletes = sc.restart_objects / 4;
    for _ in 0..sc.restart_objects {
        fleet.create().await;
    }

    let mut recoveries = Vec::new();
    for round in 0..sc.restarts {
        for _ in 0..8 {
            fleet.random_op(&mut rng, max_objects, max_deletes).await;
            pause(&mut rng, 100..500).await;
        }
        // SIGTERM: the emulator saves its state, like a cloud that does not lose
        // acknowledged writes; connections in flight are cut.
        emu.terminate();
        let down = Instant::now();
        // work requested while the cloud is unreachable
        for _ in 0..6 {
            fleet.random_op(&mut rng, max_objects, max_deletes).await;
            pause(&mut rng, 100..600).await;
        }
        // long enough for several failed attempts and a grown backoff
        pause(&mut rng, 1000..4000).await;
        emu = start_emulator_on(port, &emu_args).await;
        let outage = down.elapsed();
        let back = Instant::now();
        wait_converged(&client, &ns, &fleet, sc.converge).await;
        recoveries.push((outage, back.elapsed()));
        eprintln!(
            "[emulator-restart] round {round}: cloud down {:.1}s, converged {:.1}s after it came back",
            outage.as_secs_f64(),
            back.elapsed().as_secs_f64()
        );
    }
    controller.assert_alive().await;
    let audit = assert_no_leaks(&client, &ns, &ctl, Some(&fleet)).await;
    let m = controller.metrics().await;
    eprintln!(
        "[emulator-restart] {} objects, {} operations, {} restarts {recoveries:?}; cloud {audit:?}; \
         Transient results {}; reconcile errors {}",
        fleet.created,
        fleet.ops(),
        sc.restarts,
        metric(
            &m,
            "cloudinstance_provider_calls_total",
            &[("result", "Transient")]
        ),
        metric(&m, "cloudinstance_reconcile_total", &[("result", "error")]),
    );
    drop(emu);
}

// ------------------------------------------------------------------------------------
// 4. the apiserver goes away and comes back
// ------------------------------------------------------------------------------------

/// A control plane of this test's own (restarting the shared one would break every
/// other test running in parallel). Stopped on drop, and by a detached watcher if the
/// test process dies first.
struct PrivateControlPlane {
    state: PathBuf,
}

impl PrivateControlPlane {
    async fn start() -> PrivateControlPlane {
        let state = std::env::temp_dir().join(format!(
            "cic-rel-cp-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&state).unwrap();
        let me = PrivateControlPlane { state };
        me.spawn_stop_watcher();
        let out = tokio::process::Command::new("bash")
            .arg(repo_root().join("hack/start-control-plane.sh"))
            .env("CIC_STATE_DIR", &me.state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .await
            .expect("run hack/start-control-plane.sh");
        assert!(
            out.status.success(),
            "hack/start-control-plane.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The script takes a port from the ephemeral range: move the apiserver out of it
        // once, so that the restarts under test reliably get their port back.
        me.restart_apiserver_on(Some(free_port_below_ephemeral()))
            .await;
        me
    }

    fn spawn_stop_watcher(&self) {
        use std::os::unix::process::CommandExt;
        let script = r#"while kill -0 "$CIC_WATCH_PID" 2>/dev/null; do sleep 1; done
[ -d "$CIC_STATE_DIR" ] && bash "$CIC_STOP_SCRIPT""#;
        let _ = std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .env("CIC_WATCH_PID", std::process::id().to_string())
            .env(
                "CIC_STOP_SCRIPT",
                repo_root().join("hack/stop-control-plane.sh"),
            )
            .env("CIC_STATE_DIR", &self.state)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
    }

    fn kubeconfig(&self) -> PathBuf {
        self.state.join("kubeconfig")
    }

    async fn client(&self) -> Client {
        let kc = Kubeconfig::read_from(self.kubeconfig()).expect("read private kubeconfig");
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("private kube config");
        Client::try_from(config).expect("private client")
    }

    fn pid_of(&self, name: &str) -> u32 {
        let pids = std::fs::read_to_string(self.state.join("pids")).expect("read pids");
        pids.lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(_, n)| n.trim() == name)
            .and_then(|(p, _)| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {}/pids: {pids}", self.state.display()))
    }

    async fn ready(&self) -> bool {
        let out = tokio::process::Command::new(kubectl_path())
            .args(["--request-timeout=3s", "get", "--raw", "/readyz"])
            .env("KUBECONFIG", self.kubeconfig())
            .stdin(Stdio::null())
            .output()
            .await;
        out.is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "ok")
    }

    /// SIGKILL kube-apiserver (a crash; etcd keeps the data) and start it again with the
    /// very same command line (same port, certificates, etcd). Returns the downtime.
    async fn restart_apiserver(&self) -> Duration {
        self.restart_apiserver_on(None).await
    }

    /// [`Self::restart_apiserver`], optionally moving it to another port (and rewriting
    /// the kubeconfig to match).
    async fn restart_apiserver_on(&self, new_port: Option<u16>) -> Duration {
        let pid = self.pid_of("kube-apiserver");
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("apiserver cmdline");
        let mut args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("apiserver exe");
        let started = Instant::now();
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(killed.success(), "kill -KILL {pid}");
        wait_until(
            Duration::from_secs(30),
            "old kube-apiserver gone",
            || async { process_gone(pid) },
        )
        .await;
        if let Some(port) = new_port {
            let old = args
                .iter()
                .find_map(|a| a.strip_prefix("--secure-port="))
                .expect("--secure-port in the apiserver command line")
                .to_string();
            for a in args.iter_mut() {
                if a.starts_with("--secure-port=") {
                    *a = format!("--secure-port={port}");
                }
            }
            let kc = std::fs::read_to_string(self.kubeconfig()).unwrap();
            let kc = kc.replace(&format!("127.0.0.1:{old}"), &format!("127.0.0.1:{port}"));
            std::fs::write(self.kubeconfig(), kc).unwrap();
        }
        let log = self.state.join("kube-apiserver.log");
        let mut current = pid;
        // A start can fail if the port is taken in the meantime: try again.
        for attempt in 1..=10 {
            // Like hack/start-control-plane.sh: detached, the binary's own pid.
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(r#"setsid "$@" </dev/null >>"$CIC_LOG" 2>&1 & echo $!"#)
                .arg("bash")
                .arg(&exe)
                .args(&args[1..])
                .env("CIC_LOG", &log)
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .expect("respawn kube-apiserver");
            let new_pid: u32 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("new apiserver pid");
            self.replace_pid(current, new_pid);
            current = new_pid;
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                if self.ready().await {
                    return started.elapsed();
                }
                if process_gone(new_pid) {
                    eprintln!(
                        "kube-apiserver exited during start-up (attempt {attempt}); starting it again"
                    );
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "restarted kube-apiserver not ready after 120 s; see {}",
                    log.display()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        panic!("kube-apiserver does not start again; see {}", log.display());
    }

    fn replace_pid(&self, old: u32, new: u32) {
        let pids_file = self.state.join("pids");
        let pids = std::fs::read_to_string(&pids_file).unwrap();
        let pids: String = pids
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{old} ")) {
                    format!("{new} kube-apiserver\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&pids_file, pids).unwrap();
    }
}

/// The process has exited (a zombie has closed its sockets; `/proc/<pid>/exe` vanishes
/// earlier, while they may still be open).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // "pid (comm) S ...": the state follows the last ')'
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_none_or(|state| state == 'Z' || state == 'X'),
    }
}

/// A free loopback port below the ephemeral range (32768-60999 on Linux): once the
/// apiserver dies, an outgoing connection may be given its old port as local port if that
/// port is an ephemeral one, and the restart would fail with "address already in use".
fn free_port_below_ephemeral() -> u16 {
    let mut rng = rand::rng();
    for _ in 0..1000 {
        let port = rng.random_range(20000..32000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 20000..32000");
}

impl Drop for PrivateControlPlane {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(repo_root().join("hack/stop-control-plane.sh"))
            .env("CIC_STATE_DIR", &self.state)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.state);
        } else {
            eprintln!(
                "private control plane logs kept in {}",
                self.state.display()
            );
        }
    }
}

/// kube-apiserver is killed and restarted (same port, same etcd) during churn; the
/// controller, never restarted, re-establishes its watches, sees changes made after the
/// restart, catches up on work that failed while the apiserver was down, and converges.
#[tokio::test]
async fn apiserver_restart_during_churn_is_survived() {
    let sc = scale();
    let mut rng = campaign_rng("apiserver-restart");
    let cp = PrivateControlPlane::start().await;
    let client = cp.client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "rel-apiserver").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let args = [
        "run",
        "--namespace",
        ns.as_str(),
        "--metrics-addr",
        metrics_addr.as_str(),
        "--poll-fast",
        "300ms",
        "--poll-slow",
        "5s",
        "--log-level",
        "info,cloudinstance_controller=debug",
    ];
    let controller =
        ControllerProcess::start_with_kubeconfig(cp.kubeconfig(), &args, &[], &metrics_addr).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    let mut fleet = Fleet::new(&client, &ns, "cred", cloud);
    let max_objects = sc.restart_objects + sc.restart_objects / 2;
    let max_deletes = sc.restart_objects / 4;
    for _ in 0..sc.restart_objects {
        fleet.create().await;
    }

    let mut rounds = Vec::new();
    for round in 0..sc.restarts {
        // changes in flight when the apiserver dies
        for _ in 0..8 {
            fleet.random_op(&mut rng, max_objects, max_deletes).await;
            pause(&mut rng, 50..300).await;
        }
        let downtime = cp.restart_apiserver().await;
        // changes only a re-established watch can deliver
        let back = Instant::now();
        for _ in 0..6 {
            fleet.random_op(&mut rng, max_objects, max_deletes).await;
            pause(&mut rng, 50..300).await;
        }
        wait_converged(&client, &ns, &fleet, sc.converge).await;
        rounds.push((downtime, back.elapsed()));
        eprintln!(
            "[apiserver-restart] round {round}: apiserver down {:.1}s, converged {:.1}s after it was back",
            downtime.as_secs_f64(),
            back.elapsed().as_secs_f64()
        );
    }
    controller.assert_alive().await;
    let audit = assert_no_leaks(&client, &ns, &ctl, Some(&fleet)).await;
    let m = controller.metrics().await;
    eprintln!(
        "[apiserver-restart] {} objects, {} operations, {} restarts {rounds:?}; cloud {audit:?}; reconcile errors {}",
        fleet.created,
        fleet.ops(),
        sc.restarts,
        metric(&m, "cloudinstance_reconcile_total", &[("result", "error")]),
    );
}

// ------------------------------------------------------------------------------------
// 5. key revocation and rotation
// ------------------------------------------------------------------------------------

fn accounts_file(dir: &Path, name: &str, key_id: &str, secret: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("- provider: tencent\n  key_id: {key_id}\n  secret: {secret}\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// The cloud revokes the key (the emulator restarts with a new secret for the same key
/// id, as after a rotation in the console): the credential goes Ready=False with the
/// cloud's reason, instances say why they cannot sync, and the controller does not
/// hammer the cloud. Putting the new secret into the Secret recovers everything without
/// a restart, and once settled no call fails any more.
#[tokio::test]
async fn key_revocation_and_rotation() {
    let sc = scale();
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "rel-rotate").await;
    let ns = ns.name().to_string();
    let dir = tempfile::tempdir().unwrap();
    let key_id = "AKIDROTATE000000000000000000000000";
    let old_secret = format!("old-secret-{:08x}", rand::random::<u32>());
    let new_secret = format!("new-secret-{:08x}", rand::random::<u32>());
    let v1 = accounts_file(dir.path(), "accounts-v1.yaml", key_id, &old_secret);
    let v2 = accounts_file(dir.path(), "accounts-v2.yaml", key_id, &new_secret);
    let state = dir.path().join("state.json");
    let state = state.to_str().unwrap();
    let mut emu = Emulator::start(&[
        "--transition-delay-ms",
        "300",
        "--accounts",
        &v1,
        "--state-file",
        state,
    ])
    .await;
    let port = emu.port();
    let ctl = Control::new(emu.url());
    // The scheduled re-check is the default 10 minutes: revocation must be noticed
    // through the failing status polls, not by waiting for it.
    let controller = ControllerProcess::start(&ns, &[]).await;
    let cloud = TENCENT;
    let write_keys = |secret: String| {
        let client = client.clone();
        let ns = ns.clone();
        async move {
            apply_secret(
                &client,
                &ns,
                "cred-keys",
                &[
                    ("accessKeyId", key_id.as_bytes()),
                    ("secretAccessKey", secret.as_bytes()),
                ],
            )
            .await
        }
    };
    write_keys(old_secret.clone()).await;
    apply_cred(
        &client,
        &ns,
        "cred",
        "tencent",
        "cred-keys",
        emu.url(),
        json!({}),
    )
    .await;
    let mut fleet = Fleet::new(&client, &ns, "cred", cloud);
    for _ in 0..sc.rotation_objects {
        fleet.create().await;
    }
    wait_converged(&client, &ns, &fleet, sc.converge).await;

    // The cloud revokes the old secret.
    emu.terminate();
    emu = start_emulator_on(
        port,
        &[
            "--transition-delay-ms",
            "300",
            "--accounts",
            &v2,
            "--state-file",
            state,
        ],
    )
    .await;
    let revoked = Instant::now();
    let cond = cred_not_ready(&client, &ns, "cred", "AuthFailure").await;
    let detected = revoked.elapsed();
    // a slow poll (5 s) fails, asks for a re-check, the re-check fails: well inside 15 s
    assert!(
        detected < Duration::from_secs(15),
        "revocation noticed only after {detected:?}"
    );
    assert_eq!(cond["reason"], "AuthFailure.SignatureFailure", "{cond}");
    assert!(!message(&cond).is_empty(), "{cond}");
    for name in fleet.live() {
        let c = inst_false(&client, &ns, &name, "Synced", "CredentialNotReady").await;
        assert!(message(&c).contains("AuthFailure.SignatureFailure"), "{c}");
    }
    // No retry storm while the key is revoked: status polls back off to --poll-slow (5 s),
    // each failed poll asks for a credential re-check (honoured at most every 5 s), and
    // instances wait for the credential.
    let before = ctl.calls().await;
    let window = Duration::from_secs(12);
    tokio::time::sleep(window).await;
    let after = ctl.calls().await;
    let in_window =
        calls_sum(&after, "tencent", "total", &[]) - calls_sum(&before, "tencent", "total", &[]);
    let mutating = calls_sum(&after, "tencent", "total", MUTATING)
        - calls_sum(&before, "tencent", "total", MUTATING);
    eprintln!(
        "[rotation] revocation detected after {:.1}s (scheduled re-check: 10 min); \
         {in_window} calls in {window:?} while revoked",
        detected.as_secs_f64()
    );
    assert_eq!(mutating, 0, "no mutation attempted with a revoked key");
    // 12 s / 5 s re-checks + 12 s / 5 s polls, plus one each in flight
    assert!(
        in_window <= 16,
        "{in_window} calls in {window:?} with a revoked key"
    );

    // Rotate: the new secret goes into the Secret; no controller restart.
    let rotated = Instant::now();
    write_keys(new_secret.clone()).await;
    wait_until(T, "credential Ready with the new secret", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;
    let cred_back = rotated.elapsed();
    // and it is usable: a change after the rotation is carried out
    let first = fleet.live()[0].clone();
    fleet.flip(&first).await;
    wait_converged(&client, &ns, &fleet, sc.converge).await;
    for name in fleet.live() {
        let s = instance_status(&client, &ns, &name).await;
        assert_eq!(
            condition(&s, "Synced").unwrap()["status"],
            "True",
            "{name}: {s}"
        );
    }
    let all_back = rotated.elapsed();
    // Settled: no call fails any more (two slow polls)
    let before = ctl.calls().await;
    let auth0 = controller
        .metric_sum("cloudinstance_provider_calls_total", &[("result", "Auth")])
        .await;
    let window = Duration::from_secs(10);
    tokio::time::sleep(window).await;
    let after = ctl.calls().await;
    let errors =
        calls_sum(&after, "tencent", "errors", &[]) - calls_sum(&before, "tencent", "errors", &[]);
    let ok = calls_sum(&after, "tencent", "ok", &[]) - calls_sum(&before, "tencent", "ok", &[]);
    let auth = controller
        .metric_sum("cloudinstance_provider_calls_total", &[("result", "Auth")])
        .await
        - auth0;
    eprintln!(
        "[rotation] credential Ready {:.1}s after the Secret changed, all instances {:.1}s; \
         settled window: {ok} ok, {errors} failed calls",
        cred_back.as_secs_f64(),
        all_back.as_secs_f64()
    );
    assert_eq!(
        errors, 0,
        "calls still fail after the rotation settled: {after}"
    );
    assert_eq!(auth, 0.0, "auth failures after the rotation settled");
    assert!(ok > 0, "polling continues with the new key");
    assert_no_leaks(&client, &ns, &ctl, Some(&fleet)).await;
    let text = format!(
        "{}{}",
        controller.logs(),
        serde_json::to_string(
            &Api::<CloudCredential>::namespaced(client.clone(), &ns)
                .list(&ListParams::default())
                .await
                .unwrap()
        )
        .unwrap()
    );
    for s in [&old_secret, &new_secret] {
        assert!(!text.contains(s.as_str()), "secret {s} leaked");
    }
    drop(emu);
}

// ------------------------------------------------------------------------------------
// 6. hostile but schema-valid inputs
// ------------------------------------------------------------------------------------

/// Key → raw bytes of a Secret.
type SecretData<'a> = Vec<(&'a str, Vec<u8>)>;

/// One instance of the emulator's state file (full stored fields, user data included).
fn stored_instance(state: &Path, id: &str) -> Option<Value> {
    let text = std::fs::read_to_string(state).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["instances"]
        .as_array()?
        .iter()
        .find(|i| i["id"] == id)
        .cloned()
}

/// Hostile but schema-valid inputs: broken Secrets (missing keys, empty, blank and
/// non-UTF-8 values, missing Secret, wrong and unknown keys, a CRLF in the key id),
/// dangling references, bad passwords, user data at and beyond the cloud's limit, unicode
/// and injection characters in names and tags, values the cloud rejects. Each gets a
/// clear condition or reaches the cloud intact; a healthy instance next to them stays
/// Ready; nothing loops; and no secret value shows up in logs, events or status.
#[tokio::test]
async fn hostile_inputs_get_clear_conditions_and_never_leak_secrets() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "rel-hostile").await;
    let ns = ns.name().to_string();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator-state.json");
    let emu = Emulator::start(&[
        "--transition-delay-ms",
        "300",
        "--state-file",
        state.to_str().unwrap(),
    ])
    .await;
    let ctl = Control::new(emu.url());
    let ep = emu.url().to_string();
    let controller = ControllerProcess::start(&ns, &[]).await;
    let cloud = TENCENT;
    let id = cloud.key_id.as_bytes();
    let good = cloud.secret.as_bytes();
    let r = format!("{:08x}", rand::random::<u32>());
    // secret strings to look for in everything the controller writes
    let wrong_secret = format!("wr0ng-\"secret\"\n-{r};&=%");
    let nonutf8_marker = format!("nonutf8-secret-{r}");
    let mut nonutf8 = vec![0xff, 0xfe, 0x00, 0xc3, 0x28];
    nonutf8.extend_from_slice(nonutf8_marker.as_bytes());
    let weak_pw = format!("weak pw {r}"); // a space: not allowed by the cloud
    let strong_pw = format!("Str0ng!{r}Pw");
    let huawei_sk = HUAWEI.secret;

    let mut cases = 0;
    let mut case = |what: &str| {
        cases += 1;
        eprintln!("[hostile] case {cases}: {what}");
    };

    // the healthy neighbour first
    apply_credential(&client, &ns, "good", &cloud, &ep, cloud.secret).await;
    apply_instance(
        &client,
        &ns,
        &instance("healthy", "good", &cloud, json!({})),
    )
    .await;
    let healthy = inst_ready(&client, &ns, "healthy").await;
    let healthy_id = healthy["instanceId"].as_str().unwrap().to_string();

    // ---- credentials --------------------------------------------------------------
    let creds: Vec<(&str, SecretData, Value)> = vec![
        ("no-id", vec![("secretAccessKey", good.to_vec())], json!({})),
        ("no-sk", vec![("accessKeyId", id.to_vec())], json!({})),
        (
            "empty-sk",
            vec![("accessKeyId", id.to_vec()), ("secretAccessKey", vec![])],
            json!({}),
        ),
        (
            "blank-sk",
            vec![
                ("accessKeyId", id.to_vec()),
                ("secretAccessKey", b" \n\t ".to_vec()),
            ],
            json!({}),
        ),
        (
            "nonutf8-sk",
            vec![
                ("accessKeyId", id.to_vec()),
                ("secretAccessKey", nonutf8.clone()),
            ],
            json!({}),
        ),
        (
            "nonutf8-id",
            vec![
                ("accessKeyId", vec![0xc3, 0x28, 0xff]),
                ("secretAccessKey", good.to_vec()),
            ],
            json!({}),
        ),
        (
            "custom-missing",
            vec![
                ("accessKeyId", id.to_vec()),
                ("secretAccessKey", good.to_vec()),
            ],
            json!({"secretRef": {"accessKeyIdKey": "AK", "secretAccessKeyKey": "SK"}}),
        ),
        (
            "custom-ok",
            vec![("AK", id.to_vec()), ("SK", good.to_vec())],
            json!({"secretRef": {"accessKeyIdKey": "AK", "secretAccessKeyKey": "SK"}}),
        ),
        (
            "wrong-sk",
            vec![
                ("accessKeyId", id.to_vec()),
                ("secretAccessKey", wrong_secret.as_bytes().to_vec()),
            ],
            json!({}),
        ),
        (
            "unknown-id",
            vec![
                (
                    "accessKeyId",
                    b"AKIDUNKNOWN00000000000000000000000".to_vec(),
                ),
                ("secretAccessKey", good.to_vec()),
            ],
            json!({}),
        ),
        (
            "newline",
            vec![
                ("accessKeyId", [id, b"\n"].concat()),
                ("secretAccessKey", [good, b"\r\n"].concat()),
            ],
            json!({}),
        ),
        (
            "crlf-id",
            vec![
                ("accessKeyId", [id, b"\r\nX-Injected: yes"].concat()),
                ("secretAccessKey", good.to_vec()),
            ],
            json!({}),
        ),
    ];
    for (name, data, extra) in &creds {
        let secret = format!("{name}-keys");
        let data: Vec<(&str, &[u8])> = data.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        apply_secret(&client, &ns, &secret, &data).await;
        apply_cred(&client, &ns, name, "tencent", &secret, &ep, extra.clone()).await;
    }
    apply_cred(
        &client,
        &ns,
        "no-secret",
        "tencent",
        "does-not-exist",
        &ep,
        json!({}),
    )
    .await;
    // (a huawei credential without projectId is refused at admission by a CEL rule:
    // tests/admission.rs)

    for (name, key) in [
        ("no-id", "accessKeyId"),
        ("no-sk", "secretAccessKey"),
        ("empty-sk", "secretAccessKey"),
        ("blank-sk", "secretAccessKey"),
        ("nonutf8-sk", "secretAccessKey"),
        ("nonutf8-id", "accessKeyId"),
        ("custom-missing", "AK"),
    ] {
        case(&format!("credential {name}: SecretKeyMissing naming {key}"));
        let c = cred_not_ready(&client, &ns, name, "SecretKeyMissing").await;
        assert!(
            message(&c).contains(&format!("\"{key}\""))
                && message(&c).contains(&format!("{name}-keys")),
            "{name}: the message names the Secret and the key: {c}"
        );
    }
    case("credential pointing at a missing Secret: SecretNotFound");
    let c = cred_not_ready(&client, &ns, "no-secret", "SecretNotFound").await;
    assert!(message(&c).contains("does-not-exist"), "{c}");
    case("wrong secret with quotes, newline and &=%;: AuthFailure.SignatureFailure");
    cred_not_ready(&client, &ns, "wrong-sk", "AuthFailure.SignatureFailure").await;
    case("unknown key id: AuthFailure.SecretIdNotFound");
    cred_not_ready(&client, &ns, "unknown-id", "AuthFailure.SecretIdNotFound").await;
    case("CRLF in the key id: rejected before anything is sent, no header injection");
    let c = cred_not_ready(&client, &ns, "crlf-id", "SecretValueInvalid").await;
    eprintln!("[hostile] CRLF key id: {c}");
    assert!(!message(&c).contains("X-Injected"), "{c}");
    assert!(message(&c).contains("accessKeyIdKey"), "{c}");
    for name in ["custom-ok", "newline"] {
        case(&format!("credential {name} is usable"));
        wait_until(T, &format!("credential {name} Ready"), || async {
            is_ready(&credential_status(&client, &ns, name).await)
        })
        .await;
    }

    // ---- instances ------------------------------------------------------------------
    apply_secret(&client, &ns, "pw-other", &[("other", strong_pw.as_bytes())]).await;
    apply_secret(&client, &ns, "pw-bin", &[("password", &nonutf8)]).await;
    apply_secret(&client, &ns, "pw-weak", &[("password", weak_pw.as_bytes())]).await;
    apply_secret(
        &client,
        &ns,
        "pw-strong",
        &[("password", strong_pw.as_bytes())],
    )
    .await;
    let pw = |secret: &str| json!({"login": {"passwordSecretRef": {"name": secret}}});
    // just under the 16 KiB limit, with every character an injection would use
    let mut user_data =
        String::from("#!/bin/sh\n# \"quotes\" 'single' & a=b; 100% $HOME `id` \\ <x>\r\n");
    while user_data.len() < 16383 {
        user_data.push_str("echo \"line\" && x=1; y='%20';\n");
    }
    user_data.truncate(16383);
    let unicode_name = "测试服务器-サーバー-🚀-ñandú";
    let injection_name = "web \"quoted\" 'x' & a=b; 100% <y> \\ z\nnext";
    let mut injection_tags = BTreeMap::new();
    for (k, v) in [
        ("quote", "a\"b'c"),
        ("newline", "line1\nline2\r\n"),
        ("amp-eq", "a&b=c&d"),
        ("percent", "100% %20 %zz"),
        ("semi", "x;y;DROP TABLE z;--"),
        ("unicode", "值-🚀-ключ"),
        // No empty value: Tencent tag values are 1-255 characters
        // (https://cloud.tencent.com/document/product/651/13354); the client refuses an
        // empty one before RunInstances (src/provider/tencent/tags.rs).
        ("backslash", "back\\slash\\"),
        ("spaces", "  padded  "),
        ("k=v&x", "key with = and &"),
        ("k;%\"", "key with ; % and a quote"),
        ("ключ-键", "unicode key"),
    ] {
        injection_tags.insert(k.to_string(), v.to_string());
    }
    let mut max_tags = BTreeMap::new();
    for i in 0..39 {
        max_tags.insert(format!("tag-{i:02}"), format!("value-{i}"));
    }
    max_tags.insert("k".repeat(127), "v".repeat(255));

    let instances: Vec<(&str, &str, Value)> = vec![
        ("no-cred", "nope", json!({})),
        ("cred-not-ready", "no-secret", json!({})),
        ("pw-missing", "good", pw("pw-missing")),
        ("pw-key-missing", "good", pw("pw-other")),
        ("pw-nonutf8", "good", pw("pw-bin")),
        ("pw-weak", "good", pw("pw-weak")),
        ("pw-strong", "good", pw("pw-strong")),
        ("userdata-max", "good", json!({"userData": user_data})),
        (
            "userdata-multibyte",
            "good",
            json!({"userData": "é".repeat(9000)}),
        ),
        (
            "name-unicode",
            "good",
            json!({"instanceName": unicode_name}),
        ),
        (
            "name-too-long",
            "good",
            json!({"instanceName": "名".repeat(61)}),
        ),
        (
            "name-injection",
            "good",
            json!({"instanceName": injection_name}),
        ),
        ("tags-injection", "good", json!({"tags": injection_tags})),
        ("tags-max", "good", json!({"tags": max_tags})),
        (
            "image-injection",
            "good",
            json!({"imageId": "img-'; DROP TABLE x;--"}),
        ),
        (
            "type-injection",
            "good",
            json!({"instanceType": "S5.MEDIUM2;rm -rf /"}),
        ),
        ("zone-mismatch", "good", json!({"zone": "ap-shanghai-2"})),
        (
            "region-unknown",
            "good",
            json!({"region": "xx-nowhere-1", "zone": "xx-nowhere-1a"}),
        ),
        ("via-custom-keys", "custom-ok", json!({})),
        ("via-newline-keys", "newline", json!({})),
    ];
    for (name, cred, extra) in &instances {
        apply_instance(&client, &ns, &instance(name, cred, &cloud, extra.clone())).await;
    }

    case("instance with a missing credential: CredentialNotFound");
    let c = inst_false(&client, &ns, "no-cred", "Synced", "CredentialNotFound").await;
    assert!(message(&c).contains("nope"), "{c}");
    case("instance on a credential that is not ready: CredentialNotReady with the reason");
    let c = inst_false(
        &client,
        &ns,
        "cred-not-ready",
        "Synced",
        "CredentialNotReady",
    )
    .await;
    assert!(message(&c).contains("SecretNotFound"), "{c}");
    case("password Secret missing: PasswordSecretNotFound");
    let c = inst_false(
        &client,
        &ns,
        "pw-missing",
        "Synced",
        "PasswordSecretNotFound",
    )
    .await;
    assert!(message(&c).contains("pw-missing"), "{c}");
    case("password Secret without the key: PasswordSecretKeyMissing");
    let c = inst_false(
        &client,
        &ns,
        "pw-key-missing",
        "Synced",
        "PasswordSecretKeyMissing",
    )
    .await;
    assert!(message(&c).contains("\"password\""), "{c}");
    case("password not UTF-8: PasswordSecretKeyMissing");
    inst_false(
        &client,
        &ns,
        "pw-nonutf8",
        "Synced",
        "PasswordSecretKeyMissing",
    )
    .await;
    case("password the cloud rejects: InvalidPassword");
    inst_false(&client, &ns, "pw-weak", "Synced", "InvalidPassword").await;
    case("user data over 16 KiB once UTF-8 encoded: the cloud's TooLarge");
    let c = inst_false(
        &client,
        &ns,
        "userdata-multibyte",
        "Synced",
        "InvalidParameterValue.TooLarge",
    )
    .await;
    assert!(message(&c).contains("18000 bytes"), "{c}");
    case("61-character unicode name: InvalidInstanceName.TooLong");
    inst_false(
        &client,
        &ns,
        "name-too-long",
        "Synced",
        "InvalidInstanceName.TooLong",
    )
    .await;
    case("image id with SQL-ish injection: InvalidImageId");
    inst_false(&client, &ns, "image-injection", "Synced", "InvalidImageId").await;
    case("instance type with shell injection: rejected by the cloud");
    inst_false(&client, &ns, "type-injection", "Synced", "Invalid").await;
    case("zone of another region: InvalidZone.MismatchRegion");
    inst_false(&client, &ns, "zone-mismatch", "Synced", "InvalidZone").await;
    case("unknown region: UnsupportedRegion");
    inst_false(
        &client,
        &ns,
        "region-unknown",
        "Synced",
        "UnsupportedRegion",
    )
    .await;

    let mut ids = HashMap::new();
    for name in [
        "pw-strong",
        "userdata-max",
        "name-unicode",
        "name-injection",
        "tags-injection",
        "tags-max",
        "via-custom-keys",
        "via-newline-keys",
    ] {
        case(&format!("instance {name} Ready"));
        let s = inst_ready(&client, &ns, name).await;
        ids.insert(name, s["instanceId"].as_str().unwrap().to_string());
    }
    let cloud_view = |name: &str| {
        let id = ids[name].clone();
        let ctl = &ctl;
        async move { ctl.instance(&id).await.expect("instance in the cloud") }
    };
    case("unicode instance name reaches the cloud intact");
    assert_eq!(cloud_view("name-unicode").await["name"], unicode_name);
    case("instance name with quotes, &, =, ;, %, <>, \\ and a newline reaches the cloud intact");
    assert_eq!(cloud_view("name-injection").await["name"], injection_name);
    case("tags with injection characters reach the cloud intact");
    let tags = cloud_view("tags-injection").await["tags"].clone();
    for (k, v) in &injection_tags {
        assert_eq!(tags[k.as_str()], v.as_str(), "tag {k:?}: {tags}");
    }
    case("40 tags, one with a 127-character key and a 255-character value, intact");
    let tags = cloud_view("tags-max").await["tags"].clone();
    for (k, v) in &max_tags {
        assert_eq!(tags[k.as_str()], v.as_str(), "tag {k:?}");
    }
    assert_eq!(tags["cloudinstance-uid"].as_str().map(str::len), Some(36));
    case("16383 bytes of user data reach the cloud byte for byte");
    let stored = wait_for(T, "user data in the emulator's state file", || async {
        stored_instance(&state, &ids["userdata-max"]).filter(|i| i["user_data"].is_string())
    })
    .await;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(stored["user_data"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded.len(), user_data.len());
    assert!(
        decoded == user_data.as_bytes(),
        "user data altered on the way"
    );
    eprintln!("[hostile] {cases} cases");
    assert!(cases >= 20);

    // ---- nothing else broke -----------------------------------------------------------
    let s = instance_status(&client, &ns, "healthy").await;
    assert!(is_ready(&s), "the healthy neighbour is still Ready: {s}");
    assert_eq!(s["instanceId"], healthy_id.as_str());
    let audit = assert_no_leaks(&client, &ns, &ctl, None).await;
    assert_eq!(
        audit.live,
        ids.len() + 1,
        "exactly the valid instances exist"
    );
    controller.assert_alive().await;
    // nothing loops on the broken objects: terminal problems wait for a change
    settle(&controller).await;
    let before = ctl.calls().await;
    let writes0 = controller
        .metric_sum("cloudinstance_status_writes_total", &[])
        .await;
    let window = Duration::from_secs(8);
    tokio::time::sleep(window).await;
    let after = ctl.calls().await;
    let calls =
        calls_sum(&after, "tencent", "total", &[]) - calls_sum(&before, "tencent", "total", &[]);
    let writes = controller
        .metric_sum("cloudinstance_status_writes_total", &[])
        .await
        - writes0;
    eprintln!(
        "[hostile] quiet window of {window:?}: {calls} cloud calls, {writes} status writes; by action {:?}",
        calls_by_action(&after, "tencent")
    );
    // two slow polls (each 1 status call); the CRLF credential sends nothing
    assert!(calls <= 12, "{calls} cloud calls in {window:?} of quiet");
    assert!(
        writes <= 4.0,
        "{writes} status writes in {window:?} of quiet"
    );

    // ---- no secret anywhere -----------------------------------------------------------
    let events = Api::<Event>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    let insts = Api::<CloudInstance>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    let creds = Api::<CloudCredential>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    let everything = format!(
        "{}\n{}\n{}\n{}",
        controller.logs(),
        serde_json::to_string(&events).unwrap(),
        serde_json::to_string(&insts).unwrap(),
        serde_json::to_string(&creds).unwrap()
    );
    assert!(events.items.len() > 5, "events were recorded");
    let b64 = base64::engine::general_purpose::STANDARD;
    for secret in [
        cloud.secret,
        wrong_secret.as_str(),
        "wr0ng-\\\"secret\\\"\\n", // the JSON-escaped start of it
        nonutf8_marker.as_str(),
        weak_pw.as_str(),
        strong_pw.as_str(),
        huawei_sk,
    ] {
        assert!(
            !everything.contains(secret),
            "secret value {secret:?} found in controller logs, events or status"
        );
        let encoded = b64.encode(secret);
        assert!(
            !everything.contains(&encoded),
            "base64 of secret value {secret:?} found in controller logs, events or status"
        );
    }
}
