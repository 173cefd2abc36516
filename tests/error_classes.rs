//! Error classes from the clouds' official error lists, end to end (issue 14;
//! docs/provider-contract.md, Tencent §3): real kube-apiserver + the controller binary + the
//! cloud emulator answering with the documented codes.
//!
//! - `ResourceUnavailable.InstanceType` ("该可用区不售卖此机型", the zone does not sell the
//!   type) is capacity, not a transient fault: reported once, not retried in a loop.
//! - `UnsupportedOperation.InstanceStateCorrupted` ("请求不支持永久故障的实例", a permanently
//!   failed instance) is terminal: reported on the object, not a silent wrong-state retry
//!   every few seconds.

mod support;

use std::time::Duration;

use serde_json::json;

use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;

const T: Duration = Duration::from_secs(60);

#[tokio::test]
async fn tencent_capacity_and_permanent_states_are_not_retried_in_a_loop() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "error-classes").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let mut controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;

    // Not sold in the zone: Synced=False with the code, one create call.
    ctl.add_fault(json!({
        "provider": "tencent", "action": "RunInstances",
        "code": "ResourceUnavailable.InstanceType",
        "message": "该可用区不售卖此机型",
    }))
    .await;
    apply_instance(
        &client,
        &ns,
        &instance("soldout", "cred", &cloud, json!({})),
    )
    .await;
    let synced = wait_for(T, "Synced=False with the capacity code", || async {
        let s = instance_status(&client, &ns, "soldout").await;
        condition(&s, "Synced")
            .filter(|c| c["status"] == "False" && c["reason"] == "ResourceUnavailable.InstanceType")
            .cloned()
    })
    .await;
    // A transient fault would be retried by the client (4 attempts per call) and then with
    // the controller's short back-off; a capacity refusal is sent exactly once: recorded
    // (Ready reason CreateRetryLater for this generation), it is sent again only after its
    // retry time (minutes) or when the spec changes; neither the controller's own status
    // writes nor a restart re-send it.
    let ready = condition(&instance_status(&client, &ns, "soldout").await, "Ready").cloned();
    assert_eq!(
        ready.as_ref().map(|r| r["reason"].clone()),
        Some(json!("CreateRetryLater")),
        "{ready:?}"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        ctl.call_count("tencent", "RunInstances").await,
        1,
        "a capacity refusal is sent once, not retried like a transient fault: {synced}"
    );
    let _controller = controller.crash_and_restart(&ns).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        ctl.call_count("tencent", "RunInstances").await,
        1,
        "a restart re-sent a create refused for capacity"
    );
    ctl.clear_faults().await;
    // a change of the spec sends it again at once
    patch_spec(
        &client,
        &ns,
        "soldout",
        json!({"instanceName": "soldout-2"}),
    )
    .await;
    wait_until(T, "Ready after the spec changed", || async {
        is_ready(&instance_status(&client, &ns, "soldout").await)
    })
    .await;
    assert_eq!(ctl.call_count("tencent", "RunInstances").await, 2);

    // A permanently failed instance refuses the stop: reported, not retried every 2 s.
    apply_instance(&client, &ns, &instance("broken", "cred", &cloud, json!({}))).await;
    wait_until(T, "instance Running", || async {
        let s = instance_status(&client, &ns, "broken").await;
        is_ready(&s) && s["state"] == "Running"
    })
    .await;
    ctl.add_fault(json!({
        "provider": "tencent", "action": "StopInstances",
        "code": "UnsupportedOperation.InstanceStateCorrupted",
        "message": "请求不支持永久故障的实例。",
    }))
    .await;
    let before = ctl.call_count("tencent", "StopInstances").await;
    patch_spec(&client, &ns, "broken", json!({"powerState": "Stopped"})).await;
    let synced = wait_for(T, "Synced=False with the permanent-state code", || async {
        let s = instance_status(&client, &ns, "broken").await;
        condition(&s, "Synced")
            .filter(|c| {
                c["status"] == "False"
                    && c["reason"] == "UnsupportedOperation.InstanceStateCorrupted"
            })
            .cloned()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let stops = ctl.call_count("tencent", "StopInstances").await - before;
    assert!(
        stops <= 2,
        "{stops} StopInstances calls: a terminal error must not loop ({synced})"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        ctl.call_count("tencent", "StopInstances").await - before,
        stops,
        "no wrong-state retry every few seconds"
    );
}
