//! What ships besides the binary agrees with itself: `deploy/install.yaml` is exactly the
//! chart rendered by hack/gen-install.sh (and the API server accepts it), the chart's
//! Artifact Hub metadata matches the chart and Cargo.toml, the root LICENSE is the one
//! Cargo.toml declares, and the image carries the OCI labels.

mod support;

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use support::cluster::{helm_path, kubectl, kubectl_output, repo_root};

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn yaml_docs(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("YAML parses"))
        .filter(|v| !v.is_null())
        .collect()
}

fn cargo_field(key: &str) -> String {
    let manifest = read("Cargo.toml");
    manifest
        .lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .unwrap_or_else(|| panic!("{key} in Cargo.toml"))
}

fn chart() -> Value {
    serde_yaml::from_str(&read("charts/cloudinstance-controller/Chart.yaml")).unwrap()
}

#[test]
fn install_yaml_is_the_rendered_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("install.yaml");
    let status = std::process::Command::new(repo_root().join("hack/gen-install.sh"))
        .env("CIC_INSTALL_OUT", &out)
        .env("CIC_HELM", helm_path())
        .status()
        .expect("run hack/gen-install.sh");
    assert!(status.success(), "hack/gen-install.sh failed");
    let fresh = std::fs::read_to_string(&out).unwrap();
    assert!(
        fresh == read("deploy/install.yaml"),
        "deploy/install.yaml is out of date with the chart: run hack/gen-install.sh and commit it"
    );

    let objects = yaml_docs(&fresh);
    assert_eq!(objects[0]["kind"], "Namespace");
    assert_eq!(objects[0]["metadata"]["name"], "cloudinstance-system");
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    for k in [
        "CustomResourceDefinition",
        "ServiceAccount",
        "Deployment",
        "ClusterRole",
    ] {
        assert!(kinds.contains(&k), "no {k} in {kinds:?}");
    }
    // the CRDs are the generated ones
    let crds: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .collect();
    let generated = yaml_docs(&read("crds/crds.yaml"));
    assert_eq!(crds.len(), generated.len());
    for (a, b) in crds.iter().zip(&generated) {
        assert_eq!(*a, b, "install.yaml's CRDs are crds/crds.yaml");
    }
    for o in &objects {
        let namespaced = !matches!(
            o["kind"].as_str(),
            Some("Namespace" | "CustomResourceDefinition" | "ClusterRole" | "ClusterRoleBinding")
        );
        if namespaced {
            assert_eq!(o["metadata"]["namespace"], "cloudinstance-system", "{o}");
        }
    }
}

#[tokio::test]
async fn install_yaml_is_accepted_by_the_api_server() {
    // The Namespace for real (harmless), everything else as a server-side dry run.
    let text = read("deploy/install.yaml");
    let ns = yaml_docs(&text).remove(0);
    kubectl_output(
        &["apply", "--server-side", "-f", "-"],
        Some(&serde_json::to_string(&ns).unwrap()),
    )
    .await;
    let out = kubectl_output(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--dry-run=server",
            "--field-manager=cic-tests-install-yaml",
            "-f",
            "-",
        ],
        Some(&text),
    )
    .await;
    assert!(
        out.status.success(),
        "kubectl apply --dry-run=server -f deploy/install.yaml: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("deployment.apps/cloudinstance-controller"),
        "{stdout}"
    );
    kubectl(&["get", "namespace", "cloudinstance-system"]).await;
}

#[test]
fn chart_metadata_follows_the_conventions() {
    let c = chart();
    let home = c["home"].as_str().expect("Chart.yaml home");
    assert!(home.starts_with("https://"), "{home}");
    assert_eq!(c["sources"][0], home, "sources[0] is the repository");
    let icon = c["icon"].as_str().expect("Chart.yaml icon");
    assert!(
        icon.starts_with(home) && icon.ends_with("/icon.svg"),
        "{icon}"
    );
    assert!(
        repo_root()
            .join("charts/cloudinstance-controller/icon.svg")
            .exists(),
        "the icon the URL points at is in the repository"
    );
    let m = &c["maintainers"][0];
    assert!(m["name"].is_string() && m["url"] == home, "{m}");

    let a = &c["annotations"];
    assert_eq!(a["artifacthub.io/license"], cargo_field("license").as_str());
    // images: the image the default values run
    let images: Value = serde_yaml::from_str(a["artifacthub.io/images"].as_str().unwrap()).unwrap();
    let values: Value =
        serde_yaml::from_str(&read("charts/cloudinstance-controller/values.yaml")).unwrap();
    assert_eq!(
        images[0]["image"],
        format!(
            "{}:{}",
            values["image"]["repository"].as_str().unwrap(),
            c["appVersion"].as_str().unwrap()
        )
    );
    assert_eq!(c["appVersion"], cargo_field("version").as_str());
    // CRDs and their examples name the real kinds
    let crds: Value = serde_yaml::from_str(a["artifacthub.io/crds"].as_str().unwrap()).unwrap();
    let examples: Value =
        serde_yaml::from_str(a["artifacthub.io/crdsExamples"].as_str().unwrap()).unwrap();
    for kind in ["CloudCredential", "CloudInstance"] {
        assert!(
            crds.as_array().unwrap().iter().any(|c| c["kind"] == kind),
            "artifacthub.io/crds lacks {kind}"
        );
        assert!(
            examples.as_array().unwrap().iter().any(
                |e| e["kind"] == kind && e["apiVersion"] == "compute.cloudinstance.io/v1alpha1"
            ),
            "artifacthub.io/crdsExamples lacks {kind}"
        );
    }
    let links: Value = serde_yaml::from_str(a["artifacthub.io/links"].as_str().unwrap()).unwrap();
    for l in links.as_array().unwrap() {
        let url = l["url"].as_str().unwrap();
        let path = url
            .strip_prefix(&format!("{home}/blob/main/"))
            .unwrap_or_else(|| panic!("{url} is not a file of {home}"));
        assert!(repo_root().join(path).exists(), "{url}: no {path}");
    }
}

#[test]
fn license_and_image_labels_match_cargo_toml() {
    assert_eq!(cargo_field("license"), "Apache-2.0");
    let license = read("LICENSE");
    assert!(
        license.contains("Apache License") && license.contains("Version 2.0, January 2004"),
        "LICENSE is the Apache License 2.0"
    );
    assert!(
        license.contains("END OF TERMS AND CONDITIONS"),
        "the full text"
    );

    let dockerfile = read("Dockerfile");
    let home = chart()["home"].as_str().unwrap().to_owned();
    for (label, value) in [
        ("licenses", "\"Apache-2.0\"".to_owned()),
        ("title", "\"cloudinstance-controller\"".to_owned()),
        ("source", format!("\"{home}\"")),
        ("version", "\"${VERSION}\"".to_owned()),
        ("revision", "\"${REVISION}\"".to_owned()),
        ("created", "\"${CREATED}\"".to_owned()),
    ] {
        let l = format!("org.opencontainers.image.{label}={value}");
        assert!(dockerfile.contains(&l), "Dockerfile lacks {l}");
    }
    let version = format!("ARG VERSION={}", cargo_field("version"));
    assert!(dockerfile.contains(&version), "Dockerfile lacks {version}");
    assert!(Path::new(&repo_root().join(".dockerignore")).exists());
}
