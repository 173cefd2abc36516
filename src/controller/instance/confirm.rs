//! Confirm before acting: between plan and apply, an irreversible step taken on the
//! strength of "the polls no longer list the instance" is confirmed by a describe by id,
//! and re-creations of one object are rate-limited.

use std::time::Duration;

use kube::ResourceExt;

use super::plan::Step;
use crate::api::CloudInstance;
use crate::controller::cloud::CloudHandle;
use crate::controller::context::Context;
use crate::controller::poller::Observation;
use crate::provider::{DescribeFilter, InstanceState};

/// Least time between two re-creations of one object (a cloud that keeps losing or failing
/// instances must not make the controller create one after another).
const RECREATE_INTERVAL: Duration = Duration::from_secs(60);

/// Whether an irreversible step must wait; the wait when so.
///
/// * "Missing" comes from batched polls that did not list the id. That is not proof (an
///   eventually consistent list, a page boundary, a misbehaving endpoint): before the
///   finalizer is released or a replacement created because of it, a direct describe by id
///   must not find the instance, or find it terminated.
/// * Re-creations of one object are at least `RECREATE_INTERVAL` (60 s) apart.
pub async fn wait_before(
    ctx: &Context,
    handle: &CloudHandle,
    obj: &CloudInstance,
    observation: &Observation,
    step: &Step,
) -> Option<Duration> {
    let id = obj.status.as_ref()?.instance_id.clone()?;
    let uid = obj.uid().unwrap_or_default();
    if *step == Step::Recreate
        && let Some(wait) = ctx.recreations.wait(&uid, RECREATE_INTERVAL)
    {
        return Some(wait);
    }
    let acts_on_missing = matches!(step, Step::RemoveFinalizer | Step::Recreate)
        && matches!(observation, Observation::Missing);
    let wait = if acts_on_missing {
        confirm_gone(handle, &obj.spec.region, &id).await
    } else {
        None
    };
    if wait.is_none() && *step == Step::Recreate {
        ctx.recreations.record(&uid);
    }
    wait
}

/// None when a describe by id does not find instance `id` alive; otherwise how long to
/// wait before looking again.
async fn confirm_gone(handle: &CloudHandle, region: &str, id: &str) -> Option<Duration> {
    let filter = DescribeFilter::Ids(vec![id.to_owned()]);
    let found = handle.describe_instances(region, &filter).await;
    match found {
        Ok(list) => {
            let alive = list
                .iter()
                .find(|d| d.id == id && d.state != InstanceState::Terminated)?;
            tracing::warn!(
                id,
                state = %alive.provider_state,
                "the status poll did not list the instance, but a describe by id finds it; \
                 not acting on 'missing'"
            );
            Some(Duration::from_secs(2))
        }
        Err(e) => {
            tracing::warn!(id, error = %e, "cannot confirm that the instance is gone; waiting");
            Some(Duration::from_secs(5))
        }
    }
}
