//! One test per group of documented ECS request rules the emulator enforces
//! (docs/provider-contract.md Huawei §3 create, §6 batch actions, §8 list, §11 resize,
//! §12 update; sources there): each request is valid but for the one thing the rule
//! forbids, and gets the documented error.

use serde_json::{Value, json};

use super::actions::{self, Ctx};
use super::{HwError, Op};
use crate::app::AppState;
use crate::config::{
    Accounts, Delays, HUAWEI_DEMO_KEY_ID, HUAWEI_DEMO_PROJECT, Provider, Settings,
};
use crate::store::{Store, now_ms};

fn app() -> AppState {
    let settings = Settings {
        transition_delays_ms: Delays::uniform(0),
        rate_limit_enabled: false,
        ..Settings::default()
    };
    AppState::new(Accounts::demo(), settings, Store::new(), None)
}

fn run(app: &AppState, op: Op, body: &Value, query: &[(&str, &str)]) -> Result<Value, HwError> {
    let accounts = Accounts::demo();
    let account = accounts
        .find(Provider::Huawei, HUAWEI_DEMO_KEY_ID)
        .unwrap()
        .clone();
    let bytes = serde_json::to_vec(body).unwrap();
    let query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ctx = Ctx {
        app,
        account: &account,
        project: HUAWEI_DEMO_PROJECT,
        region: "cn-north-4",
        query: &query,
        body: &bytes,
        client_token: None,
        request_id: "req",
        now: now_ms(),
        launch_failed: false,
    };
    actions::run(&op, &ctx).map(|a| a.body.unwrap_or(json!({"status": a.status})))
}

fn code(r: Result<Value, HwError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{} {}", e.status, e.code),
    }
}

fn server() -> Value {
    json!({
        "imageRef": "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61",
        "flavorRef": "s6.medium.2",
        "name": "rules",
        "vpcid": "0f3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
        "nics": [{"subnet_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}],
        "root_volume": {"volumetype": "SSD", "size": 40},
        "availability_zone": "cn-north-4a",
        "adminPass": "Sdk-Passw0rd!",
    })
}

/// Create with `server` changed by `f`.
fn create_with(app: &AppState, f: impl FnOnce(&mut Value)) -> String {
    let mut s = server();
    f(&mut s);
    code(run(
        app,
        Op::CreateServers { v11: false },
        &json!({"server": s}),
        &[],
    ))
}

fn created(app: &AppState) -> String {
    let r = run(
        app,
        Op::CreateServers { v11: false },
        &json!({"server": server()}),
        &[],
    )
    .expect("create");
    r["serverIds"][0].as_str().unwrap().to_string()
}

const BAD: &str = "400 Ecs.0005";

#[test]
fn create_parameters_follow_the_models() {
    let app = app();
    assert_eq!(create_with(&app, |_| {}), "ok");
    // imageRef and flavorRef: required, known to the catalog
    assert_eq!(
        create_with(&app, |s| s["imageRef"] =
            json!("00000000-0000-4000-8000-000000000000")),
        BAD
    );
    assert_eq!(create_with(&app, |s| s["flavorRef"] = Value::Null), BAD);
    assert_eq!(
        create_with(&app, |s| s["flavorRef"] = json!("no.such.flavor")),
        BAD
    );
    // name: 1-64 characters of letters, digits, _ - . (59 when count > 1)
    assert_eq!(
        create_with(&app, |s| s["name"] = json!("a".repeat(65))),
        BAD
    );
    assert_eq!(create_with(&app, |s| s["name"] = json!("bad name")), BAD);
    assert_eq!(
        create_with(&app, |s| {
            s["name"] = json!("a".repeat(60));
            s["count"] = json!(2);
        }),
        BAD
    );
    // vpcid and nics required; at most 12 NICs, each with subnet_id or port_id
    assert_eq!(create_with(&app, |s| s["vpcid"] = Value::Null), BAD);
    assert_eq!(create_with(&app, |s| s["nics"] = json!([])), BAD);
    assert_eq!(create_with(&app, |s| s["nics"] = json!([{}])), BAD);
    let nics: Vec<Value> = (0..13)
        .map(|_| json!({"subnet_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}))
        .collect();
    assert_eq!(create_with(&app, |s| s["nics"] = json!(nics)), BAD);
    // root_volume required, a documented type, size in [1, 1024]
    assert_eq!(create_with(&app, |s| s["root_volume"] = Value::Null), BAD);
    assert_eq!(
        create_with(&app, |s| s["root_volume"] = json!({"volumetype": "FAST"})),
        BAD
    );
    assert_eq!(
        create_with(&app, |s| s["root_volume"]["size"] = json!(1025)),
        BAD
    );
    // data volumes: size in [10, 32768], at most 23
    assert_eq!(
        create_with(&app, |s| s["data_volumes"] =
            json!([{"volumetype": "SSD", "size": 9}])),
        BAD
    );
    let many: Vec<Value> = (0..24)
        .map(|_| json!({"volumetype": "SSD", "size": 10}))
        .collect();
    assert_eq!(create_with(&app, |s| s["data_volumes"] = json!(many)), BAD);
    // count in [1, 100]
    assert_eq!(create_with(&app, |s| s["count"] = json!(0)), BAD);
    assert_eq!(create_with(&app, |s| s["count"] = json!(101)), BAD);
    // login: password complexity (Ecs.0011); adminPass and key_name not both
    assert_eq!(
        create_with(&app, |s| s["adminPass"] = json!("password")),
        "400 Ecs.0011"
    );
    assert_eq!(create_with(&app, |s| s["key_name"] = json!("kp-1")), BAD);
    // at most 10 server tags
    let tags: Vec<Value> = (0..11)
        .map(|n| json!({"key": format!("k{n}"), "value": "v"}))
        .collect();
    assert_eq!(
        create_with(&app, |s| s["server_tags"] = json!(tags)),
        "400 Ecs.0905"
    );
    // publicip.eip.iptype: required, one of the EIP API's types
    let eip = |t: Value| {
        create_with(&app, move |s| {
            s["publicip"] = json!({"eip": {"iptype": t,
                "bandwidth": {"sharetype": "PER", "size": 5, "chargemode": "traffic"}}})
        })
    };
    assert_eq!(eip(json!("5_bgp")), "ok");
    assert_eq!(eip(json!("5_sbgp")), "ok");
    assert_eq!(eip(json!("5_bpg")), BAD);
    // a documented type the region (cn-north-4) does not offer
    assert_eq!(eip(json!("5_youxuanbgp")), BAD);
    assert_eq!(eip(json!("")), BAD);
    assert_eq!(eip(Value::Null), BAD);
    // user_data is Base64
    assert_eq!(
        create_with(&app, |s| s["user_data"] = json!("#!/bin/sh not base64")),
        BAD
    );
    // v1 chargingMode is the integer 0; spot is postpaid only (v1.1 prePaid + spot refused)
    assert_eq!(
        create_with(&app, |s| s["extendparam"] = json!({"chargingMode": 1})),
        BAD
    );
    let mut prepaid_spot = server();
    prepaid_spot["extendparam"] = json!({"chargingMode": "prePaid", "periodType": "month",
        "periodNum": 1, "isAutoPay": "true", "marketType": "spot"});
    let r = run(
        &app,
        Op::CreateServers { v11: true },
        &json!({"server": prepaid_spot}),
        &[],
    );
    assert_eq!(code(r), BAD);
    // prepaid needs periodType/periodNum (month 1-9)
    let mut no_period = server();
    no_period["extendparam"] = json!({"chargingMode": "prePaid", "isAutoPay": "true"});
    let r = run(
        &app,
        Op::CreateServers { v11: true },
        &json!({"server": no_period}),
        &[],
    );
    assert_eq!(code(r), BAD);
    // dry_run: 202, nothing created
    let r = run(
        &app,
        Op::CreateServers { v11: false },
        &json!({"server": server(), "dry_run": true}),
        &[],
    )
    .expect("dry run");
    assert_eq!(r, json!({}));
}

#[test]
fn batch_actions_check_type_limit_and_state() {
    let app = app();
    let id = created(&app);
    let one = json!([{"id": id}]);
    // reboot needs type SOFT or HARD; os-stop type optional but SOFT or HARD
    let r = run(
        &app,
        Op::ServerAction,
        &json!({"reboot": {"servers": one}}),
        &[],
    );
    assert_eq!(code(r), BAD);
    let r = run(
        &app,
        Op::ServerAction,
        &json!({"os-stop": {"type": "GENTLE", "servers": one}}),
        &[],
    );
    assert_eq!(code(r), BAD);
    // at most 1000 servers per call
    let many: Vec<Value> = (0..1001)
        .map(|n| json!({"id": format!("00000000-0000-4000-8000-{n:012}")}))
        .collect();
    let r = run(
        &app,
        Op::ServerAction,
        &json!({"os-start": {"servers": many}}),
        &[],
    );
    assert_eq!(code(r), BAD);
    // start from SHUTOFF only: Ecs.0100 with HTTP 400
    let r = run(
        &app,
        Op::ServerAction,
        &json!({"os-start": {"servers": one}}),
        &[],
    );
    assert_eq!(code(r), "400 Ecs.0100");
    let r = run(
        &app,
        Op::ServerAction,
        &json!({"os-stop": {"servers": one}}),
        &[],
    );
    assert_eq!(code(r), "ok");
    // an unknown server: Ecs.0114 (404)
    let r = run(
        &app,
        Op::ServerAction,
        &json!({"os-stop": {"servers": [{"id": "00000000-0000-4000-8000-000000000000"}]}}),
        &[],
    );
    assert_eq!(code(r), "404 Ecs.0114");
}

#[test]
fn list_pages_by_page_number_and_checks_limit_and_status() {
    let app = app();
    let ids: Vec<String> = (0..3).map(|_| created(&app)).collect();
    let page = |offset: &str| {
        run(
            &app,
            Op::ListServersDetails,
            &Value::Null,
            &[("limit", "2"), ("offset", offset)],
        )
        .expect("list")
    };
    let (p1, p2) = (page("1"), page("2"));
    assert_eq!(p1["count"], 3);
    assert_eq!(p1["servers"].as_array().unwrap().len(), 2);
    assert_eq!(p2["servers"].as_array().unwrap().len(), 1);
    // offset 0 is the first page
    assert_eq!(page("0")["servers"], p1["servers"]);
    let mut seen: Vec<String> = p1["servers"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["servers"].as_array().unwrap())
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(seen, want);
    let r = run(
        &app,
        Op::ListServersDetails,
        &Value::Null,
        &[("limit", "1001")],
    );
    assert_eq!(code(r), BAD);
    let r = run(
        &app,
        Op::ListServersDetails,
        &Value::Null,
        &[("status", "RUNNING")],
    );
    assert_eq!(code(r), BAD);
    // server_id: unknown ids come back with only id and fault
    let q = format!("{},00000000-0000-4000-8000-000000000000", ids[0]);
    let r = run(
        &app,
        Op::ListServersDetails,
        &Value::Null,
        &[("server_id", &q)],
    )
    .unwrap();
    let unknown = r["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "00000000-0000-4000-8000-000000000000")
        .cloned()
        .expect("the unknown id");
    assert!(
        unknown["status"].is_null() && unknown["fault"].is_object(),
        "{unknown}"
    );
}

#[test]
fn resize_needs_another_flavor_and_a_stopped_server() {
    let app = app();
    let id = created(&app);
    let resize = |flavor: &str, mode: Option<&str>| {
        let mut o = json!({"flavorRef": flavor});
        if let Some(m) = mode {
            o["mode"] = json!(m);
        }
        code(run(
            &app,
            Op::Resize(id.clone()),
            &json!({"resize": o}),
            &[],
        ))
    };
    assert_eq!(
        resize("s6.medium.2", Some("withStopServer")),
        "400 Ecs.0009"
    );
    assert_eq!(resize("no.such.flavor", None), BAD);
    // running, without withStopServer: Ecs.0100
    assert_eq!(resize("s6.large.2", None), "400 Ecs.0100");
    assert_eq!(resize("s6.large.2", Some("withStopServer")), "ok");
}

#[test]
fn update_checks_name_and_hostname() {
    let app = app();
    let id = created(&app);
    let update = |server: Value| {
        code(run(
            &app,
            Op::UpdateServer(id.clone()),
            &json!({"server": server}),
            &[],
        ))
    };
    assert_eq!(update(json!({"name": "a".repeat(65)})), BAD);
    assert_eq!(update(json!({"hostname": "-bad"})), BAD);
    assert_eq!(update(json!({"description": "<b>"})), BAD);
    assert_eq!(
        update(json!({"name": "renamed", "hostname": "web-1"})),
        "ok"
    );
}

/// Names of the servers a create made.
fn names_of(app: &AppState, created: &Value) -> Vec<String> {
    created["serverIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            let id = id.as_str().unwrap().to_string();
            let s = run(app, Op::ShowServer(id), &json!({}), &[]).expect("show");
            s["server"]["name"].as_str().unwrap().to_string()
        })
        .collect()
}

/// isAutoRename (count > 1) says whether the servers may share the name, default true
/// (SDK post_paid_server.py `is_auto_rename` "True，表示允许重名"; ECS FAQ ecs_faq_0620
/// "Allow duplicate name ... the created ECSs will have the same name"); false gives each
/// a "-0001"-style suffix.
#[test]
fn is_auto_rename_true_keeps_one_name_false_numbers_them() {
    let app = app();
    let create = |rename: Option<bool>| {
        let mut s = server();
        s["count"] = json!(3);
        if let Some(r) = rename {
            s["isAutoRename"] = json!(r);
        }
        let r = run(
            &app,
            Op::CreateServers { v11: false },
            &json!({"server": s}),
            &[],
        )
        .expect("create");
        names_of(&app, &r)
    };
    assert_eq!(create(None), vec!["rules"; 3]);
    assert_eq!(create(Some(true)), vec!["rules"; 3]);
    assert_eq!(
        create(Some(false)),
        vec!["rules-0001", "rules-0002", "rules-0003"]
    );
}

/// Server tags (SDK post_paid_server_tag.py; API 错误码): more than 10 is Ecs.0905, a key
/// of 0 or more than 36 characters or a value of more than 43 is Ecs.0906, a forbidden
/// character (ASCII 0-31, `= * < > \ , |`, and `/` in a key) is Ecs.0907, a repeated key
/// Ecs.0908.
#[test]
fn server_tags_follow_the_character_rules_with_their_codes() {
    let app = app();
    let tag = |k: &str, v: &str| {
        let (k, v) = (k.to_string(), v.to_string());
        create_with(&app, move |s| {
            s["server_tags"] = json!([{"key": k, "value": v}])
        })
    };
    assert_eq!(tag("env", "prod"), "ok");
    assert_eq!(tag(&"k".repeat(36), &"v".repeat(43)), "ok");
    assert_eq!(tag("环境", "生产"), "ok");
    assert_eq!(tag("env", ""), "ok");
    assert_eq!(tag("", "v"), "400 Ecs.0906");
    assert_eq!(tag(&"k".repeat(37), "v"), "400 Ecs.0906");
    assert_eq!(tag("env", &"v".repeat(44)), "400 Ecs.0906");
    for bad in ["=", "*", "<", ">", "\\", ",", "|", "/", "\u{1}"] {
        assert_eq!(tag(&format!("a{bad}b"), "v"), "400 Ecs.0907", "key {bad:?}");
    }
    for bad in ["=", "*", "<", ">", "\\", ",", "|", "\n"] {
        assert_eq!(
            tag("env", &format!("a{bad}b")),
            "400 Ecs.0907",
            "value {bad:?}"
        );
    }
    // `/` is forbidden in keys only
    assert_eq!(tag("env", "a/b"), "ok");
    assert_eq!(
        create_with(&app, |s| s["server_tags"] =
            json!([{"key": "env", "value": "a"}, {"key": "env", "value": "b"}])),
        "400 Ecs.0908"
    );
}

/// metadata (SDK post_paid_server.py `metadata`): at most 10 pairs, keys of 1-255
/// characters `A-Z a-z 0-9 - _ : .`, values of at most 255; Ecs.0005 (no specific code).
#[test]
fn metadata_has_at_most_ten_pairs_of_documented_keys_and_values() {
    let app = app();
    let meta = |m: Value| create_with(&app, move |s| s["metadata"] = m);
    let ten: serde_json::Map<String, Value> =
        (0..10).map(|n| (format!("k{n}"), json!("v"))).collect();
    assert_eq!(meta(Value::Object(ten.clone())), "ok");
    let mut eleven = ten;
    eleven.insert("k10".into(), json!("v"));
    assert_eq!(meta(Value::Object(eleven)), BAD);
    assert_eq!(meta(json!({"A-z_0:9.x": "v".repeat(255)})), "ok");
    assert_eq!(meta(json!({"__support_agent_list": "hss,ces"})), "ok");
    assert_eq!(meta(json!({ "k".repeat(255): "v" })), "ok");
    assert_eq!(meta(json!({ "k".repeat(256): "v" })), BAD);
    assert_eq!(meta(json!({"": "v"})), BAD);
    assert_eq!(meta(json!({"a b": "v"})), BAD);
    assert_eq!(meta(json!({"a/b": "v"})), BAD);
    assert_eq!(meta(json!({"k": "v".repeat(256)})), BAD);
    assert_eq!(meta(json!({"k": 1})), BAD);
    assert_eq!(meta(json!(["k"])), BAD);
}

/// The NICs' subnets belong to `vpcid` and a fixed `ip_address` lies in its subnet and is
/// free (SDK post_paid_server.py `nics`, post_paid_server_nic.py `ip_address`; codes of API
/// ecs_07_0002; the Ecs.0005 + `details` Ecs.0039 body of the create pages' 响应示例), for
/// the subnets of the emulator's catalog (`catalog::SUBNETS`).
#[test]
fn nics_belong_to_the_vpc_and_fixed_addresses_to_the_subnet() {
    let app = app();
    const OTHER_VPC: &str = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";
    const OTHER_SUBNET: &str = "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c";
    const SUBNET: &str = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    // the primary NIC's subnet in another VPC: Ecs.0064
    assert_eq!(
        create_with(&app, |s| s["vpcid"] = json!(OTHER_VPC)),
        "400 Ecs.0064"
    );
    // a secondary NIC's subnet in another VPC: Ecs.0014
    assert_eq!(
        create_with(&app, |s| s["nics"] =
            json!([{"subnet_id": SUBNET}, {"subnet_id": OTHER_SUBNET}])),
        "400 Ecs.0014"
    );
    // both in the other VPC: fine
    assert_eq!(
        create_with(&app, |s| {
            s["vpcid"] = json!(OTHER_VPC);
            s["nics"] = json!([{"subnet_id": OTHER_SUBNET, "ip_address": "192.168.0.10"}]);
        }),
        "ok"
    );
    // an address outside the subnet: Ecs.0005 with details Ecs.0039, the documented body
    let mut s = server();
    s["vpcid"] = json!(OTHER_VPC);
    s["nics"] = json!([{"subnet_id": OTHER_SUBNET, "ip_address": "10.1.2.3"}]);
    let e = run(
        &app,
        Op::CreateServers { v11: false },
        &json!({"server": s}),
        &[],
    )
    .unwrap_err();
    let body = super::error_body(&e, "req");
    assert_eq!(e.status, 400);
    assert_eq!(
        body,
        json!({"error": {
            "code": "Ecs.0005",
            "message": format!("privateIp [10.1.2.3] is not in this subnet [{OTHER_SUBNET}]"),
            "details": [{"code": "Ecs.0039"}],
        }})
    );
    // without details the body keeps the two-member shape
    let plain = super::error_body(&HwError::invalid("x"), "req");
    assert_eq!(
        plain,
        json!({"error": {"code": "Ecs.0005", "message": "x"}})
    );
    // the address taken by the server above: Ecs.0010; not an address: Ecs.0005
    assert_eq!(
        create_with(&app, |s| {
            s["vpcid"] = json!(OTHER_VPC);
            s["nics"] = json!([{"subnet_id": OTHER_SUBNET, "ip_address": "192.168.0.10"}]);
        }),
        "400 Ecs.0010"
    );
    assert_eq!(
        create_with(&app, |s| s["nics"] =
            json!([{"subnet_id": SUBNET, "ip_address": "10.0.0.300"}])),
        BAD
    );
}

/// A NIC's subnet must exist in the region (a closed catalog, `catalog::SUBNETS`): an unknown
/// id, or a subnet of another region, is Ecs.0038 "The subnet does not exist." (API
/// ecs_07_0002), on the primary NIC and on any other; a port given instead is not checked.
#[test]
fn a_nic_subnet_must_exist_in_the_region() {
    let app = app();
    // ap-southeast-1's subnet, named in cn-north-4
    const ELSEWHERE: &str = "2c8e5a71-4b3d-4f69-a1e0-7d9c6b5a4e31";
    const SUBNET: &str = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    assert_eq!(
        create_with(&app, |s| s["nics"] = json!([{"subnet_id": "s"}])),
        "400 Ecs.0038"
    );
    assert_eq!(
        create_with(&app, |s| s["nics"] =
            json!([{"subnet_id": "00000000-0000-4000-8000-000000000000"}])),
        "400 Ecs.0038"
    );
    assert_eq!(
        create_with(&app, |s| s["nics"] = json!([{"subnet_id": ELSEWHERE}])),
        "400 Ecs.0038"
    );
    assert_eq!(
        create_with(&app, |s| s["nics"] =
            json!([{"subnet_id": SUBNET}, {"subnet_id": ELSEWHERE}])),
        "400 Ecs.0038"
    );
    assert_eq!(
        create_with(&app, |s| s["nics"] = json!([{"subnet_id": SUBNET}])),
        "ok"
    );
}

/// EIP types per region (EIP API eip_api_0001 `publicip.type`): 西南-贵阳一 (cn-southwest-2)
/// offers static BGP only, 中国-香港 (ap-southeast-1) 5_bgp and 5_youxuanbgp; a region the
/// pages do not list accepts any documented type.
#[test]
fn the_eip_type_must_be_one_the_region_offers() {
    let app = app();
    let accounts = Accounts::demo();
    let account = accounts
        .find(Provider::Huawei, HUAWEI_DEMO_KEY_ID)
        .unwrap()
        .clone();
    let create = |region: &str, iptype: &str| {
        let project = super::projects::project_of(&account, region).expect("project");
        let mut s = server();
        s["availability_zone"] = json!(format!("{region}a"));
        let net = super::catalog::SUBNETS
            .iter()
            .find(|n| n.region == region)
            .expect("a subnet of the region");
        s["vpcid"] = json!(net.vpc_id);
        s["nics"] = json!([{"subnet_id": net.id}]);
        s["publicip"] = json!({"eip": {"iptype": iptype,
            "bandwidth": {"sharetype": "PER", "size": 5, "chargemode": "traffic"}}});
        let bytes = serde_json::to_vec(&json!({"server": s})).unwrap();
        let ctx = Ctx {
            app: &app,
            account: &account,
            project: &project,
            region,
            query: &[],
            body: &bytes,
            client_token: None,
            request_id: "req",
            now: now_ms(),
            launch_failed: false,
        };
        code(actions::run(&Op::CreateServers { v11: false }, &ctx).map(|_| json!({})))
    };
    assert_eq!(create("cn-southwest-2", "5_bgp"), BAD);
    assert_eq!(create("cn-southwest-2", "5_sbgp"), "ok");
    assert_eq!(create("ap-southeast-1", "5_youxuanbgp"), "ok");
    assert_eq!(create("ap-southeast-1", "5_sbgp"), BAD);
    assert_eq!(create("ap-southeast-3", "5_sbgp"), BAD);
    assert_eq!(create("tr-west-1", "5_sbgp"), "ok");
}

/// Security groups are UUIDs of existing groups of the region (`catalog::SECURITY_GROUPS`,
/// each region's `default`): at create an unknown, malformed or other-region group is
/// Ecs.0014 (API ecs_07_0002, the code naming security group parameter values); without
/// groups the server is in the region's `default` group. On a port (VPC v3
/// insert/remove-security-groups) a group that is not a UUID is 400 VPC.0601 and an unknown
/// one 404 VPC.0603 (VPC error table vpc_api_0003, 查询安全组), and nothing changes.
#[test]
fn security_groups_must_exist_in_the_region() {
    let app = app();
    const APP: &str = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c01";
    const DB: &str = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c02";
    // ap-southeast-1's group, named in cn-north-4
    const ELSEWHERE: &str = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b01";
    const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";
    for bad in ["sg-a", UNKNOWN, ELSEWHERE] {
        assert_eq!(
            create_with(&app, |s| s["security_groups"] =
                json!([{"id": APP}, {"id": bad}])),
            "400 Ecs.0014",
            "{bad}"
        );
    }
    assert_eq!(
        create_with(&app, |s| s["security_groups"] = json!([{"id": APP}])),
        "ok"
    );
    // without groups: the region's default group, by id and name
    let id = created(&app);
    let shown = run(&app, Op::ShowServer(id.clone()), &json!({}), &[]).unwrap();
    let groups = &shown["server"]["security_groups"];
    assert_eq!(groups[0]["name"], "default", "{groups}");
    assert_eq!(
        groups[0]["id"],
        super::catalog::default_security_group("cn-north-4")
    );
    let port = shown["server"]["addresses"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()[0]["OS-EXT-IPS:port_id"]
        .as_str()
        .unwrap()
        .to_string();
    let insert = |groups: Value| {
        code(run(
            &app,
            Op::AddSecurityGroups(port.clone()),
            &json!({"port": {"security_groups": groups}}),
            &[],
        ))
    };
    let remove = |groups: Value| {
        code(run(
            &app,
            Op::RemoveSecurityGroups(port.clone()),
            &json!({"port": {"security_groups": groups}}),
            &[],
        ))
    };
    assert_eq!(insert(json!([APP, "sg-b"])), "400 VPC.0601");
    assert_eq!(insert(json!([APP, UNKNOWN])), "404 VPC.0603");
    assert_eq!(insert(json!([ELSEWHERE])), "404 VPC.0603");
    assert_eq!(remove(json!([UNKNOWN])), "404 VPC.0603");
    assert_eq!(remove(json!(["sg-b"])), "400 VPC.0601");
    let shown = run(&app, Op::ShowServer(id.clone()), &json!({}), &[]).unwrap();
    assert_eq!(
        shown["server"]["security_groups"].as_array().unwrap().len(),
        1
    );
    assert_eq!(insert(json!([APP, DB])), "ok");
    assert_eq!(remove(json!([APP])), "ok");
    let shown = run(&app, Op::ShowServer(id), &json!({}), &[]).unwrap();
    let names: Vec<&str> = shown["server"]["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "db"]);
}

/// Flavor families that cannot switch (API ecs_07_0002, `catalog::resize_refusal`), on the
/// postpaid `/v1/…/resize` and the `/v1.1/…/resize` alike: an H2 server (and H2 as a target)
/// Ecs.0806; large-memory ↔ general Ecs.0805; KVM → QingTian (s6 → c7/m7) Ecs.0812, the
/// driver check; QingTian → KVM Ecs.0804. Within a family, and QingTian ↔ QingTian, a resize
/// goes through.
#[test]
fn resize_refuses_the_documented_flavor_switches() {
    let app = app();
    let server_of = |flavor: &str| {
        let mut s = server();
        s["flavorRef"] = json!(flavor);
        let r = run(
            &app,
            Op::CreateServers { v11: false },
            &json!({"server": s}),
            &[],
        )
        .expect("create");
        r["serverIds"][0].as_str().unwrap().to_string()
    };
    let resize = |v11: bool, from: &str, to: &str| {
        let id = server_of(from);
        let op = if v11 {
            Op::ResizeV11(id)
        } else {
            Op::Resize(id)
        };
        code(run(
            &app,
            op,
            &json!({"resize": {"flavorRef": to, "mode": "withStopServer"}}),
            &[],
        ))
    };
    for v11 in [false, true] {
        assert_eq!(resize(v11, "h2.3xlarge.10", "s6.large.2"), "400 Ecs.0806");
        assert_eq!(resize(v11, "s6.large.2", "h2.3xlarge.10"), "400 Ecs.0806");
        assert_eq!(resize(v11, "e3.7xlarge.12", "s6.xlarge.2"), "400 Ecs.0805");
        assert_eq!(resize(v11, "s6.xlarge.2", "e3.7xlarge.12"), "400 Ecs.0805");
        assert_eq!(resize(v11, "m7.large.8", "e3.7xlarge.12"), "400 Ecs.0805");
        assert_eq!(resize(v11, "s6.large.2", "c7.large.2"), "400 Ecs.0812");
        assert_eq!(resize(v11, "s6.large.2", "m7.large.8"), "400 Ecs.0812");
        assert_eq!(resize(v11, "c7.large.2", "s6.large.2"), "400 Ecs.0804");
        assert_eq!(resize(v11, "e3.7xlarge.12", "e3.14xlarge.12"), "ok");
        assert_eq!(resize(v11, "c7.large.2", "m7.large.8"), "ok");
        assert_eq!(resize(v11, "s6.large.2", "s6.xlarge.2"), "ok");
    }
}

/// `GET /v1/{project_id}/cloudservers/resize_flavors` (API 查询云服务器规格变更支持列表) lists
/// the targets the resize APIs accept (`catalog::resize_refusal`): by `instance_uuid`
/// (first), `source_flavor_id` or `source_flavor_name`, one of them required; and every
/// flavor it lists for a server is one the resize accepts.
#[test]
fn resize_flavors_lists_the_targets_the_resize_accepts() {
    let app = app();
    let ids = |query: &[(&str, &str)]| -> Vec<String> {
        run(&app, Op::ListResizeFlavors, &json!({}), query).unwrap()["flavors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&[("source_flavor_id", "c7.large.2")]),
        ["c7.xlarge.2", "m7.large.8"]
    );
    assert_eq!(
        ids(&[("source_flavor_name", "e3.7xlarge.12")]),
        ["e3.14xlarge.12"]
    );
    assert!(ids(&[("source_flavor_id", "h2.3xlarge.10")]).is_empty());
    assert_eq!(
        ids(&[
            ("source_flavor_id", "s6.large.2"),
            ("sort_dir", "desc"),
            ("limit", "2")
        ]),
        ["s6.xlarge.2", "s6.small.1"]
    );
    assert_eq!(
        ids(&[
            ("source_flavor_id", "s6.large.2"),
            ("marker", "s6.medium.2")
        ]),
        ["s6.small.1", "s6.xlarge.2"]
    );
    assert_eq!(code(run(&app, Op::ListResizeFlavors, &json!({}), &[])), BAD);
    // a server (s6.medium.2): its targets, each accepted by the resize
    let id = created(&app);
    let targets = ids(&[("instance_uuid", &id), ("source_flavor_id", "c7.large.2")]);
    assert_eq!(targets, ["s6.large.2", "s6.small.1", "s6.xlarge.2"]);
    for f in super::catalog::FLAVORS {
        let body = json!({"resize": {"flavorRef": f.id, "mode": "withStopServer"}});
        let r = code(run(&app, Op::ResizeV11(id.clone()), &body, &[]));
        if targets.iter().any(|t| t == f.id) {
            assert_eq!(r, "ok", "{}", f.id);
            // back to s6.medium.2 for the next flavor
            let back = json!({"resize": {"flavorRef": "s6.medium.2", "mode": "withStopServer"}});
            assert_eq!(code(run(&app, Op::ResizeV11(id.clone()), &back, &[])), "ok");
        } else {
            assert_ne!(r, "ok", "{}", f.id);
        }
    }
}

/// ReinstallServerWithCloudInit (API ecs_02_0201; SDK
/// reinstall_server_with_cloud_init_option.py): the server's own image again, the login
/// rules of changeos (`userid` with `keyname`; a password, a key or user data), a stopped
/// server unless `mode` is `withStopServer`; answers a job.
#[test]
fn reinstall_keeps_the_image_and_follows_the_login_rules() {
    let app = app();
    let id = created(&app);
    let image = |app: &AppState| {
        run(app, Op::ShowServer(id.clone()), &Value::Null, &[]).unwrap()["server"]["image"]["id"]
            .clone()
    };
    let before = image(&app);
    assert!(before.is_string(), "{before}");
    let system_disk = |app: &AppState| {
        run(app, Op::ShowServer(id.clone()), &Value::Null, &[]).unwrap()["server"]
            ["os-extended-volumes:volumes_attached"][0]["id"]
            .clone()
    };
    let old_disk = system_disk(&app);
    let reinstall = |opt: Value| {
        run(
            &app,
            Op::ReinstallOs(id.clone()),
            &json!({"os-reinstall": opt}),
            &[],
        )
    };
    assert_eq!(
        code(run(
            &app,
            Op::ReinstallOs(id.clone()),
            &json!({"os-change": {"adminpass": "Sdk-Passw0rd!"}}),
            &[],
        )),
        BAD
    );
    // running, without withStopServer
    assert_eq!(
        code(reinstall(json!({"adminpass": "Sdk-Passw0rd!"}))),
        "400 Ecs.0100"
    );
    assert_eq!(
        code(reinstall(
            json!({"keyname": "kp-1", "mode": "withStopServer"})
        )),
        BAD,
        "keyname needs userid"
    );
    assert_eq!(
        code(reinstall(json!({"mode": "withStopServer"}))),
        BAD,
        "a password, a key or user data"
    );
    let r = reinstall(json!({"adminpass": "Sdk-Passw0rd!", "mode": "withStopServer"}))
        .expect("reinstall");
    assert!(r["job_id"].is_string(), "{r}");
    // (no transition delays here: the rebuild is already done)
    let s = run(&app, Op::ShowServer(id.clone()), &Value::Null, &[]).unwrap();
    assert_eq!(s["server"]["status"], "ACTIVE", "{s}");
    assert_eq!(image(&app), before, "the same image");
    assert_ne!(system_disk(&app), old_disk, "a new system disk");
}

/// The deprecated Nova `addSecurityGroup`/`removeSecurityGroup` (API ecs_03_0601/0602, kept
/// for old SDK programs) take a group's name or UUID ("安全组名称或者UUID", SDK
/// nova_add_security_group_option.py `name`); a group the region does not have is Nova's 404.
#[test]
fn nova_security_group_actions_name_groups_of_the_region() {
    let app = app();
    let id = created(&app);
    // Nova errors carry no ECS code: the HTTP status tells them apart.
    let action = |kind: &str, name: &str| match run(
        &app,
        Op::NovaServerAction(id.clone()),
        &json!({kind: {"name": name}}),
        &[],
    ) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.status.to_string(),
    };
    assert_eq!(action("addSecurityGroup", "no-such-group"), "404");
    // a group of ap-southeast-1 is not one of cn-north-4
    assert_eq!(
        action("addSecurityGroup", "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b01"),
        "404"
    );
    // by name, then by UUID: the same group
    assert_eq!(action("addSecurityGroup", "app"), "ok");
    assert_eq!(
        action("addSecurityGroup", "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c01"),
        "400"
    );
    assert_eq!(
        action(
            "removeSecurityGroup",
            "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c01"
        ),
        "ok"
    );
    assert_eq!(action("removeSecurityGroup", "app"), "404");
}

/// NovaDeleteServer (`DELETE /v2.1/{project_id}/servers/{server_id}`, 删除云服务器 under the
/// Nova API; SDK `nova_delete_server`): the single-server delete, 204 and no body; an unknown
/// server is Nova's 404; a yearly/monthly one is refused as by DeleteServers (Ecs.0513).
#[test]
fn nova_delete_server_deletes_one_server() {
    let app = app();
    let id = created(&app);
    let delete = |id: &str| match run(&app, Op::NovaDeleteServer(id.into()), &Value::Null, &[]) {
        Ok(v) => v["status"].to_string(),
        Err(e) => format!("{} {}", e.status, e.code),
    };
    assert_eq!(delete("6a7b8c9d-0000-4000-8000-000000000000"), "404 404");
    assert_eq!(delete(&id), "204");
    let listed = run(&app, Op::ListServersDetails, &Value::Null, &[]).unwrap();
    assert!(
        listed["servers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"] != id.as_str() || s["status"] == "DELETED"),
        "{listed}"
    );
    let prepaid = {
        let mut s = server();
        s["extendparam"] = json!({"chargingMode": "prePaid", "periodType": "month", "periodNum": 1,
                   "isAutoPay": "true"});
        let r = run(
            &app,
            Op::CreateServers { v11: true },
            &json!({"server": s}),
            &[],
        )
        .unwrap();
        r["serverIds"][0].as_str().unwrap().to_string()
    };
    assert_eq!(delete(&prepaid), "400 Ecs.0513");
}

/// A spot server cannot change its flavor: Ecs.0704 "Spot ECSs do not support
/// specifications modification." (API ecs_07_0002; ResizePostPaidServer 接口约束, ecs_02_0210).
#[test]
fn a_spot_server_is_not_resized() {
    let app = app();
    let mut s = server();
    s["extendparam"] = json!({"marketType": "spot"});
    let r = run(
        &app,
        Op::CreateServers { v11: false },
        &json!({"server": s}),
        &[],
    )
    .expect("spot create");
    let id = r["serverIds"][0].as_str().unwrap().to_string();
    let resize = json!({"resize": {"flavorRef": "s6.large.2", "mode": "withStopServer"}});
    assert_eq!(
        code(run(&app, Op::Resize(id.clone()), &resize, &[])),
        "400 Ecs.0704"
    );
    // an on-demand server of the same flavor is
    let other = created(&app);
    assert_eq!(code(run(&app, Op::Resize(other), &resize, &[])), "ok");
}
