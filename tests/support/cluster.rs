//! A real Kubernetes API server for integration tests.
//!
//! Which cluster is used, decided once per test binary:
//!
//! * `KUBECONFIG` is set and that cluster answers: it is used. This is how `hack/test.sh`
//!   runs the tests: it starts one control plane for the whole run, exports `KUBECONFIG`
//!   and stops the control plane when the run ends. `hack/test.sh` owns the lifecycle.
//! * Otherwise (e.g. a bare `cargo test --test control_plane`), the first test that asks
//!   starts a private control plane with `hack/start-control-plane.sh` in a temporary
//!   state dir and every test of the binary shares it. Rust runs no destructor for
//!   statics, so a detached watcher process stops it (`hack/stop-control-plane.sh`) and
//!   removes the state dir once the test binary's process has exited.
//!
//! The control plane is a bare kube-apiserver + etcd: no controllers run, so pods never
//! start, ownerReferences are not garbage-collected and deleted namespaces stay
//! `Terminating` forever. Tests therefore use unique names ([`TestNamespace`]) and must
//! not wait for anything a controller would do. Deleting a test namespace is best-effort;
//! everything is discarded when the control plane is stopped.
#![allow(dead_code)]

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use tokio::io::AsyncWriteExt;
use tokio::sync::OnceCell;

/// Field manager used by the helpers for server-side apply.
pub const FIELD_MANAGER: &str = "cic-tests";

/// The cluster the tests of this binary talk to.
#[derive(Debug)]
pub struct TestCluster {
    /// Admin kubeconfig (already merged if `KUBECONFIG` lists several files).
    kubeconfig: Kubeconfig,
    /// Value for `KUBECONFIG` when running kubectl/helm against this cluster.
    kubeconfig_env: OsString,
    /// State dir of the private control plane, if this binary started one.
    state_dir: Option<PathBuf>,
}

static CLUSTER: OnceCell<TestCluster> = OnceCell::const_new();

/// The shared cluster, started on first use (see the module docs).
pub async fn cluster() -> &'static TestCluster {
    CLUSTER.get_or_init(TestCluster::init).await
}

/// An admin client (`system:masters`) for the shared cluster.
///
/// A new client per call: each `#[tokio::test]` has its own runtime and a client's
/// connections must not outlive the runtime that made them.
pub async fn admin_client() -> Client {
    cluster().await.admin_client().await
}

/// A client that impersonates `user` (and `groups`), authenticated as the admin.
pub async fn impersonated_client(user: &str, groups: &[&str]) -> Client {
    cluster().await.impersonated_client(user, groups).await
}

/// A client acting as the ServiceAccount `namespace/name`
/// (user `system:serviceaccount:<namespace>:<name>`; the API server adds the
/// ServiceAccount groups itself).
pub async fn service_account_client(namespace: &str, name: &str) -> Client {
    impersonated_client(&format!("system:serviceaccount:{namespace}:{name}"), &[]).await
}

impl TestCluster {
    async fn init() -> TestCluster {
        if let Some(env) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            match Kubeconfig::read() {
                Ok(kubeconfig) => {
                    if reachable(&kubeconfig).await {
                        return TestCluster {
                            kubeconfig,
                            kubeconfig_env: env,
                            state_dir: None,
                        };
                    }
                    eprintln!(
                        "[test-support] KUBECONFIG={} is not reachable; starting a private control plane",
                        env.to_string_lossy()
                    );
                }
                Err(e) => eprintln!(
                    "[test-support] KUBECONFIG={} unreadable ({e}); starting a private control plane",
                    env.to_string_lossy()
                ),
            }
        }
        Self::start_private().await
    }

    async fn start_private() -> TestCluster {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let state_dir = std::env::temp_dir().join(format!(
            "cic-test-cp-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&state_dir).expect("create control plane state dir");
        let script = repo_root().join("hack/start-control-plane.sh");
        let dir = state_dir.clone();
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new("bash")
                .arg(&script)
                .env("CIC_STATE_DIR", &dir)
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
        })
        .await
        .expect("join start-control-plane")
        .expect("run hack/start-control-plane.sh");
        // Arrange for the stop even if the start failed half-way.
        spawn_stop_watcher(&state_dir);
        assert!(
            output.status.success(),
            "hack/start-control-plane.sh failed ({}); logs in {}",
            output.status,
            state_dir.display()
        );
        let path = state_dir.join("kubeconfig");
        let kubeconfig = Kubeconfig::read_from(&path).expect("read generated kubeconfig");
        TestCluster {
            kubeconfig,
            kubeconfig_env: path.into_os_string(),
            state_dir: Some(state_dir),
        }
    }

    /// The kube-rs config of the admin user.
    pub async fn config(&self) -> Config {
        Config::from_custom_kubeconfig(self.kubeconfig.clone(), &KubeConfigOptions::default())
            .await
            .expect("kube config from kubeconfig")
    }

    pub async fn admin_client(&self) -> Client {
        Client::try_from(self.config().await).expect("admin client")
    }

    pub async fn impersonated_client(&self, user: &str, groups: &[&str]) -> Client {
        let mut config = self.config().await;
        config.auth_info.impersonate = Some(user.to_string());
        if !groups.is_empty() {
            config.auth_info.impersonate_groups =
                Some(groups.iter().map(|g| g.to_string()).collect());
        }
        Client::try_from(config).expect("impersonating client")
    }

    /// Value to put in `KUBECONFIG` for tools (kubectl, helm, the controller binary).
    pub fn kubeconfig_env(&self) -> &OsString {
        &self.kubeconfig_env
    }

    /// The state dir of the private control plane this binary started, if any.
    pub fn state_dir(&self) -> Option<&Path> {
        self.state_dir.as_deref()
    }
}

async fn reachable(kubeconfig: &Kubeconfig) -> bool {
    let Ok(config) =
        Config::from_custom_kubeconfig(kubeconfig.clone(), &KubeConfigOptions::default()).await
    else {
        return false;
    };
    let Ok(client) = Client::try_from(config) else {
        return false;
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(10), client.apiserver_version()).await,
        Ok(Ok(_))
    )
}

/// Detached from our process group, so it survives Ctrl-C of `cargo test` too: waits for
/// this process to exit, then stops the private control plane and removes its state.
fn spawn_stop_watcher(state_dir: &Path) {
    let stop = repo_root().join("hack/stop-control-plane.sh");
    let script = r#"while kill -0 "$CIC_WATCH_PID" 2>/dev/null; do sleep 1; done
bash "$CIC_STOP_SCRIPT" && rm -rf "$CIC_STATE_DIR""#;
    let spawned = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("CIC_WATCH_PID", std::process::id().to_string())
        .env("CIC_STOP_SCRIPT", stop)
        .env("CIC_STATE_DIR", state_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    if let Err(e) = spawned {
        eprintln!(
            "[test-support] could not start the stop watcher ({e}); stop it yourself: CIC_STATE_DIR={} hack/stop-control-plane.sh",
            state_dir.display()
        );
    }
}

/// Root of the repository (the root crate's manifest dir).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A value from `hack/versions.env`, e.g. `KUBE_VERSION`.
pub fn pinned_version(key: &str) -> String {
    let path = repo_root().join("hack/versions.env");
    let text = std::fs::read_to_string(&path).expect("read hack/versions.env");
    text.lines()
        .filter_map(|l| l.trim().split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .unwrap_or_else(|| panic!("{key} not in {}", path.display()))
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CIC_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").expect("HOME");
    PathBuf::from(home).join(".cache/cloudinstance-controller")
}

/// The cached kubectl: `$CIC_KUBECTL`, else the path hack/build-control-plane.sh uses.
pub fn kubectl_path() -> PathBuf {
    std::env::var_os("CIC_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            cache_dir()
                .join(format!("kubernetes-{}", pinned_version("KUBE_VERSION")))
                .join("kubectl")
        })
}

/// The cached helm: `$CIC_HELM`, else the path hack/build-control-plane.sh uses.
pub fn helm_path() -> PathBuf {
    std::env::var_os("CIC_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            cache_dir()
                .join(format!("helm-{}", pinned_version("HELM_VERSION")))
                .join("helm")
        })
}

/// Run the cached kubectl against the test cluster; `stdin` is fed to it if given.
/// Returns the raw output whatever the exit status.
pub async fn kubectl_output(args: &[&str], stdin: Option<&str>) -> Output {
    let cluster = cluster().await;
    let mut cmd = tokio::process::Command::new(kubectl_path());
    cmd.args(args)
        .env("KUBECONFIG", cluster.kubeconfig_env())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", kubectl_path().display()));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("kubectl stdin");
        pipe.write_all(input.as_bytes())
            .await
            .expect("write kubectl stdin");
        drop(pipe);
    }
    child.wait_with_output().await.expect("wait for kubectl")
}

/// Run kubectl; panics with its stderr unless it succeeds. Returns stdout.
pub async fn kubectl(args: &[&str]) -> String {
    let out = kubectl_output(args, None).await;
    assert!(
        out.status.success(),
        "kubectl {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Server-side apply a (multi-document) YAML with kubectl, in `namespace` if given.
/// Panics unless it succeeds; returns kubectl's stdout.
pub async fn apply_yaml(namespace: Option<&str>, yaml: &str) -> String {
    let manager = format!("--field-manager={FIELD_MANAGER}");
    let mut args = vec![
        "apply",
        "--server-side",
        "--force-conflicts",
        manager.as_str(),
        "-f",
        "-",
    ];
    if let Some(ns) = namespace {
        args.extend(["--namespace", ns]);
    }
    let out = kubectl_output(&args, Some(yaml)).await;
    assert!(
        out.status.success(),
        "kubectl apply failed ({}): {}\n--- yaml ---\n{yaml}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A namespace with a unique name, created for one test.
///
/// There is no namespace controller: [`TestNamespace::delete`] only marks it
/// `Terminating` and its objects stay until the control plane is stopped. Nothing is done
/// on drop.
pub struct TestNamespace {
    name: String,
    client: Client,
}

impl TestNamespace {
    /// Creates `<prefix>-<random>` (prefix lower-cased and cut to keep a valid name).
    pub async fn new(client: &Client, prefix: &str) -> TestNamespace {
        let mut prefix: String = prefix
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        prefix.truncate(50);
        let prefix = prefix.trim_matches('-');
        let name = format!("{prefix}-{:08x}", rand::random::<u32>());
        let ns = Namespace {
            metadata: kube::api::ObjectMeta {
                name: Some(name.clone()),
                labels: Some([("cloudinstance.io/test".to_string(), "true".to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
        TestNamespace {
            name,
            client: client.clone(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Best-effort delete (see the type docs); errors are ignored.
    pub async fn delete(self) {
        let _ = Api::<Namespace>::all(self.client)
            .delete(&self.name, &DeleteParams::default())
            .await;
    }
}
