//! TagResources / UntagResources / ListTagResources rules (sources in `tagging.rs`).

use serde_json::Value;

use super::test_harness::H;

fn tags(h: &H, id: &str) -> Vec<(String, String)> {
    h.field(id, |i| {
        Value::Array(
            i.tags
                .iter()
                .map(|t| serde_json::json!([t.key, t.value]))
                .collect(),
        )
    })
    .as_array()
    .cloned()
    .unwrap_or_default()
    .into_iter()
    .map(|p| {
        (
            p[0].as_str().unwrap_or_default().to_string(),
            p[1].as_str().unwrap_or_default().to_string(),
        )
    })
    .collect()
}

fn owned(p: &[(String, String)]) -> Vec<(&str, &str)> {
    p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// `TagResources` for `ids` with `pairs` (Key, Value).
fn tag(h: &H, ids: &[&str], pairs: &[(&str, &str)]) -> String {
    let mut p: Vec<(String, String)> = vec![
        ("RegionId".into(), "cn-hangzhou".into()),
        ("ResourceType".into(), "instance".into()),
    ];
    for (n, id) in ids.iter().enumerate() {
        p.push((format!("ResourceId.{}", n + 1), id.to_string()));
    }
    for (n, (k, v)) in pairs.iter().enumerate() {
        p.push((format!("Tag.{}.Key", n + 1), k.to_string()));
        p.push((format!("Tag.{}.Value", n + 1), v.to_string()));
    }
    h.code("TagResources", &owned(&p))
}

#[test]
fn tag_resources_adds_and_overwrites() {
    let h = H::new();
    let a = h.run("PostPaid", "ecs.g7.large");
    let b = h.run("PostPaid", "ecs.g7.large");
    assert_eq!(tag(&h, &[&a, &b], &[("env", "prod"), ("team", "")]), "ok");
    assert_eq!(tag(&h, &[&a], &[("env", "dev")]), "ok");
    assert_eq!(
        tags(&h, &a),
        vec![("env".into(), "dev".into()), ("team".into(), String::new())]
    );
    assert_eq!(tags(&h, &b)[0], ("env".to_string(), "prod".to_string()));
}

#[test]
fn tag_resources_limits_and_key_value_rules() {
    let h = H::new();
    let a = h.run("PostPaid", "ecs.g7.large");
    let ids: Vec<String> = (0..51).map(|n| format!("i-{n:020}")).collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(tag(&h, &id_refs, &[("k", "v")]), "NumberExceed.ResourceIds");
    let many: Vec<(String, String)> = (0..21).map(|n| (format!("k{n}"), "v".into())).collect();
    assert_eq!(tag(&h, &[&a], &owned(&many)), "NumberExceed.Tags");
    assert_eq!(tag(&h, &[&a], &[]), "MissingParameter.Tags");
    assert_eq!(tag(&h, &[], &[("k", "v")]), "MissingParameter");
    assert_eq!(
        tag(&h, &[&a], &[("k", "1"), ("k", "2")]),
        "Duplicate.TagKey"
    );
    let long = "x".repeat(129);
    for bad in [
        "",
        "aliyun-x",
        "ACS:x",
        "a http://b",
        "https://x",
        long.as_str(),
    ] {
        assert_eq!(
            tag(&h, &[&a], &[(bad, "v")]),
            "InvalidTagKey.Malformed",
            "{bad}"
        );
    }
    assert_eq!(tag(&h, &[&a], &[(&"k".repeat(128), "v")]), "ok");
    for bad in ["acs:x", "see https://x", long.as_str()] {
        assert_eq!(
            tag(&h, &[&a], &[("k", bad)]),
            "InvalidTagValue.Malformed",
            "{bad}"
        );
    }
    assert_eq!(tag(&h, &[&a], &[("k", &"v".repeat(128))]), "ok");
    assert_eq!(
        tag(&h, &["i-doesnotexist"], &[("k", "v")]),
        "InvalidResourceId.NotFound"
    );
    // a key without its value (the SDK model: the value "cannot be null")
    assert_eq!(
        h.code(
            "TagResources",
            &[
                ("RegionId", "cn-hangzhou"),
                ("ResourceType", "instance"),
                ("ResourceId.1", &a),
                ("Tag.1.Key", "k")
            ]
        ),
        "InvalidTag.Mismatch"
    );
    let scope = |region: Option<&str>, kind: Option<&str>| {
        let mut p = vec![
            ("ResourceId.1", a.as_str()),
            ("Tag.1.Key", "k"),
            ("Tag.1.Value", "v"),
        ];
        if let Some(r) = region {
            p.push(("RegionId", r));
        }
        if let Some(k) = kind {
            p.push(("ResourceType", k));
        }
        h.code("TagResources", &p)
    };
    assert_eq!(scope(None, Some("instance")), "MissingParameter.RegionId");
    assert_eq!(
        scope(Some("cn-hangzhou"), None),
        "MissingParameter.ResourceType"
    );
    assert_eq!(
        scope(Some("cn-hangzhou"), Some("vm")),
        "InvalidResourceType.NotFound"
    );
    assert_eq!(
        scope(Some("cn-hangzhou"), Some("disk")),
        "InvalidResourceId.NotFound"
    );
    assert_eq!(
        scope(Some("xx-nowhere"), Some("instance")),
        "InvalidRegionId.NotFound"
    );
    // the instance lives in cn-hangzhou: another region does not hold it
    assert_eq!(
        scope(Some("cn-beijing"), Some("instance")),
        "InvalidResourceId.NotFound"
    );
}

/// At most 20 tags per resource: a call that would pass it changes nothing.
#[test]
fn per_resource_tag_quota() {
    let h = H::new();
    let a = h.run("PostPaid", "ecs.g7.large");
    let b = h.run("PostPaid", "ecs.g7.large");
    let twenty: Vec<(String, String)> = (0..20).map(|n| (format!("k{n}"), "v".into())).collect();
    assert_eq!(tag(&h, &[&a], &owned(&twenty)), "ok");
    assert_eq!(tag(&h, &[&a], &[("k0", "new")]), "ok");
    assert_eq!(
        tag(&h, &[&b, &a], &[("extra", "v")]),
        "OperationDenied.QuotaExceed"
    );
    assert!(tags(&h, &b).is_empty(), "all or nothing");
    assert_eq!(tags(&h, &a).len(), 20);
}

#[test]
fn untag_resources_rules() {
    let h = H::new();
    let a = h.run("PostPaid", "ecs.g7.large");
    assert_eq!(tag(&h, &[&a], &[("a", "1"), ("b", "2"), ("c", "3")]), "ok");
    let untag = |extra: &[(&str, &str)]| {
        let mut p = vec![
            ("RegionId", "cn-hangzhou"),
            ("ResourceType", "instance"),
            ("ResourceId.1", a.as_str()),
        ];
        p.extend_from_slice(extra);
        h.code("UntagResources", &p)
    };
    assert_eq!(untag(&[("TagKey.1", "a"), ("TagKey.2", "zz")]), "ok");
    assert_eq!(tags(&h, &a).len(), 2);
    assert_eq!(untag(&[]), "MissingParameter.Tags");
    // All applies only without TagKey.N
    assert_eq!(untag(&[("TagKey.1", "b"), ("All", "true")]), "ok");
    assert_eq!(tags(&h, &a), vec![("c".to_string(), "3".to_string())]);
    assert_eq!(untag(&[("All", "true")]), "ok");
    assert!(tags(&h, &a).is_empty());
    let keys: Vec<(String, String)> = (1..=21)
        .map(|n| (format!("TagKey.{n}"), "k".into()))
        .collect();
    assert_eq!(untag(&owned(&keys)), "NumberExceed.Tags");
}

#[test]
fn list_tag_resources_filters_and_pages_with_next_token() {
    let h = H::new();
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(h.run("PostPaid", "ecs.g7.large"));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    // 12 instances × 5 tags = 60 rows: two pages
    let five: Vec<(String, String)> = (0..5).map(|n| (format!("k{n}"), format!("v{n}"))).collect();
    assert_eq!(tag(&h, &refs, &owned(&five)), "ok");
    assert_eq!(tag(&h, &refs[..2], &[("env", "production")]), "ok");
    let list = |extra: &[(&str, &str)]| {
        let mut p = vec![("RegionId", "cn-hangzhou"), ("ResourceType", "instance")];
        p.extend_from_slice(extra);
        h.call("ListTagResources", &p)
    };
    let mut seen = 0;
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut p = vec![("Tag.1.Key", "k0")];
        if let Some(t) = &token {
            p.push(("NextToken", t.as_str()));
        }
        let out = list(&p).expect("list");
        pages += 1;
        seen += out["TagResources"]["TagResource"].as_array().unwrap().len();
        let next = out["NextToken"].as_str().unwrap_or_default().to_string();
        if next.is_empty() {
            break;
        }
        token = Some(next);
    }
    assert_eq!((pages, seen), (2, 62));
    let out = list(&[("Tag.1.Key", "env"), ("Tag.1.Value", "production")]).unwrap();
    let rows = out["TagResources"]["TagResource"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), 12, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r["ResourceId"] == ids[0] || r["ResourceId"] == ids[1])
    );
    assert_eq!(rows[0]["ResourceType"], "instance");
    let out = list(&[("ResourceId.1", &ids[5])]).unwrap();
    assert_eq!(
        out["TagResources"]["TagResource"].as_array().unwrap().len(),
        5
    );
    let out = list(&[("TagFilter.1.TagKey", "en*")]).unwrap();
    assert_eq!(
        out["TagResources"]["TagResource"].as_array().unwrap().len(),
        12
    );
    let out = list(&[
        ("TagFilter.1.TagKey", "env"),
        ("TagFilter.1.TagValues.1", "*duct*"),
    ])
    .unwrap();
    assert_eq!(
        out["TagResources"]["TagResource"].as_array().unwrap().len(),
        12
    );
    let code = |extra: &[(&str, &str)]| {
        list(extra)
            .map(|_| "ok".to_string())
            .unwrap_or_else(|e| e.code)
    };
    assert_eq!(code(&[]), "MissingParameter.Tags");
    assert_eq!(code(&[("Tag.1.Value", "x")]), "InvalidParameter.TagValue");
    assert_eq!(
        code(&[("Tag.1.Key", "a"), ("TagFilter.1.TagKey", "a")]),
        "InvalidParameter"
    );
    assert_eq!(
        code(&[("Tag.1.Key", "a"), ("NextToken", "garbage")]),
        "InvalidParameter"
    );
    assert_eq!(
        code(&[("Tag.1.Key", "a"), ("MaxResults", "10")]),
        "UnsupportedParameter"
    );
}
