//! Acceptance test of the cloud emulator against Alibaba Cloud's official Python SDK
//! (`alibabacloud-ecs20140526`): `tests/sdk/alibaba_lifecycle.py`, an ordinary SDK program
//! whose only change is the endpoint (plain HTTP to the emulator), must pass.
//!
//! The SDK is installed from PyPI into the virtualenv cached at `<target dir>/sdk-venv`
//! (shared with the other SDK acceptance tests).

#[path = "support/emulator.rs"]
mod emulator;
#[path = "support/sdk.rs"]
mod sdk;

use emulator::{ALIBABA_ACCESS_KEY_ID, ALIBABA_ACCESS_KEY_SECRET, Emulator};

/// Pinned SDK packages (name, version).
const SDK_PACKAGES: &[(&str, &str)] = &[
    ("alibabacloud-ecs20140526", "7.11.8"),
    ("alibabacloud-tea-openapi", "0.4.6"),
    ("darabonba-core", "1.0.9"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_drives_the_emulator() {
    let python = tokio::task::spawn_blocking(|| sdk::sdk_venv(SDK_PACKAGES, "Alibaba Cloud"))
        .await
        .expect("virtualenv task");
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let endpoint = emu.addr().to_string();
    let output = sdk::run_script(
        python,
        "alibaba_lifecycle.py",
        vec![
            (
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
                ALIBABA_ACCESS_KEY_ID.to_string(),
            ),
            (
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                ALIBABA_ACCESS_KEY_SECRET.to_string(),
            ),
            ("ECS_ENDPOINT", endpoint),
            ("ECS_REGION", "cn-hangzhou".to_string()),
            ("ECS_WAIT_SECONDS", "60".to_string()),
        ],
    )
    .await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "alibaba_lifecycle.py failed ({}); emulator log:\n{}",
        output.status,
        emu.log()
    );
    assert!(stdout.contains("OK: Alibaba ECS lifecycle passed"));

    // The emulator saw the SDK's calls, including the rejected ones.
    let calls = emu.calls().await;
    let a = &calls["alibaba"];
    assert_eq!(a["RunInstances"]["ok"], 2, "{calls}");
    assert_eq!(
        a["RunInstances"]["error_codes"]["DryRunOperation"], 1,
        "{calls}"
    );
    assert_eq!(
        a["RunInstances"]["error_codes"]["IdempotentParameterMismatch"], 1,
        "{calls}"
    );
    assert_eq!(
        a["RunInstances"]["error_codes"]["InvalidClientToken.ValueNotSupported"], 1,
        "{calls}"
    );
    assert_eq!(a["StopInstances"]["ok"], 1, "{calls}");
    assert_eq!(
        a["StopInstances"]["error_codes"]["DRYRUN.SUCCESS"], 1,
        "{calls}"
    );
    assert_eq!(a["StartInstances"]["ok"], 1, "{calls}");
    assert_eq!(
        a["StartInstances"]["error_codes"]["IncorrectInstanceStatus"], 1,
        "{calls}"
    );
    assert_eq!(a["RebootInstances"]["ok"], 1, "{calls}");
    assert_eq!(a["DeleteInstances"]["ok"], 1, "{calls}");
    assert_eq!(a["DescribeRegions"]["ok"], 2, "{calls}");
    assert_eq!(
        a["DescribeRegions"]["error_codes"]["SignatureDoesNotMatch"], 1,
        "{calls}"
    );
    // The ClientToken retry created nothing, and the instance is gone.
    assert!(emu.instances_of("alibaba").await.is_empty());
}

/// Subscription instances (ModifyPrepayInstanceSpec, ModifyInstanceChargeType, release
/// rules) and the single-instance actions (StartInstance, StopInstance, RebootInstance,
/// DeleteInstance), driven by the official SDK: `tests/sdk/alibaba_prepaid.py`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_prepaid_and_single_instance_actions() {
    let (emu, calls) = run_ecs_script(
        "alibaba_prepaid.py",
        &["--transition-delay-ms", "300"],
        "OK: Alibaba ECS prepaid and single-instance actions passed",
    )
    .await;
    let a = &calls["alibaba"];
    assert_eq!(a["ModifyPrepayInstanceSpec"]["ok"], 3, "{calls}");
    assert_eq!(
        a["ModifyPrepayInstanceSpec"]["error_codes"]["InvalidStatus.NotStopped"], 1,
        "{calls}"
    );
    assert_eq!(
        a["ModifyInstanceSpec"]["error_codes"]["ChargeTypeViolation"], 1,
        "{calls}"
    );
    assert_eq!(
        a["DeleteInstances"]["error_codes"]["ChargeTypeViolation"], 1,
        "{calls}"
    );
    assert_eq!(a["ModifyInstanceChargeType"]["ok"], 1, "{calls}");
    assert_eq!(
        a["RunInstances"]["error_codes"]["InvalidSpotPrepaid"], 1,
        "{calls}"
    );
    for action in [
        "StartInstance",
        "StopInstance",
        "RebootInstance",
        "DeleteInstance",
    ] {
        assert_eq!(a[action]["ok"], 1, "{action}: {calls}");
    }
    assert!(emu.instances_of("alibaba").await.is_empty());
}

/// Security-group membership (JoinSecurityGroup, LeaveSecurityGroup, ModifyInstanceAttribute
/// SecurityGroupIds.N) and tags of existing instances (TagResources, UntagResources,
/// ListTagResources with NextToken), driven by the official SDK:
/// `tests/sdk/alibaba_groups_tags.py`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_security_groups_and_tags() {
    let (emu, calls) = run_ecs_script(
        "alibaba_groups_tags.py",
        &["--transition-delay-ms", "100"],
        "OK: Alibaba ECS security groups and tags passed",
    )
    .await;
    let a = &calls["alibaba"];
    assert_eq!(
        a["LeaveSecurityGroup"]["error_codes"]["InstanceLastSecurityGroup"], 1,
        "{calls}"
    );
    assert_eq!(
        a["JoinSecurityGroup"]["error_codes"]["InstanceSecurityGroupLimitExceeded"], 1,
        "{calls}"
    );
    assert_eq!(
        a["TagResources"]["error_codes"]["NumberExceed.ResourceIds"], 1,
        "{calls}"
    );
    assert_eq!(a["UntagResources"]["ok"], 2, "{calls}");
    let run = &a["RunInstances"]["error_codes"];
    assert_eq!(run["InvalidVSwitchId.Necessary"], 2, "{calls}");
    assert_eq!(run["InvalidVSwitchId.NotFound"], 1, "{calls}");
    assert_eq!(run["InvalidParameter.Mismatch"], 1, "{calls}");
    assert_eq!(run["InvalidHostName.Malformed"], 2, "{calls}");
    assert_eq!(run["InvalidPassword.Malformed"], 2, "{calls}");
    assert_eq!(
        a["DescribeInstances"]["error_codes"]["InvalidTagCount"], 1,
        "{calls}"
    );
    assert!(emu.instances_of("alibaba").await.is_empty());
}

/// RunInstances rules closed for issue 14 (docs/provider-contract.md, Alibaba §5), driven by
/// the official SDK: `tests/sdk/alibaba_create_rules.py` (the `${instance_id}` HostName
/// placeholder; `InvalidPayMethod` for a subscription with the emulator's
/// `alibaba_no_payment_method` switch; security groups of the catalog, in the vSwitch's or
/// the instance's VPC).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_create_rules() {
    let (emu, calls) = run_ecs_script(
        "alibaba_create_rules.py",
        &["--transition-delay-ms", "100"],
        "OK: Alibaba ECS create rules passed",
    )
    .await;
    let run = &calls["alibaba"]["RunInstances"];
    assert_eq!(
        run["error_codes"]["InvalidHostName.Malformed"], 1,
        "{calls}"
    );
    assert_eq!(run["error_codes"]["InvalidPayMethod"], 2, "{calls}");
    assert_eq!(
        run["error_codes"]["InvalidParameter.Mismatch"], 2,
        "{calls}"
    );
    assert_eq!(
        run["error_codes"]["InvalidSecurityGroupId.NotFound"], 2,
        "{calls}"
    );
    assert_eq!(
        run["error_codes"]["SecurityGroupInstanceLimitExceed"], 1,
        "{calls}"
    );
    let a = &calls["alibaba"];
    assert_eq!(
        a["JoinSecurityGroup"]["error_codes"]["SecurityGroupInstanceLimitExceeded"], 1,
        "{calls}"
    );
    assert_eq!(
        a["ModifyInstanceAttribute"]["error_codes"]["InvalidParameter"], 1,
        "{calls}"
    );
    for action in ["ModifyInstanceAttribute", "JoinSecurityGroup"] {
        assert_eq!(
            a[action]["error_codes"]["InvalidInstanceId.Mismatch"], 1,
            "{action}: {calls}"
        );
    }
    assert!(emu.instances_of("alibaba").await.is_empty());
}

/// Run `tests/sdk/<script>` with the official Alibaba SDK against a fresh emulator started
/// with `emulator_args`; the script must succeed and print `ok_line`. Returns the
/// emulator (still running) and its call counts.
async fn run_ecs_script(
    script: &'static str,
    emulator_args: &[&str],
    ok_line: &str,
) -> (Emulator, serde_json::Value) {
    let python = tokio::task::spawn_blocking(|| sdk::sdk_venv(SDK_PACKAGES, "Alibaba Cloud"))
        .await
        .expect("virtualenv task");
    let emu = Emulator::start(emulator_args).await;
    let output = sdk::run_script(
        python,
        script,
        vec![
            (
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
                ALIBABA_ACCESS_KEY_ID.to_string(),
            ),
            (
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                ALIBABA_ACCESS_KEY_SECRET.to_string(),
            ),
            ("ECS_ENDPOINT", emu.addr().to_string()),
            ("ECS_REGION", "cn-hangzhou".to_string()),
            ("ECS_WAIT_SECONDS", "60".to_string()),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed ({}); emulator log:\n{}",
        output.status,
        emu.log()
    );
    assert!(
        stdout.contains(ok_line),
        "{script} did not print {ok_line:?}"
    );
    let calls = emu.calls().await;
    (emu, calls)
}
