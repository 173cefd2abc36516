//! Irreversible steps are taken on evidence, not on an absence.
//!
//! * An instance the batched status polls stop listing is confirmed gone with a direct
//!   describe by id before a replacement is created (or a finalizer released).
//! * A failed launch (Tencent LAUNCH_FAILED) is terminated before its replacement is created:
//!   a failed instance still exists and may bill, so forgetting it would leak it.

mod support;

use std::time::Duration;

use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use cloudinstance_controller::api::CloudInstance;
use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;

const T: Duration = Duration::from_secs(90);

fn live(instances: &[Value]) -> Vec<&Value> {
    instances
        .iter()
        .filter(|i| !matches!(i["state"].as_str(), Some("terminated" | "gone")))
        .collect()
}

async fn uid_of(client: &kube::Client, ns: &str, name: &str) -> String {
    Api::<CloudInstance>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .expect("get instance")
        .uid()
        .expect("uid")
}

#[tokio::test]
async fn an_instance_missing_from_status_polls_is_confirmed_before_it_is_replaced() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "confirm-missing").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "200"]).await;
    let ctl = Control::new(emu.url());
    let controller = ControllerProcess::start(&ns, &["--poll-slow", "1s"]).await;
    apply_credential(&client, &ns, "c", &TENCENT, emu.url(), TENCENT.secret).await;
    apply_instance(
        &client,
        &ns,
        &instance(
            "vm",
            "c",
            &TENCENT,
            json!({"recreatePolicy": "OnCloudDeletion"}),
        ),
    )
    .await;
    let id = wait_for(T, "vm Ready", || async {
        let s = instance_status(&client, &ns, "vm").await;
        is_ready(&s).then(|| s["instanceId"].as_str().unwrap_or_default().to_string())
    })
    .await;
    let uid = uid_of(&client, &ns, "vm").await;

    // The status listing stops showing the live instance (an eventually consistent list).
    let r = emu
        .post_json(
            &format!("instances/{id}/status-listing"),
            &json!({"hidden": true}),
        )
        .await;
    assert_eq!(r["hidden"], true);
    wait_until(T, "the controller noticed and checked by id", || async {
        controller
            .logs()
            .contains("a describe by id finds it; not acting on 'missing'")
    })
    .await;
    // several more poll rounds: still no replacement, still the same id
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(emu.call_count("tencent", "RunInstances").await, 1);
    assert_eq!(live(&ctl.owned_by(&uid).await).len(), 1);
    let s = instance_status(&client, &ns, "vm").await;
    assert_eq!(s["instanceId"], id.as_str());

    // Listed again: nothing happened. Then really deleted out of band: replaced, once.
    emu.post_json(
        &format!("instances/{id}/status-listing"),
        &json!({"hidden": false}),
    )
    .await;
    assert!(emu.delete_instance(&id).await, "delete out of band");
    let replacement = wait_for(T, "a replacement Ready", || async {
        let s = instance_status(&client, &ns, "vm").await;
        let new = s["instanceId"].as_str().unwrap_or_default().to_string();
        (is_ready(&s) && !new.is_empty() && new != id).then_some(new)
    })
    .await;
    let owned = ctl.owned_by(&uid).await;
    let live = live(&owned);
    assert_eq!(live.len(), 1, "{owned:?}");
    assert_eq!(live[0]["id"], replacement.as_str());
    drop(controller);
}

#[tokio::test]
async fn a_failed_launch_is_terminated_before_its_replacement_is_created() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "confirm-failed").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "c", &TENCENT, emu.url(), TENCENT.secret).await;
    emu.inject_fault(json!({"provider": "tencent", "action": "RunInstances",
        "launch_failed": true, "count": 1}))
        .await;
    apply_instance(
        &client,
        &ns,
        &instance(
            "vm",
            "c",
            &TENCENT,
            json!({"recreatePolicy": "OnCloudDeletion"}),
        ),
    )
    .await;
    let first = wait_for(T, "the first create's id", || async {
        let s = instance_status(&client, &ns, "vm").await;
        s["instanceId"].as_str().map(str::to_string)
    })
    .await;
    let uid = uid_of(&client, &ns, "vm").await;
    // While the failed instance exists, no second instance may exist: sample the cloud
    // until the replacement is Ready.
    let samples = std::cell::Cell::new(0);
    let second = wait_for(T, "a replacement Ready", || async {
        let owned = ctl.owned_by(&uid).await;
        let live = live(&owned);
        assert!(
            live.len() <= 1,
            "a replacement exists next to the failed instance: {owned:?}"
        );
        samples.set(samples.get() + 1);
        let s = instance_status(&client, &ns, "vm").await;
        let id = s["instanceId"].as_str().unwrap_or_default().to_string();
        (is_ready(&s) && id != first).then_some(id)
    })
    .await;
    assert!(samples.get() > 1);
    assert!(emu.call_count("tencent", "TerminateInstances").await >= 1);
    let failed = ctl.instance(&first).await;
    assert!(
        failed
            .as_ref()
            .is_none_or(|f| matches!(f["state"].as_str(), Some("terminated" | "gone"))),
        "the failed instance was left behind: {failed:?}"
    );
    let owned = ctl.owned_by(&uid).await;
    let live = live(&owned);
    assert_eq!(live.len(), 1, "{owned:?}");
    assert_eq!(live[0]["id"], second.as_str());
    assert_eq!(emu.call_count("tencent", "RunInstances").await, 2);
    drop(controller);
}
