//! Tencent CVM states the documentation describes: TerminateInstances per charge type,
//! instances the cloud holds (arrears / expiry isolation, rescue mode, live migration),
//! LAUNCH_FAILED, the return quota and promotional-period instances.
//! Sources are cited in `tencent/actions/lifecycle.rs` and `tencent/held.rs`.

use super::*;

impl Harness {
    /// Every distinct state seen until the instance is `until` (at most 5 s).
    async fn states_until(&self, id: &str, until: &str) -> Vec<String> {
        let start = std::time::Instant::now();
        let mut seen: Vec<String> = Vec::new();
        loop {
            let s = self.state(id).await;
            if seen.last() != Some(&s) {
                seen.push(s.clone());
            }
            if s == until {
                return seen;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(5),
                "{id} never {until}: {seen:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    async fn describe_one(&self, id: &str) -> Value {
        let d = self
            .call("DescribeInstances", json!({"InstanceIds": [id]}))
            .await;
        d["InstanceSet"][0].clone()
    }

    async fn hold(&self, id: &str, body: Value) -> (u16, Value) {
        self.control(
            "POST",
            &format!("/_emulator/instances/{id}/held"),
            Some(body),
        )
        .await
    }
}

/// The owner's actions a held instance refuses: start, stop, reboot, rename, reinstall and a
/// type change of `id`.
fn owner_actions(id: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("StartInstances", json!({"InstanceIds": [id]})),
        ("StopInstances", json!({"InstanceIds": [id]})),
        ("RebootInstances", json!({"InstanceIds": [id]})),
        (
            "ModifyInstancesAttribute",
            json!({"InstanceIds": [id], "InstanceName": "x"}),
        ),
        ("ResetInstance", json!({"InstanceId": id})),
        (
            "ResetInstancesType",
            json!({"InstanceIds": [id], "InstanceType": "S5.LARGE8", "ForceStop": true}),
        ),
    ]
}

fn ok(v: &Value) -> bool {
    v["Error"].is_null()
}

const PREPAID: &str =
    r#"{"InstanceChargeType": "PREPAID", "InstanceChargePrepaid": {"Period": 1}}"#;

/// API/15723: "按量计费实例调用本接口将被直接销毁" — no recycle bin on the way.
#[tokio::test]
async fn postpaid_terminate_destroys_directly() {
    let h = Harness::new(300, false);
    let id = h.run_one(json!({})).await;
    h.wait_for(&id, "RUNNING").await;
    assert!(ok(&h
        .call("TerminateInstances", json!({"InstanceIds": [id]}))
        .await));
    let seen = h.states_until(&id, "ABSENT").await;
    assert_eq!(seen, ["TERMINATING", "ABSENT"], "{seen:?}");
    assert_eq!(
        code(
            &h.call("TerminateInstances", json!({"InstanceIds": [id]}))
                .await
        ),
        "InvalidInstanceId.NotFound"
    );
}

/// API/15723: "包年包月实例首次调用本接口，实例将被移至回收站，再次调用本接口，实例将被销毁".
#[tokio::test]
async fn prepaid_terminate_recycles_then_destroys() {
    let h = Harness::new(300, false);
    // The recycle bin keeps it longer than the test looks.
    h.control(
        "POST",
        "/_emulator/config",
        Some(json!({"transition_delays_ms": {"shutdown": 60000}})),
    )
    .await;
    let id = h.run_one(serde_json::from_str(PREPAID).unwrap()).await;
    h.wait_for(&id, "RUNNING").await;
    assert!(ok(&h
        .call("TerminateInstances", json!({"InstanceIds": [id]}))
        .await));
    let seen = h.states_until(&id, "SHUTDOWN").await;
    assert_eq!(seen, ["TERMINATING", "SHUTDOWN"]);
    let i = h.describe_one(&id).await;
    assert_eq!(i["IsolatedSource"], "MANMADE");
    assert_eq!(i["InstanceChargeType"], "PREPAID");
    assert_eq!(
        code(&h.call("StartInstances", json!({"InstanceIds": [id]})).await),
        "UnsupportedOperation.InstanceStateShutdown"
    );
    // The second call destroys it.
    assert!(ok(&h
        .call("TerminateInstances", json!({"InstanceIds": [id]}))
        .await));
    let seen = h.states_until(&id, "ABSENT").await;
    assert_eq!(seen, ["TERMINATING", "ABSENT"]);
}

/// API/15723: "批量操作时，所有实例的付费类型必须一致" →
/// `UnsupportedOperation.InstanceMixedPricingModel` (GO TerminateInstances error list).
#[tokio::test]
async fn terminate_refuses_mixed_charge_types() {
    let h = Harness::new(0, false);
    let postpaid = h.run_one(json!({})).await;
    let prepaid = h.run_one(serde_json::from_str(PREPAID).unwrap()).await;
    h.wait_for(&postpaid, "RUNNING").await;
    h.wait_for(&prepaid, "RUNNING").await;
    assert_eq!(
        code(
            &h.call(
                "TerminateInstances",
                json!({"InstanceIds": [postpaid, prepaid]})
            )
            .await
        ),
        "UnsupportedOperation.InstanceMixedPricingModel"
    );
    assert_eq!(h.state(&postpaid).await, "RUNNING");
    assert_eq!(h.state(&prepaid).await, "RUNNING");
}

/// Arrears isolation: SHUTDOWN with `IsolatedSource` ARREAR (PY `Instance.IsolatedSource`),
/// every action but TerminateInstances refused with `InstanceStateShutdown`, back after
/// the top-up.
#[tokio::test]
async fn arrears_isolation_and_recovery() {
    let h = Harness::new(0, false);
    let id = h.run_one(json!({})).await;
    h.wait_for(&id, "RUNNING").await;
    let (st, v) = h.hold(&id, json!({"held": "arrears"})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["provider_state"], "SHUTDOWN");
    let i = h.describe_one(&id).await;
    assert_eq!(i["InstanceState"], "SHUTDOWN");
    assert_eq!(i["IsolatedSource"], "ARREAR");
    assert_eq!(i["RestrictState"], "NORMAL");
    for action in ["StartInstances", "StopInstances", "RebootInstances"] {
        assert_eq!(
            code(&h.call(action, json!({"InstanceIds": [id]})).await),
            "UnsupportedOperation.InstanceStateShutdown",
            "{action}"
        );
    }
    assert_eq!(
        code(
            &h.call(
                "ModifyInstancesAttribute",
                json!({"InstanceIds": [id], "InstanceName": "x"})
            )
            .await
        ),
        "UnsupportedOperation.InstanceStateShutdown"
    );
    // Isolated for arrears stays isolated: the cloud, not a timer, ends it.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(h.state(&id).await, "SHUTDOWN");
    // Paid: it comes back (stopped), with nothing isolated any more.
    let (st, _) = h.hold(&id, json!({"held": null, "state": "stopped"})).await;
    assert_eq!(st, 200);
    let i = h.describe_one(&id).await;
    assert_eq!(i["InstanceState"], "STOPPED");
    assert_eq!(i["IsolatedSource"], "NOTISOLATED");
    assert!(ok(&h
        .call("StartInstances", json!({"InstanceIds": [id]}))
        .await));
    h.wait_for(&id, "RUNNING").await;

    // Expiry isolation reads EXPIRE / RestrictState EXPIRED.
    h.hold(&id, json!({"held": "expired"})).await;
    let i = h.describe_one(&id).await;
    assert_eq!(i["IsolatedSource"], "EXPIRE");
    assert_eq!(i["RestrictState"], "EXPIRED");
    // An isolated pay-as-you-go instance is destroyed by TerminateInstances.
    assert!(ok(&h
        .call("TerminateInstances", json!({"InstanceIds": [id]}))
        .await));
    h.wait_for(&id, "ABSENT").await;
}

/// RESCUE_MODE: Start/Stop/Reboot/Modify/Reset/ResetInstancesType refuse it with
/// `UnsupportedOperation.InstanceStateRescueMode` (GO error lists); it lasts until exited.
#[tokio::test]
async fn rescue_mode_refuses_actions_until_exited() {
    let h = Harness::new(0, false);
    let id = h.run_one(json!({})).await;
    h.wait_for(&id, "RUNNING").await;
    let (st, v) = h.hold(&id, json!({"held": "rescue"})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["provider_state"], "RESCUE_MODE");
    assert_eq!(h.state(&id).await, "RESCUE_MODE");
    let listed = h
        .call(
            "DescribeInstances",
            json!({"Filters": [{"Name": "instance-state", "Values": ["RESCUE_MODE"]}]}),
        )
        .await;
    assert_eq!(listed["TotalCount"], 1, "{listed}");
    for (action, body) in owner_actions(&id) {
        assert_eq!(
            code(&h.call(action, body).await),
            "UnsupportedOperation.InstanceStateRescueMode",
            "{action}"
        );
    }
    let (st, _) = h.hold(&id, json!({"held": null})).await;
    assert_eq!(st, 200);
    assert_eq!(h.state(&id).await, "RUNNING");
    assert!(ok(&h
        .call("StopInstances", json!({"InstanceIds": [id]}))
        .await));
}

#[tokio::test]
async fn held_states_control_api_checks_its_input() {
    let h = Harness::new(0, false);
    let id = h.run_one(json!({})).await;
    assert_eq!(h.hold(&id, json!({"held": "asleep"})).await.0, 400);
    assert_eq!(
        h.hold(&id, json!({"held": null, "state": "pending"}))
            .await
            .0,
        400
    );
    assert_eq!(
        h.hold("ins-00000000", json!({"held": "rescue"})).await.0,
        404
    );
    // LAUNCH_FAILED, reachable out of band too (and with a RunInstances fault).
    let (st, _) = h
        .control(
            "POST",
            &format!("/_emulator/instances/{id}/state"),
            Some(json!({"state": "launch_failed"})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(h.state(&id).await, "LAUNCH_FAILED");
}

/// `ForceStop`/`ForceReboot` are deprecated and "不可以与参数StopType同时使用" (PY
/// `StopInstancesRequest.ForceStop`, `RebootInstancesRequest.ForceReboot`).
#[tokio::test]
async fn deprecated_force_flags_do_not_combine_with_stop_type() {
    let h = Harness::new(0, false);
    let id = h.run_one(json!({})).await;
    h.wait_for(&id, "RUNNING").await;
    for (action, flag) in [
        ("StopInstances", "ForceStop"),
        ("RebootInstances", "ForceReboot"),
    ] {
        let mut body = json!({"InstanceIds": [id], "StopType": "HARD"});
        body[flag] = json!(true);
        assert_eq!(
            code(&h.call(action, body).await),
            "InvalidParameterCombination",
            "{action}"
        );
    }
    assert_eq!(h.state(&id).await, "RUNNING");
    assert!(ok(&h
        .call(
            "StopInstances",
            json!({"InstanceIds": [id], "ForceStop": true})
        )
        .await));
}

/// ResetInstancesType only for CLOUD_BASIC/PREMIUM/SSD/BSSD system disks
/// (`UnsupportedOperation.SystemDiskType`); without `SystemDisk` the disk is one in stock
/// (a cloud disk), which can.
#[tokio::test]
async fn resize_needs_a_cloud_system_disk() {
    let h = Harness::new(0, false);
    let local = h
        .run_one(json!({"SystemDisk": {"DiskType": "LOCAL_BASIC", "DiskSize": 50}}))
        .await;
    let default = h.run_one(json!({})).await;
    for id in [&local, &default] {
        h.wait_for(id, "RUNNING").await;
        assert!(ok(&h
            .call("StopInstances", json!({"InstanceIds": [id]}))
            .await));
        h.wait_for(id, "STOPPED").await;
    }
    let resize = |id: &str| json!({"InstanceIds": [id], "InstanceType": "S5.LARGE8"});
    assert_eq!(
        code(&h.call("ResetInstancesType", resize(&local)).await),
        "UnsupportedOperation.SystemDiskType"
    );
    assert_eq!(
        h.describe_one(&default).await["SystemDisk"]["DiskType"],
        "CLOUD_PREMIUM"
    );
    assert!(ok(&h.call("ResetInstancesType", resize(&default)).await));
}

/// "完成实例配置调整后，实例将自动显示为运行中，无需手动进行开机" (ResetInstancesType doc
/// comment, tencentcloud-sdk-go `cvm/v20170312/client.go` = API/15744): the type changes
/// while the instance is STOPPED, then it starts by itself (F-5). A running one
/// (`ForceStop`) is stopped first. A start meanwhile is refused with
/// `OperationDenied.InstanceOperationInProgress` (in the StartInstances error list).
#[tokio::test]
async fn resize_ends_running() {
    let h = Harness::new(200, false);
    let stopped = h.run_one(json!({})).await;
    let running = h.run_one(json!({})).await;
    h.wait_for(&stopped, "RUNNING").await;
    h.wait_for(&running, "RUNNING").await;
    assert!(ok(&h
        .call("StopInstances", json!({"InstanceIds": [stopped]}))
        .await));
    h.wait_for(&stopped, "STOPPED").await;
    let resize = |id: &str, force: bool| json!({"InstanceIds": [id], "InstanceType": "S5.LARGE8", "ForceStop": force});
    assert!(ok(&h
        .call("ResetInstancesType", resize(&stopped, false))
        .await));
    assert_eq!(
        code(
            &h.call("StartInstances", json!({"InstanceIds": [stopped]}))
                .await
        ),
        "OperationDenied.InstanceOperationInProgress"
    );
    assert_eq!(
        h.describe_one(&stopped).await["LatestOperationState"],
        "OPERATING"
    );
    assert_eq!(
        h.states_until(&stopped, "RUNNING").await,
        ["STOPPED", "STARTING", "RUNNING"]
    );
    let d = h.describe_one(&stopped).await;
    assert_eq!(d["InstanceType"], "S5.LARGE8");
    assert_eq!(d["LatestOperation"], "ResetInstancesType");
    assert_eq!(d["LatestOperationState"], "SUCCESS");

    assert!(ok(&h
        .call("ResetInstancesType", resize(&running, true))
        .await));
    assert_eq!(
        h.states_until(&running, "RUNNING").await,
        ["STOPPING", "STOPPED", "STARTING", "RUNNING"]
    );
    assert_eq!(
        h.describe_one(&running).await["LatestOperationState"],
        "SUCCESS"
    );
}

/// ModifyInstancesAttribute refuses transitional states (Pending, Starting, Stopping,
/// Rebooting, ...: its error list in tencentcloud-sdk-go `cvm/v20170312/client.go`), F-17.
#[tokio::test]
async fn modify_refuses_transitional_states() {
    let h = Harness::new(300, false);
    let rename = |id: &str| json!({"InstanceIds": [id], "InstanceName": "renamed"});
    let id = h.run_one(json!({})).await;
    assert_eq!(
        code(&h.call("ModifyInstancesAttribute", rename(&id)).await),
        "UnsupportedOperation.InstanceStatePending"
    );
    h.wait_for(&id, "RUNNING").await;
    assert!(ok(&h.call("ModifyInstancesAttribute", rename(&id)).await));
    assert!(ok(&h
        .call("StopInstances", json!({"InstanceIds": [id]}))
        .await));
    assert_eq!(
        code(&h.call("ModifyInstancesAttribute", rename(&id)).await),
        "UnsupportedOperation.InstanceStateStopping"
    );
    h.wait_for(&id, "STOPPED").await;
    assert!(ok(&h.call("ModifyInstancesAttribute", rename(&id)).await));
}

/// Data disks: sizes in steps of 10 GiB (PY `DataDisk.DiskSize`), a CLOUD_SSD data disk at
/// least 100 GB (`InvalidParameterValue.CloudSsdDataDiskSizeTooSmall`), F-20.
#[tokio::test]
async fn data_disk_size_rules() {
    let h = Harness::new(0, false);
    let run = |disk: Value| json!({"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": "img-l8og963d", "DataDisks": [disk]});
    assert_eq!(
        code(
            &h.call(
                "RunInstances",
                run(json!({"DiskType": "CLOUD_PREMIUM", "DiskSize": 55}))
            )
            .await
        ),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(
            &h.call(
                "RunInstances",
                run(json!({"DiskType": "CLOUD_SSD", "DiskSize": 90}))
            )
            .await
        ),
        "InvalidParameterValue.CloudSsdDataDiskSizeTooSmall"
    );
    assert!(ok(&h
        .call(
            "RunInstances",
            run(json!({"DiskType": "CLOUD_SSD", "DiskSize": 100}))
        )
        .await));
}

/// "InstanceCount参数必须与私有网络IP的个数一致且不能大于20" (tencentcloud-sdk-python-cvm
/// `RunInstancesRequest.VirtualPrivateCloud`): at most 20 fixed private IPs
/// (`InvalidParameterValue.LimitExceeded`, no dedicated code documented).
#[tokio::test]
async fn private_ips_at_most_20() {
    let h = Harness::new(0, false);
    let vpc = |n: usize| {
        json!({
            "Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": "img-l8og963d",
            "InstanceCount": n, "DryRun": true,
            "VirtualPrivateCloud": {"VpcId": "vpc-0000000a", "SubnetId": "subnet-0000000a",
                "PrivateIpAddresses": (0..n).map(|k| format!("10.0.0.{}", k + 10)).collect::<Vec<_>>()},
        })
    };
    assert_eq!(
        code(&h.call("RunInstances", vpc(21)).await),
        "InvalidParameterValue.LimitExceeded"
    );
    assert_eq!(
        code(&h.call("RunInstances", vpc(20)).await),
        "DryRunOperation"
    );
}

/// KeepImageLogin "只有使用自定义镜像、共享镜像或外部导入镜像创建实例时才能指定该参数为true"
/// (tencentcloud-sdk-python-cvm `LoginSettings.KeepImageLogin`): refused for a public image
/// (`InvalidParameterValue.InvalidImageId`, the closest documented code), accepted for the
/// catalog's custom image, on RunInstances and ResetInstance alike.
#[tokio::test]
async fn keep_image_login_only_for_custom_images() {
    let h = Harness::new(0, false);
    let keep = |image: &str| {
        json!({"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image, "DryRun": true,
               "LoginSettings": {"KeepImageLogin": "true"}})
    };
    assert_eq!(
        code(&h.call("RunInstances", keep("img-l8og963d")).await),
        "InvalidParameterValue.InvalidImageId"
    );
    assert_eq!(
        code(&h.call("RunInstances", keep("img-cust0001")).await),
        "DryRunOperation"
    );
    let id = h.run_one(json!({})).await;
    h.wait_for(&id, "RUNNING").await;
    let reset = |image: &str| json!({"InstanceId": id, "ImageId": image, "LoginSettings": {"KeepImageLogin": "true"}});
    assert_eq!(
        code(&h.call("ResetInstance", reset("img-22trbn9x")).await),
        "InvalidParameterValue.InvalidImageId"
    );
    assert!(ok(&h.call("ResetInstance", reset("img-cust0001")).await));
}

/// ResetInstance: "目前只支持系统盘类型是CLOUD_BASIC、CLOUD_PREMIUM、CLOUD_SSD、CLOUD_BSSD类型的
/// 实例使用该接口实现操作系统切换" (tencentcloud-sdk-go ResetInstance doc comment): a Linux ↔
/// Windows switch on a local system disk is refused
/// (`InvalidParameterValue.InvalidImageIdForRetsetInstance`, the closest documented code);
/// a reinstall within the same OS family, or on a cloud disk, is not.
#[tokio::test]
async fn reinstall_os_switch_needs_a_cloud_system_disk() {
    let h = Harness::new(0, false);
    let local = h
        .run_one(json!({"SystemDisk": {"DiskType": "LOCAL_BASIC", "DiskSize": 50}}))
        .await;
    let cloud = h.run_one(json!({})).await;
    h.wait_for(&local, "RUNNING").await;
    h.wait_for(&cloud, "RUNNING").await;
    let windows = |id: &str| {
        json!({"InstanceId": id, "ImageId": "img-9id7emv7",
               "LoginSettings": {"Password": "Emul@tor2024!x"}})
    };
    assert_eq!(
        code(&h.call("ResetInstance", windows(&local)).await),
        "InvalidParameterValue.InvalidImageIdForRetsetInstance"
    );
    assert!(ok(&h
        .call(
            "ResetInstance",
            json!({"InstanceId": local, "ImageId": "img-22trbn9x"})
        )
        .await));
    assert!(ok(&h.call("ResetInstance", windows(&cloud)).await));
}

/// Purchases need balance (RunInstances and ResetInstancesType doc comments,
/// tencentcloud-sdk-go `cvm/v20170312/client.go`): with the emulator's switch
/// `tencent_balance_insufficient`, RunInstances (prepaid and pay-as-you-go: one hour is
/// frozen) and the type change of a prepaid instance are refused with
/// `InvalidAccount.InsufficientBalance`; a pay-as-you-go type change is not charged.
#[tokio::test]
async fn insufficient_balance_refuses_purchases() {
    let h = Harness::new(0, false);
    let prepaid = h.run_one(serde_json::from_str(PREPAID).unwrap()).await;
    let postpaid = h.run_one(json!({})).await;
    for id in [&prepaid, &postpaid] {
        h.wait_for(id, "RUNNING").await;
        assert!(ok(&h
            .call("StopInstances", json!({"InstanceIds": [id]}))
            .await));
        h.wait_for(id, "STOPPED").await;
    }
    let (status, _) = h
        .control(
            "POST",
            "/_emulator/config",
            Some(json!({"tencent_balance_insufficient": true})),
        )
        .await;
    assert_eq!(status, 200);
    let run = |extra: &str| {
        let mut b: Value = serde_json::from_str(extra).unwrap();
        b["Placement"] = json!({"Zone": "ap-guangzhou-3"});
        b["ImageId"] = json!("img-l8og963d");
        b
    };
    for extra in [PREPAID, "{}"] {
        assert_eq!(
            code(&h.call("RunInstances", run(extra)).await),
            "InvalidAccount.InsufficientBalance"
        );
    }
    let resize = |id: &str| json!({"InstanceIds": [id], "InstanceType": "S5.LARGE8"});
    assert_eq!(
        code(&h.call("ResetInstancesType", resize(&prepaid)).await),
        "InvalidAccount.InsufficientBalance"
    );
    assert!(ok(&h.call("ResetInstancesType", resize(&postpaid)).await));
    h.control(
        "POST",
        "/_emulator/config",
        Some(json!({"tencent_balance_insufficient": false})),
    )
    .await;
    assert!(ok(&h.call("RunInstances", run(PREPAID)).await));
    assert!(ok(&h.call("ResetInstancesType", resize(&prepaid)).await));
}

/// Tag characters (https://cloud.tencent.com/document/product/651/13354, "字符"):
/// "支持中英文字符" (Chinese and English letters), digits, inner spaces and the listed
/// specials; letters of other scripts are refused (`FailedOperation.IllegalTagKey` /
/// `IllegalTagValue`).
#[tokio::test]
async fn tag_characters_are_chinese_and_english() {
    let h = Harness::new(0, false);
    let tagged = |k: &str, v: &str| {
        json!({"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": "img-l8og963d", "DryRun": true,
               "TagSpecification": [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v}]}]})
    };
    assert_eq!(
        code(
            &h.call(
                "RunInstances",
                tagged("环境 名:a/b@c", "生产【1】(x)[y],z;><+-=._")
            )
            .await
        ),
        "DryRunOperation"
    );
    for other in ["ñandú", "Привет", "サーバー", "서버"] {
        assert_eq!(
            code(&h.call("RunInstances", tagged("team", other)).await),
            "FailedOperation.IllegalTagValue",
            "{other}"
        );
        assert_eq!(
            code(&h.call("RunInstances", tagged(other, "x")).await),
            "FailedOperation.IllegalTagKey",
            "{other}"
        );
    }
}

/// A prepaid instance is returned only if it meets the refund rules (TerminateInstances doc
/// comment, tencentcloud-sdk-go `cvm/v20170312/client.go`; product/213/9711): one marked
/// unreturnable is refused with `FailedOperation.Unreturnable` and left as it was; once
/// returnable it goes to the recycle bin as usual.
#[tokio::test]
async fn prepaid_return_needs_the_refund_rules() {
    let h = Harness::new(100, false);
    let id = h.run_one(serde_json::from_str(PREPAID).unwrap()).await;
    h.wait_for(&id, "RUNNING").await;
    let path = format!("/_emulator/instances/{id}/returnable");
    let mark = |returnable: bool| h.control("POST", &path, Some(json!({"returnable": returnable})));
    assert_eq!(mark(false).await.0, 200);
    assert_eq!(
        code(
            &h.call("TerminateInstances", json!({"InstanceIds": [id]}))
                .await
        ),
        "FailedOperation.Unreturnable"
    );
    assert_eq!(h.state(&id).await, "RUNNING");
    assert_eq!(mark(true).await.0, 200);
    assert!(ok(&h
        .call("TerminateInstances", json!({"InstanceIds": [id]}))
        .await));
    h.wait_for(&id, "SHUTDOWN").await;
}

/// Live migration (在线服务迁移) is the platform's: it ends by itself, through
/// ENTER_SERVICE_LIVE_MIGRATE, SERVICE_LIVE_MIGRATE and EXIT_SERVICE_LIVE_MIGRATE, back to
/// RUNNING (tencentcloud-sdk-python-cvm 3.1.178 `models.Instance.InstanceState`).
#[tokio::test]
async fn live_migration_passes_its_phases_and_ends_by_itself() {
    let h = Harness::new(0, false);
    let id = h.run_one(json!({})).await;
    h.wait_for(&id, "RUNNING").await;
    let (st, v) = h
        .hold(&id, json!({"held": "enter_live_migrate", "phase_ms": 800}))
        .await;
    assert_eq!(st, 200, "{v}");
    let seen = h.states_until(&id, "RUNNING").await;
    assert_eq!(
        seen,
        [
            "ENTER_SERVICE_LIVE_MIGRATE",
            "SERVICE_LIVE_MIGRATE",
            "EXIT_SERVICE_LIVE_MIGRATE",
            "RUNNING"
        ],
        "{seen:?}"
    );
    assert!(ok(&h
        .call("StopInstances", json!({"InstanceIds": [id]}))
        .await));
    // Only a running instance is live-migrated.
    h.wait_for(&id, "STOPPED").await;
    assert_eq!(h.hold(&id, json!({"held": "live_migrate"})).await.0, 400);
}

/// Each phase refuses the owner's actions with its own code; TerminateInstances lists only
/// the ENTER and EXIT codes (tencentcloud-sdk-go `cvm/v20170312/client.go`, each action's
/// error list), so it goes through in SERVICE_LIVE_MIGRATE.
#[tokio::test]
async fn live_migration_phases_refuse_actions() {
    let h = Harness::new(0, false);
    let id = h.run_one(json!({})).await;
    h.wait_for(&id, "RUNNING").await;
    for (held, state, suffix) in [
        (
            "enter_live_migrate",
            "ENTER_SERVICE_LIVE_MIGRATE",
            "EnterServiceLiveMigrate",
        ),
        ("live_migrate", "SERVICE_LIVE_MIGRATE", "ServiceLiveMigrate"),
        (
            "exit_live_migrate",
            "EXIT_SERVICE_LIVE_MIGRATE",
            "ExitServiceLiveMigrate",
        ),
    ] {
        let (st, v) = h.hold(&id, json!({"held": held, "phase_ms": 600000})).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(h.state(&id).await, state);
        let listed = h
            .call(
                "DescribeInstances",
                json!({"Filters": [{"Name": "instance-state", "Values": [state]}]}),
            )
            .await;
        assert_eq!(listed["TotalCount"], 1, "{listed}");
        let expected = format!("UnsupportedOperation.InstanceState{suffix}");
        for (action, body) in owner_actions(&id) {
            assert_eq!(code(&h.call(action, body).await), expected, "{action}");
        }
        if held != "live_migrate" {
            assert_eq!(
                code(
                    &h.call("TerminateInstances", json!({"InstanceIds": [id]}))
                        .await
                ),
                expected
            );
        }
        assert_eq!(h.state(&id).await, state);
    }
    h.hold(&id, json!({"held": "live_migrate", "phase_ms": 600000}))
        .await;
    assert!(ok(&h
        .call("TerminateInstances", json!({"InstanceIds": [id]}))
        .await));
    h.wait_for(&id, "ABSENT").await;
}

/// "退还失败，退还配额已达上限" (`LimitExceeded.UserReturnQuota`, in the TerminateInstances
/// error list of tencentcloud-sdk-go `cvm/v20170312/client.go`): self-service returns of
/// prepaid instances are limited (product/213/9711). A pay-as-you-go instance, or a prepaid
/// one already in the recycle bin, uses no return.
#[tokio::test]
async fn prepaid_returns_are_limited_by_the_return_quota() {
    let h = Harness::new(100, false);
    h.control(
        "POST",
        "/_emulator/config",
        Some(json!({"tencent_return_quota": 1, "transition_delays_ms": {"shutdown": 60000}})),
    )
    .await;
    let a = h.run_one(serde_json::from_str(PREPAID).unwrap()).await;
    let b = h.run_one(serde_json::from_str(PREPAID).unwrap()).await;
    let postpaid = h.run_one(json!({})).await;
    for id in [&a, &b, &postpaid] {
        h.wait_for(id, "RUNNING").await;
    }
    // Two returns with one left: refused as a whole.
    assert_eq!(
        code(
            &h.call("TerminateInstances", json!({"InstanceIds": [a, b]}))
                .await
        ),
        "LimitExceeded.UserReturnQuota"
    );
    assert!(ok(&h
        .call("TerminateInstances", json!({"InstanceIds": [a]}))
        .await));
    h.wait_for(&a, "SHUTDOWN").await;
    let (_, cfg) = h.control("GET", "/_emulator/config", None).await;
    assert_eq!(cfg["tencent_return_quota"], 0, "{cfg}");
    assert_eq!(
        code(
            &h.call("TerminateInstances", json!({"InstanceIds": [b]}))
                .await
        ),
        "LimitExceeded.UserReturnQuota"
    );
    assert_eq!(h.state(&b).await, "RUNNING");
    // Destroying from the recycle bin, and a pay-as-you-go instance, need no return.
    assert!(ok(&h
        .call("TerminateInstances", json!({"InstanceIds": [a]}))
        .await));
    assert!(ok(&h
        .call("TerminateInstances", json!({"InstanceIds": [postpaid]}))
        .await));
    h.wait_for(&a, "ABSENT").await;
    h.control(
        "POST",
        "/_emulator/config",
        Some(json!({"tencent_return_quota": null})),
    )
    .await;
    assert!(ok(&h
        .call("TerminateInstances", json!({"InstanceIds": [b]}))
        .await));
}

/// "促销期内购买的实例不允许调整配置或计费模式" (`FailedOperation.PromotionalPerioRestriction`,
/// in the ResetInstancesType error list of tencentcloud-sdk-go `cvm/v20170312/client.go`).
#[tokio::test]
async fn promotional_instances_cannot_change_type() {
    let h = Harness::new(0, false);
    let id = h.run_one(json!({})).await;
    h.wait_for(&id, "RUNNING").await;
    let path = format!("/_emulator/instances/{id}/promotional");
    let mark =
        |promotional: bool| h.control("POST", &path, Some(json!({"promotional": promotional})));
    assert_eq!(mark(true).await.0, 200);
    let resize = json!({"InstanceIds": [id], "InstanceType": "S5.LARGE8", "ForceStop": true});
    assert_eq!(
        code(&h.call("ResetInstancesType", resize.clone()).await),
        "FailedOperation.PromotionalPerioRestriction"
    );
    assert_eq!(h.state(&id).await, "RUNNING");
    assert_eq!(mark(false).await.0, 200);
    assert!(ok(&h.call("ResetInstancesType", resize).await));
}

/// Entering and leaving rescue mode are phases of their own (`ENTER_RESCUE_MODE`,
/// `EXIT_RESCUE_MODE`), each refusing the owner's actions, TerminateInstances included,
/// with its own code (tencentcloud-sdk-go `cvm/v20170312/client.go` error lists).
#[tokio::test]
async fn rescue_mode_is_entered_and_left_through_phases() {
    let h = Harness::new(0, false);
    let id = h.run_one(json!({})).await;
    h.wait_for(&id, "RUNNING").await;
    // Only an instance in rescue mode leaves it.
    assert_eq!(h.hold(&id, json!({"held": "exit_rescue"})).await.0, 400);
    for (held, state, code_suffix) in [
        ("enter_rescue", "ENTER_RESCUE_MODE", "EnterRescueMode"),
        ("exit_rescue", "EXIT_RESCUE_MODE", "ExitRescueMode"),
    ] {
        let (st, v) = h.hold(&id, json!({"held": held, "phase_ms": 600000})).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(h.state(&id).await, state);
        let expected = format!("UnsupportedOperation.InstanceState{code_suffix}");
        for (action, body) in owner_actions(&id)
            .into_iter()
            .chain([("TerminateInstances", json!({"InstanceIds": [id]}))])
        {
            assert_eq!(code(&h.call(action, body).await), expected, "{action}");
        }
        // Into rescue mode (which exit_rescue then leaves).
        h.hold(&id, json!({"held": "rescue"})).await;
    }
    // The phases end by themselves: into RESCUE_MODE, and out of it back to RUNNING.
    h.hold(&id, json!({"held": "enter_rescue", "phase_ms": 800}))
        .await;
    let seen = h.states_until(&id, "RESCUE_MODE").await;
    assert_eq!(seen, ["ENTER_RESCUE_MODE", "RESCUE_MODE"], "{seen:?}");
    h.hold(&id, json!({"held": "exit_rescue", "phase_ms": 800}))
        .await;
    let seen = h.states_until(&id, "RUNNING").await;
    assert_eq!(seen, ["EXIT_RESCUE_MODE", "RUNNING"], "{seen:?}");
    assert!(ok(&h
        .call("StopInstances", json!({"InstanceIds": [id]}))
        .await));
}
