//! ECS answers as cloud-neutral values.

use serde_json::Value;

use crate::provider::huawei::wire;
use crate::provider::*;

pub fn details(s: wire::ServerDetail) -> InstanceDetails {
    InstanceDetails {
        state: s.state(),
        private_ips: s.private_ips(),
        public_ips: s.public_ips(),
        security_group_ids: s.security_group_ids(),
        tags: s.tag_map(),
        provider_state: s.status.clone().unwrap_or_default(),
        zone: s.availability_zone.clone().unwrap_or_default(),
        instance_type: s.flavor.as_ref().map(|f| f.id.clone()).unwrap_or_default(),
        image_id: s.image.as_ref().map(|i| i.id.clone()).unwrap_or_default(),
        created_at: s.created.clone(),
        name: s.name,
        id: s.id,
    }
}

/// Flavors whose `cond:operation:status` is `abandon`/`sellout` are not sold; a zone listed
/// in `cond:operation:az` as `zone(sellout)` or `zone(abandon)` overrides that per zone.
pub fn flavor_on_sale(f: &wire::FlavorItem, zone: Option<&str>) -> bool {
    let spec = |k: &str| f.os_extra_specs.get(k).and_then(Value::as_str);
    let blocked = |s: &str| s == "abandon" || s == "sellout" || s == "obt_sellout";
    if let (Some(z), Some(azs)) = (zone, spec("cond:operation:az")) {
        for entry in azs.split(',') {
            if let Some((name, status)) = entry.trim().split_once('(')
                && name == z
            {
                return !blocked(status.trim_end_matches(')'));
            }
        }
    }
    !spec("cond:operation:status").is_some_and(blocked)
}

/// An IMS image.
pub fn image(i: wire::ImsImage) -> Image {
    Image {
        os_name: if i.os_version.is_empty() {
            i.platform
        } else {
            i.os_version
        },
        id: i.id,
        name: i.name,
        image_type: i.image_type,
    }
}

/// A flavor as an instance type of `zone`.
pub fn instance_type(f: wire::FlavorItem, zone: Option<&str>) -> InstanceTypeInfo {
    InstanceTypeInfo {
        zone: zone.unwrap_or_default().to_owned(),
        family: f.family(),
        cpu: f.vcpus.trim().parse().unwrap_or(0),
        memory_gb: (f.ram.trim().parse::<f64>().unwrap_or(0.0) / 1024.0).round() as u32,
        id: f.id,
    }
}

/// A server's state as the poller's status.
pub fn status(s: wire::ServerDetail) -> InstanceStatus {
    InstanceStatus {
        state: s.state(),
        provider_state: s.status.unwrap_or_default(),
        id: s.id,
    }
}
