//! Test helper: run the `cloud-emulator` binary and drive its `/_emulator/` control API.
//!
//! ```ignore
//! mod support;
//! use support::emulator::Emulator;
//!
//! let emu = Emulator::start(&["--transition-delay-ms", "200"]).await;
//! // point a Tencent client at emu.url() (http://127.0.0.1:PORT), host emu.addr()
//! let all = emu.instances().await;
//! ```
//!
//! The binary is built once per test process with `cargo build -p cloud-emulator` (a no-op
//! when it is up to date) and taken from `<target dir>/debug/cloud-emulator`, the target
//! dir being `CARGO_TARGET_DIR` or `<workspace>/target`. `CLOUD_EMULATOR_BIN` names a
//! prebuilt binary instead and skips the build; `CLOUD_EMULATOR_NO_BUILD=1` uses an existing
//! binary in the target dir as it is (and builds only if it is missing). The emulator logs at
//! `warn` unless `CLOUD_EMULATOR_LOG` says otherwise. The child process is killed on drop; its
//! stderr (log) is kept and printed if the test panics.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Built-in demo accounts of the emulator (see emulator/README.md).
pub const TENCENT_SECRET_ID: &str = "AKIDDEMO00000000000000000000000000";
pub const TENCENT_SECRET_KEY: &str = "demo-tencent-secret-key";
pub const ALIBABA_ACCESS_KEY_ID: &str = "LTAIDEMO0000000000000000";
pub const ALIBABA_ACCESS_KEY_SECRET: &str = "demo-alibaba-access-key-secret";
pub const HUAWEI_AK: &str = "HWDEMOAK0000000000000";
pub const HUAWEI_SK: &str = "demo-huawei-secret-key";
pub const HUAWEI_PROJECT_ID: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const LOG_CAP: usize = 4 * 1024 * 1024;

/// The workspace root (the root package's manifest directory).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `CARGO_TARGET_DIR` (relative paths are taken from the workspace root) or `<root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// Where `cargo build -p cloud-emulator` puts the binary.
pub fn binary_path() -> PathBuf {
    target_dir()
        .join("debug")
        .join(format!("cloud-emulator{}", std::env::consts::EXE_SUFFIX))
}

fn build_binary() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let root = workspace_root();
    let out = Command::new(&cargo)
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "-p",
            "cloud-emulator",
            "--bin",
            "cloud-emulator",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{cargo} build -p cloud-emulator`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`cargo build -p cloud-emulator` failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let bin = binary_path();
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "cargo built cloud-emulator but {} does not exist",
            bin.display()
        ))
    }
}

/// The emulator binary: `CLOUD_EMULATOR_BIN`, or built (once per process) and located in
/// the target dir.
pub fn binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CLOUD_EMULATOR_BIN") {
        return Ok(PathBuf::from(p));
    }
    if std::env::var_os("CLOUD_EMULATOR_NO_BUILD").is_some_and(|v| !v.is_empty()) {
        let bin = binary_path();
        if bin.exists() {
            return Ok(bin);
        }
    }
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(build_binary).clone()
}

/// A running emulator.
/// Base URLs of every emulator this test binary started: the controllers the tests start
/// allow-list them (`ALLOWED_ENDPOINTS`), as an operator allow-lists the emulator.
pub static STARTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// [`STARTED`] as one comma-separated list.
pub fn started_urls() -> String {
    STARTED.lock().map(|v| v.join(",")).unwrap_or_default()
}

pub struct Emulator {
    child: Child,
    url: String,
    addr: String,
    log: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl Emulator {
    /// Start `cloud-emulator serve` with extra arguments (`--addr 127.0.0.1:0` unless given)
    /// and wait until it listens. Panics if it does not come up.
    pub async fn start(args: &[&str]) -> Emulator {
        Self::try_start(args)
            .await
            .unwrap_or_else(|e| panic!("cannot start cloud-emulator: {e}"))
    }

    pub async fn try_start(args: &[&str]) -> Result<Emulator, String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = args.iter().map(|a| a.as_str()).collect();
            Self::start_blocking(&refs)
        })
        .await
        .map_err(|e| format!("start task failed: {e}"))?
    }

    /// [`Emulator::start`] for code without an async runtime (builds the binary, spawns it
    /// and blocks until it announces its address).
    pub fn start_blocking(args: &[&str]) -> Result<Emulator, String> {
        let bin = binary()?;
        let mut full: Vec<String> = vec!["serve".into()];
        if !args
            .iter()
            .any(|a| *a == "--addr" || a.starts_with("--addr="))
        {
            full.push("--addr".into());
            full.push("127.0.0.1:0".into());
        }
        full.extend(args.iter().map(|a| a.to_string()));
        let mut cmd = Command::new(&bin);
        cmd.args(&full)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env(
                "RUST_LOG",
                std::env::var("CLOUD_EMULATOR_LOG").unwrap_or_else(|_| "warn".to_string()),
            );
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;

        let log = Arc::new(Mutex::new(String::new()));
        if let Some(mut stderr) = child.stderr.take() {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut l = log.lock().unwrap_or_else(|p| p.into_inner());
                    if l.len() < LOG_CAP {
                        l.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let first = reader.read_line(&mut line).map(|_| line.clone());
            let _ = tx.send(first);
            // Keep draining so the child never blocks on a full pipe.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Ok(line)) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(50));
                let stderr = log.lock().map(|l| l.clone()).unwrap_or_default();
                return Err(format!(
                    "cloud-emulator did not announce its address ({other:?}); stderr:\n{stderr}"
                ));
            }
        };
        let url = line
            .trim()
            .strip_prefix("cloud-emulator listening on ")
            .map(|u| u.to_string())
            .ok_or_else(|| format!("unexpected first line from cloud-emulator: {line:?}"));
        let url = match url {
            Ok(u) => u,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let addr = url.trim_start_matches("http://").to_string();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        if let Ok(mut v) = STARTED.lock() {
            v.push(url.clone());
        }
        Ok(Emulator {
            child,
            url,
            addr,
            log,
            http,
        })
    }

    /// `http://127.0.0.1:PORT`: the endpoint of every emulated cloud.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `127.0.0.1:PORT` (the Host a client will send).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the emulator logged on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Kill the process now (SIGKILL). `--state-file` keeps what was saved (every 250 ms).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Ask the process to exit (SIGTERM, which saves `--state-file`), then kill it if it
    /// is still running after 5 s.
    pub fn terminate(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn control_url(&self, path: &str) -> String {
        format!("{}/_emulator/{}", self.url, path.trim_start_matches('/'))
    }

    /// GET a control API path (relative to `/_emulator/`). Panics on transport errors and
    /// non-2xx answers.
    pub async fn get_json(&self, path: &str) -> Value {
        let r = self
            .http
            .get(self.control_url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET /_emulator/{path}: {e}"));
        Self::json_or_panic(r, path).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Value {
        let r = self
            .http
            .post(self.control_url(path))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /_emulator/{path}: {e}"));
        Self::json_or_panic(r, path).await
    }

    async fn json_or_panic(r: reqwest::Response, path: &str) -> Value {
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "/_emulator/{path} answered {status}: {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Every instance of every cloud (cloud-neutral view, oldest first).
    pub async fn instances(&self) -> Vec<Value> {
        match self.get_json("instances").await {
            Value::Array(v) => v,
            other => panic!("unexpected /_emulator/instances answer: {other}"),
        }
    }

    /// Instances of one cloud (`tencent`, `alibaba`, `huawei`).
    pub async fn instances_of(&self, provider: &str) -> Vec<Value> {
        match self
            .get_json(&format!("instances?provider={provider}"))
            .await
        {
            Value::Array(v) => v,
            other => panic!("unexpected /_emulator/instances answer: {other}"),
        }
    }

    /// One instance, `None` if it does not exist (any more).
    pub async fn instance(&self, id: &str) -> Option<Value> {
        let r = self
            .http
            .get(self.control_url(&format!("instances/{id}")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET /_emulator/instances/{id}: {e}"));
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        Some(Self::json_or_panic(r, "instances/{id}").await)
    }

    /// Poll until instance `id` has the cloud-neutral `state` (`running`, `stopped`, ...;
    /// `gone` waits for it to disappear). Panics after `timeout`.
    pub async fn wait_for_state(&self, id: &str, state: &str, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let inst = self.instance(id).await;
            let current = inst
                .as_ref()
                .and_then(|i| i["state"].as_str())
                .unwrap_or("gone")
                .to_string();
            if current == state {
                return inst;
            }
            assert!(
                Instant::now() < deadline,
                "instance {id} is `{current}`, not `{state}`, after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Call counters: `{provider: {action: {total, ok, errors, throttled, faulted, error_codes}}}`.
    pub async fn calls(&self) -> Value {
        self.get_json("calls").await
    }

    /// Total calls of one action (0 if never called).
    pub async fn call_count(&self, provider: &str, action: &str) -> u64 {
        self.calls().await[provider][action]["total"]
            .as_u64()
            .unwrap_or(0)
    }

    pub async fn reset_calls(&self) {
        self.post_json("calls/reset", &json!({})).await;
    }

    /// Add a fault rule (`{provider?, action?, code?, message?, http_status?, latency_ms?,
    /// drop_connection?, launch_failed?, probability?, count?}`); returns its id.
    pub async fn inject_fault(&self, fault: Value) -> u64 {
        self.post_json("faults", &fault).await["id"]
            .as_u64()
            .expect("fault id")
    }

    pub async fn faults(&self) -> Value {
        self.get_json("faults").await
    }

    pub async fn clear_faults(&self) {
        let r = self
            .http
            .delete(self.control_url("faults"))
            .send()
            .await
            .expect("DELETE /_emulator/faults");
        assert!(r.status().is_success());
    }

    /// Change settings (`transition_delay_ms`, `transition_delays_ms: {name: ms}`,
    /// `rate_limit_enabled`, `rate_limit_multiplier`, `rate_limit_overrides`,
    /// `instance_quota`, `max_clock_skew_secs`); returns the full settings.
    pub async fn set_config(&self, config: Value) -> Value {
        self.post_json("config", &config).await
    }

    pub async fn config(&self) -> Value {
        self.get_json("config").await
    }

    /// Delete an instance out of band (as if someone removed it in the console).
    /// Returns false if it did not exist.
    pub async fn delete_instance(&self, id: &str) -> bool {
        let r = self
            .http
            .delete(self.control_url(&format!("instances/{id}")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("DELETE /_emulator/instances/{id}: {e}"));
        r.status().is_success()
    }

    /// Force an instance into a cloud-neutral state out of band (`stopped`, `running`, ...).
    pub async fn set_instance_state(&self, id: &str, state: &str) -> bool {
        let r = self
            .http
            .post(self.control_url(&format!("instances/{id}/state")))
            .json(&json!({ "state": state }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /_emulator/instances/{id}/state: {e}"));
        r.status().is_success()
    }

    /// Drop all instances, counters and faults (settings stay).
    pub async fn reset(&self) {
        self.post_json("reset", &json!({})).await;
    }

    pub async fn healthz(&self) -> bool {
        match self.http.get(self.control_url("healthz")).send().await {
            Ok(r) => r.status().is_success(),
            Err(_) => false,
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log();
            if !log.is_empty() {
                let tail: String = log
                    .chars()
                    .rev()
                    .take(20_000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                eprintln!("---- cloud-emulator stderr (tail) ----\n{tail}");
            }
        }
    }
}

/// Path of a file in the workspace (e.g. `tests/sdk/tencent_lifecycle.py`).
pub fn workspace_file(rel: &str) -> PathBuf {
    workspace_root().join(Path::new(rel))
}
