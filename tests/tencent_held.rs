//! Instances the cloud holds, end to end (issue 14; docs/provider-contract.md, Tencent §1):
//! real kube-apiserver + the controller binary + the cloud emulator.
//!
//! Tencent isolates an instance whose account is in arrears (`SHUTDOWN` with
//! `IsolatedSource` `ARREAR`) and brings it back after the top-up; an instance in rescue
//! mode (`RESCUE_MODE`) refuses every action until its owner exits it
//! (tencentcloud-sdk-python-cvm `models.Instance.InstanceState` / `.IsolatedSource`;
//! refusal codes in tencentcloud-sdk-go `cvm/v20170312/client.go`). Neither is gone: the
//! controller reports it (`state` Suspended, `Ready=False` reason `Suspended`) and neither
//! replaces, restarts nor terminates it, even when the spec asks for another power state;
//! when the cloud releases it, the controller picks up where it was. A live migration by
//! the platform (`ENTER_SERVICE_LIVE_MIGRATE` → `SERVICE_LIVE_MIGRATE` →
//! `EXIT_SERVICE_LIVE_MIGRATE`, each refusing the owner's actions) is a short transition
//! (`Pending`): the controller waits for it to end, then does what the spec asks.

mod support;

use std::time::Duration;

use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use cloudinstance_controller::api::CloudInstance;
use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;

const T: Duration = Duration::from_secs(60);
/// Actions the controller must not send while the cloud holds the instance.
const ACTIONS: &[&str] = &[
    "RunInstances",
    "StartInstances",
    "StopInstances",
    "RebootInstances",
    "TerminateInstances",
    "ModifyInstancesAttribute",
    "ResetInstance",
    "ResetInstancesType",
];

/// `POST /_emulator/instances/{id}/held`.
async fn hold(ctl: &Control, id: &str, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/instances/{id}/held", ctl.base))
        .json(&body)
        .send()
        .await
        .expect("POST held");
    assert!(
        r.status().is_success(),
        "held {body}: {}",
        r.text().await.unwrap_or_default()
    );
}

async fn action_counts(ctl: &Control) -> Vec<u64> {
    let mut v = Vec::new();
    for a in ACTIONS {
        v.push(ctl.call_count("tencent", a).await);
    }
    v
}

/// Wait until the object reports Suspended with `provider_state`, then check for a while
/// that the controller sends no action and the instance is still the only one.
async fn suspended_and_left_alone(
    client: &kube::Client,
    ns: &str,
    ctl: &Control,
    uid: &str,
    id: &str,
    provider_state: &str,
) {
    let s = wait_for(T, &format!("Suspended with {provider_state}"), || async {
        let s = instance_status(client, ns, "held").await;
        (s["state"] == "Suspended" && s["providerState"] == provider_state).then_some(s)
    })
    .await;
    let ready = condition(&s, "Ready").expect("Ready condition").clone();
    assert_eq!(ready["status"], "False", "{s}");
    assert_eq!(ready["reason"], "Suspended", "{s}");
    assert!(message(&ready).contains(provider_state), "{ready}");
    assert_eq!(s["instanceId"], id, "{s}");

    let before = action_counts(ctl).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        action_counts(ctl).await,
        before,
        "no action on a held instance ({ACTIONS:?})"
    );
    let owned = ctl.owned_by(uid).await;
    assert_eq!(owned.len(), 1, "not replaced: {owned:?}");
    assert_eq!(owned[0]["id"], id);
    let s = instance_status(client, ns, "held").await;
    assert_eq!(s["state"], "Suspended", "{s}");
    assert_eq!(s["instanceId"], id, "{s}");
}

#[tokio::test]
async fn tencent_arrears_and_rescue_mode_are_reported_and_left_alone() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "tencent-held").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;

    apply_instance(&client, &ns, &instance("held", "cred", &cloud, json!({}))).await;
    let s = wait_for(T, "instance Running", || async {
        let s = instance_status(&client, &ns, "held").await;
        (is_ready(&s) && s["state"] == "Running").then_some(s)
    })
    .await;
    let id = s["instanceId"].as_str().expect("instanceId").to_string();
    let uid = Api::<CloudInstance>::namespaced(client.clone(), &ns)
        .get("held")
        .await
        .unwrap()
        .uid()
        .unwrap();

    // Arrears: isolated, then the account is topped up and the instance comes back
    // stopped; the spec says Running, so the controller starts it.
    hold(&ctl, &id, json!({"held": "arrears"})).await;
    suspended_and_left_alone(&client, &ns, &ctl, &uid, &id, "SHUTDOWN/ARREAR").await;
    let starts = ctl.call_count("tencent", "StartInstances").await;
    hold(&ctl, &id, json!({"held": null, "state": "stopped"})).await;
    wait_until(T, "Running again after the top-up", || async {
        let s = instance_status(&client, &ns, "held").await;
        is_ready(&s) && s["state"] == "Running" && s["instanceId"] == id.as_str()
    })
    .await;
    assert_eq!(
        ctl.call_count("tencent", "StartInstances").await,
        starts + 1,
        "one start after the release"
    );

    // Rescue mode: a spec change meanwhile (stop it) waits until the owner exits rescue
    // mode in the cloud, then happens.
    hold(&ctl, &id, json!({"held": "rescue"})).await;
    patch_spec(&client, &ns, "held", json!({"powerState": "Stopped"})).await;
    suspended_and_left_alone(&client, &ns, &ctl, &uid, &id, "RESCUE_MODE").await;
    hold(&ctl, &id, json!({"held": null})).await;
    wait_until(T, "Stopped after rescue mode ends", || async {
        let s = instance_status(&client, &ns, "held").await;
        is_ready(&s) && s["state"] == "Stopped" && s["instanceId"] == id.as_str()
    })
    .await;
    assert_eq!(ctl.owned_by(&uid).await.len(), 1, "never replaced");

    // Live migration: running again, then the platform migrates it and the spec asks for a
    // stop meanwhile. A stop sent before the controller has seen the migration is refused
    // (wrong state); once it reports the phase (Pending) it sends nothing until the
    // migration is over, then stops the instance with one call.
    patch_spec(&client, &ns, "held", json!({"powerState": "Running"})).await;
    wait_until(T, "Running before the migration", || async {
        let s = instance_status(&client, &ns, "held").await;
        is_ready(&s) && s["state"] == "Running"
    })
    .await;
    hold(
        &ctl,
        &id,
        json!({"held": "enter_live_migrate", "phase_ms": 600000}),
    )
    .await;
    patch_spec(&client, &ns, "held", json!({"powerState": "Stopped"})).await;
    wait_until(T, "the migration reported", || async {
        let s = instance_status(&client, &ns, "held").await;
        s["state"] == "Pending" && s["providerState"] == "ENTER_SERVICE_LIVE_MIGRATE"
    })
    .await;
    let before = action_counts(&ctl).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        action_counts(&ctl).await,
        before,
        "no action while the migration is reported ({ACTIONS:?})"
    );
    // The platform moves on; the last phase ends by itself after 2 s.
    hold(
        &ctl,
        &id,
        json!({"held": "exit_live_migrate", "phase_ms": 2000}),
    )
    .await;
    wait_until(T, "Stopped after the live migration", || async {
        let s = instance_status(&client, &ns, "held").await;
        is_ready(&s) && s["state"] == "Stopped"
    })
    .await;
    let after = action_counts(&ctl).await;
    for (i, a) in ACTIONS.iter().enumerate() {
        let sent = after[i] - before[i];
        let want = u64::from(*a == "StopInstances");
        assert_eq!(sent, want, "{a} sent {sent} times, want {want}");
    }
    assert_eq!(ctl.owned_by(&uid).await.len(), 1, "never replaced");
}
