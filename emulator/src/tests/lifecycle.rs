//! The instance lifecycle: timed transitions, batches and ids, describe filters and paging, attribute changes.

use super::*;

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
    // The type changes while it stays STOPPED, then it starts by itself ("完成实例配置调整后，
    // 实例将自动显示为运行中", API/15744): no StartInstances, which is refused meanwhile.
    assert_eq!(h.state(&id).await, "STOPPED");
    assert_eq!(
        code(&h.call("StartInstances", json!({"InstanceIds": [id]})).await),
        "OperationDenied.InstanceOperationInProgress"
    );
    h.wait_for(&id, "STARTING").await;
    h.wait_for(&id, "RUNNING").await;
    let d = h
        .call("DescribeInstances", json!({"InstanceIds": [id]}))
        .await;
    assert_eq!(d["InstanceSet"][0]["LatestOperation"], "ResetInstancesType");
    assert_eq!(d["InstanceSet"][0]["LatestOperationState"], "SUCCESS");
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
    // Pay-as-you-go: destroyed directly, no recycle bin (tests/tencent_states.rs).
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
