//! The stored instance of a create call. The cloud modules validate a create request and
//! map it to the fields below; what every new instance shares (timestamps, the Pending
//! phase, the recorded operation, a fresh UUID) is set here, the same for every cloud.

use serde_json::Map;

use crate::config::Provider;
use crate::store::{Disk, Instance, VmState, new_uuid};

impl Instance {
    /// A new instance of `provider` owned by `account`, created at `now`: no name, image,
    /// type, addresses or disks yet (the caller fills them in with struct update syntax),
    /// no schedule (see [`Instance::launch`]).
    pub fn new(
        provider: Provider,
        account: &str,
        region: &str,
        zone: &str,
        id: &str,
        now: i64,
    ) -> Instance {
        Instance {
            provider,
            account: account.to_owned(),
            region: region.to_owned(),
            zone: zone.to_owned(),
            id: id.to_owned(),
            name: String::new(),
            image_id: String::new(),
            instance_type: String::new(),
            cpu: 0,
            memory_gb: 0,
            schedule: vec![],
            private_ips: vec![],
            public_ips: vec![],
            tags: vec![],
            security_groups: vec![],
            created_ms: now,
            updated_ms: now,
            charge_type: String::new(),
            expires_ms: None,
            renew_flag: None,
            system_disk: Disk {
                disk_type: String::new(),
                size_gb: 0,
                id: None,
                delete_with_instance: true,
            },
            data_disks: vec![],
            client_token: None,
            bandwidth_out: 0,
            internet_charge_type: None,
            vpc_id: None,
            subnet_id: None,
            key_ids: vec![],
            host_name: None,
            user_data: None,
            project_id: None,
            last_operation: None,
            seq: 0,
            uuid: new_uuid(),
            protected: false,
            stop_charging: false,
            guest_ignores_soft_stop: false,
            extra: Map::new(),
        }
    }

    /// Starts the launch: `Pending` for `pending_ms`, then `end` (Running, or the cloud's
    /// failed-launch state), and records `action` as the instance's latest operation.
    pub fn launch(
        &mut self,
        now: i64,
        pending_ms: u64,
        end: VmState,
        action: &str,
        request_id: &str,
    ) {
        self.set_schedule(now, &[(VmState::Pending, Some(pending_ms)), (end, None)]);
        self.record_operation(action, request_id, now, self.settles_at());
    }
}
