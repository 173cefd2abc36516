//! Tencent billing rules, end to end (issue 14; docs/provider-contract.md, Tencent §2.1
//! "prepaid billing" and §2.2 TerminateInstances): real kube-apiserver + the controller
//! binary + the cloud emulator.
//!
//! A purchase the account cannot pay for:
//! "预付费实例的购买会预先扣除本次实例购买所需金额，按小时后付费实例购买会预先冻结本次实例购买
//! 一小时内所需金额，在调用本接口前请确保账户余额充足" (RunInstances doc comment,
//! tencentcloud-sdk-go `cvm/v20170312/client.go`); the refusal is
//! `InvalidAccount.InsufficientBalance` ("账户余额不足", in its error list). The client
//! classifies it as billing quota: the object says so (`Ready` reason `CreateRetryLater`,
//! `Synced` with the code) and the create is not retried in a loop; after a top-up, a spec
//! change sends it again at once.
//!
//! A prepaid instance that does not meet the refund rules: "包年包月实例如符合退还规则，也
//! 可通过本接口主动退还" (TerminateInstances doc comment; product/213/9711), otherwise
//! `FailedOperation.Unreturnable` ("实例无法退还", in its error list). The object keeps its
//! finalizer and says so (`Synced=False` with the code); `deletionPolicy: Orphan` lets it
//! go and leaves the VM.
//!
//! A prepaid instance when the account's return quota is used up: `LimitExceeded.UserReturnQuota`
//! ("退还失败，退还配额已达上限", tencentcloud-sdk-go `cvm/v20170312/errors.go`, in the
//! TerminateInstances error list). Classified as quota: the object keeps its finalizer and
//! says so, the return is not sent in a loop (re-checked every 5 minutes), and a change of
//! the object sends it again at once: once the quota allows it, the instance is returned
//! and the object goes.

mod support;

use std::time::Duration;

use serde_json::json;

use kube::Api;

use cloudinstance_controller::api::CloudInstance;
use support::controller::{ControllerProcess, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;
use support::scenario::crd_namespace;

const T: Duration = Duration::from_secs(60);

#[tokio::test]
async fn tencent_insufficient_balance_is_reported_not_retried() {
    let (client, ns) = crd_namespace("tencent-balance").await;
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &TENCENT, emu.url(), TENCENT.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;

    ctl.set_config(json!({"tencent_balance_insufficient": true}))
        .await;
    let prepaid = json!({"chargeType": "Prepaid"});
    apply_instance(&client, &ns, &instance("paid", "cred", &TENCENT, prepaid)).await;
    let synced = wait_for(T, "Synced=False with the balance code", || async {
        let s = instance_status(&client, &ns, "paid").await;
        condition(&s, "Synced")
            .filter(|c| {
                c["status"] == "False" && c["reason"] == "InvalidAccount.InsufficientBalance"
            })
            .cloned()
    })
    .await;
    let status = instance_status(&client, &ns, "paid").await;
    let ready = condition(&status, "Ready").expect("Ready").clone();
    assert_eq!(ready["status"], "False", "{status}");
    assert_eq!(ready["reason"], "CreateRetryLater", "{status}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        ctl.call_count("tencent", "RunInstances").await,
        1,
        "an account without balance is asked once, not in a loop: {synced}"
    );
    assert!(ctl.instances().await.is_empty(), "nothing was created");

    // Topped up: a spec change sends the create again at once.
    ctl.set_config(json!({"tencent_balance_insufficient": false}))
        .await;
    patch_spec(&client, &ns, "paid", json!({"instanceName": "paid-2"})).await;
    wait_until(T, "Ready after the top-up", || async {
        is_ready(&instance_status(&client, &ns, "paid").await)
    })
    .await;
    assert_eq!(ctl.call_count("tencent", "RunInstances").await, 2);
}

#[tokio::test]
async fn tencent_unreturnable_prepaid_instance_keeps_its_object() {
    let (client, ns) = crd_namespace("tencent-refund").await;
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &TENCENT, emu.url(), TENCENT.secret).await;
    let prepaid = json!({"chargeType": "Prepaid"});
    apply_instance(&client, &ns, &instance("kept", "cred", &TENCENT, prepaid)).await;
    let id: String = wait_for(T, "prepaid instance Running", || async {
        let s = instance_status(&client, &ns, "kept").await;
        (is_ready(&s) && s["state"] == "Running")
            .then(|| s["instanceId"].as_str().map(str::to_string))
            .flatten()
    })
    .await;
    let r = reqwest::Client::new()
        .post(format!("{}/instances/{id}/returnable", ctl.base))
        .json(&json!({"returnable": false}))
        .send()
        .await
        .expect("POST returnable");
    assert!(r.status().is_success());

    let api = Api::<CloudInstance>::namespaced(client.clone(), &ns);
    api.delete("kept", &Default::default())
        .await
        .expect("delete");
    let synced = wait_for(T, "refusal reported on the object", || async {
        let s = instance_status(&client, &ns, "kept").await;
        condition(&s, "Synced")
            .filter(|c| {
                c["status"] == "False" && message(c).contains("FailedOperation.Unreturnable")
            })
            .cloned()
    })
    .await;
    assert!(
        api.get_opt("kept").await.unwrap().is_some(),
        "the finalizer holds: {synced}"
    );
    let still = ctl.instance(&id).await.expect("instance kept");
    assert_eq!(still["state"], "running", "not returned: {still}");

    patch_spec(&client, &ns, "kept", json!({"deletionPolicy": "Orphan"})).await;
    wait_until(T, "orphaned object gone", || async {
        api.get_opt("kept").await.unwrap().is_none()
    })
    .await;
    assert!(ctl.instance(&id).await.is_some(), "orphaned, not returned");
}

#[tokio::test]
async fn tencent_return_quota_holds_the_deletion_until_it_allows_it() {
    let (client, ns) = crd_namespace("tencent-return-quota").await;
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &TENCENT, emu.url(), TENCENT.secret).await;
    let prepaid = json!({"chargeType": "Prepaid"});
    apply_instance(&client, &ns, &instance("quota", "cred", &TENCENT, prepaid)).await;
    let id: String = wait_for(T, "prepaid instance Running", || async {
        let s = instance_status(&client, &ns, "quota").await;
        (is_ready(&s) && s["state"] == "Running")
            .then(|| s["instanceId"].as_str().map(str::to_string))
            .flatten()
    })
    .await;
    ctl.set_config(json!({"tencent_return_quota": 0})).await;

    let api = Api::<CloudInstance>::namespaced(client.clone(), &ns);
    api.delete("quota", &Default::default())
        .await
        .expect("delete");
    let synced = wait_for(T, "refusal reported on the object", || async {
        let s = instance_status(&client, &ns, "quota").await;
        condition(&s, "Synced")
            .filter(|c| {
                c["status"] == "False" && message(c).contains("LimitExceeded.UserReturnQuota")
            })
            .cloned()
    })
    .await;
    assert!(
        api.get_opt("quota").await.unwrap().is_some(),
        "the finalizer holds: {synced}"
    );
    let still = ctl.instance(&id).await.expect("instance kept");
    assert_eq!(still["state"], "running", "not returned: {still}");

    // Not sent in a loop.
    let sent = ctl.call_count("tencent", "TerminateInstances").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        ctl.call_count("tencent", "TerminateInstances").await,
        sent,
        "no TerminateInstances loop against a used-up quota"
    );
    // The quota allows a return again (a new year) and the user touches the object: the
    // return is sent again, the object goes.
    ctl.set_config(json!({"tencent_return_quota": null})).await;
    api.patch(
        "quota",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"metadata": {"labels": {"nudge": "1"}}})),
    )
    .await
    .expect("label the object");
    wait_until(T, "object gone after the return", || async {
        api.get_opt("quota").await.unwrap().is_none()
    })
    .await;
    let gone = ctl.instance(&id).await;
    assert!(
        gone.as_ref().is_none_or(|i| i["state"] != "running"),
        "returned: {gone:?}"
    );
}
