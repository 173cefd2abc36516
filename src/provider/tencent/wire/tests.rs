//! Tests of the CVM wire mapping.

use super::*;
use crate::provider::{Disk, ErrorKind, InstanceState, Network};
use serde_json::json;

fn full_run_request() -> RunRequest {
    RunRequest {
        region: "ap-guangzhou".into(),
        zone: "ap-guangzhou-3".into(),
        image_id: "img-pmqg1cw7".into(),
        instance_type: "S5.MEDIUM4".into(),
        instance_name: Some("web-1".into()),
        hostname: Some("web-1".into()),
        count: 1,
        system_disk: Some(Disk {
            disk_type: Some("CLOUD_PREMIUM".into()),
            size_gb: 50,
        }),
        data_disks: vec![Disk {
            disk_type: Some("CLOUD_SSD".into()),
            size_gb: 100,
        }],
        network: Network {
            vpc_id: Some("vpc-1".into()),
            subnet_id: Some("subnet-1".into()),
            security_group_ids: vec!["sg-1".into(), "sg-2".into()],
            public_bandwidth_mbps: Some(10),
        },
        login: Login {
            key_ids: vec![],
            password: Some(SecretString::new("Qcloud@TestApi123++")),
            keep_image_login: false,
        },
        tags: [("owner".to_string(), "ci".to_string())].into(),
        user_data: Some("#!/bin/sh\necho hi\n".into()),
        charge_type: ChargeType::OnDemand,
        client_token: Some("tok-1".into()),
        dry_run: true,
        extras: crate::provider::ProviderExtras {
            tencent_project_id: Some(1_000_123),
        },
    }
}

#[test]
fn run_instances_request_wire_shape() {
    let body = serde_json::to_value(RunInstancesRequest::from_run(&full_run_request())).unwrap();
    assert_eq!(
        body,
        json!({
            "Placement": {"Zone": "ap-guangzhou-3", "ProjectId": 1_000_123},
            "ImageId": "img-pmqg1cw7",
            "InstanceChargeType": "POSTPAID_BY_HOUR",
            "InstanceType": "S5.MEDIUM4",
            "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50},
            "DataDisks": [{"DiskSize": 100, "DiskType": "CLOUD_SSD"}],
            "VirtualPrivateCloud": {"VpcId": "vpc-1", "SubnetId": "subnet-1"},
            "InternetAccessible": {
                "InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR",
                "InternetMaxBandwidthOut": 10,
                "PublicIpAssigned": true
            },
            "InstanceCount": 1,
            "InstanceName": "web-1",
            "LoginSettings": {"Password": "Qcloud@TestApi123++"},
            "SecurityGroupIds": ["sg-1", "sg-2"],
            "ClientToken": "tok-1",
            "HostName": "web-1",
            "TagSpecification": [
                {"ResourceType": "instance", "Tags": [{"Key": "owner", "Value": "ci"}]}
            ],
            "UserData": "IyEvYmluL3NoCmVjaG8gaGkK",
            "DryRun": true
        })
    );
}

#[test]
fn run_instances_request_minimal_omits_defaults() {
    let req = RunRequest {
        zone: "ap-guangzhou-3".into(),
        image_id: "img-1".into(),
        ..Default::default()
    };
    let body = serde_json::to_value(RunInstancesRequest::from_run(&req)).unwrap();
    assert_eq!(
        body,
        json!({
            "Placement": {"Zone": "ap-guangzhou-3"},
            "ImageId": "img-1",
            "InstanceChargeType": "POSTPAID_BY_HOUR",
            "InstanceCount": 1
        })
    );
}

#[test]
fn charge_types_and_login_variants() {
    let mut req = full_run_request();
    req.charge_type = ChargeType::Prepaid;
    req.login = Login {
        key_ids: vec!["skey-1".into()],
        password: None,
        keep_image_login: false,
    };
    let body = serde_json::to_value(RunInstancesRequest::from_run(&req)).unwrap();
    assert_eq!(body["InstanceChargeType"], "PREPAID");
    assert_eq!(body["InstanceChargePrepaid"], json!({"Period": 1}));
    assert_eq!(body["LoginSettings"], json!({"KeyIds": ["skey-1"]}));

    req.charge_type = ChargeType::Spot;
    req.login = Login {
        keep_image_login: true,
        ..Default::default()
    };
    let body = serde_json::to_value(RunInstancesRequest::from_run(&req)).unwrap();
    assert_eq!(body["InstanceChargeType"], "SPOTPAID");
    assert!(body.get("InstanceChargePrepaid").is_none());
    assert_eq!(body["LoginSettings"], json!({"KeepImageLogin": "TRUE"}));
}

#[test]
fn debug_of_a_request_never_shows_the_password() {
    let req = RunInstancesRequest::from_run(&full_run_request());
    let dbg = format!("{req:?}");
    assert!(!dbg.contains("Qcloud@TestApi123++"), "{dbg}");
    let reset = ResetInstanceRequest::new(
        "ins-1",
        &ReinstallRequest {
            image_id: "img-2".into(),
            login: Login {
                password: Some(SecretString::new("An0ther!secret")),
                ..Default::default()
            },
            system_disk_size_gb: Some(60),
            hostname: None,
        },
    );
    assert!(!format!("{reset:?}").contains("An0ther!secret"));
    assert_eq!(
        serde_json::to_value(&reset).unwrap(),
        json!({
            "InstanceId": "ins-1",
            "ImageId": "img-2",
            "SystemDisk": {"DiskSize": 60},
            "LoginSettings": {"Password": "An0ther!secret"}
        })
    );
}

#[test]
fn stop_and_modify_requests() {
    let ids = vec!["ins-1".to_string()];
    assert_eq!(
        serde_json::to_value(StopTypeRequest {
            instance_ids: &ids,
            stop_type: stop_type(StopMode::SoftThenHard)
        })
        .unwrap(),
        json!({"InstanceIds": ["ins-1"], "StopType": "SOFT_FIRST"})
    );
    assert_eq!(stop_type(StopMode::Soft), "SOFT");
    assert_eq!(stop_type(StopMode::Hard), "HARD");
    let sgs = vec!["sg-9".to_string()];
    assert_eq!(
        serde_json::to_value(ModifyInstancesAttributeRequest {
            instance_ids: &ids,
            instance_name: None,
            security_groups: Some(&sgs),
        })
        .unwrap(),
        json!({"InstanceIds": ["ins-1"], "SecurityGroups": ["sg-9"]})
    );
    assert_eq!(
        serde_json::to_value(DescribeRequest {
            filters: vec![Filter {
                name: "tag:owner".into(),
                values: vec!["ci".into()]
            }],
            offset: Some(0),
            limit: Some(100),
            ..Default::default()
        })
        .unwrap(),
        json!({"Filters": [{"Name": "tag:owner", "Values": ["ci"]}], "Offset": 0, "Limit": 100})
    );
}

/// The DescribeInstances output example of the reference, including its quirks
/// (`"PublicIpAssigned": "TRUE"` as a string, tags spelled `tagKey`/`tagValue`).
#[test]
fn decodes_the_reference_describe_instances_example() {
    let body = br#"{
      "Response": {
        "InstanceSet": [{
          "CPU": 1,
          "CreatedTime": "2016-12-02T00:22:40Z",
          "DataDisks": [{"DiskId": "disk-4rnslb35", "DiskSize": 50, "DiskType": "CLOUD_BASIC"}],
          "ExpiredTime": "2017-01-02T00:22:48Z",
          "ImageId": "img-0vbqvzfn",
          "InstanceChargeType": "PREPAID",
          "InstanceId": "ins-r8hr2upy",
          "InstanceName": "Test instance",
          "InstanceType": "S1.SMALL2",
          "InternetAccessible": {"InternetChargeType": "BANDWIDTH_PREPAID", "InternetMaxBandwidthOut": 2, "PublicIpAssigned": "TRUE"},
          "Memory": 2,
          "Placement": {"HostId": "", "ProjectId": 0, "Zone": "ap-guangzhou-1"},
          "PrivateIpAddresses": ["10.104.37.58"],
          "PublicIpAddresses": ["123.207.32.83"],
          "RenewFlag": "NOTIFY_AND_AUTO_RENEW",
          "SystemDisk": {"DiskId": "disk-4rnslbwq", "DiskSize": 20, "DiskType": "CLOUD_BASIC"},
          "Tags": [{"tagKey": "city", "tagValue": "shenzhen"}],
          "VirtualPrivateCloud": {"AsVpcGateway": "TRUE", "SubnetId": "subnet-6d7kj98i", "VpcId": "vpc-4e78ea76"}
        }],
        "RequestId": "6ef60bec-0242-43af-bb20-270359fb54a7",
        "TotalCount": 1
      }
    }"#;
    let r: DescribeInstancesResponse = decode_response(200, body).unwrap();
    assert_eq!(r.total_count, 1);
    let d = r.instance_set.into_iter().next().unwrap().into_details();
    assert_eq!(d.id, "ins-r8hr2upy");
    assert_eq!(d.name, "Test instance");
    assert_eq!(d.state, InstanceState::Pending); // the example has no InstanceState
    assert_eq!(d.zone, "ap-guangzhou-1");
    assert_eq!(d.instance_type, "S1.SMALL2");
    assert_eq!(d.image_id, "img-0vbqvzfn");
    assert_eq!(d.private_ips, vec!["10.104.37.58"]);
    assert_eq!(d.public_ips, vec!["123.207.32.83"]);
    assert_eq!(d.tags.get("city").map(String::as_str), Some("shenzhen"));
    assert_eq!(d.created_at.as_deref(), Some("2016-12-02T00:22:40Z"));
}

#[test]
fn nulls_read_as_empty() {
    let body = br#"{"Response":{"TotalCount":1,"InstanceSet":[{"InstanceId":"ins-1","InstanceState":"RUNNING","PublicIpAddresses":null,"SecurityGroupIds":null,"Tags":null,"Placement":null,"CreatedTime":null}],"RequestId":"r"}}"#;
    let r: DescribeInstancesResponse = decode_response(200, body).unwrap();
    let d = r.instance_set.into_iter().next().unwrap().into_details();
    assert_eq!(d.state, InstanceState::Running);
    assert_eq!(d.provider_state, "RUNNING");
    assert!(d.public_ips.is_empty() && d.security_group_ids.is_empty() && d.tags.is_empty());
    assert_eq!(d.created_at, None);
}

#[test]
fn decodes_status_regions_zones_images_types() {
    let s: DescribeInstancesStatusResponse = decode_response(
        200,
        br#"{"Response":{"InstanceStatusSet":[{"InstanceId":"ins-r8hr2upy","InstanceState":"RUNNING"},{"InstanceId":"ins-5d8a23rs","InstanceState":"STOPPED"}],"RequestId":"x","TotalCount":2}}"#,
    )
    .unwrap();
    let st: Vec<_> = s
        .instance_status_set
        .into_iter()
        .map(|s| s.into_status())
        .collect();
    assert_eq!(st[0].state, InstanceState::Running);
    assert_eq!(st[1].state, InstanceState::Stopped);
    assert_eq!(st[1].provider_state, "STOPPED");

    let r: DescribeRegionsResponse = decode_response(
        200,
        br#"{"Response":{"RegionSet":[{"Region":"ap-beijing","RegionName":"North China (Beijing)","RegionState":"AVAILABLE"}],"RequestId":"x","TotalCount":1}}"#,
    )
    .unwrap();
    assert_eq!(r.region_set[0].region, "ap-beijing");

    let z: DescribeZonesResponse = decode_response(
        200,
        br#"{"Response":{"RequestId":"x","TotalCount":1,"ZoneSet":[{"Zone":"ap-guangzhou-1","ZoneId":"100001","ZoneName":"Guangzhou Zone 1","ZoneState":"UNAVAILABLE"}]}}"#,
    )
    .unwrap();
    assert_eq!(z.zone_set[0].zone_state, "UNAVAILABLE");

    let i: DescribeImagesResponse = decode_response(
        200,
        br#"{"Response":{"ImageSet":[{"Architecture":"x86_64","ImageId":"img-8toqc6s3","ImageName":"CentOS 7.4 64","ImageType":"PUBLIC_IMAGE","OsName":"CentOS 7.4 64","ImageSize":50}],"RequestId":"x","TotalCount":62}}"#,
    )
    .unwrap();
    assert_eq!(i.total_count, 62);
    assert_eq!(i.image_set[0].image_type, "PUBLIC_IMAGE");

    let t: DescribeInstanceTypeConfigsResponse = decode_response(
        200,
        br#"{"Response":{"InstanceTypeConfigSet":[{"CPU":2,"FPGA":0,"GPU":0,"InstanceFamily":"I1","InstanceType":"I1.MEDIUM4","Memory":4,"Zone":"ap-guangzhou-2"}],"RequestId":"x"}}"#,
    )
    .unwrap();
    let c = &t.instance_type_config_set[0];
    assert_eq!((c.cpu, c.memory, c.instance_family.as_str()), (2, 4, "I1"));
}

#[test]
fn error_envelope_becomes_a_classified_error() {
    let body = br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"The provided credentials could not be validated. Please check your signature is correct."},"RequestId":"ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"}}"#;
    let e = decode_response::<NoContent>(200, body).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert_eq!(e.code, "AuthFailure.SignatureFailure");
    assert_eq!(
        e.message,
        "The provided credentials could not be validated. Please check your signature is correct."
    );
    assert_eq!(
        e.request_id.as_deref(),
        Some("ed93f3cb-f35e-473f-b9f3-0d451b8b79c6")
    );

    // The code wins over the HTTP status.
    let e = decode_response::<NoContent>(
        500,
        br#"{"Response":{"Error":{"Code":"InvalidParameterValue","Message":"bad zone"},"RequestId":"r"}}"#,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(e.message, "bad zone");
}

#[test]
fn bodies_without_envelope_are_classified_by_status() {
    let e = decode_response::<NoContent>(502, b"<html>Bad Gateway</html>").unwrap_err();
    assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Transient, "HTTP502"));
    let e = decode_response::<NoContent>(429, b"").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Throttled);
    let e = decode_response::<NoContent>(200, b"not json").unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Transient, "InvalidResponse")
    );
    let e = decode_response::<NoContent>(404, br#"{"message":"no route"}"#).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
}

#[test]
fn success_with_only_request_id() {
    decode_response::<NoContent>(
        200,
        br#"{"Response":{"RequestId":"d39d6c09-44e9-4e80-8661-77b5ff3cbc15"}}"#,
    )
    .unwrap();
    let r: RunInstancesResponse = decode_response(
        200,
        br#"{"Response":{"InstanceIdSet":["ins-0s7wsh5x","ins-03lw8hok"],"RequestId":"x"}}"#,
    )
    .unwrap();
    assert_eq!(r.instance_id_set, vec!["ins-0s7wsh5x", "ins-03lw8hok"]);
}
