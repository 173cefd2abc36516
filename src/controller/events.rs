//! Kubernetes Events on our objects (create/start/stop/reboot/terminate/errors).

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// Publishes events as the reporting controller `controller` (the field manager's name).
/// Failures to publish are logged, never fatal.
pub struct Events {
    recorder: Recorder,
}

impl Events {
    pub fn new(client: Client, controller: &str) -> Self {
        let reporter = Reporter {
            controller: controller.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client, reporter),
        }
    }

    pub async fn normal(&self, obj: &ObjectReference, reason: &str, action: &str, note: String) {
        self.publish(obj, EventType::Normal, reason, action, note)
            .await
    }

    pub async fn warning(&self, obj: &ObjectReference, reason: &str, action: &str, note: String) {
        self.publish(obj, EventType::Warning, reason, action, note)
            .await
    }

    async fn publish(
        &self,
        obj: &ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        // events.k8s.io/v1 allows 1 kB notes and 128-character reasons. Cut on character
        // boundaries: cloud messages are often Chinese (a byte cut would panic).
        let ev = Event {
            type_,
            reason: crate::text::clip(reason, 128),
            note: Some(crate::text::clip(&note, 1000)),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, obj).await {
            tracing::warn!(error = %e, reason, "failed to publish event");
        }
    }
}
