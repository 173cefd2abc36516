//! `run`: the controller itself, with its metrics server and optional leader election.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Args;
use cloudinstance_controller::controller::context::Settings;
use cloudinstance_controller::controller::{self, metrics::Metrics, server};
use cloudinstance_controller::provider::endpoint::EndpointPolicy;

use super::duration::parse_duration;

#[derive(Args)]
pub struct RunArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// Only manage CloudInstances matching this label selector (to shard across installs).
    #[arg(long, env = "LABEL_SELECTOR")]
    label_selector: Option<String>,
    /// Address for /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080", env = "METRICS_ADDR")]
    metrics_addr: SocketAddr,
    /// Poll interval while instances are changing.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    poll_fast: Duration,
    /// Poll interval when everything is stable.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    poll_slow: Duration,
    /// Parallel reconciliations of CloudInstances.
    #[arg(long, default_value_t = 16)]
    concurrency: u16,
    /// Re-verify credentials at least this often.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    credential_recheck: Duration,
    /// How long a guest OS gets to shut down after a stop without force, before
    /// `stopMode: SoftThenHard` forces it (Alibaba, Huawei; Tencent does it itself) and
    /// `Soft` asks again.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    soft_stop_grace: Duration,
    /// Elect a leader through a coordination.k8s.io Lease; only the leader acts.
    #[arg(long, env = "LEADER_ELECT")]
    leader_elect: bool,
    /// Namespace of the Lease (defaults to the pod's namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    leader_election_namespace: String,
    /// Name of the Lease; installs sharded by --label-selector in one namespace need
    /// different names.
    #[arg(
        long,
        env = "LEADER_ELECTION_NAME",
        default_value = "cloudinstance-controller"
    )]
    leader_election_name: String,
    /// Lease duration: worst-case failover is this plus a fifth of it.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    leader_election_lease_duration: Duration,
    /// An endpoint credentials may use besides the clouds' official API domains, as a base
    /// URL (scheme, host, port, optional path), e.g. http://127.0.0.1:4566 for the local
    /// emulator. Repeat the flag or separate with commas. `http://` is only allowed this way.
    #[arg(
        long = "allowed-endpoint",
        env = "ALLOWED_ENDPOINTS",
        value_delimiter = ','
    )]
    allowed_endpoints: Vec<String>,
    /// Deadline of one cloud API request (connect, send, and read the whole answer).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    provider_timeout: Duration,
}

pub async fn run(args: RunArgs) -> Result<(), String> {
    let client = kube::Client::try_default()
        .await
        .map_err(|e| format!("cannot build a Kubernetes client (KUBECONFIG / in-cluster): {e}"))?;
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let bound = server::serve(
        args.metrics_addr,
        server::ServerState {
            metrics: metrics.clone(),
            ready: ready.clone(),
        },
    )
    .await
    .map_err(|e| format!("cannot listen on {}: {e}", args.metrics_addr))?;
    tracing::info!(addr = %bound, "serving /metrics, /healthz, /readyz");
    let settings = Settings {
        namespace: args.namespace,
        label_selector: args.label_selector,
        poll: controller::poller::PollConfig {
            fast: args.poll_fast,
            slow: args.poll_slow,
            ..Default::default()
        },
        credential_recheck: args.credential_recheck,
        soft_stop_grace: args.soft_stop_grace,
        concurrency: args.concurrency,
        endpoint_policy: EndpointPolicy::with_allowed(&args.allowed_endpoints)?,
        provider_timeout: args.provider_timeout,
        ..Settings::default()
    };
    tracing::info!(policy = %settings.endpoint_policy.describe(), "endpoint policy");
    ready.store(true, std::sync::atomic::Ordering::Relaxed);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let sigterm = async {
            #[cfg(unix)]
            if let Ok(mut s) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                s.recv().await;
            }
        };
        tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = sigterm => {} }
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let elector = if args.leader_elect {
        let identity = std::env::var("POD_NAME").unwrap_or_else(|_| {
            format!(
                "{}-{}",
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .map(|h| h.trim().to_owned())
                    .unwrap_or_else(|_| "local".into()),
                std::process::id()
            )
        });
        let cfg = controller::leader::LeaseConfig::new(
            args.leader_election_namespace.clone(),
            args.leader_election_name.clone(),
            identity,
            args.leader_election_lease_duration,
        );
        let elector = Arc::new(controller::leader::Elector::new(client.clone(), cfg));
        tracing::info!(identity = %elector.config().identity, "waiting to become leader");
        tokio::select! {
            _ = elector.acquire() => {}
            _ = stopped(stop_rx.clone()) => return Ok(()),
        }
        let renewer = elector.clone();
        tokio::spawn(async move {
            renewer.keep_renewing().await;
            // Another replica may be leader now: stop acting at once.
            tracing::error!("lost leadership; exiting");
            std::process::exit(1);
        });
        Some(elector)
    } else {
        None
    };
    let mut settings = settings;
    if let Some(e) = &elector {
        settings.fence = e.fence();
    }
    metrics.leader.set(1);
    controller::run(client, settings, metrics.clone(), stopped(stop_rx)).await;
    if let Some(e) = elector {
        e.release().await;
        metrics.leader.set(0);
    }
    Ok(())
}
