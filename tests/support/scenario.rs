//! Scenarios several test files set up the same way.

use std::time::Duration;

use kube::{Api, Client, ResourceExt};
use serde_json::json;

use super::cluster::{TestNamespace, admin_client};
use super::controller::{ControllerProcess, install_crds, wait_until};
use super::fixtures::{
    Control, TENCENT, apply_credential, apply_instance, instance, instance_status,
};
use cloudinstance_controller::api::CloudInstance;

/// The start of most e2e tests: an admin client of the test cluster, the CRDs installed,
/// and a new namespace `<prefix>-<random>` (its name returned).
pub async fn crd_namespace(prefix: &str) -> (Client, String) {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, prefix).await;
    let name = ns.name().to_string();
    (client, name)
}

/// The worst moment for a crash, forced: a controller is started in `ns`, credential
/// `cred` and instance `vm` (Tencent) are applied, and the cloud creates the instance but
/// holds its RunInstances answer back for `hold`, so `status.instanceId` is not written.
/// Returns once the instance exists in the cloud: the running controller (to kill) and
/// the object's UID (its instances carry it as a tag).
pub async fn create_with_answer_held_back(
    client: &Client,
    ns: &str,
    emulator_url: &str,
    hold: Duration,
) -> (ControllerProcess, String) {
    let ctl = Control::new(emulator_url);
    let cloud = TENCENT;
    ctl.add_fault(json!({
        "provider": "tencent", "action": "RunInstances",
        "latency_ms": hold.as_millis() as u64, "after_processing": true, "count": 1
    }))
    .await;
    let controller = ControllerProcess::start(ns, &[]).await;
    apply_credential(client, ns, "cred", &cloud, emulator_url, cloud.secret).await;
    apply_instance(client, ns, &instance("vm", "cred", &cloud, json!({}))).await;
    let uid = Api::<CloudInstance>::namespaced(client.clone(), ns)
        .get("vm")
        .await
        .expect("get vm")
        .uid()
        .expect("uid");
    wait_until(
        Duration::from_secs(90),
        "instance created in the cloud",
        || async { ctl.owned_by(&uid).await.len() == 1 },
    )
    .await;
    let s = instance_status(client, ns, "vm").await;
    assert!(
        s["instanceId"].is_null(),
        "the answer is still held back, so status has no id yet: {s}"
    );
    (controller, uid)
}
