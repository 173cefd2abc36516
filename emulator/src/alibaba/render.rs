//! Alibaba names and JSON shapes for instances in the shared store.

use serde_json::{Map, Value, json};

use crate::store::{Instance, VmState};

use super::catalog;

/// The ECS `Status` of a shared state. ECS documents Pending, Running, Starting, Stopping
/// and Stopped; the other shared states are shown as the closest of those (a released
/// instance is simply gone).
pub fn state_name(s: VmState) -> &'static str {
    match s {
        VmState::Pending => "Pending",
        VmState::Running => "Running",
        VmState::Starting | VmState::Rebooting => "Starting",
        VmState::Stopping | VmState::Terminating => "Stopping",
        VmState::Stopped
        | VmState::Resetting
        | VmState::LaunchFailed
        | VmState::Terminated
        | VmState::Gone => "Stopped",
    }
}

/// `yyyy-MM-ddTHH:mmZ`, the ECS time format of CreationTime / StartTime / ExpiredTime.
pub fn minute_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%MZ").to_string())
        .unwrap_or_default()
}

pub fn ip_list(ips: &[String]) -> Value {
    json!({ "IpAddress": ips })
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn extra_str(i: &Instance, key: &str, default: &str) -> Value {
    i.extra
        .get(key)
        .and_then(Value::as_str)
        .map(s)
        .unwrap_or_else(|| s(default))
}

/// One element of `DescribeInstances` → `Instances.Instance`.
pub fn instance(i: &Instance, now: i64) -> Value {
    let image = catalog::image(&i.image_id);
    let itype = catalog::instance_type(&i.instance_type);
    let mut m = Map::new();
    m.insert("InstanceId".into(), s(&i.id));
    m.insert("InstanceName".into(), s(&i.name));
    m.insert("Description".into(), extra_str(i, "description", ""));
    m.insert(
        "HostName".into(),
        s(i.host_name.as_deref().unwrap_or(&i.id)),
    );
    m.insert("Status".into(), s(state_name(i.state_at(now))));
    m.insert("RegionId".into(), s(&i.region));
    m.insert("ZoneId".into(), s(&i.zone));
    m.insert("InstanceType".into(), s(&i.instance_type));
    m.insert(
        "InstanceTypeFamily".into(),
        s(itype.map(|t| t.family).unwrap_or_default()),
    );
    m.insert("Cpu".into(), json!(i.cpu));
    m.insert("Memory".into(), json!(u64::from(i.memory_gb) * 1024));
    m.insert("ImageId".into(), s(&i.image_id));
    m.insert(
        "OSName".into(),
        s(image.map(|x| x.os_name).unwrap_or_default()),
    );
    m.insert(
        "OSNameEn".into(),
        s(image.map(|x| x.os_name_en).unwrap_or_default()),
    );
    m.insert(
        "OSType".into(),
        s(image.map(|x| x.os_type).unwrap_or("linux")),
    );
    m.insert("CreationTime".into(), s(&minute_time(i.created_ms)));
    m.insert("StartTime".into(), s(&minute_time(i.created_ms)));
    m.insert(
        "ExpiredTime".into(),
        s(&i.expires_ms
            .map(minute_time)
            .unwrap_or_else(|| "2099-12-31T15:59Z".into())),
    );
    m.insert("InstanceChargeType".into(), s(&i.charge_type));
    m.insert(
        "SpotStrategy".into(),
        extra_str(i, "spot_strategy", "NoSpot"),
    );
    m.insert(
        "InternetChargeType".into(),
        s(i.internet_charge_type.as_deref().unwrap_or("PayByTraffic")),
    );
    m.insert("InternetMaxBandwidthOut".into(), json!(i.bandwidth_out));
    m.insert(
        "InternetMaxBandwidthIn".into(),
        json!(if i.bandwidth_out > 0 { 200 } else { 0 }),
    );
    m.insert("InstanceNetworkType".into(), s("vpc"));
    m.insert("PublicIpAddress".into(), ip_list(&i.public_ips));
    m.insert("InnerIpAddress".into(), ip_list(&[]));
    m.insert(
        "EipAddress".into(),
        json!({"IpAddress": "", "AllocationId": "", "InternetChargeType": "", "Bandwidth": 0}),
    );
    m.insert(
        "VpcAttributes".into(),
        json!({
            "VpcId": i.vpc_id.clone().unwrap_or_default(),
            "VSwitchId": i.subnet_id.clone().unwrap_or_default(),
            "PrivateIpAddress": ip_list(&i.private_ips),
            "NatIpAddress": "",
        }),
    );
    m.insert(
        "SecurityGroupIds".into(),
        json!({ "SecurityGroupId": i.security_groups }),
    );
    let tags: Vec<Value> = i
        .tags
        .iter()
        .map(|t| json!({"TagKey": t.key, "TagValue": t.value}))
        .collect();
    m.insert("Tags".into(), json!({ "Tag": tags }));
    m.insert(
        "NetworkInterfaces".into(),
        json!({"NetworkInterface": [{
            "Type": "Primary",
            "NetworkInterfaceId": extra_str(i, "eni_id", ""),
            "PrimaryIpAddress": i.private_ips.first().cloned().unwrap_or_default(),
            "MacAddress": extra_str(i, "mac", ""),
        }]}),
    );
    m.insert(
        "KeyPairName".into(),
        s(i.key_ids.first().map(String::as_str).unwrap_or("")),
    );
    m.insert(
        "StoppedMode".into(),
        s(match i.state_at(now) {
            VmState::Stopped if i.stop_charging => "StopCharging",
            VmState::Stopped => "KeepCharging",
            _ => "Not-applicable",
        }),
    );
    m.insert("DeletionProtection".into(), json!(i.protected));
    m.insert("SerialNumber".into(), s(&i.uuid));
    m.insert("OperationLocks".into(), json!({"LockReason": []}));
    m.insert("IoOptimized".into(), json!(true));
    m.insert("DeviceAvailable".into(), json!(true));
    m.insert("GPUAmount".into(), json!(0));
    m.insert("GPUSpec".into(), s(""));
    m.insert("LocalStorageAmount".into(), json!(0));
    m.insert("LocalStorageCapacity".into(), json!(0));
    m.insert("CreditSpecification".into(), s(""));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(state_name(VmState::Pending), "Pending");
        assert_eq!(state_name(VmState::Running), "Running");
        assert_eq!(state_name(VmState::Stopping), "Stopping");
        assert_eq!(state_name(VmState::Stopped), "Stopped");
        assert_eq!(state_name(VmState::Starting), "Starting");
        assert_eq!(minute_time(1_514_520_000_000), "2017-12-29T04:00Z");
    }
}
