//! Every manifest in `examples/` works as documented: applied together (endpoint pointed
//! at a fresh emulator instead of the demo's 127.0.0.1:4566), every CloudCredential gets
//! Ready=True (reason Verified) and every CloudInstance Ready=True in its declared power
//! state, Synced=True; deleting them terminates everything except the Orphan one.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use kube::Api;
use kube::api::{DeleteParams, ListParams};
use serde_json::Value;

use cloudinstance_controller::api::{CloudCredential, CloudInstance};
use support::cluster::{TestNamespace, admin_client, apply_yaml, repo_root};
use support::controller::{ControllerProcess, install_crds, wait_until};
use support::emulator::Emulator;
use support::fixtures::{Control, condition};

const DEMO_ENDPOINT: &str = "http://127.0.0.1:4566";
const T: Duration = Duration::from_secs(120);

/// The example files, sorted, as (name, text).
fn examples() -> Vec<(String, String)> {
    let dir = repo_root().join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read examples/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read example");
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect()
}

fn ok(status: &Value, type_: &str) -> bool {
    condition(status, type_).is_some_and(|c| c["status"] == "True")
}

#[tokio::test]
async fn every_example_becomes_ready_and_orphan_survives_deletion() {
    let files = examples();
    let names: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "tencent.yaml",
        "alibaba.yaml",
        "huawei.yaml",
        "fleet.yaml",
        "stopped.yaml",
        "orphan.yaml",
    ] {
        assert!(names.contains(expected), "examples/{expected} exists");
    }
    for (name, text) in &files {
        if text.contains("kind: CloudCredential") {
            assert!(
                text.contains(DEMO_ENDPOINT),
                "{name}: credentials use the demo endpoint"
            );
        }
    }

    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "examples").await;
    let ns = ns.name().to_owned();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &[]).await;

    // Credentials first (instances reference them), then the rest, as a user would.
    let (creds, rest): (Vec<_>, Vec<_>) = files
        .iter()
        .partition(|(_, t)| t.contains("kind: CloudCredential"));
    for (_, text) in creds.iter().chain(rest.iter()) {
        apply_yaml(Some(&ns), &text.replace(DEMO_ENDPOINT, emu.url())).await;
    }

    let creds_api: Api<CloudCredential> = Api::namespaced(client.clone(), &ns);
    let insts_api: Api<CloudInstance> = Api::namespaced(client.clone(), &ns);
    let providers: BTreeSet<String> = creds_api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| {
            serde_json::to_value(c.spec.provider)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        providers,
        ["alibaba", "huawei", "tencent"].map(String::from).into(),
        "one credential per cloud"
    );

    wait_until(T, "every credential and instance Ready", || async {
        let creds = creds_api.list(&ListParams::default()).await.unwrap().items;
        let insts = insts_api.list(&ListParams::default()).await.unwrap().items;
        creds.iter().all(|c| {
            let s = serde_json::to_value(&c.status).unwrap();
            ok(&s, "Ready") && condition(&s, "Ready").unwrap()["reason"] == "Verified"
        }) && insts.iter().all(|i| {
            let s = serde_json::to_value(&i.status).unwrap();
            let want = serde_json::to_value(i.spec.power_state).unwrap();
            ok(&s, "Ready") && ok(&s, "Synced") && s["state"] == want
        })
    })
    .await;
    let insts = insts_api.list(&ListParams::default()).await.unwrap().items;
    assert!(insts.len() >= 8, "the examples declare several instances");
    let stopped = insts
        .iter()
        .filter(|i| i.status.as_ref().and_then(|s| s.state.as_deref()) == Some("Stopped"))
        .count();
    assert!(stopped >= 1, "the stopped example is stopped");
    let orphan_ids: Vec<String> = insts
        .iter()
        .filter(|i| serde_json::to_value(i.spec.deletion_policy).unwrap() == "Orphan")
        .filter_map(|i| i.status.as_ref()?.instance_id.clone())
        .collect();
    assert_eq!(orphan_ids.len(), 1, "one Orphan example");

    insts_api
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
        .expect("delete all instances");
    wait_until(T, "every instance object gone", || async {
        insts_api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    })
    .await;
    let live: Vec<String> = ctl
        .instances()
        .await
        .into_iter()
        .filter(|i| {
            !["terminated", "terminating", "gone"].contains(&i["state"].as_str().unwrap_or(""))
        })
        .filter_map(|i| i["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        live, orphan_ids,
        "only the Orphan instance is left in the cloud"
    );
}
