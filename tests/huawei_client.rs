//! The Huawei ECS client against the real `cloud-emulator` binary: AK/SK signing, the
//! job-based lifecycle, retries on throttling, terminal errors, idempotent creation
//! (X-Client-Token plus adoption by the token tag) and authentication, end to end.

mod support;

use std::time::{Duration, Instant};

use cloudinstance_controller::provider::huawei::{HuaweiClient, TOKEN_TAG, token_tag_value};
use cloudinstance_controller::provider::retry::RetryPolicy;
use cloudinstance_controller::provider::{
    ChargeType, ClientConfig, CloudProvider, Credentials, DescribeFilter, Disk, ErrorKind,
    InstanceState, Login, Modification, Network, ReinstallRequest, RunRequest, SecretString,
    StopMode,
};
use serde_json::json;
use support::emulator::{Emulator, HUAWEI_AK, HUAWEI_PROJECT_ID, HUAWEI_SK};

const REGION: &str = "cn-north-4";
const ZONE: &str = "cn-north-4a";
const IMAGE: &str = "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61";
const IMAGE2: &str = "67f433d8-ed0e-4321-a8a2-a71838539e09";
const FLAVOR: &str = "s6.large.2";
const WAIT: Duration = Duration::from_secs(20);

async fn emulator() -> Emulator {
    Emulator::start(&["--transition-delay-ms", "150", "--no-rate-limit"]).await
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

fn client_with(
    emu: &Emulator,
    sk: &str,
    project: Option<&str>,
) -> Result<HuaweiClient, cloudinstance_controller::provider::ProviderError> {
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: HUAWEI_AK.into(),
        secret: SecretString::new(sk),
        project_id: project.map(str::to_string),
    });
    cfg.trust_endpoint(emu.url().to_string());
    cfg.timeout = Duration::from_secs(10);
    cfg.retry = retry();
    HuaweiClient::new(cfg).map(|c| c.with_job_wait(Duration::from_secs(10)))
}

fn client(emu: &Emulator) -> HuaweiClient {
    client_with(emu, HUAWEI_SK, Some(HUAWEI_PROJECT_ID)).expect("client")
}

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
            vpc_id: Some("3b3e4f4b-1f6a-4a7e-9b55-vpc000000001".into()),
            subnet_id: Some("7e4b6c2a-2f7b-4b8c-8a66-sub000000001".into()),
            security_group_ids: vec!["sg-a".into()],
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

async fn wait_state(c: &HuaweiClient, id: &str, want: InstanceState) {
    let deadline = Instant::now() + WAIT;
    let ids = [id.to_string()];
    loop {
        let st = c
            .describe_status(REGION, &ids)
            .await
            .expect("describe_status");
        if st.first().map(|s| s.state) == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} did not reach {want:?}: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn lifecycle_against_the_emulator() {
    let emu = emulator().await;
    let c = client(&emu);

    let ids = c
        .run_instances(&run_request("web"))
        .await
        .expect("run_instances");
    assert_eq!(ids.len(), 1);
    let id = ids[0].clone();
    assert_eq!(id.len(), 36, "{id}");
    let st = c.describe_status(REGION, &ids).await.unwrap();
    assert_eq!(st[0].provider_state, "BUILD");
    wait_state(&c, &id, InstanceState::Running).await;

    let d = &c
        .describe_instances(REGION, &DescribeFilter::Ids(ids.clone()))
        .await
        .unwrap()[0];
    assert_eq!(d.name, "web");
    assert_eq!(d.zone, ZONE);
    assert_eq!(d.instance_type, FLAVOR);
    assert_eq!(d.image_id, IMAGE);
    assert_eq!(d.provider_state, "ACTIVE");
    assert_eq!(d.private_ips.len(), 1);
    assert_eq!(d.public_ips.len(), 1);
    assert_eq!(d.security_group_ids, vec!["sg-a".to_string()]);
    assert_eq!(d.tags.get("cic-owner").map(String::as_str), Some("it.web"));
    assert!(
        d.tags.contains_key(TOKEN_TAG),
        "the create carries the token tag: {:?}",
        d.tags
    );
    let by_tag = c
        .describe_instances(
            REGION,
            &DescribeFilter::Tag {
                key: "cic-owner".into(),
                value: "it.web".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(by_tag.len(), 1);
    let inst = emu.instance(&id).await.unwrap();
    assert_eq!(inst["system_disk"]["size_gb"], 40);
    assert_eq!(inst["data_disks"][0]["size_gb"], 100);
    assert_eq!(inst["project_id"], HUAWEI_PROJECT_ID);

    let e = c.start_instances(REGION, &ids).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::WrongState, "{e}");
    assert_eq!(e.code, "Ecs.0100");

    c.stop_instances(REGION, &ids, StopMode::SoftThenHard)
        .await
        .unwrap();
    let st = c.describe_status(REGION, &ids).await.unwrap();
    assert_eq!(st[0].state, InstanceState::Stopping);
    assert_eq!(st[0].provider_state, "ACTIVE");
    wait_state(&c, &id, InstanceState::Stopped).await;

    c.resize(REGION, &id, "s6.xlarge.2").await.unwrap();
    let d = &c
        .describe_instances(REGION, &DescribeFilter::Ids(ids.clone()))
        .await
        .unwrap()[0];
    assert_eq!(d.instance_type, "s6.xlarge.2");
    assert_eq!(d.provider_state, "RESIZE");
    wait_state(&c, &id, InstanceState::Stopped).await;

    c.reinstall(
        REGION,
        &id,
        &ReinstallRequest {
            image_id: IMAGE2.into(),
            login: Login {
                password: Some(SecretString::new("N3w-Passw0rd!")),
                ..Default::default()
            },
            system_disk_size_gb: None,
            hostname: Some("web-renamed".into()),
        },
    )
    .await
    .unwrap();
    let st = c.describe_status(REGION, &ids).await.unwrap();
    assert_eq!(st[0].provider_state, "REBUILD");
    wait_state(&c, &id, InstanceState::Running).await;
    let inst = emu.instance(&id).await.unwrap();
    assert_eq!(inst["image"], IMAGE2);
    assert_eq!(inst["host_name"], "web-renamed");

    c.reboot_instances(REGION, &ids, true).await.unwrap();
    let st = c.describe_status(REGION, &ids).await.unwrap();
    assert_eq!(
        (st[0].state, st[0].provider_state.as_str()),
        (InstanceState::Rebooting, "HARD_REBOOT")
    );
    wait_state(&c, &id, InstanceState::Running).await;

    c.modify_instance(
        REGION,
        &id,
        &Modification {
            name: Some("web-2".into()),
            security_group_ids: Some(vec!["sg-b".into(), "sg-c".into()]),
        },
    )
    .await
    .unwrap();
    let d = &c
        .describe_instances(REGION, &DescribeFilter::Ids(ids.clone()))
        .await
        .unwrap()[0];
    assert_eq!(d.name, "web-2");
    let mut sgs = d.security_group_ids.clone();
    sgs.sort();
    assert_eq!(sgs, vec!["sg-b", "sg-c"]);
    let calls = emu.calls().await;
    assert_eq!(
        calls["huawei"]["NovaAssociateSecurityGroup"]["ok"], 2,
        "{calls}"
    );
    assert_eq!(
        calls["huawei"]["NovaDisassociateSecurityGroup"]["ok"], 1,
        "{calls}"
    );

    c.terminate_instances(REGION, &ids).await.unwrap();
    let st = c.describe_status(REGION, &ids).await.unwrap();
    assert_eq!(st[0].state, InstanceState::Terminating, "{st:?}");
    let deadline = Instant::now() + WAIT;
    loop {
        let st = c.describe_status(REGION, &ids).await.unwrap();
        if st.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "server still listed: {st:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        c.describe_instances(REGION, &DescribeFilter::All)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn create_is_idempotent_and_adopts_earlier_servers() {
    let emu = emulator().await;
    let c = client(&emu);
    let mut req = run_request("idem");
    req.client_token = Some("cic-it-token-0001-with-a-rather-long-suffix-beyond-43-chars".into());
    let a = c.run_instances(&req).await.unwrap();
    let b = c.run_instances(&req).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(emu.instances_of("huawei").await.len(), 1);
    // The second call found the servers by their token tag and did not create again.
    assert_eq!(emu.call_count("huawei", "CreatePostPaidServers").await, 1);
    let inst = emu.instance(&a[0]).await.unwrap();
    assert_eq!(
        inst["tags"][TOKEN_TAG],
        token_tag_value("cic-it-token-0001-with-a-rather-long-suffix-beyond-43-chars")
    );

    // Several servers in one create.
    let mut req = run_request("many");
    req.count = 3;
    req.client_token = Some("cic-it-token-0002".into());
    let ids = c.run_instances(&req).await.unwrap();
    assert_eq!(ids.len(), 3);
    let again = c.run_instances(&req).await.unwrap();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(again, sorted);
    assert_eq!(emu.instances_of("huawei").await.len(), 4);

    // The controller's informational tags may be longer than Huawei's 43-character limit
    // (an object name has up to 253): they are shortened, the create goes through.
    let mut req = run_request("long-name");
    req.tags
        .insert("cloudinstance-name".into(), "n".repeat(253));
    req.client_token = Some("cic-it-token-0003".into());
    let ids = c
        .run_instances(&req)
        .await
        .expect("create with a long name tag");
    let inst = emu.instance(&ids[0]).await.unwrap();
    assert_eq!(
        inst["tags"]["cloudinstance-name"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        43
    );
    assert_eq!(emu.instances_of("huawei").await.len(), 5);

    // Dry run: HTTP 202, nothing created.
    let mut req = run_request("dry");
    req.dry_run = true;
    let e = c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DryRunOk, "{e}");
    assert_eq!(emu.instances_of("huawei").await.len(), 5);
}

#[tokio::test]
async fn failed_launch_surfaces_as_failed() {
    let emu = emulator().await;
    let c = client(&emu);
    emu.inject_fault(json!({"provider": "huawei", "action": "CreatePostPaidServers", "launch_failed": true, "count": 1}))
        .await;
    let ids = c.run_instances(&run_request("doomed")).await.unwrap();
    wait_state(&c, &ids[0], InstanceState::Failed).await;
    let st = c.describe_status(REGION, &ids).await.unwrap();
    assert_eq!(st[0].provider_state, "ERROR");
}

#[tokio::test]
async fn throttling_is_retried() {
    let emu = emulator().await;
    let c = client(&emu);
    emu.inject_fault(json!({
        "provider": "huawei", "action": "ListServerAzInfo", "code": "APIGW.0308",
        "message": "The throttling threshold has been reached: policy user over ratelimit,limit:5,time:1 second",
        "http_status": 429, "count": 2,
    }))
    .await;
    let zones = c
        .zones(REGION)
        .await
        .expect("zones after two throttled attempts");
    assert!(zones.iter().any(|z| z.id == ZONE && z.available));
    let calls = emu.calls().await;
    assert_eq!(calls["huawei"]["ListServerAzInfo"]["total"], 3, "{calls}");

    // The emulator's own limiter answers APIGW.0308 / 429 as well.
    emu.set_config(
        json!({"rate_limit_enabled": true, "rate_limit_overrides": {"ListFlavors": 1.0}}),
    )
    .await;
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: HUAWEI_AK.into(),
        secret: SecretString::new(HUAWEI_SK),
        project_id: Some(HUAWEI_PROJECT_ID.into()),
    });
    cfg.trust_endpoint(emu.url().to_string());
    cfg.retry = RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(300),
        max_delay: Duration::from_millis(1000),
    };
    let patient = HuaweiClient::new(cfg).unwrap();
    for _ in 0..3 {
        patient
            .instance_types(REGION, None)
            .await
            .expect("throttled calls are retried");
    }
    let calls = emu.calls().await;
    assert!(
        calls["huawei"]["ListFlavors"]["throttled"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{calls}"
    );
}

#[tokio::test]
async fn invalid_requests_are_terminal_and_keep_the_message() {
    let emu = emulator().await;
    let c = client(&emu);
    let mut req = run_request("bad");
    req.instance_type = "no.such.flavor".into();
    let e = c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    assert_eq!(e.code, "Ecs.0005");
    assert_eq!(
        e.message,
        "Invalid parameter flavorRef: flavor no.such.flavor does not exist."
    );
    assert!(e.request_id.is_some());
    assert_eq!(
        emu.call_count("huawei", "CreatePostPaidServers").await,
        1,
        "not retried"
    );

    let mut req = run_request("weak");
    req.login.password = Some(SecretString::new("weakpassword"));
    let e = c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.code, "Ecs.0011");
    assert!(!format!("{e} {e:?}").contains("weakpassword"));

    let e = c
        .stop_instances(
            REGION,
            &["00000000-0000-4000-8000-000000000000".to_string()],
            StopMode::Hard,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert_eq!(e.code, "Ecs.0114");

    // A network is required on Huawei: refused locally.
    let mut req = run_request("no-net");
    req.network.subnet_id = None;
    assert_eq!(
        c.run_instances(&req).await.unwrap_err().code,
        "MissingNetwork"
    );
}

#[tokio::test]
async fn authentication_errors() {
    let emu = emulator().await;
    let bad = client_with(&emu, "not-the-sk", Some(HUAWEI_PROJECT_ID)).unwrap();
    let e = bad.zones(REGION).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert_eq!(e.code, "APIGW.0301");
    assert!(
        e.message
            .starts_with("Incorrect IAM authentication information"),
        "{e}"
    );
    assert_eq!(emu.call_count("huawei", "ListServerAzInfo").await, 1);

    let other_project =
        client_with(&emu, HUAWEI_SK, Some("ffffffffffffffffffffffffffffffff")).unwrap();
    let e = other_project.zones(REGION).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");

    // Without a project id the client asks IAM for the region's project, as the SDK does.
    let lookup = client_with(&emu, HUAWEI_SK, None).unwrap();
    assert_eq!(lookup.project(REGION).await.unwrap(), HUAWEI_PROJECT_ID);
}

#[tokio::test]
async fn catalog() {
    let emu = emulator().await;
    let c = client(&emu);
    assert!(c.regions().await.unwrap().iter().any(|r| r.id == REGION));
    let images = c.images(REGION).await.unwrap();
    assert!(
        images
            .iter()
            .any(|i| i.id == IMAGE && i.image_type == "gold" && i.os_name.contains("Ubuntu"))
    );
    let all = c.instance_types(REGION, None).await.unwrap();
    let s6 = all.iter().find(|t| t.id == FLAVOR).unwrap();
    assert_eq!((s6.cpu, s6.memory_gb, s6.family.as_str()), (2, 4, "s6"));
    let in_g = c.instance_types(REGION, Some("cn-north-4g")).await.unwrap();
    assert!(
        in_g.iter().all(|t| t.family != "c7"),
        "c7 is sold out in cn-north-4g"
    );
    assert!(all.iter().any(|t| t.family == "c7"));
}
