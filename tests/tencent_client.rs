//! The Tencent client against the real `cloud-emulator` binary: signing, the lifecycle,
//! retries, terminal errors, idempotency and authentication, end to end over HTTP.

mod support;

use std::time::{Duration, Instant};

use cloudinstance_controller::provider::retry::RetryPolicy;
use cloudinstance_controller::provider::tencent::TencentClient;
use cloudinstance_controller::provider::{
    ClientConfig, CloudProvider, Credentials, DescribeFilter, ErrorKind, InstanceState, Login,
    Modification, Network, RunRequest, SecretString, StopMode,
};
use serde_json::json;
use support::emulator::{Emulator, TENCENT_SECRET_ID, TENCENT_SECRET_KEY};

const REGION: &str = "ap-guangzhou";
const ZONE: &str = "ap-guangzhou-3";
const IMAGE: &str = "img-487zeit5";
const INSTANCE_TYPE: &str = "S5.MEDIUM4";
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

fn client_with(emu: &Emulator, secret: &str, retry: RetryPolicy) -> TencentClient {
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: TENCENT_SECRET_ID.into(),
        secret: SecretString::new(secret),
        project_id: None,
    });
    cfg.trust_endpoint(emu.url().to_string());
    cfg.timeout = Duration::from_secs(10);
    cfg.retry = retry;
    TencentClient::new(cfg).expect("client")
}

fn client(emu: &Emulator) -> TencentClient {
    client_with(emu, TENCENT_SECRET_KEY, retry())
}

fn run_request(name: &str) -> RunRequest {
    RunRequest {
        region: REGION.into(),
        zone: ZONE.into(),
        image_id: IMAGE.into(),
        instance_type: INSTANCE_TYPE.into(),
        instance_name: Some(name.into()),
        count: 1,
        network: Network {
            public_bandwidth_mbps: Some(5),
            ..Default::default()
        },
        login: Login {
            password: Some(SecretString::new("Passw0rd!it2024")),
            ..Default::default()
        },
        tags: [("cloudinstance/owner".to_string(), format!("it/{name}"))].into(),
        ..Default::default()
    }
}

/// Poll DescribeInstancesStatus until `id` is in `want`.
async fn wait_state(c: &TencentClient, id: &str, want: InstanceState) {
    let deadline = Instant::now() + WAIT;
    let ids = [id.to_string()];
    loop {
        let st = c
            .describe_status(REGION, &ids)
            .await
            .expect("describe_status");
        let now = st.first().map(|s| s.state);
        if now == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} is {now:?} ({:?}), not {want:?}, after {WAIT:?}",
            st.first().map(|s| &s.provider_state)
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

fn stats(calls: &serde_json::Value, action: &str) -> (u64, u64) {
    let s = &calls["tencent"][action];
    (
        s["total"].as_u64().unwrap_or(0),
        s["faulted"].as_u64().unwrap_or(0),
    )
}

#[tokio::test]
async fn full_lifecycle() {
    let emu = emulator().await;
    let c = client(&emu);

    let ids = c.run_instances(&run_request("it-life")).await.expect("run");
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = ids[0].clone();
    let one = vec![id.clone()];

    wait_state(&c, &id, InstanceState::Running).await;

    c.stop_instances(REGION, &one, StopMode::SoftThenHard)
        .await
        .expect("stop");
    wait_state(&c, &id, InstanceState::Stopped).await;

    c.start_instances(REGION, &one).await.expect("start");
    wait_state(&c, &id, InstanceState::Running).await;

    c.reboot_instances(REGION, &one, false)
        .await
        .expect("reboot");
    let op = emu.instance(&id).await.expect("instance")["last_operation"]["action"].clone();
    assert_eq!(op, "RebootInstances");
    wait_state(&c, &id, InstanceState::Running).await;

    c.modify_instance(
        REGION,
        &id,
        &Modification {
            name: Some("it-life-renamed".into()),
            security_group_ids: None,
        },
    )
    .await
    .expect("rename");
    let details = c
        .describe_instances(REGION, &DescribeFilter::Ids(one.clone()))
        .await
        .expect("describe");
    assert_eq!(details.len(), 1);
    let d = &details[0];
    assert_eq!(d.id, id);
    assert_eq!(d.name, "it-life-renamed");
    assert_eq!(d.state, InstanceState::Running);
    assert_eq!(d.provider_state, "RUNNING");
    assert_eq!(d.zone, ZONE);
    assert_eq!(d.instance_type, INSTANCE_TYPE);
    assert_eq!(d.image_id, IMAGE);
    assert!(!d.private_ips.is_empty(), "{d:?}");
    assert!(!d.public_ips.is_empty(), "{d:?}");
    assert_eq!(
        d.tags.get("cloudinstance/owner").map(String::as_str),
        Some("it/it-life")
    );
    assert!(d.created_at.is_some());
    // The emulator agrees.
    let e = emu.instance(&id).await.expect("instance");
    assert_eq!(e["name"], "it-life-renamed");
    assert_eq!(e["public_ips"], json!(d.public_ips));

    // A name and security groups at once: ModifyInstancesAttribute changes one attribute
    // per request (the emulator refuses two), so the client sends two requests.
    let before = emu.call_count("tencent", "ModifyInstancesAttribute").await;
    c.modify_instance(
        REGION,
        &id,
        &Modification {
            name: Some("it-life".into()),
            security_group_ids: Some(vec!["sg-0a1b2c3d".into()]),
        },
    )
    .await
    .expect("rename and change security groups");
    assert_eq!(
        emu.call_count("tencent", "ModifyInstancesAttribute").await,
        before + 2
    );
    assert_eq!(
        emu.instance(&id).await.expect("instance")["name"],
        "it-life"
    );

    // Found by its owner tag, and by listing everything.
    let by_tag = c
        .describe_instances(
            REGION,
            &DescribeFilter::Tag {
                key: "cloudinstance/owner".into(),
                value: "it/it-life".into(),
            },
        )
        .await
        .expect("by tag");
    assert_eq!(by_tag.iter().map(|d| &d.id).collect::<Vec<_>>(), vec![&id]);
    let none = c
        .describe_instances(
            REGION,
            &DescribeFilter::Tag {
                key: "cloudinstance/owner".into(),
                value: "it/someone-else".into(),
            },
        )
        .await
        .expect("by other tag");
    assert!(none.is_empty());
    let all = c
        .describe_instances(REGION, &DescribeFilter::All)
        .await
        .expect("all");
    assert!(all.iter().any(|d| d.id == id));

    c.terminate_instances(REGION, &one)
        .await
        .expect("terminate");
    let deadline = Instant::now() + WAIT;
    loop {
        let st = c.describe_status(REGION, &one).await.expect("status");
        match st.first() {
            None => break,
            Some(s) if s.state == InstanceState::Terminated => break,
            // The emulator keeps a terminated instance in the recycle bin for a while:
            // SHUTDOWN is held by the cloud, never gone (src/provider/tencent/state.rs),
            // and shows why it is isolated.
            Some(s) if s.state == InstanceState::Suspended => {
                assert_eq!(s.provider_state, "SHUTDOWN/MANMADE", "{s:?}");
                break;
            }
            Some(s) => {
                assert!(
                    matches!(s.state, InstanceState::Terminating | InstanceState::Running),
                    "{s:?}"
                );
                assert!(Instant::now() < deadline, "still {s:?}");
            }
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    // Gone for good eventually.
    emu.wait_for_state(&id, "gone", WAIT).await;
    assert!(c.describe_status(REGION, &one).await.unwrap().is_empty());
}

#[tokio::test]
async fn throttling_and_internal_errors_are_retried() {
    let emu = emulator().await;
    let c = client(&emu);

    emu.inject_fault(json!({
        "provider": "tencent", "action": "DescribeRegions",
        "code": "RequestLimitExceeded", "message": "emulated throttle", "count": 2
    }))
    .await;
    let regions = c.regions().await.expect("regions after throttling");
    assert!(regions.iter().any(|r| r.id == REGION && r.available));
    assert_eq!(stats(&emu.calls().await, "DescribeRegions"), (3, 2));

    emu.inject_fault(json!({
        "provider": "tencent", "action": "DescribeZones",
        "code": "InternalError", "message": "emulated internal error", "count": 3
    }))
    .await;
    let zones = c.zones(REGION).await.expect("zones after internal errors");
    assert!(zones.iter().any(|z| z.id == ZONE && z.available));
    assert!(zones.iter().any(|z| !z.available));
    assert_eq!(stats(&emu.calls().await, "DescribeZones"), (4, 3));

    // A 503 without a body is transient too.
    emu.inject_fault(json!({
        "provider": "tencent", "action": "DescribeImages",
        "code": "InternalError", "http_status": 503, "count": 1
    }))
    .await;
    let images = c.images(REGION).await.expect("images after a 503");
    assert!(images.iter().any(|i| i.id == IMAGE));
    assert_eq!(stats(&emu.calls().await, "DescribeImages").1, 1);

    // Exhausted attempts surface the last retryable error.
    emu.inject_fault(json!({
        "provider": "tencent", "action": "DescribeRegions",
        "code": "RequestLimitExceeded", "message": "still throttled"
    }))
    .await;
    let e = c.regions().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Throttled);
    assert_eq!(e.code, "RequestLimitExceeded");
    assert_eq!(stats(&emu.calls().await, "DescribeRegions"), (3 + 4, 2 + 4));
}

#[tokio::test]
async fn invalid_parameter_errors_are_terminal_and_keep_the_message() {
    let emu = emulator().await;
    let c = client(&emu);

    // An injected InvalidParameterValue with a distinct message.
    emu.inject_fault(json!({
        "provider": "tencent", "action": "DescribeZones",
        "code": "InvalidParameterValue", "message": "emulated: zone filter value 42 is bad"
    }))
    .await;
    let e = c.zones(REGION).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(e.code, "InvalidParameterValue");
    assert_eq!(e.message, "emulated: zone filter value 42 is bad");
    assert!(e.request_id.is_some());
    assert_eq!(stats(&emu.calls().await, "DescribeZones"), (1, 1));

    // Real validation errors of the emulated API: unknown zone and unknown image.
    let mut bad_zone = run_request("it-bad-zone");
    bad_zone.zone = "ap-guangzhou-99".into();
    let e = c.run_instances(&bad_zone).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    assert_eq!(e.code, "InvalidZone.MismatchRegion", "{e}");
    assert!(!e.message.is_empty());

    let mut bad_image = run_request("it-bad-image");
    bad_image.image_id = "img-00000000".into();
    let e = c.run_instances(&bad_image).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    assert!(e.code.starts_with("InvalidImageId"), "{e}");
    assert!(e.message.contains("img-00000000"), "{e}");

    // One attempt each: no retry of terminal errors.
    assert_eq!(stats(&emu.calls().await, "RunInstances").0, 2);
    assert!(emu.instances_of("tencent").await.is_empty());

    // Wrong state is its own kind: starting a running instance.
    let id = c
        .run_instances(&run_request("it-wrong-state"))
        .await
        .unwrap()
        .remove(0);
    wait_state(&c, &id, InstanceState::Running).await;
    let e = c
        .start_instances(REGION, std::slice::from_ref(&id))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::WrongState, "{e}");
    assert_eq!(stats(&emu.calls().await, "StartInstances").0, 1);
}

#[tokio::test]
async fn the_same_client_token_creates_one_instance() {
    let emu = emulator().await;
    let c = client(&emu);
    let mut req = run_request("it-token");
    req.client_token = Some("it-token-0001".into());

    let first = c.run_instances(&req).await.expect("first run");
    let second = c.run_instances(&req).await.expect("second run");
    assert_eq!(first, second);
    assert_eq!(first.len(), 1);

    let all = emu.instances_of("tencent").await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["id"], first[0].as_str());
    assert_eq!(all[0]["client_token"], "it-token-0001");

    // A retry after a dropped answer also reuses the (generated) token.
    emu.inject_fault(json!({
        "provider": "tencent", "action": "RunInstances",
        "code": "InternalError", "count": 1
    }))
    .await;
    let third = c
        .run_instances(&run_request("it-token-generated"))
        .await
        .expect("run with generated token");
    assert_eq!(third.len(), 1);
    assert_eq!(emu.instances_of("tencent").await.len(), 2);
}

#[tokio::test]
async fn a_wrong_secret_is_an_auth_error() {
    let emu = emulator().await;
    let c = client_with(&emu, "not-the-demo-secret", retry());
    let e = c.regions().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert_eq!(e.code, "AuthFailure.SignatureFailure", "{e}");
    assert!(e.request_id.is_some());
    let e = c.run_instances(&run_request("it-auth")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(emu.instances_of("tencent").await.is_empty());

    // The right secret works against the same emulator.
    assert!(!client(&emu).regions().await.unwrap().is_empty());
}

#[tokio::test]
async fn dry_run_batches_and_catalog() {
    let emu = emulator().await;
    let c = client(&emu);

    let mut req = run_request("it-dry");
    req.dry_run = true;
    let e = c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DryRunOk, "{e}");
    assert_eq!(e.code, "DryRunOperation");
    assert!(emu.instances_of("tencent").await.is_empty());

    emu.reset_calls().await;
    let too_many: Vec<String> = (0..101).map(|i| format!("ins-{i:08x}")).collect();
    let e = c
        .stop_instances(REGION, &too_many, StopMode::Soft)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    let e = c.describe_status(REGION, &too_many).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(emu.calls().await["tencent"], serde_json::Value::Null);

    // Unknown ids are absent from a status answer.
    let st = c
        .describe_status(REGION, &too_many[..100])
        .await
        .expect("status of unknown ids");
    assert!(st.is_empty());

    let types = c
        .instance_types(REGION, Some(ZONE))
        .await
        .expect("instance types");
    let t = types
        .iter()
        .find(|t| t.id == INSTANCE_TYPE)
        .expect("S5.MEDIUM4 offered");
    assert_eq!(
        (t.cpu, t.memory_gb, t.family.as_str(), t.zone.as_str()),
        (2, 4, "S5", ZONE)
    );
    assert!(types.iter().all(|t| t.zone == ZONE));
}
