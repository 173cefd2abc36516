//! Cloud providers. The rest of the controller talks to clouds only through
//! [`CloudProvider`]; nothing outside this module knows a cloud's wire format.
//!
//! Dispatch is by enum ([`AnyProvider`]) so the trait can use native `async fn`.

pub mod alibaba;
pub mod common;
pub mod endpoint;
pub mod error;
pub mod http;
pub mod huawei;
pub mod retry;
pub mod secret;
pub mod tencent;
pub mod token;
pub mod types;

pub use error::{ErrorKind, ProviderError};
pub use secret::{Credentials, SecretString};
pub use types::*;

use std::time::Duration;

/// Result of every provider call.
pub type Result<T, E = ProviderError> = std::result::Result<T, E>;

/// What every cloud implementation offers. Batch-first: every mutating call takes a slice
/// of ids no longer than [`CloudProvider::batch_limit`].
#[allow(async_fn_in_trait)]
pub trait CloudProvider {
    /// Which cloud this is.
    fn kind(&self) -> ProviderKind;
    /// Largest number of ids one batched call accepts (100 on Tencent).
    fn batch_limit(&self) -> usize;
    /// Whether the OS can only be reinstalled while the instance is stopped (Alibaba
    /// ReplaceSystemDisk); the controller then stops it first and restores the power state.
    fn reinstall_requires_stopped(&self) -> bool {
        false
    }
    /// Whether the cloud itself forces a stop the guest ignores (`StopMode::SoftThenHard`
    /// in one call: Tencent `SOFT_FIRST`). Elsewhere the controller escalates.
    fn stops_soft_then_hard(&self) -> bool {
        false
    }

    /// Create `req.count` instances. `req.client_token` makes the call idempotent: the
    /// same token returns the same instance ids instead of creating new ones.
    async fn run_instances(&self, req: &RunRequest) -> Result<Vec<String>>;
    async fn start_instances(&self, region: &str, ids: &[String]) -> Result<()>;
    async fn stop_instances(&self, region: &str, ids: &[String], mode: StopMode) -> Result<()>;
    async fn reboot_instances(&self, region: &str, ids: &[String], force: bool) -> Result<()>;
    async fn terminate_instances(&self, region: &str, ids: &[String]) -> Result<()>;
    /// Status of up to [`CloudProvider::batch_limit`] ids in ONE call. Ids the cloud does
    /// not know are simply absent from the answer.
    async fn describe_status(&self, region: &str, ids: &[String]) -> Result<Vec<InstanceStatus>>;
    /// Details (IPs, zone, type, image, name, tags, timestamps), by ids or by a tag.
    async fn describe_instances(
        &self,
        region: &str,
        filter: &DescribeFilter,
    ) -> Result<Vec<InstanceDetails>>;
    /// Rename and/or replace security groups.
    async fn modify_instance(&self, region: &str, id: &str, change: &Modification) -> Result<()>;
    /// Reinstall the operating system (Tencent ResetInstance).
    async fn reinstall(&self, region: &str, id: &str, req: &ReinstallRequest) -> Result<()>;
    /// Change the instance type (Tencent ResetInstancesType). The instance must be stopped.
    async fn resize(&self, region: &str, id: &str, instance_type: &str) -> Result<()>;

    async fn regions(&self) -> Result<Vec<Region>>;
    async fn zones(&self, region: &str) -> Result<Vec<Zone>>;
    async fn images(&self, region: &str) -> Result<Vec<Image>>;
    async fn instance_types(
        &self,
        region: &str,
        zone: Option<&str>,
    ) -> Result<Vec<InstanceTypeInfo>>;
}

/// Connection settings shared by all providers.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub credentials: Credentials,
    /// Base URL override (e.g. `http://127.0.0.1:4566`) for the emulator or a private endpoint.
    pub endpoint: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retry policy for throttled and transient errors.
    pub retry: retry::RetryPolicy,
    /// Told about every attempt, including retried ones (metrics).
    pub observer: retry::Observer,
    /// Where requests may go (checked before every request is sent).
    pub policy: endpoint::EndpointPolicy,
    /// Extra PEM CAs to trust besides the platform's trust store and the web roots.
    pub ca_bundle: Option<String>,
    /// Huawei only: project id per region and the IAM user id (ignored elsewhere).
    pub huawei: huawei::HuaweiSettings,
    /// Temporary (STS) credentials: the session token issued with the temporary key pair
    /// (Tencent `X-TC-Token`). Only the Tencent client sends it; see
    /// `controller::cloud` for the clouds that accept one.
    pub session_token: Option<SecretString>,
}

impl ClientConfig {
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            endpoint: None,
            timeout: Duration::from_secs(30),
            retry: retry::RetryPolicy::default(),
            observer: retry::Observer::default(),
            policy: endpoint::EndpointPolicy::official_only(),
            ca_bundle: None,
            huawei: huawei::HuaweiSettings::default(),
            session_token: None,
        }
    }
}

impl ClientConfig {
    /// Use `endpoint` and allow it in the policy: for callers that are the operator
    /// themselves (the CLI, tests), never for what a tenant wrote.
    pub fn trust_endpoint(&mut self, endpoint: String) {
        if let Ok(p) = endpoint::EndpointPolicy::with_allowed([endpoint.as_str()]) {
            self.policy = p;
        }
        self.endpoint = Some(endpoint);
    }
}

/// Enum dispatch over the implemented clouds.
#[derive(Clone, Debug)]
pub enum AnyProvider {
    Tencent(tencent::TencentClient),
    Alibaba(alibaba::AlibabaClient),
    Huawei(huawei::HuaweiClient),
}

impl AnyProvider {
    /// Build the client for `kind` from a config.
    pub fn new(kind: ProviderKind, config: ClientConfig) -> Result<Self> {
        match kind {
            ProviderKind::Tencent => Ok(Self::Tencent(tencent::TencentClient::new(config)?)),
            ProviderKind::Alibaba => Ok(Self::Alibaba(alibaba::AlibabaClient::new(config)?)),
            ProviderKind::Huawei => Ok(Self::Huawei(huawei::HuaweiClient::new(config)?)),
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $p:ident => $e:expr) => {
        match $self {
            AnyProvider::Tencent($p) => $e,
            AnyProvider::Alibaba($p) => $e,
            AnyProvider::Huawei($p) => $e,
        }
    };
}

impl CloudProvider for AnyProvider {
    fn kind(&self) -> ProviderKind {
        dispatch!(self, p => p.kind())
    }
    fn batch_limit(&self) -> usize {
        dispatch!(self, p => p.batch_limit())
    }
    fn reinstall_requires_stopped(&self) -> bool {
        dispatch!(self, p => p.reinstall_requires_stopped())
    }
    fn stops_soft_then_hard(&self) -> bool {
        dispatch!(self, p => p.stops_soft_then_hard())
    }
    async fn run_instances(&self, req: &RunRequest) -> Result<Vec<String>> {
        dispatch!(self, p => p.run_instances(req).await)
    }
    async fn start_instances(&self, region: &str, ids: &[String]) -> Result<()> {
        dispatch!(self, p => p.start_instances(region, ids).await)
    }
    async fn stop_instances(&self, region: &str, ids: &[String], mode: StopMode) -> Result<()> {
        dispatch!(self, p => p.stop_instances(region, ids, mode).await)
    }
    async fn reboot_instances(&self, region: &str, ids: &[String], force: bool) -> Result<()> {
        dispatch!(self, p => p.reboot_instances(region, ids, force).await)
    }
    async fn terminate_instances(&self, region: &str, ids: &[String]) -> Result<()> {
        dispatch!(self, p => p.terminate_instances(region, ids).await)
    }
    async fn describe_status(&self, region: &str, ids: &[String]) -> Result<Vec<InstanceStatus>> {
        dispatch!(self, p => p.describe_status(region, ids).await)
    }
    async fn describe_instances(
        &self,
        region: &str,
        filter: &DescribeFilter,
    ) -> Result<Vec<InstanceDetails>> {
        dispatch!(self, p => p.describe_instances(region, filter).await)
    }
    async fn modify_instance(&self, region: &str, id: &str, change: &Modification) -> Result<()> {
        dispatch!(self, p => p.modify_instance(region, id, change).await)
    }
    async fn reinstall(&self, region: &str, id: &str, req: &ReinstallRequest) -> Result<()> {
        dispatch!(self, p => p.reinstall(region, id, req).await)
    }
    async fn resize(&self, region: &str, id: &str, instance_type: &str) -> Result<()> {
        dispatch!(self, p => p.resize(region, id, instance_type).await)
    }
    async fn regions(&self) -> Result<Vec<Region>> {
        dispatch!(self, p => p.regions().await)
    }
    async fn zones(&self, region: &str) -> Result<Vec<Zone>> {
        dispatch!(self, p => p.zones(region).await)
    }
    async fn images(&self, region: &str) -> Result<Vec<Image>> {
        dispatch!(self, p => p.images(region).await)
    }
    async fn instance_types(
        &self,
        region: &str,
        zone: Option<&str>,
    ) -> Result<Vec<InstanceTypeInfo>> {
        dispatch!(self, p => p.instance_types(region, zone).await)
    }
}
