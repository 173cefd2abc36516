//! Huawei ECS: the table entry, and what only Huawei's client does (jobs, resize and
//! rebuild states, adoption of earlier servers by the token tag, 43-character tag values,
//! a required network, the project id).

use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::json;

use cloudinstance_controller::provider::huawei::{HuaweiClient, TOKEN_TAG, token_tag_value};
use cloudinstance_controller::provider::{
    AnyProvider, ChargeType, CloudProvider, Disk, ErrorKind, InstanceState, Login, Network,
    ReinstallRequest, RunRequest, SecretString, StopMode,
};
use std::time::Duration;

use crate::contract::{Call, Contract, Ctx, Op, Rejected, Seen, Step, Text, retry};
use crate::scenarios::contract_tests;
use crate::support::emulator::{HUAWEI_AK, HUAWEI_PROJECT_ID, HUAWEI_SK};

const REGION: &str = "cn-north-4";
const ZONE: &str = "cn-north-4a";
const IMAGE: &str = "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61";
const IMAGE2: &str = "67f433d8-ed0e-4321-a8a2-a71838539e09";
const FLAVOR: &str = "s6.large.2";
/// Security groups "app", "db" and "ops" of the emulator's catalog.
const SG_APP: &str = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c01";
const SG_DB: &str = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c02";
const SG_OPS: &str = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c03";

pub static CLOUD: Contract = Contract {
    provider: "huawei",
    make: |cfg| {
        HuaweiClient::new(cfg)
            .map(|c| AnyProvider::Huawei(c.with_job_wait(Duration::from_secs(10))))
    },
    key_id: HUAWEI_AK,
    secret: HUAWEI_SK,
    project_id: Some(HUAWEI_PROJECT_ID),
    region: REGION,
    zone: ZONE,
    image: IMAGE,
    image_type: "gold",
    image_os: "Ubuntu",
    instance_type: FLAVOR,
    type_shape: (2, 4, "s6"),
    // c7 is sold out in cn-north-4g
    zone_limited: ("cn-north-4g", Some("c7")),
    zones_action: "ListServerAzInfo",
    run_request,
    owner_tag: ("cic-owner", "it."),
    id_shape: |id| id.len() == 36,
    unknown_id: |n| format!("00000000-0000-4000-8000-{n:012}"),
    create_action: "CreatePostPaidServers",
    start_action: "BatchStartServers",
    running_state: "ACTIVE",
    stop_mode: StopMode::SoftThenHard,
    force_reboot: true,
    // groups of the emulator's catalog (`emulator/src/huawei/catalog.rs::SECURITY_GROUPS`):
    // Huawei security group ids are UUIDs of existing groups
    new_sgs: &[SG_DB, SG_OPS],
    sg_order_kept: false,
    // the name by UpdateServer; security groups per port with the VPC v3 successor of the
    // deprecated Nova actions: one insert (db, ops) and one remove (app), never Nova
    modify_calls: &[
        ("ShowPort", 1),
        ("AddSecurityGroups", 1),
        ("RemoveSecurityGroups", 1),
        ("NovaAssociateSecurityGroup", 0),
        ("NovaDisassociateSecurityGroup", 0),
    ],
    wrong_state_code: Some("Ecs.0100"),
    while_terminating: &[InstanceState::Terminating],
    recycled: None,
    check,
    while_stopped: Some(resize_and_rebuild),
    rejected: &[
        Rejected {
            what: "an unknown flavor",
            change: |r| r.instance_type = "no.such.flavor".into(),
            code: Text::Is("Ecs.0005"),
            message: Text::Is("Invalid parameter flavorRef: flavor no.such.flavor does not exist."),
            sent: true,
            secret: None,
        },
        Rejected {
            what: "a weak password",
            change: |r| r.login.password = Some(SecretString::new("weakpassword")),
            code: Text::Is("Ecs.0011"),
            message: Text::NonEmpty,
            sent: true,
            secret: Some("weakpassword"),
        },
        Rejected {
            what: "no network (required on Huawei)",
            change: |r| r.network.subnet_id = None,
            code: Text::Is("MissingNetwork"),
            message: Text::NonEmpty,
            sent: false,
            secret: None,
        },
    ],
    not_found: (Op::Stop, "Ecs.0114"),
    status_over_limit_refused: true,
    throttle: (Call::Zones, "ListServerAzInfo", "APIGW.0308"),
    server_error: || json!({"code": "InternalError", "http_status": 500}),
    rate_limited: (Call::Types, "ListFlavors"),
    auth: (
        Call::Zones,
        "ListServerAzInfo",
        "APIGW.0301",
        Some("Incorrect IAM authentication information"),
    ),
    unknown_key: None,
    dry_run_code: None,
    token_on_record: false,
};

fn run_request(name: &str) -> RunRequest {
    RunRequest {
        region: REGION.into(),
        zone: ZONE.into(),
        image_id: IMAGE.into(),
        instance_type: FLAVOR.into(),
        instance_name: Some(name.into()),
        count: 1,
        system_disk: Some(Disk {
            disk_type: Some("SSD".into()),
            size_gb: 40,
        }),
        data_disks: vec![Disk {
            disk_type: None,
            size_gb: 100,
        }],
        network: Network {
            vpc_id: Some("3b3e4f4b-1f6a-4a7e-9b55-0c0000000001".into()),
            subnet_id: Some("7e4b6c2a-2f7b-4b8c-8a66-5b0000000001".into()),
            security_group_ids: vec![SG_APP.into()],
            public_bandwidth_mbps: Some(5),
        },
        login: Login {
            password: Some(SecretString::new("Passw0rd!it2024")),
            ..Default::default()
        },
        tags: [("cic-owner".to_string(), format!("it.{name}"))].into(),
        user_data: Some("#!/bin/sh\necho hello\n".into()),
        charge_type: ChargeType::OnDemand,
        ..Default::default()
    }
}

fn check(step: Step, seen: &Seen) {
    let st = seen.status;
    match step {
        Step::Created => assert_eq!(st[0].provider_state, "BUILD"),
        Step::Running => {
            let d = seen.details.expect("details");
            assert!(
                d.tags.contains_key(TOKEN_TAG),
                "the create carries the token tag: {:?}",
                d.tags
            );
            assert_eq!(seen.record["system_disk"]["size_gb"], 40);
            assert_eq!(seen.record["data_disks"][0]["size_gb"], 100);
            assert_eq!(seen.record["project_id"], HUAWEI_PROJECT_ID);
        }
        Step::Stopping => {
            assert_eq!(st[0].state, InstanceState::Stopping);
            assert_eq!(st[0].provider_state, "ACTIVE");
        }
        Step::Rebooting => assert_eq!(
            (st[0].state, st[0].provider_state.as_str()),
            (InstanceState::Rebooting, "HARD_REBOOT")
        ),
        Step::Terminating => assert_eq!(st[0].state, InstanceState::Terminating, "{st:?}"),
    }
}

/// Stopped: a new flavor (RESIZE, then stopped again), then a rebuild with another image
/// (REBUILD, which starts the server).
fn resize_and_rebuild<'a>(cx: &'a Ctx, id: &'a str) -> BoxFuture<'a, ()> {
    async move {
        let ids = [id.to_string()];
        cx.c.resize(REGION, id, "s6.xlarge.2")
            .await
            .expect("resize");
        let d = cx.details(id).await;
        assert_eq!(d.instance_type, "s6.xlarge.2");
        assert_eq!(d.provider_state, "RESIZE");
        cx.wait_state(id, InstanceState::Stopped).await;

        let rebuild = ReinstallRequest {
            image_id: IMAGE2.into(),
            login: Login {
                password: Some(SecretString::new("N3w-Passw0rd!")),
                ..Default::default()
            },
            system_disk_size_gb: None,
            hostname: Some("web-renamed".into()),
        };
        cx.c.reinstall(REGION, id, &rebuild).await.expect("rebuild");
        assert_eq!(cx.status(&ids).await[0].provider_state, "REBUILD");
        cx.wait_state(id, InstanceState::Running).await;
        let inst = cx.emu.instance(id).await.expect("instance");
        assert_eq!(inst["image"], IMAGE2);
        assert_eq!(inst["host_name"], "web-renamed");
    }
    .boxed()
}

contract_tests!();

/// The second create with a token finds the servers by their token tag and does not
/// create again, also for several servers at once; the controller's informational tags
/// longer than Huawei's 43 characters are shortened.
#[tokio::test]
async fn create_adopts_earlier_servers_by_the_token_tag() {
    let cx = Ctx::start(&CLOUD).await;
    let token = "cic-it-token-0001-with-a-rather-long-suffix-beyond-43-chars";
    let mut req = run_request("idem");
    req.client_token = Some(token.into());
    let a = cx.c.run_instances(&req).await.expect("create");
    let b = cx.c.run_instances(&req).await.expect("again");
    assert_eq!(a, b);
    assert_eq!(cx.instances().await.len(), 1);
    assert_eq!(cx.stats("CreatePostPaidServers").await.0, 1);
    let inst = cx.emu.instance(&a[0]).await.expect("instance");
    assert_eq!(inst["tags"][TOKEN_TAG], token_tag_value(token));

    // Several servers in one create.
    let mut req = run_request("many");
    req.count = 3;
    req.client_token = Some("cic-it-token-0002".into());
    let ids = cx.c.run_instances(&req).await.expect("create 3");
    assert_eq!(ids.len(), 3);
    let again = cx.c.run_instances(&req).await.expect("again");
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(again, sorted);
    assert_eq!(cx.instances().await.len(), 4);

    // An object name has up to 253 characters: the create goes through.
    let mut req = run_request("long-name");
    req.tags
        .insert("cloudinstance-name".into(), "n".repeat(253));
    req.client_token = Some("cic-it-token-0003".into());
    let ids =
        cx.c.run_instances(&req)
            .await
            .expect("create with a long name tag");
    let inst = cx.emu.instance(&ids[0]).await.expect("instance");
    let value = inst["tags"]["cloudinstance-name"].as_str().expect("tag");
    assert_eq!(value.chars().count(), 43);
    assert_eq!(cx.instances().await.len(), 5);
}

#[tokio::test]
async fn failed_launch_surfaces_as_failed() {
    let cx = Ctx::start(&CLOUD).await;
    cx.fault(json!({"action": "CreatePostPaidServers", "launch_failed": true, "count": 1}))
        .await;
    let ids =
        cx.c.run_instances(&run_request("doomed"))
            .await
            .expect("create");
    cx.wait_state(&ids[0], InstanceState::Failed).await;
    assert_eq!(cx.status(&ids).await[0].provider_state, "ERROR");
}

/// A key of another project is refused; without a project id the client asks IAM for
/// the region's project, as the SDK does.
#[tokio::test]
async fn the_project_id_is_part_of_the_credentials() {
    let cx = Ctx::start(&CLOUD).await;
    let other = cx
        .client(
            HUAWEI_AK,
            HUAWEI_SK,
            Some("ffffffffffffffffffffffffffffffff"),
            retry(),
        )
        .expect("client");
    let e = other.zones(REGION).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    let lookup = match cx
        .client(HUAWEI_AK, HUAWEI_SK, None, retry())
        .expect("client")
    {
        AnyProvider::Huawei(h) => h,
        other => panic!("not a Huawei client: {other:?}"),
    };
    assert_eq!(lookup.project(REGION).await.unwrap(), HUAWEI_PROJECT_ID);
}
