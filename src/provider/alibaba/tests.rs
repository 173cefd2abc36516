//! Unit tests of the Alibaba client that need no server.

use super::*;

#[test]
fn endpoint_override_and_default() {
    let creds = Credentials {
        access_key_id: "id".into(),
        secret: SecretString::new("s"),
        project_id: None,
    };
    let c = AlibabaClient::new(ClientConfig::new(creds.clone())).unwrap();
    assert_eq!(
        c.endpoint(Some("cn-beijing")),
        "https://ecs.cn-beijing.aliyuncs.com"
    );
    assert_eq!(c.endpoint(None), "https://ecs.aliyuncs.com");
    let mut cfg = ClientConfig::new(creds);
    cfg.trust_endpoint("http://127.0.0.1:4566/".into());
    let c = AlibabaClient::new(cfg).unwrap();
    assert_eq!(c.endpoint(Some("cn-beijing")), "http://127.0.0.1:4566");
}

#[test]
fn batch_limit_enforced_locally() {
    let ids: Vec<String> = (0..101).map(|i| format!("i-{i}")).collect();
    assert_eq!(
        check_batch(&ids).unwrap_err().code,
        "TooManyInstanceIds".to_string()
    );
    assert!(check_batch(&ids[..100]).is_ok());
}

#[test]
fn host_header_names_a_port_only_when_it_is_not_the_default() {
    assert_eq!(
        host_header("https://ecs.cn-beijing.aliyuncs.com").unwrap(),
        "ecs.cn-beijing.aliyuncs.com"
    );
    assert_eq!(
        host_header("https://ecs.aliyuncs.com:443").unwrap(),
        "ecs.aliyuncs.com"
    );
    assert_eq!(
        host_header("http://127.0.0.1:4566").unwrap(),
        "127.0.0.1:4566"
    );
    assert!(host_header("not a url").is_err());
}

#[test]
fn timestamp_format() {
    let t = utc_timestamp();
    assert_eq!(t.len(), 20, "{t}");
    assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
}

/// Duplicate security groups are refused before anything is sent (the SDK model: "The
/// security group IDs in the array must be unique").
#[tokio::test]
async fn duplicate_security_groups_are_refused_locally() {
    let creds = Credentials {
        access_key_id: "id".into(),
        secret: SecretString::new("s"),
        project_id: None,
    };
    let mut cfg = ClientConfig::new(creds);
    // nothing listens there: a request would fail with a transport error
    cfg.trust_endpoint("http://127.0.0.1:9/".into());
    let c = AlibabaClient::new(cfg).unwrap();
    let change = Modification {
        security_group_ids: Some(vec!["sg-aa".into(), "sg-bb".into(), "sg-aa".into()]),
        ..Default::default()
    };
    let e = c
        .modify_instance("cn-hangzhou", "i-1", &change)
        .await
        .unwrap_err();
    assert_eq!(e.code, "InvalidParameter", "{e}");
    assert!(e.message.contains("sg-aa"), "{e}");
}
