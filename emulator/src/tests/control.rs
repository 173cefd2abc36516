//! Rate limits, faults and the control API, unknown requests, guests that ignore soft stop.

use super::*;

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
