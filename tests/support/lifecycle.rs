//! The instance lifecycle several e2e tests drive through the controller
//! (`instance_lifecycle.rs`, `traffic_contract.rs`, `tenant_isolation.rs`): each step
//! changes the object's spec and waits until the controller reports it done (and, where
//! the controller's status cannot tell, until the cloud shows it).

use std::time::Duration;

use kube::api::DeleteParams;
use kube::{Api, Client};
use serde_json::{Value, json};

use super::controller::{wait_for, wait_until};
use super::fixtures::{Control, condition, instance_status, is_ready, patch_spec};
use cloudinstance_controller::api::CloudInstance;

/// One CloudInstance driven through its lifecycle.
pub struct Lifecycle<'a> {
    pub client: &'a Client,
    pub ns: &'a str,
    pub name: &'a str,
    /// How long each step may take.
    pub timeout: Duration,
}

impl Lifecycle<'_> {
    pub fn new<'a>(
        client: &'a Client,
        ns: &'a str,
        name: &'a str,
        timeout: Duration,
    ) -> Lifecycle<'a> {
        Lifecycle {
            client,
            ns,
            name,
            timeout,
        }
    }

    pub async fn status(&self) -> Value {
        instance_status(self.client, self.ns, self.name).await
    }

    async fn patch(&self, spec: Value) {
        patch_spec(self.client, self.ns, self.name, spec).await;
    }

    /// Wait until the object is Ready in `state`; its status.
    pub async fn ready_in(&self, state: &str) -> Value {
        let what = format!("{} {state} and Ready", self.name);
        wait_for(self.timeout, &what, || async {
            let s = self.status().await;
            (s["state"] == state && is_ready(&s)).then_some(s)
        })
        .await
    }

    /// Wait until the (just applied) object is created, Running and Ready; its status and
    /// instance id.
    pub async fn created(&self) -> (Value, String) {
        let s = self.ready_in("Running").await;
        let id = s["instanceId"].as_str().expect("instanceId").to_string();
        (s, id)
    }

    /// Set `spec.powerState` and wait until the object is Ready in it.
    pub async fn power(&self, state: &str) {
        self.patch(json!({"powerState": state})).await;
        self.ready_in(state).await;
    }

    /// Stop, then start again.
    pub async fn stop_start(&self) {
        self.power("Stopped").await;
        self.power("Running").await;
    }

    /// Request a reboot at `at` (`spec.rebootRequestedAt`) and wait until it was acted on.
    pub async fn reboot(&self, at: &str) {
        self.patch(json!({"rebootRequestedAt": at})).await;
        wait_until(self.timeout, "reboot acted on", || async {
            let s = self.status().await;
            s["lastRebootRequestedAt"] == at && is_ready(&s)
        })
        .await;
    }

    /// Set `spec.instanceName` and wait until the cloud's instance `id` has it.
    pub async fn rename(&self, ctl: &Control, id: &str, to: &str) {
        self.patch(json!({"instanceName": to})).await;
        wait_for(self.timeout, "rename reaches the cloud", || async {
            (ctl.instance(id).await?["name"] == to).then_some(())
        })
        .await;
    }

    /// Set the security groups and wait until the cloud's instance `id` has them.
    pub async fn security_groups(&self, ctl: &Control, id: &str, sgs: &[&str]) {
        self.patch(json!({"network": {"securityGroupIds": sgs}}))
            .await;
        let mut want: Vec<&str> = sgs.to_vec();
        want.sort();
        wait_for(self.timeout, "security groups reach the cloud", || async {
            let i = ctl.instance(id).await?;
            let mut have: Vec<String> =
                serde_json::from_value(i["security_groups"].clone()).ok()?;
            have.sort();
            (have == want).then_some(())
        })
        .await;
    }

    /// Apply `spec` (an image change, with `reinstallPolicy: OnImageChange` now or set
    /// before) and wait until the object is reinstalled with `image`, Ready and Synced.
    pub async fn reinstall(&self, spec: Value, image: &str) {
        self.patch(spec).await;
        wait_until(self.timeout, "reinstalled and Ready", || async {
            let s = self.status().await;
            s["imageId"] == image
                && is_ready(&s)
                && condition(&s, "Synced").is_some_and(|c| c["status"] == "True")
        })
        .await;
    }

    /// Set `spec.instanceType` and wait until the object has it, Running and Ready (a
    /// resize stops the instance and starts it again).
    pub async fn resize(&self, instance_type: &str) {
        self.patch(json!({"instanceType": instance_type})).await;
        wait_until(self.timeout, "resized and Running", || async {
            let s = self.status().await;
            s["instanceType"] == instance_type && s["state"] == "Running" && is_ready(&s)
        })
        .await;
    }

    /// Delete the object and wait until it is gone (its finalizer released).
    pub async fn delete(&self) {
        let api = Api::<CloudInstance>::namespaced(self.client.clone(), self.ns);
        api.delete(self.name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("delete {}: {e}", self.name));
        wait_until(self.timeout, "object gone", || async {
            api.get_opt(self.name).await.unwrap().is_none()
        })
        .await;
    }
}
