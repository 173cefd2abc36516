//! Stage 2, observe: what is known of the instance before deciding. The cloud's view
//! comes from the batched poller (the reconciler never describes a known id itself); a
//! create refused for this generation comes from the controller's own memory (the cache
//! may predate the status write that recorded it). Together with the object they make the
//! planner's [`Input`].

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use super::plan::{self, Input};
use crate::api::conditions::{self, READY};
use crate::api::{CloudInstance, CloudInstanceStatus};
use crate::controller::cloud::CloudHandle;
use crate::controller::context::Context;
use crate::controller::poller::{GroupKey, Observation};
use crate::controller::refused::RefusedCreate;
use crate::controller::status::age_of;
use crate::provider::CloudProvider;

/// What is known of one instance before planning.
pub struct Observed {
    /// The poll group (credential, region) the instance belongs to.
    pub group: GroupKey,
    /// The poller's latest view of the instance (`Unknown` while it has no id).
    pub observation: Observation,
    /// The cloud refused this generation's create, as this controller last recorded.
    pub refused: Option<RefusedCreate>,
}

/// Register the instance with its poll group and read what the poller and the
/// controller's memory know of it.
pub fn observe(
    ctx: &Context,
    ns: &str,
    obj: &CloudInstance,
    handle: &Arc<CloudHandle>,
) -> Observed {
    let group = GroupKey {
        credential: format!("{ns}/{}", obj.spec.credential_ref.name),
        region: obj.spec.region.clone(),
    };
    let observation = match obj.status.as_ref().and_then(|s| s.instance_id.as_deref()) {
        Some(id) => ctx
            .poller
            .observe(&group, handle, id, ObjectRef::from_obj(obj)),
        None => Observation::Unknown,
    };
    let refused = ctx
        .refused_creates
        .get(&obj.uid().unwrap_or_default(), obj.metadata.generation);
    Observed {
        group,
        observation,
        refused,
    }
}

/// Everything [`plan::plan`] decides on: the object (`name`, `status` as last written),
/// this observation, the cloud's capabilities and the settings.
pub fn plan_input<'a>(
    ctx: &Context,
    obj: &'a CloudInstance,
    name: &'a str,
    status: &'a CloudInstanceStatus,
    seen: &'a Observed,
    handle: &CloudHandle,
) -> Input<'a> {
    let recorded_refusal = conditions::find(&status.conditions, READY).is_some_and(|r| {
        r.reason == plan::CREATE_REFUSED && r.observed_generation == obj.metadata.generation
    });
    Input {
        object_name: name,
        spec: &obj.spec,
        status,
        has_finalizer: has_finalizer(obj),
        deleting: obj.metadata.deletion_timestamp.is_some(),
        observation: &seen.observation,
        reinstall_needs_stop: handle.provider.reinstall_requires_stopped(),
        soft_stop_age: status.soft_stop_requested_at.as_deref().and_then(age_of),
        soft_stop_grace: ctx.settings.soft_stop_grace,
        cloud_forces_stop: handle.provider.stops_soft_then_hard(),
        create_refused: recorded_refusal || seen.refused.is_some(),
    }
}

/// Whether the object carries this controller's finalizer.
pub fn has_finalizer(obj: &CloudInstance) -> bool {
    obj.finalizers()
        .iter()
        .any(|f| f == crate::controller::context::FINALIZER)
}
