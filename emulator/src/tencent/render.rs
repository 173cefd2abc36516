//! Rendering store data in Tencent's response shapes.

use serde_json::{Value, json};

use super::catalog;
use super::error::ApiError;
use super::held;
use crate::store::{Disk, Instance, OpState, VmState};

/// Tencent `InstanceState` of a cloud-neutral state.
pub fn state_name(s: VmState) -> &'static str {
    match s {
        VmState::Pending => "PENDING",
        VmState::LaunchFailed => "LAUNCH_FAILED",
        VmState::Running => "RUNNING",
        VmState::Stopping => "STOPPING",
        VmState::Stopped => "STOPPED",
        VmState::Starting => "STARTING",
        // Tencent has no dedicated reinstall state: the instance reboots into the new
        // system; LatestOperation says ResetInstance / OPERATING meanwhile.
        VmState::Rebooting | VmState::Resetting => "REBOOTING",
        VmState::Terminating => "TERMINATING",
        VmState::Terminated => "SHUTDOWN",
        VmState::Gone => "TERMINATED",
    }
}

/// `UnsupportedOperation.InstanceState<State>` for an instance in the wrong state.
pub fn wrong_state(s: VmState, id: &str) -> ApiError {
    let camel: String = state_name(s)
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect();
    ApiError::new(
        format!("UnsupportedOperation.InstanceState{camel}"),
        format!(
            "The instance `{id}` is in state `{}`, which does not support this operation.",
            state_name(s)
        ),
    )
}

/// ISO 8601 UTC without fractions, as Tencent renders timestamps.
pub fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn system_disk(d: &Disk) -> Value {
    json!({
        "DiskType": d.disk_type,
        "DiskId": d.id,
        "DiskSize": d.size_gb,
        "CdcId": null,
        "DiskName": null,
    })
}

fn data_disk(d: &Disk) -> Value {
    json!({
        "DiskSize": d.size_gb,
        "DiskType": d.disk_type,
        "DiskId": d.id,
        "DeleteWithInstance": d.delete_with_instance,
        "SnapshotId": null,
        "Encrypt": false,
        "KmsKeyId": null,
        "ThroughputPerformance": 0,
        "CdcId": null,
        "BurstPerformance": false,
        "DiskName": null,
    })
}

fn opt_list(v: &[String]) -> Value {
    if v.is_empty() { Value::Null } else { json!(v) }
}

/// The `Instance` data structure of DescribeInstances.
pub fn instance(i: &Instance, now: i64) -> Value {
    let windows = catalog::image(&i.image_id).is_some_and(|im| im.is_windows());
    let os_name = catalog::image(&i.image_id)
        .map(|im| im.os_name)
        .unwrap_or("");
    let (latest_op, latest_state, latest_req) = match &i.last_operation {
        Some(op) => (
            json!(op.action),
            json!(match op.state_at(now) {
                OpState::Operating => "OPERATING",
                OpState::Success => "SUCCESS",
                OpState::Failed => "FAILED",
            }),
            json!(op.request_id),
        ),
        None => (Value::Null, Value::Null, Value::Null),
    };
    let project_id: i64 = i
        .project_id
        .as_deref()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    json!({
        "Placement": {
            "Zone": i.zone,
            "ProjectId": project_id,
            "HostIds": null,
            "HostId": null,
        },
        "InstanceId": i.id,
        "InstanceType": i.instance_type,
        "CPU": i.cpu,
        "Memory": i.memory_gb,
        "RestrictState": held::restrict_state(i, now),
        "InstanceName": i.name,
        "InstanceChargeType": i.charge_type,
        "SystemDisk": system_disk(&i.system_disk),
        "DataDisks": if i.data_disks.is_empty() { Value::Null } else { Value::Array(i.data_disks.iter().map(data_disk).collect()) },
        "PrivateIpAddresses": opt_list(&i.private_ips),
        "PublicIpAddresses": opt_list(&i.public_ips),
        "InternetAccessible": {
            "InternetChargeType": i.internet_charge_type,
            "InternetMaxBandwidthOut": i.bandwidth_out,
            "PublicIpAssigned": !i.public_ips.is_empty(),
            "BandwidthPackageId": null,
        },
        "VirtualPrivateCloud": {
            "VpcId": i.vpc_id,
            "SubnetId": i.subnet_id,
            "AsVpcGateway": false,
            "PrivateIpAddresses": null,
            "Ipv6AddressCount": null,
        },
        "ImageId": i.image_id,
        "RenewFlag": i.renew_flag,
        "CreatedTime": iso(i.created_ms),
        "ExpiredTime": i.expires_ms.map(iso),
        "OsName": os_name,
        "SecurityGroupIds": i.security_groups,
        "LoginSettings": {
            "Password": null,
            "KeyIds": opt_list(&i.key_ids),
            "KeepImageLogin": null,
        },
        "InstanceState": held::instance_state(i, now),
        "Tags": i.tags.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect::<Vec<_>>(),
        "StopChargingMode": if i.charge_type != "POSTPAID_BY_HOUR" {
            "NOT_APPLICABLE"
        } else if i.stop_charging {
            "STOP_CHARGING"
        } else {
            "KEEP_CHARGING"
        },
        "Uuid": i.uuid,
        "LatestOperation": latest_op,
        "LatestOperationState": latest_state,
        "LatestOperationRequestId": latest_req,
        // The reason of a FAILED latest operation (`Instance.LatestOperationErrorMsg`).
        "LatestOperationErrorMsg": if latest_state == "FAILED" {
            json!(format!("{} failed: the operation could not be completed", latest_op.as_str().unwrap_or("the operation")))
        } else {
            Value::Null
        },
        "DisasterRecoverGroupId": "",
        "IPv6Addresses": null,
        "CamRoleName": "",
        "HpcClusterId": "",
        "RdmaIpAddresses": null,
        "DedicatedClusterId": "",
        // ARREAR / EXPIRE / MANMADE / NOTISOLATED (tencentcloud-sdk-python-cvm
        // `Instance.IsolatedSource`): ARREAR/EXPIRE for an instance the cloud isolated
        // (`held.rs`), MANMADE for one returned to the recycle bin.
        "IsolatedSource": held::isolated_source(i, now),
        "GPUInfo": null,
        "LicenseType": "TencentCloud",
        "DisableApiTermination": i.protected,
        "DefaultLoginUser": if windows { "Administrator" } else { "root" },
        "DefaultLoginPort": if windows { 3389 } else { 22 },
        "HostName": i.host_name,
        "EnableJumboFrame": false,
        "Metadata": null,
        "PublicIPv6Addresses": null,
        "CpuTopology": null,
        "PartitionNumber": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_state_codes_follow_tencent_names() {
        assert_eq!(
            wrong_state(VmState::Running, "x").code,
            "UnsupportedOperation.InstanceStateRunning"
        );
        assert_eq!(
            wrong_state(VmState::LaunchFailed, "x").code,
            "UnsupportedOperation.InstanceStateLaunchFailed"
        );
        assert_eq!(
            wrong_state(VmState::Terminated, "x").code,
            "UnsupportedOperation.InstanceStateShutdown"
        );
        assert_eq!(
            wrong_state(VmState::Stopping, "x").code,
            "UnsupportedOperation.InstanceStateStopping"
        );
    }

    #[test]
    fn iso_format() {
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20Z");
    }
}
