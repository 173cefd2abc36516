//! Create idempotency tokens end to end (issue 14, docs/provider-contract.md "Idempotency
//! tokens across the three clouds"): real kube-apiserver + the controller binary + the strict
//! cloud emulator, for every cloud.
//!
//! - A dry run, then the real create: the dry run must not poison the real create's token
//!   (Huawei records a dry run's `X-Client-Token`; reusing it with `dry_run: false` is
//!   `Ecs.0122`).
//! - A create the cloud refuses, then the spec fixed: the fixed create goes through.
//! - Huawei: the `X-Client-Token` the controller sends is an 8-4-4-4-12 UUID (else `Ecs.0123`).

mod support;

use std::time::Duration;

use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use cloudinstance_controller::api::CloudInstance;
use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;

const T: Duration = Duration::from_secs(60);

fn create_action(provider: &str) -> &'static str {
    match provider {
        "huawei" => "CreatePostPaidServers",
        _ => "RunInstances",
    }
}

/// An instance type the cloud does not offer (well-formed, so admission accepts it).
fn unknown_type(provider: &str) -> &'static str {
    match provider {
        "tencent" => "S5.NOPE99",
        "alibaba" => "ecs.nope.large",
        _ => "s6.nope.2",
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

async fn uid_of(client: &kube::Client, ns: &str, name: &str) -> String {
    Api::<CloudInstance>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .expect("get instance")
        .uid()
        .expect("uid")
}

async fn tokens(cloud: Cloud) {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, &format!("tokens-{}", cloud.provider)).await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &[]).await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;

    // A dry run, then the real create.
    apply_instance(
        &client,
        &ns,
        &instance("dry", "cred", &cloud, json!({"dryRun": true})),
    )
    .await;
    wait_until(T, "dry run validated", || async {
        let s = instance_status(&client, &ns, "dry").await;
        condition(&s, "Ready").is_some_and(|c| c["reason"] == "DryRunSucceeded")
    })
    .await;
    let uid = uid_of(&client, &ns, "dry").await;
    assert!(
        ctl.owned_by(&uid).await.is_empty(),
        "a dry run creates nothing"
    );
    patch_spec(&client, &ns, "dry", json!({"dryRun": false})).await;
    wait_until(T, "created after the dry run", || async {
        let s = instance_status(&client, &ns, "dry").await;
        is_ready(&s) && s["state"] == "Running"
    })
    .await;
    let owned = ctl.owned_by(&uid).await;
    assert_eq!(owned.len(), 1, "{owned:?}");
    if cloud.provider == "huawei" {
        let token = owned[0]["client_token"].as_str().unwrap_or_default();
        assert!(is_uuid(token), "X-Client-Token is a UUID: {token:?}");
    }

    // A create the cloud refuses, then the spec fixed.
    apply_instance(
        &client,
        &ns,
        &instance(
            "fix",
            "cred",
            &cloud,
            json!({"instanceType": unknown_type(cloud.provider)}),
        ),
    )
    .await;
    let refused: Value = wait_for(T, "create refused", || async {
        let s = instance_status(&client, &ns, "fix").await;
        condition(&s, "Synced")
            .is_some_and(|c| c["status"] == "False")
            .then_some(s)
    })
    .await;
    let uid = uid_of(&client, &ns, "fix").await;
    assert!(ctl.owned_by(&uid).await.is_empty(), "{refused}");
    patch_spec(
        &client,
        &ns,
        "fix",
        json!({"instanceType": cloud.instance_type}),
    )
    .await;
    wait_until(T, "created after the spec was fixed", || async {
        let s = instance_status(&client, &ns, "fix").await;
        is_ready(&s) && s["state"] == "Running"
    })
    .await;
    assert_eq!(ctl.owned_by(&uid).await.len(), 1);

    // No create ever hit a token rule of the cloud.
    let calls = ctl.calls().await;
    let errors = &calls[cloud.provider][create_action(cloud.provider)]["error_codes"];
    for code in [
        "Ecs.0122",
        "Ecs.0123",
        "Ecs.0124",
        "IdempotentParameterMismatch",
        "InvalidClientToken.ValueNotSupported",
        "InvalidClientToken.TooLong",
    ] {
        assert!(errors[code].is_null(), "{code}: {calls}");
    }
}

#[tokio::test]
async fn tencent_tokens() {
    tokens(TENCENT).await;
}

#[tokio::test]
async fn alibaba_tokens() {
    tokens(ALIBABA).await;
}

#[tokio::test]
async fn huawei_tokens() {
    tokens(HUAWEI).await;
}
