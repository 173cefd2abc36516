use super::transport::split_endpoint;
use super::*;

/// The smallest create request the client accepts: cn-north-4, a VPC and a subnet, nothing
/// else (shared with `wire/tests.rs`).
pub(super) fn minimal_request() -> RunRequest {
    RunRequest {
        region: "cn-north-4".into(),
        zone: "cn-north-4a".into(),
        image_id: "img".into(),
        instance_type: "s6.small.1".into(),
        network: Network {
            vpc_id: Some("vpc".into()),
            subnet_id: Some("subnet".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn client() -> HuaweiClient {
    HuaweiClient::new(ClientConfig::new(Credentials {
        access_key_id: "ak".into(),
        secret: SecretString::new("sk"),
        project_id: Some("p1".into()),
    }))
    .unwrap()
}

#[test]
fn projects_are_per_region_and_checked() {
    // No project at all is allowed: the region's project is then looked up with IAM.
    assert!(
        HuaweiClient::new(ClientConfig::new(Credentials {
            access_key_id: "ak".into(),
            secret: SecretString::new("sk"),
            project_id: None,
        }))
        .is_ok()
    );
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: "ak".into(),
        secret: SecretString::new("sk"),
        project_id: None,
    });
    cfg.huawei
        .project_ids
        .insert("cn-north-4".into(), "NOT-A-PROJECT".into());
    let e = HuaweiClient::new(cfg).unwrap_err();
    assert_eq!(e.code, "InvalidProjectId");
    assert!(!e.message.contains("NOT-A-PROJECT"), "{e}");
}

#[tokio::test]
async fn each_region_uses_its_own_configured_project() {
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: "ak".into(),
        secret: SecretString::new("sk"),
        project_id: Some("c".repeat(32)),
    });
    cfg.huawei.project_ids = [
        ("cn-north-4".to_string(), "a".repeat(32)),
        ("ap-southeast-1".to_string(), "b".repeat(32)),
    ]
    .into();
    let c = HuaweiClient::new(cfg).unwrap();
    assert_eq!(c.project("cn-north-4").await.unwrap(), "a".repeat(32));
    assert_eq!(c.project("ap-southeast-1").await.unwrap(), "b".repeat(32));
}

#[test]
fn endpoints() {
    let c = client();
    assert_eq!(
        c.endpoint(Service::Ecs, "cn-north-4"),
        "https://ecs.cn-north-4.myhuaweicloud.com"
    );
    assert_eq!(
        c.endpoint(Service::Ims, "cn-north-4"),
        "https://ims.cn-north-4.myhuaweicloud.com"
    );
    assert_eq!(
        split_endpoint("http://127.0.0.1:4566/"),
        (
            "http://127.0.0.1:4566".into(),
            "127.0.0.1:4566".into(),
            "".into()
        )
    );
    assert_eq!(
        split_endpoint("https://gw.example.com/hw"),
        (
            "https://gw.example.com".into(),
            "gw.example.com".into(),
            "/hw".into()
        )
    );
}

#[test]
fn create_body_carries_tags_token_and_charging() {
    let mut req = RunRequest {
        region: "cn-north-4".into(),
        zone: "cn-north-4a".into(),
        image_id: "img".into(),
        instance_type: "s6.small.1".into(),
        instance_name: Some("web".into()),
        count: 1,
        network: Network {
            vpc_id: Some("vpc".into()),
            subnet_id: Some("subnet".into()),
            security_group_ids: vec!["6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c01".into()],
            public_bandwidth_mbps: Some(10),
        },
        tags: [("owner".to_string(), "a.b".to_string())].into(),
        user_data: Some("hello".into()),
        charge_type: ChargeType::Spot,
        ..Default::default()
    };
    let (path, body) = wire::create_body(&req, "tok", "p1", None).unwrap();
    assert_eq!(path, "/v1/p1/cloudservers");
    let s = &body["server"];
    assert_eq!(s["vpcid"], "vpc");
    assert_eq!(s["nics"][0]["subnet_id"], "subnet");
    assert_eq!(s["availability_zone"], "cn-north-4a");
    assert_eq!(s["user_data"], "aGVsbG8=");
    assert_eq!(s["extendparam"]["chargingMode"], 0);
    assert_eq!(s["extendparam"]["marketType"], "spot");
    assert_eq!(s["publicip"]["eip"]["bandwidth"]["size"], 10);
    let tags = s["server_tags"].as_array().unwrap();
    assert!(
        tags.iter()
            .any(|t| t["key"] == TOKEN_TAG && t["value"] == token_tag_value("tok").as_str())
    );
    assert_eq!(token_tag_value("tok").len(), 40);

    req.charge_type = ChargeType::Prepaid;
    let (path, body) = wire::create_body(&req, "tok", "p1", None).unwrap();
    assert_eq!(path, "/v1.1/p1/cloudservers");
    assert_eq!(body["server"]["extendparam"]["chargingMode"], "prePaid");

    req.network.subnet_id = None;
    assert_eq!(
        wire::create_body(&req, "tok", "p1", None).unwrap_err().code,
        "MissingNetwork"
    );
}

#[test]
fn a_prepaid_create_with_a_key_carries_the_iam_user_id() {
    let req = RunRequest {
        region: "cn-north-4".into(),
        zone: "cn-north-4a".into(),
        image_id: "img".into(),
        instance_type: "s6.small.1".into(),
        network: Network {
            vpc_id: Some("vpc".into()),
            subnet_id: Some("subnet".into()),
            ..Default::default()
        },
        login: Login {
            key_ids: vec!["kp-1".into()],
            ..Default::default()
        },
        charge_type: ChargeType::Prepaid,
        ..Default::default()
    };
    let (path, body) = wire::create_body(&req, "tok", "p1", Some("u1")).unwrap();
    assert_eq!(path, "/v1.1/p1/cloudservers");
    assert_eq!(body["server"]["metadata"]["op_svc_userid"], "u1");
    assert_eq!(body["server"]["key_name"], "kp-1");
    let e = wire::create_body(&req, "tok", "p1", None).unwrap_err();
    assert_eq!(e.code, "UserIdUnknown");
    // Pay-per-use creates do not send it.
    let od = RunRequest {
        charge_type: ChargeType::OnDemand,
        ..req
    };
    let (_, body) = wire::create_body(&od, "tok", "p1", Some("u1")).unwrap();
    assert!(body["server"].get("metadata").is_none(), "{body}");
}

#[test]
fn tag_values_fit_the_43_character_limit() {
    let long = "a".repeat(253);
    let v = fit_tag_value("cloudinstance-name", &long).unwrap();
    assert_eq!(v.chars().count(), 43, "{v}");
    assert!(v.starts_with(&"a".repeat(34)));
    assert_ne!(
        v,
        fit_tag_value("cloudinstance-name", &format!("{long}b")).unwrap()
    );
    let cjk = "名".repeat(50);
    assert_eq!(
        fit_tag_value("cloudinstance-namespace", &cjk)
            .unwrap()
            .chars()
            .count(),
        43
    );
    assert_eq!(fit_tag_value("team", "short").unwrap(), "short");
    let e = fit_tag_value("team", &"x".repeat(44)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
}

/// Tag keys and values against post_paid_server_tag.py's character rules (the cloud's
/// Ecs.0906/0907), refused before any call: a Kubernetes-style `app.kubernetes.io/name` key
/// is the likely one.
#[test]
fn tag_keys_and_values_follow_the_character_rules() {
    let req = |k: &str, v: &str| {
        let mut r = RunRequest {
            region: "cn-north-4".into(),
            zone: "cn-north-4a".into(),
            image_id: "img".into(),
            instance_type: "s6.small.1".into(),
            network: Network {
                vpc_id: Some("vpc".into()),
                subnet_id: Some("subnet".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        r.tags.insert(k.into(), v.into());
        wire::create_body(&r, "tok", "p1", None).map(|_| ())
    };
    assert!(req("team", "a b.c-d_e:f/g@h").is_ok());
    assert!(req(&"k".repeat(36), "v").is_ok());
    for k in [
        "app.kubernetes.io/name",
        "a=b",
        "a,b",
        "a|b",
        "a\\b",
        "a*b",
        "a<b",
        "a>b",
        "a\tb",
        "",
    ] {
        assert_eq!(req(k, "v").unwrap_err().code, "InvalidTagKey", "{k:?}");
    }
    assert_eq!(req(&"k".repeat(37), "v").unwrap_err().code, "InvalidTagKey");
    for v in ["a=b", "a,b", "a|b", "a\\b", "a*b", "a<b", "a>b", "a\nb"] {
        let e = req("team", v).unwrap_err();
        assert_eq!(e.code, "InvalidTagValue", "{v:?}");
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
    }
}

#[test]
fn at_most_ten_server_tags() {
    let mut req = minimal_request();
    for i in 0..9 {
        req.tags.insert(format!("k{i}"), "v".into());
    }
    assert!(
        wire::create_body(&req, "tok", "p1", None).is_ok(),
        "9 tags + the token tag"
    );
    req.tags.insert("k9".into(), "v".into());
    let e = wire::create_body(&req, "tok", "p1", None).unwrap_err();
    assert_eq!(e.code, "TooManyTags", "{e}");
}

#[test]
fn renewed_token_is_a_uuid_stable_within_a_four_hour_window() {
    use std::time::{Duration, UNIX_EPOCH};
    let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
    let t0 = 1_800_000_000 / 14_400 * 14_400;
    let a = renewed_token("tok", at(t0));
    assert!(token::is_uuid(&a), "{a}");
    assert_eq!(a, renewed_token("tok", at(t0 + 14_399)));
    assert_ne!(a, renewed_token("tok", at(t0 + 14_400)));
    assert_ne!(a, renewed_token("tok2", at(t0)));
    assert_ne!(a, token::uuid_for("tok"));
}

#[test]
fn flavor_sale_status() {
    let f: wire::FlavorItem = serde_json::from_value(json!({
        "id": "s6.large.2", "vcpus": "2", "ram": 4096,
        "os_extra_specs": {"cond:operation:status": "normal",
                           "cond:operation:az": "cn-north-4a(sellout),cn-north-4b(normal)"}
    }))
    .unwrap();
    assert!(flavor_on_sale(&f, None));
    assert!(!flavor_on_sale(&f, Some("cn-north-4a")));
    assert!(flavor_on_sale(&f, Some("cn-north-4b")));
    assert_eq!(f.family(), "s6");
}

/// changeos takes `adminpass` or `keyname`, not both (SDK
/// huaweicloudsdkecs/v2/model/change_server_os_with_cloud_init_option.py `adminpass`:
/// "adminpass和keyname不能同时有值"; API ecs_02_0202): refused before any request (the
/// client has no endpoint reachable here, so reaching the network would fail differently).
#[tokio::test]
async fn changeos_with_both_password_and_key_is_refused_before_sending() {
    let req = ReinstallRequest {
        image_id: "img".into(),
        login: Login {
            key_ids: vec!["kp-1".into()],
            password: Some(SecretString::new("Passw0rd!x")),
            keep_image_login: false,
        },
        system_disk_size_gb: None,
        hostname: None,
    };
    let e = client()
        .reinstall("cn-north-4", "srv", &req)
        .await
        .unwrap_err();
    assert_eq!(e.code, "ReinstallLoginConflict", "{e}");
    assert!(e.message.contains("not both"), "{e}");
}

/// Huawei security group ids are UUIDs of existing groups ("需要指定已有安全组的ID，UUID格式",
/// SDK huaweicloudsdkecs/v2/model/post_paid_server_security_group.py `id`): a name is
/// refused before any request, at create and on a change (with a rename in the same change
/// not applied: the client has no endpoint reachable here), naming the spec field.
#[tokio::test]
async fn security_group_names_are_refused_before_sending() {
    let mut req = minimal_request();
    req.network.security_group_ids = vec![
        "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c01".into(),
        "default".into(),
    ];
    let e = wire::create_body(&req, "tok", "p1", None).unwrap_err();
    assert_eq!(e.code, "InvalidSecurityGroupId", "{e}");
    assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    assert!(e.message.contains("spec.network.securityGroupIds"), "{e}");
    assert!(e.message.contains("`default`"), "{e}");
    req.network.security_group_ids = vec!["6A7B8C9D-0E1F-4A2B-8C3D-4E5F6A7B8C01".into()];
    assert!(wire::create_body(&req, "tok", "p1", None).is_ok());

    let change = Modification {
        name: Some("web-2".into()),
        security_group_ids: Some(vec!["sg-web".into()]),
    };
    let e = client()
        .modify_instance("cn-north-4", "srv", &change)
        .await
        .unwrap_err();
    assert_eq!(e.code, "InvalidSecurityGroupId", "{e}");
    assert!(e.message.contains("sg-web"), "{e}");
}
