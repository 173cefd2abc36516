//! Client tests against an in-process HTTP server that records what it receives and
//! answers with scripted Tencent envelopes. They check the transport side: headers, the
//! signature over the host:port actually sent, retries, paging, local batch checks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::*;

#[derive(Clone, Debug)]
struct Recorded {
    headers: HeaderMap,
    body: Value,
    raw: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn action(&self) -> &str {
        self.header("x-tc-action").unwrap_or("")
    }
}

type Responder = dyn Fn(usize, &Recorded) -> (u16, Value) + Send + Sync;

#[derive(Clone)]
struct Mock {
    calls: Arc<Mutex<Vec<Recorded>>>,
    respond: Arc<Responder>,
    delay: Duration,
}

async fn handle(State(m): State<Mock>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let rec = Recorded {
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw: body.to_vec(),
    };
    let n = {
        let mut calls = m.calls.lock().unwrap();
        calls.push(rec.clone());
        calls.len() - 1
    };
    if !m.delay.is_zero() {
        tokio::time::sleep(m.delay).await;
    }
    let (status, v) = (m.respond)(n, &rec);
    (StatusCode::from_u16(status).unwrap(), v.to_string())
}

struct Server {
    url: String,
    calls: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    async fn start(
        delay: Duration,
        respond: impl Fn(usize, &Recorded) -> (u16, Value) + Send + Sync + 'static,
    ) -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mock = Mock {
            calls: calls.clone(),
            respond: Arc::new(respond),
            delay,
        };
        let app = axum::Router::new()
            .route("/", axum::routing::post(handle))
            .with_state(mock);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Server {
            url: format!("http://{addr}"),
            calls,
        }
    }

    fn calls(&self) -> Vec<Recorded> {
        self.calls.lock().unwrap().clone()
    }
}

fn ok(extra: Value) -> (u16, Value) {
    let mut r = json!({"RequestId": "req-ok"});
    if let (Some(r), Some(e)) = (r.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    (200, json!({ "Response": r }))
}

fn err(code: &str, message: &str) -> (u16, Value) {
    (
        200,
        json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req-err"}}),
    )
}

const SECRET_ID: &str = "AKIDunit0000000000000000000000000000";
const SECRET_KEY: &str = "unit-secret-key-value";

fn client(url: &str, retry: RetryPolicy) -> TencentClient {
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: SECRET_ID.into(),
        secret: SecretString::new(SECRET_KEY),
        project_id: None,
    });
    cfg.trust_endpoint(url.to_string());
    cfg.timeout = Duration::from_secs(5);
    cfg.retry = retry;
    TencentClient::new(cfg).unwrap()
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

/// Re-derive the signature from what the server received, as Tencent would.
fn verify_signature(rec: &Recorded) {
    let host = rec.header("host").expect("Host header");
    let ts: i64 = rec.header("x-tc-timestamp").unwrap().parse().unwrap();
    let ct = rec.header("content-type").unwrap();
    let date = signer::utc_date(ts);
    let scope = signer::credential_scope(&date, "cvm");
    let canonical = signer::canonical_request(ct, host, &rec.raw);
    let sts = signer::string_to_sign(ts, &scope, &canonical);
    let sig = signer::signature(SECRET_KEY, &date, "cvm", &sts);
    assert_eq!(
        rec.header("authorization").unwrap(),
        signer::authorization(SECRET_ID, &scope, &sig)
    );
}

#[tokio::test]
async fn sends_the_documented_headers_and_a_signature_over_host_and_port() {
    let srv = Server::start(Duration::ZERO, |_, _| ok(json!({}))).await;
    let c = client(&srv.url, RetryPolicy::none());
    c.start_instances("ap-guangzhou", &["ins-1".into(), "ins-2".into()])
        .await
        .unwrap();
    let calls = srv.calls();
    assert_eq!(calls.len(), 1);
    let r = &calls[0];
    assert_eq!(r.action(), "StartInstances");
    assert_eq!(r.header("x-tc-version"), Some("2017-03-12"));
    assert_eq!(r.header("x-tc-region"), Some("ap-guangzhou"));
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let port = srv.url.rsplit(':').next().unwrap();
    assert_eq!(r.header("host"), Some(format!("127.0.0.1:{port}").as_str()));
    let auth = r.header("authorization").unwrap();
    assert!(
        auth.starts_with(&format!("TC3-HMAC-SHA256 Credential={SECRET_ID}/")),
        "{auth}"
    );
    assert!(auth.contains("/cvm/tc3_request, SignedHeaders=content-type;host, Signature="));
    verify_signature(r);
    assert_eq!(r.body, json!({"InstanceIds": ["ins-1", "ins-2"]}));
}

#[tokio::test]
async fn region_less_actions_omit_the_region_header() {
    let srv = Server::start(Duration::ZERO, |_, _| {
        ok(json!({"RegionSet": [
            {"Region": "ap-guangzhou", "RegionName": "South China (Guangzhou)", "RegionState": "AVAILABLE"},
            {"Region": "ap-closed", "RegionName": "Closed", "RegionState": "UNAVAILABLE"}
        ], "TotalCount": 2}))
    })
    .await;
    let c = client(&srv.url, RetryPolicy::none());
    let regions = c.regions().await.unwrap();
    assert_eq!(
        regions,
        vec![
            Region {
                id: "ap-guangzhou".into(),
                name: "South China (Guangzhou)".into(),
                available: true
            },
            Region {
                id: "ap-closed".into(),
                name: "Closed".into(),
                available: false
            },
        ]
    );
    let calls = srv.calls();
    assert_eq!(calls[0].action(), "DescribeRegions");
    assert!(calls[0].header("x-tc-region").is_none());
    assert_eq!(calls[0].body, json!({}));
    verify_signature(&calls[0]);
}

#[tokio::test]
async fn retries_throttling_and_internal_errors_then_succeeds() {
    let srv = Server::start(Duration::ZERO, |n, _| match n {
        0 => err("RequestLimitExceeded", "slow down"),
        1 => err("InternalError", "oops"),
        2 => (503, json!("unavailable")),
        _ => ok(json!({})),
    })
    .await;
    let c = client(&srv.url, fast_retry());
    c.stop_instances("ap-guangzhou", &["ins-1".into()], StopMode::Hard)
        .await
        .unwrap();
    let calls = srv.calls();
    assert_eq!(calls.len(), 4);
    for r in &calls {
        assert_eq!(
            r.body,
            json!({"InstanceIds": ["ins-1"], "StopType": "HARD"})
        );
        verify_signature(r);
    }
}

#[tokio::test]
async fn terminal_errors_are_not_retried_and_keep_the_providers_words() {
    let srv = Server::start(Duration::ZERO, |_, _| {
        err("InvalidParameterValue", "zone ap-nowhere-9 is not valid")
    })
    .await;
    let c = client(&srv.url, fast_retry());
    let e = c
        .reboot_instances("ap-guangzhou", &["ins-1".into()], true)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(e.code, "InvalidParameterValue");
    assert_eq!(e.message, "zone ap-nowhere-9 is not valid");
    assert_eq!(e.request_id.as_deref(), Some("req-err"));
    let calls = srv.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].body["StopType"], "HARD");
}

#[tokio::test]
async fn gives_up_after_max_attempts() {
    let srv = Server::start(Duration::ZERO, |_, _| err("RequestLimitExceeded", "busy")).await;
    let c = client(&srv.url, fast_retry());
    let e = c.regions().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Throttled);
    assert_eq!(srv.calls().len(), 4);
}

#[tokio::test]
async fn batches_over_the_limit_are_rejected_locally() {
    let srv = Server::start(Duration::ZERO, |_, _| ok(json!({}))).await;
    let c = client(&srv.url, RetryPolicy::none());
    let ids: Vec<String> = (0..101).map(|i| format!("ins-{i:08}")).collect();
    let region = "ap-guangzhou";
    let errors = vec![
        c.start_instances(region, &ids).await.unwrap_err(),
        c.stop_instances(region, &ids, StopMode::Soft)
            .await
            .unwrap_err(),
        c.reboot_instances(region, &ids, false).await.unwrap_err(),
        c.terminate_instances(region, &ids).await.unwrap_err(),
        c.describe_status(region, &ids).await.unwrap_err(),
        c.describe_instances(region, &DescribeFilter::Ids(ids.clone()))
            .await
            .unwrap_err(),
    ];
    for e in errors {
        assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
        assert!(e.message.contains("101"), "{e}");
    }
    assert!(srv.calls().is_empty());
    assert_eq!(c.batch_limit(), 100);
    // Exactly 100 is fine.
    c.start_instances(region, &ids[..100]).await.unwrap();
    assert_eq!(srv.calls().len(), 1);
}

#[tokio::test]
async fn empty_id_lists_make_no_call() {
    let srv = Server::start(Duration::ZERO, |_, _| ok(json!({}))).await;
    let c = client(&srv.url, RetryPolicy::none());
    c.start_instances("r", &[]).await.unwrap();
    c.terminate_instances("r", &[]).await.unwrap();
    assert!(c.describe_status("r", &[]).await.unwrap().is_empty());
    assert!(
        c.describe_instances("r", &DescribeFilter::Ids(vec![]))
            .await
            .unwrap()
            .is_empty()
    );
    c.modify_instance("r", "ins-1", &Modification::default())
        .await
        .unwrap();
    assert!(srv.calls().is_empty());
}

#[tokio::test]
async fn describe_status_is_one_call_with_limit_100() {
    let srv = Server::start(Duration::ZERO, |_, rec| {
        let set: Vec<Value> = rec.body["InstanceIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| json!({"InstanceId": id, "InstanceState": "RUNNING"}))
            .collect();
        ok(json!({"TotalCount": set.len(), "InstanceStatusSet": set}))
    })
    .await;
    let c = client(&srv.url, RetryPolicy::none());
    let ids: Vec<String> = (0..100).map(|i| format!("ins-{i:08}")).collect();
    let st = c.describe_status("ap-guangzhou", &ids).await.unwrap();
    assert_eq!(st.len(), 100);
    assert!(st.iter().all(|s| s.state == InstanceState::Running));
    let calls = srv.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].action(), "DescribeInstancesStatus");
    assert_eq!(calls[0].body["Limit"], 100);
}

#[tokio::test]
async fn describe_all_pages_through_offset_and_limit() {
    const TOTAL: usize = 250;
    let srv = Server::start(Duration::ZERO, |_, rec| {
        let offset = rec.body["Offset"].as_u64().unwrap() as usize;
        let limit = rec.body["Limit"].as_u64().unwrap() as usize;
        let set: Vec<Value> = (offset..(offset + limit).min(TOTAL))
            .map(|i| {
                json!({
                    "InstanceId": format!("ins-{i:08}"),
                    "InstanceName": format!("vm-{i}"),
                    "InstanceState": "STOPPED",
                    "Placement": {"Zone": "ap-guangzhou-3", "ProjectId": 0},
                    "PrivateIpAddresses": ["10.0.0.1"],
                    "PublicIpAddresses": null,
                    "Tags": [{"Key": "owner", "Value": "ci"}]
                })
            })
            .collect();
        ok(json!({"TotalCount": TOTAL, "InstanceSet": set}))
    })
    .await;
    let c = client(&srv.url, RetryPolicy::none());
    let all = c
        .describe_instances("ap-guangzhou", &DescribeFilter::All)
        .await
        .unwrap();
    assert_eq!(all.len(), TOTAL);
    assert_eq!(all[249].id, "ins-00000249");
    assert_eq!(all[0].state, InstanceState::Stopped);
    assert_eq!(all[0].zone, "ap-guangzhou-3");
    assert!(all[0].public_ips.is_empty());
    let offsets: Vec<(u64, u64)> = srv
        .calls()
        .iter()
        .map(|r| {
            assert!(r.body.get("Filters").is_none());
            assert!(r.body.get("InstanceIds").is_none());
            (
                r.body["Offset"].as_u64().unwrap(),
                r.body["Limit"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(offsets, vec![(0, 100), (100, 100), (200, 100)]);
}

#[tokio::test]
async fn describe_by_tag_uses_the_tag_filter() {
    let srv = Server::start(Duration::ZERO, |_, _| {
        ok(json!({"TotalCount": 1, "InstanceSet": [{"InstanceId": "ins-1", "InstanceState": "RUNNING",
            "Tags": [{"Key": "cloudinstance/owner", "Value": "ns/vm"}]}]}))
    })
    .await;
    let c = client(&srv.url, RetryPolicy::none());
    let got = c
        .describe_instances(
            "ap-guangzhou",
            &DescribeFilter::Tag {
                key: "cloudinstance/owner".into(),
                value: "ns/vm".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].tags.get("cloudinstance/owner").map(String::as_str),
        Some("ns/vm")
    );
    let calls = srv.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body["Filters"],
        json!([{"Name": "tag:cloudinstance/owner", "Values": ["ns/vm"]}])
    );
}

#[tokio::test]
async fn run_instances_generates_one_client_token_and_reuses_it_on_retry() {
    let srv = Server::start(Duration::ZERO, |n, _| match n {
        0 => err("InternalError", "try again"),
        _ => ok(json!({"InstanceIdSet": ["ins-abc"]})),
    })
    .await;
    let c = client(&srv.url, fast_retry());
    let req = RunRequest {
        region: "ap-guangzhou".into(),
        zone: "ap-guangzhou-3".into(),
        image_id: "img-1".into(),
        instance_type: "S5.MEDIUM4".into(),
        count: 1,
        login: Login {
            password: Some(SecretString::new("Pa55word!x")),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(c.run_instances(&req).await.unwrap(), vec!["ins-abc"]);
    let calls = srv.calls();
    assert_eq!(calls.len(), 2);
    let t0 = calls[0].body["ClientToken"].as_str().unwrap().to_string();
    assert!(t0.starts_with("cic-") && t0.len() <= 64, "{t0}");
    assert_eq!(calls[1].body["ClientToken"], t0.as_str());
    assert_eq!(calls[0].action(), "RunInstances");
    assert_eq!(calls[0].header("x-tc-region"), Some("ap-guangzhou"));
    assert_eq!(calls[0].body["LoginSettings"]["Password"], "Pa55word!x");

    // An explicit token is sent as is; an over-long one is refused locally.
    let mut with_token = req.clone();
    with_token.client_token = Some("my-token".into());
    c.run_instances(&with_token).await.unwrap();
    assert_eq!(srv.calls()[2].body["ClientToken"], "my-token");
    with_token.client_token = Some("x".repeat(65));
    let e = c.run_instances(&with_token).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(srv.calls().len(), 3);
}

#[tokio::test]
async fn dry_run_answer_is_dry_run_ok() {
    let srv = Server::start(Duration::ZERO, |_, _| {
        err("DryRunOperation", "The request would have succeeded")
    })
    .await;
    let c = client(&srv.url, fast_retry());
    let req = RunRequest {
        region: "ap-guangzhou".into(),
        zone: "ap-guangzhou-3".into(),
        image_id: "img-1".into(),
        dry_run: true,
        ..Default::default()
    };
    let e = c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DryRunOk);
    let calls = srv.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].body["DryRun"], true);
}

/// The SDK documents a passing dry run as an answer with only a RequestId
/// (`RunInstancesRequest.DryRun`: "如果检查通过，则返回RequestId"): also DryRunOk, never an
/// empty create.
#[tokio::test]
async fn dry_run_plain_success_is_dry_run_ok() {
    let srv = Server::start(Duration::ZERO, |_, _| ok(json!({}))).await;
    let c = client(&srv.url, fast_retry());
    let req = RunRequest {
        region: "ap-guangzhou".into(),
        zone: "ap-guangzhou-3".into(),
        image_id: "img-1".into(),
        dry_run: true,
        ..Default::default()
    };
    let e = c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DryRunOk, "{e}");
}

#[tokio::test]
async fn modify_reinstall_resize_and_catalog_calls() {
    let srv = Server::start(Duration::ZERO, |_, rec| match rec.action() {
        "DescribeZones" => ok(json!({"TotalCount": 1, "ZoneSet": [
            {"Zone": "ap-guangzhou-3", "ZoneId": "100003", "ZoneName": "Guangzhou Zone 3", "ZoneState": "AVAILABLE"}]})),
        "DescribeImages" => {
            let offset = rec.body["Offset"].as_u64().unwrap();
            let set = if offset == 0 {
                json!([{"ImageId": "img-1", "ImageName": "TencentOS", "OsName": "TencentOS Server 3.1", "ImageType": "PUBLIC_IMAGE"}])
            } else {
                json!([{"ImageId": "img-2", "ImageName": "CentOS", "OsName": "CentOS 7.9", "ImageType": "PUBLIC_IMAGE"}])
            };
            ok(json!({"TotalCount": 2, "ImageSet": set}))
        }
        "DescribeInstanceTypeConfigs" => ok(json!({"InstanceTypeConfigSet": [
            {"CPU": 2, "GPU": 0, "FPGA": 0, "InstanceFamily": "S5", "InstanceType": "S5.MEDIUM4", "Memory": 4, "Zone": "ap-guangzhou-3"}]})),
        _ => ok(json!({})),
    })
    .await;
    let c = client(&srv.url, RetryPolicy::none());
    let r = "ap-guangzhou";
    c.modify_instance(
        r,
        "ins-1",
        &Modification {
            name: Some("renamed".into()),
            security_group_ids: Some(vec!["sg-2".into()]),
        },
    )
    .await
    .unwrap();
    c.reinstall(
        r,
        "ins-1",
        &ReinstallRequest {
            image_id: "img-2".into(),
            login: Login {
                key_ids: vec!["skey-1".into()],
                ..Default::default()
            },
            system_disk_size_gb: Some(80),
            hostname: Some("web-1".into()),
        },
    )
    .await
    .unwrap();
    c.resize(r, "ins-1", "S5.LARGE8").await.unwrap();
    let zones = c.zones(r).await.unwrap();
    assert_eq!(zones[0].id, "ap-guangzhou-3");
    assert!(zones[0].available);
    let images = c.images(r).await.unwrap();
    assert_eq!(
        images.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        vec!["img-1", "img-2"]
    );
    let types = c.instance_types(r, Some("ap-guangzhou-3")).await.unwrap();
    assert_eq!(
        types,
        vec![InstanceTypeInfo {
            id: "S5.MEDIUM4".into(),
            zone: "ap-guangzhou-3".into(),
            family: "S5".into(),
            cpu: 2,
            memory_gb: 4
        }]
    );

    let calls = srv.calls();
    // Reinstall and resize first look at the instance's latest operation (operations.rs).
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.action() == "DescribeInstances")
            .count(),
        2
    );
    let bodies: Vec<(&str, &Value)> = calls
        .iter()
        .filter(|c| c.action() != "DescribeInstances")
        .map(|c| (c.action(), &c.body))
        .collect();
    // One attribute per ModifyInstancesAttribute request (the API's documented rule).
    assert_eq!(
        bodies[0],
        (
            "ModifyInstancesAttribute",
            &json!({"InstanceIds": ["ins-1"], "InstanceName": "renamed"})
        )
    );
    assert_eq!(
        bodies[1],
        (
            "ModifyInstancesAttribute",
            &json!({"InstanceIds": ["ins-1"], "SecurityGroups": ["sg-2"]})
        )
    );
    let bodies = &bodies[1..];
    assert_eq!(
        bodies[1],
        (
            "ResetInstance",
            &json!({"InstanceId": "ins-1", "ImageId": "img-2", "SystemDisk": {"DiskSize": 80},
                    "LoginSettings": {"KeyIds": ["skey-1"]}, "HostName": "web-1"})
        )
    );
    assert_eq!(
        bodies[2],
        (
            "ResetInstancesType",
            &json!({"InstanceIds": ["ins-1"], "InstanceType": "S5.LARGE8"})
        )
    );
    assert_eq!(bodies[3], ("DescribeZones", &json!({})));
    assert_eq!(bodies[4].0, "DescribeImages");
    assert_eq!(bodies[6].0, "DescribeInstanceTypeConfigs");
    assert_eq!(
        bodies[6].1,
        &json!({"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-3"]}]})
    );
}

#[tokio::test]
async fn slow_answers_time_out_as_transient() {
    let srv = Server::start(Duration::from_millis(800), |_, _| ok(json!({}))).await;
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: SECRET_ID.into(),
        secret: SecretString::new(SECRET_KEY),
        project_id: None,
    });
    cfg.trust_endpoint(srv.url.clone());
    cfg.timeout = Duration::from_millis(100);
    cfg.retry = RetryPolicy::none();
    let c = TencentClient::new(cfg).unwrap();
    let e = c.regions().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert_eq!(e.code, "Timeout", "{e}");
}

#[tokio::test]
async fn connection_refused_is_transient() {
    // Bind then drop to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = client(&format!("http://127.0.0.1:{port}"), RetryPolicy::none());
    let e = c.regions().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
}

#[test]
fn endpoint_and_host_handling() {
    let creds = Credentials {
        access_key_id: SECRET_ID.into(),
        secret: SecretString::new(SECRET_KEY),
        project_id: None,
    };
    let c = TencentClient::new(ClientConfig::new(creds.clone())).unwrap();
    assert_eq!(c.endpoint(), "https://cvm.tencentcloudapi.com/");
    assert_eq!(c.host, "cvm.tencentcloudapi.com");

    let mut cfg = ClientConfig::new(creds.clone());
    cfg.trust_endpoint("https://CVM.ap-guangzhou.TencentCloudAPI.com:443".into());
    let c = TencentClient::new(cfg).unwrap();
    assert_eq!(c.host, "cvm.ap-guangzhou.tencentcloudapi.com");

    let mut cfg = ClientConfig::new(creds.clone());
    cfg.trust_endpoint("http://127.0.0.1:4566".into());
    assert_eq!(TencentClient::new(cfg).unwrap().host, "127.0.0.1:4566");

    for bad in ["ftp://x", "not a url", "http://"] {
        let mut cfg = ClientConfig::new(creds.clone());
        cfg.trust_endpoint(bad.into());
        let e = TencentClient::new(cfg).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest, "{bad}");
    }
}

#[test]
fn debug_never_shows_the_secret() {
    let c = client("http://127.0.0.1:1", RetryPolicy::none());
    let dbg = format!("{c:?}");
    assert!(!dbg.contains(SECRET_KEY), "{dbg}");
    assert!(dbg.contains(SECRET_ID), "{dbg}");
    let any = AnyProvider::Tencent(c);
    assert!(!format!("{any:?}").contains(SECRET_KEY));
}

#[tokio::test]
async fn unbuildable_request_is_terminal_and_not_retried() {
    // A line break in the key id cannot go into a header: the request is never sent, and
    // the error must not be classified as transient (retrying cannot fix it).
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: format!("{SECRET_ID}\r\nX-Injected: yes"),
        secret: SecretString::new(SECRET_KEY),
        project_id: None,
    });
    cfg.trust_endpoint("http://127.0.0.1:1".into());
    cfg.retry = fast_retry();
    let c = TencentClient::new(cfg).unwrap();
    let e = c.regions().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    assert_eq!(e.code, "InvalidRequest", "{e}");
    assert!(!e.to_string().contains(SECRET_KEY), "{e}");
}

/// A start that failed after it was accepted is reported once (with the cloud's message),
/// then tried again; SHUTDOWN in a status poll carries its IsolatedSource.
#[tokio::test]
async fn failed_latest_operation_and_isolation_cause() {
    let srv = Server::start(Duration::ZERO, |_, rec| match rec.action() {
        "DescribeInstances" => ok(json!({"TotalCount": 1, "InstanceSet": [{
            "InstanceId": rec.body["InstanceIds"][0], "InstanceState": "SHUTDOWN",
            "IsolatedSource": "ARREAR", "RestrictState": "NORMAL",
            "LatestOperation": "StartInstances", "LatestOperationState": "FAILED",
            "LatestOperationRequestId": "req-start-1",
            "LatestOperationErrorMsg": "ResourceInsufficient.ZoneSoldOutForSpecifiedInstance"}]})),
        "DescribeInstancesStatus" => ok(json!({"TotalCount": 2, "InstanceStatusSet": [
            {"InstanceId": "ins-1", "InstanceState": "SHUTDOWN"},
            {"InstanceId": "ins-2", "InstanceState": "RESCUE_MODE"}]})),
        _ => ok(json!({})),
    })
    .await;
    let c = client(&srv.url, RetryPolicy::none());
    let r = "ap-guangzhou";
    let ids = ["ins-1".to_string()];
    let e = c.start_instances(r, &ids).await.unwrap_err();
    assert_eq!(e.code, "LatestOperationFailed");
    assert!(!e.kind.is_retryable());
    assert!(e.message.contains("ZoneSoldOutForSpecifiedInstance"), "{e}");
    // Reported once: the next attempt goes to the cloud.
    c.start_instances(r, &ids).await.unwrap();
    let actions: Vec<String> = srv.calls().iter().map(|c| c.action().to_string()).collect();
    assert_eq!(
        actions,
        ["DescribeInstances", "DescribeInstances", "StartInstances"]
    );

    let st = c
        .describe_status(r, &["ins-1".to_string(), "ins-2".to_string()])
        .await
        .unwrap();
    assert_eq!(st[0].state, InstanceState::Suspended);
    assert_eq!(st[0].provider_state, "SHUTDOWN/ARREAR");
    assert_eq!(st[1].state, InstanceState::Suspended);
    assert_eq!(st[1].provider_state, "RESCUE_MODE");
    let calls = srv.calls();
    let last = calls.last().unwrap();
    assert_eq!(last.action(), "DescribeInstances");
    assert_eq!(
        last.body["InstanceIds"],
        json!(["ins-1"]),
        "only the SHUTDOWN one"
    );
}
