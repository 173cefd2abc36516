//! A Tencent type change, end to end (issue 14, F-5; docs/provider-contract.md, Tencent
//! §1 and §2.6): real kube-apiserver + the controller binary + the cloud emulator.
//!
//! "完成实例配置调整后，实例将自动显示为运行中，无需手动进行开机" (once the type change is done
//! the instance shows RUNNING by itself, no start needed): tencentcloud-sdk-go
//! `cvm/v20170312/client.go` ResetInstancesType doc comment (= API/15744). The controller
//! stops a running instance, changes its type and then lets the cloud start it (no
//! StartInstances, which the cloud refuses meanwhile with
//! `OperationDenied.InstanceOperationInProgress`); an instance whose spec says Stopped is
//! stopped again once the cloud has started it.

mod support;

use std::time::Duration;

use serde_json::json;

use support::controller::ControllerProcess;
use support::emulator::Emulator;
use support::fixtures::*;
use support::lifecycle::Lifecycle;
use support::scenario::crd_namespace;

const T: Duration = Duration::from_secs(60);
const ACTIONS: [&str; 3] = ["StopInstances", "ResetInstancesType", "StartInstances"];

async fn counts(ctl: &Control) -> Vec<u64> {
    let mut v = Vec::new();
    for a in ACTIONS {
        v.push(ctl.call_count("tencent", a).await);
    }
    v
}

/// Resize object `name` (Ready in `power`) and check it ends Ready in `power` with the
/// new type after exactly `want` calls of [`ACTIONS`], and stays so.
async fn resize(
    client: &kube::Client,
    ns: &str,
    ctl: &Control,
    name: &str,
    power: &str,
    want: [u64; 3],
) {
    let obj = Lifecycle::new(client, ns, name, T);
    let id = obj.ready_in(power).await["instanceId"]
        .as_str()
        .expect("instanceId")
        .to_string();
    ctl.reset_calls().await;
    patch_spec(
        client,
        ns,
        name,
        json!({"instanceType": TENCENT.bigger_type}),
    )
    .await;
    support::controller::wait_until(T, &format!("{name} resized and {power}"), || async {
        let s = obj.status().await;
        s["instanceType"] == TENCENT.bigger_type && s["state"] == power && is_ready(&s)
    })
    .await;
    let cloud = ctl.instance(&id).await.expect("instance");
    assert_eq!(cloud["instance_type"], TENCENT.bigger_type);
    assert_eq!(cloud["state"], power.to_ascii_lowercase(), "{cloud}");
    // settled: nothing more is sent
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        counts(ctl).await,
        want,
        "{name}: calls of {ACTIONS:?} for a resize of a {power} instance"
    );
    assert_eq!(obj.status().await["state"], power);
}

#[tokio::test]
async fn tencent_resize_keeps_the_desired_power_state() {
    let (client, ns) = crd_namespace("tencent-resize").await;
    let emu = Emulator::start(&["--transition-delay-ms", "500"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &TENCENT, emu.url(), TENCENT.secret).await;

    apply_instance(&client, &ns, &instance("up", "cred", &TENCENT, json!({}))).await;
    let down = json!({"powerState": "Stopped"});
    apply_instance(&client, &ns, &instance("down", "cred", &TENCENT, down)).await;

    // Running: stop, change the type; the cloud starts it (no StartInstances).
    resize(&client, &ns, &ctl, "up", "Running", [1, 1, 0]).await;
    // Stopped: change the type; the cloud starts it; the controller stops it again.
    resize(&client, &ns, &ctl, "down", "Stopped", [1, 1, 0]).await;
}
