//! The Alibaba ECS client against the real `cloud-emulator` binary: RPC signing, the
//! lifecycle, retries on throttling, terminal errors, idempotency and authentication, end
//! to end over HTTP.

mod support;

use std::time::{Duration, Instant};

use cloudinstance_controller::provider::alibaba::AlibabaClient;
use cloudinstance_controller::provider::retry::RetryPolicy;
use cloudinstance_controller::provider::{
    ChargeType, ClientConfig, CloudProvider, Credentials, DescribeFilter, Disk, ErrorKind,
    InstanceState, Login, Modification, Network, ReinstallRequest, RunRequest, SecretString,
    StopMode,
};
use serde_json::json;
use support::emulator::{ALIBABA_ACCESS_KEY_ID, ALIBABA_ACCESS_KEY_SECRET, Emulator};

const REGION: &str = "cn-hangzhou";
const ZONE: &str = "cn-hangzhou-i";
const IMAGE: &str = "aliyun_3_x64_20G_alibase_20240819.vhd";
const IMAGE2: &str = "ubuntu_22_04_x64_20G_alibase_20240926.vhd";
const INSTANCE_TYPE: &str = "ecs.g7.large";
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

fn client_with(emu: &Emulator, key_id: &str, secret: &str, retry: RetryPolicy) -> AlibabaClient {
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: key_id.into(),
        secret: SecretString::new(secret),
        project_id: None,
    });
    cfg.trust_endpoint(emu.url().to_string());
    cfg.timeout = Duration::from_secs(10);
    cfg.retry = retry;
    AlibabaClient::new(cfg).expect("client")
}

fn client(emu: &Emulator) -> AlibabaClient {
    client_with(
        emu,
        ALIBABA_ACCESS_KEY_ID,
        ALIBABA_ACCESS_KEY_SECRET,
        retry(),
    )
}

fn run_request(name: &str) -> RunRequest {
    RunRequest {
        region: REGION.into(),
        zone: ZONE.into(),
        image_id: IMAGE.into(),
        instance_type: INSTANCE_TYPE.into(),
        instance_name: Some(name.into()),
        hostname: Some(format!("{name}-host")),
        count: 1,
        system_disk: Some(Disk {
            disk_type: Some("cloud_essd".into()),
            size_gb: 40,
        }),
        data_disks: vec![Disk {
            disk_type: None,
            size_gb: 100,
        }],
        network: Network {
            vpc_id: None,
            subnet_id: Some("vsw-it0000000000000001".into()),
            security_group_ids: vec!["sg-it0000000000000001".into()],
            public_bandwidth_mbps: Some(5),
        },
        login: Login {
            password: Some(SecretString::new("Passw0rd!it2024")),
            ..Default::default()
        },
        tags: [("cloudinstance/owner".to_string(), format!("it/{name}"))].into(),
        user_data: Some("#!/bin/sh\necho hello\n".into()),
        charge_type: ChargeType::OnDemand,
        ..Default::default()
    }
}

async fn wait_state(c: &AlibabaClient, id: &str, want: InstanceState) {
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
    assert!(id.starts_with("i-"), "{id}");

    let first = c.describe_status(REGION, &ids).await.unwrap();
    assert_eq!(first[0].provider_state, "Pending");
    assert_eq!(first[0].state, InstanceState::Pending);
    wait_state(&c, &id, InstanceState::Running).await;

    // Details by id and by tag.
    let d = c
        .describe_instances(REGION, &DescribeFilter::Ids(ids.clone()))
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    let d = &d[0];
    assert_eq!(d.name, "web");
    assert_eq!(d.zone, ZONE);
    assert_eq!(d.instance_type, INSTANCE_TYPE);
    assert_eq!(d.image_id, IMAGE);
    assert_eq!(d.provider_state, "Running");
    assert_eq!(d.private_ips.len(), 1);
    assert_eq!(d.public_ips.len(), 1);
    assert_eq!(
        d.security_group_ids,
        vec!["sg-it0000000000000001".to_string()]
    );
    assert_eq!(
        d.tags.get("cloudinstance/owner").map(String::as_str),
        Some("it/web")
    );
    assert!(
        d.created_at.as_deref().is_some_and(|t| t.ends_with(":00Z")),
        "{:?}",
        d.created_at
    );
    let by_tag = c
        .describe_instances(
            REGION,
            &DescribeFilter::Tag {
                key: "cloudinstance/owner".into(),
                value: "it/web".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(by_tag.iter().map(|x| x.id.clone()).collect::<Vec<_>>(), ids);
    let other_tag = c
        .describe_instances(
            REGION,
            &DescribeFilter::Tag {
                key: "cloudinstance/owner".into(),
                value: "it/other".into(),
            },
        )
        .await
        .unwrap();
    assert!(other_tag.is_empty());

    // The emulator stored what the client sent.
    let inst = emu.instance(&id).await.expect("instance in emulator");
    assert_eq!(inst["system_disk"]["size_gb"], 40);
    assert_eq!(inst["data_disks"][0]["size_gb"], 100);
    assert_eq!(inst["host_name"], "web-host");

    // Starting a running instance is a wrong-state error the caller can tolerate.
    let e = c.start_instances(REGION, &ids).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::WrongState, "{e}");
    assert_eq!(e.code, "IncorrectInstanceStatus");

    c.stop_instances(REGION, &ids, StopMode::Soft)
        .await
        .unwrap();
    let st = c.describe_status(REGION, &ids).await.unwrap();
    assert_eq!(st[0].state, InstanceState::Stopping);
    wait_state(&c, &id, InstanceState::Stopped).await;

    // Stopped: resize and reinstall.
    c.resize(REGION, &id, "ecs.g7.xlarge").await.unwrap();
    c.reinstall(
        REGION,
        &id,
        &ReinstallRequest {
            image_id: IMAGE2.into(),
            login: Login {
                password: Some(SecretString::new("N3w-Passw0rd!")),
                ..Default::default()
            },
            system_disk_size_gb: Some(50),
            hostname: Some("web-renamed".into()),
        },
    )
    .await
    .unwrap();
    let d = &c
        .describe_instances(REGION, &DescribeFilter::Ids(ids.clone()))
        .await
        .unwrap()[0];
    assert_eq!(d.instance_type, "ecs.g7.xlarge");
    assert_eq!(d.image_id, IMAGE2);
    let inst = emu.instance(&id).await.unwrap();
    assert_eq!(inst["system_disk"]["size_gb"], 50);
    assert_eq!(inst["host_name"], "web-renamed");

    c.start_instances(REGION, &ids).await.unwrap();
    wait_state(&c, &id, InstanceState::Running).await;
    c.reboot_instances(REGION, &ids, false).await.unwrap();
    let st = c.describe_status(REGION, &ids).await.unwrap();
    assert!(st[0].state.is_transitional(), "{st:?}");
    wait_state(&c, &id, InstanceState::Running).await;

    c.modify_instance(
        REGION,
        &id,
        &Modification {
            name: Some("web-2".into()),
            security_group_ids: Some(vec![
                "sg-it0000000000000002".into(),
                "sg-it0000000000000003".into(),
            ]),
        },
    )
    .await
    .unwrap();
    let d = &c
        .describe_instances(REGION, &DescribeFilter::Ids(ids.clone()))
        .await
        .unwrap()[0];
    assert_eq!(d.name, "web-2");
    assert_eq!(
        d.security_group_ids,
        vec!["sg-it0000000000000002", "sg-it0000000000000003"]
    );

    // A running instance is released with Force=true.
    c.terminate_instances(REGION, &ids).await.unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let st = c.describe_status(REGION, &ids).await.unwrap();
        if st.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "instance still listed: {st:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = c
        .describe_instances(REGION, &DescribeFilter::All)
        .await
        .unwrap();
    assert!(all.is_empty(), "{all:?}");
}

#[tokio::test]
async fn batches_and_paging() {
    let emu = emulator().await;
    let c = client(&emu);
    let mut req = run_request("batch");
    req.count = 60;
    let ids = c.run_instances(&req).await.unwrap();
    assert_eq!(ids.len(), 60);
    // DescribeInstanceStatus pages hold 50: the client pages through for 60 ids.
    let st = c.describe_status(REGION, &ids).await.unwrap();
    assert_eq!(st.len(), 60);
    let all = c
        .describe_instances(REGION, &DescribeFilter::All)
        .await
        .unwrap();
    assert_eq!(all.len(), 60);
    // More than 100 ids is refused locally, before any call.
    let many: Vec<String> = (0..101).map(|n| format!("i-{n}")).collect();
    let e = c
        .stop_instances(REGION, &many, StopMode::Hard)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    // Unknown ids are simply absent from a status answer.
    let st = c
        .describe_status(
            REGION,
            &["i-doesnotexist0000000000".to_string(), ids[0].clone()],
        )
        .await
        .unwrap();
    assert_eq!(st.len(), 1);
    // ...but an action on them is NotFound.
    let e = c
        .terminate_instances(REGION, &["i-doesnotexist0000000000".to_string()])
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert_eq!(e.code, "InvalidInstanceId.NotFound");
}

#[tokio::test]
async fn throttling_is_retried() {
    let emu = emulator().await;
    let c = client(&emu);
    emu.inject_fault(json!({
        "provider": "alibaba", "action": "DescribeRegions",
        "code": "Throttling.User", "message": "Request was denied due to user flow control.",
        "count": 2,
    }))
    .await;
    let regions = c
        .regions()
        .await
        .expect("regions after two throttled attempts");
    assert!(regions.iter().any(|r| r.id == REGION && r.available));
    let calls = emu.calls().await;
    assert_eq!(calls["alibaba"]["DescribeRegions"]["total"], 3, "{calls}");
    assert_eq!(calls["alibaba"]["DescribeRegions"]["faulted"], 2, "{calls}");

    // The same through the emulator's own rate limiter: 1 request/s for
    // DescribeInstanceStatus; backoff long enough to wait for the bucket to refill.
    emu.set_config(json!({"rate_limit_enabled": true, "rate_limit_overrides": {"DescribeInstanceStatus": 1.0}}))
        .await;
    let patient = client_with(
        &emu,
        ALIBABA_ACCESS_KEY_ID,
        ALIBABA_ACCESS_KEY_SECRET,
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(300),
            max_delay: Duration::from_millis(1000),
        },
    );
    let ids = ["i-none000000000000000".to_string()];
    for _ in 0..3 {
        patient
            .describe_status(REGION, &ids)
            .await
            .expect("throttled calls are retried");
    }
    let calls = emu.calls().await;
    assert!(
        calls["alibaba"]["DescribeInstanceStatus"]["throttled"]
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
    req.image_id = "no-such-image".into();
    let e = c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    assert_eq!(e.code, "InvalidImageId.NotFound");
    assert_eq!(
        e.message,
        "The specified ImageId `no-such-image` does not exist."
    );
    assert!(e.request_id.is_some());
    assert_eq!(
        emu.call_count("alibaba", "RunInstances").await,
        1,
        "not retried"
    );

    let mut req = run_request("bad-password");
    req.login.password = Some(SecretString::new("weak"));
    let e = c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.code, "InvalidPassword.Malformed");
    assert!(
        !format!("{e} {e:?}").contains("weak"),
        "the password leaked into the error"
    );

    // A dry run that would succeed.
    let mut req = run_request("dry");
    req.dry_run = true;
    let e = c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DryRunOk, "{e}");
    assert_eq!(e.code, "DryRunOperation");
    assert!(emu.instances_of("alibaba").await.is_empty());

    // Faults injected as server errors are retried, then surface as transient.
    emu.inject_fault(json!({"provider": "alibaba", "action": "DescribeZones", "code": "InternalError", "count": 10}))
        .await;
    let e = c.zones(REGION).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient);
    assert_eq!(emu.call_count("alibaba", "DescribeZones").await, 4);
}

#[tokio::test]
async fn create_is_idempotent() {
    let emu = emulator().await;
    let c = client(&emu);
    let mut req = run_request("idem");
    req.client_token = Some("cic-it-token-0001".into());
    let a = c.run_instances(&req).await.unwrap();
    let b = c.run_instances(&req).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(emu.instances_of("alibaba").await.len(), 1);

    // The same token with different parameters is Alibaba's IdempotentParameterMismatch.
    req.instance_type = "ecs.c7.large".into();
    let e = c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.code, "IdempotentParameterMismatch");
    assert_eq!(e.kind, ErrorKind::InvalidRequest);

    // A create whose connection drops is retried (with the same generated token).
    emu.inject_fault(json!({"provider": "alibaba", "action": "RunInstances", "drop_connection": true, "count": 1}))
        .await;
    let mut req = run_request("lost-answer");
    req.client_token = None;
    let ids = c.run_instances(&req).await.expect("retried create");
    assert_eq!(ids.len(), 1);
    assert_eq!(emu.instances_of("alibaba").await.len(), 2);
}

#[tokio::test]
async fn authentication_errors() {
    let emu = emulator().await;
    let bad = client_with(&emu, ALIBABA_ACCESS_KEY_ID, "not-the-secret", retry());
    let e = bad.regions().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert_eq!(e.code, "SignatureDoesNotMatch");
    assert_eq!(
        emu.call_count("alibaba", "DescribeRegions").await,
        1,
        "auth errors are not retried"
    );
    // Alibaba's SignatureDoesNotMatch message quotes the string to sign (every parameter,
    // the password included); the client redacts it.
    let e = bad.run_instances(&run_request("leak")).await.unwrap_err();
    assert_eq!(e.code, "SignatureDoesNotMatch");
    assert!(!format!("{e} {e:?}").contains("Passw0rd"), "{e}");

    let unknown = client_with(
        &emu,
        "LTAIUNKNOWN000000000000",
        ALIBABA_ACCESS_KEY_SECRET,
        retry(),
    );
    let e = unknown.zones(REGION).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert_eq!(e.code, "InvalidAccessKeyId.NotFound");
    assert!(!format!("{e:?}").contains(ALIBABA_ACCESS_KEY_SECRET));
}

#[tokio::test]
async fn catalog() {
    let emu = emulator().await;
    let c = client(&emu);
    let zones = c.zones(REGION).await.unwrap();
    assert!(zones.iter().any(|z| z.id == ZONE));
    let images = c.images(REGION).await.unwrap();
    assert!(
        images
            .iter()
            .any(|i| i.id == IMAGE && i.image_type == "system" && !i.os_name.is_empty())
    );
    let all = c.instance_types(REGION, None).await.unwrap();
    let g7 = all
        .iter()
        .find(|t| t.id == INSTANCE_TYPE)
        .expect("g7.large");
    assert_eq!((g7.cpu, g7.memory_gb, g7.family.as_str()), (2, 8, "ecs.g7"));
    // The burstable family is not sold in the region's last zone.
    let in_k = c
        .instance_types(REGION, Some("cn-hangzhou-k"))
        .await
        .unwrap();
    assert!(
        in_k.iter()
            .all(|t| t.family != "ecs.t6" && t.zone == "cn-hangzhou-k")
    );
    assert!(all.iter().any(|t| t.family == "ecs.t6"));
    assert!(in_k.len() < all.len());
}

/// The form pairs of every recorded request of `action`.
async fn sent(emu: &Emulator, action: &str) -> Vec<Vec<(String, String)>> {
    let log = emu.get_json("requests?provider=alibaba").await;
    log.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["action"] == action)
        .map(|r| {
            let mut pairs: Vec<(String, String)> =
                serde_json::from_value(r["form"].clone()).unwrap_or_default();
            let q: Vec<(String, String)> =
                serde_json::from_value(r["query"].clone()).unwrap_or_default();
            pairs.extend(q);
            pairs
        })
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Subscription instances: created with AutoRenew, resized with ModifyPrepayInstanceSpec
/// (OperatorType by the types' sizes), released through ModifyInstanceChargeType (the
/// emulator refuses DeleteInstances on an unexpired PrePaid with ChargeTypeViolation).
#[tokio::test]
async fn prepaid_resize_and_release() {
    let emu = emulator().await;
    let c = client(&emu);
    let mut req = run_request("prepaid");
    req.charge_type = ChargeType::Prepaid;
    let id = c.run_instances(&req).await.unwrap().remove(0);
    let run = sent(&emu, "RunInstances").await;
    assert_eq!(param(&run[0], "InstanceChargeType"), Some("PrePaid"));
    assert_eq!(param(&run[0], "AutoRenew"), Some("true"));
    assert_eq!(param(&run[0], "AutoRenewPeriod"), Some("1"));
    wait_state(&c, &id, InstanceState::Running).await;

    // Upgrade while running, then downgrade once stopped.
    c.resize(REGION, &id, "ecs.g7.xlarge").await.unwrap();
    c.stop_instances(REGION, std::slice::from_ref(&id), StopMode::Hard)
        .await
        .unwrap();
    wait_state(&c, &id, InstanceState::Stopped).await;
    c.resize(REGION, &id, INSTANCE_TYPE).await.unwrap();
    let modify = sent(&emu, "ModifyPrepayInstanceSpec").await;
    assert_eq!(modify.len(), 2, "{modify:?}");
    assert_eq!(param(&modify[0], "OperatorType"), Some("upgrade"));
    assert_eq!(param(&modify[1], "OperatorType"), Some("downgrade"));
    assert_eq!(param(&modify[1], "RegionId"), Some(REGION));
    assert!(sent(&emu, "ModifyInstanceSpec").await.is_empty());
    let d = c
        .describe_instances(REGION, &DescribeFilter::Ids(vec![id.clone()]))
        .await
        .unwrap();
    assert_eq!(d[0].instance_type, INSTANCE_TYPE);
    // StoppedMode is explicit.
    let stop = sent(&emu, "StopInstances").await;
    assert_eq!(param(&stop[0], "StoppedMode"), Some("KeepCharging"));

    // Release: changed to PostPaid first, then DeleteInstances.
    c.terminate_instances(REGION, std::slice::from_ref(&id))
        .await
        .unwrap();
    let change = sent(&emu, "ModifyInstanceChargeType").await;
    assert_eq!(change.len(), 1);
    assert_eq!(param(&change[0], "InstanceChargeType"), Some("PostPaid"));
    assert_eq!(
        param(&change[0], "InstanceIds"),
        Some(serde_json::to_string(&[&id]).unwrap().as_str())
    );
    let deadline = Instant::now() + WAIT;
    while emu.instance(&id).await.is_some() {
        assert!(Instant::now() < deadline, "{id} not released");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(emu.call_count("alibaba", "DeleteInstances").await, 1);

    // A PostPaid instance is released directly; its resize stays ModifyInstanceSpec.
    let post = c
        .run_instances(&run_request("postpaid"))
        .await
        .unwrap()
        .remove(0);
    wait_state(&c, &post, InstanceState::Running).await;
    c.stop_instances(REGION, std::slice::from_ref(&post), StopMode::Hard)
        .await
        .unwrap();
    wait_state(&c, &post, InstanceState::Stopped).await;
    c.resize(REGION, &post, "ecs.g7.xlarge").await.unwrap();
    assert_eq!(sent(&emu, "ModifyInstanceSpec").await.len(), 1);
    c.terminate_instances(REGION, std::slice::from_ref(&post))
        .await
        .unwrap();
    assert_eq!(sent(&emu, "ModifyInstanceChargeType").await.len(), 1);
}

/// A refused change of billing keeps the cloud's code and says what to do.
#[tokio::test]
async fn prepaid_release_refused_names_the_ways_out() {
    let emu = emulator().await;
    let c = client(&emu);
    let mut req = run_request("refused");
    req.charge_type = ChargeType::Prepaid;
    let id = c.run_instances(&req).await.unwrap().remove(0);
    wait_state(&c, &id, InstanceState::Running).await;
    emu.inject_fault(json!({
        "provider": "alibaba",
        "action": "ModifyInstanceChargeType",
        "code": "QuotaExceed.RufundVcpu",
        "message": "The maximum number of refund vcpu is exceeded: 0",
        "http_status": 400,
    }))
    .await;
    let e = c
        .terminate_instances(REGION, std::slice::from_ref(&id))
        .await
        .unwrap_err();
    assert_eq!(e.code, "QuotaExceed.RufundVcpu", "{e}");
    assert!(!e.kind.is_retryable(), "{e}");
    assert!(e.message.contains(&id), "{e}");
    assert!(e.message.contains("deletionPolicy: Orphan"), "{e}");
    assert!(sent(&emu, "DeleteInstances").await.is_empty());
    assert!(emu.instance(&id).await.is_some());
}

/// DescribeInstances pages with NextToken/MaxResults (PageNumber/PageSize are "about to be
/// deprecated", SDK `DescribeInstancesRequest.page_number`).
#[tokio::test]
async fn describe_pages_with_next_token() {
    let emu = emulator().await;
    let c = client(&emu);
    let mut req = run_request("paged");
    req.count = 100;
    c.run_instances(&req).await.unwrap();
    req.count = 30;
    req.client_token = Some("second-batch".into());
    c.run_instances(&req).await.unwrap();
    let all = c
        .describe_instances(REGION, &DescribeFilter::All)
        .await
        .unwrap();
    assert_eq!(all.len(), 130);
    let pages = sent(&emu, "DescribeInstances").await;
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert_eq!(param(&pages[0], "MaxResults"), Some("100"));
    assert_eq!(param(&pages[0], "NextToken"), None);
    assert!(param(&pages[1], "NextToken").is_some());
    assert!(pages.iter().all(|p| param(p, "PageNumber").is_none()));
}
