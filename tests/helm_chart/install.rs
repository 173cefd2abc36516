//! (b)-(d) `helm install`: namespace-scoped, leader election and cluster-wide, each with
//! the rights it needs and nothing more.

use super::*;

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
