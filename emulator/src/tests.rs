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
    /// `X-TC-Token` (temporary credentials).
    token: Option<&'a str>,
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
            token: None,
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
        if let Some(t) = c.token {
            req = req.header("x-tc-token", t);
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

mod control;
mod lifecycle;
mod requests;
mod tencent_states;
mod tencent_token;
