//! Alibaba subscription (`chargeType: Prepaid`) instances end to end (issue 14): real
//! kube-apiserver + the controller binary + the cloud emulator, which enforces the
//! documented PrePaid rules (docs/provider-contract.md, Alibaba §4 and §6).
//!
//! - Resize up and down: `ModifyPrepayInstanceSpec` (`OperatorType=downgrade` on a Stopped
//!   instance for the way down), never `ModifyInstanceSpec` (`ChargeTypeViolation` on PrePaid).
//! - Delete with `deletionPolicy: Delete`: an unexpired subscription cannot be released by
//!   `DeleteInstances`; the controller changes it to pay-as-you-go
//!   (`ModifyInstanceChargeType`) and releases it.
//! - When the cloud refuses that change (the refund quota, `QuotaExceed.RufundVcpu`), the
//!   object keeps its finalizer and says why and what to do (`Synced=False` with the code, a
//!   Warning Event); `deletionPolicy: Orphan` lets it go and leaves the instance alone.
//! - A subscription the account cannot pay (`InvalidPayMethod`) is reported on the object
//!   (`CreateRetryLater`) and not retried in a loop.

mod support;

use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};

use cloudinstance_controller::api::CloudInstance;
use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;

const T: Duration = Duration::from_secs(60);

fn error_count(calls: &Value, action: &str, code: &str) -> u64 {
    calls["alibaba"][action]["error_codes"][code]
        .as_u64()
        .unwrap_or(0)
}

fn ok_count(calls: &Value, action: &str) -> u64 {
    calls["alibaba"][action]["ok"].as_u64().unwrap_or(0)
}

async fn gone(client: &kube::Client, ns: &str, name: &str) -> bool {
    Api::<CloudInstance>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .expect("get instance")
        .is_none()
}

#[tokio::test]
async fn prepaid_resize_and_delete() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "prepaid-alibaba").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &ALIBABA, emu.url(), ALIBABA.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;

    apply_instance(
        &client,
        &ns,
        &instance("sub", "cred", &ALIBABA, json!({"chargeType": "Prepaid"})),
    )
    .await;
    let id: String = wait_for(T, "subscription instance Running", || async {
        let s = instance_status(&client, &ns, "sub").await;
        (is_ready(&s) && s["state"] == "Running")
            .then(|| s["instanceId"].as_str().map(str::to_string))
            .flatten()
    })
    .await;
    let cloud = ctl.instance(&id).await.expect("instance in the emulator");
    assert_eq!(cloud["charge_type"], "PrePaid", "{cloud}");

    // Up: ModifyPrepayInstanceSpec, the power state restored.
    patch_spec(
        &client,
        &ns,
        "sub",
        json!({"instanceType": ALIBABA.bigger_type}),
    )
    .await;
    wait_until(T, "upgraded and Running again", || async {
        let s = instance_status(&client, &ns, "sub").await;
        is_ready(&s) && s["state"] == "Running" && s["instanceType"] == ALIBABA.bigger_type
    })
    .await;
    // Down: needs OperatorType=downgrade on a Stopped instance (the controller stops first).
    patch_spec(
        &client,
        &ns,
        "sub",
        json!({"instanceType": ALIBABA.instance_type}),
    )
    .await;
    wait_until(T, "downgraded and Running again", || async {
        let s = instance_status(&client, &ns, "sub").await;
        is_ready(&s) && s["state"] == "Running" && s["instanceType"] == ALIBABA.instance_type
    })
    .await;
    let calls = ctl.calls().await;
    assert_eq!(ok_count(&calls, "ModifyPrepayInstanceSpec"), 2, "{calls}");
    assert_eq!(
        calls["alibaba"]["ModifyInstanceSpec"],
        Value::Null,
        "never ModifyInstanceSpec on PrePaid: {calls}"
    );
    for code in [
        "InvalidStatus.NotStopped",
        "InvalidInstanceType.ValueNotSupported",
    ] {
        assert_eq!(
            error_count(&calls, "ModifyPrepayInstanceSpec", code),
            0,
            "{code}: {calls}"
        );
    }

    // Delete: changed to pay-as-you-go, then released; DeleteInstances never refused.
    Api::<CloudInstance>::namespaced(client.clone(), &ns)
        .delete("sub", &Default::default())
        .await
        .expect("delete");
    wait_until(T, "object gone after the release", || async {
        gone(&client, &ns, "sub").await
    })
    .await;
    wait_until(T, "instance released", || async {
        ctl.instance(&id).await.is_none()
    })
    .await;
    let calls = ctl.calls().await;
    assert_eq!(ok_count(&calls, "ModifyInstanceChargeType"), 1, "{calls}");
    assert!(ok_count(&calls, "DeleteInstances") >= 1, "{calls}");
    assert_eq!(
        error_count(&calls, "DeleteInstances", "ChargeTypeViolation"),
        0,
        "{calls}"
    );

    // The cloud refuses the change of billing: the object says so and waits.
    apply_instance(
        &client,
        &ns,
        &instance("kept", "cred", &ALIBABA, json!({"chargeType": "Prepaid"})),
    )
    .await;
    let kept: String = wait_for(T, "second subscription instance Running", || async {
        let s = instance_status(&client, &ns, "kept").await;
        (is_ready(&s) && s["state"] == "Running")
            .then(|| s["instanceId"].as_str().map(str::to_string))
            .flatten()
    })
    .await;
    emu.inject_fault(json!({
        "provider": "alibaba",
        "action": "ModifyInstanceChargeType",
        "code": "QuotaExceed.RufundVcpu",
        "message": "The maximum number of refund vcpu is exceeded: 0",
        "http_status": 400,
    }))
    .await;
    Api::<CloudInstance>::namespaced(client.clone(), &ns)
        .delete("kept", &Default::default())
        .await
        .expect("delete");
    let synced: Value = wait_for(T, "refusal reported on the object", || async {
        let s = instance_status(&client, &ns, "kept").await;
        condition(&s, "Synced")
            .filter(|c| {
                c["status"] == "False"
                    && c["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("QuotaExceed.RufundVcpu"))
            })
            .cloned()
    })
    .await;
    let message = synced["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("deletionPolicy: Orphan") && message.contains(&kept),
        "the message names the instance and the ways out: {synced}"
    );
    let events: Vec<String> = Api::<Event>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter_map(|e| e.note)
        .collect();
    assert!(
        events.iter().any(|n| n.contains("QuotaExceed.RufundVcpu")),
        "a Warning Event names the refusal: {events:?}"
    );
    assert!(!gone(&client, &ns, "kept").await, "the finalizer holds");
    let still = ctl.instance(&kept).await.expect("instance not released");
    assert_eq!(still["charge_type"], "PrePaid", "{still}");
    let calls = ctl.calls().await;
    assert_eq!(
        error_count(&calls, "DeleteInstances", "ChargeTypeViolation"),
        0,
        "no release attempted while it is a subscription: {calls}"
    );

    // The escape hatch the message names: Orphan lets the object go, the VM stays.
    patch_spec(&client, &ns, "kept", json!({"deletionPolicy": "Orphan"})).await;
    wait_until(T, "orphaned object gone", || async {
        gone(&client, &ns, "kept").await
    })
    .await;
    assert!(
        ctl.instance(&kept).await.is_some(),
        "orphaned, not released"
    );
}

/// A subscription the account cannot pay: "If you set this parameter to PrePaid, make sure
/// that you have sufficient credit in your account. Otherwise, the `InvalidPayMethod` error is
/// returned" (AlibabaCloudDocs/ecs `Instances/RunInstances.md`, InstanceChargeType; 403 in the
/// error table), the emulator's `alibaba_no_payment_method` switch. The client classifies it
/// as billing (Quota), like Tencent's `InvalidAccount.InsufficientBalance`: the object says so
/// (`Ready` reason `CreateRetryLater`, `Synced` with the code), the create is not retried in a
/// loop, and once the account can pay, a spec change sends it again at once.
#[tokio::test]
async fn no_payment_method_is_reported_not_retried() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "alibaba-paymethod").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &ALIBABA, emu.url(), ALIBABA.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;

    ctl.set_config(json!({"alibaba_no_payment_method": true}))
        .await;
    let prepaid = json!({"chargeType": "Prepaid"});
    apply_instance(&client, &ns, &instance("sub", "cred", &ALIBABA, prepaid)).await;
    let synced = wait_for(T, "Synced=False with InvalidPayMethod", || async {
        let s = instance_status(&client, &ns, "sub").await;
        condition(&s, "Synced")
            .filter(|c| c["status"] == "False" && c["reason"] == "InvalidPayMethod")
            .cloned()
    })
    .await;
    let status = instance_status(&client, &ns, "sub").await;
    let ready = condition(&status, "Ready").expect("Ready").clone();
    assert_eq!(ready["status"], "False", "{status}");
    assert_eq!(ready["reason"], "CreateRetryLater", "{status}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let calls = ctl.calls().await;
    assert_eq!(
        error_count(&calls, "RunInstances", "InvalidPayMethod"),
        1,
        "an account without a payment method is asked once, not in a loop: {synced} {calls}"
    );
    assert_eq!(ok_count(&calls, "RunInstances"), 0, "{calls}");

    // A payment method added: a spec change sends the create again at once.
    ctl.set_config(json!({"alibaba_no_payment_method": false}))
        .await;
    patch_spec(&client, &ns, "sub", json!({"instanceName": "sub-2"})).await;
    wait_until(T, "Ready once the account can pay", || async {
        is_ready(&instance_status(&client, &ns, "sub").await)
    })
    .await;
    assert_eq!(ok_count(&ctl.calls().await, "RunInstances"), 1);
}
