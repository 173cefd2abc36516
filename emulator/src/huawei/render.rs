//! Huawei names and JSON shapes for servers in the shared store.

use serde_json::{Map, Value, json};

use crate::store::{Instance, VmState};

use super::{catalog, held};

/// `(status, OS-EXT-STS:task_state, OS-EXT-STS:vm_state, OS-EXT-STS:power_state)`.
pub fn status(i: &Instance, now: i64) -> (&'static str, Option<&'static str>, &'static str, u8) {
    let s = i.state_at(now);
    if let Some(h) = held::held(i)
        && !matches!(s, VmState::Terminated | VmState::Gone)
    {
        return held::status(h, s == VmState::Terminating);
    }
    let resizing = i
        .extra
        .get("resize_until")
        .and_then(Value::as_i64)
        .is_some_and(|until| now < until);
    if resizing && matches!(s, VmState::Stopped | VmState::Running) {
        return ("RESIZE", Some("resize_migrating"), "active", 4);
    }
    let hard = i.extra.get("reboot_type").and_then(Value::as_str) == Some("HARD");
    match s {
        VmState::Pending => ("BUILD", Some("spawning"), "building", 0),
        VmState::LaunchFailed => ("ERROR", None, "error", 0),
        VmState::Running => ("ACTIVE", None, "active", 1),
        VmState::Stopping => ("ACTIVE", Some("powering-off"), "active", 1),
        VmState::Stopped => ("SHUTOFF", None, "stopped", 4),
        VmState::Starting => ("SHUTOFF", Some("powering-on"), "stopped", 4),
        VmState::Rebooting if hard => ("HARD_REBOOT", Some("rebooting_hard"), "active", 1),
        VmState::Rebooting => ("REBOOT", Some("rebooting"), "active", 1),
        VmState::Resetting => ("REBUILD", Some("rebuilding"), "active", 0),
        VmState::Terminating => {
            let before =
                i.extra.get("status_before_delete").and_then(Value::as_str) == Some("SHUTOFF");
            if before {
                ("SHUTOFF", Some("deleting"), "stopped", 4)
            } else {
                ("ACTIVE", Some("deleting"), "active", 1)
            }
        }
        VmState::Terminated | VmState::Gone => ("DELETED", None, "deleted", 0),
    }
}

/// The status name alone (control API).
pub fn state_name(s: VmState) -> &'static str {
    match s {
        VmState::Pending => "BUILD",
        VmState::LaunchFailed => "ERROR",
        VmState::Running | VmState::Stopping => "ACTIVE",
        VmState::Stopped | VmState::Starting => "SHUTOFF",
        VmState::Rebooting => "REBOOT",
        VmState::Resetting => "REBUILD",
        VmState::Terminating => "ACTIVE",
        VmState::Terminated | VmState::Gone => "DELETED",
    }
}

pub fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn launched(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S.000000").to_string())
        .unwrap_or_default()
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn extra(i: &Instance, key: &str) -> String {
    i.extra
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The `ServerDetail` object of list / show answers.
pub fn server(i: &Instance, now: i64) -> Value {
    let (status, task, vm_state, power) = status(i, now);
    let image = catalog::image(&i.image_id);
    let vpc = i.vpc_id.clone().unwrap_or_default();
    let mac = extra(i, "mac");
    let port = extra(i, "port_id");
    let mut addrs: Vec<Value> = i
        .private_ips
        .iter()
        .map(|ip| {
            json!({"version": "4", "addr": ip, "OS-EXT-IPS:type": "fixed", "primary": true,
                   "OS-EXT-IPS-MAC:mac_addr": mac, "OS-EXT-IPS:port_id": port})
        })
        .collect();
    addrs.extend(i.public_ips.iter().map(|ip| {
        json!({"version": "4", "addr": ip, "OS-EXT-IPS:type": "floating", "primary": true,
               "OS-EXT-IPS-MAC:mac_addr": mac, "OS-EXT-IPS:port_id": port})
    }));
    let mut addresses = Map::new();
    addresses.insert(vpc.clone(), Value::Array(addrs));
    let sgs: Vec<Value> = i
        .security_groups
        .iter()
        .map(|g| json!({"id": g, "name": catalog::security_group(&i.region, g).unwrap_or(g)}))
        .collect();
    let tags: Vec<Value> = i
        .tags
        .iter()
        .map(|t| s(&format!("{}={}", t.key, t.value)))
        .collect();
    let mut metadata = Map::new();
    metadata.insert(
        "charging_mode".into(),
        s(match i.charge_type.as_str() {
            "prePaid" => "1",
            "spot" => "2",
            _ => "0",
        }),
    );
    metadata.insert("vpc_id".into(), s(&vpc));
    metadata.insert("metering.image_id".into(), s(&i.image_id));
    metadata.insert(
        "metering.imagetype".into(),
        s(image.map(|x| x.image_type).unwrap_or("gold")),
    );
    metadata.insert(
        "metering.resourcespeccode".into(),
        s(&format!("{}.linux", i.instance_type)),
    );
    metadata.insert(
        "image_name".into(),
        s(image.map(|x| x.name).unwrap_or_default()),
    );
    metadata.insert(
        "os_type".into(),
        s(image.map(|x| x.os_type).unwrap_or("Linux")),
    );
    metadata.insert("os_bit".into(), s("64"));
    let flavor = json!({
        "id": i.instance_type, "name": i.instance_type, "disk": "0",
        "vcpus": i.cpu.to_string(), "ram": (u64::from(i.memory_gb) * 1024).to_string(),
    });
    let volumes: Vec<Value> = std::iter::once(&i.system_disk)
        .chain(i.data_disks.iter())
        .enumerate()
        .map(|(n, d)| {
            json!({
                "id": d.id.clone().unwrap_or_default(),
                "delete_on_termination": if n == 0 || d.delete_with_instance { "true" } else { "false" },
                "bootIndex": if n == 0 { "0" } else { "-1" },
                "device": format!("/dev/vd{}", (b'a' + n.min(25) as u8) as char),
            })
        })
        .collect();

    let mut m = Map::new();
    m.insert("id".into(), s(&i.id));
    m.insert("name".into(), s(&i.name));
    m.insert("description".into(), s(&extra(i, "description")));
    m.insert("status".into(), s(status));
    m.insert(
        "OS-EXT-STS:task_state".into(),
        task.map(s).unwrap_or(Value::Null),
    );
    m.insert("OS-EXT-STS:vm_state".into(), s(vm_state));
    m.insert("OS-EXT-STS:power_state".into(), json!(power));
    m.insert("OS-EXT-AZ:availability_zone".into(), s(&i.zone));
    m.insert("flavor".into(), flavor);
    m.insert("image".into(), json!({"id": i.image_id}));
    m.insert("addresses".into(), Value::Object(addresses));
    m.insert("security_groups".into(), Value::Array(sgs));
    m.insert("tags".into(), Value::Array(tags));
    m.insert(
        "sys_tags".into(),
        json!([{"key": "_sys_enterprise_project_id", "value": "0"}]),
    );
    m.insert("metadata".into(), Value::Object(metadata));
    m.insert(
        "key_name".into(),
        s(i.key_ids.first().map(String::as_str).unwrap_or("")),
    );
    m.insert("created".into(), s(&time(i.created_ms)));
    m.insert("updated".into(), s(&time(i.updated_ms)));
    m.insert("OS-SRV-USG:launched_at".into(), s(&launched(i.created_ms)));
    m.insert("OS-SRV-USG:terminated_at".into(), s(""));
    m.insert(
        "tenant_id".into(),
        s(i.project_id.as_deref().unwrap_or_default()),
    );
    m.insert("user_id".into(), s(&extra(i, "user_id")));
    m.insert("hostId".into(), s(&extra(i, "host_id")));
    m.insert("host_status".into(), s("UP"));
    m.insert("OS-EXT-SRV-ATTR:host".into(), s(&extra(i, "host_id")));
    m.insert(
        "OS-EXT-SRV-ATTR:hypervisor_hostname".into(),
        s(&extra(i, "host_id")),
    );
    m.insert(
        "OS-EXT-SRV-ATTR:instance_name".into(),
        s(&extra(i, "instance_name")),
    );
    m.insert(
        "OS-EXT-SRV-ATTR:hostname".into(),
        s(i.host_name.as_deref().unwrap_or(&i.name)),
    );
    m.insert(
        "OS-EXT-SRV-ATTR:reservation_id".into(),
        s(&extra(i, "reservation_id")),
    );
    m.insert("OS-EXT-SRV-ATTR:launch_index".into(), json!(0));
    m.insert("OS-EXT-SRV-ATTR:root_device_name".into(), s("/dev/vda"));
    m.insert(
        "OS-EXT-SRV-ATTR:user_data".into(),
        s(i.user_data.as_deref().unwrap_or("")),
    );
    m.insert("OS-EXT-SRV-ATTR:kernel_id".into(), s(""));
    m.insert("OS-EXT-SRV-ATTR:ramdisk_id".into(), s(""));
    m.insert("OS-DCF:diskConfig".into(), s("MANUAL"));
    m.insert(
        "os-extended-volumes:volumes_attached".into(),
        Value::Array(volumes),
    );
    m.insert("accessIPv4".into(), s(""));
    m.insert("accessIPv6".into(), s(""));
    m.insert(
        "progress".into(),
        json!(if status == "BUILD" { 0 } else { 100 }),
    );
    m.insert("config_drive".into(), s(""));
    m.insert("locked".into(), json!(false));
    // ERROR servers carry `fault` (SDK huaweicloudsdkecs/v2/model/server_fault.py).
    if status == "ERROR" {
        m.insert(
            "fault".into(),
            json!({"code": 500, "message": "The server is in ERROR.", "details": "", "created": time(i.updated_ms)}),
        );
    }
    m.insert("enterprise_project_id".into(), s("0"));
    Value::Object(m)
}

/// The entry a `server_id=` filter returns for an unknown id: only `id` and `fault`.
pub fn missing_server(id: &str) -> Value {
    let mut m = Map::new();
    for k in [
        "name",
        "status",
        "flavor",
        "image",
        "addresses",
        "tags",
        "created",
    ] {
        m.insert(k.into(), Value::Null);
    }
    m.insert("id".into(), s(id));
    m.insert(
        "fault".into(),
        json!({"code": 404, "message": format!("Instance[{id}] could not be found."), "created": ""}),
    );
    Value::Object(m)
}

/// One `flavors` element.
pub fn flavor(f: &catalog::FlavorInfo, zones: &[String]) -> Value {
    let az: Vec<String> = zones
        .iter()
        .map(|z| {
            let st = if f.sold_out.contains(&z.as_str()) {
                "sellout"
            } else {
                "normal"
            };
            format!("{z}({st})")
        })
        .collect();
    json!({
        "id": f.id, "name": f.id, "vcpus": f.vcpus.to_string(), "ram": f.ram_mb, "disk": "0",
        "swap": "", "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": false,
        "rxtx_factor": 1, "rxtx_quota": null, "rxtx_cap": null, "os-flavor-access:is_public": true,
        "links": [],
        "os_extra_specs": {
            "ecs:performancetype": f.performance,
            "ecs:generation": f.generation,
            "ecs:virtualization_env_types": "CloudCompute",
            "cond:operation:status": "normal",
            "cond:operation:az": az.join(","),
        },
    })
}

/// One IMS `images` element.
pub fn image(i: &catalog::ImageInfo) -> Value {
    json!({
        "id": i.id, "name": i.name, "status": "active", "visibility": "public",
        "__os_version": i.os_version, "__platform": i.platform, "__os_type": i.os_type,
        "__imagetype": i.image_type, "__isregistered": "true", "__os_bit": "64",
        "__support_kvm": "true", "min_disk": i.min_disk, "min_ram": 0,
        "disk_format": "zvhd2", "container_format": "bare", "protected": true,
        "created_at": "2024-06-01T00:00:00Z", "updated_at": "2024-06-01T00:00:00Z",
        "self": format!("/v2/images/{}", i.id), "file": format!("/v2/images/{}/file", i.id),
        "schema": "/v2/schemas/image", "tags": [],
    })
}
