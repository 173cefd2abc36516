//! Running the real controller binary against the test cluster, plus small wait helpers.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::runtime::conditions::is_crd_established;
use kube::runtime::wait::await_condition;
use kube::{Api, Client, ResourceExt};

use cloudinstance_controller::api;

/// Server-side apply the product's CRDs (idempotent) and wait until they are Established.
pub async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in api::crds() {
        let name = crd.name_any();
        crds.patch(
            &name,
            &PatchParams::apply("cic-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|e| panic!("apply CRD {name}: {e}"));
        tokio::time::timeout(
            Duration::from_secs(30),
            await_condition(crds.clone(), &name, is_crd_established()),
        )
        .await
        .unwrap_or_else(|_| panic!("CRD {name} not Established within 30 s"))
        .expect("watch CRD");
    }
}

/// A free loopback port (bind to 0 and release).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One controller process (`cloudinstance-controller run`), killed on drop.
pub struct ControllerProcess {
    child: Option<tokio::process::Child>,
    pub metrics_url: String,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ControllerProcess {
    /// Start watching `namespace` with fast polling. `extra` is appended to the args.
    pub async fn start(namespace: &str, extra: &[&str]) -> ControllerProcess {
        Self::start_with_env(namespace, extra, &[]).await
    }

    pub async fn start_with_env(
        namespace: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> ControllerProcess {
        let cluster = super::cluster::cluster().await;
        let port = free_port();
        let metrics_addr = format!("127.0.0.1:{port}");
        let mut args = vec![
            "run",
            "--namespace",
            namespace,
            "--metrics-addr",
            metrics_addr.as_str(),
        ];
        // defaults for tests, unless `extra` sets them
        for (flag, value) in [
            ("--poll-fast", "300ms"),
            ("--poll-slow", "5s"),
            ("--log-level", "info,cloudinstance_controller=debug"),
        ] {
            if !extra.contains(&flag) {
                args.extend([flag, value]);
            }
        }
        args.extend_from_slice(extra);
        Self::start_with_kubeconfig(cluster.kubeconfig_env(), &args, env, &metrics_addr).await
    }

    /// Start the binary with exactly `args` (nothing added) and `KUBECONFIG=kubeconfig`
    /// (e.g. one whose user is a ServiceAccount), then wait for `/healthz` on
    /// `metrics_addr` (which must match the `--metrics-addr` in `args`, a `0.0.0.0:PORT`
    /// address is reached through 127.0.0.1).
    pub async fn start_with_kubeconfig(
        kubeconfig: impl AsRef<std::ffi::OsStr>,
        args: &[&str],
        env: &[(&str, &str)],
        metrics_addr: &str,
    ) -> ControllerProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("controller.log");
        let metrics_addr = metrics_addr.replace("0.0.0.0:", "127.0.0.1:");
        let out = std::fs::File::create(&log).expect("log file");
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cloudinstance-controller"));
        cmd.args(args)
            .env("KUBECONFIG", kubeconfig.as_ref())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup log"))
            .stderr(out)
            // the operator's allow-list: the emulators this test binary started
            .env("ALLOWED_ENDPOINTS", super::emulator::started_urls())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn cloudinstance-controller");
        let me = ControllerProcess {
            child: Some(child),
            metrics_url: format!("http://{metrics_addr}/metrics"),
            log,
            _dir: dir,
        };
        // wait for the HTTP endpoints of THIS process (the port was free when chosen, but
        // another process could have taken it since): /healthz names its process id
        let health = format!("http://{metrics_addr}/healthz");
        let pid = me.pid().to_string();
        wait_until(Duration::from_secs(30), "controller /healthz", || async {
            reqwest::get(&health).await.is_ok_and(|r| {
                r.status().is_success()
                    && r.headers()
                        .get("x-process-id")
                        .is_some_and(|v| v.as_bytes() == pid.as_bytes())
            })
        })
        .await;
        me
    }

    /// The controller still runs, answers /healthz and never panicked.
    pub async fn assert_alive(&self) {
        let r = reqwest::get(self.metrics_url.replace("/metrics", "/healthz")).await;
        assert!(
            r.is_ok_and(|r| r.status().is_success()),
            "controller is not alive any more; log:\n{}",
            self.logs()
        );
        assert!(
            !self.logs().contains("panicked"),
            "controller panicked:\n{}",
            self.logs()
        );
    }

    /// OS process id.
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(|c| c.id())
            .expect("controller running")
    }

    /// SIGKILL the process and wait for it to be gone (simulates a crash).
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
    }

    /// SIGKILL this controller (as a crash would) and start another for `namespace`;
    /// returns once the new one has reconciled a CloudInstance.
    pub async fn crash_and_restart(&mut self, namespace: &str) -> ControllerProcess {
        self.kill().await;
        let next = ControllerProcess::start(namespace, &[]).await;
        wait_until(
            Duration::from_secs(90),
            "the restarted controller reconciled an object",
            || async {
                next.metric_sum(
                    "cloudinstance_reconcile_total",
                    &[("kind", "CloudInstance")],
                )
                .await
                    >= 1.0
            },
        )
        .await;
        next
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(&self.metrics_url)
            .await
            .expect("scrape /metrics")
            .text()
            .await
            .expect("metrics body")
    }

    /// Sum of a metric's samples whose label set contains every `labels` pair.
    pub async fn metric_sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        sum_metric(&self.metrics().await, name, labels)
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- controller log ({}) ---\n{}",
                self.log.display(),
                self.logs()
            );
        }
    }
}

/// Sum samples of metric `name` (exact name, e.g. `cloudinstance_poll_rounds_total`) matching labels.
pub fn sum_metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (head, value) = l.rsplit_once(' ')?;
            let (metric, rest) = match head.find('{') {
                Some(i) => (&head[..i], &head[i..]),
                None => (head, ""),
            };
            if metric != name {
                return None;
            }
            let ok = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            ok.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Poll `check` until it returns true or `timeout` passes (then panic with `what`).
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Poll `f` until it returns Some, or panic after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
