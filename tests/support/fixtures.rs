//! Per-cloud fixtures for the controller e2e tests (one parametrised test body, not copies),
//! and small helpers to read the emulator's control API.
#![allow(dead_code)]

use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use super::controller::wait_for;

use cloudinstance_controller::api::{CloudCredential, CloudInstance};

/// The label that marks a Secret as a credential Secret (the controller reads no other).
pub const CREDENTIAL_LABEL: &str = "compute.cloudinstance.io/credential";
/// The label that marks a Secret as a VM login-password Secret.
pub const LOGIN_LABEL: &str = "compute.cloudinstance.io/login";

/// What a test needs to know about one cloud in the emulator.
#[derive(Clone, Copy, Debug)]
pub struct Cloud {
    pub provider: &'static str,
    pub key_id: &'static str,
    pub secret: &'static str,
    pub project_id: Option<&'static str>,
    pub region: &'static str,
    pub zone: &'static str,
    pub image: &'static str,
    pub other_image: &'static str,
    pub instance_type: &'static str,
    pub bigger_type: &'static str,
    /// `spec.network` this cloud needs (Alibaba: a security group; Huawei: VPC + subnet).
    pub network: &'static str,
    /// The cloud's names of the actions the controller changes instances with.
    pub actions: Actions,
}

/// The emulator's names (call counters, faults, request log) of a cloud's mutating
/// actions.
#[derive(Clone, Copy, Debug)]
pub struct Actions {
    pub create: &'static str,
    pub stop: &'static str,
    pub start: &'static str,
    pub reboot: &'static str,
    /// Name and security groups.
    pub modify: &'static str,
    pub reinstall: &'static str,
    pub resize: &'static str,
    pub terminate: &'static str,
}

impl Actions {
    /// Every one, the create first.
    pub fn all(&self) -> [&'static str; 8] {
        [
            self.create,
            self.stop,
            self.start,
            self.reboot,
            self.modify,
            self.reinstall,
            self.resize,
            self.terminate,
        ]
    }
}

pub const TENCENT: Cloud = Cloud {
    provider: "tencent",
    key_id: "AKIDDEMO00000000000000000000000000",
    secret: "demo-tencent-secret-key",
    project_id: None,
    region: "ap-guangzhou",
    zone: "ap-guangzhou-3",
    image: "img-pmqg1cw7",
    other_image: "img-9qabwvbn",
    instance_type: "S5.MEDIUM2",
    bigger_type: "S5.SMALL4",
    network: r#"{"publicIpBandwidthMbps": 10}"#,
    actions: Actions {
        create: "RunInstances",
        stop: "StopInstances",
        start: "StartInstances",
        reboot: "RebootInstances",
        modify: "ModifyInstancesAttribute",
        reinstall: "ResetInstance",
        resize: "ResetInstancesType",
        terminate: "TerminateInstances",
    },
};

/// Apply (server-side, as the test's field manager) a Secret + CloudCredential for `cloud`
/// pointing at the emulator `endpoint`.
pub async fn apply_credential(
    client: &Client,
    ns: &str,
    name: &str,
    cloud: &Cloud,
    endpoint: &str,
    secret: &str,
) {
    let keys = format!("{name}-keys");
    apply_secret_labelled(
        client,
        ns,
        &keys,
        json!({CREDENTIAL_LABEL: "true"}),
        &[
            ("accessKeyId", cloud.key_id.as_bytes()),
            ("secretAccessKey", secret.as_bytes()),
        ],
    )
    .await;
    let extra = match cloud.project_id {
        Some(p) => json!({"projectId": p}),
        None => json!({}),
    };
    apply_cred(client, ns, name, cloud.provider, &keys, endpoint, extra).await;
}

/// Server-side apply a Secret whose `data` holds exactly these (possibly non-UTF-8) bytes,
/// marked as both a credential and a login Secret.
pub async fn apply_secret(client: &Client, ns: &str, name: &str, data: &[(&str, &[u8])]) {
    let labels = json!({CREDENTIAL_LABEL: "true", LOGIN_LABEL: "true"});
    apply_secret_labelled(client, ns, name, labels, data).await;
}

/// Server-side apply a Secret with these `labels` whose `data` holds exactly these bytes.
pub async fn apply_secret_labelled(
    client: &Client,
    ns: &str,
    name: &str,
    labels: Value,
    data: &[(&str, &[u8])],
) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), json!(b64.encode(v))))
        .collect();
    let s = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "labels": labels},
        "data": data,
    });
    Api::<Secret>::namespaced(client.clone(), ns)
        .patch(
            name,
            &PatchParams::apply("cic-tests").force(),
            &Patch::Apply(&s),
        )
        .await
        .unwrap_or_else(|e| panic!("apply secret {name}: {e}"));
}

/// Server-side apply a CloudCredential of `provider` reading Secret `secret`; `extra` is
/// merged into the spec (its `secretRef` into the spec's).
pub async fn apply_cred(
    client: &Client,
    ns: &str,
    name: &str,
    provider: &str,
    secret: &str,
    endpoint: &str,
    extra: Value,
) {
    let mut spec = json!({
        "provider": provider,
        "secretRef": {"name": secret},
        "endpoint": endpoint,
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            if k == "secretRef" {
                for (rk, rv) in v.as_object().expect("secretRef object") {
                    s["secretRef"][rk] = rv.clone();
                }
            } else {
                s.insert(k.clone(), v.clone());
            }
        }
    }
    let c = json!({
        "apiVersion": "compute.cloudinstance.io/v1alpha1", "kind": "CloudCredential",
        "metadata": {"name": name}, "spec": spec,
    });
    Api::<CloudCredential>::namespaced(client.clone(), ns)
        .patch(
            name,
            &PatchParams::apply("cic-tests").force(),
            &Patch::Apply(&c),
        )
        .await
        .unwrap_or_else(|e| panic!("apply credential {name}: {e}"));
}

/// A CloudInstance manifest for `cloud` using credential `cred`, with `extra` merged into spec.
pub fn instance(name: &str, cred: &str, cloud: &Cloud, extra: Value) -> Value {
    let mut spec = json!({
        "credentialRef": {"name": cred},
        "region": cloud.region,
        "zone": cloud.zone,
        "imageId": cloud.image,
        "instanceType": cloud.instance_type,
        "network": serde_json::from_str::<Value>(cloud.network).expect("fixture network JSON"),
        "tags": {"team": "platform"},
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({
        "apiVersion": "compute.cloudinstance.io/v1alpha1", "kind": "CloudInstance",
        "metadata": {"name": name}, "spec": spec,
    })
}

pub async fn apply_instance(client: &Client, ns: &str, obj: &Value) {
    let name = obj["metadata"]["name"].as_str().expect("name");
    Api::<CloudInstance>::namespaced(client.clone(), ns)
        .patch(
            name,
            &PatchParams::apply("cic-tests").force(),
            &Patch::Apply(obj),
        )
        .await
        .unwrap_or_else(|e| panic!("apply instance {name}: {e}"));
}

/// Merge-patch the spec of an instance.
pub async fn patch_spec(client: &Client, ns: &str, name: &str, spec: Value) {
    Api::<CloudInstance>::namespaced(client.clone(), ns)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": spec})),
        )
        .await
        .unwrap_or_else(|e| panic!("patch instance {name}: {e}"));
}

/// Status condition `type_` of an object's status JSON.
pub fn condition<'a>(status: &'a Value, type_: &str) -> Option<&'a Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

pub fn is_ready(status: &Value) -> bool {
    condition(status, "Ready").is_some_and(|c| c["status"] == "True")
}

/// Status of an instance as JSON (Null if absent / object missing).
pub async fn instance_status(client: &Client, ns: &str, name: &str) -> Value {
    match Api::<CloudInstance>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
    {
        Ok(Some(o)) => serde_json::to_value(o.status).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

pub async fn credential_status(client: &Client, ns: &str, name: &str) -> Value {
    match Api::<CloudCredential>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
    {
        Ok(Some(o)) => serde_json::to_value(o.status).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// How long the condition waits below wait at most.
pub const CONDITION_WAIT: Duration = Duration::from_secs(120);

/// Wait for a credential's Ready=False whose reason starts with `reason`.
pub async fn cred_not_ready(client: &Client, ns: &str, name: &str, reason: &str) -> Value {
    wait_for(
        CONDITION_WAIT,
        &format!("credential {name} Ready=False/{reason}"),
        || async {
            let s = credential_status(client, ns, name).await;
            false_with_reason(&s, "Ready", reason).cloned()
        },
    )
    .await
}

/// Wait for an instance condition `type_`=False whose reason starts with `reason`.
pub async fn inst_false(client: &Client, ns: &str, name: &str, type_: &str, reason: &str) -> Value {
    wait_for(
        CONDITION_WAIT,
        &format!("instance {name} {type_}=False/{reason}"),
        || async {
            let s = instance_status(client, ns, name).await;
            false_with_reason(&s, type_, reason).cloned()
        },
    )
    .await
}

/// Condition `type_` of `status` when it is False with a reason starting with `reason`.
fn false_with_reason<'a>(status: &'a Value, type_: &str, reason: &str) -> Option<&'a Value> {
    condition(status, type_).filter(|c| {
        c["status"] == "False" && c["reason"].as_str().is_some_and(|r| r.starts_with(reason))
    })
}

/// Wait for an instance to be Ready; its status.
pub async fn inst_ready(client: &Client, ns: &str, name: &str) -> Value {
    wait_for(
        CONDITION_WAIT,
        &format!("instance {name} Ready"),
        || async {
            let s = instance_status(client, ns, name).await;
            is_ready(&s).then_some(s)
        },
    )
    .await
}

/// A condition's message ("" when it has none).
pub fn message(c: &Value) -> &str {
    c["message"].as_str().unwrap_or("")
}

/// The emulator's control API.
pub struct Control {
    pub base: String,
    http: reqwest::Client,
}

impl Control {
    pub fn new(emulator_url: &str) -> Self {
        Self {
            base: format!("{}/_emulator", emulator_url.trim_end_matches('/')),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
        }
    }

    pub async fn instances(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/instances", self.base))
            .send()
            .await
            .expect("GET instances")
            .json()
            .await
            .expect("json");
        match v {
            Value::Array(a) => a,
            Value::Object(o) => o
                .get("instances")
                .and_then(|i| i.as_array())
                .cloned()
                .unwrap_or_default(),
            _ => vec![],
        }
    }

    /// Instances tagged with the owner uid (filtered by the emulator).
    pub async fn owned_by(&self, uid: &str) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/instances", self.base))
            .query(&[("tag", format!("cloudinstance-uid={uid}"))])
            .send()
            .await
            .expect("GET instances?tag")
            .json()
            .await
            .expect("json");
        v.as_array().cloned().unwrap_or_default()
    }

    /// Hold instance `id` in a status of its cloud that no API action reaches (Huawei
    /// SHELVED, SHELVED_OFFLOADED, PAUSED, SUSPENDED, ERROR), or release it (`None`), as the
    /// cloud or its operator would; the emulator's view of the instance.
    pub async fn set_provider_status(&self, id: &str, status: Option<&str>) -> Value {
        let r = self
            .http
            .post(format!("{}/instances/{id}/provider-status", self.base))
            .json(&serde_json::json!({ "status": status }))
            .send()
            .await
            .expect("POST provider-status");
        assert!(r.status().is_success(), "provider-status: {}", r.status());
        r.json().await.expect("json")
    }

    /// One instance, or None if the emulator does not know it.
    pub async fn instance(&self, id: &str) -> Option<Value> {
        let r = self
            .http
            .get(format!("{}/instances/{id}", self.base))
            .send()
            .await
            .expect("GET instance");
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        Some(r.json().await.expect("json"))
    }

    pub async fn calls(&self) -> Value {
        self.http
            .get(format!("{}/calls", self.base))
            .send()
            .await
            .expect("GET calls")
            .json()
            .await
            .expect("json")
    }

    /// Number of calls of `action` made to `provider` (all results).
    pub async fn call_count(&self, provider: &str, action: &str) -> u64 {
        let c = self.calls().await;
        count_in(&c, provider, action)
    }

    pub async fn reset_calls(&self) {
        self.http
            .post(format!("{}/calls/reset", self.base))
            .send()
            .await
            .expect("reset calls");
    }

    /// Make the guest OS of instance `id` ignore soft shutdown (or not).
    pub async fn guest_ignores_soft_stop(&self, id: &str, ignores: bool) {
        let r = self
            .http
            .post(format!("{}/instances/{id}/guest", self.base))
            .json(&serde_json::json!({"ignores_soft_stop": ignores}))
            .send()
            .await
            .expect("POST guest");
        assert!(
            r.status().is_success(),
            "set guest: {}",
            r.text().await.unwrap_or_default()
        );
    }

    pub async fn add_fault(&self, fault: Value) {
        let r = self
            .http
            .post(format!("{}/faults", self.base))
            .json(&fault)
            .send()
            .await
            .expect("POST fault");
        assert!(
            r.status().is_success(),
            "add fault: {}",
            r.text().await.unwrap_or_default()
        );
    }

    pub async fn clear_faults(&self) {
        self.http
            .delete(format!("{}/faults", self.base))
            .send()
            .await
            .expect("DELETE faults");
    }

    pub async fn set_config(&self, cfg: Value) {
        let r = self
            .http
            .post(format!("{}/config", self.base))
            .json(&cfg)
            .send()
            .await
            .expect("POST config");
        assert!(
            r.status().is_success(),
            "set config: {}",
            r.text().await.unwrap_or_default()
        );
    }

    pub async fn delete_instance(&self, id: &str) {
        let r = self
            .http
            .delete(format!("{}/instances/{id}", self.base))
            .send()
            .await
            .expect("DELETE instance");
        assert!(
            r.status().is_success(),
            "delete instance: {}",
            r.text().await.unwrap_or_default()
        );
    }
}

/// Find a call count in the emulator's `/calls` JSON, tolerant of its nesting
/// (`{provider: {action: n}}` or `{provider: {action: {total: n, ...}}}`).
pub fn count_in(calls: &Value, provider: &str, action: &str) -> u64 {
    let root = calls.get("calls").unwrap_or(calls);
    let v = &root[provider][action];
    v.as_u64()
        .or_else(|| v.get("total").and_then(Value::as_u64))
        .or_else(|| v.get("count").and_then(Value::as_u64))
        .unwrap_or(0)
}

pub const ALIBABA: Cloud = Cloud {
    provider: "alibaba",
    key_id: "LTAIDEMO0000000000000000",
    secret: "demo-alibaba-access-key-secret",
    project_id: None,
    region: "cn-hangzhou",
    zone: "cn-hangzhou-h",
    image: "aliyun_3_x64_20G_alibase_20240819.vhd",
    other_image: "ubuntu_22_04_x64_20G_alibase_20240926.vhd",
    instance_type: "ecs.g7.large",
    bigger_type: "ecs.g7.xlarge",
    network: r#"{"publicIpBandwidthMbps": 10, "subnetId": "vsw-bp1demo0000000000000", "securityGroupIds": ["sg-bp1demo0000000000000"]}"#,
    actions: Actions {
        create: "RunInstances",
        stop: "StopInstances",
        start: "StartInstances",
        reboot: "RebootInstances",
        modify: "ModifyInstanceAttribute",
        reinstall: "ReplaceSystemDisk",
        resize: "ModifyInstanceSpec",
        terminate: "DeleteInstances",
    },
};

pub const HUAWEI: Cloud = Cloud {
    provider: "huawei",
    key_id: "HWDEMOAK0000000000000",
    secret: "demo-huawei-secret-key",
    project_id: Some("0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
    region: "cn-north-4",
    zone: "cn-north-4a",
    image: "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61",
    other_image: "67f433d8-ed0e-4321-a8a2-a71838539e09",
    instance_type: "s6.medium.2",
    bigger_type: "s6.large.2",
    network: r#"{"publicIpBandwidthMbps": 10, "vpcId": "3c4d5e6f-0000-4000-8000-00000000de30", "subnetId": "4d5e6f70-0000-4000-8000-00000000de30"}"#,
    actions: Actions {
        create: "CreatePostPaidServers",
        stop: "BatchStopServers",
        start: "BatchStartServers",
        reboot: "BatchRebootServers",
        modify: "UpdateServer",
        reinstall: "ChangeServerOsWithCloudInit",
        resize: "ResizePostPaidServer",
        terminate: "DeleteServers",
    },
};
