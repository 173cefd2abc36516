//! End-to-end tests of the router with signed requests (no sockets).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::{AppState, Shared};
use crate::config::{Accounts, Delays, Settings, TENCENT_DEMO_KEY_ID, TENCENT_DEMO_SECRET};
use crate::store::{Store, now_ms};
use crate::tencent::sign;

struct Harness {
    app: Shared,
    router: Router,
}

struct Call<'a> {
    action: &'a str,
    body: Value,
    secret_id: &'a str,
    secret_key: &'a str,
    timestamp: i64,
    region: Option<&'a str>,
    version: &'a str,
    authorization: Option<String>,
}

impl<'a> Call<'a> {
    fn new(action: &'a str, body: Value) -> Self {
        Call {
            action,
            body,
            secret_id: TENCENT_DEMO_KEY_ID,
            secret_key: TENCENT_DEMO_SECRET,
            timestamp: now_ms() / 1000,
            region: Some("ap-guangzhou"),
            version: "2017-03-12",
            authorization: None,
        }
    }
}

impl Harness {
    fn new(delay_ms: u64, rate_limits: bool) -> Self {
        let settings = Settings {
            transition_delays_ms: Delays::uniform(delay_ms),
            rate_limit_enabled: rate_limits,
            ..Settings::default()
        };
        let app = Arc::new(AppState::new(
            Accounts::demo(),
            settings,
            Store::new(),
            None,
        ));
        let router = crate::server::router(app.clone());
        Harness { app, router }
    }

    async fn send(&self, c: Call<'_>) -> Value {
        let payload = serde_json::to_vec(&c.body).unwrap();
        let host = "127.0.0.1:9999";
        let ct = "application/json";
        let date = sign::utc_date(c.timestamp).unwrap();
        let headers = format!("content-type:{ct}\nhost:{host}\n");
        let cr = sign::tc3_canonical_request(
            "POST",
            "/",
            "",
            &headers,
            "content-type;host",
            &sign::sha256_hex(&payload),
        );
        let sts = sign::tc3_string_to_sign(&c.timestamp.to_string(), &date, "cvm", &cr);
        let signature = sign::tc3_signature(c.secret_key, &date, "cvm", &sts);
        let auth = c.authorization.clone().unwrap_or_else(|| {
            format!(
                "TC3-HMAC-SHA256 Credential={}/{date}/cvm/tc3_request, SignedHeaders=content-type;host, Signature={signature}",
                c.secret_id
            )
        });
        let mut req = Request::builder()
            .method("POST")
            .uri("/")
            .header("host", host)
            .header("content-type", ct)
            .header("x-tc-action", c.action)
            .header("x-tc-version", c.version)
            .header("x-tc-timestamp", c.timestamp.to_string())
            .header("authorization", auth);
        if let Some(r) = c.region {
            req = req.header("x-tc-region", r);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(payload)).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(v["Response"]["RequestId"].is_string(), "{v}");
        v["Response"].clone()
    }

    async fn call(&self, action: &str, body: Value) -> Value {
        self.send(Call::new(action, body)).await
    }

    async fn control(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = Request::builder().method(method).uri(path);
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&b).unwrap())
            }
            None => Body::empty(),
        };
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn run_one(&self, extra: Value) -> String {
        let mut body = json!({
            "Placement": {"Zone": "ap-guangzhou-3"},
            "ImageId": "img-l8og963d",
            "InstanceType": "S5.MEDIUM4",
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = self.call("RunInstances", body).await;
        assert!(r["Error"].is_null(), "{r}");
        r["InstanceIdSet"][0].as_str().unwrap().to_string()
    }

    /// Poll until the instance reaches `want` (at most 5 s).
    async fn wait_for(&self, id: &str, want: &str) {
        let start = std::time::Instant::now();
        loop {
            let s = self.state(id).await;
            if s == want {
                return;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(5),
                "{id} stuck in {s}, wanted {want}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn state(&self, id: &str) -> String {
        let r = self
            .call("DescribeInstancesStatus", json!({"InstanceIds": [id]}))
            .await;
        r["InstanceStatusSet"][0]["InstanceState"]
            .as_str()
            .unwrap_or("ABSENT")
            .to_string()
    }
}

fn code(v: &Value) -> &str {
    v["Error"]["Code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn signature_verification() {
    let h = Harness::new(0, false);
    let ok = h.call("DescribeRegions", json!({})).await;
    assert!(ok["Error"].is_null(), "{ok}");
    assert!(ok["TotalCount"].as_u64().unwrap() >= 3);

    let mut c = Call::new("DescribeRegions", json!({}));
    c.secret_key = "wrong";
    assert_eq!(code(&h.send(c).await), "AuthFailure.SignatureFailure");

    let mut c = Call::new("DescribeRegions", json!({}));
    c.secret_id = "AKIDUNKNOWN";
    assert_eq!(code(&h.send(c).await), "AuthFailure.SecretIdNotFound");

    let mut c = Call::new("DescribeRegions", json!({}));
    c.timestamp -= 301;
    assert_eq!(code(&h.send(c).await), "AuthFailure.SignatureExpire");

    let mut c = Call::new("DescribeRegions", json!({}));
    c.timestamp += 299;
    assert!(h.send(c).await["Error"].is_null());

    let mut c = Call::new("DescribeRegions", json!({}));
    c.authorization = Some("garbage".into());
    assert_eq!(code(&h.send(c).await), "AuthFailure.InvalidAuthorization");

    let mut c = Call::new("DescribeRegions", json!({}));
    c.authorization = Some(format!(
        "TC3-HMAC-SHA256 Credential={TENCENT_DEMO_KEY_ID}/2001-01-01/cvm/tc3_request, SignedHeaders=content-type;host, Signature=00"
    ));
    assert_eq!(code(&h.send(c).await), "AuthFailure.SignatureFailure");

    // The body is covered by the signature.
    let mut c = Call::new("DescribeInstances", json!({"Limit": 1}));
    let date = sign::utc_date(c.timestamp).unwrap();
    let cr = sign::tc3_canonical_request(
        "POST",
        "/",
        "",
        "content-type:application/json\nhost:127.0.0.1:9999\n",
        "content-type;host",
        &sign::sha256_hex(br#"{"Limit":2}"#),
    );
    let sts = sign::tc3_string_to_sign(&c.timestamp.to_string(), &date, "cvm", &cr);
    c.authorization = Some(format!(
        "TC3-HMAC-SHA256 Credential={TENCENT_DEMO_KEY_ID}/{date}/cvm/tc3_request, SignedHeaders=content-type;host, Signature={}",
        sign::tc3_signature(TENCENT_DEMO_SECRET, &date, "cvm", &sts)
    ));
    assert_eq!(code(&h.send(c).await), "AuthFailure.SignatureFailure");
}

#[tokio::test]
async fn signature_v1_form_post() {
    let h = Harness::new(0, false);
    let ts = (now_ms() / 1000).to_string();
    let mut params: Vec<(String, String)> = [
        ("Action", "DescribeZones"),
        ("Version", "2017-03-12"),
        ("Region", "ap-shanghai"),
        ("Timestamp", ts.as_str()),
        ("Nonce", "12345"),
        ("SecretId", TENCENT_DEMO_KEY_ID),
        ("SignatureMethod", "HmacSHA256"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let s = sign::v1_sign_string("POST", "127.0.0.1:9999", "/", &params);
    let good = sign::v1_signature(TENCENT_DEMO_SECRET, &s, sign::V1Method::HmacSha256);
    for (sig, expect_ok) in [(good, true), ("AAAA".to_string(), false)] {
        let mut p = params.clone();
        p.push(("Signature".into(), sig));
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(p.iter())
            .finish();
        let req = Request::builder()
            .method("POST")
            .uri("/")
            .header("host", "127.0.0.1:9999")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let resp = h.router.clone().oneshot(req).await.unwrap();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        if expect_ok {
            assert_eq!(v["Response"]["ZoneSet"][0]["Zone"], "ap-shanghai-2", "{v}");
        } else {
            assert_eq!(
                v["Response"]["Error"]["Code"],
                "AuthFailure.SignatureFailure"
            );
        }
    }
    params.clear();
}

#[tokio::test]
async fn common_parameter_errors() {
    let h = Harness::new(0, false);
    assert_eq!(
        code(&h.call("NoSuchThing", json!({})).await),
        "InvalidAction"
    );
    let mut c = Call::new("DescribeZones", json!({}));
    c.version = "2018-01-01";
    assert_eq!(code(&h.send(c).await), "NoSuchVersion");
    let mut c = Call::new("DescribeZones", json!({}));
    c.region = Some("xx-nowhere");
    assert_eq!(code(&h.send(c).await), "UnsupportedRegion");
    let mut c = Call::new("DescribeZones", json!({}));
    c.region = None;
    assert_eq!(code(&h.send(c).await), "MissingParameter");
    let mut c = Call::new("DescribeRegions", json!({}));
    c.region = None;
    assert!(h.send(c).await["Error"].is_null());
    assert_eq!(
        code(&h.call("DescribeInstances", json!({"Bogus": 1})).await),
        "UnknownParameter"
    );
    assert_eq!(
        code(&h.call("DescribeInstances", json!({"Limit": "x"})).await),
        "InvalidParameter"
    );
}

#[tokio::test]
async fn run_instances_validation() {
    let h = Harness::new(0, false);
    let base = json!({"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": "img-l8og963d"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    assert_eq!(
        code(
            &h.call("RunInstances", json!({"ImageId": "img-l8og963d"}))
                .await
        ),
        "MissingParameter"
    );
    assert_eq!(
        code(
            &h.call(
                "RunInstances",
                with("Placement", json!({"Zone": "ap-shanghai-2"}))
            )
            .await
        ),
        "InvalidZone.MismatchRegion"
    );
    assert_eq!(
        code(
            &h.call("RunInstances", with("ImageId", json!("img-00000000")))
                .await
        ),
        "InvalidImageId.NotFound"
    );
    assert_eq!(
        code(
            &h.call("RunInstances", with("ImageId", json!("centos")))
                .await
        ),
        "InvalidImageId.Malformed"
    );
    assert_eq!(
        code(
            &h.call("RunInstances", with("InstanceType", json!("s5 medium")))
                .await
        ),
        "InvalidInstanceType.Malformed"
    );
    assert_eq!(
        code(
            &h.call("RunInstances", with("InstanceType", json!("ZZ9.HUGE1")))
                .await
        ),
        "InvalidParameterValue.InstanceTypeNotFound"
    );
    assert_eq!(
        code(
            &h.call("RunInstances", with("InstanceCount", json!(101)))
                .await
        ),
        "InvalidParameterValue.Range"
    );
    assert_eq!(
        code(
            &h.call("RunInstances", with("UserData", json!("not base64!")))
                .await
        ),
        "InvalidParameterValue.InvalidUserDataFormat"
    );
    let big = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        vec![b'a'; 16 * 1024 + 1],
    );
    assert_eq!(
        code(&h.call("RunInstances", with("UserData", json!(big))).await),
        "InvalidParameterValue.TooLarge"
    );
    assert_eq!(
        code(
            &h.call("RunInstances", with("InstanceName", json!("x".repeat(61))))
                .await
        ),
        "InvalidInstanceName.TooLong"
    );
    assert_eq!(
        code(
            &h.call("RunInstances", with("ClientToken", json!("t".repeat(65))))
                .await
        ),
        "InvalidClientToken.TooLong"
    );
    assert_eq!(
        code(
            &h.call(
                "RunInstances",
                with("LoginSettings", json!({"Password": "weak"}))
            )
            .await
        ),
        "InvalidPassword"
    );
    assert_eq!(
        code(&h.call("RunInstances", with("DryRun", json!(true))).await),
        "DryRunOperation"
    );
    assert_eq!(
        code(&h.call("RunInstances", with("Foo", json!(1))).await),
        "UnknownParameter"
    );
    // Nothing was created by any of the failed or dry-run calls.
    assert_eq!(h.app.store().len(), 0);
}

#[tokio::test]
async fn client_token_idempotency() {
    let h = Harness::new(0, false);
    let body = json!({
        "Placement": {"Zone": "ap-guangzhou-3"},
        "ImageId": "img-l8og963d",
        "InstanceCount": 3,
        "ClientToken": "token-1",
    });
    let a = h.call("RunInstances", body.clone()).await;
    let b = h.call("RunInstances", body.clone()).await;
    assert_eq!(a["InstanceIdSet"].as_array().unwrap().len(), 3);
    assert_eq!(a["InstanceIdSet"], b["InstanceIdSet"]);
    assert_eq!(h.app.store().len(), 3);
    let mut other = body.clone();
    other["ClientToken"] = json!("token-2");
    let c = h.call("RunInstances", other).await;
    assert_ne!(a["InstanceIdSet"], c["InstanceIdSet"]);
    assert_eq!(h.app.store().len(), 6);
}

#[tokio::test]
async fn lifecycle_with_timed_transitions() {
    let h = Harness::new(400, false);
    let id = h
        .run_one(
            json!({"InternetAccessible": {"InternetMaxBandwidthOut": 5}, "InstanceName": "web"}),
        )
        .await;
    assert!(crate::tencent::actions::is_resource_id(&id, "ins-"));
    assert_eq!(h.state(&id).await, "PENDING");
    assert_eq!(
        code(&h.call("StopInstances", json!({"InstanceIds": [id]})).await),
        "UnsupportedOperation.InstanceStatePending"
    );
    h.wait_for(&id, "RUNNING").await;
    assert_eq!(
        code(&h.call("StartInstances", json!({"InstanceIds": [id]})).await),
        "UnsupportedOperation.InstanceStateRunning"
    );
    let d = h
        .call("DescribeInstances", json!({"InstanceIds": [id]}))
        .await;
    let inst = &d["InstanceSet"][0];
    assert_eq!(inst["InstanceName"], "web");
    assert!(
        inst["PrivateIpAddresses"][0]
            .as_str()
            .unwrap()
            .starts_with("10.")
    );
    assert_eq!(inst["PublicIpAddresses"].as_array().unwrap().len(), 1);
    assert_eq!(inst["CPU"], 2);
    assert_eq!(inst["LatestOperation"], "RunInstances");
    assert_eq!(inst["LatestOperationState"], "SUCCESS");

    assert!(
        h.call(
            "StopInstances",
            json!({"InstanceIds": [id], "StopType": "SOFT"})
        )
        .await["Error"]
            .is_null()
    );
    assert_eq!(h.state(&id).await, "STOPPING");
    h.wait_for(&id, "STOPPED").await;
    assert_eq!(
        code(&h.call("StopInstances", json!({"InstanceIds": [id]})).await),
        "UnsupportedOperation.InstanceStateStopped"
    );
    // Type change needs a stopped instance (it is).
    assert!(
        h.call(
            "ResetInstancesType",
            json!({"InstanceIds": [id], "InstanceType": "S5.LARGE8"})
        )
        .await["Error"]
            .is_null()
    );
    assert!(h.call("StartInstances", json!({"InstanceIds": [id]})).await["Error"].is_null());
    assert_eq!(h.state(&id).await, "STARTING");
    h.wait_for(&id, "RUNNING").await;
    assert_eq!(
        code(
            &h.call(
                "ResetInstancesType",
                json!({"InstanceIds": [id], "InstanceType": "S5.MEDIUM4"})
            )
            .await
        ),
        "UnsupportedOperation.InstanceStateRunning"
    );
    assert!(
        h.call("RebootInstances", json!({"InstanceIds": [id]}))
            .await["Error"]
            .is_null()
    );
    assert_eq!(h.state(&id).await, "REBOOTING");
    h.wait_for(&id, "RUNNING").await;
    assert!(
        h.call(
            "ResetInstance",
            json!({"InstanceId": id, "ImageId": "img-22trbn9x"})
        )
        .await["Error"]
            .is_null()
    );
    let d = h
        .call("DescribeInstances", json!({"InstanceIds": [id]}))
        .await;
    assert_eq!(d["InstanceSet"][0]["LatestOperation"], "ResetInstance");
    assert_eq!(d["InstanceSet"][0]["LatestOperationState"], "OPERATING");
    assert_eq!(d["InstanceSet"][0]["ImageId"], "img-22trbn9x");
    assert_eq!(d["InstanceSet"][0]["CPU"], 4);
    h.wait_for(&id, "RUNNING").await;

    assert!(
        h.call("TerminateInstances", json!({"InstanceIds": [id]}))
            .await["Error"]
            .is_null()
    );
    assert_eq!(h.state(&id).await, "TERMINATING");
    h.wait_for(&id, "SHUTDOWN").await;
    h.wait_for(&id, "ABSENT").await;
    assert_eq!(
        code(&h.call("StartInstances", json!({"InstanceIds": [id]})).await),
        "InvalidInstanceId.NotFound"
    );
}

#[tokio::test]
async fn batch_limits_and_id_checks() {
    let h = Harness::new(0, false);
    let ids: Vec<String> = (0..101).map(|i| format!("ins-{i:08}")).collect();
    for action in [
        "StartInstances",
        "StopInstances",
        "RebootInstances",
        "TerminateInstances",
        "DescribeInstancesStatus",
        "DescribeInstances",
    ] {
        assert_eq!(
            code(&h.call(action, json!({"InstanceIds": ids})).await),
            "InvalidParameterValue.LimitExceeded",
            "{action}"
        );
    }
    assert_eq!(
        code(
            &h.call("StartInstances", json!({"InstanceIds": ["ins-1122"]}))
                .await
        ),
        "InvalidInstanceId.Malformed"
    );
    assert_eq!(
        code(
            &h.call("StartInstances", json!({"InstanceIds": ["ins-00000000"]}))
                .await
        ),
        "InvalidInstanceId.NotFound"
    );
    assert_eq!(
        code(&h.call("StartInstances", json!({})).await),
        "MissingParameter"
    );
    assert_eq!(
        code(&h.call("ResetInstancesType", json!({"InstanceIds": ["ins-00000000", "ins-00000001"], "InstanceType": "S5.LARGE8"})).await),
        "InvalidParameterValue.LimitExceeded"
    );
    assert_eq!(
        code(&h.call("DescribeInstances", json!({"Limit": 101})).await),
        "InvalidParameterValue.LimitExceeded"
    );
    // Unknown ids are simply absent from describe answers.
    let r = h
        .call(
            "DescribeInstances",
            json!({"InstanceIds": ["ins-00000000"]}),
        )
        .await;
    assert_eq!(r["TotalCount"], 0);
    // 100 ids is fine.
    let r = h
        .call(
            "DescribeInstancesStatus",
            json!({"InstanceIds": ids[..100]}),
        )
        .await;
    assert!(r["Error"].is_null(), "{r}");
}

#[tokio::test]
async fn describe_filters_and_paging() {
    let h = Harness::new(0, false);
    let r = h
        .call(
            "RunInstances",
            json!({
                "Placement": {"Zone": "ap-guangzhou-4"},
                "ImageId": "img-l8og963d",
                "InstanceCount": 5,
                "InstanceName": "batch-",
                "TagSpecification": [{"ResourceType": "instance", "Tags": [{"Key": "owner", "Value": "alice"}]}],
            }),
        )
        .await;
    assert_eq!(r["InstanceIdSet"].as_array().unwrap().len(), 5);
    h.run_one(json!({"InstanceName": "solo"})).await;

    let by_tag = h
        .call(
            "DescribeInstances",
            json!({"Filters": [{"Name": "tag:owner", "Values": ["alice"]}]}),
        )
        .await;
    assert_eq!(by_tag["TotalCount"], 5);
    assert_eq!(by_tag["InstanceSet"][0]["Tags"][0]["Key"], "owner");
    let by_name = h
        .call(
            "DescribeInstances",
            json!({"Filters": [{"Name": "instance-name", "Values": ["solo"]}]}),
        )
        .await;
    assert_eq!(by_name["TotalCount"], 1);
    let by_zone = h
        .call(
            "DescribeInstances",
            json!({"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-4"]}]}),
        )
        .await;
    assert_eq!(by_zone["TotalCount"], 5);
    let by_state = h
        .call(
            "DescribeInstances",
            json!({"Filters": [{"Name": "instance-state", "Values": ["RUNNING"]}]}),
        )
        .await;
    assert_eq!(by_state["TotalCount"], 6);
    let names: Vec<String> = by_tag["InstanceSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["InstanceName"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec!["batch-1", "batch-2", "batch-3", "batch-4", "batch-5"]
    );

    assert_eq!(
        code(
            &h.call(
                "DescribeInstances",
                json!({"Filters": [{"Name": "bogus", "Values": ["x"]}]})
            )
            .await
        ),
        "InvalidFilter"
    );
    assert_eq!(
        code(
            &h.call(
                "DescribeInstances",
                json!({"Filters": [{"Name": "zone", "Values": ["ap-shanghai-2"]}]})
            )
            .await
        ),
        "InvalidZone.MismatchRegion"
    );
    assert_eq!(
        code(&h.call("DescribeInstances", json!({"InstanceIds": ["ins-00000000"], "Filters": [{"Name": "zone", "Values": ["ap-guangzhou-3"]}]})).await),
        "InvalidParameter"
    );

    let p1 = h
        .call("DescribeInstancesStatus", json!({"Offset": 0, "Limit": 4}))
        .await;
    let p2 = h
        .call("DescribeInstancesStatus", json!({"Offset": 4, "Limit": 4}))
        .await;
    assert_eq!(p1["TotalCount"], 6);
    assert_eq!(p1["InstanceStatusSet"].as_array().unwrap().len(), 4);
    assert_eq!(p2["InstanceStatusSet"].as_array().unwrap().len(), 2);

    // Other regions see nothing.
    let mut c = Call::new("DescribeInstances", json!({}));
    c.region = Some("ap-shanghai");
    assert_eq!(h.send(c).await["TotalCount"], 0);
}

#[tokio::test]
async fn modify_attributes() {
    let h = Harness::new(0, false);
    let id = h.run_one(json!({})).await;
    assert!(
        h.call(
            "ModifyInstancesAttribute",
            json!({"InstanceIds": [id], "InstanceName": "renamed"})
        )
        .await["Error"]
            .is_null()
    );
    assert!(
        h.call(
            "ModifyInstancesAttribute",
            json!({"InstanceIds": [id], "SecurityGroups": ["sg-12345678"]})
        )
        .await["Error"]
            .is_null()
    );
    let d = h
        .call("DescribeInstances", json!({"InstanceIds": [id]}))
        .await;
    assert_eq!(d["InstanceSet"][0]["InstanceName"], "renamed");
    assert_eq!(d["InstanceSet"][0]["SecurityGroupIds"][0], "sg-12345678");
    assert_eq!(
        code(
            &h.call("ModifyInstancesAttribute", json!({"InstanceIds": [id]}))
                .await
        ),
        "MissingParameter.AtLeastOne"
    );
    assert_eq!(
        code(
            &h.call(
                "ModifyInstancesAttribute",
                json!({"InstanceIds": [id], "InstanceName": "x".repeat(61)})
            )
            .await
        ),
        "InvalidInstanceName.TooLong"
    );
    assert_eq!(
        code(
            &h.call(
                "ModifyInstancesAttribute",
                json!({"InstanceIds": [id], "SecurityGroups": ["nope"]})
            )
            .await
        ),
        "InvalidSgId.Malformed"
    );
}

#[tokio::test]
async fn rate_limiting_per_action() {
    let h = Harness::new(0, true);
    // Documented limit of DescribeRegions is 20/s; scale it down so that timing on a
    // slow machine cannot matter: 2 tokens of burst, refilled at 2/s.
    h.control(
        "POST",
        "/_emulator/config",
        Some(json!({"rate_limit_multiplier": 0.1})),
    )
    .await;
    let mut throttled = 0;
    for _ in 0..25 {
        let r = h.call("DescribeRegions", json!({})).await;
        if code(&r) == "RequestLimitExceeded" {
            throttled += 1;
        }
    }
    assert!((15..=23).contains(&throttled), "throttled {throttled}");
    // Another action has its own bucket.
    assert!(h.call("DescribeZones", json!({})).await["Error"].is_null());
    let calls = h.control("GET", "/_emulator/calls", None).await.1;
    assert_eq!(calls["tencent"]["DescribeRegions"]["total"], 25);
    assert_eq!(calls["tencent"]["DescribeRegions"]["throttled"], throttled);

    // Disable through the control API.
    let (st, cfg) = h
        .control(
            "POST",
            "/_emulator/config",
            Some(json!({"rate_limit_enabled": false})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(cfg["rate_limit_enabled"], false);
    for _ in 0..30 {
        assert!(h.call("DescribeRegions", json!({})).await["Error"].is_null());
    }
}

#[tokio::test]
async fn faults_and_control_api() {
    let h = Harness::new(0, false);
    let (st, f) = h
        .control(
            "POST",
            "/_emulator/faults",
            Some(json!({"provider": "tencent", "action": "RunInstances", "code": "InternalError", "count": 1})),
        )
        .await;
    assert_eq!(st, 200);
    assert!(f["id"].is_u64());
    let body = json!({"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": "img-l8og963d"});
    assert_eq!(
        code(&h.call("RunInstances", body.clone()).await),
        "InternalError"
    );
    assert!(h.call("RunInstances", body.clone()).await["Error"].is_null());

    // Launch failure.
    h.control(
        "POST",
        "/_emulator/faults",
        Some(json!({"action": "RunInstances", "launch_failed": true, "count": 1})),
    )
    .await;
    let r = h.call("RunInstances", body.clone()).await;
    let failed = r["InstanceIdSet"][0].as_str().unwrap().to_string();
    assert_eq!(h.state(&failed).await, "LAUNCH_FAILED");

    let (_, list) = h.control("GET", "/_emulator/instances", None).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["provider"], "tencent");
    assert_eq!(list[0]["state"], "running");
    assert_eq!(list[0]["provider_state"], "RUNNING");
    assert_eq!(list[1]["state"], "launch_failed");
    assert_eq!(list[0]["account"], TENCENT_DEMO_KEY_ID);

    // Out-of-band deletion and state change.
    let first = list[0]["id"].as_str().unwrap().to_string();
    let (st, _) = h
        .control(
            "POST",
            &format!("/_emulator/instances/{first}/state"),
            Some(json!({"state": "stopped"})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(h.state(&first).await, "STOPPED");
    let (st, _) = h
        .control("DELETE", &format!("/_emulator/instances/{first}"), None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(h.state(&first).await, "ABSENT");
    let (st, _) = h
        .control("DELETE", &format!("/_emulator/instances/{first}"), None)
        .await;
    assert_eq!(st, 404);

    let calls = h.control("GET", "/_emulator/calls", None).await.1;
    assert_eq!(calls["tencent"]["RunInstances"]["total"], 3);
    assert_eq!(calls["tencent"]["RunInstances"]["faulted"], 1);
    h.control("POST", "/_emulator/calls/reset", None).await;
    assert_eq!(
        h.control("GET", "/_emulator/calls", None).await.1,
        json!({})
    );

    let (st, _) = h
        .control(
            "POST",
            "/_emulator/config",
            Some(json!({"transition_delays_ms": {"bogus": 1}})),
        )
        .await;
    assert_eq!(st, 400);
    let (_, cfg) = h
        .control("POST", "/_emulator/config", Some(json!({"transition_delay_ms": 10, "transition_delays_ms": {"stopping": 20}, "instance_quota": 1})))
        .await;
    assert_eq!(cfg["transition_delays_ms"]["pending"], 10);
    assert_eq!(cfg["transition_delays_ms"]["stopping"], 20);
    assert_eq!(
        code(&h.call("RunInstances", body.clone()).await),
        "InstancesQuotaLimitExceeded"
    );
    h.control(
        "POST",
        "/_emulator/config",
        Some(json!({"instance_quota": null})),
    )
    .await;

    h.control("POST", "/_emulator/reset", None).await;
    assert_eq!(
        h.control("GET", "/_emulator/instances", None).await.1,
        json!([])
    );
    assert_eq!(
        h.control("GET", "/_emulator/healthz", None).await.1["status"],
        "ok"
    );
}

#[tokio::test]
async fn unknown_requests_are_404() {
    let h = Harness::new(0, false);
    let req = Request::builder()
        .uri("/whatever")
        .body(Body::empty())
        .unwrap();
    let resp = h.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn guest_that_ignores_soft_stop() {
    let h = Harness::new(150, false);
    let id = h.run_one(json!({})).await;
    h.wait_for(&id, "RUNNING").await;
    let (code_, inst) = h
        .control(
            "POST",
            &format!("/_emulator/instances/{id}/guest"),
            Some(json!({"ignores_soft_stop": true})),
        )
        .await;
    assert_eq!(code_, 200, "{inst}");
    assert_eq!(inst["guest_ignores_soft_stop"], true);
    let stop = |ty: &'static str| {
        let id = id.clone();
        let h = &h;
        async move {
            let r = h
                .call(
                    "StopInstances",
                    json!({"InstanceIds": [id], "StopType": ty}),
                )
                .await;
            assert!(r["Error"].is_null(), "{ty}: {r}");
        }
    };
    // a soft stop fails: Stopping, then back to Running
    stop("SOFT").await;
    assert_eq!(h.state(&id).await, "STOPPING");
    h.wait_for(&id, "RUNNING").await;
    // SOFT_FIRST powers off after the failed soft attempt
    stop("SOFT_FIRST").await;
    assert_eq!(h.state(&id).await, "STOPPING");
    h.wait_for(&id, "STOPPED").await;
    assert!(h.call("StartInstances", json!({"InstanceIds": [id]})).await["Error"].is_null());
    h.wait_for(&id, "RUNNING").await;
    // HARD always works
    stop("HARD").await;
    h.wait_for(&id, "STOPPED").await;
    let (missing, _) = h
        .control(
            "POST",
            "/_emulator/instances/ins-nope/guest",
            Some(json!({"ignores_soft_stop": true})),
        )
        .await;
    assert_eq!(missing, 404);
}
