//! Acceptance test of the cloud emulator against Huawei Cloud's official Python SDK
//! (`huaweicloudsdkecs`): `tests/sdk/huawei_lifecycle.py`, an ordinary SDK program whose
//! only change is the endpoint (plain HTTP to the emulator), must pass.
//!
//! The SDK is installed from PyPI into the virtualenv cached at `<target dir>/sdk-venv`
//! (shared with the other SDK acceptance tests).

#[path = "support/emulator.rs"]
mod emulator;
#[path = "support/sdk.rs"]
mod sdk;

use emulator::{Emulator, HUAWEI_AK, HUAWEI_PROJECT_ID, HUAWEI_SK};

/// Pinned SDK packages (name, version).
const SDK_PACKAGES: &[(&str, &str)] = &[
    ("huaweicloudsdkcore", "3.1.219"),
    ("huaweicloudsdkecs", "3.1.219"),
];

/// The packages of the IAM, BSS and VPC tests.
const IAM_SDK_PACKAGES: &[(&str, &str)] = &[
    ("huaweicloudsdkcore", "3.1.219"),
    ("huaweicloudsdkecs", "3.1.219"),
    ("huaweicloudsdkiam", "3.1.219"),
    ("huaweicloudsdkbss", "3.1.219"),
    ("huaweicloudsdkvpc", "3.1.219"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_drives_the_emulator() {
    let python = tokio::task::spawn_blocking(|| sdk::sdk_venv(SDK_PACKAGES, "Huawei Cloud"))
        .await
        .expect("virtualenv task");
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let endpoint = emu.url().to_string();
    let output = sdk::run_script(
        python,
        "huawei_lifecycle.py",
        vec![
            ("HUAWEICLOUD_SDK_AK", HUAWEI_AK.to_string()),
            ("HUAWEICLOUD_SDK_SK", HUAWEI_SK.to_string()),
            ("HUAWEICLOUD_PROJECT_ID", HUAWEI_PROJECT_ID.to_string()),
            ("ECS_ENDPOINT", endpoint),
            ("ECS_WAIT_SECONDS", "60".to_string()),
        ],
    )
    .await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "huawei_lifecycle.py failed ({}); emulator log:\n{}",
        output.status,
        emu.log()
    );
    assert!(stdout.contains("OK: Huawei ECS lifecycle passed"));

    let calls = emu.calls().await;
    let h = &calls["huawei"];
    // Dry run, real create, the X-Client-Token repeat, and the server NovaDeleteServer
    // deletes.
    assert_eq!(h["CreatePostPaidServers"]["ok"], 4, "{calls}");
    // X-Client-Token rules: a non-UUID token, the dry run's token for the real create and
    // the create's token with another name.
    assert_eq!(
        h["CreatePostPaidServers"]["error_codes"]["Ecs.0123"], 1,
        "{calls}"
    );
    assert_eq!(
        h["CreatePostPaidServers"]["error_codes"]["Ecs.0122"], 2,
        "{calls}"
    );
    assert_eq!(h["BatchStopServers"]["ok"], 1, "{calls}");
    assert_eq!(h["BatchStartServers"]["ok"], 1, "{calls}");
    assert_eq!(h["BatchRebootServers"]["ok"], 1, "{calls}");
    assert_eq!(h["ReinstallServerWithCloudInit"]["ok"], 1, "{calls}");
    assert_eq!(h["NovaDeleteServer"]["ok"], 1, "{calls}");
    assert_eq!(
        h["ReinstallServerWithCloudInit"]["error_codes"]["Ecs.0005"], 1,
        "{calls}"
    );
    assert_eq!(h["DeleteServers"]["ok"], 1, "{calls}");
    assert!(h["ShowJob"]["ok"].as_u64().unwrap_or(0) >= 5, "{calls}");
    assert_eq!(h["ShowServer"]["error_codes"]["Ecs.0114"], 1, "{calls}");
    assert_eq!(
        h["ListServersDetails"]["error_codes"]["APIGW.0301"], 1,
        "{calls}"
    );
    // Two servers were created (the token repeat made none) and both are deleted.
    let left = emu.instances_of("huawei").await;
    assert!(left.iter().all(|i| i["state"] != "running"), "{left:?}");
    assert!(left.len() <= 2, "{left:?}");
}

/// Per-region projects through the official SDKs (`tests/sdk/huawei_projects.py`): the SDK
/// core's own IAM project lookup, ListServerAzInfo per region, IAM KeystoneListAuthProjects
/// and ShowPermanentAccessKey, and a regional endpoint refusing another region's project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_sees_one_project_per_region() {
    let calls = run_iam_script("huawei_projects.py", &[]).await;
    let h = &calls["huawei"];
    assert_eq!(h["KeystoneListProjects"]["ok"], 2, "{calls}");
    assert_eq!(h["ListServerAzInfo"]["ok"], 3, "{calls}");
    assert_eq!(
        h["ListServerAzInfo"]["error_codes"]["APIGW.0301"], 1,
        "{calls}"
    );
    assert_eq!(h["ShowPermanentAccessKey"]["ok"], 1, "{calls}");
}

/// Yearly/monthly servers through the official SDKs (`tests/sdk/huawei_prepaid.py`):
/// `op_svc_userid` on a create with a key pair, the v1 resize and DeleteServers refused, the
/// v1.1 resize and BSS CancelResourcesSubscription accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_prepaid_paths() {
    let calls = run_iam_script("huawei_prepaid.py", &["--transition-delay-ms", "200"]).await;
    let h = &calls["huawei"];
    assert_eq!(h["CreateServers"]["ok"], 1, "{calls}");
    assert_eq!(h["CreateServers"]["error_codes"]["Ecs.0005"], 1, "{calls}");
    assert_eq!(
        h["ResizePostPaidServer"]["error_codes"]["Ecs.0005"], 1,
        "{calls}"
    );
    assert_eq!(h["ResizeServer"]["ok"], 1, "{calls}");
    assert_eq!(h["DeleteServers"]["error_codes"]["Ecs.0513"], 1, "{calls}");
    assert_eq!(h["CancelResourcesSubscription"]["ok"], 1, "{calls}");
}

/// A server's security groups per port through the official VPC v3 SDK
/// (`tests/sdk/huawei_ports.py`): ShowPort, AddSecurityGroups (dry run, index, the
/// 100-per-port limit, VPC.2500), RemoveSecurityGroups, an unknown port, the project per
/// region and the signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_changes_security_groups_per_port() {
    let calls = run_iam_script("huawei_ports.py", &[]).await;
    let h = &calls["huawei"];
    // dry run, B+C, and the other region's project (404)
    assert_eq!(h["AddSecurityGroups"]["ok"], 2, "{calls}");
    assert_eq!(
        h["AddSecurityGroups"]["error_codes"]["VPC.2500"], 2,
        "{calls}"
    );
    assert_eq!(
        h["AddSecurityGroups"]["error_codes"]["VPC.2502"], 1,
        "{calls}"
    );
    assert_eq!(h["RemoveSecurityGroups"]["ok"], 1, "{calls}");
    assert_eq!(
        h["RemoveSecurityGroups"]["error_codes"]["APIGW.0301"], 1,
        "{calls}"
    );
    assert_eq!(h["ShowPort"]["error_codes"]["APIGW.0301"], 1, "{calls}");
    assert_eq!(h["ShowPort"]["error_codes"]["VPC.2502"], 1, "{calls}");
}

/// Networks and flavor families through the official SDKs (`tests/sdk/huawei_network.py`):
/// a subnet the region does not have is Ecs.0038; security groups the region does not
/// have are Ecs.0014 at create and VPC.0601 / VPC.0603 on a port; resizes between flavor
/// families that cannot switch are Ecs.0806 / 0805 / 0812 / 0804 on the v1 and v1.1 APIs,
/// and ListResizeFlavors lists the targets the resize accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_meets_the_network_and_flavor_rules() {
    let calls = run_iam_script("huawei_network.py", &["--transition-delay-ms", "200"]).await;
    let h = &calls["huawei"];
    assert_eq!(
        h["CreatePostPaidServers"]["error_codes"]["Ecs.0038"], 2,
        "{calls}"
    );
    assert_eq!(
        h["CreatePostPaidServers"]["error_codes"]["Ecs.0014"], 3,
        "{calls}"
    );
    assert_eq!(
        h["AddSecurityGroups"]["error_codes"]["VPC.0601"], 1,
        "{calls}"
    );
    assert_eq!(
        h["AddSecurityGroups"]["error_codes"]["VPC.0603"], 1,
        "{calls}"
    );
    assert_eq!(
        h["RemoveSecurityGroups"]["error_codes"]["VPC.0603"], 1,
        "{calls}"
    );
    assert_eq!(h["AddSecurityGroups"]["ok"], 1, "{calls}");
    // Flavor families, on both resize APIs.
    for action in ["ResizePostPaidServer", "ResizeServer"] {
        for code in ["Ecs.0806", "Ecs.0805", "Ecs.0812", "Ecs.0804"] {
            assert_eq!(
                h[action]["error_codes"][code], 1,
                "{action} {code}: {calls}"
            );
        }
        assert_eq!(h[action]["ok"], 1, "{action}: {calls}");
    }
    assert_eq!(h["ListResizeFlavors"]["ok"], 3, "{calls}");
}

/// Run `tests/sdk/<script>` with the official Huawei SDKs (IAM, BSS and VPC included)
/// against a fresh emulator started with `emulator_args`; the script must succeed. Returns
/// the emulator's call counts.
async fn run_iam_script(script: &'static str, emulator_args: &[&str]) -> serde_json::Value {
    let python = tokio::task::spawn_blocking(|| sdk::sdk_venv(IAM_SDK_PACKAGES, "Huawei Cloud"))
        .await
        .expect("virtualenv task");
    let emu = Emulator::start(emulator_args).await;
    let output = sdk::run_script(
        python,
        script,
        vec![
            ("HUAWEICLOUD_SDK_AK", HUAWEI_AK.to_string()),
            ("HUAWEICLOUD_SDK_SK", HUAWEI_SK.to_string()),
            ("HOME_PROJECT_ID", HUAWEI_PROJECT_ID.to_string()),
            ("EMULATOR", emu.url().to_string()),
        ],
    )
    .await;
    assert!(
        output.status.success(),
        "{script} failed ({}); emulator log:\n{}",
        output.status,
        emu.log()
    );
    emu.calls().await
}
