//! Bad specs never reach the controller: the real apiserver rejects them at admission
//! (OpenAPI schema + CEL rules generated from src/api) with readable messages.

mod support;

use support::cluster::{TestNamespace, admin_client, apply_yaml, kubectl_output};
use support::controller::install_crds;

const VALID: &str = r#"
apiVersion: compute.cloudinstance.io/v1alpha1
kind: CloudInstance
metadata:
  name: vm
spec:
  credentialRef: {name: cred}
  region: ap-guangzhou
  zone: ap-guangzhou-3
  imageId: img-pmqg1cw7
  instanceType: S5.MEDIUM4
"#;

/// `VALID` with `path` (dot-separated under spec) set to the YAML `value`.
fn with(edit: &str) -> String {
    // The edits below are whole extra lines under spec, or replacements of one line.
    let mut doc = VALID.to_string();
    for line in edit.lines().filter(|l| !l.trim().is_empty()) {
        if let Some((old, new)) = line.split_once(" => ") {
            assert!(doc.contains(old), "fixture has no line {old:?}");
            doc = doc.replace(old, new);
        } else {
            doc.push_str(&format!("  {line}\n"));
        }
    }
    doc
}

/// `VALID` without the line containing `needle`.
fn without(needle: &str) -> String {
    VALID
        .lines()
        .filter(|l| !l.contains(needle))
        .map(|l| format!("{l}\n"))
        .collect()
}

async fn rejected(ns: &str, yaml: &str, expect: &[&str]) {
    let out = kubectl_output(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=cic-tests",
            "--namespace",
            ns,
            "-f",
            "-",
        ],
        Some(yaml),
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected rejection, but it was accepted:\n{yaml}"
    );
    for e in expect {
        assert!(
            stderr.contains(e),
            "rejection message lacks {e:?}:\n{stderr}\n--- yaml ---\n{yaml}"
        );
    }
}

#[tokio::test]
async fn invalid_instances_are_rejected_with_clear_messages() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "admission").await;
    let ns = ns.name();

    let long_user_data = "x".repeat(16_385);
    let many_disks: String = (0..21).map(|_| "\n  - {sizeGb: 10}").collect();
    let many_tags: String = (0..41).map(|i| format!("\n    t{i}: v")).collect();
    let cases: Vec<(String, &[&str])> = vec![
        (
            with("powerState: Sleeping"),
            &["spec.powerState", "Unsupported value: \"Sleeping\""],
        ),
        (
            with("systemDisk: {sizeGb: -10}"),
            &["spec.systemDisk.sizeGb", "greater than or equal to 1"],
        ),
        (
            without("credentialRef:"),
            &["spec.credentialRef", "Required value"],
        ),
        (
            with("login: {password: hunter2}"),
            &["inline passwords are not allowed"],
        ),
        (
            with("tags: {cloudinstance-uid: forged}"),
            &["reserved for the controller"],
        ),
        (
            with(&format!("userData: {long_user_data}")),
            &["spec.userData", "Too long"],
        ),
        (
            with("region: ap-guangzhou => region: AP Guangzhou"),
            &["spec.region", "should match"],
        ),
        (
            with(&format!("dataDisks:{many_disks}")),
            &["spec.dataDisks", "must have at most 20 items"],
        ),
        (
            with("network: {publicIpBandwidthMbps: 5000}"),
            &["publicIpBandwidthMbps", "less than or equal to 1000"],
        ),
        (
            with("stopMode: Gentle"),
            &["spec.stopMode", "Unsupported value"],
        ),
        (
            with("deletionPolicy: Keep"),
            &["spec.deletionPolicy", "Unsupported value"],
        ),
        (
            with("login: {keyIds: [skey-1], passwordSecretRef: {name: pw}}"),
            &["set either login.keyIds or login.passwordSecretRef"],
        ),
        (
            with("imageId: img-pmqg1cw7 => imageId: \"\""),
            &["spec.imageId", "at least 1 chars long"],
        ),
        (
            without("instanceType:"),
            &["spec.instanceType", "Required value"],
        ),
        (
            with(&format!("tags: {{team: {}}}", "v".repeat(300))),
            &["values at most 255"],
        ),
        (with("hostname: -bad-"), &["spec.hostname", "should match"]),
        (
            with("reinstallPolicy: Always"),
            &["spec.reinstallPolicy", "Unsupported value"],
        ),
        (
            with("login: {keyIds: [a, b]}"),
            &["spec.login.keyIds", "must have at most 1 item"],
        ),
        (
            with(&format!("tags:{many_tags}")),
            &["spec.tags", "must have at most 40 items"],
        ),
    ];
    let n = cases.len();
    for (yaml, expect) in cases {
        rejected(ns, &yaml, expect).await;
    }

    // Immutable fields: create a valid object, then try to change each.
    apply_yaml(Some(ns), VALID).await;
    for (edit, msg) in [
        (
            "region: ap-guangzhou => region: ap-shanghai",
            "region is immutable",
        ),
        (
            "zone: ap-guangzhou-3 => zone: ap-guangzhou-4",
            "zone is immutable",
        ),
        (
            "credentialRef: {name: cred} => credentialRef: {name: other}",
            "credentialRef is immutable",
        ),
    ] {
        rejected(ns, &with(edit), &[msg]).await;
    }
    assert!(n + 3 >= 15);
}

#[tokio::test]
async fn invalid_credentials_are_rejected_with_clear_messages() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "admission-cred").await;
    let ns = ns.name();
    let cred = |provider: &str, extra: &str| {
        format!(
            "apiVersion: compute.cloudinstance.io/v1alpha1\nkind: CloudCredential\nmetadata: {{name: c}}\nspec:\n  provider: {provider}\n  secretRef: {{name: keys}}\n{extra}"
        )
    };
    rejected(
        ns,
        &cred("aws", ""),
        &["spec.provider", "Unsupported value: \"aws\""],
    )
    .await;
    rejected(
        ns,
        &cred("tencent", "  endpoint: ftp://example\n"),
        &["spec.endpoint", "should match"],
    )
    .await;
    rejected(
        ns,
        &cred("huawei", "  projectId: NOT-HEX\n"),
        &["spec.projectId", "should match"],
    )
    .await;
    rejected(
        ns,
        &cred("tencent", "  rateLimits: {mutatingPerSecond: 0}\n"),
        &["mutatingPerSecond", "greater than or equal to 1"],
    )
    .await;
    rejected(
        ns,
        "apiVersion: compute.cloudinstance.io/v1alpha1\nkind: CloudCredential\nmetadata: {name: c}\nspec:\n  provider: tencent\n",
        &["spec.secretRef", "Required value"],
    )
    .await;
    rejected(
        ns,
        &cred("huawei", ""),
        &["projectId is required for provider huawei"],
    )
    .await;
    apply_yaml(
        Some(ns),
        &cred("huawei", "  projectId: 0a1b2c3d4e5f60718293a4b5c6d7e8f9\n")
            .replace("name: c}", "name: hw}"),
    )
    .await;
    apply_yaml(Some(ns), &cred("tencent", "")).await;
    rejected(ns, &cred("alibaba", ""), &["provider is immutable"]).await;

    // status is validated too (the conditions' metav1 constraints, one condition per type)
    let status = |conditions: &str| format!("{{\"status\":{{\"conditions\":{conditions}}}}}");
    let ok = r#"{"type":"Ready","status":"False","reason":"AuthFailure.SignatureFailure","message":"m","lastTransitionTime":"2026-11-28T10:00:00Z"}"#;
    for (conditions, expect) in [
        (format!("[{ok}]"), None),
        (format!("[{ok},{ok}]"), Some("Duplicate value")),
        (
            ok.replace("\"False\"", "\"Maybe\""),
            Some("Unsupported value: \"Maybe\""),
        ),
        (
            ok.replace("AuthFailure.SignatureFailure", "not a reason!"),
            Some("should match"),
        ),
        (
            ok.replace("2026-11-28T10:00:00Z", "yesterday"),
            Some("lastTransitionTime"),
        ),
    ] {
        let conditions = if conditions.starts_with('[') {
            conditions
        } else {
            format!("[{conditions}]")
        };
        let out = kubectl_output(
            &[
                "patch",
                "cloudcredentials",
                "c",
                "-n",
                ns,
                "--subresource=status",
                "--type=merge",
                "-p",
                &status(&conditions),
            ],
            None,
        )
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        match expect {
            None => assert!(out.status.success(), "{conditions}: {stderr}"),
            Some(e) => {
                assert!(!out.status.success(), "accepted: {conditions}");
                assert!(stderr.contains(e), "{conditions}: lacks {e:?}: {stderr}");
            }
        }
    }
}
