//! Huawei servers the cloud holds (issue 14: "Huawei `ERROR` instances still exist; newer
//! states (`SHELVED`/`PAUSED`/`SUSPENDED`) mapped to what they mean, without retry
//! loops"), end to end: real kube-apiserver + the controller binary + the emulator, which
//! puts the server into the status (ECS status table,
//! https://support.huaweicloud.com/api-ecs/ecs_08_0002.html) through its control API.
//!
//! A SHELVED (or PAUSED, SUSPENDED, SOFT_DELETED, UNKNOWN) server is reported `Suspended` with a
//! `Suspended` condition naming the cloud's status; a MIGRATING or VERIFY_RESIZE server
//! `Pending`; an ERROR server is reported `Failed`
//! (`LaunchFailed`, recreatePolicy Never, the default). Neither is started, stopped,
//! rebooted, deleted or replaced by the controller, and both come back to Running and Ready
//! when the cloud releases them.

mod support;

use std::time::Duration;

use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use cloudinstance_controller::api::CloudInstance;
use support::controller::{ControllerProcess, wait_for};
use support::emulator::Emulator;
use support::fixtures::*;
use support::lifecycle::Lifecycle;
use support::scenario::crd_namespace;

const T: Duration = Duration::from_secs(60);

/// Every call that would start, stop, reboot, delete or replace a server.
const ACTIONS: &[&str] = &[
    "BatchStartServers",
    "BatchStopServers",
    "BatchRebootServers",
    "DeleteServers",
    "CreatePostPaidServers",
    "CancelResourcesSubscription",
];

async fn counts(ctl: &Control) -> Vec<u64> {
    let mut v = Vec::new();
    for a in ACTIONS {
        v.push(ctl.call_count("huawei", a).await);
    }
    v
}

/// Hold the server in `status`, wait until the object reports `state` with a Ready
/// condition of `reason` naming `status`; then, over several slow polls, nothing acts on it.
async fn held_and_left_alone(
    vm: &Lifecycle<'_>,
    ctl: &Control,
    uid: &str,
    id: &str,
    status: &str,
    state: &str,
    reason: &str,
) -> Value {
    let before = counts(ctl).await;
    let emu = ctl.set_provider_status(id, Some(status)).await;
    assert_eq!(emu["provider_state"], status, "{emu}");
    let s = wait_for(T, &format!("{status} reported as {state}"), || async {
        let s = vm.status().await;
        let ready = condition(&s, "Ready")?;
        (s["state"] == state && ready["status"] == "False" && ready["reason"] == reason)
            .then_some(s)
    })
    .await;
    assert_eq!(s["providerState"], status, "{s}");
    let message = condition(&s, "Ready").unwrap()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains(status), "{message}");
    // the controller polls slowly (5 s here): three polls, and nothing is done to it
    tokio::time::sleep(Duration::from_secs(16)).await;
    assert_eq!(counts(ctl).await, before, "acted on a {status} server");
    let s = vm.status().await;
    assert_eq!(s["instanceId"], id, "{s}");
    assert_eq!(s["state"], state, "{s}");
    let owned = ctl.owned_by(uid).await;
    assert_eq!(owned.len(), 1, "{owned:?}");
    assert_eq!(owned[0]["id"], id);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_servers_are_reported_and_left_alone_until_released() {
    let (client, ns) = crd_namespace("hw-held").await;
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &[]).await;

    apply_credential(&client, &ns, "cred", &HUAWEI, emu.url(), HUAWEI.secret).await;
    wait_for(T, "credential Ready", || async {
        let s = credential_status(&client, &ns, "cred").await;
        is_ready(&s).then_some(s)
    })
    .await;
    apply_instance(&client, &ns, &instance("vm", "cred", &HUAWEI, json!({}))).await;
    let vm = Lifecycle::new(&client, &ns, "vm", T);
    let (_, id) = vm.created().await;
    let uid = Api::<CloudInstance>::namespaced(client.clone(), &ns)
        .get("vm")
        .await
        .unwrap()
        .uid()
        .unwrap();

    // SHELVED: exists, does not run, os-start cannot revive it (Nova needs unshelve)
    held_and_left_alone(&vm, &ctl, &uid, &id, "SHELVED", "Suspended", "Suspended").await;
    ctl.set_provider_status(&id, None).await;
    vm.ready_in("Running").await;

    // PAUSED likewise
    held_and_left_alone(&vm, &ctl, &uid, &id, "PAUSED", "Suspended", "Suspended").await;
    ctl.set_provider_status(&id, None).await;
    vm.ready_in("Running").await;

    // SOFT_DELETED (SDK server_detail.py lists it, the status table does not describe it; a
    // deletion that can still be undone): held, never taken for gone, so no replacement
    held_and_left_alone(
        &vm,
        &ctl,
        &uid,
        &id,
        "SOFT_DELETED",
        "Suspended",
        "Suspended",
    )
    .await;
    ctl.set_provider_status(&id, None).await;
    vm.ready_in("Running").await;

    // UNKNOWN ("any combination not in the table", a list filter value in SDK
    // list_servers_details_request.py): exists, nothing known to act on
    held_and_left_alone(&vm, &ctl, &uid, &id, "UNKNOWN", "Suspended", "Suspended").await;
    ctl.set_provider_status(&id, None).await;
    vm.ready_in("Running").await;

    // MIGRATING and VERIFY_RESIZE: the cloud's own transitions, reported as Pending and
    // waited for, never acted on
    for status in ["MIGRATING", "VERIFY_RESIZE"] {
        held_and_left_alone(&vm, &ctl, &uid, &id, status, "Pending", "Pending").await;
        ctl.set_provider_status(&id, None).await;
        vm.ready_in("Running").await;
    }

    // ERROR: the server still exists (and may bill); with recreatePolicy Never (the default)
    // it is reported, neither deleted nor replaced
    held_and_left_alone(&vm, &ctl, &uid, &id, "ERROR", "Failed", "LaunchFailed").await;
    ctl.set_provider_status(&id, None).await;
    let s = vm.ready_in("Running").await;
    assert_eq!(s["instanceId"], id, "{s}");
    assert_eq!(ctl.owned_by(&uid).await.len(), 1);

    // and it is still managed: a stop is carried out once the cloud released it
    vm.power("Stopped").await;
    assert_eq!(ctl.instance(&id).await.unwrap()["state"], "stopped");
}
