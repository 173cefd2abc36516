//! Cloud-neutral requests → RPC parameters, and described instances → neutral details.
//!
//! Every parameter travels as a `name=value` pair (lists as `Name.1`, `Name.2`, ...);
//! [`super::super::AlibabaClient`] adds the common parameters and signs them.

use std::collections::BTreeMap;

use base64::Engine as _;

use super::Instance;
use crate::provider::common::{invalid, random_hex};
use crate::provider::{ChargeType, InstanceDetails, Login, Result, RunRequest};

/// The parameters of one call, sorted by name.
pub type Params = BTreeMap<String, String>;

/// `InstanceId.1=..&InstanceId.2=..`
pub fn put_list(p: &mut Params, name: &str, values: &[String]) {
    for (i, v) in values.iter().enumerate() {
        p.insert(format!("{name}.{}", i + 1), v.clone());
    }
}

/// Whether the action's official request model has a `RegionId` parameter. Only the
/// model's parameters may be sent: the common error table lists `UnsupportedParameter`
/// (400) for others (AlibabaCloudDocs/ecs `API Reference/Call methods/Response results.md`).
/// These models have no `RegionId` (SDK `alibabacloud-ecs20140526` 7.11.8, field lists of
/// `ModifyInstanceAttributeRequest`, `ReplaceSystemDiskRequest`, `ModifyInstanceSpecRequest`,
/// `DescribeInstanceTypesRequest`, `DescribeRegionsRequest`); the region still selects the
/// endpoint.
pub fn takes_region_id(action: &str) -> bool {
    !matches!(
        action,
        "ModifyInstanceAttribute"
            | "ReplaceSystemDisk"
            | "ModifyInstanceSpec"
            | "DescribeInstanceTypes"
            | "DescribeRegions"
    )
}

/// InstanceName as ECS accepts it: 2–128 characters, Unicode letters and digits plus
/// `: _ . -`, starting with a letter, not `http://`/`https://` (SDK
/// `RunInstancesRequest.instance_name`, `ModifyInstanceAttributeRequest.instance_name`;
/// AlibabaCloudDocs/ecs `Instances/RunInstances.md`, `InvalidInstanceName.Malformed`). The
/// `[`, `]` and `,` that RunInstances reads as a sequential-naming pattern are refused too:
/// the instance would not carry the name asked for.
pub fn check_instance_name(n: &str) -> Result<()> {
    let len = n.chars().count();
    let lower = n.to_ascii_lowercase();
    let ok = (2..=128).contains(&len)
        && n.chars().next().is_some_and(char::is_alphabetic)
        && n.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ':' | '_' | '.' | '-'))
        && !lower.starts_with("http://")
        && !lower.starts_with("https://");
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "InvalidInstanceName.Malformed",
            format!(
                "Alibaba ECS instance names are 2-128 letters, digits, ':', '_', '.' or '-', starting with a letter; `{n}` is not"
            ),
        ))
    }
}

pub fn put(p: &mut Params, name: &str, value: impl Into<String>) {
    p.insert(name.to_owned(), value.into());
}

pub fn put_login(p: &mut Params, login: &Login) -> Result<()> {
    if login.key_ids.len() > 1 {
        return Err(invalid(
            "InvalidParameter.KeyPairName",
            "Alibaba ECS binds at most one SSH key pair to an instance",
        ));
    }
    if let Some(k) = login.key_ids.first() {
        put(p, "KeyPairName", k.clone());
    }
    // "If you specify this parameter, the Password parameter must be left empty" (SDK
    // `RunInstancesRequest.password_inherit`, `ReplaceSystemDiskRequest.password_inherit`);
    // the cloud answers `InvalidPasswordParam.Mismatch` (RunInstances.md, ReplaceSystemDisk.md).
    if login.keep_image_login && login.password.is_some() {
        return Err(invalid(
            "InvalidPasswordParam.Mismatch",
            "Alibaba ECS cannot keep the image's password and set a new one: remove the password or keepImageLogin",
        ));
    }
    if let Some(pw) = &login.password {
        put(p, "Password", pw.expose());
    }
    if login.keep_image_login {
        put(p, "PasswordInherit", "true");
    }
    Ok(())
}

/// Largest `InternetMaxBandwidthOut` RunInstances takes, in Mbit/s.
const MAX_BANDWIDTH_OUT_MBPS: u32 = 100;

/// RunInstances parameters of a cloud-neutral [`RunRequest`].
pub fn run_params(req: &RunRequest) -> Result<Params> {
    let mut p = Params::new();
    put(&mut p, "RegionId", req.region.clone());
    if !req.zone.is_empty() {
        put(&mut p, "ZoneId", req.zone.clone());
    }
    put(&mut p, "ImageId", req.image_id.clone());
    put(&mut p, "InstanceType", req.instance_type.clone());
    put(&mut p, "Amount", req.count.max(1).to_string());
    if let Some(n) = &req.instance_name {
        check_instance_name(n)?;
        put(&mut p, "InstanceName", n.clone());
    }
    if let Some(h) = &req.hostname {
        put(&mut p, "HostName", h.clone());
    }
    // Without a caller token, a per-call one still makes our own retries idempotent.
    let token = req.client_token.clone().unwrap_or_else(random_hex);
    put(&mut p, "ClientToken", token);
    if req.dry_run {
        put(&mut p, "DryRun", "true");
    }
    if let Some(d) = &req.system_disk {
        if let Some(t) = &d.disk_type {
            put(&mut p, "SystemDisk.Category", t.clone());
        }
        if d.size_gb > 0 {
            put(&mut p, "SystemDisk.Size", d.size_gb.to_string());
        }
    }
    for (i, d) in req.data_disks.iter().enumerate() {
        let n = i + 1;
        if let Some(t) = &d.disk_type {
            put(&mut p, &format!("DataDisk.{n}.Category"), t.clone());
        }
        put(&mut p, &format!("DataDisk.{n}.Size"), d.size_gb.to_string());
    }
    // "If you create a VPC-type ECS instance, you must specify a vSwitch ID" (SDK
    // `RunInstancesRequest.v_switch_id`); new instances are VPC instances, and the cloud
    // answers `InvalidVSwitchId.Necessary` (AlibabaCloudDocs/ecs `Instances/RunInstances.md`).
    // Refused before sending: a create without one can never succeed.
    match &req.network.subnet_id {
        Some(s) if !s.is_empty() => put(&mut p, "VSwitchId", s.clone()),
        _ => {
            return Err(invalid(
                "InvalidVSwitchId.Necessary",
                "Alibaba ECS creates instances in a VPC and needs the vSwitch: set spec.network.subnetId to the VSwitch id (vsw-...)",
            ));
        }
    }
    put_list(&mut p, "SecurityGroupIds", &req.network.security_group_ids);
    if let Some(bw) = req.network.public_bandwidth_mbps.filter(|b| *b > 0) {
        // 0–100 Mbit/s (SDK `RunInstancesRequest.internet_max_bandwidth_out`; RunInstances
        // error table `InvalidInternetMaxBandwidthOut.Malformed`, AlibabaCloudDocs/ecs
        // `Instances/RunInstances.md`); the CRD allows up to 1000 for the other clouds.
        if bw > MAX_BANDWIDTH_OUT_MBPS {
            return Err(invalid(
                "InvalidInternetMaxBandwidthOut.Malformed",
                format!(
                    "Alibaba ECS takes at most {MAX_BANDWIDTH_OUT_MBPS} Mbit/s of public bandwidth: set spec.network.publicIpBandwidthMbps to 0..{MAX_BANDWIDTH_OUT_MBPS} (got {bw})"
                ),
            ));
        }
        put(&mut p, "InternetMaxBandwidthOut", bw.to_string());
    }
    put_login(&mut p, &req.login)?;
    if let Some(ud) = &req.user_data {
        put(
            &mut p,
            "UserData",
            base64::engine::general_purpose::STANDARD.encode(ud.as_bytes()),
        );
    }
    for (i, (k, v)) in req.tags.iter().enumerate() {
        put(&mut p, &format!("Tag.{}.Key", i + 1), k.clone());
        put(&mut p, &format!("Tag.{}.Value", i + 1), v.clone());
    }
    match req.charge_type {
        ChargeType::OnDemand => put(&mut p, "InstanceChargeType", "PostPaid"),
        ChargeType::Prepaid => {
            put(&mut p, "InstanceChargeType", "PrePaid");
            put(&mut p, "Period", "1");
            put(&mut p, "PeriodUnit", "Month");
            // AutoRenew defaults to false: the subscription would expire after the
            // month, the cloud would stop the instance and later release it, and the
            // controller would lose the VM it is asked to keep. Renew monthly instead
            // (SDK `RunInstancesRequest.auto_renew` "Default value: false",
            // `auto_renew_period` Month 1, 2, 3, 6, 12, ...).
            put(&mut p, "AutoRenew", "true");
            put(&mut p, "AutoRenewPeriod", "1");
        }
        ChargeType::Spot => {
            put(&mut p, "InstanceChargeType", "PostPaid");
            put(&mut p, "SpotStrategy", "SpotAsPriceGo");
        }
    }
    Ok(p)
}

/// The cloud-neutral view of a described instance.
pub fn details(i: Instance) -> InstanceDetails {
    InstanceDetails {
        private_ips: i.private_ips(),
        public_ips: i.public_ips(),
        tags: i.tag_map(),
        created_at: i.created_rfc3339(),
        state: super::map_state(&i.status),
        security_group_ids: i.security_group_ids,
        id: i.instance_id,
        name: i.instance_name,
        provider_state: i.status,
        zone: i.zone_id,
        instance_type: i.instance_type,
        image_id: i.image_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Disk, ErrorKind, Network, SecretString};

    fn req() -> RunRequest {
        RunRequest {
            region: "cn-hangzhou".into(),
            zone: "cn-hangzhou-g".into(),
            image_id: "aliyun_3_x64".into(),
            instance_type: "ecs.g6.large".into(),
            instance_name: Some("web".into()),
            count: 2,
            system_disk: Some(Disk {
                disk_type: Some("cloud_essd".into()),
                size_gb: 40,
            }),
            data_disks: vec![Disk {
                disk_type: None,
                size_gb: 100,
            }],
            network: Network {
                vpc_id: Some("vpc-1".into()),
                subnet_id: Some("vsw-1".into()),
                security_group_ids: vec!["sg-1".into(), "sg-2".into()],
                public_bandwidth_mbps: Some(5),
            },
            login: Login {
                key_ids: vec![],
                password: Some(SecretString::new("Passw0rd!x")),
                keep_image_login: false,
            },
            tags: [("owner".to_string(), "ns/name".to_string())].into(),
            user_data: Some("#!/bin/sh\necho hi\n".into()),
            charge_type: ChargeType::Spot,
            client_token: Some("tok-1".into()),
            dry_run: true,
            extras: Default::default(),
            hostname: None,
        }
    }

    #[test]
    fn run_params_follow_the_wire_contract() {
        let p = run_params(&req()).unwrap();
        let g = |k: &str| p.get(k).map(String::as_str);
        assert_eq!(g("Amount"), Some("2"));
        assert_eq!(g("ClientToken"), Some("tok-1"));
        assert_eq!(g("DryRun"), Some("true"));
        assert_eq!(g("SystemDisk.Category"), Some("cloud_essd"));
        assert_eq!(g("SystemDisk.Size"), Some("40"));
        assert_eq!(g("DataDisk.1.Size"), Some("100"));
        assert_eq!(g("DataDisk.1.Category"), None);
        assert_eq!(g("VSwitchId"), Some("vsw-1"));
        assert_eq!(g("SecurityGroupIds.1"), Some("sg-1"));
        assert_eq!(g("SecurityGroupIds.2"), Some("sg-2"));
        assert_eq!(g("InternetMaxBandwidthOut"), Some("5"));
        assert_eq!(g("Password"), Some("Passw0rd!x"));
        assert_eq!(g("UserData"), Some("IyEvYmluL3NoCmVjaG8gaGkK"));
        assert_eq!(g("Tag.1.Key"), Some("owner"));
        assert_eq!(g("Tag.1.Value"), Some("ns/name"));
        assert_eq!(g("InstanceChargeType"), Some("PostPaid"));
        assert_eq!(g("SpotStrategy"), Some("SpotAsPriceGo"));
    }

    #[test]
    fn generated_token_when_none() {
        let mut r = req();
        r.client_token = None;
        let p = run_params(&r).unwrap();
        assert_eq!(p["ClientToken"].len(), 32);
    }

    #[test]
    fn instance_name_rules() {
        for ok in ["web", "vm-1.a_b:c", "名字", "w9"] {
            check_instance_name(ok).unwrap();
        }
        check_instance_name(&"a".repeat(128)).unwrap();
        for bad in [
            "a",
            "1web",
            "-web",
            "web 1",
            "web/1",
            "web[1,3]",
            "http://x",
            "HTTPS://x",
        ] {
            assert_eq!(
                check_instance_name(bad).unwrap_err().code,
                "InvalidInstanceName.Malformed",
                "{bad}"
            );
        }
        assert!(check_instance_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn password_and_password_inherit_exclude_each_other() {
        let mut p = Params::new();
        let login = Login {
            password: Some(crate::provider::SecretString::new("Passw0rd!x")),
            keep_image_login: true,
            ..Default::default()
        };
        assert_eq!(
            put_login(&mut p, &login).unwrap_err().code,
            "InvalidPasswordParam.Mismatch"
        );
        assert!(p.is_empty());
    }

    /// A VPC instance needs a vSwitch (SDK `RunInstancesRequest.v_switch_id`): without
    /// `subnetId` the create is refused before anything is sent, with the cloud's code.
    #[test]
    fn a_create_without_a_vswitch_is_refused() {
        for subnet in [None, Some(String::new())] {
            let mut r = req();
            r.network.subnet_id = subnet;
            let e = run_params(&r).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidRequest);
            assert_eq!(e.code, "InvalidVSwitchId.Necessary");
            assert!(e.message.contains("spec.network.subnetId"), "{}", e.message);
        }
    }

    /// InternetMaxBandwidthOut is 0–100 (SDK model, RunInstances error table): 101 is
    /// refused before sending with the cloud's code, 100 is sent.
    #[test]
    fn public_bandwidth_is_at_most_100() {
        let mut r = req();
        r.network.public_bandwidth_mbps = Some(101);
        let e = run_params(&r).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert_eq!(e.code, "InvalidInternetMaxBandwidthOut.Malformed");
        assert!(e.message.contains("publicIpBandwidthMbps"), "{}", e.message);
        r.network.public_bandwidth_mbps = Some(100);
        let p = run_params(&r).unwrap();
        assert_eq!(
            p.get("InternetMaxBandwidthOut").map(String::as_str),
            Some("100")
        );
    }

    #[test]
    fn two_key_pairs_are_refused() {
        let mut r = req();
        r.login.key_ids = vec!["a".into(), "b".into()];
        let e = run_params(&r).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn region_id_only_for_actions_whose_model_has_it() {
        // SDK alibabacloud-ecs20140526 7.11.8: these request models have no region_id.
        for a in [
            "ModifyInstanceAttribute",
            "ReplaceSystemDisk",
            "ModifyInstanceSpec",
            "DescribeInstanceTypes",
            "DescribeRegions",
        ] {
            assert!(!takes_region_id(a), "{a}");
        }
        for a in [
            "RunInstances",
            "DescribeInstances",
            "DescribeInstanceStatus",
            "StartInstances",
            "StopInstances",
            "RebootInstances",
            "DeleteInstances",
            "DescribeZones",
            "DescribeImages",
            "DescribeAvailableResource",
        ] {
            assert!(takes_region_id(a), "{a}");
        }
    }
}
