//! Acceptance test of the cloud emulator against Tencent Cloud's official Python SDK
//! (`tencentcloud-sdk-python-cvm`): `tests/sdk/tencent_lifecycle.py`, an ordinary SDK
//! program whose only change is the endpoint, must pass against the emulator.
//!
//! The SDK is installed from PyPI into a virtualenv cached at `<target dir>/sdk-venv`.

#[path = "support/emulator.rs"]
mod emulator;
#[path = "support/sdk.rs"]
mod sdk;

use std::time::Duration;

use emulator::{Emulator, TENCENT_SECRET_ID, TENCENT_SECRET_KEY};

/// Pinned SDK packages (name, version).
const SDK_PACKAGES: &[(&str, &str)] = &[
    ("tencentcloud-sdk-python-common", "3.1.195"),
    ("tencentcloud-sdk-python-cvm", "3.1.178"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_drives_the_emulator() {
    let python = tokio::task::spawn_blocking(|| sdk::sdk_venv(SDK_PACKAGES, "Tencent Cloud"))
        .await
        .expect("virtualenv task");
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let endpoint = emu.addr().to_string();
    let output = sdk::run_script(
        python,
        "tencent_lifecycle.py",
        vec![
            ("TENCENTCLOUD_SECRET_ID", TENCENT_SECRET_ID.to_string()),
            ("TENCENTCLOUD_SECRET_KEY", TENCENT_SECRET_KEY.to_string()),
            ("CVM_ENDPOINT", endpoint),
            ("CVM_REGION", "ap-guangzhou".to_string()),
            ("CVM_WAIT_SECONDS", "60".to_string()),
        ],
    )
    .await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "tencent_lifecycle.py failed ({}); emulator log:\n{}",
        output.status,
        emu.log()
    );
    assert!(stdout.contains("OK: Tencent CVM lifecycle passed"));

    // The emulator saw the SDK's calls, including the rejected ones.
    let calls = emu.calls().await;
    let t = &calls["tencent"];
    assert_eq!(t["RunInstances"]["ok"], 2, "{calls}");
    // Tag limits of the Tag service (docs/provider-contract.md, Tencent §2.1 "tag limits").
    assert_eq!(
        t["RunInstances"]["error_codes"]["FailedOperation.TagKeyReserved"], 2,
        "{calls}"
    );
    assert_eq!(
        t["RunInstances"]["error_codes"]["FailedOperation.IllegalTagValue"], 1,
        "{calls}"
    );
    assert_eq!(
        t["RunInstances"]["error_codes"]["FailedOperation.IllegalTagKey"], 1,
        "{calls}"
    );
    assert_eq!(
        t["RunInstances"]["error_codes"]["DryRunOperation"], 1,
        "{calls}"
    );
    assert_eq!(t["StopInstances"]["ok"], 1, "{calls}");
    assert_eq!(t["StartInstances"]["ok"], 1, "{calls}");
    assert_eq!(t["RebootInstances"]["ok"], 1, "{calls}");
    assert_eq!(t["TerminateInstances"]["ok"], 1, "{calls}");
    assert_eq!(
        t["DescribeInstances"]["error_codes"]["AuthFailure.SignatureFailure"], 1,
        "{calls}"
    );

    // The ClientToken retry created nothing: one instance, now terminated and then removed.
    let tencent = emu.instances_of("tencent").await;
    assert!(tencent.len() <= 1, "{tencent:?}");
    if let Some(i) = tencent.first() {
        let id = i["id"].as_str().unwrap().to_string();
        emu.wait_for_state(&id, "gone", Duration::from_secs(10))
            .await;
    }
}

/// The documented rules of docs/provider-contract.md (Tencent) that the official SDK can
/// express, one function each in `tests/sdk/tencent_rules.py`; each must print its `OK:`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_checks_the_documented_rules() {
    let python = tokio::task::spawn_blocking(|| sdk::sdk_venv(SDK_PACKAGES, "Tencent Cloud"))
        .await
        .expect("virtualenv task");
    // The recycle bin keeps a returned prepaid instance for a minute (the second
    // TerminateInstances must find it there).
    let emu = Emulator::start(&[
        "--transition-delay-ms",
        "100",
        "--delay",
        "shutdown=60000",
        "--no-rate-limit",
    ])
    .await;
    let output = sdk::run_script(
        python,
        "tencent_rules.py",
        vec![
            ("TENCENTCLOUD_SECRET_ID", TENCENT_SECRET_ID.to_string()),
            ("TENCENTCLOUD_SECRET_KEY", TENCENT_SECRET_KEY.to_string()),
            (
                "TENCENTCLOUD_TEMP_SECRET_ID",
                "AKIDTEMP00000000000000000000000000".to_string(),
            ),
            (
                "TENCENTCLOUD_TEMP_SECRET_KEY",
                "demo-tencent-temporary-secret-key".to_string(),
            ),
            (
                "TENCENTCLOUD_TEMP_TOKEN",
                "demo-tencent-session-token".to_string(),
            ),
            ("CVM_ENDPOINT", emu.addr().to_string()),
            ("CVM_REGION", "ap-guangzhou".to_string()),
            ("CVM_WAIT_SECONDS", "30".to_string()),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    for rule in [
        "terminate_postpaid_destroys_directly",
        "terminate_prepaid_recycles_then_destroys",
        "terminate_mixed_charge_types_refused",
        "temporary_credentials_need_their_token",
        "security_groups_at_most_five",
        "tag_charset",
        "modify_one_attribute_per_request",
        "resize_one_instance_per_call",
        "instance_ids_at_most_100",
        "client_token_at_most_64",
        "force_flags_not_with_stop_type",
        "resize_needs_a_cloud_system_disk",
        "resize_ends_running",
        "private_ips_at_most_20",
        "keep_image_login_only_for_custom_images",
        "reinstall_os_switch_needs_a_cloud_system_disk",
        "insufficient_balance_refuses_purchases",
        "prepaid_return_needs_the_refund_rules",
        "live_migration_refuses_actions_and_ends_by_itself",
        "prepaid_returns_are_limited_by_the_return_quota",
        "promotional_instances_cannot_change_type",
        "rescue_mode_phases_refuse_actions",
    ] {
        assert!(
            stdout.contains(&format!("OK: {rule}\n")),
            "rule {rule} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(output.status.success(), "{stdout}");
    // The session token never reaches the emulator's request log.
    let log = emu.get_json("requests?provider=tencent").await.to_string();
    assert!(!log.contains("demo-tencent-session-token"));
}
