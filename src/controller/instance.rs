//! The CloudInstance reconciler: a thin async shell around [`super::plan`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};

use super::cloud::{CloudHandle, CredentialError, secret_value};
use super::plan::{self, Input, Observation, Step};
use super::poller::GroupKey;
use super::ratelimit::ActionClass;
use super::status::{add_finalizer, age_of, apply_status, now_rfc3339, remove_finalizer};
use super::{Context, Error, FINALIZER, TAG_INCARNATION, TAG_NAME, TAG_NAMESPACE, TAG_UID};
use crate::api::conditions::{self, Condition, SYNCED};
use crate::api::instance::{ChargeType, CloudInstanceSpec};
use crate::api::{CloudCredential, CloudInstance, CloudInstanceStatus};
use crate::provider::{
    self, CloudProvider, DescribeFilter, Disk, ErrorKind, InstanceState, Login, Modification,
    Network, ProviderError, ReinstallRequest, RunRequest, SecretString, StopMode,
};

const KIND: &str = "CloudInstance";

/// Entry point for the kube-runtime Controller.
pub async fn reconcile(obj: Arc<CloudInstance>, ctx: Arc<Context>) -> Result<Action, Error> {
    let start = Instant::now();
    std::sync::LazyLock::force(&PROCESS_START);
    let ns = obj.namespace().ok_or(Error::NoNamespace)?;
    let span =
        tracing::info_span!("reconcile", kind = KIND, namespace = %ns, name = %obj.name_any());
    let _enter = span.enter();
    drop(_enter);
    let r = super::guard::contain(tracing::Instrument::instrument(
        reconcile_inner(obj.clone(), ctx.clone(), ns),
        span,
    ))
    .await
    .unwrap_or_else(|p| Err(Error::Panicked(p)));
    ctx.metrics.reconciled(KIND, r.is_ok(), start.elapsed());
    r
}

pub fn error_policy(obj: Arc<CloudInstance>, err: &Error, ctx: Arc<Context>) -> Action {
    let uid = obj.uid().unwrap_or_default();
    let wait = ctx.failure_backoff(&uid);
    tracing::warn!(name = %obj.name_any(), error = %err, retry_in_ms = wait.as_millis() as u64, "reconcile failed");
    Action::requeue(wait)
}

/// The outcome of executing one step.
struct Outcome {
    /// A provider error to surface as Synced=False.
    error: Option<ProviderError>,
    /// A non-provider problem to surface as Synced=False (reason, message).
    problem: Option<(String, String)>,
    requeue: Option<Duration>,
    /// The cloud accepted a dry-run create.
    dry_run_ok: bool,
}

impl Outcome {
    fn ok() -> Self {
        Self {
            error: None,
            problem: None,
            requeue: None,
            dry_run_ok: false,
        }
    }
}

async fn reconcile_inner(
    obj: Arc<CloudInstance>,
    ctx: Arc<Context>,
    ns: String,
) -> Result<Action, Error> {
    let api: Api<CloudInstance> = Api::namespaced(ctx.client.clone(), &ns);
    let name = obj.name_any();
    let uid = obj.uid().unwrap_or_default();
    let deleting = obj.meta().deletion_timestamp.is_some();
    let has_finalizer = obj.finalizers().iter().any(|f| f == FINALIZER);
    if deleting && let Ok(mut m) = ctx.refused_creates.lock() {
        m.remove(&uid);
    }
    if deleting {
        remember_unanswered(&uid, None);
    }
    let old_status = obj.status.clone();
    let mut status = old_status.clone().unwrap_or_default();
    let spec = &obj.spec;

    if deleting && !has_finalizer {
        return Ok(Action::await_change());
    }

    // Right after a (re)start the credential cache may still be empty: "not found" below
    // must mean not found, not "not listed yet" (a deleting object without an id would
    // otherwise lose its finalizer and leak an instance created just before a crash).
    if !ctx.credentials_synced.wait().await {
        return Ok(Action::await_change()); // shutting down
    }

    // Resolve the credential into a cloud handle.
    let cred_key = format!("{ns}/{}", spec.credential_ref.name);
    let handle = match resolve_handle(&ctx, &ns, &spec.credential_ref.name).await {
        Ok(h) => h,
        Err((reason, message)) => {
            let mut message = message;
            if deleting {
                match plan::deletion_without_cloud(spec, &status) {
                    plan::Release::Now => {
                        remove_finalizer(&api, &*obj).await?;
                        return Ok(Action::await_change());
                    }
                    plan::Release::AfterCloud(why) => {
                        message = format!(
                            "deletion waits for the credential: {}. {why}; fix the \
                             credential, or set spec.deletionPolicy: Orphan to let go of the \
                             instance without terminating it",
                            message.trim_end_matches('.')
                        );
                    }
                }
            }
            let synced = Condition::new(SYNCED, false, &reason, message);
            let mut conds = vec![synced];
            if let Some(r) = conditions::find(&status.conditions, conditions::READY) {
                conds.insert(0, r.clone());
            } else {
                conds.insert(
                    0,
                    Condition::new(
                        conditions::READY,
                        false,
                        "CredentialNotReady",
                        "waiting for the credential",
                    ),
                );
            }
            status.conditions = conditions::merge(
                &status.conditions,
                conds,
                obj.metadata.generation,
                &now_rfc3339(),
            );
            status.observed_generation = obj.metadata.generation;
            if apply_status(&api, &*obj, old_status.as_ref(), &status).await? {
                ctx.metrics.status_written(KIND);
            }
            // The credential watch re-triggers us when it changes; this is a safety net.
            return Ok(Action::requeue(Duration::from_secs(300)));
        }
    };
    let group = GroupKey {
        credential: cred_key,
        region: spec.region.clone(),
    };
    let objref = ObjectRef::from_obj(&*obj);
    let observation = match &status.instance_id {
        Some(id) => ctx.poller.observe(&group, &handle, id, objref.clone()),
        None => Observation::Unknown,
    };

    let snapshot = status.clone();
    let remembered: Option<RefusedCreate> = ctx.refused_creates.lock().ok().and_then(|m| {
        m.get(&uid)
            .filter(|r| r.generation == obj.metadata.generation)
            .cloned()
    });
    let input = Input {
        object_name: &name,
        spec,
        status: &snapshot,
        has_finalizer,
        deleting,
        observation: &observation,
        reinstall_needs_stop: handle.provider.reinstall_requires_stopped(),
        soft_stop_age: status.soft_stop_requested_at.as_deref().and_then(age_of),
        soft_stop_grace: ctx.settings.soft_stop_grace,
        cloud_forces_stop: handle.provider.stops_soft_then_hard(),
        create_refused: conditions::find(&status.conditions, conditions::READY).is_some_and(|r| {
            r.reason == plan::CREATE_REFUSED && r.observed_generation == obj.metadata.generation
        }) || remembered.is_some(),
    };
    let step = plan::plan(&input);
    tracing::debug!(step = plan::step_name(&step), "planned");
    // Irreversible steps taken on the strength of "the cloud no longer lists it" are
    // confirmed first, and re-creations are rate-limited per object.
    if let Some(wait) = guard_irreversible(&ctx, &handle, &obj, &observation, &step).await {
        ctx.poller
            .mark_mutated(&group, status.instance_id.as_deref().unwrap_or(""));
        return Ok(Action::requeue(wait));
    }
    let mut ready = plan::ready_condition(&input, &step);

    let outcome = execute(&ctx, &api, &obj, &handle, &group, &step, &mut status).await?;
    let finalizer_removed = matches!(step, Step::RemoveFinalizer)
        && outcome.requeue.is_none()
        && outcome.error.is_none();
    if finalizer_removed || (deleting && !has_finalizer) {
        return Ok(Action::await_change());
    }

    // A create the cloud refused as invalid is recorded in status: this generation is not
    // sent again (not on our own status write, not after a restart); a fixed spec is.
    if step == Step::Create
        && let Some(e) = outcome
            .error
            .as_ref()
            .filter(|e| e.kind == ErrorKind::InvalidRequest)
    {
        ready = Condition::new(
            conditions::READY,
            false,
            plan::CREATE_REFUSED,
            format!(
                "the cloud refused the create request ({}); fix the spec: the next change \
                 of the spec is tried again",
                e.summary()
            ),
        );
        if let Ok(mut m) = ctx.refused_creates.lock() {
            m.insert(
                uid.clone(),
                RefusedCreate {
                    generation: obj.metadata.generation,
                    ready: ready.clone(),
                    synced: (e.code.clone(), e.summary()),
                },
            );
        }
    }
    // Waiting for a fixed spec with a cache that may predate the status write recording
    // the refusal: what we wrote is what we report.
    if step == Step::AwaitSpecChange
        && let Some(r) = &remembered
    {
        ready = r.ready.clone();
    }
    if outcome.dry_run_ok {
        ready = Condition::new(
            conditions::READY,
            false,
            "DryRunSucceeded",
            "the cloud validated the create request (spec.dryRun is true); no instance was created",
        );
    }

    // Fold the observation into the status.
    if let Observation::Seen(d) = &observation {
        let mut changed = false;
        let mut set = |field: &mut Option<String>, v: &str| {
            let v = (!v.is_empty()).then(|| v.to_owned());
            if *field != v {
                *field = v;
                changed = true;
            }
        };
        set(&mut status.state, d.state.as_str());
        set(&mut status.provider_state, &d.provider_state);
        set(&mut status.zone, &d.zone);
        set(&mut status.instance_type, &d.instance_type);
        set(&mut status.image_id, &d.image_id);
        if status.created_at.is_none() {
            set(
                &mut status.created_at,
                d.created_at.as_deref().unwrap_or(""),
            );
        }
        if status.private_ips != d.private_ips || status.public_ips != d.public_ips {
            status.private_ips = d.private_ips.clone();
            status.public_ips = d.public_ips.clone();
            changed = true;
        }
        if changed {
            status.last_synced_at = Some(now_rfc3339());
        }
        if d.state == InstanceState::Stopped {
            status.soft_stop_requested_at = None; // it shut down
        }
    } else if matches!(observation, Observation::Missing)
        && status.state.as_deref() != Some("Terminated")
    {
        status.state = Some(InstanceState::Terminated.as_str().into());
        status.provider_state = None;
        status.last_synced_at = Some(now_rfc3339());
    }

    // Wanted running again (and no stop for a resize or reinstall under way): forget it.
    if spec.power_state == crate::api::instance::PowerState::Running
        && !matches!(
            step,
            Step::StopForResize(_)
                | Step::StopForReinstall(_)
                | Step::AwaitGuestStop(_)
                | Step::AwaitTransition(_)
        )
    {
        status.soft_stop_requested_at = None;
    }
    let error = outcome
        .error
        .as_ref()
        .map(|e| (e.code.clone(), e.summary()));
    // Waiting for a fixed spec: the refusal stays what Synced reports (what we wrote, or
    // after a restart what status says).
    let refusal = (step == Step::AwaitSpecChange)
        .then(|| {
            remembered.as_ref().map(|r| r.synced.clone()).or_else(|| {
                conditions::find(&status.conditions, SYNCED)
                    .filter(|c| !c.is_true())
                    .map(|c| (c.reason.clone(), c.message.clone()))
            })
        })
        .flatten();
    let problem = outcome
        .problem
        .clone()
        .or(error)
        .or(refusal)
        .or_else(|| ctx.poller.poll_problem(&group));
    let synced = plan::synced_condition(
        &Input {
            status: &status,
            ..input
        },
        problem.as_ref().map(|(r, m)| (r.as_str(), m.as_str())),
    );
    status.conditions = conditions::merge(
        &status.conditions,
        vec![ready.clone(), synced],
        obj.metadata.generation,
        &now_rfc3339(),
    );
    status.observed_generation = obj.metadata.generation;
    if apply_status(&api, &*obj, old_status.as_ref(), &status).await? {
        ctx.metrics.status_written(KIND);
    }

    if let Some(e) = &outcome.error {
        if e.kind == ErrorKind::Auth {
            ctx.rechecks.request(&group.credential);
        }
        if e.is_retryable() {
            return Ok(Action::requeue(ctx.failure_backoff(&uid)));
        }
        // Terminal (bad spec, auth, quota, wrong state): wait for a change, re-check rarely.
        return Ok(Action::requeue(Duration::from_secs(300)));
    }
    ctx.reset_backoff(&uid);
    if let Some(r) = outcome.requeue {
        return Ok(Action::requeue(r));
    }
    // The poller triggers us on every observed change; this is only a safety net.
    Ok(match step {
        Step::InSync | Step::ReportLost | Step::AwaitSpecChange => {
            Action::requeue(ctx.settings.resync)
        }
        _ => Action::requeue(Duration::from_secs(30)),
    })
}

/// Find the credential and turn it into a client, or say why not (reason, message).
async fn resolve_handle(
    ctx: &Context,
    ns: &str,
    cred_name: &str,
) -> Result<Arc<CloudHandle>, (String, String)> {
    let cred = ctx
        .credentials
        .get(&ObjectRef::<CloudCredential>::new(cred_name).within(ns))
        .ok_or_else(|| {
            let shard = match &ctx.settings.label_selector {
                Some(l) => format!(
                    " (or it does not match this controller's --label-selector {l}: label the \
                     credential and its Secret like the instances of this shard)"
                ),
                None => String::new(),
            };
            (
                "CredentialNotFound".to_string(),
                format!("CloudCredential {cred_name} not found in namespace {ns}{shard}"),
            )
        })?;
    let cstatus = cred.status.clone().unwrap_or_default();
    match conditions::find(&cstatus.conditions, conditions::READY) {
        Some(c) if c.is_true() => {}
        Some(c) => {
            return Err((
                "CredentialNotReady".into(),
                format!(
                    "CloudCredential {cred_name} is not ready: {}: {}",
                    c.reason, c.message
                ),
            ));
        }
        None => {
            return Err((
                "CredentialNotReady".into(),
                format!("CloudCredential {cred_name} has not been verified yet"),
            ));
        }
    }
    let key = format!("{ns}/{cred_name}");
    let version = super::cloud::version_of(&cred, cstatus.secret_version.as_deref().unwrap_or(""));
    if let Some(h) = ctx.handles.cached(&key, &version) {
        return Ok(h);
    }
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let secret = secrets
        .get_opt(&cred.spec.secret_ref.name)
        .await
        .map_err(|e| ("SecretReadFailed".to_string(), e.to_string()))?
        .ok_or_else(|| {
            let e = CredentialError::SecretNotFound(cred.spec.secret_ref.name.clone());
            (e.reason().to_string(), e.to_string())
        })?;
    ctx.handles
        .build(&key, &cred, &secret)
        .map_err(|e| (e.reason().to_string(), e.to_string()))
}

/// The event of a stop: a forced stop after the guest ignored one without force is a
/// `ForcedStop` (the user chose `SoftThenHard` and should see it happen).
fn stop_event(
    id: &str,
    mode: StopMode,
    status: &CloudInstanceStatus,
    why: &str,
) -> (&'static str, &'static str, String) {
    match (mode, &status.soft_stop_requested_at) {
        (StopMode::Hard, Some(at)) => (
            "ForcedStop",
            "Stop",
            format!(
                "instance {id}: the guest OS did not shut down after the stop requested at {at}; forcing it off to {why}"
            ),
        ),
        (StopMode::Hard, None) => (
            "Stopping",
            "Stop",
            format!("forcing instance {id} off to {why}"),
        ),
        _ => (
            "Stopping",
            "Stop",
            format!("asking the guest OS of instance {id} to shut down to {why}"),
        ),
    }
}

/// Remember when a stop without force was requested (the grace period runs from the
/// first one; a forced stop needs no grace).
fn note_stop(status: &mut CloudInstanceStatus, mode: StopMode, r: &Result<(), ProviderError>) {
    if r.is_ok() && mode != StopMode::Hard {
        status.soft_stop_requested_at = Some(now_rfc3339());
    }
}

/// Labels/tags the controller puts on every instance.
fn owner_tags(obj: &CloudInstance, incarnation: i32) -> BTreeMap<String, String> {
    let mut tags = obj.spec.tags.clone();
    tags.insert(TAG_UID.into(), obj.uid().unwrap_or_default());
    tags.insert(TAG_NAME.into(), obj.name_any());
    tags.insert(TAG_NAMESPACE.into(), obj.namespace().unwrap_or_default());
    tags.insert(TAG_INCARNATION.into(), incarnation.to_string());
    tags
}

/// Idempotency token of a create: a UUID derived from the object, its incarnation and the
/// create request's parameters (`provider::token::create_token`), so a retry reuses it and a
/// changed request or a dry run does not (Huawei requires a UUID; see that module).
pub fn client_token(uid: &str, incarnation: i32, req: &RunRequest) -> String {
    provider::token::create_token(uid, incarnation, req)
}

async fn read_password(
    ctx: &Context,
    ns: &str,
    spec: &CloudInstanceSpec,
) -> Result<Option<SecretString>, (String, String)> {
    let Some(r) = spec
        .login
        .as_ref()
        .and_then(|l| l.password_secret_ref.as_ref())
    else {
        return Ok(None);
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    // Only a Secret marked as a login Secret is read: otherwise a tenant could make any
    // Secret of the namespace the password of a VM they can log into.
    let meta = secrets
        .get_metadata_opt(&r.name)
        .await
        .map_err(|e| ("SecretReadFailed".to_string(), e.to_string()))?;
    if let Some(m) = &meta
        && !super::cloud::is_marked(&m.metadata, super::cloud::LOGIN_SECRET_LABEL)
    {
        let e = CredentialError::SecretNotMarked {
            secret: r.name.clone(),
            label: super::cloud::LOGIN_SECRET_LABEL,
        };
        return Err(("PasswordSecretNotMarked".to_string(), e.to_string()));
    }
    let s = secrets
        .get_opt(&r.name)
        .await
        .map_err(|e| ("SecretReadFailed".to_string(), e.to_string()))?
        .ok_or_else(|| {
            (
                "PasswordSecretNotFound".to_string(),
                format!("Secret {} (login.passwordSecretRef) not found", r.name),
            )
        })?;
    if !super::cloud::is_marked(&s.metadata, super::cloud::LOGIN_SECRET_LABEL) {
        return Err((
            "PasswordSecretNotMarked".to_string(),
            format!(
                "Secret {} lost its label {}",
                r.name,
                super::cloud::LOGIN_SECRET_LABEL
            ),
        ));
    }
    secret_value(&s, &r.key)
        .map(|v| Some(SecretString::new(v)))
        .ok_or_else(|| {
            (
                "PasswordSecretKeyMissing".to_string(),
                format!(
                    "Secret {} has no key {:?} (login.passwordSecretRef.key)",
                    r.name, r.key
                ),
            )
        })
}

fn login_of(spec: &CloudInstanceSpec, password: Option<SecretString>) -> Login {
    let l = spec.login.clone().unwrap_or_default();
    Login {
        key_ids: l.key_ids,
        password,
        keep_image_login: l.keep_image_login,
    }
}

fn run_request(
    obj: &CloudInstance,
    incarnation: i32,
    password: Option<SecretString>,
) -> RunRequest {
    let spec = &obj.spec;
    let net = spec.network.clone().unwrap_or_default();
    let mut req = RunRequest {
        region: spec.region.clone(),
        zone: spec.zone.clone(),
        image_id: spec.image_id.clone(),
        instance_type: spec.instance_type.clone(),
        instance_name: Some(plan::desired_name(spec, &obj.name_any()).to_owned()),
        hostname: spec.hostname.clone(),
        count: 1,
        system_disk: spec.system_disk.as_ref().map(|d| Disk {
            disk_type: d.disk_type.clone(),
            size_gb: d.size_gb.max(0) as u32,
        }),
        data_disks: spec
            .data_disks
            .iter()
            .map(|d| Disk {
                disk_type: d.disk_type.clone(),
                size_gb: d.size_gb.max(0) as u32,
            })
            .collect(),
        network: Network {
            vpc_id: net.vpc_id,
            subnet_id: net.subnet_id,
            security_group_ids: net.security_group_ids,
            public_bandwidth_mbps: net.public_ip_bandwidth_mbps.map(|b| b.max(0) as u32),
        },
        login: login_of(spec, password),
        tags: owner_tags(obj, incarnation),
        user_data: spec.user_data.clone(),
        charge_type: match spec.charge_type {
            ChargeType::OnDemand => provider::ChargeType::OnDemand,
            ChargeType::Prepaid => provider::ChargeType::Prepaid,
            ChargeType::Spot => provider::ChargeType::Spot,
        },
        client_token: None,
        dry_run: spec.dry_run,
        extras: provider::ProviderExtras {
            tencent_project_id: spec
                .provider_options
                .as_ref()
                .and_then(|o| o.tencent.as_ref())
                .and_then(|t| t.project_id),
        },
    };
    req.client_token = Some(client_token(
        &obj.uid().unwrap_or_default(),
        incarnation,
        &req,
    ));
    req
}

async fn execute(
    ctx: &Context,
    api: &Api<CloudInstance>,
    obj: &CloudInstance,
    handle: &CloudHandle,
    group: &GroupKey,
    step: &Step,
    status: &mut CloudInstanceStatus,
) -> Result<Outcome, Error> {
    let region = obj.spec.region.as_str();
    let id = status.instance_id.clone().unwrap_or_default();
    let ids = std::slice::from_ref(&id);
    let oref = obj.object_ref(&());
    let ev = &ctx.recorder;
    let m = Mutator {
        ctx,
        handle,
        group,
        id: &id,
        oref: &oref,
    };
    let result: Result<(), ProviderError> = match step {
        Step::InSync
        | Step::AwaitObservation
        | Step::AwaitTransition(_)
        | Step::AwaitSpecChange => Ok(()),
        Step::ReportLost => {
            if status.state.as_deref() != Some("Terminated")
                && status.state.as_deref() != Some("Failed")
            {
                ev.warning(
                    &oref,
                    "InstanceLost",
                    "Observe",
                    format!("instance {id} is gone or failed in the cloud"),
                )
                .await;
            }
            Ok(())
        }
        Step::AddFinalizer => {
            add_finalizer(api, obj).await?;
            return Ok(Outcome {
                requeue: Some(Duration::ZERO),
                ..Outcome::ok()
            });
        }
        Step::RemoveFinalizer => {
            if id.is_empty()
                && obj.spec.deletion_policy == crate::api::instance::DeletionPolicy::Delete
                && !obj.spec.dry_run
            {
                // No id recorded: a crash between RunInstances and writing its id leaves a
                // running instance we only know by its tag. Terminate it before letting go.
                match find_unrecorded(handle, obj).await {
                    Err(e) => {
                        return Ok(Outcome {
                            error: Some(e),
                            ..Outcome::ok()
                        });
                    }
                    Ok(Some(found)) => {
                        status.instance_id = Some(found.clone());
                        record_id(ctx, api, obj, status).await?;
                        ev.normal(
                            &oref,
                            "Adopted",
                            "Delete",
                            format!("found instance {found} tagged with this object's UID; terminating it"),
                        )
                        .await;
                        return Ok(Outcome {
                            requeue: Some(Duration::from_millis(200)),
                            ..Outcome::ok()
                        });
                    }
                    Ok(None) => {
                        if let Some(wait) = create_settling(
                            status.create_requested_at.as_deref(),
                            *PROCESS_START,
                            jiff::Timestamp::now(),
                            create_settle(&ctx.settings),
                        ) {
                            return Ok(Outcome {
                                problem: Some((
                                    "CreateMayStillTakeEffect".into(),
                                    format!(
                                        "a create request sent at {} got no answer and may still \
                                         take effect in the cloud; nothing carries this object's \
                                         UID yet; looking again in {}s before letting go",
                                        status.create_requested_at.as_deref().unwrap_or("?"),
                                        wait.as_secs()
                                    ),
                                )),
                                requeue: Some(wait),
                                ..Outcome::ok()
                            });
                        }
                    }
                }
            }
            ctx.poller.forget(group, &id);
            remove_finalizer(api, obj).await?;
            if !id.is_empty() {
                let what =
                    if obj.spec.deletion_policy == crate::api::instance::DeletionPolicy::Orphan {
                        "orphaned (deletionPolicy Orphan): left running in the cloud"
                    } else {
                        "terminated"
                    };
                ev.normal(&oref, "Deleted", "Delete", format!("instance {id} {what}"))
                    .await;
            }
            return Ok(Outcome::ok());
        }
        Step::Create => return create(ctx, api, obj, handle, status).await,
        Step::Recreate => {
            ev.warning(
                &oref,
                "InstanceLost",
                "Recreate",
                format!("instance {id} is gone; creating a replacement"),
            )
            .await;
            ctx.poller.forget(group, &id);
            status.instance_id = None;
            status.state = None;
            status.provider_state = None;
            status.private_ips.clear();
            status.public_ips.clear();
            status.created_at = None;
            status.incarnation = Some(status.incarnation.unwrap_or(0) + 1);
            return Ok(Outcome {
                requeue: Some(Duration::from_millis(100)),
                ..Outcome::ok()
            });
        }
        Step::Start => {
            let f = handle.provider.start_instances(region, ids);
            let note = format!("starting instance {id}");
            m.run("StartInstances", f, ("Starting", "Start", note))
                .await
        }
        Step::Stop(mode) => {
            let f = handle.provider.stop_instances(region, ids, *mode);
            let r = m
                .run(
                    "StopInstances",
                    f,
                    stop_event(&id, *mode, status, "stop it"),
                )
                .await;
            note_stop(status, *mode, &r);
            r
        }
        Step::AwaitGuestStop(left) => {
            return Ok(Outcome {
                requeue: Some(*left),
                ..Outcome::ok()
            });
        }
        Step::StopForResize(mode) | Step::StopForReinstall(mode) => {
            let why = if matches!(step, Step::StopForResize(_)) {
                "change its instance type"
            } else {
                "reinstall its OS"
            };
            let f = handle.provider.stop_instances(region, ids, *mode);
            let r = m
                .run("StopInstances", f, stop_event(&id, *mode, status, why))
                .await;
            note_stop(status, *mode, &r);
            r
        }
        Step::Reboot => {
            let f = handle.provider.reboot_instances(region, ids, false);
            let note = format!("rebooting instance {id}");
            let r = m
                .run("RebootInstances", f, ("Rebooting", "Reboot", note))
                .await;
            if r.is_ok() {
                status.last_reboot_requested_at = obj.spec.reboot_requested_at.clone();
            }
            r
        }
        Step::Rename(new) => {
            let change = Modification {
                name: Some(new.clone()),
                security_group_ids: None,
            };
            let f = handle.provider.modify_instance(region, &id, &change);
            let note = format!("renamed instance {id} to {new}");
            m.run("ModifyInstancesAttribute", f, ("Renamed", "Modify", note))
                .await
        }
        Step::SetSecurityGroups(sgs) => {
            let change = Modification {
                name: None,
                security_group_ids: Some(sgs.clone()),
            };
            let f = handle.provider.modify_instance(region, &id, &change);
            let note = format!("security groups of {id} set to {}", sgs.join(","));
            m.run(
                "ModifyInstancesAttribute",
                f,
                ("SecurityGroupsChanged", "Modify", note),
            )
            .await
        }
        Step::Reinstall => {
            let ns = obj.namespace().unwrap_or_default();
            let password = match read_password(ctx, &ns, &obj.spec).await {
                Ok(p) => p,
                Err(problem) => {
                    return Ok(Outcome {
                        problem: Some(problem),
                        ..Outcome::ok()
                    });
                }
            };
            let req = ReinstallRequest {
                image_id: obj.spec.image_id.clone(),
                login: login_of(&obj.spec, password),
                system_disk_size_gb: obj
                    .spec
                    .system_disk
                    .as_ref()
                    .map(|d| d.size_gb.max(0) as u32),
                hostname: obj.spec.hostname.clone(),
            };
            let f = handle.provider.reinstall(region, &id, &req);
            let note = format!(
                "reinstalling instance {id} with image {}",
                obj.spec.image_id
            );
            m.run("ResetInstance", f, ("Reinstalling", "Reinstall", note))
                .await
        }
        Step::Resize => {
            let f = handle.provider.resize(region, &id, &obj.spec.instance_type);
            let note = format!("changing instance {id} to type {}", obj.spec.instance_type);
            m.run("ResetInstancesType", f, ("Resizing", "Resize", note))
                .await
        }
        Step::Terminate => {
            let f = handle.provider.terminate_instances(region, ids);
            let note = format!("terminating instance {id}");
            match m
                .run("TerminateInstances", f, ("Terminating", "Delete", note))
                .await
            {
                // already gone: the next observation lets the finalizer go
                Err(e) if e.kind == ErrorKind::NotFound => {
                    ctx.poller.mark_mutated(group, &id);
                    Ok(())
                }
                r => r,
            }
        }
    };
    match result {
        Ok(()) => Ok(Outcome::ok()),
        Err(e) if e.kind == ErrorKind::WrongState => {
            // The cloud moved on under us (e.g. a console user acted): re-observe, no alarm.
            ctx.poller.mark_mutated(group, &id);
            tracing::info!(code = %e.code, "instance in unexpected state; re-observing");
            Ok(Outcome {
                requeue: Some(Duration::from_secs(2)),
                ..Outcome::ok()
            })
        }
        Err(e) => {
            ev.warning(&oref, "ProviderError", plan::step_name(step), e.to_string())
                .await;
            Ok(Outcome {
                error: Some(e),
                ..Outcome::ok()
            })
        }
    }
}

/// A create the cloud refused, as this controller recorded it in status (read-your-own-
/// writes: the cache may still hold the object from before that status write).
#[derive(Clone, Debug)]
pub struct RefusedCreate {
    pub generation: Option<i64>,
    pub ready: Condition,
    /// Synced (reason, message).
    pub synced: (String, String),
}

/// Least time between two re-creations of one object (a cloud that keeps losing or failing
/// instances must not make the controller create one after another).
const RECREATE_INTERVAL: Duration = Duration::from_secs(60);

/// Whether an irreversible step must wait; the wait when so.
///
/// * "Missing" comes from batched polls that did not list the id. That is not proof (an
///   eventually consistent list, a page boundary, a misbehaving endpoint): before the
///   finalizer is released or a replacement created because of it, a direct describe by id
///   must not find the instance, or find it terminated.
/// * Re-creations of one object are at least [`RECREATE_INTERVAL`] apart.
async fn guard_irreversible(
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
    let found = handle
        .call(
            ActionClass::Describe,
            "DescribeInstances",
            handle.provider.describe_instances(region, &filter),
        )
        .await;
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

/// The create path, which must never leak or duplicate:
/// 1. look for an instance already tagged with this object's UID (and incarnation) and adopt it;
/// 2. otherwise RunInstances with a ClientToken derived from the UID (a retry after a
///    crash returns the same instance);
/// 3. record the id in status immediately.
async fn create(
    ctx: &Context,
    api: &Api<CloudInstance>,
    obj: &CloudInstance,
    handle: &CloudHandle,
    status: &mut CloudInstanceStatus,
) -> Result<Outcome, Error> {
    let uid = obj.uid().unwrap_or_default();
    let incarnation = status.incarnation.unwrap_or(0);
    let oref = obj.object_ref(&());
    let region = obj.spec.region.as_str();

    if !obj.spec.dry_run {
        let found = handle
            .call(
                ActionClass::Describe,
                "DescribeInstances",
                handle.provider.describe_instances(
                    region,
                    &DescribeFilter::Tag {
                        key: TAG_UID.into(),
                        value: uid.clone(),
                    },
                ),
            )
            .await;
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                return Ok(Outcome {
                    error: Some(e),
                    ..Outcome::ok()
                });
            }
        };
        let mut mine: Vec<_> = found
            .into_iter()
            .filter(|d| {
                d.tags
                    .get(TAG_INCARNATION)
                    .map(String::as_str)
                    .unwrap_or("0")
                    == incarnation.to_string()
                    && !matches!(
                        d.state,
                        InstanceState::Terminated | InstanceState::Terminating
                    )
            })
            .collect();
        mine.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        if let Some(first) = mine.first() {
            if mine.len() > 1 {
                let extra: Vec<_> = mine[1..].iter().map(|d| d.id.as_str()).collect();
                ev_warn(ctx, &oref, "DuplicateInstances", format!("more than one instance carries this object's UID; adopted {}, NOT touching {}", first.id, extra.join(","))).await;
            }
            status.instance_id = Some(first.id.clone());
            status.create_requested_at = None;
            remember_unanswered(&uid, None);
            if status.last_reboot_requested_at.is_none() {
                status.last_reboot_requested_at = obj.spec.reboot_requested_at.clone();
            }
            record_id(ctx, api, obj, status).await?;
            ctx.recorder
                .normal(
                    &oref,
                    "Adopted",
                    "Create",
                    format!(
                        "found existing instance {} tagged with this object's UID",
                        first.id
                    ),
                )
                .await;
            return Ok(Outcome {
                requeue: Some(Duration::from_millis(200)),
                ..Outcome::ok()
            });
        }
    }

    let password = match read_password(ctx, &obj.namespace().unwrap_or_default(), &obj.spec).await {
        Ok(p) => p,
        Err((reason, message)) => {
            return Ok(Outcome {
                problem: Some((reason, message)),
                ..Outcome::ok()
            });
        }
    };
    // Say that a create is about to be sent before sending it, every time: if the id
    // never gets recorded (crash, lost response, timeout) the request may still take
    // effect in the cloud, so a deletion must look for the instance (even while the
    // credential is broken) and wait until the request can no longer take effect
    // (`create_settle`) before letting go. An attempt the cloud answered with a definite
    // "no" restores the previous value below.
    let req = run_request(obj, incarnation, password);
    let token = req.client_token.clone().unwrap_or_default();
    // An earlier request that got no answer may still take effect. Sending the same
    // request again is safe (same idempotency token: the cloud answers with what the first
    // one made); a changed request has a new token, and sending it before the earlier one
    // can no longer take effect could make a second instance that nothing tags as ours
    // before the lookup above can see the first.
    if !obj.spec.dry_run
        && let Some(wait) = create_settling(
            status.create_requested_at.as_deref(),
            *PROCESS_START,
            jiff::Timestamp::now(),
            create_settle(&ctx.settings),
        )
        && unanswered_token(&uid).as_deref() != Some(token.as_str())
    {
        return Ok(Outcome {
            problem: Some((
                "CreateMayStillTakeEffect".into(),
                format!(
                    "an earlier create request (sent at {}) got no answer and may still take \
                     effect; the request has changed since, so it is sent in {}s, once the \
                     earlier one can no longer make a second instance",
                    status.create_requested_at.as_deref().unwrap_or("?"),
                    wait.as_secs()
                ),
            )),
            requeue: Some(wait),
            ..Outcome::ok()
        });
    }
    let previous_request = status.create_requested_at.clone();
    if !obj.spec.dry_run {
        status.create_requested_at = Some(now_rfc3339());
        record_id(ctx, api, obj, status).await?;
    }
    let r = handle
        .call(
            ActionClass::Mutating,
            "RunInstances",
            handle.provider.run_instances(&req),
        )
        .await;
    match r {
        Ok(ids) => {
            let Some(id) = ids.into_iter().next() else {
                return Ok(Outcome {
                    problem: Some(("EmptyCreateResponse".into(), "the cloud accepted RunInstances but returned no instance id; will look it up by tag".into())),
                    requeue: Some(Duration::from_secs(5)),
                    ..Outcome::ok()
                });
            };
            status.instance_id = Some(id.clone());
            status.create_requested_at = None;
            remember_unanswered(&uid, None);
            status.last_reboot_requested_at = obj.spec.reboot_requested_at.clone();
            status.state = Some(InstanceState::Pending.as_str().into());
            record_id(ctx, api, obj, status).await?;
            ctx.recorder
                .normal(&oref, "Created", "Create", format!("created instance {id}"))
                .await;
            Ok(Outcome {
                requeue: Some(Duration::from_millis(200)),
                ..Outcome::ok()
            })
        }
        Err(e) if e.kind == ErrorKind::DryRunOk => {
            tracing::info!("dry run accepted by the cloud");
            Ok(Outcome {
                requeue: Some(ctx.settings.resync),
                dry_run_ok: true,
                ..Outcome::ok()
            })
        }
        Err(e) => {
            if !create_may_have_taken_effect(&e) {
                // Answered: this request created nothing and never will. An earlier
                // request whose outcome is unknown still counts.
                status.create_requested_at = previous_request;
            } else if !obj.spec.dry_run {
                // No answer: the client's last retry went out just before it gave up, so
                // that is when the cloud may still act on a request from now on.
                status.create_requested_at = Some(now_rfc3339());
                remember_unanswered(&uid, Some(token));
                record_id(ctx, api, obj, status).await?;
            }
            ev_warn(ctx, &oref, "CreateFailed", e.to_string()).await;
            Ok(Outcome {
                error: Some(e),
                ..Outcome::ok()
            })
        }
    }
}

/// How long after a create request the controller assumes it may still take effect in
/// the cloud: twice the time it waits for an answer. A request that timed out, or whose
/// sender died, can still be executed by the cloud after the sender gave up.
fn create_settle(settings: &super::Settings) -> Duration {
    settings.provider_timeout.saturating_mul(2)
}

/// Whether a failed create may still have created something: no answer (timeout, dropped
/// connection) or an answer that does not say "not done" (5xx, internal error). Throttling,
/// refusals, quota, auth and wrong-state answers are a definite "no".
fn create_may_have_taken_effect(e: &ProviderError) -> bool {
    e.kind == ErrorKind::Transient
}

/// When this process started (first reconcile): a create request of an earlier process
/// whose outcome is unknown was sent before then, since that process is gone (or, with
/// leader election, fenced off) by the time this one acts.
static PROCESS_START: std::sync::LazyLock<jiff::Timestamp> =
    std::sync::LazyLock::new(jiff::Timestamp::now);

/// The idempotency token of each object's last create request that got no answer (by
/// UID), so that sending the same request again need not wait. Not persisted: after a
/// restart every unanswered request counts as a different one until it has settled.
static UNANSWERED: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, String>>,
> = std::sync::LazyLock::new(Default::default);

fn unanswered_token(uid: &str) -> Option<String> {
    UNANSWERED.lock().ok()?.get(uid).cloned()
}

fn remember_unanswered(uid: &str, token: Option<String>) {
    if let Ok(mut m) = UNANSWERED.lock() {
        match token {
            Some(t) => m.insert(uid.to_string(), t),
            None => m.remove(uid),
        };
    }
}

/// How much longer a deletion must wait before "nothing is tagged with this object's UID"
/// can be trusted. `requested_at` is when a create request whose outcome is unknown was
/// last sent (or given up on) by a controller; if that controller was an earlier process
/// that died mid-call, its last request went out no later than `started`.
fn create_settling(
    requested_at: Option<&str>,
    started: jiff::Timestamp,
    now: jiff::Timestamp,
    settle: Duration,
) -> Option<Duration> {
    let sent: jiff::Timestamp = requested_at?.parse().ok()?;
    let until = sent.max(started) + jiff::SignedDuration::try_from(settle).ok()?;
    let left = now.duration_until(until);
    (left.is_positive())
        .then(|| Duration::try_from(left).unwrap_or_default() + Duration::from_secs(1))
}

/// A live instance tagged with this object's UID (any incarnation), for an object being
/// deleted whose status names none.
async fn find_unrecorded(
    handle: &CloudHandle,
    obj: &CloudInstance,
) -> Result<Option<String>, ProviderError> {
    let found = handle
        .call(
            ActionClass::Describe,
            "DescribeInstances",
            handle.provider.describe_instances(
                &obj.spec.region,
                &DescribeFilter::Tag {
                    key: TAG_UID.into(),
                    value: obj.uid().unwrap_or_default(),
                },
            ),
        )
        .await?;
    Ok(found
        .into_iter()
        .filter(|d| {
            !matches!(
                d.state,
                InstanceState::Terminated | InstanceState::Terminating
            )
        })
        .min_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)))
        .map(|d| d.id))
}

async fn ev_warn(
    ctx: &Context,
    oref: &k8s_openapi::api::core::v1::ObjectReference,
    reason: &str,
    note: String,
) {
    ctx.recorder.warning(oref, reason, "Create", note).await;
}

/// Write the instance id right away, before anything else can fail.
async fn record_id(
    ctx: &Context,
    api: &Api<CloudInstance>,
    obj: &CloudInstance,
    status: &CloudInstanceStatus,
) -> Result<(), Error> {
    apply_status(api, obj, obj.status.as_ref(), status).await?;
    ctx.metrics.status_written(KIND);
    Ok(())
}

/// Runs one mutating call for one object: rate-limited and counted by the handle; on
/// success the instance is marked for re-observation and an event is recorded.
struct Mutator<'a> {
    ctx: &'a Context,
    handle: &'a CloudHandle,
    group: &'a GroupKey,
    id: &'a str,
    oref: &'a k8s_openapi::api::core::v1::ObjectReference,
}

impl Mutator<'_> {
    async fn run<Fut>(
        &self,
        action: &'static str,
        fut: Fut,
        (reason, event_action, note): (&str, &str, String),
    ) -> Result<(), ProviderError>
    where
        Fut: std::future::Future<Output = Result<(), ProviderError>>,
    {
        let r = self.handle.call(ActionClass::Mutating, action, fut).await;
        if r.is_ok() {
            self.ctx.poller.mark_mutated(self.group, self.id);
            self.ctx
                .recorder
                .normal(self.oref, reason, event_action, note)
                .await;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recent_create_request_holds_the_deletion_until_it_can_no_longer_take_effect() {
        let now: jiff::Timestamp = "2026-11-28T12:00:00Z".parse().unwrap();
        let at = |secs: i64| (now - jiff::SignedDuration::from_secs(secs)).to_string();
        let long_ago = now - jiff::SignedDuration::from_secs(3600);
        let settle = Duration::from_secs(60);
        let s = |req: Option<&str>, started| create_settling(req, started, now, settle);
        // sent 10 s ago by this process: 50 s left (+1 s margin)
        assert_eq!(s(Some(&at(10)), long_ago), Some(Duration::from_secs(51)));
        assert_eq!(s(Some(&at(61)), long_ago), None);
        assert_eq!(s(None, long_ago), None);
        assert_eq!(s(Some("not a time"), long_ago), None);
        // recorded 5 min ago by a process that died mid-call; this one started 20 s ago:
        // the dead process's last request went out before that
        let started = now - jiff::SignedDuration::from_secs(20);
        assert_eq!(s(Some(&at(300)), started), Some(Duration::from_secs(41)));
    }

    #[test]
    fn only_unanswered_or_ambiguous_creates_may_have_taken_effect() {
        let e = |kind| ProviderError::new(kind, "X", "m");
        assert!(create_may_have_taken_effect(&e(ErrorKind::Transient)));
        for kind in [
            ErrorKind::Throttled,
            ErrorKind::Auth,
            ErrorKind::InvalidRequest,
            ErrorKind::NotFound,
            ErrorKind::WrongState,
            ErrorKind::Quota,
            ErrorKind::DryRunOk,
        ] {
            assert!(!create_may_have_taken_effect(&e(kind)), "{kind:?}");
        }
    }
}
