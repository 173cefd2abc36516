//! The wiring: [`run`] builds the watches, the caches, the shared [`context::Context`] and
//! the poller, and runs both reconcilers. Everything they share is in [`context`]; nothing
//! in here is imported by the modules below.

pub mod cloud;
pub mod context;
pub mod credential;
pub mod events;
pub mod guard;
pub mod instance;
pub mod leader;
pub mod metrics;
pub mod own_writes;
pub mod poller;
pub mod problem;
pub mod ratelimit;
pub mod recheck;
pub mod recreate;
pub mod server;
pub mod status;
pub mod translate;

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};

use crate::api::{CloudCredential, CloudInstance};
use context::{Context, Settings, Synced};
use metrics::Metrics;
use poller::Poller;

/// Flag `tx` once a reflected watcher stream (inspected after `reflect`, so the store
/// already holds the listing) completes its initial listing.
fn mark_synced<K>(
    tx: &tokio::sync::watch::Sender<bool>,
    event: &Result<watcher::Event<K>, watcher::Error>,
) {
    if matches!(event, Ok(watcher::Event::InitDone)) {
        tx.send_replace(true);
    }
}

/// The parts of a credential its instances depend on: identity, spec, the verified
/// Secret version and the Ready verdict. A change of anything else (instanceCount,
/// lastVerifiedAt, regions) does not re-trigger the instances.
fn credential_trigger(c: &CloudCredential) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    c.metadata.uid.hash(&mut h);
    c.metadata.generation.hash(&mut h);
    c.metadata.deletion_timestamp.is_some().hash(&mut h);
    if let Some(s) = &c.status {
        s.secret_version.hash(&mut h);
        if let Some(r) = crate::api::conditions::find(&s.conditions, crate::api::conditions::READY)
        {
            (&r.status, &r.reason, &r.message).hash(&mut h);
        }
    }
    Some(h.finish())
}

fn watcher_config(s: &Settings) -> watcher::Config {
    let mut wc = watcher::Config::default().any_semantic();
    if let Some(l) = &s.label_selector {
        wc = wc.labels(l);
    }
    wc
}

fn api<K>(client: &Client, ns: &Option<String>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// The objects in `store` that name `target` (in their own namespace) by `reference`:
/// the credentials using a Secret, the instances using a credential.
fn referring<K, T>(
    store: &Store<K>,
    target: &T,
    reference: impl Fn(&K) -> &str,
) -> Vec<ObjectRef<K>>
where
    K: kube::Resource<DynamicType = ()> + Clone,
    T: kube::Resource,
{
    let ns = target.namespace();
    let name = target.name_any();
    store
        .state()
        .into_iter()
        .filter(|o| o.namespace() == ns && reference(o) == name)
        .map(|o| ObjectRef::from_obj(&*o))
        .collect()
}

/// Run both controllers and the poller until shutdown is requested.
pub async fn run(
    client: Client,
    settings: Settings,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let (trigger_tx, trigger_rx) = futures::channel::mpsc::unbounded();
    let (rechecks, recheck_rx) = recheck::Rechecks::new();
    let rechecks = Arc::new(rechecks);
    let poller = Arc::new(Poller::new(
        settings.poll,
        trigger_tx,
        rechecks.clone(),
        metrics.clone(),
    ));
    let creds: Api<CloudCredential> = api(&client, &settings.namespace);
    let insts: Api<CloudInstance> = api(&client, &settings.namespace);
    let secrets: Api<PartialObjectMeta<Secret>> = api(&client, &settings.namespace);
    let wc = watcher_config(&settings);

    // A shard (--label-selector) serves the credentials and Secrets labelled like its
    // instances, and nothing else: two installs sharing a namespace never verify, count or
    // write the status of each other's credentials.
    let cred_ctrl = Controller::new(creds.clone(), watcher_config(&settings));
    // The instance cache is the controller's biggest memory user: keep objects without
    // managedFields (never read here), as kube-rs recommends for large caches.
    let (inst_reader, inst_writer) = reflector::store();
    let inst_stream = watcher(insts, wc)
        .default_backoff()
        .modify(|o| o.managed_fields_mut().clear())
        .reflect(inst_writer)
        .touched_objects();
    let inst_ctrl = Controller::for_stream(inst_stream, inst_reader);
    let cred_store = cred_ctrl.store();
    let inst_store = inst_ctrl.store();
    // The credentials as the instance reconciler sees them: the cache it reads is the one
    // that feeds its credential triggers (below), so a trigger never arrives before the
    // cache holds the change it announces.
    let (inst_cred_reader, inst_cred_writer) = reflector::store();
    let (inst_cred_synced_tx, inst_cred_synced) = Synced::new();
    // Likewise the instances as the credential reconciler sees them (it counts users):
    // its cache feeds its instance triggers. Only what counting needs is kept.
    let (cred_inst_reader, cred_inst_writer) = reflector::store();
    let (cred_inst_synced_tx, cred_inst_synced) = Synced::new();
    let inst_changes = watcher(
        api::<CloudInstance>(&client, &settings.namespace),
        watcher::Config::default().any_semantic(),
    )
    .modify(|o| {
        o.managed_fields_mut().clear();
        o.status = None;
        o.spec.user_data = None;
        o.spec.tags.clear();
    })
    .reflect(cred_inst_writer)
    .inspect(move |e| mark_synced(&cred_inst_synced_tx, e))
    .touched_objects();

    let ctx = Arc::new(Context::new(
        client.clone(),
        settings.clone(),
        metrics.clone(),
        poller.clone(),
        rechecks,
        (inst_cred_reader, inst_cred_synced),
        (cred_inst_reader, cred_inst_synced),
    ));

    // Secrets are watched as metadata only: their contents never sit in our cache.
    // Only Secrets marked as credential Secrets are watched (the controller never reads
    // unmarked ones); removing the mark is delivered as a deletion and re-verifies.
    let secret_selector = match &settings.label_selector {
        Some(l) => format!("{}=true,{l}", cloud::CREDENTIAL_SECRET_LABEL),
        None => format!("{}=true", cloud::CREDENTIAL_SECRET_LABEL),
    };
    let secret_changes = watcher(
        secrets,
        watcher::Config::default()
            .labels(&secret_selector)
            .any_semantic(),
    )
    .touched_objects()
    .boxed();

    let shutdown = futures::future::FutureExt::shared(Box::pin(shutdown));
    let cred_run = cred_ctrl
        .watches_stream(secret_changes, move |secret| {
            referring(&cred_store, &secret, |c: &CloudCredential| {
                &c.spec.secret_ref.name
            })
        })
        // instance counts change when instances come and go
        .watches_stream(inst_changes, |inst| {
            inst.namespace().map(|ns| {
                ObjectRef::<CloudCredential>::new(&inst.spec.credential_ref.name).within(&ns)
            })
        })
        .reconcile_on(recheck_rx)
        .graceful_shutdown_on(shutdown.clone())
        .with_config(kube::runtime::controller::Config::default().concurrency(4))
        .run(credential::reconcile, credential::error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));

    // Only credential changes that matter to instances re-trigger them: not instanceCount
    // (it changes with every sibling created or deleted, and each re-trigger retries a
    // terminal create error) nor lastVerifiedAt.
    let cred_changes = watcher(creds, watcher_config(&settings))
        .reflect(inst_cred_writer)
        .inspect(move |e| mark_synced(&inst_cred_synced_tx, e))
        .touched_objects()
        .predicate_filter(credential_trigger, Default::default());
    let inst_run = inst_ctrl
        .watches_stream(cred_changes, move |cred| {
            referring(&inst_store, &cred, |i: &CloudInstance| {
                &i.spec.credential_ref.name
            })
        })
        .reconcile_on(trigger_rx)
        .graceful_shutdown_on(shutdown)
        .with_config(kube::runtime::controller::Config::default().concurrency(settings.concurrency))
        .run(instance::reconcile, instance::error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));

    let poll = tokio::spawn(poller.run());
    futures::future::join(cred_run, inst_run).await;
    poll.abort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::{Condition, READY};
    use crate::api::credential::CloudCredentialStatus;

    fn cred(status: CloudCredentialStatus) -> CloudCredential {
        let mut c: CloudCredential = serde_json::from_value(serde_json::json!({
            "apiVersion": "compute.cloudinstance.io/v1alpha1", "kind": "CloudCredential",
            "metadata": {"name": "c", "namespace": "n", "uid": "u", "generation": 1},
            "spec": {"provider": "tencent", "secretRef": {"name": "s"}},
        }))
        .unwrap();
        c.status = Some(status);
        c
    }

    #[test]
    fn credential_trigger_ignores_counts_and_recheck_times() {
        let ready = CloudCredentialStatus {
            conditions: vec![Condition::new(READY, true, "Verified", "ok")],
            secret_version: Some("1".into()),
            instance_count: 1,
            last_verified_at: Some("t1".into()),
            ..Default::default()
        };
        let base = credential_trigger(&cred(ready.clone()));
        let busier = CloudCredentialStatus {
            instance_count: 7,
            last_verified_at: Some("t2".into()),
            regions: vec!["ap-guangzhou".into()],
            ..ready.clone()
        };
        assert_eq!(credential_trigger(&cred(busier)), base);
        let rotated = CloudCredentialStatus {
            secret_version: Some("2".into()),
            ..ready.clone()
        };
        assert_ne!(credential_trigger(&cred(rotated)), base);
        let failed = CloudCredentialStatus {
            conditions: vec![Condition::new(READY, false, "AuthFailure", "bad key")],
            ..ready
        };
        assert_ne!(credential_trigger(&cred(failed)), base);
    }
}
