//! Reliability: the cloud revokes the key, then the Secret gets the new one. Sizes and the
//! invariants every campaign ends with: `tests/support/campaign.rs`.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use kube::Api;
use kube::api::ListParams;
use serde_json::json;

use cloudinstance_controller::api::CloudCredential;
use support::campaign::*;
use support::controller::{ControllerProcess, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;
use support::scenario::crd_namespace;

fn accounts_file(dir: &Path, name: &str, key_id: &str, secret: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("- provider: tencent\n  key_id: {key_id}\n  secret: {secret}\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// The cloud revokes the key (the emulator restarts with a new secret for the same key
/// id, as after a rotation in the console): the credential goes Ready=False with the
/// cloud's reason, instances say why they cannot sync, and the controller does not
/// hammer the cloud. Putting the new secret into the Secret recovers everything without
/// a restart, and once settled no call fails any more.
#[tokio::test]
async fn key_revocation_and_rotation() {
    let sc = scale();
    let (client, ns) = crd_namespace("rel-rotate").await;
    let dir = tempfile::tempdir().unwrap();
    let key_id = "AKIDROTATE000000000000000000000000";
    let old_secret = format!("old-secret-{:08x}", rand::random::<u32>());
    let new_secret = format!("new-secret-{:08x}", rand::random::<u32>());
    let v1 = accounts_file(dir.path(), "accounts-v1.yaml", key_id, &old_secret);
    let v2 = accounts_file(dir.path(), "accounts-v2.yaml", key_id, &new_secret);
    let state = dir.path().join("state.json");
    let state = state.to_str().unwrap();
    let mut emu = Emulator::start(&[
        "--transition-delay-ms",
        "300",
        "--accounts",
        &v1,
        "--state-file",
        state,
    ])
    .await;
    let port = emu.port();
    let ctl = Control::new(emu.url());
    // The scheduled re-check is the default 10 minutes: revocation must be noticed
    // through the failing status polls, not by waiting for it.
    let controller = ControllerProcess::start(&ns, &[]).await;
    let cloud = TENCENT;
    let write_keys = |secret: String| {
        let client = client.clone();
        let ns = ns.clone();
        async move {
            apply_secret(
                &client,
                &ns,
                "cred-keys",
                &[
                    ("accessKeyId", key_id.as_bytes()),
                    ("secretAccessKey", secret.as_bytes()),
                ],
            )
            .await
        }
    };
    write_keys(old_secret.clone()).await;
    apply_cred(
        &client,
        &ns,
        "cred",
        "tencent",
        "cred-keys",
        emu.url(),
        json!({}),
    )
    .await;
    let mut fleet = Fleet::new(&client, &ns, "cred", cloud);
    for _ in 0..sc.rotation_objects {
        fleet.create().await;
    }
    wait_converged(&client, &ns, &fleet, sc.converge).await;

    // The cloud revokes the old secret.
    emu.terminate();
    emu = start_emulator_on(
        port,
        &[
            "--transition-delay-ms",
            "300",
            "--accounts",
            &v2,
            "--state-file",
            state,
        ],
    )
    .await;
    let revoked = Instant::now();
    let cond = cred_not_ready(&client, &ns, "cred", "AuthFailure").await;
    let detected = revoked.elapsed();
    // a slow poll (5 s) fails, asks for a re-check, the re-check fails: well inside 15 s
    assert!(
        detected < Duration::from_secs(15),
        "revocation noticed only after {detected:?}"
    );
    assert_eq!(cond["reason"], "AuthFailure.SignatureFailure", "{cond}");
    assert!(!message(&cond).is_empty(), "{cond}");
    for name in fleet.live() {
        let c = inst_false(&client, &ns, &name, "Synced", "CredentialNotReady").await;
        assert!(message(&c).contains("AuthFailure.SignatureFailure"), "{c}");
    }
    // No retry storm while the key is revoked: status polls back off to --poll-slow (5 s),
    // each failed poll asks for a credential re-check (honoured at most every 5 s), and
    // instances wait for the credential.
    let before = ctl.calls().await;
    let window = Duration::from_secs(12);
    tokio::time::sleep(window).await;
    let after = ctl.calls().await;
    let in_window =
        calls_sum(&after, "tencent", "total", &[]) - calls_sum(&before, "tencent", "total", &[]);
    let mutating = calls_sum(&after, "tencent", "total", MUTATING)
        - calls_sum(&before, "tencent", "total", MUTATING);
    eprintln!(
        "[rotation] revocation detected after {:.1}s (scheduled re-check: 10 min); \
         {in_window} calls in {window:?} while revoked",
        detected.as_secs_f64()
    );
    assert_eq!(mutating, 0, "no mutation attempted with a revoked key");
    // 12 s / 5 s re-checks + 12 s / 5 s polls, plus one each in flight
    assert!(
        in_window <= 16,
        "{in_window} calls in {window:?} with a revoked key"
    );

    // Rotate: the new secret goes into the Secret; no controller restart.
    let rotated = Instant::now();
    write_keys(new_secret.clone()).await;
    wait_until(T, "credential Ready with the new secret", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;
    let cred_back = rotated.elapsed();
    // and it is usable: a change after the rotation is carried out
    let first = fleet.live()[0].clone();
    fleet.flip(&first).await;
    wait_converged(&client, &ns, &fleet, sc.converge).await;
    for name in fleet.live() {
        let s = instance_status(&client, &ns, &name).await;
        assert_eq!(
            condition(&s, "Synced").unwrap()["status"],
            "True",
            "{name}: {s}"
        );
    }
    let all_back = rotated.elapsed();
    // Settled: no call fails any more (two slow polls)
    let before = ctl.calls().await;
    let auth0 = controller
        .metric_sum("cloudinstance_provider_calls_total", &[("result", "Auth")])
        .await;
    let window = Duration::from_secs(10);
    tokio::time::sleep(window).await;
    let after = ctl.calls().await;
    let errors =
        calls_sum(&after, "tencent", "errors", &[]) - calls_sum(&before, "tencent", "errors", &[]);
    let ok = calls_sum(&after, "tencent", "ok", &[]) - calls_sum(&before, "tencent", "ok", &[]);
    let auth = controller
        .metric_sum("cloudinstance_provider_calls_total", &[("result", "Auth")])
        .await
        - auth0;
    eprintln!(
        "[rotation] credential Ready {:.1}s after the Secret changed, all instances {:.1}s; \
         settled window: {ok} ok, {errors} failed calls",
        cred_back.as_secs_f64(),
        all_back.as_secs_f64()
    );
    assert_eq!(
        errors, 0,
        "calls still fail after the rotation settled: {after}"
    );
    assert_eq!(auth, 0.0, "auth failures after the rotation settled");
    assert!(ok > 0, "polling continues with the new key");
    assert_no_leaks(&client, &ns, &ctl, Some(&fleet)).await;
    let text = format!(
        "{}{}",
        controller.logs(),
        serde_json::to_string(
            &Api::<CloudCredential>::namespaced(client.clone(), &ns)
                .list(&ListParams::default())
                .await
                .unwrap()
        )
        .unwrap()
    );
    for s in [&old_secret, &new_secret] {
        assert!(!text.contains(s.as_str()), "secret {s} leaked");
    }
    drop(emu);
}
