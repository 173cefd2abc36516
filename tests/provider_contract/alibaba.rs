//! Alibaba ECS: the table entry, and what only Alibaba's client does (resize and
//! ReplaceSystemDisk while stopped, paging, IdempotentParameterMismatch). That the string
//! to sign SignatureDoesNotMatch quotes (the password included) is redacted is checked by
//! the shared `authentication` scenario.

use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::json;

use cloudinstance_controller::provider::alibaba::AlibabaClient;
use cloudinstance_controller::provider::{
    AnyProvider, ChargeType, CloudProvider, DescribeFilter, Disk, ErrorKind, InstanceState, Login,
    Network, ReinstallRequest, RunRequest, SecretString, StopMode,
};

use std::time::{Duration, Instant};

use crate::contract::{Call, Contract, Ctx, Op, Rejected, Seen, Step, Text, WAIT, param};
use crate::scenarios::contract_tests;
use crate::support::emulator::{ALIBABA_ACCESS_KEY_ID, ALIBABA_ACCESS_KEY_SECRET};

const REGION: &str = "cn-hangzhou";
const ZONE: &str = "cn-hangzhou-i";
const IMAGE: &str = "aliyun_3_x64_20G_alibase_20240819.vhd";
const IMAGE2: &str = "ubuntu_22_04_x64_20G_alibase_20240926.vhd";
const INSTANCE_TYPE: &str = "ecs.g7.large";

pub static CLOUD: Contract = Contract {
    provider: "alibaba",
    make: |cfg| Ok(AnyProvider::Alibaba(AlibabaClient::new(cfg)?)),
    key_id: ALIBABA_ACCESS_KEY_ID,
    secret: ALIBABA_ACCESS_KEY_SECRET,
    project_id: None,
    region: REGION,
    zone: ZONE,
    image: IMAGE,
    image_type: "system",
    image_os: "",
    instance_type: INSTANCE_TYPE,
    type_shape: (2, 8, "ecs.g7"),
    // the burstable family is not sold in the region's last zone
    zone_limited: ("cn-hangzhou-k", Some("ecs.t6")),
    zones_action: "DescribeZones",
    run_request,
    owner_tag: ("cloudinstance/owner", "it/"),
    id_shape: |id| id.starts_with("i-"),
    unknown_id: |n| format!("i-doesnotexist{n:010}"),
    create_action: "RunInstances",
    start_action: "StartInstances",
    running_state: "Running",
    stop_mode: StopMode::Soft,
    force_reboot: false,
    new_sgs: &["sg-it0000000000000002", "sg-it0000000000000003"],
    sg_order_kept: true,
    modify_calls: &[],
    wrong_state_code: Some("IncorrectInstanceStatus"),
    // a running instance is released with Force=true: stopped on the way
    while_terminating: &[InstanceState::Stopping, InstanceState::Terminating],
    recycled: None,
    check,
    while_stopped: Some(resize_and_reinstall),
    rejected: &[
        Rejected {
            what: "an unknown image",
            change: |r| r.image_id = "no-such-image".into(),
            code: Text::Is("InvalidImageId.NotFound"),
            message: Text::Is("The specified ImageId `no-such-image` does not exist."),
            sent: true,
            secret: None,
        },
        Rejected {
            what: "a weak password",
            change: |r| r.login.password = Some(SecretString::new("weak")),
            code: Text::Is("InvalidPassword.Malformed"),
            message: Text::NonEmpty,
            sent: true,
            secret: Some("weak"),
        },
        Rejected {
            what: "no vSwitch (refused before sending: VPC instances need one)",
            change: |r| r.network.subnet_id = None,
            code: Text::Is("InvalidVSwitchId.Necessary"),
            message: Text::Contains("spec.network.subnetId"),
            sent: false,
            secret: None,
        },
        Rejected {
            what: "a vSwitch of another zone (the emulator's vsw-bp1demo0000000000000 is in cn-hangzhou-h)",
            change: |r| r.network.subnet_id = Some("vsw-bp1demo0000000000000".into()),
            code: Text::Is("InvalidParameter.Mismatch"),
            message: Text::StartsWith("Specified virtual switch is not in the specified zone"),
            sent: true,
            secret: None,
        },
    ],
    not_found: (Op::Terminate, "InvalidInstanceId.NotFound"),
    // DescribeInstanceStatus pages through any number of ids
    status_over_limit_refused: false,
    throttle: (Call::Regions, "DescribeRegions", "Throttling.User"),
    server_error: || json!({"code": "InternalError"}),
    rate_limited: (Call::Status, "DescribeInstanceStatus"),
    auth: (
        Call::Regions,
        "DescribeRegions",
        "SignatureDoesNotMatch",
        None,
    ),
    unknown_key: Some(("LTAIUNKNOWN000000000000", "InvalidAccessKeyId.NotFound")),
    dry_run_code: Some("DryRunOperation"),
    token_on_record: true,
};

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

fn check(step: Step, seen: &Seen) {
    let st = seen.status;
    match step {
        Step::Created => {
            assert_eq!(st[0].provider_state, "Pending");
            assert_eq!(st[0].state, InstanceState::Pending);
        }
        Step::Running => {
            let d = seen.details.expect("details");
            assert!(
                d.created_at.as_deref().is_some_and(|t| t.ends_with(":00Z")),
                "{:?}",
                d.created_at
            );
            // the emulator stored what the client sent
            assert_eq!(seen.record["system_disk"]["size_gb"], 40);
            assert_eq!(seen.record["data_disks"][0]["size_gb"], 100);
            assert_eq!(seen.record["host_name"], "web-host");
        }
        Step::Stopping => assert_eq!(st[0].state, InstanceState::Stopping),
        Step::Rebooting => assert!(st[0].state.is_transitional(), "{st:?}"),
        Step::Terminating => {}
    }
}

/// Stopped: a new type, and a new system disk (ReplaceSystemDisk) with another image,
/// size and host name.
fn resize_and_reinstall<'a>(cx: &'a Ctx, id: &'a str) -> BoxFuture<'a, ()> {
    async move {
        cx.c.resize(REGION, id, "ecs.g7.xlarge")
            .await
            .expect("resize");
        let reinstall = ReinstallRequest {
            image_id: IMAGE2.into(),
            login: Login {
                password: Some(SecretString::new("N3w-Passw0rd!")),
                ..Default::default()
            },
            system_disk_size_gb: Some(50),
            hostname: Some("web-renamed".into()),
        };
        cx.c.reinstall(REGION, id, &reinstall)
            .await
            .expect("reinstall");
        let d = cx.details(id).await;
        assert_eq!(d.instance_type, "ecs.g7.xlarge");
        assert_eq!(d.image_id, IMAGE2);
        let inst = cx.emu.instance(id).await.expect("instance");
        assert_eq!(inst["system_disk"]["size_gb"], 50);
        assert_eq!(inst["host_name"], "web-renamed");
    }
    .boxed()
}

contract_tests!();

/// DescribeInstanceStatus pages hold 50: the client pages through for 60 ids, and an
/// unknown id next to a known one is simply absent.
#[tokio::test]
async fn batches_and_paging() {
    let cx = Ctx::start(&CLOUD).await;
    let mut req = run_request("batch");
    req.count = 60;
    let ids = cx.c.run_instances(&req).await.expect("run 60");
    assert_eq!(ids.len(), 60);
    assert_eq!(cx.status(&ids).await.len(), 60);
    let all =
        cx.c.describe_instances(REGION, &DescribeFilter::All)
            .await
            .expect("all");
    assert_eq!(all.len(), 60);
    let st = cx
        .status(&["i-doesnotexist0000000000".to_string(), ids[0].clone()])
        .await;
    assert_eq!(st.len(), 1);
}

/// The same token with different parameters is Alibaba's IdempotentParameterMismatch.
#[tokio::test]
async fn a_reused_token_with_other_parameters_is_refused() {
    let cx = Ctx::start(&CLOUD).await;
    let mut req = run_request("idem");
    req.client_token = Some("cic-it-token-0001".into());
    cx.c.run_instances(&req).await.expect("create");
    req.instance_type = "ecs.c7.large".into();
    let e = cx.c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.code, "IdempotentParameterMismatch");
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(cx.instances().await.len(), 1);
}

/// Subscription instances: created with AutoRenew, resized with ModifyPrepayInstanceSpec
/// (OperatorType by the types' sizes), released through ModifyInstanceChargeType (the
/// emulator refuses DeleteInstances on an unexpired PrePaid with ChargeTypeViolation).
#[tokio::test]
async fn prepaid_resize_and_release() {
    let cx = Ctx::start(&CLOUD).await;
    let mut req = run_request("prepaid");
    req.charge_type = ChargeType::Prepaid;
    let id = cx.c.run_instances(&req).await.unwrap().remove(0);
    let ids = [id.clone()];
    let run = cx.sent("RunInstances").await;
    assert_eq!(param(&run[0], "InstanceChargeType"), Some("PrePaid"));
    assert_eq!(param(&run[0], "AutoRenew"), Some("true"));
    assert_eq!(param(&run[0], "AutoRenewPeriod"), Some("1"));
    cx.wait_state(&id, InstanceState::Running).await;

    // Upgrade while running, then downgrade once stopped.
    cx.c.resize(REGION, &id, "ecs.g7.xlarge").await.unwrap();
    cx.c.stop_instances(REGION, &ids, StopMode::Hard)
        .await
        .unwrap();
    cx.wait_state(&id, InstanceState::Stopped).await;
    cx.c.resize(REGION, &id, INSTANCE_TYPE).await.unwrap();
    let modify = cx.sent("ModifyPrepayInstanceSpec").await;
    assert_eq!(modify.len(), 2, "{modify:?}");
    assert_eq!(param(&modify[0], "OperatorType"), Some("upgrade"));
    assert_eq!(param(&modify[1], "OperatorType"), Some("downgrade"));
    assert_eq!(param(&modify[1], "RegionId"), Some(REGION));
    assert!(cx.sent("ModifyInstanceSpec").await.is_empty());
    assert_eq!(cx.details(&id).await.instance_type, INSTANCE_TYPE);
    // StoppedMode is explicit.
    let stop = cx.sent("StopInstances").await;
    assert_eq!(param(&stop[0], "StoppedMode"), Some("KeepCharging"));

    // Release: changed to PostPaid first, then DeleteInstances.
    cx.c.terminate_instances(REGION, &ids).await.unwrap();
    let change = cx.sent("ModifyInstanceChargeType").await;
    assert_eq!(change.len(), 1);
    assert_eq!(param(&change[0], "InstanceChargeType"), Some("PostPaid"));
    assert_eq!(
        param(&change[0], "InstanceIds"),
        Some(serde_json::to_string(&[&id]).unwrap().as_str())
    );
    let deadline = Instant::now() + WAIT;
    while cx.emu.instance(&id).await.is_some() {
        assert!(Instant::now() < deadline, "{id} not released");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(cx.emu.call_count("alibaba", "DeleteInstances").await, 1);

    // A PostPaid instance is released directly; its resize stays ModifyInstanceSpec.
    let post =
        cx.c.run_instances(&run_request("postpaid"))
            .await
            .unwrap()
            .remove(0);
    let posts = [post.clone()];
    cx.wait_state(&post, InstanceState::Running).await;
    cx.c.stop_instances(REGION, &posts, StopMode::Hard)
        .await
        .unwrap();
    cx.wait_state(&post, InstanceState::Stopped).await;
    cx.c.resize(REGION, &post, "ecs.g7.xlarge").await.unwrap();
    assert_eq!(cx.sent("ModifyInstanceSpec").await.len(), 1);
    cx.c.terminate_instances(REGION, &posts).await.unwrap();
    assert_eq!(cx.sent("ModifyInstanceChargeType").await.len(), 1);
}

/// A subscription the account cannot pay (`InvalidPayMethod`, 403, RunInstances.md
/// InstanceChargeType and error table; the emulator's `alibaba_no_payment_method` switch) is
/// a billing refusal (Quota: the controller reports it and sends the create again later, like
/// Tencent's `InvalidAccount.InsufficientBalance`), sent once, not retried; a pay-as-you-go
/// create is not concerned.
#[tokio::test]
async fn a_subscription_without_a_payment_method_is_a_billing_refusal() {
    let cx = Ctx::start(&CLOUD).await;
    let cfg = cx
        .emu
        .set_config(json!({"alibaba_no_payment_method": true}))
        .await;
    assert_eq!(cfg["alibaba_no_payment_method"], true, "{cfg}");
    let mut req = run_request("nopay");
    req.charge_type = ChargeType::Prepaid;
    let e = cx.c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.code, "InvalidPayMethod", "{e}");
    assert_eq!(e.kind, ErrorKind::Quota, "{e}");
    assert_eq!(cx.sent("RunInstances").await.len(), 1);
    let post = cx.c.run_instances(&run_request("nopay-postpaid")).await;
    assert!(post.is_ok(), "{post:?}");
}

/// A refused change of billing keeps the cloud's code and says what to do.
#[tokio::test]
async fn prepaid_release_refused_names_the_ways_out() {
    let cx = Ctx::start(&CLOUD).await;
    let mut req = run_request("refused");
    req.charge_type = ChargeType::Prepaid;
    let id = cx.c.run_instances(&req).await.unwrap().remove(0);
    cx.wait_state(&id, InstanceState::Running).await;
    cx.fault(json!({
        "action": "ModifyInstanceChargeType",
        "code": "QuotaExceed.RufundVcpu",
        "message": "The maximum number of refund vcpu is exceeded: 0",
        "http_status": 400,
    }))
    .await;
    let e =
        cx.c.terminate_instances(REGION, std::slice::from_ref(&id))
            .await
            .unwrap_err();
    assert_eq!(e.code, "QuotaExceed.RufundVcpu", "{e}");
    assert!(!e.kind.is_retryable(), "{e}");
    assert!(e.message.contains(&id), "{e}");
    assert!(e.message.contains("deletionPolicy: Orphan"), "{e}");
    assert!(cx.sent("DeleteInstances").await.is_empty());
    assert!(cx.emu.instance(&id).await.is_some());
}

/// DescribeInstances pages with NextToken/MaxResults (PageNumber/PageSize are "about to be
/// deprecated", SDK `DescribeInstancesRequest.page_number`).
#[tokio::test]
async fn describe_pages_with_next_token() {
    let cx = Ctx::start(&CLOUD).await;
    let mut req = run_request("paged");
    req.count = 100;
    cx.c.run_instances(&req).await.unwrap();
    req.count = 30;
    req.client_token = Some("second-batch".into());
    cx.c.run_instances(&req).await.unwrap();
    let all =
        cx.c.describe_instances(REGION, &DescribeFilter::All)
            .await
            .unwrap();
    assert_eq!(all.len(), 130);
    let pages = cx.sent("DescribeInstances").await;
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert_eq!(param(&pages[0], "MaxResults"), Some("100"));
    assert_eq!(param(&pages[0], "NextToken"), None);
    assert!(param(&pages[1], "NextToken").is_some());
    assert!(pages.iter().all(|p| param(p, "PageNumber").is_none()));
}

/// The client signs with V3 (`ACS3-HMAC-SHA256`, "Request syntax and signature method V3",
/// https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature):
/// the action and version in `x-acs-action`/`x-acs-version`, a date and a nonce in
/// `x-acs-date`/`x-acs-signature-nonce`, the parameters in the query string (where the
/// official SDK puts every parameter of these actions), an empty body, and none of the V2
/// common parameters. The emulator verified every signature (it answers
/// `SignatureDoesNotMatch` otherwise), so the calls succeeding is the signature check.
#[tokio::test]
async fn requests_are_signed_with_v3_and_parameters_travel_in_the_query() {
    let cx = Ctx::start(&CLOUD).await;
    cx.c.regions().await.expect("regions");
    let ids = cx.c.run_instances(&run_request("v3")).await.expect("run");
    cx.status(&ids).await;
    let log = cx.emu.get_json("requests?provider=alibaba").await;
    let log = log.as_array().cloned().unwrap_or_default();
    assert!(log.len() >= 3, "{log:?}");
    let mut nonces = std::collections::BTreeSet::new();
    for r in &log {
        let h = &r["headers"];
        assert_eq!(h["x-acs-action"], r["action"], "{r}");
        assert_eq!(h["x-acs-version"], "2014-05-26", "{r}");
        let date = h["x-acs-date"].as_str().unwrap_or_default();
        assert!(date.len() == 20 && date.ends_with('Z'), "{r}");
        assert!(nonces.insert(h["x-acs-signature-nonce"].to_string()), "{r}");
        assert!(
            r["form"].as_array().is_none_or(|f| f.is_empty()),
            "parameters in a form body: {r}"
        );
        assert_eq!(r["method"], "POST", "{r}");
        let query: Vec<(String, String)> =
            serde_json::from_value(r["query"].clone()).unwrap_or_default();
        for v2 in [
            "Action",
            "Version",
            "AccessKeyId",
            "SignatureMethod",
            "SignatureVersion",
            "SignatureNonce",
            "Timestamp",
            "Format",
        ] {
            assert!(param(&query, v2).is_none(), "V2 parameter {v2}: {r}");
        }
    }
    let run = cx.sent("RunInstances").await;
    assert_eq!(param(&run[0], "RegionId"), Some(REGION));
    assert_eq!(param(&run[0], "ImageId"), Some(IMAGE));
}
