//! Chart-testing: every ci/*.yaml lints, renders and installs.

use super::*;

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
