//! Tag keys the clouds reserve are rejected at admission whatever the cloud (CEL in
//! src/api/instance.rs): Alibaba `aliyun` / `acs:` (SDK alibabacloud-ecs20140526
//! `RunInstancesRequestTag.key`), Tencent `qcs:` (Tag service limits,
//! https://cloud.tencent.com/document/product/651/13354). Rules that differ per cloud are
//! left to the create (a `CreateRefused` condition from the client's check,
//! src/provider/{alibaba,tencent}/tags.rs), so admission still accepts them.

mod support;

use support::cluster::{TestNamespace, admin_client, kubectl_output};
use support::controller::install_crds;

fn manifest(name: &str, tags: &str) -> String {
    format!(
        r#"
apiVersion: compute.cloudinstance.io/v1alpha1
kind: CloudInstance
metadata:
  name: {name}
spec:
  credentialRef: {{name: cred}}
  region: cn-hangzhou
  zone: cn-hangzhou-h
  imageId: aliyun_3_x64_20G_alibase_20240819.vhd
  instanceType: ecs.g7.large
  tags: {tags}
"#
    )
}

async fn apply(ns: &str, yaml: &str) -> (bool, String) {
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
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn cloud_reserved_tag_keys_are_rejected_others_left_to_the_cloud() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "tag-admission").await;
    let ns = ns.name();

    for (i, key) in [
        "aliyun-owner",
        "acs:env",
        "ACS:Env",
        "AliYun",
        "qcs:project",
    ]
    .iter()
    .enumerate()
    {
        let (ok, stderr) = apply(
            ns,
            &manifest(&format!("bad-{i}"), &format!("{{\"{key}\": v}}")),
        )
        .await;
        assert!(!ok, "{key} accepted");
        assert!(
            stderr.contains("spec.tags")
                && stderr.contains("reserved by Alibaba Cloud")
                && stderr.contains("reserved by Tencent Cloud"),
            "{key}: {stderr}"
        );
    }
    // Per-cloud rules are not admission rules: `project` is reserved by Tencent only, an
    // empty value is refused by Tencent only, `http://` by Alibaba only.
    for (i, tags) in [
        "{project: web}",
        "{team: \"\"}",
        "{link: \"http://example.com\"}",
        "{my-aliyun: a, x-acs: b, qcs: c}",
    ]
    .iter()
    .enumerate()
    {
        let (ok, stderr) = apply(ns, &manifest(&format!("ok-{i}"), tags)).await;
        assert!(ok, "{tags} rejected: {stderr}");
    }
}
