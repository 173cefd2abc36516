//! Status writes: server-side apply of the whole status, only when it changed, plus
//! finalizer edits.

use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::context::{FINALIZER, MANAGER};

/// Now, to the second, as status timestamps are written (RFC 3339).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}

/// Time since a status timestamp (None if unreadable; zero if in the future).
pub fn age_of(t: &str) -> Option<Duration> {
    let t: jiff::Timestamp = t.parse().ok()?;
    let secs = jiff::Timestamp::now().duration_since(t).as_secs();
    Some(Duration::from_secs(secs.max(0) as u64))
}

/// What [`apply_status`] did.
#[derive(Debug, PartialEq)]
pub enum Applied {
    /// The status was already as wanted: nothing was sent.
    Unchanged,
    /// Written; the object's `resourceVersion` after the write.
    Written { resource_version: Option<String> },
}

/// Server-side apply `status` if it differs from `old`.
pub async fn apply_status<K, S>(
    api: &Api<K>,
    obj: &K,
    old: Option<&S>,
    new: &S,
) -> Result<Applied, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if old == Some(new) {
        return Ok(Applied::Unchanged);
    }
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": new,
    });
    let written = api
        .patch_status(
            &obj.name_any(),
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    Ok(Applied::Written {
        resource_version: written.resource_version(),
    })
}

/// Add our finalizer (JSON patch with a test on the current list, so concurrent edits fail loudly).
pub async fn add_finalizer<K>(api: &Api<K>, obj: &K) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let patch = if obj.finalizers().is_empty() {
        json!([{"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}])
    } else {
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": obj.finalizers()},
            {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER}
        ])
    };
    let patch: json_patch::Patch = serde_json::from_value(patch).expect("valid json patch");
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::<()>::Json(patch),
    )
    .await?;
    Ok(())
}

/// Remove our finalizer.
pub async fn remove_finalizer<K>(api: &Api<K>, obj: &K) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let Some(idx) = obj.finalizers().iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let patch = json!([
        {"op": "test", "path": format!("/metadata/finalizers/{idx}"), "value": FINALIZER},
        {"op": "remove", "path": format!("/metadata/finalizers/{idx}")}
    ]);
    let patch: json_patch::Patch = serde_json::from_value(patch).expect("valid json patch");
    match api
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::<()>::Json(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        // already gone: nothing to do
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}
