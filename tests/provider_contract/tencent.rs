//! Tencent CVM: the table entry, and what only Tencent's client does (bodiless 5xx,
//! injected parameter errors, one attribute per ModifyInstancesAttribute request).

use serde_json::json;

use cloudinstance_controller::provider::tencent::TencentClient;
use cloudinstance_controller::provider::{
    AnyProvider, CloudProvider, ErrorKind, InstanceState, Login, Network, RunRequest, SecretString,
    StopMode,
};

use crate::contract::{Call, Contract, Ctx, Op, Rejected, Seen, Step, Text};
use crate::scenarios::contract_tests;
use crate::support::emulator::{TENCENT_SECRET_ID, TENCENT_SECRET_KEY};

const REGION: &str = "ap-guangzhou";
const ZONE: &str = "ap-guangzhou-3";
const IMAGE: &str = "img-487zeit5";

pub static CLOUD: Contract = Contract {
    provider: "tencent",
    make: |cfg| Ok(AnyProvider::Tencent(TencentClient::new(cfg)?)),
    key_id: TENCENT_SECRET_ID,
    secret: TENCENT_SECRET_KEY,
    project_id: None,
    region: REGION,
    zone: ZONE,
    image: IMAGE,
    image_type: "PUBLIC_IMAGE",
    image_os: "",
    instance_type: "S5.MEDIUM4",
    type_shape: (2, 4, "S5"),
    zone_limited: (ZONE, None),
    zones_action: "DescribeZones",
    run_request,
    owner_tag: ("cloudinstance/owner", "it/"),
    id_shape: |id| id.len() == 12 && id.starts_with("ins-"),
    unknown_id: |n| format!("ins-{n:08x}"),
    create_action: "RunInstances",
    start_action: "StartInstances",
    running_state: "RUNNING",
    stop_mode: StopMode::SoftThenHard,
    force_reboot: false,
    new_sgs: &["sg-0a1b2c3d"],
    sg_order_kept: true,
    // one attribute per request: the name, then the security groups
    modify_calls: &[("ModifyInstancesAttribute", 2)],
    wrong_state_code: None,
    while_terminating: &[InstanceState::Terminating, InstanceState::Running],
    // A pay-as-you-go instance is destroyed directly, never recycled (SHUTDOWN)
    // (https://cloud.tencent.com/document/api/213/15723).
    recycled: None,
    check,
    while_stopped: None,
    rejected: &[
        Rejected {
            what: "a zone of another region",
            change: |r| r.zone = "ap-guangzhou-99".into(),
            code: Text::Is("InvalidZone.MismatchRegion"),
            message: Text::NonEmpty,
            sent: true,
            secret: None,
        },
        Rejected {
            what: "an unknown image",
            change: |r| r.image_id = "img-00000000".into(),
            code: Text::StartsWith("InvalidImageId"),
            message: Text::Contains("img-00000000"),
            sent: true,
            secret: None,
        },
    ],
    not_found: (Op::Terminate, "InvalidInstanceId.NotFound"),
    status_over_limit_refused: true,
    throttle: (Call::Regions, "DescribeRegions", "RequestLimitExceeded"),
    server_error: || json!({"code": "InternalError", "message": "emulated internal error"}),
    rate_limited: (Call::Status, "DescribeInstancesStatus"),
    auth: (
        Call::Regions,
        "DescribeRegions",
        "AuthFailure.SignatureFailure",
        None,
    ),
    unknown_key: Some((
        "AKIDUNKNOWN00000000000000000000000",
        "AuthFailure.SecretIdNotFound",
    )),
    dry_run_code: Some("DryRunOperation"),
    token_on_record: true,
};

fn run_request(name: &str) -> RunRequest {
    RunRequest {
        region: REGION.into(),
        zone: ZONE.into(),
        image_id: IMAGE.into(),
        instance_type: "S5.MEDIUM4".into(),
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

fn check(step: Step, seen: &Seen) {
    if step == Step::Rebooting {
        assert_eq!(seen.record["last_operation"]["action"], "RebootInstances");
    }
}

contract_tests!();

/// Some zones of the region are not available; a 503 without a body is transient too.
#[tokio::test]
async fn unavailable_zones_and_a_bodiless_503() {
    let cx = Ctx::start(&CLOUD).await;
    let zones = cx.c.zones(REGION).await.expect("zones");
    assert!(zones.iter().any(|z| !z.available), "{zones:?}");

    cx.fault(json!({"action": "DescribeImages", "code": "InternalError", "http_status": 503, "count": 1}))
        .await;
    let images = cx.c.images(REGION).await.expect("images after a 503");
    assert!(images.iter().any(|i| i.id == IMAGE));
    assert_eq!(cx.stats("DescribeImages").await.1, 1);
}

/// An injected InvalidParameterValue keeps its message and request id, and is not retried.
#[tokio::test]
async fn an_injected_parameter_error_keeps_its_message() {
    let cx = Ctx::start(&CLOUD).await;
    cx.fault(json!({
        "action": "DescribeZones", "code": "InvalidParameterValue",
        "message": "emulated: zone filter value 42 is bad"
    }))
    .await;
    let e = cx.c.zones(REGION).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(e.code, "InvalidParameterValue");
    assert_eq!(e.message, "emulated: zone filter value 42 is bad");
    assert!(e.request_id.is_some());
    assert_eq!(cx.stats("DescribeZones").await, (1, 1));
}

/// Temporary (STS) credentials: the client sends the session token as `X-TC-Token`; the
/// emulator's temporary demo key refuses a request without it, or with another one, with
/// `AuthFailure.TokenFailure` (CVM API reference "Common Params" `Token`, "Common Error
/// Codes"). The token never appears in the error or the emulator's request log.
#[tokio::test]
async fn temporary_credentials_send_the_session_token() {
    use cloudinstance_controller::provider::{ClientConfig, Credentials};
    let cx = Ctx::start(&CLOUD).await;
    let make = |token: Option<&str>| {
        let mut cfg = ClientConfig::new(Credentials {
            access_key_id: "AKIDTEMP00000000000000000000000000".into(),
            secret: SecretString::new("demo-tencent-temporary-secret-key"),
            project_id: None,
        });
        cfg.trust_endpoint(cx.emu.url().to_string());
        cfg.session_token = token.map(SecretString::new);
        TencentClient::new(cfg).expect("client")
    };
    let regions = make(Some("demo-tencent-session-token"))
        .regions()
        .await
        .expect("a temporary key with its token");
    assert!(regions.iter().any(|r| r.id == REGION), "{regions:?}");
    for token in [None, Some("an-expired-token")] {
        let e = make(token).regions().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth, "{e}");
        assert_eq!(e.code, "AuthFailure.TokenFailure", "{e}");
        assert!(!e.to_string().contains("demo-tencent-session-token"), "{e}");
    }
    let log = cx
        .emu
        .get_json("requests?provider=tencent")
        .await
        .to_string();
    assert!(!log.contains("demo-tencent-session-token"), "{log}");
    assert!(!log.contains("an-expired-token"), "{log}");
}
