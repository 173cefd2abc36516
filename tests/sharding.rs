//! Two controller installs sharing a namespace, split by `--label-selector`: each verifies,
//! counts and writes only the credentials (and reads only the Secrets) of its own shard,
//! consistently with the instances it serves.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use cloudinstance_controller::api::CloudCredential;
use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;

const T: Duration = Duration::from_secs(90);

/// The controller's log without terminal colours.
fn plain_log(c: &ControllerProcess) -> String {
    let log = c.logs();
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(ch);
        }
    }
    out
}

async fn apply(client: &kube::Client, ns: &str, secret: Value, cred: Value) {
    let name = secret["metadata"]["name"].as_str().unwrap().to_string();
    Api::<Secret>::namespaced(client.clone(), ns)
        .patch(
            &name,
            &PatchParams::apply("cic-tests").force(),
            &Patch::Apply(&secret),
        )
        .await
        .expect("apply secret");
    let name = cred["metadata"]["name"].as_str().unwrap().to_string();
    Api::<CloudCredential>::namespaced(client.clone(), ns)
        .patch(
            &name,
            &PatchParams::apply("cic-tests").force(),
            &Patch::Apply(&cred),
        )
        .await
        .expect("apply credential");
}

fn shard_objects(name: &str, secret_labels: Value, shard: &str, endpoint: &str) -> (Value, Value) {
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("{name}-keys"), "labels": secret_labels},
        "stringData": {"accessKeyId": TENCENT.key_id, "secretAccessKey": TENCENT.secret}});
    let cred = json!({"apiVersion": "compute.cloudinstance.io/v1alpha1", "kind": "CloudCredential",
        "metadata": {"name": name, "labels": {"shard": shard}},
        "spec": {"provider": "tencent", "endpoint": endpoint,
                 "secretRef": {"name": format!("{name}-keys")}}});
    (secret, cred)
}

#[tokio::test]
async fn two_shards_in_one_namespace_serve_only_their_own_credentials_and_secrets() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "shards").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "200"]).await;
    let a = ControllerProcess::start(&ns, &["--label-selector", "shard=a"]).await;
    let b = ControllerProcess::start(&ns, &["--label-selector", "shard=b"]).await;
    for shard in ["a", "b"] {
        let (s, c) = shard_objects(
            &format!("cred-{shard}"),
            json!({CREDENTIAL_LABEL: "true", "shard": shard}),
            shard,
            emu.url(),
        );
        apply(&client, &ns, s, c).await;
        let mut inst = instance(
            &format!("vm-{shard}"),
            &format!("cred-{shard}"),
            &TENCENT,
            json!({}),
        );
        inst["metadata"]["labels"] = json!({"shard": shard});
        apply_instance(&client, &ns, &inst).await;
    }
    // a credential of shard a whose Secret is not labelled for the shard
    let (s, c) = shard_objects("cred-x", json!({CREDENTIAL_LABEL: "true"}), "a", emu.url());
    apply(&client, &ns, s, c).await;

    for shard in ["a", "b"] {
        wait_until(T, "both shards' instances Ready", || async {
            is_ready(&instance_status(&client, &ns, &format!("vm-{shard}")).await)
        })
        .await;
    }
    let c = wait_for(T, "cred-x refused by shard a", || async {
        let s = credential_status(&client, &ns, "cred-x").await;
        condition(&s, "Ready")
            .filter(|c| c["reason"] == "SecretNotInShard")
            .cloned()
    })
    .await;
    assert!(
        c["message"]
            .as_str()
            .unwrap_or_default()
            .contains("shard=a"),
        "{c}"
    );
    // give both a few more reconciles, then read who handled what
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (la, lb) = (plain_log(&a), plain_log(&b));
    let handled = |log: &str, cred: &str| {
        log.contains(&format!(
            "kind=\"CloudCredential\" namespace={ns} name={cred}}}"
        ))
    };
    // (cred-x's SecretNotInShard above can only come from shard a: b does not watch it)
    assert!(
        handled(&la, "cred-a"),
        "shard a:
{la}"
    );
    assert!(
        !handled(&la, "cred-b"),
        "shard a reconciled shard b's credential:\n{la}"
    );
    assert!(handled(&lb, "cred-b"), "shard b:\n{lb}");
    assert!(
        !handled(&lb, "cred-a") && !handled(&lb, "cred-x"),
        "shard b reconciled shard a's credentials:\n{lb}"
    );
    drop((a, b));
}
