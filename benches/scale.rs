//! Scale benchmark: N CloudInstances against the real apiserver and the emulator with
//! its documented Tencent rate limits and transition delays.
//!
//!     hack/bench.sh                 # N = 100 and 1000
//!     hack/bench.sh --instances 5000
//!
//! Reports (markdown): convergence time vs the rate-limit lower bound, fleet stop/start,
//! DescribeInstancesStatus calls per poll round and per instance-hour (vs naive
//! per-object polling), status writes per instance-hour at steady state, controller RSS
//! and CPU, and the reaction latency (object written → the cloud receives the call) p50/p99.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use cloudinstance_controller::api::CloudInstance;
use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds};
use support::emulator::Emulator;
use support::fixtures::*;

/// Emulator's documented limit for RunInstances / StartInstances / StopInstances (per s).
const RUN_LIMIT: f64 = 10.0;
const POLL_SLOW_SECS: f64 = 60.0;

struct Args {
    sizes: Vec<usize>,
    transition_ms: u64,
}

fn args() -> Args {
    let mut sizes = vec![];
    let mut transition_ms = 2000;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--instances" => sizes.push(
                it.next()
                    .and_then(|v| v.parse().ok())
                    .expect("--instances N"),
            ),
            "--transition-ms" => {
                transition_ms = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--transition-ms MS")
            }
            _ => {} // cargo bench passes --bench
        }
    }
    if sizes.is_empty() {
        sizes = vec![100, 1000];
    }
    Args {
        sizes,
        transition_ms,
    }
}

async fn count_state(api: &Api<CloudInstance>, state: &str) -> usize {
    api.list(&ListParams::default())
        .await
        .map(|l| {
            l.items
                .iter()
                .filter(|o| {
                    o.status.as_ref().is_some_and(|s| {
                        s.state.as_deref() == Some(state)
                            && s.conditions
                                .iter()
                                .any(|c| c.type_ == "Ready" && c.status == "True")
                    })
                })
                .count()
        })
        .unwrap_or(0)
}

async fn wait_all(api: &Api<CloudInstance>, state: &str, n: usize, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if count_state(api, state).await == n {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "not all {n} {state} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn proc_stats(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    (rss_kb / 1024.0, ticks / 100.0)
}

/// Milliseconds since the epoch, the clock the emulator stamps its instances with.
fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn ms_of(v: &serde_json::Value) -> Option<i64> {
    v.as_str()?
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// Nearest-rank percentile.
fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// "p50 / p99 (max)" of both views of the samples.
fn latency_cells(samples: &Samples) -> (String, String) {
    let cell = |v: Vec<f64>| {
        let max = v.iter().copied().fold(0.0, f64::max);
        format!(
            "p50 {:.0} ms, p99 {:.0} ms (max {:.0})",
            percentile(&v, 50.0),
            percentile(&v, 99.0),
            max
        )
    };
    (
        cell(samples.iter().map(|s| s.0).collect()),
        cell(samples.iter().map(|s| s.1).collect()),
    )
}

/// Reaction latency, one object at a time with N objects loaded: the time from sending
/// the write to the apiserver to the cloud receiving the resulting call. Samples are
/// spaced by `SAMPLE_GAP` so the client-side rate limit (10 mutating calls per second per
/// credential) is not what is measured. `stop` patches
/// spec.powerState of existing objects (→ StopInstances, the first and only call);
/// `create` applies new objects (→ a DescribeInstances tag lookup, then RunInstances:
/// measured to the RunInstances). The emulator stamps both in milliseconds.
/// Each sample: (from sending the write, from the apiserver's acknowledgement) in ms. The
/// watch event is sent when the write commits, between the two.
type Samples = Vec<(f64, f64)>;

const SAMPLE_GAP: Duration = Duration::from_millis(250);

async fn reaction_latency(
    client: &Client,
    ns: &str,
    ctl: &Control,
    samples: usize,
) -> (Samples, Samples) {
    let api = Api::<CloudInstance>::namespaced(client.clone(), ns);
    let by_id = |id: String| async move { ctl.instance(&id).await };
    let mut stop = Vec::new();
    for i in 0..samples {
        tokio::time::sleep(SAMPLE_GAP).await;
        let name = format!("vm-{i:05}");
        let id = api
            .get(&name)
            .await
            .expect("get")
            .status
            .and_then(|s| s.instance_id)
            .expect("id");
        let t0 = now_ms();
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"powerState": "Stopped"}})),
        )
        .await
        .expect("patch powerState");
        let t1 = now_ms();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let inst = by_id(id.clone()).await.expect("instance");
            if let Some(t) = ms_of(&inst["updated_at"]).filter(|t| *t >= t0) {
                stop.push(((t - t0) as f64, (t - t1) as f64));
                break;
            }
            assert!(Instant::now() < deadline, "{name} not stopped within 30 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let mut create = Vec::new();
    for i in 0..samples {
        tokio::time::sleep(SAMPLE_GAP).await;
        let name = format!("lat-{i:05}");
        let obj: CloudInstance =
            serde_json::from_value(instance(&name, "cred", &TENCENT, json!({}))).unwrap();
        let t0 = now_ms();
        let uid = api
            .create(&PostParams::default(), &obj)
            .await
            .expect("create")
            .metadata
            .uid
            .expect("uid");
        let t1 = now_ms();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(t) = ctl
                .owned_by(&uid)
                .await
                .first()
                .and_then(|i| ms_of(&i["created_at"]))
            {
                create.push(((t - t0) as f64, (t - t1) as f64));
                break;
            }
            assert!(Instant::now() < deadline, "{name} not created within 30 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    (stop, create)
}

async fn fleet_power(client: &Client, ns: &str, n: usize, state: &str) {
    let api = Api::<CloudInstance>::namespaced(client.clone(), ns);
    for i in 0..n {
        api.patch(
            &format!("vm-{i:05}"),
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"powerState": state}})),
        )
        .await
        .expect("patch powerState");
    }
}

async fn run(n: usize, a: &Args) -> Vec<String> {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, &format!("bench-{n}")).await;
    let ns = ns.name().to_string();
    let delay = a.transition_ms.to_string();
    let emu = Emulator::start(&["--transition-delay-ms", &delay]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let controller = ControllerProcess::start(
        &ns,
        &[
            "--poll-fast",
            "2s",
            "--poll-slow",
            "60s",
            "--concurrency",
            "64",
            "--log-level",
            "warn",
        ],
    )
    .await;
    let pid = controller.pid();
    let (rss0, _) = proc_stats(pid);
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    let api = Api::<CloudInstance>::namespaced(client.clone(), &ns);
    while credential_status(&client, &ns, "cred").await["conditions"][0]["status"] != "True" {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // converge: N objects applied at once
    let start = Instant::now();
    for i in 0..n {
        let obj: CloudInstance =
            serde_json::from_value(instance(&format!("vm-{i:05}"), "cred", &cloud, json!({})))
                .unwrap();
        api.create(&PostParams::default(), &obj)
            .await
            .expect("create");
    }
    let converge = wait_all(&api, "Running", n, Duration::from_secs(3600))
        .await
        .max(start.elapsed());
    let bound = n as f64 / RUN_LIMIT + a.transition_ms as f64 / 1000.0;
    let create_calls = ctl.calls().await;
    let per_object = |action: &str| count_in(&create_calls, "tencent", action) as f64 / n as f64;
    let (runs, lookups) = (per_object("RunInstances"), per_object("DescribeInstances"));
    assert_eq!(
        ctl.instances().await.len(),
        n,
        "exactly one cloud instance per object"
    );

    // steady state: describe calls per round, status writes
    let (rss_n, cpu_before) = proc_stats(pid);
    let rounds0 = controller
        .metric_sum("cloudinstance_poll_rounds_total", &[])
        .await;
    let calls0 = ctl.call_count("tencent", "DescribeInstancesStatus").await;
    let writes0 = controller
        .metric_sum(
            "cloudinstance_status_writes_total",
            &[("kind", "CloudInstance")],
        )
        .await;
    let window = Duration::from_secs(130);
    tokio::time::sleep(window).await;
    let rounds = controller
        .metric_sum("cloudinstance_poll_rounds_total", &[])
        .await
        - rounds0;
    let calls = (ctl.call_count("tencent", "DescribeInstancesStatus").await - calls0) as f64;
    let writes = controller
        .metric_sum(
            "cloudinstance_status_writes_total",
            &[("kind", "CloudInstance")],
        )
        .await
        - writes0;
    let (_, cpu_after) = proc_stats(pid);
    let hours = window.as_secs_f64() / 3600.0;
    let calls_per_inst_hour = calls / n as f64 / hours;
    let naive = 3600.0 / POLL_SLOW_SECS; // one call per object per poll
    let writes_per_inst_hour = writes / n as f64 / hours;
    let cpu_pct = (cpu_after - cpu_before) / window.as_secs_f64() * 100.0;

    // fleet-wide stop and start
    let t = Instant::now();
    fleet_power(&client, &ns, n, "Stopped").await;
    let stop = wait_all(&api, "Stopped", n, Duration::from_secs(3600))
        .await
        .max(t.elapsed());
    let t = Instant::now();
    fleet_power(&client, &ns, n, "Running").await;
    let startt = wait_all(&api, "Running", n, Duration::from_secs(3600))
        .await
        .max(t.elapsed());

    // reaction latency, one object at a time with everything settled (last: it leaves
    // some objects stopped and adds a few)
    let samples = n.min(100);
    let (lat_stop, lat_create) = reaction_latency(&client, &ns, &ctl, samples).await;

    vec![
        format!(
            "| {n} | convergence (create → all Ready) | {:.1} s | bound {:.1} s (N/10 RunInstances per s + {} ms PENDING) | ratio {:.2} |",
            converge.as_secs_f64(),
            bound,
            a.transition_ms,
            converge.as_secs_f64() / bound
        ),
        format!(
            "| {n} | cloud calls per object until all Ready | RunInstances {runs:.2}, DescribeInstances {lookups:.2} | 1 create + 1 lookup by tag, + details polls | |"
        ),
        format!(
            "| {n} | fleet stop (all Stopped) | {:.1} s | bound {:.1} s | ratio {:.2} |",
            stop.as_secs_f64(),
            bound,
            stop.as_secs_f64() / bound
        ),
        format!(
            "| {n} | fleet start (all Running) | {:.1} s | bound {:.1} s | ratio {:.2} |",
            startt.as_secs_f64(),
            bound,
            startt.as_secs_f64() / bound
        ),
        format!(
            "| {n} | DescribeInstancesStatus per poll round | {:.2} | ceil(N/100) = {} | {} rounds in {} s |",
            calls / rounds.max(1.0),
            n.div_ceil(100),
            rounds,
            window.as_secs()
        ),
        format!(
            "| {n} | status calls per instance-hour (steady) | {:.2} | naive per-object polling: {:.0} | {:.0}× fewer |",
            calls_per_inst_hour,
            naive,
            naive / calls_per_inst_hour.max(1e-9)
        ),
        format!(
            "| {n} | status writes per instance-hour (steady) | {:.3} | target ≈ 0 | |",
            writes_per_inst_hour
        ),
        format!(
            "| {n} | controller RSS | {:.1} MiB | {:.1} MiB with 0 objects | |",
            rss_n, rss0
        ),
        format!(
            "| {n} | controller CPU (steady) | {:.2} % of one core | | |",
            cpu_pct
        ),
        {
            let (sent, acked) = latency_cells(&lat_stop);
            format!(
                "| {n} | reaction: powerState patch → StopInstances at the cloud | {acked} after the apiserver acknowledged the write | {sent} from sending it | {samples} samples, one at a time, 250 ms apart |"
            )
        },
        {
            let (sent, acked) = latency_cells(&lat_create);
            format!(
                "| {n} | reaction: create → RunInstances at the cloud (after a tag lookup) | {acked} after the apiserver acknowledged the write | {sent} from sending it | {samples} samples, one at a time, 250 ms apart |"
            )
        },
    ]
}

#[tokio::main]
async fn main() {
    let a = args();
    let mut rows = vec![
        "| N | measure | value | reference | note |".to_string(),
        "|---|---|---|---|---|".to_string(),
    ];
    for &n in &a.sizes {
        eprintln!("bench: N = {n}");
        rows.extend(run(n, &a).await);
        for r in &rows {
            println!("{r}");
        }
    }
    println!();
    for r in &rows {
        println!("{r}");
    }
}
