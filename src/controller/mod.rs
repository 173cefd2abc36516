//! The reconcilers and everything they share.

pub mod cloud;
pub mod credential;
pub mod events;
pub mod instance;
pub mod leader;
pub mod metrics;
pub mod plan;
pub mod poller;
pub mod ratelimit;
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
    pub credentials: Store<CloudCredential>,
    pub instances: Store<CloudInstance>,
    pub recorder: events::Events,
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
    let poller = Arc::new(Poller::new(settings.poll, trigger_tx, metrics.clone()));
    let creds: Api<CloudCredential> = api(&client, &settings.namespace);
    let insts: Api<CloudInstance> = api(&client, &settings.namespace);
    let secrets: Api<PartialObjectMeta<Secret>> = match &settings.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let wc = watcher_config(&settings);

    let cred_ctrl = Controller::new(creds.clone(), watcher::Config::default().any_semantic());
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

    let ctx = Arc::new(Context {
        client: client.clone(),
        settings: settings.clone(),
        metrics: metrics.clone(),
        handles: Handles::new(metrics.clone(), settings.provider_timeout),
        poller: poller.clone(),
        credentials: cred_store.clone(),
        instances: inst_store.clone(),
        recorder: events::Events::new(client.clone()),
        backoff: Mutex::new(HashMap::new()),
    });

    // Secrets are watched as metadata only: their contents never sit in our cache.
    let secret_changes = watcher(secrets, watcher::Config::default().any_semantic())
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
        .watches(
            api::<CloudInstance>(&client, &settings.namespace),
            watcher::Config::default().any_semantic(),
            |inst| {
                inst.namespace().map(|ns| {
                    ObjectRef::<CloudCredential>::new(&inst.spec.credential_ref.name).within(&ns)
                })
            },
        )
        .graceful_shutdown_on(shutdown.clone())
        .with_config(kube::runtime::controller::Config::default().concurrency(4))
        .run(credential::reconcile, credential::error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));

    let inst_run = inst_ctrl
        .watches(
            creds,
            watcher::Config::default().any_semantic(),
            move |cred| {
                let ns = cred.namespace();
                let name = cred.name_any();
                inst_store_for_creds
                    .state()
                    .into_iter()
                    .filter(|i| i.namespace() == ns && i.spec.credential_ref.name == name)
                    .map(|i| ObjectRef::from_obj(&*i))
                    .collect::<Vec<_>>()
            },
        )
        .reconcile_on(trigger_rx)
        .graceful_shutdown_on(shutdown)
        .with_config(kube::runtime::controller::Config::default().concurrency(settings.concurrency))
        .run(instance::reconcile, instance::error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));

    let poll = tokio::spawn(poller.run());
    futures::future::join(cred_run, inst_run).await;
    poll.abort();
}
