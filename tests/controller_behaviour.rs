//! Controller behaviour under crashes, scale, bad credentials and out-of-band changes:
//! real kube-apiserver + controller binary + cloud emulator.

mod support;

use std::time::Duration;

use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use cloudinstance_controller::api::CloudInstance;
use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;
use support::scenario::create_with_answer_held_back;

const T: Duration = Duration::from_secs(90);

/// Kill the controller after RunInstances has reached the cloud but before the answer
/// (and so before status.instanceId is written); restart; exactly one instance results.
#[tokio::test]
async fn crash_between_create_and_status_write_leaves_exactly_one_instance() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "crash").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let (mut first, uid) =
        create_with_answer_held_back(&client, &ns, emu.url(), Duration::from_secs(20)).await;
    first.kill().await;

    let _second = ControllerProcess::start(&ns, &[]).await;
    let status = wait_for(T, "instance Ready after restart", || async {
        let s = instance_status(&client, &ns, "vm").await;
        is_ready(&s).then_some(s)
    })
    .await;
    let owned = ctl.owned_by(&uid).await;
    assert_eq!(owned.len(), 1, "exactly one instance: {owned:?}");
    assert_eq!(status["instanceId"], owned[0]["id"]);
    // and it stays one
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(ctl.owned_by(&uid).await.len(), 1);
}

/// 250 instances on one credential+region: each poll round costs ceil(250/100) = 3
/// DescribeInstancesStatus calls, not 250.
#[tokio::test]
async fn status_polling_is_batched() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "batch").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300", "--no-rate-limit"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let controller =
        ControllerProcess::start(&ns, &["--poll-slow", "1s", "--concurrency", "32"]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;
    let api = Api::<CloudInstance>::namespaced(client.clone(), &ns);
    let n = 250;
    for i in 0..n {
        let obj: CloudInstance =
            serde_json::from_value(instance(&format!("vm-{i:03}"), "cred", &cloud, json!({})))
                .unwrap();
        api.create(&PostParams::default(), &obj).await.unwrap();
    }
    wait_until(Duration::from_secs(300), "all 250 Ready", || async {
        let list = api.list(&Default::default()).await.unwrap();
        list.items
            .iter()
            .filter(|o| {
                o.status.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
                })
            })
            .count()
            == n
    })
    .await;
    assert_eq!(
        ctl.instances().await.len(),
        n,
        "one cloud instance per object"
    );

    // steady state: measure calls over several poll rounds
    let rounds0 = controller
        .metric_sum("cloudinstance_poll_rounds_total", &[])
        .await;
    let calls0 = ctl.call_count("tencent", "DescribeInstancesStatus").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let rounds = controller
        .metric_sum("cloudinstance_poll_rounds_total", &[])
        .await
        - rounds0;
    let calls = ctl.call_count("tencent", "DescribeInstancesStatus").await - calls0;
    assert!(rounds >= 3.0, "poll rounds happened: {rounds}");
    let per_round = calls as f64 / rounds;
    eprintln!(
        "steady state: {calls} DescribeInstancesStatus calls in {rounds} rounds = {per_round:.2} per round for {n} instances"
    );
    assert!(
        per_round <= 3.0 + 1e-9,
        "more than ceil(250/100) = 3 status calls per poll round: {per_round}"
    );
    // status is written only on change: nothing changes in steady state
    let writes0 = controller
        .metric_sum(
            "cloudinstance_status_writes_total",
            &[("kind", "CloudInstance")],
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let writes = controller
        .metric_sum(
            "cloudinstance_status_writes_total",
            &[("kind", "CloudInstance")],
        )
        .await
        - writes0;
    assert_eq!(writes, 0.0, "no status writes in steady state");
}

/// A wrong key makes the credential Ready=False with the provider's reason, instances
/// show it, and fixing the Secret recovers without restarting the controller.
#[tokio::test]
async fn wrong_key_is_reported_and_fixing_the_secret_recovers() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "badkey").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let controller = ControllerProcess::start(&ns, &[]).await;
    let wrong = "this-is-the-wrong-secret-value-123";
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), wrong).await;
    apply_instance(&client, &ns, &instance("vm", "cred", &cloud, json!({}))).await;
    let cred = wait_for(T, "credential Ready=False", || async {
        let s = credential_status(&client, &ns, "cred").await;
        condition(&s, "Ready")
            .filter(|c| c["status"] == "False")
            .cloned()
    })
    .await;
    assert_eq!(cred["reason"], "AuthFailure.SignatureFailure", "{cred}");
    let inst = wait_for(T, "instance shows the credential problem", || async {
        let s = instance_status(&client, &ns, "vm").await;
        // first "not verified yet", then the provider's verdict
        condition(&s, "Synced")
            .filter(|c| {
                c["reason"] == "CredentialNotReady"
                    && c["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("AuthFailure.SignatureFailure"))
            })
            .cloned()
    })
    .await;
    assert_eq!(inst["status"], "False", "{inst}");
    assert!(
        ctl.instances().await.is_empty(),
        "nothing created with bad keys"
    );
    // no retry storm: terminal auth errors are not retried in a loop
    let calls0 = ctl.call_count("tencent", "DescribeRegions").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let calls = ctl.call_count("tencent", "DescribeRegions").await - calls0;
    assert!(
        calls <= 1,
        "credential re-verified {calls} times in 5 s with a bad key"
    );

    // fix the Secret
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), &ns);
    secrets
        .patch(
            "cred-keys",
            &PatchParams::apply("cic-tests").force(),
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "cred-keys", "labels": {CREDENTIAL_LABEL: "true"}},
                "stringData": {"accessKeyId": cloud.key_id, "secretAccessKey": cloud.secret},
            })),
        )
        .await
        .unwrap();
    wait_until(T, "instance Ready after the fix", || async {
        is_ready(&instance_status(&client, &ns, "vm").await)
    })
    .await;
    let all = format!(
        "{}{}{}",
        controller.logs(),
        credential_status(&client, &ns, "cred").await,
        instance_status(&client, &ns, "vm").await
    );
    assert!(!all.contains(wrong), "secret value leaked");
    assert!(!all.contains(cloud.secret), "secret value leaked");
}

/// An instance deleted in the console is reported; with recreatePolicy OnCloudDeletion a
/// replacement is created.
#[tokio::test]
async fn out_of_band_deletion_is_reported_or_replaced() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "oob").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    apply_instance(&client, &ns, &instance("report", "cred", &cloud, json!({}))).await;
    apply_instance(
        &client,
        &ns,
        &instance(
            "replace",
            "cred",
            &cloud,
            json!({"recreatePolicy": "OnCloudDeletion"}),
        ),
    )
    .await;
    let mut ids = Vec::new();
    for name in ["report", "replace"] {
        let s = wait_for(T, "Ready", || async {
            let s = instance_status(&client, &ns, name).await;
            is_ready(&s).then_some(s)
        })
        .await;
        ids.push(s["instanceId"].as_str().unwrap().to_string());
    }
    for id in &ids {
        ctl.delete_instance(id).await;
    }
    let c = wait_for(T, "InstanceNotFound reported", || async {
        let s = instance_status(&client, &ns, "report").await;
        condition(&s, "Ready")
            .filter(|c| c["reason"] == "InstanceNotFound")
            .cloned()
    })
    .await;
    assert!(c["message"].as_str().unwrap().contains(&ids[0]), "{c}");
    let s = wait_for(T, "replacement Ready", || async {
        let s = instance_status(&client, &ns, "replace").await;
        (is_ready(&s) && s["instanceId"] != ids[1].as_str()).then_some(s)
    })
    .await;
    assert_eq!(s["incarnation"], 1);
    // the reported one was not silently re-created
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report_uid = Api::<CloudInstance>::namespaced(client.clone(), &ns)
        .get("report")
        .await
        .unwrap()
        .uid()
        .unwrap();
    assert!(ctl.owned_by(&report_uid).await.is_empty());
}

/// A spec the cloud rejects gives Synced=False with the cloud's code and message, and
/// the controller then waits for a change instead of retrying in a loop.
#[tokio::test]
async fn terminal_errors_are_reported_without_a_retry_loop() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "terminal").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let mut controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    apply_instance(
        &client,
        &ns,
        &instance(
            "bad",
            "cred",
            &cloud,
            json!({"imageId": "img-doesnotexist"}),
        ),
    )
    .await;
    let synced = wait_for(T, "Synced=False with the provider's code", || async {
        let s = instance_status(&client, &ns, "bad").await;
        condition(&s, "Synced")
            .filter(|c| c["status"] == "False" && c["reason"] != "CredentialNotReady")
            .cloned()
    })
    .await;
    assert!(
        synced["reason"]
            .as_str()
            .unwrap()
            .starts_with("InvalidImageId"),
        "{synced}"
    );
    assert!(
        synced["message"]
            .as_str()
            .unwrap()
            .contains("img-doesnotexist"),
        "{synced}"
    );
    // A refused create is sent exactly once: the refusal is recorded in status (Ready
    // reason CreateRefused for this generation), so neither the controller's own status
    // write nor a restart sends it again.
    let ready = condition(&instance_status(&client, &ns, "bad").await, "Ready").cloned();
    assert_eq!(
        ready.as_ref().map(|r| r["reason"].clone()),
        Some(json!("CreateRefused")),
        "{ready:?}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        ctl.call_count("tencent", "RunInstances").await,
        1,
        "attempts of a refused create"
    );
    let writes0 = controller
        .metric_sum(
            "cloudinstance_status_writes_total",
            &[("kind", "CloudInstance")],
        )
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let writes = controller
        .metric_sum(
            "cloudinstance_status_writes_total",
            &[("kind", "CloudInstance")],
        )
        .await
        - writes0;
    assert_eq!(writes, 0.0, "no status churn while waiting");
    // across a restart of the controller: still one attempt
    let _controller = controller.crash_and_restart(&ns).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        ctl.call_count("tencent", "RunInstances").await,
        1,
        "a restart re-sent a refused create"
    );
    // fixing the spec recovers
    patch_spec(&client, &ns, "bad", json!({"imageId": cloud.image})).await;
    wait_until(T, "Ready after fixing the image", || async {
        is_ready(&instance_status(&client, &ns, "bad").await)
    })
    .await;
}

/// A credential still used by instances is not deleted out from under them.
#[tokio::test]
async fn credential_deletion_waits_for_its_instances() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "creddel").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let cloud = TENCENT;
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    apply_instance(&client, &ns, &instance("vm", "cred", &cloud, json!({}))).await;
    wait_until(T, "instance Ready", || async {
        is_ready(&instance_status(&client, &ns, "vm").await)
    })
    .await;
    let creds =
        Api::<cloudinstance_controller::api::CloudCredential>::namespaced(client.clone(), &ns);
    wait_until(T, "instanceCount 1", || async {
        credential_status(&client, &ns, "cred").await["instanceCount"] == 1
    })
    .await;
    creds.delete("cred", &Default::default()).await.unwrap();
    let c = wait_for(T, "DeletionBlocked", || async {
        let s = credential_status(&client, &ns, "cred").await;
        condition(&s, "Ready")
            .filter(|c| c["reason"] == "DeletionBlocked")
            .cloned()
    })
    .await;
    assert!(c["message"].as_str().unwrap().contains("vm"), "{c}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        creds.get_opt("cred").await.unwrap().is_some(),
        "credential kept while used"
    );
    // the instance can still be deleted (and terminated) with the credential
    Api::<CloudInstance>::namespaced(client.clone(), &ns)
        .delete("vm", &Default::default())
        .await
        .unwrap();
    wait_until(T, "instance and then credential gone", || async {
        creds.get_opt("cred").await.unwrap().is_none()
            && Api::<CloudInstance>::namespaced(client.clone(), &ns)
                .get_opt("vm")
                .await
                .unwrap()
                .is_none()
    })
    .await;
}

/// A cloud that cannot be asked says nothing about the keys: a scheduled re-check that
/// fails with 5xx keeps a verified credential Ready (its instances keep working), and a
/// new credential that cannot be verified is Ready=Unknown, not False, until it can.
#[tokio::test]
async fn unreachable_cloud_does_not_fail_verified_keys() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "verify-5xx").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let _controller = ControllerProcess::start(&ns, &["--credential-recheck", "2s"]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;
    ctl.add_fault(json!({
        "provider": "tencent", "action": "DescribeRegions",
        "code": "InternalError", "message": "injected outage", "count": 100000
    }))
    .await;
    let faulted = || async {
        ctl.calls().await["tencent"]["DescribeRegions"]["faulted"]
            .as_u64()
            .unwrap_or(0)
    };
    // at least two failed re-checks (each retried by the client) while we watch
    wait_until(T, "re-checks hit the outage", || async {
        faulted().await >= 8
    })
    .await;
    let s = credential_status(&client, &ns, "cred").await;
    let ready = condition(&s, "Ready").cloned().unwrap();
    assert_eq!(ready["status"], "True", "verified keys stay Ready: {s}");

    apply_credential(&client, &ns, "fresh", &cloud, emu.url(), cloud.secret).await;
    let c = wait_for(T, "new credential Ready=Unknown", || async {
        let s = credential_status(&client, &ns, "fresh").await;
        condition(&s, "Ready")
            .filter(|c| c["status"] == "Unknown")
            .cloned()
    })
    .await;
    assert_eq!(c["reason"], "InternalError", "{c}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("could not be verified yet"),
        "{c}"
    );

    ctl.clear_faults().await;
    wait_until(T, "new credential Ready once the cloud answers", || async {
        is_ready(&credential_status(&client, &ns, "fresh").await)
    })
    .await;
}

/// Status polls that keep failing must not leave stale status silently: after three
/// failed rounds every object of that credential and region says so in `Synced`, the
/// auth error brings a credential re-check forward (the keys still work, so it stays
/// Ready), polling backs off, and everything clears once the cloud answers again.
#[tokio::test]
async fn failing_status_polls_are_reported_on_the_objects() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "pollfail").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    apply_instance(&client, &ns, &instance("vm", "cred", &cloud, json!({}))).await;
    wait_until(T, "instance Ready", || async {
        is_ready(&instance_status(&client, &ns, "vm").await)
    })
    .await;
    let regions0 = ctl.call_count("tencent", "DescribeRegions").await;
    // e.g. a policy change took DescribeInstancesStatus away from these keys
    ctl.add_fault(json!({
        "provider": "tencent", "action": "DescribeInstancesStatus",
        "code": "UnauthorizedOperation", "message": "injected: not allowed", "count": 100000
    }))
    .await;
    let c = wait_for(T, "Synced=False from the failing polls", || async {
        let s = instance_status(&client, &ns, "vm").await;
        condition(&s, "Synced")
            .filter(|c| c["status"] == "False")
            .cloned()
    })
    .await;
    assert_eq!(c["reason"], "UnauthorizedOperation", "{c}");
    let msg = c["message"].as_str().unwrap();
    assert!(msg.contains("cannot read the instance's state"), "{c}");
    assert!(msg.contains("injected: not allowed"), "{c}");
    // the auth error asked for a re-check; the keys work, so the credential stays Ready
    assert!(
        ctl.call_count("tencent", "DescribeRegions").await > regions0,
        "credential re-verified early"
    );
    assert!(is_ready(&credential_status(&client, &ns, "cred").await));
    // backed off: at most one poll per --poll-slow (5 s) once the backoff is capped
    let polls0 = ctl.call_count("tencent", "DescribeInstancesStatus").await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let polls = ctl.call_count("tencent", "DescribeInstancesStatus").await - polls0;
    assert!(polls <= 4, "{polls} failing polls in 10 s");

    ctl.clear_faults().await;
    wait_until(T, "Synced=True once polls work again", || async {
        let s = instance_status(&client, &ns, "vm").await;
        condition(&s, "Synced").is_some_and(|c| c["status"] == "True") && is_ready(&s)
    })
    .await;
}
