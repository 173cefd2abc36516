//! The client's calls against the mock: batching, paging, tokens, dry runs, and the
//! modify/reinstall/resize/catalog calls.

use super::*;

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
