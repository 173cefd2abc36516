//! Yearly/monthly (`chargeType: Prepaid`) Huawei servers end to end (issue 14, item 2;
//! docs/provider-contract.md Huawei §3, §7, §11): real kube-apiserver, the controller binary
//! and the strict cloud emulator, which refuses the pay-per-use paths for such servers
//! (`ResizePostPaidServer`: API ecs_02_0210 constraint; `DeleteServers`: `Ecs.0513`,
//! ecs_02_0103) and needs `metadata.op_svc_userid` on a create with a key pair.
//!
//! - create with an SSH key: the v1.1 create carries the IAM user id (IAM
//!   ShowPermanentAccessKey);
//! - resize: stop, `POST /v1.1/.../resize` (ecs_02_0209), start;
//! - delete: BSS CancelResourcesSubscription, never DeleteServers.
//! - a pay-per-use server of the same credential keeps the v1 paths.

mod support;

use std::time::Duration;

use kube::Api;
use kube::api::DeleteParams;
use serde_json::{Value, json};

use cloudinstance_controller::api::CloudInstance;
use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;

const T: Duration = Duration::from_secs(90);

fn huawei_calls(calls: &Value, action: &str, outcome: &str) -> u64 {
    calls["huawei"][action][outcome].as_u64().unwrap_or(0)
}

fn no_errors(calls: &Value, action: &str) -> bool {
    calls["huawei"][action]["error_codes"]
        .as_object()
        .is_none_or(|m| m.is_empty())
}

#[tokio::test]
async fn prepaid_huawei_server_takes_the_subscription_paths() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "prepaid-huawei").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &[]).await;
    let cloud = HUAWEI;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;

    // Create: yearly/monthly, with a key pair.
    let sub = instance(
        "sub",
        "cred",
        &cloud,
        json!({"chargeType": "Prepaid", "login": {"keyIds": ["kp-demo"]}}),
    );
    apply_instance(&client, &ns, &sub).await;
    let s = wait_for(T, "prepaid server Running", || async {
        let s = instance_status(&client, &ns, "sub").await;
        (is_ready(&s) && s["state"] == "Running").then_some(s)
    })
    .await;
    let id = s["instanceId"].as_str().expect("id").to_string();
    let rec = ctl.instance(&id).await.expect("recorded");
    assert_eq!(rec["charge_type"], "prePaid", "{rec}");
    let calls = ctl.calls().await;
    assert_eq!(huawei_calls(&calls, "CreateServers", "ok"), 1, "{calls}");
    assert!(
        huawei_calls(&calls, "ShowPermanentAccessKey", "ok") >= 1,
        "{calls}"
    );

    // A pay-per-use server next to it.
    let od = instance("od", "cred", &cloud, json!({}));
    apply_instance(&client, &ns, &od).await;
    let s = wait_for(T, "pay-per-use server Running", || async {
        let s = instance_status(&client, &ns, "od").await;
        (is_ready(&s) && s["state"] == "Running").then_some(s)
    })
    .await;
    let od_id = s["instanceId"].as_str().expect("id").to_string();

    // Resize both: the prepaid one through v1.1, the other through v1.
    for name in ["sub", "od"] {
        patch_spec(
            &client,
            &ns,
            name,
            json!({"instanceType": cloud.bigger_type}),
        )
        .await;
    }
    for (name, server) in [("sub", &id), ("od", &od_id)] {
        wait_until(T, "resized and running again", || async {
            let s = instance_status(&client, &ns, name).await;
            let rec = ctl.instance(server).await.unwrap_or_default();
            is_ready(&s) && s["state"] == "Running" && rec["instance_type"] == cloud.bigger_type
        })
        .await;
    }
    let calls = ctl.calls().await;
    assert_eq!(huawei_calls(&calls, "ResizeServer", "ok"), 1, "{calls}");
    assert_eq!(
        huawei_calls(&calls, "ResizePostPaidServer", "ok"),
        1,
        "{calls}"
    );
    assert!(
        no_errors(&calls, "ResizePostPaidServer"),
        "no pay-per-use resize of the prepaid server: {calls}"
    );

    // Delete both: the prepaid one is unsubscribed, the other deleted.
    let api: Api<CloudInstance> = Api::namespaced(client.clone(), &ns);
    for name in ["sub", "od"] {
        api.delete(name, &DeleteParams::default())
            .await
            .expect("delete");
    }
    wait_until(T, "both objects gone", || async {
        api.get_opt("sub").await.ok().flatten().is_none()
            && api.get_opt("od").await.ok().flatten().is_none()
    })
    .await;
    let calls = ctl.calls().await;
    assert_eq!(
        huawei_calls(&calls, "CancelResourcesSubscription", "ok"),
        1,
        "{calls}"
    );
    assert_eq!(huawei_calls(&calls, "DeleteServers", "ok"), 1, "{calls}");
    assert!(
        no_errors(&calls, "DeleteServers"),
        "DeleteServers never saw the prepaid server: {calls}"
    );
    for server in [&id, &od_id] {
        let rec = ctl.instance(server).await;
        assert!(
            rec.as_ref()
                .is_none_or(|r| r["state"] == "terminated" || r["state"] == "terminating"),
            "{rec:?}"
        );
    }
}
