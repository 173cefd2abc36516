//! Huawei project ids are per region (issue 14, docs/provider-contract.md Huawei §2): the
//! client against the real `cloud-emulator` binary uses the project of the region it calls
//! (the configured map, else IAM KeystoneListProjects as the SDK core does), checks a
//! credential in each configured region with that region's project, and refuses a region it
//! has no project for before any ECS request. End to end on the real control plane: a
//! credential with `projectIds` for two regions is Ready with those regions, and an
//! instance in a region without a project gets `Synced=False` reason `ProjectNotFound`.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use cloudinstance_controller::provider::huawei::HuaweiClient;
use cloudinstance_controller::provider::retry::RetryPolicy;
use cloudinstance_controller::provider::{
    ClientConfig, CloudProvider, Credentials, DescribeFilter, ErrorKind, Network, RunRequest,
    SecretString,
};
use serde_json::json;
use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_for, wait_until};
use support::emulator::{Emulator, HUAWEI_AK, HUAWEI_PROJECT_ID, HUAWEI_SK};
use support::fixtures::*;

const IMAGE: &str = "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61";
const SG: &str = "ap-southeast-1";
const T: Duration = Duration::from_secs(60);

fn client(emu: &Emulator, single: Option<&str>, map: &[(&str, &str)]) -> HuaweiClient {
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: HUAWEI_AK.into(),
        secret: SecretString::new(HUAWEI_SK),
        project_id: single.map(str::to_string),
    });
    cfg.trust_endpoint(emu.url().to_string());
    cfg.timeout = Duration::from_secs(10);
    cfg.retry = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
    };
    cfg.huawei.project_ids = map
        .iter()
        .map(|(r, p)| (r.to_string(), p.to_string()))
        .collect::<BTreeMap<_, _>>();
    HuaweiClient::new(cfg)
        .expect("client")
        .with_job_wait(Duration::from_secs(10))
}

/// A VPC subnet of the emulated account in `region` (subnets are regional: the emulator's
/// catalog, `emulator/src/huawei/catalog.rs::SUBNETS`, refuses another region's with
/// Ecs.0038).
fn network_of(region: &str) -> Network {
    let (vpc, subnet) = if region == SG {
        (SG_VPC, SG_SUBNET)
    } else {
        (
            "3b3e4f4b-1f6a-4a7e-9b55-0c0000000001",
            "7e4b6c2a-2f7b-4b8c-8a66-5b0000000001",
        )
    };
    Network {
        vpc_id: Some(vpc.into()),
        subnet_id: Some(subnet.into()),
        ..Default::default()
    }
}

/// ap-southeast-1's VPC and subnet in the emulator's catalog.
const SG_VPC: &str = "8a1f3c5e-7b9d-4e2f-b4a6-c8e0d2f4a6b8";
const SG_SUBNET: &str = "2c8e5a71-4b3d-4f69-a1e0-7d9c6b5a4e31";

fn create_in(region: &str, zone: &str) -> RunRequest {
    RunRequest {
        region: region.into(),
        zone: zone.into(),
        image_id: IMAGE.into(),
        instance_type: "s6.large.2".into(),
        instance_name: Some("regional".into()),
        count: 1,
        network: network_of(region),
        client_token: Some("projects-test-token".into()),
        ..Default::default()
    }
}

/// The emulator's project of `region`, found like the SDK core finds it (IAM).
async fn iam_project(emu: &Emulator, region: &str) -> String {
    client(emu, None, &[])
        .project(region)
        .await
        .expect("IAM names the region's project")
}

#[tokio::test]
async fn every_call_uses_the_project_of_its_region() {
    let emu = Emulator::start(&["--transition-delay-ms", "100", "--no-rate-limit"]).await;
    let sg_project = iam_project(&emu, SG).await;
    assert_eq!(iam_project(&emu, "cn-north-4").await, HUAWEI_PROJECT_ID);
    assert_ne!(sg_project, HUAWEI_PROJECT_ID);

    let c = client(
        &emu,
        None,
        &[("cn-north-4", HUAWEI_PROJECT_ID), (SG, &sg_project)],
    );
    emu.reset_calls().await;
    // The credential check: each configured region with its own project (ListServerAzInfo).
    let regions: Vec<String> = c
        .regions()
        .await
        .expect("check")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(regions, vec![SG.to_string(), "cn-north-4".to_string()]);
    assert_eq!(emu.call_count("huawei", "ListServerAzInfo").await, 2);
    assert_eq!(emu.call_count("huawei", "KeystoneListProjects").await, 0);
    let zones: Vec<String> = c
        .zones(SG)
        .await
        .unwrap()
        .into_iter()
        .map(|z| z.id)
        .collect();
    assert_eq!(
        zones,
        ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]
    );

    // A server created in ap-southeast-1 lives in that region's project only.
    let ids = c
        .run_instances(&create_in(SG, "ap-southeast-1a"))
        .await
        .expect("create");
    let rec = emu.instance(&ids[0]).await.expect("recorded");
    assert_eq!(rec["project_id"], sg_project.as_str(), "{rec}");
    assert_eq!(rec["region"], SG, "{rec}");
    let here = c
        .describe_instances(SG, &DescribeFilter::Ids(ids.clone()))
        .await
        .unwrap();
    assert_eq!(here.len(), 1);
    let there = c
        .describe_instances("cn-north-4", &DescribeFilter::Ids(ids.clone()))
        .await
        .unwrap();
    assert!(there.is_empty(), "{there:?}");
    // A zone of another region is refused in this one.
    let e = c
        .run_instances(&RunRequest {
            client_token: Some("other-token".into()),
            ..create_in(SG, "cn-north-4a")
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    c.terminate_instances(SG, &ids).await.expect("delete");

    // Without any configured project the client asks IAM once per region.
    let lookup = client(&emu, None, &[]);
    emu.reset_calls().await;
    lookup.zones(SG).await.unwrap();
    lookup.zones(SG).await.unwrap();
    assert_eq!(emu.call_count("huawei", "KeystoneListProjects").await, 1);
}

#[tokio::test]
async fn a_project_of_another_region_fails_the_check_naming_the_region() {
    let emu = Emulator::start(&["--no-rate-limit"]).await;
    // cn-north-4's project given as ap-southeast-1's: its zones are cn-north-4's.
    let c = client(&emu, None, &[(SG, HUAWEI_PROJECT_ID)]);
    let e = c.regions().await.unwrap_err();
    assert_eq!(e.code, "ProjectRegionMismatch", "{e}");
    assert!(e.message.contains("spec.projectIds.ap-southeast-1"), "{e}");
    // A project id the account does not have: the gateway refuses the signed X-Project-Id.
    let c = client(
        &emu,
        None,
        &[
            ("cn-north-4", HUAWEI_PROJECT_ID),
            (SG, "ffffffffffffffffffffffffffffffff"),
        ],
    );
    let e = c.regions().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert!(e.message.contains("region ap-southeast-1"), "{e}");
}

#[tokio::test]
async fn a_region_without_a_project_is_refused_before_any_ecs_call() {
    let emu = Emulator::start(&["--no-rate-limit"]).await;
    let c = client(&emu, None, &[("cn-north-4", HUAWEI_PROJECT_ID)]);
    emu.reset_calls().await;
    let e = c
        .run_instances(&create_in("xx-nowhere-1", "xx-nowhere-1a"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "ProjectNotFound", "{e}");
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert!(e.message.contains("spec.projectIds.xx-nowhere-1"), "{e}");
    let calls = emu.calls().await;
    let h = &calls["huawei"];
    assert_eq!(h["KeystoneListProjects"]["ok"], 1, "{calls}");
    for ecs in ["ListServersDetails", "CreatePostPaidServers"] {
        assert!(h[ecs].is_null(), "{ecs} must not be called: {calls}");
    }
}

#[tokio::test]
async fn credential_with_projects_per_region_end_to_end() {
    let client_k = admin_client().await;
    install_crds(&client_k).await;
    let ns = TestNamespace::new(&client_k, "hw-projects").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "200"]).await;
    let sg_project = iam_project(&emu, SG).await;
    let _controller = ControllerProcess::start(&ns, &[]).await;
    let cloud = HUAWEI;
    apply_credential(&client_k, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    // The same manager applies the credential again with two regions' projects
    // (projectIds) and no projectId.
    let creds: kube::Api<cloudinstance_controller::api::CloudCredential> =
        kube::Api::namespaced(client_k.clone(), &ns);
    creds
        .patch(
            "cred",
            &kube::api::PatchParams::apply("cic-tests").force(),
            &kube::api::Patch::Apply(json!({
                "apiVersion": "compute.cloudinstance.io/v1alpha1", "kind": "CloudCredential",
                "metadata": {"name": "cred"},
                "spec": {"provider": "huawei", "secretRef": {"name": "cred-keys"},
                         "endpoint": emu.url(),
                         "projectIds": {"cn-north-4": HUAWEI_PROJECT_ID, SG: sg_project}},
            })),
        )
        .await
        .expect("projectIds credential");
    wait_until(T, "credential Ready in both regions", || async {
        let s = credential_status(&client_k, &ns, "cred").await;
        is_ready(&s) && s["regions"] == json!([SG, "cn-north-4"])
    })
    .await;

    // An instance in the second region runs there, with that region's project.
    let sg_inst = instance(
        "sg",
        "cred",
        &cloud,
        json!({"region": SG, "zone": "ap-southeast-1a",
               "network": {"publicIpBandwidthMbps": 10, "vpcId": SG_VPC, "subnetId": SG_SUBNET}}),
    );
    apply_instance(&client_k, &ns, &sg_inst).await;
    let s = wait_for(T, "ap-southeast-1 instance Ready", || async {
        let s = instance_status(&client_k, &ns, "sg").await;
        (is_ready(&s) && s["state"] == "Running").then_some(s)
    })
    .await;
    let id = s["instanceId"].as_str().expect("instance id").to_string();
    let rec = emu.instance(&id).await.expect("recorded");
    assert_eq!(rec["project_id"], sg_project.as_str(), "{rec}");

    // A region the account has no project in: a clear condition, and no ECS request.
    emu.reset_calls().await;
    let nowhere = instance(
        "nowhere",
        "cred",
        &cloud,
        json!({"region": "xx-nowhere-1", "zone": "xx-nowhere-1a"}),
    );
    apply_instance(&client_k, &ns, &nowhere).await;
    let s = wait_for(T, "ProjectNotFound", || async {
        let s = instance_status(&client_k, &ns, "nowhere").await;
        condition(&s, "Synced")
            .is_some_and(|c| c["reason"] == "ProjectNotFound")
            .then_some(s)
    })
    .await;
    let msg = condition(&s, "Synced").unwrap()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("spec.projectIds.xx-nowhere-1"), "{msg}");
    let calls = emu.calls().await;
    assert!(
        calls["huawei"]["CreatePostPaidServers"].is_null(),
        "no create without a project: {calls}"
    );
    assert!(
        calls["huawei"]["KeystoneListProjects"]["ok"].as_u64() >= Some(1),
        "{calls}"
    );
}
