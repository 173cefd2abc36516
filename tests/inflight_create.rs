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
        "provider": "tencent", "action": "RunInstances", "latency_ms": 11000, "count": 4
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
