//! The Helm chart (`charts/cloudinstance-controller`):
//!
//! * it lints and renders with the default values and the namespace-scoped, HA and
//!   leader-election variants, the API server accepts every rendered object (server-side
//!   dry run), and the values schema rejects unknown keys and values the binary cannot take;
//! * `helm install` into the local API server works, and the controller, run locally with
//!   exactly the rendered Deployment's arguments and the chart ServiceAccount's identity (a
//!   TokenRequest token), drives a full lifecycle: the granted rights are sufficient;
//! * the ServiceAccount is denied everything else we can think of (Secret writes, Secrets
//!   and CloudInstances outside the watched namespace, deleting CloudInstances, Leases when
//!   leader election is off, other Leases when it is on): the rights are not excessive.
//!
//! The control plane is bare (no pods run), so the Deployment never starts; the test plays
//! its pod: same args, `POD_NAME`/`POD_NAMESPACE` as the downward API would set them, and a
//! kubeconfig holding a token of the chart's ServiceAccount.

#[path = "../support/mod.rs"]
mod support;

mod ci_values;
mod install;
mod render;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde::Deserialize;
use serde_json::{Value, json};

use cloudinstance_controller::api::{CloudCredential, CloudInstance};
use support::cluster::{TestNamespace, admin_client, cluster, helm_path, kubectl, repo_root};
use support::controller::{ControllerProcess, free_port, install_crds, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;

const T: Duration = Duration::from_secs(90);
const RELEASE: &str = "cic";
/// `<release>-<chart>`, see templates/_helpers.tpl.
const FULLNAME: &str = "cic-cloudinstance-controller";

fn chart_dir() -> PathBuf {
    repo_root().join("charts/cloudinstance-controller")
}

// ---- helm -------------------------------------------------------------------------------

/// Run the cached helm with a private HELM_*_HOME; `kubeconfig` for commands that talk to
/// the cluster. Returns the output whatever the exit status.
async fn helm_output(args: &[&str], kubeconfig: Option<&OsStr>) -> Output {
    let home = tempfile::tempdir().expect("helm home");
    let mut cmd = tokio::process::Command::new(helm_path());
    cmd.args(args)
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    match kubeconfig {
        Some(k) => cmd.env("KUBECONFIG", k),
        // Rendering must not depend on a cluster.
        None => cmd.env("KUBECONFIG", home.path().join("no-such-kubeconfig")),
    };
    cmd.output()
        .await
        .unwrap_or_else(|e| panic!("run {}: {e}", helm_path().display()))
}

fn check(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `--set` style arguments for a list of `key=value`s.
fn set_args(sets: &[&str]) -> Vec<String> {
    sets.iter()
        .flat_map(|s| ["--set".to_string(), s.to_string()])
        .collect()
}

async fn helm_lint(sets: &[&str]) -> Output {
    let chart = chart_dir();
    let mut args = vec!["lint".to_string(), "--strict".to_string()];
    args.push(chart.to_string_lossy().into_owned());
    args.extend(set_args(sets));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    helm_output(&args, None).await
}

async fn helm_template(namespace: &str, sets: &[&str]) -> Output {
    let chart = chart_dir();
    let mut args = vec![
        "template".to_string(),
        RELEASE.to_string(),
        chart.to_string_lossy().into_owned(),
        "--namespace".to_string(),
        namespace.to_string(),
    ];
    args.extend(set_args(sets));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    helm_output(&args, None).await
}

/// Lint and render with `sets`; returns the rendered manifest text and its objects.
async fn render(namespace: &str, sets: &[&str]) -> (String, Vec<Value>) {
    check(&helm_lint(sets).await, &format!("helm lint {sets:?}"));
    let text = check(
        &helm_template(namespace, sets).await,
        &format!("helm template {sets:?}"),
    );
    let mut objects = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc).expect("rendered YAML parses");
        if !v.is_null() {
            objects.push(v);
        }
    }
    (text, objects)
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = of_kind(objects, kind);
    assert_eq!(
        found.len(),
        1,
        "exactly one {kind} expected, got {found:#?}"
    );
    found[0]
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn container(deploy: &Value) -> &Value {
    &deploy["spec"]["template"]["spec"]["containers"][0]
}

fn args_of(deploy: &Value) -> Vec<String> {
    strings(&container(deploy)["args"])
}

/// Rules of a (Cluster)Role as (apiGroups, resources, verbs, resourceNames).
type Rule = (Vec<String>, Vec<String>, Vec<String>, Vec<String>);

fn rules(role: &Value) -> Vec<Rule> {
    role["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                strings(&r["apiGroups"]),
                strings(&r["resources"]),
                strings(&r["verbs"]),
                strings(&r["resourceNames"]),
            )
        })
        .collect()
}

/// The controller's rules for the watched resources: least privilege, status separate.
fn assert_controller_rules(role: &Value) {
    let rules = rules(role);
    for (groups, resources, verbs, _) in &rules {
        assert!(
            !groups.iter().any(|g| g == "*")
                && !resources.iter().any(|r| r == "*")
                && !verbs.iter().any(|v| v == "*"),
            "no wildcards: {rules:?}"
        );
        assert!(
            !resources.iter().any(|r| r == "leases"),
            "Lease rights belong in the release namespace's Role only: {rules:?}"
        );
        if resources.iter().any(|r| r == "secrets") {
            assert_eq!(groups, &[""], "{rules:?}");
            for v in verbs {
                assert!(
                    ["get", "list", "watch"].contains(&v.as_str()),
                    "Secrets are read-only, got verb {v}: {rules:?}"
                );
            }
        }
        if resources.iter().any(|r| r.ends_with("/status")) {
            assert!(
                resources.iter().all(|r| r.ends_with("/status")),
                "status subresources have their own rule: {rules:?}"
            );
        }
        if resources.iter().any(|r| r == "cloudinstances") {
            for v in ["create", "update", "delete", "deletecollection"] {
                assert!(
                    !verbs.iter().any(|x| x == v),
                    "the controller never {v}s CloudInstances: {rules:?}"
                );
            }
        }
    }
    let has = |resource: &str, verb: &str| {
        rules
            .iter()
            .any(|(_, r, v, _)| r.iter().any(|x| x == resource) && v.iter().any(|x| x == verb))
    };
    for (resource, verb) in [
        ("cloudinstances", "watch"),
        ("cloudinstances", "patch"),
        ("cloudcredentials", "list"),
        ("cloudcredentials", "patch"),
        ("cloudinstances/status", "patch"),
        ("cloudcredentials/status", "patch"),
        ("secrets", "get"),
        ("secrets", "watch"),
        ("events", "create"),
        ("events", "patch"),
    ] {
        assert!(has(resource, verb), "{verb} {resource} granted: {rules:?}");
    }
}

// ---- the ServiceAccount's identity ------------------------------------------------------

/// A kubeconfig for the test cluster whose user is a TokenRequest token of `ns/sa`.
struct SaKubeconfig {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SaKubeconfig {
    async fn new(ns: &str, sa: &str) -> SaKubeconfig {
        let token = kubectl(&["create", "token", sa, "-n", ns, "--duration=2h"]).await;
        let token = token.trim();
        assert!(!token.is_empty(), "kubectl create token returned nothing");
        let admin: Value = serde_json::from_str(
            &kubectl(&[
                "config",
                "view",
                "--raw",
                "--minify",
                "--flatten",
                "-o",
                "json",
            ])
            .await,
        )
        .expect("kubeconfig JSON");
        let cluster = &admin["clusters"][0]["cluster"];
        let config = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": {
                "server": cluster["server"],
                "certificate-authority-data": cluster["certificate-authority-data"],
            }}],
            "users": [{"name": sa, "user": {"token": token}}],
            "contexts": [{"name": "sa", "context": {"cluster": "local", "user": sa, "namespace": ns}}],
            "current-context": "sa",
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).expect("write kubeconfig");
        SaKubeconfig { path, _dir: dir }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    async fn client(&self) -> Client {
        let kc = Kubeconfig::read_from(&self.path).expect("read SA kubeconfig");
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("SA config");
        Client::try_from(config).expect("SA client")
    }
}

/// One access to ask the API server about.
#[derive(Clone, Debug)]
struct Access {
    verb: &'static str,
    group: &'static str,
    resource: &'static str,
    subresource: &'static str,
    namespace: String,
    name: &'static str,
}

fn access(verb: &'static str, resource: &'static str, namespace: &str) -> Access {
    let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
    let group = match resource {
        "cloudinstances" | "cloudcredentials" => "compute.cloudinstance.io",
        "leases" => "coordination.k8s.io",
        "events" => "events.k8s.io",
        _ => "",
    };
    Access {
        verb,
        group,
        resource,
        subresource,
        namespace: namespace.to_owned(),
        name: "",
    }
}

fn named(mut a: Access, name: &'static str) -> Access {
    a.name = name;
    a
}

/// Ask the API server (SubjectAccessReview, as admin) whether ServiceAccount `ns/sa` may
/// do each access; collect every answer that differs from the expectation.
async fn assert_access(client: &Client, ns: &str, sa: &str, expected: &[(bool, Access)]) {
    let reviews: Api<SubjectAccessReview> = Api::all(client.clone());
    let mut wrong = Vec::new();
    for (allowed, a) in expected {
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(format!("system:serviceaccount:{ns}:{sa}")),
                groups: Some(vec![
                    "system:serviceaccounts".into(),
                    format!("system:serviceaccounts:{ns}"),
                    "system:authenticated".into(),
                ]),
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(a.verb.into()),
                    group: Some(a.group.into()),
                    resource: Some(a.resource.into()),
                    subresource: (!a.subresource.is_empty()).then(|| a.subresource.into()),
                    namespace: (!a.namespace.is_empty()).then(|| a.namespace.clone()),
                    name: (!a.name.is_empty()).then(|| a.name.into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let r = reviews
            .create(&PostParams::default(), &review)
            .await
            .expect("SubjectAccessReview");
        let got = r.status.map(|s| s.allowed).unwrap_or(false);
        if got != *allowed {
            wrong.push(format!(
                "{} {}{}{} in {:?}{}: expected {}, got {}",
                a.verb,
                a.resource,
                if a.subresource.is_empty() { "" } else { "/" },
                a.subresource,
                a.namespace,
                if a.name.is_empty() {
                    String::new()
                } else {
                    format!(" (name {})", a.name)
                },
                if *allowed { "allowed" } else { "denied" },
                if got { "allowed" } else { "denied" },
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "RBAC of {ns}/{sa}:\n  {}",
        wrong.join("\n  ")
    );
}

/// A Kubernetes API 403 (Forbidden).
fn forbidden<T: std::fmt::Debug>(r: Result<T, kube::Error>, what: &str) {
    match r {
        Err(kube::Error::Api(e)) if e.code == 403 => {}
        other => panic!("{what}: expected 403 Forbidden, got {other:?}"),
    }
}

/// `helm install` the chart (CRDs skipped: they are cluster-scoped, shared by all tests
/// and installed by `install_crds`) with `values` into `ns`.
async fn helm_install(ns: &str, values: &Value) -> Deployment {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, serde_yaml::to_string(values).unwrap()).expect("write values");
    let chart = chart_dir();
    let out = helm_output(
        &[
            "install",
            RELEASE,
            chart.to_str().unwrap(),
            "--namespace",
            ns,
            "--skip-crds",
            "--values",
            file.to_str().unwrap(),
        ],
        Some(cluster().await.kubeconfig_env()),
    )
    .await;
    let stdout = check(&out, "helm install");
    assert!(stdout.contains("STATUS: deployed"), "{stdout}");
    let client = admin_client().await;
    let mut found = Api::<Deployment>::namespaced(client, ns)
        .list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={RELEASE}")))
        .await
        .expect("list Deployments")
        .items;
    assert_eq!(found.len(), 1, "the chart installs one Deployment");
    found.remove(0)
}

async fn helm_uninstall(ns: &str) {
    let out = helm_output(
        &["uninstall", RELEASE, "--namespace", ns],
        Some(cluster().await.kubeconfig_env()),
    )
    .await;
    check(&out, "helm uninstall");
}

/// What the Deployment's pod would run: (args, ServiceAccount name, metrics address).
fn pod_of(deploy: &Deployment) -> (Vec<String>, String, String) {
    let spec = deploy.spec.template.spec.as_ref().unwrap();
    let c = &spec.containers[0];
    let args = c.args.clone().unwrap_or_default();
    let metrics = args
        .iter()
        .find_map(|a| a.strip_prefix("--metrics-addr="))
        .expect("--metrics-addr in the Deployment's args")
        .to_owned();
    let sa = spec
        .service_account_name
        .clone()
        .expect("serviceAccountName");
    (args, sa, metrics)
}

/// The identity the token authenticates as.
async fn whoami(client: &Client) -> String {
    let review = Api::<SelfSubjectReview>::all(client.clone())
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .expect("SelfSubjectReview");
    review
        .status
        .and_then(|s| s.user_info)
        .and_then(|u| u.username)
        .unwrap_or_default()
}
