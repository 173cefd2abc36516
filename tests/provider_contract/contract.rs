//! The per-cloud table the shared scenarios run over, and the harness they use: one
//! emulator and one client of the cloud under test.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::{Value, json};

use cloudinstance_controller::provider::retry::RetryPolicy;
use cloudinstance_controller::provider::{
    AnyProvider, ClientConfig, CloudProvider, Credentials, DescribeFilter, InstanceDetails,
    InstanceState, InstanceStatus, ProviderError, RunRequest, SecretString, StopMode,
};

use crate::support::emulator::Emulator;

/// How long an instance may take to reach a state.
pub const WAIT: Duration = Duration::from_secs(20);

/// What a test needs to know about one cloud: its client, its catalog, its requests and
/// the codes and states it answers with.
pub struct Contract {
    /// The emulator's name of the cloud (`/calls`, faults).
    pub provider: &'static str,
    /// Build the client from a config (Huawei: with a bounded job wait).
    pub make: fn(ClientConfig) -> Result<AnyProvider, ProviderError>,
    pub key_id: &'static str,
    pub secret: &'static str,
    pub project_id: Option<&'static str>,

    // ---- catalog
    pub region: &'static str,
    pub zone: &'static str,
    pub image: &'static str,
    /// `image_type` of [`Self::image`], and a text its OS name contains.
    pub image_type: &'static str,
    pub image_os: &'static str,
    pub instance_type: &'static str,
    /// (cpu, memory GB, family) of [`Self::instance_type`].
    pub type_shape: (u32, u32, &'static str),
    /// A zone whose instance types are listed for that zone alone, and a family the
    /// region sells but not in that zone.
    pub zone_limited: (&'static str, Option<&'static str>),
    /// The emulator's action name of the zones call (server errors are injected there).
    pub zones_action: &'static str,

    // ---- requests
    /// A create request for one instance named `name`, with a password, and tagged with
    /// [`Self::owner_tag`].
    pub run_request: fn(&str) -> RunRequest,
    /// The owner tag's key and the prefix of its value (the instance name follows).
    pub owner_tag: (&'static str, &'static str),
    /// Whether an id has the cloud's shape.
    pub id_shape: fn(&str) -> bool,
    /// An id of the cloud's shape that names no instance.
    pub unknown_id: fn(usize) -> String,
    pub create_action: &'static str,
    pub start_action: &'static str,

    // ---- lifecycle
    /// `provider_state` of a running instance.
    pub running_state: &'static str,
    pub stop_mode: StopMode,
    pub force_reboot: bool,
    /// The security groups the lifecycle switches to, and whether the cloud lists them in
    /// that order.
    pub new_sgs: &'static [&'static str],
    pub sg_order_kept: bool,
    /// The requests a change of name and security groups takes: (action, count).
    pub modify_calls: &'static [(&'static str, u64)],
    /// Code of starting a running instance (WrongState).
    pub wrong_state_code: Option<&'static str>,
    /// The states an instance may show between terminate and gone.
    pub while_terminating: &'static [InstanceState],
    /// `provider_state` of a terminated instance the cloud keeps in its recycle bin for a
    /// while (Suspended: held by the cloud, never gone, src/provider/tencent/state.rs).
    pub recycled: Option<&'static str>,
    /// The cloud's own checks of what the lifecycle sees at each step.
    pub check: fn(Step, &Seen),
    /// What the cloud does with a stopped instance (resize, reinstall); it may leave it
    /// running (Huawei's reinstall starts it).
    pub while_stopped: Option<for<'a> fn(&'a Ctx, &'a str) -> BoxFuture<'a, ()>>,

    // ---- errors
    /// Create requests the cloud (or the client, before any call) refuses.
    pub rejected: &'static [Rejected],
    /// An action on an unknown id and its NotFound code.
    pub not_found: (Op, &'static str),
    /// Whether a status query over the batch limit is refused too (Alibaba pages it).
    pub status_over_limit_refused: bool,
    /// The throttled call: which, its action, the injected fault, the code.
    pub throttle: (Call, &'static str, &'static str),
    /// An injected fault the cloud answers like a server error.
    pub server_error: fn() -> Value,
    /// A call and its action the emulator's own rate limiter is set to 1 request/s for.
    pub rate_limited: (Call, &'static str),
    /// The call a wrong secret is tried with, its action, the code and the message's start.
    pub auth: (Call, &'static str, &'static str, Option<&'static str>),
    /// An unknown key id and the cloud's code for it.
    pub unknown_key: Option<(&'static str, &'static str)>,
    pub dry_run_code: Option<&'static str>,
    /// Whether the emulator's record keeps the client token as the client sent it.
    pub token_on_record: bool,
}

/// The lifecycle's steps at which the cloud checks what it sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Right after the create call.
    Created,
    /// Running for the first time: `details` and the emulator's `record`.
    Running,
    /// Right after the stop call.
    Stopping,
    /// Right after the reboot call.
    Rebooting,
    /// Right after the terminate call.
    Terminating,
}

/// What the lifecycle saw at a [`Step`].
pub struct Seen<'a> {
    pub status: &'a [InstanceStatus],
    pub details: Option<&'a InstanceDetails>,
    /// The emulator's record of the instance (`Null` once gone).
    pub record: &'a Value,
}

/// A create request the cloud refuses.
pub struct Rejected {
    pub what: &'static str,
    pub change: fn(&mut RunRequest),
    pub code: Text,
    pub message: Text,
    /// Sent to the cloud (it answers with a request id), or refused by the client.
    pub sent: bool,
    /// A value of the request that must not show in the error.
    pub secret: Option<&'static str>,
}

/// How a text must look.
#[derive(Clone, Copy, Debug)]
pub enum Text {
    Is(&'static str),
    StartsWith(&'static str),
    Contains(&'static str),
    NonEmpty,
}

impl Text {
    pub fn check(self, what: &str, text: &str) {
        let ok = match self {
            Text::Is(t) => text == t,
            Text::StartsWith(t) => text.starts_with(t),
            Text::Contains(t) => text.contains(t),
            Text::NonEmpty => !text.is_empty(),
        };
        assert!(ok, "{what}: {text:?} is not {self:?}");
    }
}

/// A read-only call of the client.
#[derive(Clone, Copy, Debug)]
pub enum Call {
    Regions,
    Zones,
    Types,
    /// The status of one unknown instance.
    Status,
}

/// A mutating call on ids.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Stop,
    Terminate,
}

pub fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

/// A retry policy patient enough to wait for a 1 request/s bucket to refill.
pub fn patient() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(300),
        max_delay: Duration::from_millis(1000),
    }
}

/// One emulator and the cloud's client against it.
pub struct Ctx {
    pub emu: Emulator,
    pub c: AnyProvider,
    pub cloud: &'static Contract,
}

impl Ctx {
    pub async fn start(cloud: &'static Contract) -> Ctx {
        let emu = Emulator::start(&["--transition-delay-ms", "150", "--no-rate-limit"]).await;
        let c = client(
            &emu,
            cloud,
            cloud.key_id,
            cloud.secret,
            cloud.project_id,
            retry(),
        )
        .expect("client");
        Ctx { emu, c, cloud }
    }

    /// Another client of the cloud against the same emulator.
    pub fn client(
        &self,
        key_id: &str,
        secret: &str,
        project_id: Option<&str>,
        retry: RetryPolicy,
    ) -> Result<AnyProvider, ProviderError> {
        client(&self.emu, self.cloud, key_id, secret, project_id, retry)
    }

    pub fn region(&self) -> &'static str {
        self.cloud.region
    }

    pub fn request(&self, name: &str) -> RunRequest {
        (self.cloud.run_request)(name)
    }

    /// Inject a fault for this cloud (`provider` is added).
    pub async fn fault(&self, mut fault: Value) {
        fault["provider"] = json!(self.cloud.provider);
        self.emu.inject_fault(fault).await;
    }

    /// (total, faulted) calls of `action`.
    pub async fn stats(&self, action: &str) -> (u64, u64) {
        let calls = self.emu.calls().await;
        let s = &calls[self.cloud.provider][action];
        (
            s["total"].as_u64().unwrap_or(0),
            s["faulted"].as_u64().unwrap_or(0),
        )
    }

    /// A counter (`total`, `ok`, `throttled`, ...) of `action`.
    pub async fn counter(&self, action: &str, field: &str) -> u64 {
        self.emu.calls().await[self.cloud.provider][action][field]
            .as_u64()
            .unwrap_or(0)
    }

    /// The parameters (form and query pairs) of every recorded request of `action`.
    pub async fn sent(&self, action: &str) -> Vec<Vec<(String, String)>> {
        let log = self
            .emu
            .get_json(&format!("requests?provider={}", self.cloud.provider))
            .await;
        log.as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r["action"] == action)
            .map(|r| {
                let mut pairs: Vec<(String, String)> =
                    serde_json::from_value(r["form"].clone()).unwrap_or_default();
                let q: Vec<(String, String)> =
                    serde_json::from_value(r["query"].clone()).unwrap_or_default();
                pairs.extend(q);
                pairs
            })
            .collect()
    }

    pub async fn instances(&self) -> Vec<Value> {
        self.emu.instances_of(self.cloud.provider).await
    }

    pub async fn status(&self, ids: &[String]) -> Vec<InstanceStatus> {
        self.c
            .describe_status(self.region(), ids)
            .await
            .expect("describe_status")
    }

    /// The details of one instance.
    pub async fn details(&self, id: &str) -> InstanceDetails {
        let mut d = self
            .c
            .describe_instances(self.region(), &DescribeFilter::Ids(vec![id.to_string()]))
            .await
            .expect("describe_instances");
        assert_eq!(d.len(), 1, "{d:?}");
        let d = d.remove(0);
        assert_eq!(d.id, id);
        d
    }

    /// The ids an owner-tag query finds for instance name `name`.
    pub async fn by_owner(&self, name: &str) -> Vec<String> {
        let (key, prefix) = self.cloud.owner_tag;
        let filter = DescribeFilter::Tag {
            key: key.into(),
            value: format!("{prefix}{name}"),
        };
        self.c
            .describe_instances(self.region(), &filter)
            .await
            .expect("describe by tag")
            .into_iter()
            .map(|d| d.id)
            .collect()
    }

    /// Poll the status until `id` is in `want`.
    pub async fn wait_state(&self, id: &str, want: InstanceState) {
        let deadline = Instant::now() + WAIT;
        let ids = [id.to_string()];
        loop {
            let st = self.status(&ids).await;
            if st.first().map(|s| s.state) == Some(want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{id} did not reach {want:?} after {WAIT:?}: {st:?}"
            );
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    /// One of the read-only calls; the ids it lists (available ones for regions and
    /// zones).
    pub async fn call(&self, c: &AnyProvider, call: Call) -> Result<Vec<String>, ProviderError> {
        let r = self.region();
        Ok(match call {
            Call::Regions => c
                .regions()
                .await?
                .into_iter()
                .filter(|x| x.available)
                .map(|x| x.id)
                .collect(),
            Call::Zones => c
                .zones(r)
                .await?
                .into_iter()
                .filter(|x| x.available)
                .map(|x| x.id)
                .collect(),
            Call::Types => c
                .instance_types(r, None)
                .await?
                .into_iter()
                .map(|x| x.id)
                .collect(),
            Call::Status => c
                .describe_status(r, &[(self.cloud.unknown_id)(0)])
                .await?
                .into_iter()
                .map(|x| x.id)
                .collect(),
        })
    }

    /// What a successful `call` must list.
    pub fn expected(&self, call: Call) -> Option<&'static str> {
        match call {
            Call::Regions => Some(self.cloud.region),
            Call::Zones => Some(self.cloud.zone),
            Call::Types => Some(self.cloud.instance_type),
            Call::Status => None,
        }
    }

    pub async fn op(&self, op: Op, ids: &[String]) -> Result<(), ProviderError> {
        match op {
            Op::Stop => {
                self.c
                    .stop_instances(self.region(), ids, StopMode::Hard)
                    .await
            }
            Op::Terminate => self.c.terminate_instances(self.region(), ids).await,
        }
    }
}

fn client(
    emu: &Emulator,
    cloud: &Contract,
    key_id: &str,
    secret: &str,
    project_id: Option<&str>,
    retry: RetryPolicy,
) -> Result<AnyProvider, ProviderError> {
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: key_id.into(),
        secret: SecretString::new(secret),
        project_id: project_id.map(str::to_string),
    });
    cfg.trust_endpoint(emu.url().to_string());
    cfg.timeout = Duration::from_secs(10);
    cfg.retry = retry;
    (cloud.make)(cfg)
}

/// The value of parameter `name` among `pairs`.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
