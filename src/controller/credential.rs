//! The CloudCredential reconciler: verify the keys with a cheap authenticated call,
//! report regions, count users, and hold deletion while instances still use it.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};

use super::cloud::{CREDENTIAL_SECRET_LABEL, CredentialError, is_marked};
use super::context::{Context, Error, FINALIZER};
use super::problem::Problem;
use super::ratelimit::ActionClass;
use super::recheck;
use super::status::{add_finalizer, age_of, apply_status, now_rfc3339, remove_finalizer};
use crate::api::conditions::{self, Condition, READY};
use crate::api::{CloudCredential, CloudCredentialStatus};
use crate::provider::CloudProvider;

const KIND: &str = "CloudCredential";
/// Re-verification interval of a credential that is not Ready (capped by the setting).
const FAILED_RECHECK: Duration = Duration::from_secs(60);

pub async fn reconcile(obj: Arc<CloudCredential>, ctx: Arc<Context>) -> Result<Action, Error> {
    let obj = ctx.credential_writes.freshest(obj, |o| &mut o.status);
    let ns = obj.namespace().ok_or(Error::NoNamespace)?;
    let name = obj.name_any();
    ctx.run_reconcile(KIND, &ns, &name, reconcile_inner(&obj, &ctx, &ns))
        .await
}

pub fn error_policy(obj: Arc<CloudCredential>, err: &Error, ctx: Arc<Context>) -> Action {
    let wait = ctx.failure_backoff(&obj.uid().unwrap_or_default());
    tracing::warn!(name = %obj.name_any(), error = %err, "credential reconcile failed");
    Action::requeue(wait)
}

/// Why keys were not accepted: `transient` when the cloud could not be asked at all.
struct Refusal {
    problem: Problem,
    transient: bool,
}

impl From<&CredentialError> for Refusal {
    fn from(e: &CredentialError) -> Self {
        Self {
            problem: Problem::from(e),
            transient: false,
        }
    }
}

/// Whether Secret `name` matches this shard's `--label-selector` (asked of the apiserver,
/// which evaluates selectors exactly as the watch does).
async fn secret_in_shard(secrets: &Api<Secret>, name: &str, selector: &str) -> Result<bool, Error> {
    let lp = kube::api::ListParams::default()
        .fields(&format!("metadata.name={name}"))
        .labels(selector);
    Ok(!secrets.list_metadata(&lp).await?.items.is_empty())
}

/// Names of the instances in `ns` that reference credential `name`.
fn users(ctx: &Context, ns: &str, name: &str) -> Vec<String> {
    let mut v: Vec<String> = ctx
        .instances
        .state()
        .iter()
        .filter(|i| i.namespace().as_deref() == Some(ns) && i.spec.credential_ref.name == name)
        .map(|i| i.name_any())
        .collect();
    v.sort();
    v
}

async fn reconcile_inner(obj: &CloudCredential, ctx: &Context, ns: &str) -> Result<Action, Error> {
    let api: Api<CloudCredential> = Api::namespaced(ctx.client.clone(), ns);
    let name = obj.name_any();
    let key = format!("{ns}/{name}");
    let mut status = obj.status.clone().unwrap_or_default();
    // Count users only once the instance cache is filled (right after a start it may be
    // empty, and a deleting credential would let go while instances still need it).
    if !ctx.instances_synced.wait().await {
        return Ok(Action::await_change()); // shutting down
    }
    let users = users(ctx, ns, &name);
    let now = now_rfc3339();

    if obj.meta().deletion_timestamp.is_some() {
        return release(ctx, &api, obj, &key, &users).await;
    }
    if !obj.finalizers().iter().any(|f| f == FINALIZER) {
        add_finalizer(&api, obj).await?;
        return Ok(Action::requeue(Duration::ZERO));
    }

    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let secret_name = &obj.spec.secret_ref.name;
    // Metadata first: the Secret's contents are read only when the endpoint is allowed and
    // the Secret is marked for this controller.
    let secret_meta = secrets.get_metadata_opt(secret_name).await?;
    let secret_version = secret_meta
        .as_ref()
        .and_then(|s| s.metadata.resource_version.clone());
    let age = status.last_verified_at.as_deref().and_then(age_of);
    let changed = status.secret_version != secret_version
        || status.observed_generation != obj.metadata.generation
        || conditions::find(&status.conditions, READY).is_none();
    // A refused credential is re-verified every minute (at most): the key may be
    // re-enabled on the cloud side, or the endpoint come back, without any change here.
    let failing = conditions::find(&status.conditions, READY).is_some_and(|c| !c.is_true());
    let interval = if failing {
        ctx.settings.credential_recheck.min(FAILED_RECHECK)
    } else {
        ctx.settings.credential_recheck
    };
    let requested = ctx.rechecks.take(&key);
    let verify = recheck::decide(changed, age, requested, interval);
    let mut requeue = interval
        .saturating_sub(age.unwrap_or_default())
        .max(Duration::from_secs(1));
    if let recheck::Verify::Later(wait) = verify {
        ctx.rechecks.defer(&key);
        requeue = requeue.min(wait);
    }
    if verify == recheck::Verify::Now {
        requeue = ctx.settings.credential_recheck;
        if requested {
            tracing::info!("re-verifying keys after an auth failure in a cloud call");
        }
        let verdict = verify_keys(ctx, obj, &key, &secrets, secret_meta.as_ref()).await?;
        let previous = conditions::find(&status.conditions, READY).cloned();
        let cond = match verdict {
            Ok(regions) => {
                status.regions = regions;
                ctx.reset_backoff(&obj.uid().unwrap_or_default());
                Some(Condition::new(
                    READY,
                    true,
                    "Verified",
                    "the keys were accepted by the cloud",
                ))
            }
            Err(r) if r.transient => {
                // The cloud could not be asked (throttled, 5xx, network): that says nothing
                // about the keys. A scheduled re-check of unchanged, verified keys keeps its
                // verdict; otherwise the verdict is Unknown. Either way, try again soon.
                requeue = ctx.failure_backoff(&obj.uid().unwrap_or_default());
                let p = r.problem;
                tracing::warn!(code = %p.reason, "could not verify the keys: {}", p.message);
                if !changed && previous.as_ref().is_some_and(|c| c.is_true()) {
                    None
                } else {
                    Some(Condition {
                        status: "Unknown".into(),
                        ..Condition::new(
                            READY,
                            false,
                            &p.reason,
                            format!(
                                "the keys could not be verified yet (retrying): {}",
                                p.message
                            ),
                        )
                    })
                }
            }
            Err(r) => {
                requeue = requeue.min(FAILED_RECHECK);
                ctx.handles.forget(&key);
                status.regions.clear();
                Some(Condition::new(
                    READY,
                    false,
                    &r.problem.reason,
                    r.problem.message,
                ))
            }
        };
        // None: the verdict is kept, and so is lastVerifiedAt, so the next attempt re-verifies
        if let Some(cond) = cond {
            status.conditions = conditions::merge(
                &status.conditions,
                vec![cond],
                obj.metadata.generation,
                &now,
            );
            status.last_verified_at = Some(now.clone());
            status.secret_version = secret_version;
        }
    }
    status.instance_count = users.len() as i32;
    status.observed_generation = obj.metadata.generation;
    write(ctx, &api, obj, &status).await?;
    Ok(Action::requeue(requeue))
}

/// A deleted credential: let go once no instance uses it (they may need its keys to
/// terminate), otherwise say which ones hold it.
async fn release(
    ctx: &Context,
    api: &Api<CloudCredential>,
    obj: &CloudCredential,
    key: &str,
    users: &[String],
) -> Result<Action, Error> {
    if !obj.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    if users.is_empty() {
        ctx.handles.forget(key);
        remove_finalizer(api, obj).await?;
        return Ok(Action::await_change());
    }
    let mut status = obj.status.clone().unwrap_or_default();
    let shown: Vec<_> = users.iter().take(5).cloned().collect();
    status.instance_count = users.len() as i32;
    let cond = Condition::new(
        READY,
        conditions::find(&status.conditions, READY).is_some_and(|c| c.is_true()),
        "DeletionBlocked",
        format!(
            "still used by {} CloudInstance(s) ({}{}); deletion completes when they are gone",
            users.len(),
            shown.join(", "),
            if users.len() > 5 { ", ..." } else { "" }
        ),
    );
    status.conditions = conditions::merge(
        &status.conditions,
        vec![cond],
        obj.metadata.generation,
        &now_rfc3339(),
    );
    write(ctx, api, obj, &status).await?;
    Ok(Action::requeue(Duration::from_secs(30)))
}

/// Server-side apply the status if it differs from what was read.
async fn write(
    ctx: &Context,
    api: &Api<CloudCredential>,
    obj: &CloudCredential,
    status: &CloudCredentialStatus,
) -> Result<(), Error> {
    let applied = apply_status(api, obj, obj.status.as_ref(), status).await?;
    if ctx.credential_writes.note(obj, applied, status) {
        ctx.metrics.status_written(KIND);
    }
    Ok(())
}

/// Verify the keys of `obj`: the endpoint is allowed, the Secret exists, is in this shard
/// and marked for this controller, a client can be built from it, and the cloud accepts
/// one cheap authenticated call. The regions the account can use, or why not.
async fn verify_keys(
    ctx: &Context,
    obj: &CloudCredential,
    key: &str,
    secrets: &Api<Secret>,
    secret_meta: Option<&PartialObjectMeta<Secret>>,
) -> Result<Result<Vec<String>, Refusal>, Error> {
    let secret_name = &obj.spec.secret_ref.name;
    let in_shard = match (&ctx.settings.label_selector, secret_meta) {
        (Some(selector), Some(_)) => secret_in_shard(secrets, secret_name, selector).await?,
        _ => true,
    };
    let secret = match (secret_meta, ctx.handles.check_endpoint(obj)) {
        (_, Err(e)) => Err(e),
        (None, _) => Err(CredentialError::SecretNotFound(secret_name.clone())),
        (Some(_), _) if !in_shard => Err(CredentialError::SecretNotInShard {
            secret: secret_name.clone(),
            selector: ctx.settings.label_selector.clone().unwrap_or_default(),
        }),
        (Some(m), _) if !is_marked(&m.metadata, CREDENTIAL_SECRET_LABEL) => {
            Err(CredentialError::SecretNotMarked {
                secret: secret_name.clone(),
                label: CREDENTIAL_SECRET_LABEL,
            })
        }
        (Some(_), Ok(())) => secrets
            .get_opt(secret_name)
            .await?
            .ok_or_else(|| CredentialError::SecretNotFound(secret_name.clone())),
    };
    Ok(match secret {
        Err(e) => Err(Refusal::from(&e)),
        Ok(secret) => match ctx.handles.build(key, obj, &secret) {
            Err(e) => Err(Refusal::from(&e)),
            Ok(h) => {
                match h
                    .call(
                        ActionClass::Describe,
                        "DescribeRegions",
                        h.provider.regions(),
                    )
                    .await
                {
                    Ok(regions) => Ok(regions
                        .into_iter()
                        .filter(|r| r.available)
                        .map(|r| r.id)
                        .collect()),
                    Err(e) => Err(Refusal {
                        problem: Problem::from(&e),
                        transient: e.is_retryable(),
                    }),
                }
            }
        },
    })
}
