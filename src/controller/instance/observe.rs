//! Stage 2, observe: what is known of the instance before deciding. The cloud's view
//! comes from the batched poller (the reconciler never describes a known id itself).
//! Together with the object (whose status is the last one written, see
//! [`crate::controller::own_writes`]) it makes the planner's [`Input`].

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use std::time::Duration;

use super::plan::Input;
use super::refusals;
use crate::api::{CloudInstance, CloudInstanceStatus};
use crate::controller::cloud::CloudHandle;
use crate::controller::context::Context;
use crate::controller::poller::{GroupKey, Observation};
use crate::controller::status::age_of;
use crate::provider::CloudProvider;

/// What is known of one instance before planning.
pub struct Observed {
    /// The poll group (credential, region) the instance belongs to.
    pub group: GroupKey,
    /// The poller's latest view of the instance (`Unknown` while it has no id).
    pub observation: Observation,
    /// This generation's create was refused and is not sent now; `Some(d)`: it is sent
    /// again in `d` ([`refusals`]).
    pub create_held: Option<Option<Duration>>,
}

/// Register the instance with its poll group and read what the poller knows of it.
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
    Observed {
        group,
        observation,
        create_held: refusals::create_held(obj),
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
        create_refused: seen.create_held.is_some(),
    }
}

/// Whether the object carries this controller's finalizer.
pub fn has_finalizer(obj: &CloudInstance) -> bool {
    obj.finalizers()
        .iter()
        .any(|f| f == crate::controller::context::FINALIZER)
}
