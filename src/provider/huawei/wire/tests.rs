use super::*;

#[test]
fn server_detail_decodes() {
    let body = r#"{"count":1,"servers":[{"id":"5a1b","name":"web","status":"ACTIVE",
        "OS-EXT-STS:task_state":null,"OS-EXT-AZ:availability_zone":"cn-north-4a",
        "flavor":{"id":"s6.large.2","name":"s6.large.2","vcpus":"2","ram":"4096","disk":"0"},
        "image":{"id":"img-1"},
        "addresses":{"vpc-1":[{"addr":"192.168.0.5","version":"4","OS-EXT-IPS:type":"fixed"},
                              {"addr":"1.2.3.4","version":"4","OS-EXT-IPS:type":"floating"}]},
        "security_groups":[{"id":"sg-1","name":"default"}],
        "tags":["owner=ns.name","x"],"created":"2019-05-22T03:19:19Z"},
        {"id":"missing","name":null,"status":null,"fault":{"code":404}}]}"#;
    let r: ListServersResponse = serde_json::from_str(body).unwrap();
    let s = &r.servers[0];
    assert_eq!(s.state(), InstanceState::Running);
    assert_eq!(s.private_ips(), vec!["192.168.0.5"]);
    assert_eq!(s.public_ips(), vec!["1.2.3.4"]);
    assert_eq!(s.tag_map()["owner"], "ns.name");
    assert_eq!(s.tag_map()["x"], "");
    assert_eq!(s.security_group_ids(), vec!["sg-1"]);
    assert!(r.servers[1].status.is_none());
}

#[test]
fn job_ids() {
    let body = r#"{"status":"SUCCESS","job_id":"j1","job_type":"createServer",
        "entities":{"sub_jobs_total":2,"sub_jobs":[
          {"status":"SUCCESS","entities":{"server_id":"s1"},"job_id":"j2"},
          {"status":"SUCCESS","entities":{"server_id":"s2"},"job_id":"j3"}]}}"#;
    let j: Job = serde_json::from_str(body).unwrap();
    assert_eq!(j.server_ids(), vec!["s1", "s2"]);
    let j: Job = serde_json::from_str(r#"{"status":"RUNNING","entities":{}}"#).unwrap();
    assert!(j.server_ids().is_empty());
}

#[test]
fn states() {
    use InstanceState::*;
    let cases = [
        ("BUILD", None, Pending),
        ("ACTIVE", None, Running),
        ("ACTIVE", Some("powering-off"), Stopping),
        ("ACTIVE", Some("rebooting"), Rebooting),
        ("SHUTOFF", None, Stopped),
        ("SHUTOFF", Some("powering-on"), Starting),
        ("REBOOT", None, Rebooting),
        ("HARD_REBOOT", None, Rebooting),
        ("RESIZE", None, Pending),
        ("VERIFY_RESIZE", None, Pending),
        ("REBUILD", None, Pending),
        ("MIGRATING", None, Pending),
        ("MIGRATING", Some("migrating"), Pending),
        ("REVERT_RESIZE", Some("resize_reverting"), Pending),
        ("ERROR", None, Failed),
        ("DELETED", None, Terminated),
        ("SOFT_DELETED", None, Suspended),
        ("ACTIVE", Some("deleting"), Terminating),
        ("SHELVED", None, Suspended),
        ("SHELVED_OFFLOADED", None, Suspended),
        ("PAUSED", None, Suspended),
        ("SUSPENDED", None, Suspended),
        ("UNKNOWN", None, Suspended),
        ("SOMETHING_NEW", None, Suspended),
        ("ERROR", Some("deleting"), Terminating),
    ];
    for (s, t, want) in cases {
        assert_eq!(map_state(s, t), want, "{s} {t:?}");
    }
}

#[test]
fn create_body_shape() {
    let body = CreateServersBody {
        server: CreateServer {
            image_ref: "img".into(),
            flavor_ref: "s6.small.1".into(),
            name: "web".into(),
            vpcid: Some("vpc".into()),
            nics: vec![Nic {
                subnet_id: "sub".into(),
            }],
            root_volume: Volume {
                volumetype: "SSD".into(),
                size: Some(40),
            },
            data_volumes: vec![],
            security_groups: vec![],
            availability_zone: None,
            publicip: None,
            count: 1,
            is_auto_rename: false,
            admin_pass: None,
            key_name: None,
            user_data: None,
            server_tags: vec![Tag {
                key: "k".into(),
                value: "v".into(),
            }],
            extendparam: ExtendParam {
                charging_mode: Some(Value::from(0)),
                ..Default::default()
            },
            metadata: BTreeMap::new(),
        },
        dry_run: false,
    };
    let v = serde_json::to_value(&body).unwrap();
    assert_eq!(v["server"]["imageRef"], "img");
    assert_eq!(v["server"]["server_tags"][0]["key"], "k");
    assert_eq!(v["server"]["extendparam"]["chargingMode"], 0);
    assert!(v.get("dry_run").is_none());
}

/// GPSSD2 / ESSD2 volumes need `iops` (GPSSD2 also `throughput`), which a disk spec does
/// not carry: refused before any request (SDK post_paid_server_root_volume.py).
#[test]
fn provisioned_disk_types_are_refused_before_any_request() {
    use crate::provider::Disk;
    let mut req = crate::provider::huawei::tests::minimal_request();
    assert!(super::create_body(&req, "tok", "p1", None).is_ok());
    for (t, system) in [("GPSSD2", true), ("ESSD2", false)] {
        let disk = Disk {
            disk_type: Some(t.into()),
            size_gb: 100,
        };
        if system {
            req.system_disk = Some(disk);
        } else {
            req.system_disk = None;
            req.data_disks = vec![disk];
        }
        let e = super::create_body(&req, "tok", "p1", None).unwrap_err();
        assert_eq!(e.code, "UnsupportedDiskType", "{e}");
        assert!(e.message.contains(t) && e.message.contains("IOPS"), "{e}");
    }
}

/// A yearly/monthly server's changeos carries `isAutoPay: "true"` (a string), a pay-per-use
/// one none (API ecs_02_0202 表3).
#[test]
fn prepaid_changeos_pays_automatically() {
    use crate::provider::{Login, ReinstallRequest, SecretString};
    let req = ReinstallRequest {
        image_id: "img".into(),
        login: Login {
            password: Some(SecretString::new("Passw0rd!x")),
            ..Default::default()
        },
        system_disk_size_gb: None,
        hostname: None,
    };
    let b = super::changeos_body(&req, None, true);
    assert_eq!(b["os-change"]["isAutoPay"], "true");
    let b = super::changeos_body(&req, None, false);
    assert!(b["os-change"].get("isAutoPay").is_none(), "{b}");
}

/// The EIP type is one the region offers (EIP API eip_api_0001 `publicip.type` per region):
/// Guiyang offers static BGP only, regions the pages do not list get the default 5_bgp.
#[test]
fn the_eip_type_is_one_the_region_offers() {
    use crate::provider::huawei::wire::request::{EIP_TYPES_BY_REGION, eip_type};
    assert_eq!(eip_type("cn-southwest-2"), "5_sbgp");
    assert_eq!(eip_type("cn-north-4"), "5_bgp");
    assert_eq!(eip_type("ap-southeast-1"), "5_bgp");
    assert_eq!(eip_type("tr-west-1"), "5_bgp");
    for (region, types) in EIP_TYPES_BY_REGION {
        assert!(types.contains(&eip_type(region)), "{region}");
    }
    // and the create body carries it
    let req = crate::provider::RunRequest {
        region: "cn-southwest-2".into(),
        zone: "cn-southwest-2a".into(),
        image_id: "img".into(),
        instance_type: "s6.small.1".into(),
        network: crate::provider::Network {
            vpc_id: Some("vpc".into()),
            subnet_id: Some("sub".into()),
            public_bandwidth_mbps: Some(5),
            ..Default::default()
        },
        ..Default::default()
    };
    let (_, body) =
        crate::provider::huawei::wire::request::create_body(&req, "t", "p", None).expect("body");
    assert_eq!(
        body["server"]["publicip"]["eip"]["iptype"], "5_sbgp",
        "{body}"
    );
}
