//! A create request whose answer never came may still take effect (issue 17, "zero means
//! zero"): real kube-apiserver + the controller binary + the emulator.
//!
//! The cloud holds every RunInstances request for 11 s before it executes it; the
//! controller's attempts time out after its 2 s `--provider-timeout` and the call gives up
//! after four. The object is deleted meanwhile. Nothing is tagged with the object's UID
//! when the deletion is handled, so a controller that takes "not found by tag" for "never
//! created" lets the object go, and the instance the cloud creates a little later is owned
//! by nobody: a leak. The controller must instead wait until a create it sent can no
//! longer take effect (twice the provider timeout after it gave up on the request), look
//! again, and terminate what it finds.
//!
//! The same holds for a spec changed meanwhile: the changed request carries a new
//! idempotency token, so sending it while the first may still take effect would make a
//! second instance. The controller waits, finds the first by its tag and adopts it.

mod support;

use std::time::{Duration, Instant};

use kube::{Api, ResourceExt};
use serde_json::json;

use cloudinstance_controller::api::CloudInstance;
use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;

const T: Duration = Duration::from_secs(60);

/// Every RunInstances is executed 11 s after it arrives; the controller's call (4
/// attempts with the same ClientToken, 2 s timeout each) gives up after 8-9.4 s.
const HELD_MS: u64 = 11_000;

#[tokio::test]
async fn a_create_still_in_flight_when_the_object_is_deleted_is_terminated_not_leaked() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "inflight").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let _controller = ControllerProcess::start(&ns, &["--provider-timeout", "2s"]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;

    // The cloud executes every RunInstances 11 s after it arrives: each of the client's 4
    // attempts (same ClientToken) times out after 2 s, the call gives up after 8-9.4 s
    // (backoff included), and the first attempt takes effect at 11 s.
    ctl.add_fault(json!({
        "provider": "tencent", "action": "RunInstances", "latency_ms": HELD_MS, "count": 4
    }))
    .await;
    apply_instance(&client, &ns, &instance("vm", "cred", &cloud, json!({}))).await;
    let api: Api<CloudInstance> = Api::namespaced(client.clone(), &ns);
    let uid = api.get("vm").await.unwrap().uid().unwrap();
    wait_until(T, "the create reached the cloud", || async {
        emu.faults().await[0]["hits"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    let sent = Instant::now();
    // Delete while the requests are held: the controller handles the deletion once its
    // create call gave up, with nothing tagged with the UID yet.
    api.delete("vm", &Default::default()).await.unwrap();

    // The held request executes at about 3 s: an instance tagged with the UID appears.
    wait_until(T, "the held create executed", || async {
        !ctl.owned_by(&uid).await.is_empty()
    })
    .await;
    eprintln!(
        "held create executed {:.1}s after it reached the cloud",
        sent.elapsed().as_secs_f64()
    );
    wait_until(T, "object gone", || async {
        api.get_opt("vm").await.unwrap().is_none()
    })
    .await;
    // The instance the late create made is terminated: nothing tagged with the deleted
    // object's UID is left running.
    wait_until(T, "no live instance of the deleted object", || async {
        ctl.owned_by(&uid)
            .await
            .iter()
            .all(|i| i["state"] == "terminated")
    })
    .await;
    let owned = ctl.owned_by(&uid).await;
    assert!(
        owned.len() <= 1,
        "one instance at most was created: {owned:?}"
    );
}

#[tokio::test]
async fn a_spec_changed_while_a_create_is_in_flight_does_not_make_a_second_instance() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "inflight-change").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let _controller = ControllerProcess::start(&ns, &["--provider-timeout", "2s"]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;
    ctl.add_fault(json!({
        "provider": "tencent", "action": "RunInstances", "latency_ms": HELD_MS, "count": 4
    }))
    .await;
    apply_instance(&client, &ns, &instance("vm", "cred", &cloud, json!({}))).await;
    let api: Api<CloudInstance> = Api::namespaced(client.clone(), &ns);
    let uid = api.get("vm").await.unwrap().uid().unwrap();
    // All four attempts are held: the call is about to give up. Change the spec now: the
    // next create request differs (a new token).
    // (the rule goes away with its fourth hit)
    wait_until(T, "all four attempts held by the cloud", || async {
        emu.faults().await.as_array().is_some_and(|f| f.is_empty())
    })
    .await;
    patch_spec(&client, &ns, "vm", json!({"instanceName": "renamed"})).await;

    wait_until(T, "Ready with the new name", || async {
        let s = instance_status(&client, &ns, "vm").await;
        is_ready(&s)
            && s["state"] == "Running"
            && match s["instanceId"].as_str() {
                Some(id) => ctl
                    .instance(id)
                    .await
                    .is_some_and(|i| i["name"] == "renamed"),
                None => false,
            }
    })
    .await;
    // Let every held request execute (they carry the first token: no new instance).
    tokio::time::sleep(Duration::from_millis(HELD_MS)).await;
    let owned = ctl.owned_by(&uid).await;
    assert_eq!(
        owned.len(),
        1,
        "one instance for the object, the held one adopted: {owned:?}"
    );
    let status = instance_status(&client, &ns, "vm").await;
    assert_eq!(status["instanceId"], owned[0]["id"], "{status}");
}
