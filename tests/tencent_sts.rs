//! Temporary (STS) credentials end to end (issue 14; docs/provider-contract.md, Tencent §0):
//! real kube-apiserver + the controller binary + the cloud emulator, whose temporary demo
//! key needs its session token (`X-TC-Token`; CVM API reference "Common Params" `Token`,
//! `AuthFailure.TokenFailure` otherwise).
//!
//! A Secret with `sessionToken` verifies and creates an instance; the same key without
//! the token is refused with the cloud's code; a token in an Alibaba credential's Secret is
//! refused before any request (the Alibaba client sends none); the token never reaches the
//! controller's log.

mod support;

use std::time::Duration;

use serde_json::json;

use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;

const T: Duration = Duration::from_secs(60);
const TEMP_ID: &str = "AKIDTEMP00000000000000000000000000";
const TEMP_KEY: &str = "demo-tencent-temporary-secret-key";
const TOKEN: &str = "demo-tencent-session-token";

#[tokio::test]
async fn tencent_temporary_credentials_end_to_end() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "tencent-sts").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let controller = ControllerProcess::start(&ns, &[]).await;
    let label = json!({CREDENTIAL_LABEL: "true"});

    // With its token: verified, and an instance is created with it.
    apply_secret_labelled(
        &client,
        &ns,
        "sts-keys",
        label.clone(),
        &[
            ("accessKeyId", TEMP_ID.as_bytes()),
            ("secretAccessKey", TEMP_KEY.as_bytes()),
            ("sessionToken", TOKEN.as_bytes()),
        ],
    )
    .await;
    apply_cred(
        &client,
        &ns,
        "sts",
        "tencent",
        "sts-keys",
        emu.url(),
        json!({}),
    )
    .await;
    wait_until(T, "temporary credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "sts").await)
    })
    .await;
    apply_instance(&client, &ns, &instance("web", "sts", &TENCENT, json!({}))).await;
    wait_until(T, "instance Running with temporary credentials", || async {
        let s = instance_status(&client, &ns, "web").await;
        is_ready(&s) && s["state"] == "Running"
    })
    .await;

    // The same key without the token: the cloud's code on the credential.
    apply_secret_labelled(
        &client,
        &ns,
        "sts-keys-no-token",
        label.clone(),
        &[
            ("accessKeyId", TEMP_ID.as_bytes()),
            ("secretAccessKey", TEMP_KEY.as_bytes()),
        ],
    )
    .await;
    apply_cred(
        &client,
        &ns,
        "sts-no-token",
        "tencent",
        "sts-keys-no-token",
        emu.url(),
        json!({}),
    )
    .await;
    cred_not_ready(&client, &ns, "sts-no-token", "AuthFailure.TokenFailure").await;

    // A token for a cloud whose client sends none: refused, not silently dropped.
    apply_secret_labelled(
        &client,
        &ns,
        "ali-keys",
        label,
        &[
            ("accessKeyId", ALIBABA.key_id.as_bytes()),
            ("secretAccessKey", ALIBABA.secret.as_bytes()),
            ("sessionToken", b"an-sts-token"),
        ],
    )
    .await;
    apply_cred(
        &client,
        &ns,
        "ali",
        "alibaba",
        "ali-keys",
        emu.url(),
        json!({}),
    )
    .await;
    let c = cred_not_ready(&client, &ns, "ali", "SessionTokenUnsupported").await;
    assert!(!message(&c).contains("an-sts-token"), "{c}");

    let logs = controller.logs();
    assert!(!logs.contains(TOKEN), "session token in the controller log");
    assert!(!logs.contains(TEMP_KEY), "secret key in the controller log");
}
