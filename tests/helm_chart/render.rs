//! (a) The chart lints and renders; the API server accepts what it renders; the values
//! schema rejects what the binary cannot take.

use super::*;

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
