//! API (CRD) types → provider (cloud-neutral) types: the one place where a spec field
//! becomes a field of a provider request. Pure functions, no I/O. `src/api/` knows
//! nothing of the provider layer and `src/provider/` nothing of the CRDs; this module
//! knows both.

use std::collections::BTreeMap;

use kube::ResourceExt;

use super::context::{TAG_INCARNATION, TAG_NAME, TAG_NAMESPACE, TAG_UID};
use crate::api::CloudInstance;
use crate::api::credential::{CloudCredentialSpec, Provider};
use crate::api::instance::{self as api, CloudInstanceSpec, DiskSpec};
use crate::provider::{
    self, Disk, InstanceState, Login, Network, ProviderExtras, ProviderKind, ReinstallRequest,
    RunRequest, SecretString, StopMode,
};

/// `CloudCredential.spec.provider`.
impl From<Provider> for ProviderKind {
    fn from(p: Provider) -> Self {
        match p {
            Provider::Tencent => Self::Tencent,
            Provider::Alibaba => Self::Alibaba,
            Provider::Huawei => Self::Huawei,
        }
    }
}

/// Huawei: the project id of every configured region of a credential (`projectIds`, and
/// `projectId` as the project of cn-north-4; see
/// `crate::provider::huawei::projects::LEGACY_PROJECT_REGION`).
pub fn huawei_project_ids(spec: &CloudCredentialSpec) -> BTreeMap<String, String> {
    let mut m = spec.project_ids.clone().unwrap_or_default();
    if let Some(p) = &spec.project_id {
        m.entry(provider::huawei::projects::LEGACY_PROJECT_REGION.to_owned())
            .or_insert_with(|| p.clone());
    }
    m
}

/// `spec.stopMode`.
pub fn stop_mode(spec: &CloudInstanceSpec) -> StopMode {
    match spec.stop_mode {
        api::StopMode::Soft => StopMode::Soft,
        api::StopMode::Hard => StopMode::Hard,
        api::StopMode::SoftThenHard => StopMode::SoftThenHard,
    }
}

/// `spec.powerState` as the state the instance should be observed in.
pub fn wanted_state(spec: &CloudInstanceSpec) -> InstanceState {
    match spec.power_state {
        api::PowerState::Running => InstanceState::Running,
        api::PowerState::Stopped => InstanceState::Stopped,
    }
}

/// The name the instance should have in the cloud: `spec.instanceName`, else the
/// object's name.
pub fn desired_name<'a>(spec: &'a CloudInstanceSpec, object_name: &'a str) -> &'a str {
    spec.instance_name.as_deref().unwrap_or(object_name)
}

/// `spec.chargeType`.
pub fn charge_type(spec: &CloudInstanceSpec) -> provider::ChargeType {
    match spec.charge_type {
        api::ChargeType::OnDemand => provider::ChargeType::OnDemand,
        api::ChargeType::Prepaid => provider::ChargeType::Prepaid,
        api::ChargeType::Spot => provider::ChargeType::Spot,
    }
}

/// `spec.systemDisk` / `spec.dataDisks[]`.
fn disk(d: &DiskSpec) -> Disk {
    Disk {
        disk_type: d.disk_type.clone(),
        size_gb: d.size_gb.max(0) as u32,
    }
}

/// `spec.network`.
fn network(spec: &CloudInstanceSpec) -> Network {
    let net = spec.network.clone().unwrap_or_default();
    Network {
        vpc_id: net.vpc_id,
        subnet_id: net.subnet_id,
        security_group_ids: net.security_group_ids,
        public_bandwidth_mbps: net.public_ip_bandwidth_mbps.map(|b| b.max(0) as u32),
    }
}

/// `spec.login`, with the password read from `login.passwordSecretRef` (if any).
pub fn login(spec: &CloudInstanceSpec, password: Option<SecretString>) -> Login {
    let l = spec.login.clone().unwrap_or_default();
    Login {
        key_ids: l.key_ids,
        password,
        keep_image_login: l.keep_image_login,
    }
}

/// `spec.providerOptions`.
fn extras(spec: &CloudInstanceSpec) -> ProviderExtras {
    ProviderExtras {
        tencent_project_id: spec
            .provider_options
            .as_ref()
            .and_then(|o| o.tencent.as_ref())
            .and_then(|t| t.project_id),
    }
}

/// The tags the controller puts on every instance: the user's `spec.tags` plus the owner
/// tags (uid, name, namespace, incarnation).
pub fn owner_tags(obj: &CloudInstance, incarnation: i32) -> BTreeMap<String, String> {
    let mut tags = obj.spec.tags.clone();
    tags.insert(TAG_UID.into(), obj.uid().unwrap_or_default());
    tags.insert(TAG_NAME.into(), obj.name_any());
    tags.insert(TAG_NAMESPACE.into(), obj.namespace().unwrap_or_default());
    tags.insert(TAG_INCARNATION.into(), incarnation.to_string());
    tags
}

/// The create request of `obj`'s `incarnation`. Its idempotency token is a UUID derived
/// from the object, its incarnation and the request's parameters
/// (`provider::token::create_token`), so a retry reuses it and a changed request or a dry
/// run does not (Huawei requires a UUID; see that module).
pub fn run_request(
    obj: &CloudInstance,
    incarnation: i32,
    password: Option<SecretString>,
) -> RunRequest {
    let spec = &obj.spec;
    let mut req = RunRequest {
        region: spec.region.clone(),
        zone: spec.zone.clone(),
        image_id: spec.image_id.clone(),
        instance_type: spec.instance_type.clone(),
        instance_name: Some(desired_name(spec, &obj.name_any()).to_owned()),
        hostname: spec.hostname.clone(),
        count: 1,
        system_disk: spec.system_disk.as_ref().map(disk),
        data_disks: spec.data_disks.iter().map(disk).collect(),
        network: network(spec),
        login: login(spec, password),
        tags: owner_tags(obj, incarnation),
        user_data: spec.user_data.clone(),
        charge_type: charge_type(spec),
        client_token: None,
        dry_run: spec.dry_run,
        extras: extras(spec),
    };
    req.client_token = Some(provider::token::create_token(
        &obj.uid().unwrap_or_default(),
        incarnation,
        &req,
    ));
    req
}

/// The request reinstalling the OS with `image_id` (the spec's, as the plan decided).
pub fn reinstall_request(
    spec: &CloudInstanceSpec,
    image_id: &str,
    password: Option<SecretString>,
) -> ReinstallRequest {
    ReinstallRequest {
        image_id: image_id.to_owned(),
        login: login(spec, password),
        system_disk_size_gb: spec.system_disk.as_ref().map(|d| d.size_gb.max(0) as u32),
        hostname: spec.hostname.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(spec: serde_json::Value) -> CloudInstance {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "compute.cloudinstance.io/v1alpha1", "kind": "CloudInstance",
            "metadata": {"name": "vm", "namespace": "n", "uid": "u-1"},
            "spec": spec,
        }))
        .unwrap()
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "credentialRef": {"name": "c"},
            "region": "ap-guangzhou",
            "zone": "ap-guangzhou-3",
            "imageId": "img-1",
            "instanceType": "S5.SMALL2",
        })
    }

    #[test]
    fn the_create_request_carries_every_spec_field_and_the_owner_tags() {
        let mut spec = base();
        spec["chargeType"] = "Spot".into();
        spec["systemDisk"] = serde_json::json!({"diskType": "CLOUD_SSD", "sizeGb": 50});
        spec["dataDisks"] = serde_json::json!([{"sizeGb": 100}]);
        spec["network"] = serde_json::json!({"vpcId": "vpc-1", "securityGroupIds": ["sg-1"],
            "publicIpBandwidthMbps": 10});
        spec["providerOptions"] = serde_json::json!({"tencent": {"projectId": 7}});
        spec["tags"] = serde_json::json!({"team": "a"});
        let obj = object(spec);
        let req = run_request(&obj, 2, None);
        assert_eq!(req.instance_type, "S5.SMALL2");
        assert_eq!(req.instance_name.as_deref(), Some("vm"));
        assert_eq!(req.charge_type, provider::ChargeType::Spot);
        assert_eq!(req.system_disk.as_ref().map(|d| d.size_gb), Some(50));
        assert_eq!(req.data_disks.len(), 1);
        assert_eq!(req.network.public_bandwidth_mbps, Some(10));
        assert_eq!(req.extras.tencent_project_id, Some(7));
        assert_eq!(req.tags["team"], "a");
        assert_eq!(req.tags[TAG_UID], "u-1");
        assert_eq!(req.tags[TAG_INCARNATION], "2");
        // the token follows the request: the same request, the same token
        let token = req.client_token.clone().expect("token");
        assert_eq!(run_request(&obj, 2, None).client_token, Some(token.clone()));
        assert_ne!(run_request(&obj, 3, None).client_token, Some(token));
    }

    #[test]
    fn names_modes_and_states() {
        let mut spec = base();
        spec["instanceName"] = "web-1".into();
        spec["stopMode"] = "Hard".into();
        spec["powerState"] = "Stopped".into();
        let obj = object(spec);
        assert_eq!(desired_name(&obj.spec, "vm"), "web-1");
        assert_eq!(stop_mode(&obj.spec), StopMode::Hard);
        assert_eq!(wanted_state(&obj.spec), InstanceState::Stopped);
        assert_eq!(ProviderKind::from(Provider::Huawei), ProviderKind::Huawei);
        let r = reinstall_request(&obj.spec, "img-2", None);
        assert_eq!(r.image_id, "img-2");
    }
}
