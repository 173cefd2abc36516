//! Reliability: controller crashes. The real controller binary against a real
//! kube-apiserver and the cloud emulator, SIGKILLed at random moments and at the worst
//! ones, forced. Sizes, seeds and the invariants every campaign ends with:
//! `tests/support/campaign.rs`.
//!
//! | test | what |
//! |---|---|
//! | `crash_campaign_converges_without_leaks_or_duplicates` | churn while the controller is SIGKILLed at random moments |
//! | `crash_between_create_and_delete_does_not_leak` | the worst moment, forced: killed after RunInstances, before the id is written, object deleted meanwhile |
//! | `deletion_with_broken_credential_waits_instead_of_leaking` | the same moment, and the keys stop working before the deletion |
//! | `audit_failure_prints_the_history_of_what_it_names` | what a failed invariant prints (the soak shows it) |
//!
//! ```sh
//! CIC_CAMPAIGN_SCALE=full cargo test --test reliability_crash -- --test-threads=1 --nocapture
//! ```
//!
//! `hack/soak.sh` runs the crash campaign (and the fault campaign of
//! `tests/reliability_faults.rs`) over and over with a fresh seed each run and stops at the
//! first failure, printing the history of every object and instance the failure names.

mod support;

use std::cell::Cell;
use std::time::{Duration, Instant};

use kube::api::DeleteParams;
use kube::{Api, ResourceExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use cloudinstance_controller::api::CloudInstance;
use support::campaign::*;
use support::controller::{ControllerProcess, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;
use support::forensics::mentioned;
use support::scenario::{crd_namespace, create_with_answer_held_back};

/// What an invariant failure prints: the history of the objects and instances it names
/// (the soak stops at a failure and shows this, so it must name the object's status
/// writes, the emulator's record and requests, and every controller incarnation's lines).
#[tokio::test]
async fn audit_failure_prints_the_history_of_what_it_names() {
    assert_eq!(
        mentioned(
            "LEAK: live instances [\"ins-1a2b3c4d (vm-0007-renamed, \\\"running\\\")\"] tagged with uid 0f8fad5b-d9cb-469f-a165-70867728950e of no existing object; vm-0012: missing"
        ),
        (
            vec!["vm-0007".to_string(), "vm-0012".to_string()],
            vec!["ins-1a2b3c4d".to_string()],
            vec!["0f8fad5b-d9cb-469f-a165-70867728950e".to_string()]
        )
    );
    let (client, ns) = crd_namespace("rel-forensics").await;
    let emu = Emulator::start(&["--transition-delay-ms", "100", "--seed", "1"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let mut first = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    let mut fleet = Fleet::new(&client, &ns, "cred", cloud);
    fleet.seed = Some((1, "audit_failure_prints_the_history_of_what_it_names"));
    fleet.emulator = Some(emu.url().to_string());
    let name = fleet.create().await;
    fleet.create().await;
    let id = wait_for(T, "an instance id", || async {
        instance_status(&client, &ns, &name).await["instanceId"]
            .as_str()
            .map(str::to_string)
    })
    .await;
    first.kill().await;
    fleet.keep_log("incarnation 1".into(), first.logs());
    let second = ControllerProcess::start(&ns, &[]).await;
    fleet.follow(&second);
    wait_converged(&client, &ns, &fleet, T).await;
    // a made-up problem naming the instance only
    let h = fleet
        .histories(
            &[format!("LEAK: live instances [\"{id} (x)\"]")],
            Some(&ctl),
        )
        .await;
    eprintln!("{h}");
    assert!(h.contains(&format!("objects [\"{name}\"]")), "{h}");
    assert!(
        h.contains("CIC_CAMPAIGN_SEED=1 cargo test --test reliability_crash"),
        "{h}"
    );
    assert!(
        h.contains(&format!("create {name}")),
        "campaign operations: {h}"
    );
    assert!(
        h.contains(&format!("instanceId \"{id}\"")),
        "status writes: {h}"
    );
    assert!(
        h.contains(&format!("\"id\":\"{id}\"")),
        "emulator record: {h}"
    );
    assert!(!h.contains("vm-0001"), "only what the problem names: {h}");
    for label in ["incarnation 1", "the running controller"] {
        let section = h
            .split(&format!("-- controller log, {label}: "))
            .nth(1)
            .unwrap_or_else(|| panic!("no section for {label}: {h}"));
        assert!(
            !section.starts_with("0 line"),
            "{label}: no line about {name}: {h}"
        );
    }
}

/// Crash campaign: a churn driver creates objects, flips their power state and deletes
/// some, while the controller is SIGKILLed at random moments and restarted each time.
/// After the last kill every object converges and the cloud holds no leaked or
/// duplicate instance.
#[tokio::test]
async fn crash_campaign_converges_without_leaks_or_duplicates() {
    let sc = scale();
    let (seed, mut rng) = campaign_seed("crash");
    let mut kill_rng = StdRng::seed_from_u64(rng.random());
    let (client, ns) = crd_namespace("rel-crash").await;
    let emu_seed = seed.to_string();
    let emu = Emulator::start(&[
        "--transition-delay-ms",
        "300",
        "--delay",
        "shutdown=1000",
        "--seed",
        &emu_seed,
    ])
    .await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let args = ["--concurrency", "16", "--poll-slow", "3s"];
    let mut controller = ControllerProcess::start(&ns, &args).await;
    let mut fleet = Fleet::with_objects(&client, &ns, cloud, emu.url(), sc.crash_objects / 3).await;
    fleet.seed = Some((seed, "crash_campaign_converges_without_leaks_or_duplicates"));
    fleet.emulator = Some(emu.url().to_string());

    let started = Instant::now();
    let kills_done = Cell::new(false);
    let churn = async {
        while !kills_done.get() || fleet.created < sc.crash_objects {
            fleet
                .random_op(&mut rng, sc.crash_objects, sc.crash_deletes)
                .await;
            pause(&mut rng, 50..400).await;
        }
    };
    let mut killed_logs = Vec::new();
    let killer = async {
        for k in 0..sc.crash_kills {
            pause(&mut kill_rng, 1500..5000).await;
            controller.kill().await;
            killed_logs.push((
                format!(
                    "incarnation {} (SIGKILLed {:.3}s after the start)",
                    k + 1,
                    started.elapsed().as_secs_f64()
                ),
                controller.logs(),
            ));
            // sometimes restart at once, sometimes after a while (work piles up)
            pause(&mut kill_rng, 0..1500).await;
            controller = ControllerProcess::start(&ns, &args).await;
        }
        kills_done.set(true);
    };
    tokio::join!(churn, killer);
    let churn_time = started.elapsed();
    for (label, text) in killed_logs {
        fleet.keep_log(label, text);
    }
    fleet.follow(&controller);

    let converge = wait_converged(&client, &ns, &fleet, sc.converge).await;
    let audit = assert_no_leaks(&client, &ns, &ctl, Some(&fleet)).await;
    let calls = ctl.calls().await;
    let runs = calls_sum(&calls, "tencent", "total", &["RunInstances"]);
    eprintln!(
        "[crash] {} objects ({} deleted, {} power flips), {} kills over {:.1}s of churn; \
         converged {:.1}s after the last kill; cloud: {} live, {} terminated; \
         RunInstances calls {runs}; calls by action {:?}",
        fleet.created,
        fleet.deletes,
        fleet.flips,
        sc.crash_kills,
        churn_time.as_secs_f64(),
        converge.as_secs_f64(),
        audit.live,
        audit.terminated,
        calls_by_action(&calls, "tencent"),
    );
    assert_eq!(audit.live, fleet.live().len());
}

/// Wait for object `vm` to be gone, then check that no live instance carries its UID.
async fn object_gone_and_instance_terminated(
    api: &Api<CloudInstance>,
    ctl: &Control,
    uid: &str,
    logs: &str,
) {
    wait_until(T, "object gone", || async {
        api.get_opt("vm").await.unwrap().is_none()
    })
    .await;
    let left: Vec<Value> = ctl
        .owned_by(uid)
        .await
        .into_iter()
        .filter(|i| i["state"] != "terminated")
        .collect();
    assert!(
        left.is_empty(),
        "LEAK: the object is gone but its instance was not terminated: {left:?}\n{logs}"
    );
}

/// The worst moment to crash, forced: RunInstances has created the instance but its
/// answer is held back (so status.instanceId is not written), the user deletes the
/// object, and the controller dies. The restarted controller must find the instance by
/// its tag and terminate it before letting the object go, not drop the finalizer and
/// leak a running VM.
#[tokio::test]
async fn crash_between_create_and_delete_does_not_leak() {
    let (client, ns) = crd_namespace("rel-crash-del").await;
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let (mut first, uid) =
        create_with_answer_held_back(&client, &ns, emu.url(), Duration::from_secs(30)).await;
    let api = Api::<CloudInstance>::namespaced(client.clone(), &ns);
    api.delete("vm", &DeleteParams::default()).await.unwrap();
    first.kill().await;
    let held = api.get("vm").await.unwrap();
    assert!(
        held.metadata.deletion_timestamp.is_some() && !held.finalizers().is_empty(),
        "the scenario needs the object deleting and held by our finalizer"
    );

    let _second = ControllerProcess::start(&ns, &[]).await;
    object_gone_and_instance_terminated(&api, &ctl, &uid, "").await;
}

/// The same unlucky moment, and then the keys stop working: the object is deleted while
/// its credential is not Ready. The controller cannot ask the cloud whether an instance
/// exists, and the object's status names none, but a create was sent. It must keep the
/// finalizer and say why (not let go and leak the VM), and finish the deletion, by tag
/// lookup and terminate, once the keys work again.
#[tokio::test]
async fn deletion_with_broken_credential_waits_instead_of_leaking() {
    let (client, ns) = crd_namespace("rel-del-badkey").await;
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let (mut first, uid) =
        create_with_answer_held_back(&client, &ns, emu.url(), Duration::from_secs(30)).await;
    let api = Api::<CloudInstance>::namespaced(client.clone(), &ns);
    let st = instance_status(&client, &ns, "vm").await;
    assert!(
        st["createRequestedAt"].is_string(),
        "the create was announced in status before it was sent: {st}"
    );
    first.kill().await;

    // The keys break (wrong secret) and the user deletes the object.
    let keys = [
        ("accessKeyId", cloud.key_id.as_bytes()),
        ("secretAccessKey", b"not-the-secret".as_slice()),
    ];
    apply_secret(&client, &ns, "cred-keys", &keys).await;
    api.delete("vm", &DeleteParams::default()).await.unwrap();

    let controller = ControllerProcess::start(&ns, &[]).await;
    cred_not_ready(&client, &ns, "cred", "AuthFailure.SignatureFailure").await;
    let c = wait_for(
        T,
        "deletion reported as waiting for the credential",
        || async {
            let s = instance_status(&client, &ns, "vm").await;
            condition(&s, "Synced")
                .filter(|c| c["status"] == "False" && message(c).contains("deletion waits"))
                .cloned()
        },
    )
    .await;
    eprintln!("[del-badkey] {c}");
    assert_eq!(c["reason"], "CredentialNotReady", "{c}");
    assert!(message(&c).contains("create was requested"), "{c}");
    assert!(message(&c).contains("deletionPolicy: Orphan"), "{c}");
    // and it keeps waiting
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = api.get_opt("vm").await.unwrap();
    assert!(
        held.is_some_and(|o| o.finalizers().iter().any(|f| f.contains("cloudinstance"))),
        "the object let go while its instance may exist"
    );
    assert_eq!(
        ctl.owned_by(&uid)
            .await
            .iter()
            .filter(|i| i["state"] != "terminated")
            .count(),
        1,
        "the instance is still there, as the object's finalizer says"
    );

    // Keys fixed: the controller finds the instance by its tag and terminates it.
    let keys = [
        ("accessKeyId", cloud.key_id.as_bytes()),
        ("secretAccessKey", cloud.secret.as_bytes()),
    ];
    apply_secret(&client, &ns, "cred-keys", &keys).await;
    object_gone_and_instance_terminated(&api, &ctl, &uid, &controller.logs()).await;
}
