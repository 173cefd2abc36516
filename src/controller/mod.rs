//! The reconcilers and everything they share.

pub mod cloud;
pub mod credential;
pub mod events;
pub mod guard;
pub mod instance;
pub mod leader;
pub mod metrics;
pub mod plan;
pub mod poller;
pub mod ratelimit;
pub mod recheck;
pub mod recreate;
pub mod server;
pub mod status;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};

use crate::api::{CloudCredential, CloudInstance};
use cloud::Handles;
use metrics::Metrics;
use poller::{PollConfig, Poller};

/// Field manager for every write the controller makes.
pub const MANAGER: &str = "cloudinstance-controller";
/// Finalizer on CloudInstances (terminate before the object goes) and CloudCredentials
/// (kept while instances use them).
pub const FINALIZER: &str = "compute.cloudinstance.io/finalizer";
/// Tag keys the controller puts on every instance it creates.
pub const TAG_UID: &str = "cloudinstance-uid";
pub const TAG_NAME: &str = "cloudinstance-name";
pub const TAG_NAMESPACE: &str = "cloudinstance-namespace";
pub const TAG_INCARNATION: &str = "cloudinstance-incarnation";

/// Errors of one reconciliation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API error: {0}")]
    Kube(#[from] kube::Error),
    #[error("cloud API error: {0}")]
    Provider(#[from] crate::provider::ProviderError),
    #[error("{0}")]
    Credential(#[from] cloud::CredentialError),
    #[error("object has no namespace")]
    NoNamespace,
    /// A bug: the reconcile panicked. Contained (see [`guard`]) and retried with backoff.
    #[error("internal error (contained panic): {0}")]
    Panicked(String),
}

/// Controller settings (from the CLI / Helm values).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Watch only this namespace (None = all namespaces).
    pub namespace: Option<String>,
    /// Only reconcile objects matching this label selector (sharding across installs).
    pub label_selector: Option<String>,
    pub poll: PollConfig,
    /// Re-verify credentials at least this often.
    pub credential_recheck: Duration,
    /// Requeue interval for objects in sync (safety net; the poller drives changes).
    pub resync: Duration,
    pub concurrency: u16,
    pub provider_timeout: Duration,
    /// How long a guest OS gets to shut down after a stop without force.
    pub soft_stop_grace: Duration,
    /// Where credentials may send requests (the operator's allow-list).
    pub endpoint_policy: crate::provider::endpoint::EndpointPolicy,
    /// Leader fencing: cloud mutations only while this is open.
    pub fence: leader::Fence,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            namespace: None,
            label_selector: None,
            poll: PollConfig::default(),
            credential_recheck: Duration::from_secs(600),
            resync: Duration::from_secs(600),
            concurrency: 16,
            provider_timeout: Duration::from_secs(30),
            soft_stop_grace: Duration::from_secs(120),
            endpoint_policy: Default::default(),
            fence: leader::Fence::none(),
        }
    }
}

/// State shared by both reconcilers.
pub struct Context {
    pub client: Client,
    pub settings: Settings,
    pub metrics: Arc<Metrics>,
    pub handles: Handles,
    pub poller: Arc<Poller>,
    /// Credentials as the instance reconciler sees them (the cache that feeds its
    /// credential triggers).
    pub credentials: Store<CloudCredential>,
    /// Instances as the credential reconciler sees them, to count users (the cache that
    /// feeds its instance triggers; status, userData and tags are not kept).
    pub instances: Store<CloudInstance>,
    /// Set once `credentials` / `instances` hold their first complete listing.
    pub credentials_synced: Synced,
    pub instances_synced: Synced,
    pub recorder: events::Events,
    /// Early credential re-checks requested after auth failures.
    pub rechecks: Arc<recheck::Rechecks>,
    /// Last re-creation per object uid (rate limit).
    pub recreations: recreate::Recreations,
    /// Read-your-own-writes for refused creates: uid → the generation whose create the
    /// cloud refused. The cache can still hold the object from before the status write
    /// that recorded the refusal; this makes the next reconcile see it anyway.
    pub refused_creates: Mutex<HashMap<String, instance::RefusedCreate>>,
    /// Consecutive failures per object uid, for backoff.
    backoff: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// Exponential backoff with jitter for an object that failed `n` times in a row.
    pub fn failure_backoff(&self, uid: &str) -> Duration {
        let mut m = self.backoff.lock().expect("backoff lock");
        let n = m.entry(uid.to_owned()).or_insert(0);
        *n = (*n + 1).min(10);
        let base = Duration::from_millis(500) * 2u32.pow(*n - 1);
        let cap = base.min(Duration::from_secs(300));
        let jitter = rand::random_range(0..=cap.as_millis() as u64 / 2);
        cap / 2 + Duration::from_millis(jitter)
    }

    pub fn reset_backoff(&self, uid: &str) {
        self.backoff.lock().expect("backoff lock").remove(uid);
    }
}

/// Whether a reflector store holds its first complete listing, for any number of waiters.
/// (kube-runtime 5's `Store::wait_until_ready` wakes only the last of several concurrent
/// waiters: its `DelayedInit` polls a oneshot receiver, which keeps one waker. The others,
/// including the controller's own start gate, may never wake. Do not call it.)
#[derive(Clone)]
pub struct Synced(tokio::sync::watch::Receiver<bool>);

impl Synced {
    fn new() -> (tokio::sync::watch::Sender<bool>, Synced) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (tx, Synced(rx))
    }

    /// Wait until synced; false if the stream feeding the store has ended (shutdown).
    pub async fn wait(&self) -> bool {
        self.0.clone().wait_for(|s| *s).await.is_ok()
    }
}

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
    let secrets: Api<PartialObjectMeta<Secret>> = match &settings.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
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

    let ctx = Arc::new(Context {
        client: client.clone(),
        settings: settings.clone(),
        metrics: metrics.clone(),
        handles: Handles::new(
            metrics.clone(),
            settings.provider_timeout,
            settings.endpoint_policy.clone(),
            settings.fence.clone(),
        ),
        poller: poller.clone(),
        credentials: inst_cred_reader.clone(),
        credentials_synced: inst_cred_synced,
        instances: cred_inst_reader,
        instances_synced: cred_inst_synced,
        recorder: events::Events::new(client.clone()),
        rechecks,
        recreations: Default::default(),
        refused_creates: Mutex::new(HashMap::new()),
        backoff: Mutex::new(HashMap::new()),
    });

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
    let store_for_secrets = cred_store.clone();
    let inst_store_for_creds = inst_store.clone();

    let shutdown = futures::future::FutureExt::shared(Box::pin(shutdown));
    let cred_run = cred_ctrl
        .watches_stream(secret_changes, move |secret| {
            let ns = secret.namespace();
            let name = secret.name_any();
            store_for_secrets
                .state()
                .into_iter()
                .filter(|c| c.namespace() == ns && c.spec.secret_ref.name == name)
                .map(|c| ObjectRef::from_obj(&*c))
                .collect::<Vec<_>>()
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
            let ns = cred.namespace();
            let name = cred.name_any();
            inst_store_for_creds
                .state()
                .into_iter()
                .filter(|i| i.namespace() == ns && i.spec.credential_ref.name == name)
                .map(|i| ObjectRef::from_obj(&*i))
                .collect::<Vec<_>>()
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
