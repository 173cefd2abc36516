//! Our traffic checked against the vendors' models (issue 14, part 3).
//!
//! For each cloud the controller runs the whole instance lifecycle on the real control plane
//! against the emulator (create with a login password Secret, user data, a host name and
//! system and data disks, stop, start,
//! reboot, rename, security groups, reinstall with `reinstallPolicy: OnImageChange`, resize,
//! delete). The emulator records every cloud API request it received
//! (`GET /_emulator/requests`, secrets removed), and `tests/sdk/validate_traffic.py` checks
//! each against the official Python SDKs' request models: the action or method + path exists
//! in the vendor SDK, every field name at every depth is one the model knows, and the header
//! formats (Huawei `X-Client-Token` a UUID; Tencent/Alibaba `ClientToken` ASCII <= 64). The
//! vendor models decide, not our emulator. `validator_rejects_made_up_fields` and the end of
//! each lifecycle prove the validator fails on a request it should refuse.

#[path = "support/sdk.rs"]
mod sdk;
mod support;
// `support/sdk.rs` reaches the emulator helpers as `crate::emulator`.
use support::emulator;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};

use support::controller::{ControllerProcess, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;
use support::lifecycle::Lifecycle;
use support::scenario::crd_namespace;

const T: Duration = Duration::from_secs(90);

/// The official SDKs the validator reads (name, version); the same pins as the SDK tests.
const SDK_PACKAGES: &[(&str, &str)] = &[
    ("tencentcloud-sdk-python-common", "3.1.195"),
    ("tencentcloud-sdk-python-cvm", "3.1.178"),
    ("alibabacloud-ecs20140526", "7.11.8"),
    ("alibabacloud-tea-openapi", "0.4.6"),
    ("darabonba-core", "1.0.9"),
    ("huaweicloudsdkcore", "3.1.219"),
    ("huaweicloudsdkecs", "3.1.219"),
    ("huaweicloudsdkims", "3.1.219"),
    ("huaweicloudsdkvpc", "3.1.219"),
];

async fn python() -> PathBuf {
    tokio::task::spawn_blocking(|| sdk::sdk_venv(SDK_PACKAGES, "Tencent, Alibaba and Huawei"))
        .await
        .expect("virtualenv task")
}

/// Run the validator over `requests`; its output.
async fn validate(python: PathBuf, requests: &Value, what: &str) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join(format!("{what}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(requests).unwrap()).expect("write requests");
    let path = emulator::workspace_file("tests/sdk/validate_traffic.py");
    let output = tokio::process::Command::new(python)
        .arg(&path)
        .arg(&file)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run validate_traffic.py");
    println!(
        "---- validate_traffic.py ({what}) ----\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

async fn recorded(emu_url: &str, provider: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{emu_url}/_emulator/requests"))
        .query(&[("provider", provider)])
        .send()
        .await
        .expect("GET /_emulator/requests")
        .json()
        .await
        .expect("requests JSON")
}

fn actions(requests: &Value) -> Vec<String> {
    requests
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["action"].as_str().map(str::to_string))
        .collect()
}

/// Security groups the lifecycle switches to.
fn other_security_groups(provider: &str) -> Vec<&'static str> {
    match provider {
        "tencent" => vec!["sg-aaaa1111", "sg-bbbb2222"],
        "alibaba" => vec!["sg-bp1demo0000000000000", "sg-bp1demo0000000000001"],
        _ => vec!["5e6f7081-0000-4000-8000-0000000000aa"],
    }
}

/// A disk category the cloud documents.
fn disk_type(provider: &str) -> &'static str {
    match provider {
        "tencent" => "CLOUD_PREMIUM",
        "alibaba" => "cloud_essd",
        _ => "SSD",
    }
}

/// Add a made-up field one level down in the create request (or a made-up flattened RPC
/// parameter); the name the validator must report.
fn with_made_up_field(req: &mut Value) -> &'static str {
    if let Some(obj) = req["json"].as_object_mut() {
        if let Some(inner) = obj.values_mut().find_map(|v| v.as_object_mut()) {
            inner.insert("madeUpField".into(), json!("x"));
        } else {
            obj.insert("madeUpField".into(), json!("x"));
        }
        "madeUpField"
    } else {
        req["query"]
            .as_array_mut()
            .expect("query pairs")
            .push(json!(["MadeUpField.1.Key", "x"]));
        "MadeUpField.1.Key"
    }
}

async fn traffic(cloud: Cloud) {
    let python = python().await;
    let (client, ns) = crd_namespace(&format!("traffic-{}", cloud.provider)).await;
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let _controller = ControllerProcess::start(&ns, &[]).await;

    apply_secret_labelled(
        &client,
        &ns,
        "login",
        json!({LOGIN_LABEL: "true"}),
        &[("password", b"Traffic!Check9")],
    )
    .await;
    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    wait_until(T, "credential Ready", || async {
        is_ready(&credential_status(&client, &ns, "cred").await)
    })
    .await;

    let name = "vm";
    apply_instance(
        &client,
        &ns,
        &instance(
            name,
            "cred",
            &cloud,
            json!({
                "login": {"passwordSecretRef": {"name": "login"}},
                "userData": "#!/bin/sh\necho traffic-check\n",
                "hostname": "vm-host",
                "systemDisk": {"diskType": disk_type(cloud.provider), "sizeGb": 50},
                "dataDisks": [{"diskType": disk_type(cloud.provider), "sizeGb": 100}],
            }),
        ),
    )
    .await;
    let vm = Lifecycle::new(&client, &ns, name, T);
    let (_, id) = vm.created().await;
    vm.stop_start().await;
    vm.reboot("2026-11-28T19:00:00Z").await;
    vm.rename(&ctl, &id, "vm-renamed").await;
    vm.security_groups(&ctl, &id, &other_security_groups(cloud.provider))
        .await;
    vm.reinstall(
        json!({"reinstallPolicy": "OnImageChange", "imageId": cloud.other_image}),
        cloud.other_image,
    )
    .await;
    assert_eq!(ctl.instance(&id).await.unwrap()["image"], cloud.other_image);
    vm.resize(cloud.bigger_type).await;
    vm.delete().await;

    // everything the controller sent, checked against the official models
    let requests = recorded(emu.url(), cloud.provider).await;
    let seen = actions(&requests);
    for a in cloud.actions.all() {
        assert!(
            seen.iter().any(|s| s == a),
            "the lifecycle never called {a}: {seen:?}"
        );
    }
    let text = requests.to_string();
    assert!(
        !text.contains("Traffic!Check9") && !text.contains(cloud.secret),
        "the request log exposes a secret"
    );
    let out = validate(python.clone(), &requests, cloud.provider).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the controller's {} traffic breaks the official SDK models:\n{stdout}",
        cloud.provider
    );

    // the validator can fail: one recorded create with a made-up field
    let create = cloud.actions.create;
    let mut bad = requests
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == create)
        .cloned()
        .expect("a recorded create");
    println!(
        "recorded {create}: {}",
        serde_json::to_string_pretty(&bad).unwrap()
    );
    let field = with_made_up_field(&mut bad);
    let out = validate(python, &json!([bad]), &format!("{}-bad", cloud.provider)).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("VIOLATION") && stdout.contains(field),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tencent_traffic_matches_the_official_sdk() {
    traffic(TENCENT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alibaba_traffic_matches_the_official_sdk() {
    traffic(ALIBABA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huawei_traffic_matches_the_official_sdk() {
    traffic(HUAWEI).await;
}

/// Without a cluster: hand-made log entries, each valid but for one thing the vendor model
/// refuses; the validator reports every one and passes the corrected ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_rejects_made_up_fields() {
    let python = python().await;
    let tc = |body: Value| {
        json!({"seq": 1, "cloud": "tencent", "action": "RunInstances", "method": "POST",
               "path": "/", "query": [], "form": [], "json": body,
               "headers": {"x-tc-action": "RunInstances", "x-tc-version": "2017-03-12",
                           "content-type": "application/json"}})
    };
    let ali = |extra: &[(&str, &str)]| {
        let mut q = vec![
            json!(["Action", "StopInstances"]),
            json!(["Version", "2014-05-26"]),
            json!(["RegionId", "cn-hangzhou"]),
            json!(["InstanceId.1", "i-1"]),
            json!(["ForceStop", "false"]),
        ];
        q.extend(extra.iter().map(|(k, v)| json!([k, v])));
        json!({"seq": 2, "cloud": "alibaba", "action": "StopInstances", "method": "POST",
               "path": "/", "query": q, "form": [], "json": null, "headers": {}})
    };
    // signature V3: action and version in headers, parameters in the query
    let ali3 = |date: &str, extra: &[(&str, &str)]| {
        let mut q = vec![
            json!(["RegionId", "cn-hangzhou"]),
            json!(["InstanceId.1", "i-1"]),
        ];
        q.extend(extra.iter().map(|(k, v)| json!([k, v])));
        json!({"seq": 4, "cloud": "alibaba", "action": "StartInstances", "method": "POST",
               "path": "/", "query": q, "form": [], "json": null,
               "headers": {"x-acs-action": "StartInstances", "x-acs-version": "2014-05-26",
                           "x-acs-date": date, "x-acs-signature-nonce": "0f1e2d3c"}})
    };
    let hw = |token: &str, nic: Value| {
        json!({"seq": 3, "cloud": "huawei", "action": "CreatePostPaidServers", "method": "POST",
               "path": "/v1/0a1b2c3d4e5f60718293a4b5c6d7e8f9/cloudservers", "query": [],
               "form": [], "headers": {"x-client-token": token},
               "json": {"server": {"name": "n", "imageRef": "i", "flavorRef": "f",
                                    "vpcid": "v", "nics": [nic],
                                    "root_volume": {"volumetype": "SSD"}}}})
    };
    // the VPC v3 port APIs (huaweicloudsdkvpc), where the client changes security groups
    let vpc = |op: &str, port: Value| {
        json!({"seq": 4, "cloud": "huawei", "action": op, "method": "PUT",
               "path": format!("/v3/0a1b2c3d4e5f60718293a4b5c6d7e8f9/ports/p-1/{}",
                               if op == "AddSecurityGroups" { "insert-security-groups" }
                               else { "remove-security-groups" }),
               "query": [], "form": [], "headers": {}, "json": {"port": port}})
    };
    let uuid = "3f0e7a2c-5b1d-8c4e-9a6f-0123456789ab";
    let good = json!([
        tc(json!({"Placement": {"Zone": "ap-guangzhou-3"}, "ClientToken": "t"})),
        ali(&[]),
        ali3("2026-11-29T00:00:00Z", &[]),
        hw(uuid, json!({"subnet_id": "s"})),
        vpc(
            "AddSecurityGroups",
            json!({"security_groups": ["sg-1"], "index": 0})
        ),
        vpc("RemoveSecurityGroups", json!({"security_groups": ["sg-1"]})),
    ]);
    let out = validate(python.clone(), &good, "good").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let mut no_flavor = hw(uuid, json!({"subnet_id": "s"}));
    no_flavor["json"]["server"]
        .as_object_mut()
        .unwrap()
        .remove("flavorRef");
    for (what, bad, needle) in [
        (
            "tencent nested",
            tc(json!({"Placement": {"Zone": "z", "Zonee": "z"}})),
            "$.Placement.Zonee",
        ),
        (
            "tencent token",
            tc(json!({"ClientToken": "x".repeat(65)})),
            "ClientToken",
        ),
        (
            "alibaba flattened",
            ali(&[("Tag.1.Keyy", "k")]),
            "Tag.1.Keyy",
        ),
        ("alibaba bool", ali(&[("DryRun", "yes")]), "DryRun"),
        (
            "alibaba V3 with V2 parameters",
            ali3("2026-11-29T00:00:00Z", &[("SignatureNonce", "n")]),
            "V2 common parameters",
        ),
        (
            "alibaba V3 date",
            ali3("2026-11-29 00:00:00", &[]),
            "x-acs-date",
        ),
        (
            "huawei nested",
            hw(uuid, json!({"subnet_id": "s", "subnetId": "s"})),
            "$.server.nics[0].subnetId",
        ),
        ("huawei required", no_flavor, "$.server.flavorRef"),
        (
            "huawei vpc nested",
            vpc(
                "AddSecurityGroups",
                json!({"security_groups": ["sg-1"], "indx": 0}),
            ),
            "$.port.indx",
        ),
        (
            "huawei vpc remove has no index",
            vpc(
                "RemoveSecurityGroups",
                json!({"security_groups": ["sg-1"], "index": 0}),
            ),
            "$.port.index",
        ),
        (
            "huawei vpc type",
            vpc("AddSecurityGroups", json!({"security_groups": "sg-1"})),
            "$.port.security_groups",
        ),
        (
            "huawei token",
            hw("uid-1", json!({"subnet_id": "s"})),
            "X-Client-Token",
        ),
    ] {
        let out = validate(python.clone(), &json!([bad]), "bad").await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{what}: {stdout}");
        assert!(
            stdout.contains("VIOLATION") && stdout.contains(needle),
            "{what}: {stdout}"
        );
    }
}
