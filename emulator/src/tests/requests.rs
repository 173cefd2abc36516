//! Request handling: signatures, common parameters, RunInstances validation, ClientToken.

use super::*;

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
