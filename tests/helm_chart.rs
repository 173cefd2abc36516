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

mod support;

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

// ---- (a) lint, render, schema -----------------------------------------------------------

#[tokio::test]
async fn chart_lints_renders_and_rejects_unknown_values() {
    // Default values: cluster-wide, leader election on, one replica.
    let (_, objs) = render("cic-system", &[]).await;
    let deploy = one(&objs, "Deployment");
    let pod = &deploy["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = container(deploy);
    let sc = &c["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"]);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    let env: Vec<(String, String)> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_owned(),
                e["valueFrom"]["fieldRef"]["fieldPath"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert!(
        env.contains(&("POD_NAME".into(), "metadata.name".into())),
        "{env:?}"
    );
    assert!(
        env.contains(&("POD_NAMESPACE".into(), "metadata.namespace".into())),
        "{env:?}"
    );
    let args = args_of(deploy);
    assert_eq!(args[0], "run", "{args:?}");
    assert!(args.iter().any(|a| a == "--leader-elect"), "{args:?}");
    // the Lease is named after the release (shards in one namespace do not collide)
    assert!(
        args.iter()
            .any(|a| a == &format!("--leader-election-name={FULLNAME}")),
        "{args:?}"
    );
    assert!(
        !args.iter().any(|a| a.starts_with("--namespace")),
        "{args:?}"
    );
    assert_eq!(deploy["spec"]["strategy"]["type"], "RollingUpdate");
    assert_controller_rules(one(&objs, "ClusterRole"));
    let crb = one(&objs, "ClusterRoleBinding");
    assert_eq!(crb["subjects"][0]["namespace"], "cic-system");
    let lease_role = one(&objs, "Role");
    assert_eq!(lease_role["metadata"]["namespace"], "cic-system");
    assert!(
        rules(lease_role)
            .iter()
            .all(|(g, r, _, _)| g == &["coordination.k8s.io"] && r == &["leases"]),
        "the release namespace's Role is about the Lease only"
    );
    assert_eq!(one(&objs, "Service")["spec"]["ports"][0]["name"], "metrics");
    for kind in ["PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"] {
        assert!(of_kind(&objs, kind).is_empty(), "no {kind} by default");
    }

    // Namespace-scoped, no leader election, sharded by label.
    let scoped = [
        "watchNamespaces={team-a}",
        "leaderElection.enabled=false",
        "labelSelector=shard=a",
    ];
    let (_, objs) = render("cic-system", &scoped).await;
    assert!(of_kind(&objs, "ClusterRole").is_empty());
    assert!(of_kind(&objs, "ClusterRoleBinding").is_empty());
    let role = one(&objs, "Role");
    assert_eq!(role["metadata"]["namespace"], "team-a");
    assert_controller_rules(role);
    let rb = one(&objs, "RoleBinding");
    assert_eq!(rb["metadata"]["namespace"], "team-a");
    assert_eq!(rb["subjects"][0]["namespace"], "cic-system");
    let deploy = one(&objs, "Deployment");
    let args = args_of(deploy);
    assert!(args.iter().any(|a| a == "--namespace=team-a"), "{args:?}");
    assert!(
        args.iter().any(|a| a == "--label-selector=shard=a"),
        "{args:?}"
    );
    assert!(!args.iter().any(|a| a.starts_with("--leader")), "{args:?}");
    assert_eq!(
        deploy["spec"]["strategy"]["type"], "Recreate",
        "without leader election two pods must never overlap"
    );

    // HA: replicas > 1 gets a PodDisruptionBudget; optional extras render.
    let ha = [
        "replicas=3",
        "networkPolicy.enabled=true",
        "serviceMonitor.enabled=true",
        "rbac.aggregateToDefaultRoles=true",
        "leaderElection.leaseDuration=20s",
    ];
    let (_, objs) = render("cic-system", &ha).await;
    assert_eq!(one(&objs, "Deployment")["spec"]["replicas"], 3);
    assert!(
        args_of(one(&objs, "Deployment")).contains(&"--leader-election-lease-duration=20s".into())
    );
    assert_eq!(one(&objs, "PodDisruptionBudget")["spec"]["minAvailable"], 1);
    one(&objs, "NetworkPolicy");
    one(&objs, "ServiceMonitor");
    let aggregated: Vec<_> = of_kind(&objs, "ClusterRole")
        .into_iter()
        .filter(|r| {
            r["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
        })
        .collect();
    assert_eq!(aggregated.len(), 2, "view and edit aggregation roles");
    let (_, objs) = render("cic-system", &["replicas=2", "pdb.maxUnavailable=1"]).await;
    assert_eq!(
        one(&objs, "PodDisruptionBudget")["spec"]["maxUnavailable"],
        1
    );
    let (_, objs) = render("cic-system", &["pdb.enabled=false", "replicas=2"]).await;
    assert!(of_kind(&objs, "PodDisruptionBudget").is_empty());

    // The schema rejects unknown keys at every level, and values the binary cannot take.
    for (sets, expect) in [
        (vec!["bogus=1"], "additional properties 'bogus' not allowed"),
        (
            vec!["leaderElection.bogus=true"],
            "additional properties 'bogus' not allowed",
        ),
        (
            vec!["image.bogus=x"],
            "additional properties 'bogus' not allowed",
        ),
        (
            vec!["pollIntervals.medium=5s"],
            "additional properties 'medium' not allowed",
        ),
        (
            vec!["networkPolicy.egress.bogus=1"],
            "additional properties 'bogus' not allowed",
        ),
        (
            vec!["resources.requests.cpu=lots"],
            "/resources/requests/cpu",
        ),
        (vec!["pollIntervals.fast=1.5s"], "/pollIntervals/fast"),
        (vec!["logFormat=xml"], "/logFormat"),
        (vec!["metrics.port=80"], "/metrics/port"),
        (
            vec!["watchNamespaces={Not_A_Namespace}"],
            "/watchNamespaces/0",
        ),
        // The binary watches one namespace or all of them.
        (vec!["watchNamespaces={a,b}"], "/watchNamespaces"),
        // Several replicas without leader election would all act.
        (
            vec!["replicas=2", "leaderElection.enabled=false"],
            "/leaderElection/enabled",
        ),
    ] {
        let out = helm_template("cic-system", &sets).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "helm template {sets:?} must fail");
        assert!(
            stderr.contains(expect),
            "helm template {sets:?}: want {expect:?} in:\n{stderr}"
        );
        let lint = helm_lint(&sets).await;
        assert!(!lint.status.success(), "helm lint {sets:?} must fail too");
    }

    // The API server accepts every rendered object (strict field validation, dry run).
    // ServiceMonitor is left out: its CRD (Prometheus Operator) is not installed here.
    let client = admin_client().await;
    let rel = TestNamespace::new(&client, "helm-dry").await;
    let watched = TestNamespace::new(&client, "helm-dry-watched").await;
    let scoped_ns = format!("watchNamespaces={{{}}}", watched.name());
    let variants: Vec<Vec<&str>> = vec![
        vec![],
        vec![scoped_ns.as_str(), "leaderElection.enabled=false"],
        vec![
            "replicas=2",
            "networkPolicy.enabled=true",
            "rbac.aggregateToDefaultRoles=true",
        ],
    ];
    for sets in variants {
        let text = check(
            &helm_template(rel.name(), &sets).await,
            &format!("helm template {sets:?}"),
        );
        let out = support::cluster::kubectl_output(
            &["apply", "--dry-run=server", "--validate=strict", "-f", "-"],
            Some(&text),
        )
        .await;
        check(&out, &format!("kubectl apply --dry-run=server of {sets:?}"));
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

// ---- (b) namespace-scoped install: lifecycle + denials ----------------------------------

#[tokio::test]
async fn namespace_scoped_install_is_sufficient_and_minimal() {
    let client = admin_client().await;
    install_crds(&client).await;
    let rel = TestNamespace::new(&client, "helm-rel").await;
    let apps = TestNamespace::new(&client, "helm-apps").await;
    let other = TestNamespace::new(&client, "helm-other").await;
    let (rel, apps, other) = (
        rel.name().to_owned(),
        apps.name().to_owned(),
        other.name().to_owned(),
    );

    let port = free_port();
    let deploy = helm_install(
        &rel,
        &json!({
            "watchNamespaces": [apps],
            "leaderElection": {"enabled": false},
            "pollIntervals": {"fast": "300ms", "slow": "5s"},
            "logFormat": "text",
            "logLevel": "info,cloudinstance_controller=debug",
            "metrics": {"port": port},
        }),
    )
    .await;
    let (args, sa, metrics_addr) = pod_of(&deploy);
    assert!(args.contains(&format!("--namespace={apps}")), "{args:?}");

    let kubeconfig = SaKubeconfig::new(&rel, &sa).await;
    let sa_client = kubeconfig.client().await;
    assert_eq!(
        whoami(&sa_client).await,
        format!("system:serviceaccount:{rel}:{sa}")
    );

    // Play the pod: the rendered args, the downward-API env, the ServiceAccount's token.
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let pod_name = format!("{FULLNAME}-7d9f8c6b5-x2x4z");
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    let controller = ControllerProcess::start_with_kubeconfig(
        kubeconfig.path(),
        &args_ref,
        &[
            ("POD_NAME", pod_name.as_str()),
            ("POD_NAMESPACE", rel.as_str()),
        ],
        &metrics_addr,
    )
    .await;

    // Credential: verified (Secret get), re-verified when its Secret changes (Secret watch).
    let cloud = TENCENT;
    apply_credential(&client, &apps, "cred", &cloud, emu.url(), cloud.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &apps, "cred").await)
    })
    .await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &apps);
    let rotated = secrets
        .patch(
            "cred-keys",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"rotated": "yes"}}})),
        )
        .await
        .expect("touch the Secret");
    let version = rotated.metadata.resource_version.clone().unwrap();
    wait_until(
        T,
        "credential re-verified after its Secret changed",
        || async {
            credential_status(&client, &apps, "cred").await["secretVersion"] == version.as_str()
        },
    )
    .await;

    // Instance: created (finalizer patch, status apply, events), stopped, deleted.
    apply_instance(&client, &apps, &instance("web", "cred", &cloud, json!({}))).await;
    let status = wait_for(T, "instance Ready and Running", || async {
        let s = instance_status(&client, &apps, "web").await;
        (is_ready(&s) && s["state"] == "Running").then_some(s)
    })
    .await;
    let id = status["instanceId"]
        .as_str()
        .expect("instanceId")
        .to_owned();
    patch_spec(&client, &apps, "web", json!({"powerState": "Stopped"})).await;
    wait_until(T, "instance Stopped and Ready", || async {
        let s = instance_status(&client, &apps, "web").await;
        s["state"] == "Stopped" && is_ready(&s)
    })
    .await;
    assert_eq!(
        ctl.instance(&id).await.expect("in the cloud")["state"],
        "stopped"
    );
    let reasons: Vec<String> = Api::<Event>::namespaced(client.clone(), &apps)
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some("web"))
        .filter_map(|e| e.reason)
        .collect();
    for r in ["Created", "Stopping"] {
        assert!(
            reasons.iter().any(|x| x == r),
            "event {r} recorded: {reasons:?}"
        );
    }

    // What the ServiceAccount must not do, tried for real with its token.
    let sa_secrets: Api<Secret> = Api::namespaced(sa_client.clone(), &apps);
    sa_secrets
        .get("cred-keys")
        .await
        .expect("the SA reads Secrets it needs");
    let new_secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "planted"}, "stringData": {"k": "v"}
    }))
    .unwrap();
    forbidden(
        sa_secrets.create(&PostParams::default(), &new_secret).await,
        "create Secret",
    );
    forbidden(
        sa_secrets
            .patch(
                "cred-keys",
                &PatchParams::default(),
                &Patch::Merge(json!({"stringData": {"secretAccessKey": "x"}})),
            )
            .await,
        "patch Secret",
    );
    forbidden(
        sa_secrets
            .delete("cred-keys", &DeleteParams::default())
            .await,
        "delete Secret",
    );
    for ns in [&other, &rel] {
        forbidden(
            Api::<Secret>::namespaced(sa_client.clone(), ns)
                .list(&ListParams::default())
                .await,
            &format!("list Secrets in {ns}"),
        );
        forbidden(
            Api::<CloudInstance>::namespaced(sa_client.clone(), ns)
                .list(&ListParams::default())
                .await,
            &format!("list CloudInstances in {ns}"),
        );
    }
    forbidden(
        Api::<CloudInstance>::all(sa_client.clone())
            .list(&ListParams::default())
            .await,
        "list CloudInstances cluster-wide",
    );
    forbidden(
        Api::<CloudInstance>::namespaced(sa_client.clone(), &apps)
            .delete("web", &DeleteParams::default())
            .await,
        "delete CloudInstance",
    );
    forbidden(
        Api::<CloudCredential>::namespaced(sa_client.clone(), &apps)
            .delete("cred", &DeleteParams::default())
            .await,
        "delete CloudCredential",
    );
    forbidden(
        Api::<Lease>::namespaced(sa_client.clone(), &rel)
            .get(FULLNAME)
            .await,
        "get Lease (leader election off)",
    );

    // The full matrix, asked of the authorizer.
    let mut expected = vec![
        (true, access("list", "cloudinstances", &apps)),
        (true, access("watch", "cloudcredentials", &apps)),
        (true, access("patch", "cloudinstances", &apps)),
        (true, access("patch", "cloudinstances/status", &apps)),
        (true, access("patch", "cloudcredentials/status", &apps)),
        (true, access("get", "secrets", &apps)),
        (true, access("watch", "secrets", &apps)),
        (true, access("create", "events", &apps)),
        (true, access("patch", "events", &apps)),
        (false, access("list", "cloudinstances", "")),
        (false, access("list", "secrets", "")),
    ];
    for verb in ["create", "update", "patch", "delete", "deletecollection"] {
        expected.push((false, access(verb, "secrets", &apps)));
    }
    for verb in ["create", "update", "delete", "deletecollection"] {
        expected.push((false, access(verb, "cloudinstances", &apps)));
        expected.push((false, access(verb, "cloudcredentials", &apps)));
    }
    expected.push((false, access("update", "cloudinstances/status", &apps)));
    for ns in [&rel, &other] {
        expected.push((false, access("get", "secrets", ns)));
        expected.push((false, access("watch", "cloudinstances", ns)));
        expected.push((false, access("patch", "cloudinstances/status", ns)));
        expected.push((false, access("create", "events", ns)));
    }
    for ns in [&rel, &apps] {
        for verb in ["get", "create", "update"] {
            expected.push((false, access(verb, "leases", ns)));
        }
    }
    assert_access(&client, &rel, &sa, &expected).await;

    // Delete: terminated in the cloud, finalizer removed by the controller, object gone.
    Api::<CloudInstance>::namespaced(client.clone(), &apps)
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete instance");
    wait_until(T, "instance object gone", || async {
        Api::<CloudInstance>::namespaced(client.clone(), &apps)
            .get_opt("web")
            .await
            .expect("get instance")
            .is_none()
    })
    .await;
    let gone = ctl.instance(&id).await;
    assert!(
        gone.as_ref()
            .is_none_or(|i| ["terminated", "terminating", "gone"]
                .contains(&i["state"].as_str().unwrap_or(""))),
        "cloud instance terminated: {gone:?}"
    );

    let logs = controller.logs();
    assert!(
        !logs.to_lowercase().contains("forbidden"),
        "the controller hit a permission error:\n{logs}"
    );
    assert!(
        !logs.contains(cloud.secret),
        "secret key leaked into the logs"
    );
    drop(controller);
    helm_uninstall(&rel).await;
}

// ---- (c) leader election: its Lease, in its namespace, nothing more ---------------------

#[tokio::test]
async fn leader_election_install_uses_only_its_lease() {
    let client = admin_client().await;
    install_crds(&client).await;
    let rel = TestNamespace::new(&client, "helm-le").await;
    let other = TestNamespace::new(&client, "helm-le-other").await;
    let (rel, other) = (rel.name().to_owned(), other.name().to_owned());
    let port = free_port();
    // Watch the release namespace itself: the controller's Role and the Lease Role side by side.
    let deploy = helm_install(
        &rel,
        &json!({
            "watchNamespaces": [rel],
            "leaderElection": {"enabled": true, "leaseDuration": "4s"},
            "logFormat": "json",
            "metrics": {"port": port},
        }),
    )
    .await;
    let (args, sa, metrics_addr) = pod_of(&deploy);
    assert!(args.iter().any(|a| a == "--leader-elect"), "{args:?}");

    let kubeconfig = SaKubeconfig::new(&rel, &sa).await;
    let pod_name = format!("{FULLNAME}-5c4b7d9f8-abcde");
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    let controller = ControllerProcess::start_with_kubeconfig(
        kubeconfig.path(),
        &args_ref,
        &[
            ("POD_NAME", pod_name.as_str()),
            ("POD_NAMESPACE", rel.as_str()),
        ],
        &metrics_addr,
    )
    .await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &rel);
    wait_until(T, "the controller holds its Lease", || async {
        leases
            .get_opt(FULLNAME)
            .await
            .ok()
            .flatten()
            .is_some_and(|l| {
                l.spec.and_then(|s| s.holder_identity).as_deref() == Some(pod_name.as_str())
            })
    })
    .await;
    let logs = controller.logs();
    assert!(
        !logs.to_lowercase().contains("forbidden"),
        "the controller hit a permission error:\n{logs}"
    );
    drop(controller);

    assert_access(
        &client,
        &rel,
        &sa,
        &[
            (true, access("create", "leases", &rel)),
            (true, named(access("get", "leases", &rel), FULLNAME)),
            (true, named(access("update", "leases", &rel), FULLNAME)),
            (
                false,
                named(access("update", "leases", &rel), "someone-elses-lease"),
            ),
            (
                false,
                named(access("get", "leases", &rel), "someone-elses-lease"),
            ),
            (false, access("list", "leases", &rel)),
            (false, named(access("delete", "leases", &rel), FULLNAME)),
            (false, access("create", "leases", &other)),
            (false, named(access("update", "leases", &other), FULLNAME)),
            (false, access("create", "leases", "")),
            (true, access("watch", "cloudinstances", &rel)),
            (false, access("watch", "cloudinstances", &other)),
            (false, access("create", "secrets", &rel)),
        ],
    )
    .await;
    helm_uninstall(&rel).await;
}

// ---- (d) cluster-wide install (default values) ------------------------------------------

#[tokio::test]
async fn cluster_wide_install_grants_cluster_reads_but_no_writes() {
    let client = admin_client().await;
    install_crds(&client).await;
    let rel = TestNamespace::new(&client, "helm-all").await;
    let somewhere = TestNamespace::new(&client, "helm-all-any").await;
    let (rel, somewhere) = (rel.name().to_owned(), somewhere.name().to_owned());
    // Cluster-scoped names include the release name; make it unique to this test.
    let deploy = helm_install(&rel, &json!({"fullnameOverride": format!("cic-{rel}")})).await;
    let (args, sa, _) = pod_of(&deploy);
    assert!(
        !args.iter().any(|a| a.starts_with("--namespace")),
        "{args:?}"
    );
    let name = format!("cic-{rel}");
    Api::<ClusterRole>::all(client.clone())
        .get(&name)
        .await
        .expect("ClusterRole");
    Api::<ClusterRoleBinding>::all(client.clone())
        .get(&name)
        .await
        .expect("ClusterRoleBinding");

    let mut expected = vec![
        (true, access("list", "cloudinstances", "")),
        (true, access("watch", "cloudcredentials", "")),
        (true, access("list", "secrets", "")),
        (true, access("patch", "cloudinstances/status", &somewhere)),
        (true, access("patch", "cloudinstances", &somewhere)),
        (true, access("get", "secrets", &somewhere)),
        (true, access("create", "events", &somewhere)),
        (true, access("create", "leases", &rel)),
        (
            true,
            named(
                access("update", "leases", &rel),
                Box::leak(name.clone().into_boxed_str()),
            ),
        ),
        (false, access("create", "leases", &somewhere)),
        (
            false,
            named(access("update", "leases", &rel), "someone-elses-lease"),
        ),
    ];
    for verb in ["create", "update", "patch", "delete", "deletecollection"] {
        expected.push((false, access(verb, "secrets", &somewhere)));
        expected.push((false, access(verb, "secrets", "")));
    }
    for verb in ["create", "update", "delete", "deletecollection"] {
        expected.push((false, access(verb, "cloudinstances", &somewhere)));
    }
    for resource in ["pods", "configmaps", "serviceaccounts", "namespaces"] {
        expected.push((false, access("list", resource, "")));
    }
    assert_access(&client, &rel, &sa, &expected).await;

    helm_uninstall(&rel).await;
    assert!(
        Api::<ClusterRole>::all(client.clone())
            .get_opt(&name)
            .await
            .expect("get ClusterRole")
            .is_none(),
        "helm uninstall removes the ClusterRole"
    );
}

// ---- (d) chart-testing: every ci/*.yaml lints, renders and installs --------------------

#[tokio::test]
async fn ci_values_files_lint_render_and_install() {
    let client = admin_client().await;
    install_crds(&client).await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(chart_dir().join("ci"))
        .expect("charts/cloudinstance-controller/ci")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "ci values files: {files:?}");
    // namespaced-values.yaml watches this namespace; it must exist before the install
    let _ =
        support::cluster::kubectl_output(&["create", "namespace", "cic-ci-watched"], None).await;
    let kubeconfig = cluster().await.kubeconfig_env();
    for file in &files {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let release = format!("ci-{}", stem.trim_end_matches("-values"));
        let values = file.to_str().unwrap();
        let chart = chart_dir();
        let chart = chart.to_str().unwrap();
        check(
            &helm_output(&["lint", "--strict", chart, "--values", values], None).await,
            &format!("helm lint {stem}"),
        );
        let rendered = check(
            &helm_output(
                &[
                    "template",
                    &release,
                    chart,
                    "--namespace",
                    "ci",
                    "--values",
                    values,
                ],
                None,
            )
            .await,
            &format!("helm template {stem}"),
        );
        assert!(rendered.contains("kind: Deployment"), "{stem}");
        let ns = TestNamespace::new(&client, "helm-ci").await;
        let out = helm_output(
            &[
                "install",
                &release,
                chart,
                "--namespace",
                ns.name(),
                "--skip-crds",
                "--values",
                values,
            ],
            Some(kubeconfig),
        )
        .await;
        let stdout = check(&out, &format!("helm install {stem}"));
        assert!(stdout.contains("STATUS: deployed"), "{stem}: {stdout}");
        // NOTES name the Lease the Deployment really uses
        let deploy = Api::<Deployment>::namespaced(client.clone(), ns.name())
            .list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={release}")))
            .await
            .expect("list Deployments")
            .items
            .remove(0);
        let (args, _, _) = pod_of(&deploy);
        if let Some(lease) = args
            .iter()
            .find_map(|a| a.strip_prefix("--leader-election-name="))
        {
            assert!(
                stdout.contains(&format!("Lease \"{lease}\"")),
                "{stem}: NOTES name another Lease than {lease}:\n{stdout}"
            );
        }
        check(
            &helm_output(
                &["uninstall", &release, "--namespace", ns.name()],
                Some(kubeconfig),
            )
            .await,
            &format!("helm uninstall {stem}"),
        );
    }

    // The Artifact Hub CRD examples are valid objects.
    let chart_yaml: Value =
        serde_yaml::from_str(&std::fs::read_to_string(chart_dir().join("Chart.yaml")).unwrap())
            .unwrap();
    let examples: Vec<Value> = serde_yaml::from_str(
        chart_yaml["annotations"]["artifacthub.io/crdsExamples"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let ns = TestNamespace::new(&client, "helm-ci-examples").await;
    for e in examples {
        let out = support::cluster::kubectl_output(
            &["apply", "--dry-run=server", "-n", ns.name(), "-f", "-"],
            Some(&serde_json::to_string(&e).unwrap()),
        )
        .await;
        assert!(
            out.status.success(),
            "artifacthub.io/crdsExamples {}: {}",
            e["kind"],
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
