//! Reliability: 39 hostile but schema-valid inputs get clear conditions, reach the cloud
//! intact or are refused, and no secret shows up in logs, events or status. The
//! invariants every campaign ends with: `tests/support/campaign.rs`.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};

use cloudinstance_controller::api::{CloudCredential, CloudInstance};
use support::campaign::*;
use support::controller::{ControllerProcess, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;
use support::scenario::crd_namespace;

/// Key → raw bytes of a Secret.
type SecretData<'a> = Vec<(&'a str, Vec<u8>)>;

/// One instance of the emulator's state file (full stored fields, user data included).
fn stored_instance(state: &Path, id: &str) -> Option<Value> {
    let text = std::fs::read_to_string(state).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["instances"]
        .as_array()?
        .iter()
        .find(|i| i["id"] == id)
        .cloned()
}

/// Hostile but schema-valid inputs: broken Secrets (missing keys, empty, blank and
/// non-UTF-8 values, missing Secret, wrong and unknown keys, a CRLF in the key id),
/// dangling references, bad passwords, user data at and beyond the cloud's limit, unicode
/// and injection characters in names and tags, values the cloud rejects. Each gets a
/// clear condition or reaches the cloud intact; a healthy instance next to them stays
/// Ready; nothing loops; and no secret value shows up in logs, events or status.
#[tokio::test]
async fn hostile_inputs_get_clear_conditions_and_never_leak_secrets() {
    let (client, ns) = crd_namespace("rel-hostile").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator-state.json");
    let emu = Emulator::start(&[
        "--transition-delay-ms",
        "300",
        "--state-file",
        state.to_str().unwrap(),
    ])
    .await;
    let ctl = Control::new(emu.url());
    let ep = emu.url().to_string();
    let controller = ControllerProcess::start(&ns, &[]).await;
    let cloud = TENCENT;
    let id = cloud.key_id.as_bytes();
    let good = cloud.secret.as_bytes();
    let r = format!("{:08x}", rand::random::<u32>());
    // secret strings to look for in everything the controller writes
    let wrong_secret = format!("wr0ng-\"secret\"\n-{r};&=%");
    let nonutf8_marker = format!("nonutf8-secret-{r}");
    let mut nonutf8 = vec![0xff, 0xfe, 0x00, 0xc3, 0x28];
    nonutf8.extend_from_slice(nonutf8_marker.as_bytes());
    let weak_pw = format!("weak pw {r}"); // a space: not allowed by the cloud
    let strong_pw = format!("Str0ng!{r}Pw");
    let huawei_sk = HUAWEI.secret;

    let mut cases = 0;
    let mut case = |what: &str| {
        cases += 1;
        eprintln!("[hostile] case {cases}: {what}");
    };

    // the healthy neighbour first
    apply_credential(&client, &ns, "good", &cloud, &ep, cloud.secret).await;
    apply_instance(
        &client,
        &ns,
        &instance("healthy", "good", &cloud, json!({})),
    )
    .await;
    let healthy = inst_ready(&client, &ns, "healthy").await;
    let healthy_id = healthy["instanceId"].as_str().unwrap().to_string();

    // ---- credentials --------------------------------------------------------------
    let creds: Vec<(&str, SecretData, Value)> = vec![
        ("no-id", vec![("secretAccessKey", good.to_vec())], json!({})),
        ("no-sk", vec![("accessKeyId", id.to_vec())], json!({})),
        (
            "empty-sk",
            vec![("accessKeyId", id.to_vec()), ("secretAccessKey", vec![])],
            json!({}),
        ),
        (
            "blank-sk",
            vec![
                ("accessKeyId", id.to_vec()),
                ("secretAccessKey", b" \n\t ".to_vec()),
            ],
            json!({}),
        ),
        (
            "nonutf8-sk",
            vec![
                ("accessKeyId", id.to_vec()),
                ("secretAccessKey", nonutf8.clone()),
            ],
            json!({}),
        ),
        (
            "nonutf8-id",
            vec![
                ("accessKeyId", vec![0xc3, 0x28, 0xff]),
                ("secretAccessKey", good.to_vec()),
            ],
            json!({}),
        ),
        (
            "custom-missing",
            vec![
                ("accessKeyId", id.to_vec()),
                ("secretAccessKey", good.to_vec()),
            ],
            json!({"secretRef": {"accessKeyIdKey": "AK", "secretAccessKeyKey": "SK"}}),
        ),
        (
            "custom-ok",
            vec![("AK", id.to_vec()), ("SK", good.to_vec())],
            json!({"secretRef": {"accessKeyIdKey": "AK", "secretAccessKeyKey": "SK"}}),
        ),
        (
            "wrong-sk",
            vec![
                ("accessKeyId", id.to_vec()),
                ("secretAccessKey", wrong_secret.as_bytes().to_vec()),
            ],
            json!({}),
        ),
        (
            "unknown-id",
            vec![
                (
                    "accessKeyId",
                    b"AKIDUNKNOWN00000000000000000000000".to_vec(),
                ),
                ("secretAccessKey", good.to_vec()),
            ],
            json!({}),
        ),
        (
            "newline",
            vec![
                ("accessKeyId", [id, b"\n"].concat()),
                ("secretAccessKey", [good, b"\r\n"].concat()),
            ],
            json!({}),
        ),
        (
            "crlf-id",
            vec![
                ("accessKeyId", [id, b"\r\nX-Injected: yes"].concat()),
                ("secretAccessKey", good.to_vec()),
            ],
            json!({}),
        ),
    ];
    for (name, data, extra) in &creds {
        let secret = format!("{name}-keys");
        let data: Vec<(&str, &[u8])> = data.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        apply_secret(&client, &ns, &secret, &data).await;
        apply_cred(&client, &ns, name, "tencent", &secret, &ep, extra.clone()).await;
    }
    apply_cred(
        &client,
        &ns,
        "no-secret",
        "tencent",
        "does-not-exist",
        &ep,
        json!({}),
    )
    .await;
    // (a huawei credential without projectId is refused at admission by a CEL rule:
    // tests/admission.rs)

    for (name, key) in [
        ("no-id", "accessKeyId"),
        ("no-sk", "secretAccessKey"),
        ("empty-sk", "secretAccessKey"),
        ("blank-sk", "secretAccessKey"),
        ("nonutf8-sk", "secretAccessKey"),
        ("nonutf8-id", "accessKeyId"),
        ("custom-missing", "AK"),
    ] {
        case(&format!("credential {name}: SecretKeyMissing naming {key}"));
        let c = cred_not_ready(&client, &ns, name, "SecretKeyMissing").await;
        assert!(
            message(&c).contains(&format!("\"{key}\""))
                && message(&c).contains(&format!("{name}-keys")),
            "{name}: the message names the Secret and the key: {c}"
        );
    }
    case("credential pointing at a missing Secret: SecretNotFound");
    let c = cred_not_ready(&client, &ns, "no-secret", "SecretNotFound").await;
    assert!(message(&c).contains("does-not-exist"), "{c}");
    case("wrong secret with quotes, newline and &=%;: AuthFailure.SignatureFailure");
    cred_not_ready(&client, &ns, "wrong-sk", "AuthFailure.SignatureFailure").await;
    case("unknown key id: AuthFailure.SecretIdNotFound");
    cred_not_ready(&client, &ns, "unknown-id", "AuthFailure.SecretIdNotFound").await;
    case("CRLF in the key id: rejected before anything is sent, no header injection");
    let c = cred_not_ready(&client, &ns, "crlf-id", "SecretValueInvalid").await;
    eprintln!("[hostile] CRLF key id: {c}");
    assert!(!message(&c).contains("X-Injected"), "{c}");
    assert!(message(&c).contains("accessKeyIdKey"), "{c}");
    for name in ["custom-ok", "newline"] {
        case(&format!("credential {name} is usable"));
        wait_until(T, &format!("credential {name} Ready"), || async {
            is_ready(&credential_status(&client, &ns, name).await)
        })
        .await;
    }

    // ---- instances ------------------------------------------------------------------
    apply_secret(&client, &ns, "pw-other", &[("other", strong_pw.as_bytes())]).await;
    apply_secret(&client, &ns, "pw-bin", &[("password", &nonutf8)]).await;
    apply_secret(&client, &ns, "pw-weak", &[("password", weak_pw.as_bytes())]).await;
    apply_secret(
        &client,
        &ns,
        "pw-strong",
        &[("password", strong_pw.as_bytes())],
    )
    .await;
    let pw = |secret: &str| json!({"login": {"passwordSecretRef": {"name": secret}}});
    // just under the 16 KiB limit, with every character an injection would use
    let mut user_data =
        String::from("#!/bin/sh\n# \"quotes\" 'single' & a=b; 100% $HOME `id` \\ <x>\r\n");
    while user_data.len() < 16383 {
        user_data.push_str("echo \"line\" && x=1; y='%20';\n");
    }
    user_data.truncate(16383);
    let unicode_name = "测试服务器-サーバー-🚀-ñandú";
    let injection_name = "web \"quoted\" 'x' & a=b; 100% <y> \\ z\nnext";
    // Tags made of the characters Tencent Cloud documents (Chinese and English letters, digits,
    // inner spaces and + - = . _ : / @ ( ) [ ] , ; > <,
    // https://cloud.tencent.com/document/product/651/13354) that still look like injection:
    // they must reach the cloud intact.
    let mut injection_tags = BTreeMap::new();
    for (k, v) in [
        ("semi", "x;y;DROP TABLE z;--"),
        ("eq-plus", "a=b+c,d=e"),
        ("brackets", "[a](b)<c>@d/e:f"),
        ("unicode", "值-标签-Test"),
        // No empty value: Tencent tag values are 1-255 characters; the client refuses an
        // empty one before RunInstances (src/provider/tencent/tags.rs).
        ("spaces", "inner  spaced"),
        ("k=v;x", "key with = and ;"),
        ("标签-键", "unicode key"),
    ] {
        injection_tags.insert(k.to_string(), v.to_string());
    }
    // Characters outside that set (quotes, newlines, &, %, backslash, emoji, outer spaces)
    // are refused before any request, with the rule in the condition.
    let mut refused_tags = BTreeMap::new();
    refused_tags.insert(
        "quote".to_string(),
        "a\"b'c & 100% \\ line1\nline2 🚀".to_string(),
    );
    let mut max_tags = BTreeMap::new();
    for i in 0..39 {
        max_tags.insert(format!("tag-{i:02}"), format!("value-{i}"));
    }
    max_tags.insert("k".repeat(127), "v".repeat(255));

    let instances: Vec<(&str, &str, Value)> = vec![
        ("no-cred", "nope", json!({})),
        ("cred-not-ready", "no-secret", json!({})),
        ("pw-missing", "good", pw("pw-missing")),
        ("pw-key-missing", "good", pw("pw-other")),
        ("pw-nonutf8", "good", pw("pw-bin")),
        ("pw-weak", "good", pw("pw-weak")),
        ("pw-strong", "good", pw("pw-strong")),
        ("userdata-max", "good", json!({"userData": user_data})),
        (
            "userdata-multibyte",
            "good",
            json!({"userData": "é".repeat(9000)}),
        ),
        (
            "name-unicode",
            "good",
            json!({"instanceName": unicode_name}),
        ),
        (
            "name-too-long",
            "good",
            json!({"instanceName": "名".repeat(61)}),
        ),
        (
            "name-injection",
            "good",
            json!({"instanceName": injection_name}),
        ),
        ("tags-injection", "good", json!({"tags": injection_tags})),
        ("tags-refused", "good", json!({"tags": refused_tags})),
        ("tags-max", "good", json!({"tags": max_tags})),
        (
            "image-injection",
            "good",
            json!({"imageId": "img-'; DROP TABLE x;--"}),
        ),
        (
            "type-injection",
            "good",
            json!({"instanceType": "S5.MEDIUM2;rm -rf /"}),
        ),
        ("zone-mismatch", "good", json!({"zone": "ap-shanghai-2"})),
        (
            "region-unknown",
            "good",
            json!({"region": "xx-nowhere-1", "zone": "xx-nowhere-1a"}),
        ),
        ("via-custom-keys", "custom-ok", json!({})),
        ("via-newline-keys", "newline", json!({})),
    ];
    for (name, cred, extra) in &instances {
        apply_instance(&client, &ns, &instance(name, cred, &cloud, extra.clone())).await;
    }

    case("instance with a missing credential: CredentialNotFound");
    let c = inst_false(&client, &ns, "no-cred", "Synced", "CredentialNotFound").await;
    assert!(message(&c).contains("nope"), "{c}");
    case("instance on a credential that is not ready: CredentialNotReady with the reason");
    let c = inst_false(
        &client,
        &ns,
        "cred-not-ready",
        "Synced",
        "CredentialNotReady",
    )
    .await;
    assert!(message(&c).contains("SecretNotFound"), "{c}");
    case("password Secret missing: PasswordSecretNotFound");
    let c = inst_false(
        &client,
        &ns,
        "pw-missing",
        "Synced",
        "PasswordSecretNotFound",
    )
    .await;
    assert!(message(&c).contains("pw-missing"), "{c}");
    case("password Secret without the key: PasswordSecretKeyMissing");
    let c = inst_false(
        &client,
        &ns,
        "pw-key-missing",
        "Synced",
        "PasswordSecretKeyMissing",
    )
    .await;
    assert!(message(&c).contains("\"password\""), "{c}");
    case("password not UTF-8: PasswordSecretKeyMissing");
    inst_false(
        &client,
        &ns,
        "pw-nonutf8",
        "Synced",
        "PasswordSecretKeyMissing",
    )
    .await;
    case("password the cloud rejects: InvalidPassword");
    inst_false(&client, &ns, "pw-weak", "Synced", "InvalidPassword").await;
    case("user data over 16 KiB once UTF-8 encoded: the cloud's TooLarge");
    let c = inst_false(
        &client,
        &ns,
        "userdata-multibyte",
        "Synced",
        "InvalidParameterValue.TooLarge",
    )
    .await;
    assert!(message(&c).contains("18000 bytes"), "{c}");
    case("61-character unicode name: InvalidInstanceName.TooLong");
    inst_false(
        &client,
        &ns,
        "name-too-long",
        "Synced",
        "InvalidInstanceName.TooLong",
    )
    .await;
    case("tag value outside the documented characters: refused before the create, with the rule");
    let c = inst_false(
        &client,
        &ns,
        "tags-refused",
        "Synced",
        "FailedOperation.IllegalTagValue",
    )
    .await;
    assert!(message(&c).contains("letters, digits"), "{c}");
    case("image id with SQL-ish injection: InvalidImageId");
    inst_false(&client, &ns, "image-injection", "Synced", "InvalidImageId").await;
    case("instance type with shell injection: rejected by the cloud");
    inst_false(&client, &ns, "type-injection", "Synced", "Invalid").await;
    case("zone of another region: InvalidZone.MismatchRegion");
    inst_false(&client, &ns, "zone-mismatch", "Synced", "InvalidZone").await;
    case("unknown region: UnsupportedRegion");
    inst_false(
        &client,
        &ns,
        "region-unknown",
        "Synced",
        "UnsupportedRegion",
    )
    .await;

    let mut ids = HashMap::new();
    for name in [
        "pw-strong",
        "userdata-max",
        "name-unicode",
        "name-injection",
        "tags-injection",
        "tags-max",
        "via-custom-keys",
        "via-newline-keys",
    ] {
        case(&format!("instance {name} Ready"));
        let s = inst_ready(&client, &ns, name).await;
        ids.insert(name, s["instanceId"].as_str().unwrap().to_string());
    }
    let cloud_view = |name: &str| {
        let id = ids[name].clone();
        let ctl = &ctl;
        async move { ctl.instance(&id).await.expect("instance in the cloud") }
    };
    case("unicode instance name reaches the cloud intact");
    assert_eq!(cloud_view("name-unicode").await["name"], unicode_name);
    case("instance name with quotes, &, =, ;, %, <>, \\ and a newline reaches the cloud intact");
    assert_eq!(cloud_view("name-injection").await["name"], injection_name);
    case("tags with injection-like documented characters reach the cloud intact");
    let tags = cloud_view("tags-injection").await["tags"].clone();
    for (k, v) in &injection_tags {
        assert_eq!(tags[k.as_str()], v.as_str(), "tag {k:?}: {tags}");
    }
    case("40 tags, one with a 127-character key and a 255-character value, intact");
    let tags = cloud_view("tags-max").await["tags"].clone();
    for (k, v) in &max_tags {
        assert_eq!(tags[k.as_str()], v.as_str(), "tag {k:?}");
    }
    assert_eq!(tags["cloudinstance-uid"].as_str().map(str::len), Some(36));
    case("16383 bytes of user data reach the cloud byte for byte");
    let stored = wait_for(T, "user data in the emulator's state file", || async {
        stored_instance(&state, &ids["userdata-max"]).filter(|i| i["user_data"].is_string())
    })
    .await;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(stored["user_data"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded.len(), user_data.len());
    assert!(
        decoded == user_data.as_bytes(),
        "user data altered on the way"
    );
    eprintln!("[hostile] {cases} cases");
    assert!(cases >= 20);

    // ---- nothing else broke -----------------------------------------------------------
    let s = instance_status(&client, &ns, "healthy").await;
    assert!(is_ready(&s), "the healthy neighbour is still Ready: {s}");
    assert_eq!(s["instanceId"], healthy_id.as_str());
    let audit = assert_no_leaks(&client, &ns, &ctl, None).await;
    assert_eq!(
        audit.live,
        ids.len() + 1,
        "exactly the valid instances exist"
    );
    controller.assert_alive().await;
    // nothing loops on the broken objects: terminal problems wait for a change
    settle(&controller).await;
    let before = ctl.calls().await;
    let writes0 = controller
        .metric_sum("cloudinstance_status_writes_total", &[])
        .await;
    let window = Duration::from_secs(8);
    tokio::time::sleep(window).await;
    let after = ctl.calls().await;
    let calls =
        calls_sum(&after, "tencent", "total", &[]) - calls_sum(&before, "tencent", "total", &[]);
    let writes = controller
        .metric_sum("cloudinstance_status_writes_total", &[])
        .await
        - writes0;
    eprintln!(
        "[hostile] quiet window of {window:?}: {calls} cloud calls, {writes} status writes; by action {:?}",
        calls_by_action(&after, "tencent")
    );
    // two slow polls (each 1 status call); the CRLF credential sends nothing
    assert!(calls <= 12, "{calls} cloud calls in {window:?} of quiet");
    assert!(
        writes <= 4.0,
        "{writes} status writes in {window:?} of quiet"
    );

    // ---- no secret anywhere -----------------------------------------------------------
    let events = Api::<Event>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    let insts = Api::<CloudInstance>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    let creds = Api::<CloudCredential>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    let everything = format!(
        "{}\n{}\n{}\n{}",
        controller.logs(),
        serde_json::to_string(&events).unwrap(),
        serde_json::to_string(&insts).unwrap(),
        serde_json::to_string(&creds).unwrap()
    );
    assert!(events.items.len() > 5, "events were recorded");
    let b64 = base64::engine::general_purpose::STANDARD;
    for secret in [
        cloud.secret,
        wrong_secret.as_str(),
        "wr0ng-\\\"secret\\\"\\n", // the JSON-escaped start of it
        nonutf8_marker.as_str(),
        weak_pw.as_str(),
        strong_pw.as_str(),
        huawei_sk,
    ] {
        assert!(
            !everything.contains(secret),
            "secret value {secret:?} found in controller logs, events or status"
        );
        let encoded = b64.encode(secret);
        assert!(
            !everything.contains(&encoded),
            "base64 of secret value {secret:?} found in controller logs, events or status"
        );
    }
}
