//! Reliability: the cloud API and the apiserver go away and come back during churn; the
//! controller, never restarted, reconnects and converges. Sizes, seeds and the invariants
//! every campaign ends with: `tests/support/campaign.rs`.
//!
//! | test | what |
//! |---|---|
//! | `emulator_restart_during_churn_is_survived` | the cloud API restarts (same port, state file) |
//! | `apiserver_restart_during_churn_is_survived` | kube-apiserver is killed and restarted (a private control plane) |

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use rand::Rng;

use support::campaign::*;
use support::cluster::{TestNamespace, kubectl_path, repo_root};
use support::controller::{ControllerProcess, free_port, install_crds, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;
use support::scenario::crd_namespace;

/// The emulator (with a state file) is stopped during churn and a new one is started on
/// the same port with the same state; the controller, never restarted, reconnects and
/// converges. Work requested while the cloud is down is carried out when it is back.
#[tokio::test]
async fn emulator_restart_during_churn_is_survived() {
    let sc = scale();
    let mut rng = campaign_rng("emulator-restart");
    let (client, ns) = crd_namespace("rel-emu").await;
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
    let mut fleet = Fleet::with_objects(&client, &ns, cloud, emu.url(), sc.restart_objects).await;
    let bounds = sc.restart_bounds();

    let mut recoveries = Vec::new();
    for round in 0..sc.restarts {
        fleet.churn(&mut rng, 8, 100..500, bounds).await;
        // SIGTERM: the emulator saves its state, like a cloud that does not lose
        // acknowledged writes; connections in flight are cut.
        emu.terminate();
        let down = Instant::now();
        // work requested while the cloud is unreachable
        fleet.churn(&mut rng, 6, 100..600, bounds).await;
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
    let mut fleet = Fleet::with_objects(&client, &ns, cloud, emu.url(), sc.restart_objects).await;
    let bounds = sc.restart_bounds();

    let mut rounds = Vec::new();
    for round in 0..sc.restarts {
        // changes in flight when the apiserver dies
        fleet.churn(&mut rng, 8, 50..300, bounds).await;
        let downtime = cp.restart_apiserver().await;
        // changes only a re-established watch can deliver
        let back = Instant::now();
        fleet.churn(&mut rng, 6, 50..300, bounds).await;
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
