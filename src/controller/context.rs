//! The vocabulary both reconcilers share: [`Context`] (state), [`Settings`] (the CLI's
//! choices), [`Error`] and the names the controller writes (field manager, finalizer, tags).
//! Depends on the modules whose state it holds, never on the reconcilers or the wiring.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::Client;
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;

use super::cloud::{self, Handles};
use super::events::Events;
use super::leader;
use super::metrics::Metrics;
use super::own_writes::OwnWrites;
use super::poller::{PollConfig, Poller};
use super::recheck::Rechecks;
use super::recreate::Recreations;
use crate::api::{CloudCredential, CloudCredentialStatus, CloudInstance, CloudInstanceStatus};

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
    /// A bug: the reconcile panicked. Contained (see [`super::guard`]) and retried with
    /// backoff.
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
    pub recorder: Events,
    /// Early credential re-checks requested after auth failures.
    pub rechecks: Arc<Rechecks>,
    /// Last re-creation per object uid (rate limit).
    pub recreations: Recreations,
    /// The status last written per object (read-your-own-writes over a stale cache).
    pub instance_writes: OwnWrites<CloudInstanceStatus>,
    pub credential_writes: OwnWrites<CloudCredentialStatus>,
    /// Consecutive failures per object uid, for backoff.
    backoff: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// The state of a controller that has not started yet.
    pub(super) fn new(
        client: Client,
        settings: Settings,
        metrics: Arc<Metrics>,
        poller: Arc<Poller>,
        rechecks: Arc<Rechecks>,
        (credentials, credentials_synced): (Store<CloudCredential>, Synced),
        (instances, instances_synced): (Store<CloudInstance>, Synced),
    ) -> Self {
        Self {
            handles: Handles::new(
                metrics.clone(),
                settings.provider_timeout,
                settings.endpoint_policy.clone(),
                settings.fence.clone(),
            ),
            recorder: Events::new(client.clone(), MANAGER),
            client,
            settings,
            metrics,
            poller,
            credentials,
            credentials_synced,
            instances,
            instances_synced,
            rechecks,
            recreations: Default::default(),
            instance_writes: Default::default(),
            credential_writes: Default::default(),
            backoff: Mutex::new(HashMap::new()),
        }
    }

    /// Run one reconcile of an object of `kind` in its own span, with a panic contained
    /// as [`Error::Panicked`], and count it.
    pub async fn run_reconcile<F>(
        &self,
        kind: &'static str,
        ns: &str,
        name: &str,
        fut: F,
    ) -> Result<Action, Error>
    where
        F: std::future::Future<Output = Result<Action, Error>>,
    {
        let start = Instant::now();
        let span = tracing::info_span!("reconcile", kind, namespace = %ns, name = %name);
        let r = super::guard::contain(tracing::Instrument::instrument(fut, span))
            .await
            .unwrap_or_else(|p| Err(Error::Panicked(p)));
        self.metrics.reconciled(kind, r.is_ok(), start.elapsed());
        r
    }

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
    pub(super) fn new() -> (tokio::sync::watch::Sender<bool>, Synced) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (tx, Synced(rx))
    }

    /// Wait until synced; false if the stream feeding the store has ended (shutdown).
    pub async fn wait(&self) -> bool {
        self.0.clone().wait_for(|s| *s).await.is_ok()
    }
}
