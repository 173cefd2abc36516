//! The product's heart, end to end: real kube-apiserver + the controller binary + the
//! cloud emulator. One parametrised body runs for every cloud.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use serde_json::json;

use cloudinstance_controller::api::CloudInstance;
use support::controller::{ControllerProcess, wait_for};
use support::emulator::Emulator;
use support::fixtures::*;
use support::lifecycle::Lifecycle;
use support::scenario::crd_namespace;

const T: Duration = Duration::from_secs(60);

async fn lifecycle(cloud: Cloud) {
    let (client, ns) = crd_namespace(&format!("life-{}", cloud.provider)).await;
    let emu = Emulator::start(&["--transition-delay-ms", "500"]).await;
    let ctl = Control::new(emu.url());
    let controller = ControllerProcess::start(&ns, &[]).await;

    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    let cred = wait_for(T, "credential Ready", || async {
        let s = credential_status(&client, &ns, "cred").await;
        is_ready(&s).then_some(s)
    })
    .await;
    assert!(
        cred["regions"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == cloud.region)),
        "credential status lists regions: {cred}"
    );

    // create → Ready with id and IPs. Huawei's changeos (the reinstall below) needs a
    // password or a key pair (ECS API "Changing an ECS OS (Using an Image with Cloud-Init
    // Installed)"; the client refuses it as ReinstallNeedsLogin otherwise,
    // tests/huawei_login.rs), so the Huawei instance logs in with a key pair.
    let login = match cloud.provider {
        "huawei" => json!({"login": {"keyIds": ["KeyPair-lifecycle"]}}),
        _ => json!({}),
    };
    apply_instance(&client, &ns, &instance("web", "cred", &cloud, login)).await;
    let web = Lifecycle::new(&client, &ns, "web", T);
    let (status, id) = web.created().await;
    assert!(
        !status["privateIPs"].as_array().unwrap().is_empty(),
        "{status}"
    );
    assert!(
        !status["publicIPs"].as_array().unwrap().is_empty(),
        "{status}"
    );
    assert_eq!(status["zone"], cloud.zone);
    let obj = Api::<CloudInstance>::namespaced(client.clone(), &ns)
        .get("web")
        .await
        .unwrap();
    assert_eq!(status["observedGeneration"], json!(obj.metadata.generation));
    let uid = obj.uid().unwrap();
    let owned = ctl.owned_by(&uid).await;
    assert_eq!(
        owned.len(),
        1,
        "exactly one cloud instance for the object: {owned:?}"
    );
    assert_eq!(owned[0]["id"], id.as_str());
    assert_eq!(
        owned[0]["tags"]["team"], "platform",
        "user tags reach the cloud"
    );

    web.power("Stopped").await;
    assert_eq!(ctl.instance(&id).await.unwrap()["state"], "stopped");
    web.power("Running").await;
    assert_eq!(ctl.instance(&id).await.unwrap()["state"], "running");

    // reboot once per new rebootRequestedAt
    let reboot_action = cloud.actions.reboot;
    let before = ctl.call_count(cloud.provider, reboot_action).await;
    web.reboot("2026-11-23T12:00:00Z").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        ctl.call_count(cloud.provider, reboot_action).await - before,
        1,
        "exactly one reboot call"
    );

    web.rename(&ctl, &id, "web-renamed").await;

    // resize: stop, change type, start again (the spec still says Running)
    web.resize(cloud.bigger_type).await;
    assert_eq!(
        ctl.instance(&id).await.unwrap()["instance_type"],
        cloud.bigger_type
    );

    // reinstall on image change, only with reinstallPolicy OnImageChange
    patch_spec(&client, &ns, "web", json!({"imageId": cloud.other_image})).await;
    wait_for(T, "ReinstallRequired reported", || async {
        let s = instance_status(&client, &ns, "web").await;
        condition(&s, "Synced")
            .filter(|c| c["reason"] == "ReinstallRequired")
            .cloned()
    })
    .await;
    assert_eq!(
        ctl.instance(&id).await.unwrap()["image"],
        cloud.image,
        "not reinstalled without consent"
    );
    web.reinstall(
        json!({"reinstallPolicy": "OnImageChange"}),
        cloud.other_image,
    )
    .await;
    assert_eq!(ctl.instance(&id).await.unwrap()["image"], cloud.other_image);

    // security groups (Tencent: ModifyInstancesAttribute SecurityGroups; Huawei: per port
    // with the VPC v3 insert/remove-security-groups, never the deprecated Nova actions)
    if cloud.provider == "tencent" {
        web.security_groups(&ctl, &id, &["sg-aaaa1111", "sg-bbbb2222"])
            .await;
    }
    if cloud.provider == "huawei" {
        web.security_groups(
            &ctl,
            &id,
            &[
                "5e6f7081-0000-4000-8000-0000000000aa",
                "5e6f7081-0000-4000-8000-0000000000bb",
            ],
        )
        .await;
        for (action, used) in [
            ("AddSecurityGroups", true),
            ("RemoveSecurityGroups", true),
            ("NovaAssociateSecurityGroup", false),
            ("NovaDisassociateSecurityGroup", false),
        ] {
            assert_eq!(ctl.call_count("huawei", action).await > 0, used, "{action}");
        }
    }

    // events were recorded
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let reasons: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some("web"))
        .filter_map(|e| e.reason)
        .collect();
    for r in [
        "Created",
        "Stopping",
        "Starting",
        "Rebooting",
        "Renamed",
        "Resizing",
        "Reinstalling",
    ] {
        assert!(
            reasons.iter().any(|x| x == r),
            "event {r} missing: {reasons:?}"
        );
    }

    // delete → terminated in the cloud, object gone
    web.delete().await;
    let gone = ctl.instance(&id).await;
    assert!(
        gone.as_ref().is_none_or(|i| i["state"] == "terminated"
            || i["state"] == "terminating"
            || i["state"] == "gone"),
        "cloud instance terminated: {gone:?}"
    );

    // Orphan: object goes, instance stays running
    apply_instance(
        &client,
        &ns,
        &instance("keep", "cred", &cloud, json!({"deletionPolicy": "Orphan"})),
    )
    .await;
    let keep = Lifecycle::new(&client, &ns, "keep", T);
    let (_, keep_id) = keep.created().await;
    keep.delete().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        ctl.instance(&keep_id).await.expect("orphan still exists")["state"],
        "running"
    );

    // metrics: the key series are there and counted what happened
    let m = controller.metrics().await;
    let sum =
        |name: &str, labels: &[(&str, &str)]| support::controller::sum_metric(&m, name, labels);
    assert!(
        sum(
            "cloudinstance_reconcile_total",
            &[("kind", "CloudInstance"), ("result", "ok")]
        ) > 0.0,
        "{m}"
    );
    assert!(
        sum(
            "cloudinstance_reconcile_total",
            &[("kind", "CloudCredential"), ("result", "ok")]
        ) > 0.0,
        "{m}"
    );
    assert!(
        sum(
            "cloudinstance_provider_calls_total",
            &[("cloud", cloud.provider), ("result", "ok")]
        ) >= 6.0,
        "{m}"
    );
    assert!(sum("cloudinstance_poll_rounds_total", &[]) > 0.0, "{m}");
    assert!(
        m.contains("cloudinstance_reconcile_duration_seconds_bucket"),
        "{m}"
    );
    assert!(m.contains("cloudinstance_instances{"), "{m}");

    let logs = controller.logs();
    assert!(
        !logs.contains(cloud.secret),
        "secret key leaked into controller logs"
    );
}

#[tokio::test]
async fn tencent_lifecycle() {
    lifecycle(TENCENT).await;
}

#[tokio::test]
async fn alibaba_lifecycle() {
    lifecycle(ALIBABA).await;
}

#[tokio::test]
async fn huawei_lifecycle() {
    lifecycle(HUAWEI).await;
}

/// A guest OS that ignores soft shutdown: with the default `stopMode: SoftThenHard` the
/// instance still ends up stopped on every cloud (Tencent forces it itself with
/// SOFT_FIRST; on Alibaba and Huawei the controller waits `--soft-stop-grace`, then
/// forces it and says so in a `ForcedStop` event). With `stopMode: Soft` nothing is
/// forced: the object says the guest has not shut down, and asks again once per grace
/// period, not in a loop.
async fn stop_escalation(cloud: Cloud) {
    let (client, ns) = crd_namespace(&format!("stop-{}", cloud.provider)).await;
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &["--soft-stop-grace", "2s"]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    for name in ["firm", "gentle"] {
        let mode = if name == "firm" {
            "SoftThenHard"
        } else {
            "Soft"
        };
        apply_instance(
            &client,
            &ns,
            &instance(name, "cred", &cloud, json!({"stopMode": mode})),
        )
        .await;
    }
    let mut ids = Vec::new();
    for name in ["firm", "gentle"] {
        let (_, id) = Lifecycle::new(&client, &ns, name, T).created().await;
        ctl.guest_ignores_soft_stop(&id, true).await;
        ids.push(id);
    }
    let stops0 = ctl.call_count(cloud.provider, cloud.actions.stop).await;
    for name in ["firm", "gentle"] {
        patch_spec(&client, &ns, name, json!({"powerState": "Stopped"})).await;
    }

    let s = Lifecycle::new(&client, &ns, "firm", T)
        .ready_in("Stopped")
        .await;
    assert!(
        s["softStopRequestedAt"].is_null(),
        "cleared once stopped: {s}"
    );
    let events: Vec<Event> = Api::<Event>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    let forced: Vec<&Event> = events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("ForcedStop"))
        .collect();
    if cloud.provider == "tencent" {
        assert!(forced.is_empty(), "Tencent's SOFT_FIRST forces by itself");
    } else {
        assert_eq!(forced.len(), 1, "one forced stop: {forced:?}");
        assert_eq!(forced[0].involved_object.name.as_deref(), Some("firm"));
        let note = forced[0].message.as_deref().unwrap_or_default();
        assert!(note.contains("did not shut down"), "{note}");
    }

    // Soft: never forced; the object says why it is not stopped yet
    let c = wait_for(T, "Soft instance reports the guest", || async {
        let s = instance_status(&client, &ns, "gentle").await;
        condition(&s, "Ready")
            .filter(|c| {
                c["reason"] == "Stopping"
                    && c["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("has not shut down"))
            })
            .cloned()
    })
    .await;
    assert!(
        c["message"].as_str().unwrap().contains("asking again"),
        "{c}"
    );
    // it keeps asking, once per grace period (2 s + the 300 ms stop), not in a loop
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_ne!(ctl.instance(&ids[1]).await.unwrap()["state"], "stopped");
    let stops = ctl.call_count(cloud.provider, cloud.actions.stop).await - stops0;
    let firm_stops = if cloud.provider == "tencent" { 1 } else { 2 };
    let gentle = stops - firm_stops;
    assert!(
        (2..=6).contains(&gentle),
        "{gentle} soft stops of the Soft instance in about 9 s (grace 2 s)"
    );

    // the guest recovers: the next soft stop works
    ctl.guest_ignores_soft_stop(&ids[1], false).await;
    Lifecycle::new(&client, &ns, "gentle", T)
        .ready_in("Stopped")
        .await;
}

#[tokio::test]
async fn tencent_stop_escalation() {
    stop_escalation(TENCENT).await;
}

#[tokio::test]
async fn alibaba_stop_escalation() {
    stop_escalation(ALIBABA).await;
}

#[tokio::test]
async fn huawei_stop_escalation() {
    stop_escalation(HUAWEI).await;
}
