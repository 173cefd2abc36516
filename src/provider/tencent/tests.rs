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

mod calls;

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

/// Temporary credentials: the token goes in `X-TC-Token` (tencentcloud-sdk-python-common
/// `abstract_client.py`), outside the signature, and never into Debug output.
#[tokio::test]
async fn temporary_credentials_send_x_tc_token() {
    let srv = Server::start(Duration::ZERO, |_, _| ok(json!({}))).await;
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: SECRET_ID.into(),
        secret: SecretString::new(SECRET_KEY),
        project_id: None,
    });
    cfg.trust_endpoint(srv.url.clone());
    cfg.session_token = Some(SecretString::new("sts-token-value"));
    let c = TencentClient::new(cfg).unwrap();
    assert!(!format!("{c:?}").contains("sts-token-value"));
    c.start_instances("ap-guangzhou", &["ins-1".into()])
        .await
        .unwrap();
    // Every request (the describe before a one-instance start, then the start) carries it.
    let with = srv.calls();
    assert!(!with.is_empty());
    for r in &with {
        assert_eq!(
            r.header("x-tc-token"),
            Some("sts-token-value"),
            "{}",
            r.action()
        );
        verify_signature(r);
    }
    // Long-term keys send no token header at all.
    let c = client(&srv.url, RetryPolicy::none());
    c.start_instances("ap-guangzhou", &["ins-1".into()])
        .await
        .unwrap();
    let without = &srv.calls()[with.len()..];
    assert!(!without.is_empty());
    assert!(without.iter().all(|r| r.header("x-tc-token").is_none()));
}

/// More than 5 security groups are refused before any request (a rename in the same change
/// is not sent either): `LimitExceeded.AssociateUSGLimitExceeded`.
#[tokio::test]
async fn at_most_five_security_groups_per_instance() {
    let srv = Server::start(Duration::ZERO, |_, _| ok(json!({}))).await;
    let c = client(&srv.url, RetryPolicy::none());
    let groups: Vec<String> = (0..6).map(|i| format!("sg-0000000{i}")).collect();
    let change = Modification {
        name: Some("web".into()),
        security_group_ids: Some(groups.clone()),
    };
    let e = c
        .modify_instance("ap-guangzhou", "ins-1", &change)
        .await
        .unwrap_err();
    assert_eq!(e.code, "LimitExceeded.AssociateUSGLimitExceeded");
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert!(srv.calls().is_empty());
    let five = Modification {
        name: None,
        security_group_ids: Some(groups[..5].to_vec()),
    };
    c.modify_instance("ap-guangzhou", "ins-1", &five)
        .await
        .unwrap();
    assert_eq!(srv.calls().len(), 1);
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

/// A type change ends with the instance RUNNING by itself (ResetInstancesType doc comment,
/// tencentcloud-sdk-go `cvm/v20170312/client.go` = API/15744): while its operation is
/// OPERATING, the STOPPED instance it resized is reported `Starting` (so the controller
/// sends no StartInstances); other STOPPED instances cost no extra call; once the
/// operation has ended the watch ends.
#[tokio::test]
async fn a_type_change_under_way_is_reported_starting() {
    let op_state = Arc::new(Mutex::new("OPERATING"));
    let st = op_state.clone();
    let srv = Server::start(Duration::ZERO, move |_, rec| match rec.action() {
        "DescribeInstances" => ok(json!({"TotalCount": 1, "InstanceSet": [{
            "InstanceId": "ins-1", "InstanceState": "STOPPED",
            "LatestOperation": "ResetInstancesType",
            "LatestOperationState": *st.lock().unwrap(),
            "LatestOperationRequestId": "req-resize-1"}]})),
        "DescribeInstancesStatus" => ok(json!({"TotalCount": 2, "InstanceStatusSet": [
            {"InstanceId": "ins-1", "InstanceState": "STOPPED"},
            {"InstanceId": "ins-2", "InstanceState": "STOPPED"}]})),
        _ => ok(json!({})),
    })
    .await;
    let c = client(&srv.url, RetryPolicy::none());
    let r = "ap-guangzhou";
    let both = ["ins-1".to_string(), "ins-2".to_string()];
    // Not resized by this client: STOPPED as shown, one call.
    let s = c.describe_status(r, &both).await.unwrap();
    assert_eq!(s[0].state, InstanceState::Stopped);
    assert_eq!(srv.calls().len(), 1);

    c.resize(r, "ins-1", "S5.LARGE8").await.unwrap();
    let s = c.describe_status(r, &both).await.unwrap();
    assert_eq!(s[0].state, InstanceState::Starting);
    assert_eq!(
        s[0].provider_state,
        "STOPPED (ResetInstancesType OPERATING)"
    );
    assert_eq!(s[1].state, InstanceState::Stopped, "only the resized one");
    let calls = srv.calls();
    assert_eq!(calls.last().unwrap().action(), "DescribeInstances");
    assert_eq!(calls.last().unwrap().body["InstanceIds"], json!(["ins-1"]));

    // Done (here: failed; the instance stays STOPPED): reported as it is, watch over.
    *op_state.lock().unwrap() = "FAILED";
    let s = c.describe_status(r, &both).await.unwrap();
    assert_eq!(s[0].state, InstanceState::Stopped);
    let n = srv.calls().len();
    c.describe_status(r, &both).await.unwrap();
    assert_eq!(
        srv.calls().len(),
        n + 1,
        "no DescribeInstances after the watch"
    );
}
