//! `cloudinstance-controller`: run the controller, print the CRDs, query cloud catalogs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use cloudinstance_controller::controller::{self, Settings, metrics::Metrics, server};
use cloudinstance_controller::provider::endpoint::EndpointPolicy;
use cloudinstance_controller::provider::{
    AnyProvider, ClientConfig, CloudProvider, Credentials, DescribeFilter, ProviderKind,
    SecretString,
};

#[derive(Parser)]
#[command(
    name = "cloudinstance-controller",
    version,
    about = "Kubernetes controller for virtual machines on Tencent Cloud, Alibaba Cloud and Huawei Cloud"
)]
struct Cli {
    /// Log format.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "LOG_FORMAT"
    )]
    log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `cloudinstance_controller=debug`.
    #[arg(long, global = true, default_value = "info", env = "LOG_LEVEL")]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller against the cluster in KUBECONFIG / the in-cluster config.
    Run(RunArgs),
    /// Print the CustomResourceDefinitions as YAML.
    Crd,
    /// List what a cloud offers: regions, zones, images, instance types.
    Catalog {
        #[command(subcommand)]
        what: CatalogWhat,
    },
    /// Check a key pair with a cheap authenticated call (DescribeRegions).
    Verify(CloudArgs),
    /// List instances in a region (all, or those a CloudInstance created: --tag-uid).
    Instances {
        #[command(flatten)]
        cloud: CloudArgs,
        #[arg(long)]
        region: String,
        /// Only the instance created for the CloudInstance with this UID.
        #[arg(long)]
        tag_uid: Option<String>,
        /// Only instances whose name contains this text (case-insensitive).
        #[arg(long)]
        name_contains: Option<String>,
    },
}

#[derive(Args)]
struct RunArgs {
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

#[derive(Args, Clone)]
struct CloudArgs {
    /// tencent, alibaba or huawei.
    #[arg(long)]
    provider: ProviderKind,
    /// API base URL override (e.g. the local emulator, http://127.0.0.1:PORT).
    #[arg(long, env = "CIC_ENDPOINT")]
    endpoint: Option<String>,
    /// Access key id; the secret is read from CIC_SECRET_ACCESS_KEY (never a flag, so it
    /// stays out of shell history and process lists).
    #[arg(long, env = "CIC_ACCESS_KEY_ID")]
    access_key_id: String,
    /// Huawei project id.
    #[arg(long, env = "CIC_PROJECT_ID")]
    project_id: Option<String>,
}

#[derive(Subcommand)]
enum CatalogWhat {
    Regions {
        #[command(flatten)]
        cloud: CloudArgs,
    },
    Zones {
        #[command(flatten)]
        cloud: CloudArgs,
        #[arg(long)]
        region: String,
    },
    Images {
        #[command(flatten)]
        cloud: CloudArgs,
        #[arg(long)]
        region: String,
    },
    InstanceTypes {
        #[command(flatten)]
        cloud: CloudArgs,
        #[arg(long)]
        region: String,
        #[arg(long)]
        zone: Option<String>,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: u64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("invalid duration unit in {s:?}: use ms, s, m or h")),
    }
}

fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => b.json().flatten_event(true).with_current_span(true).init(),
        LogFormat::Text => b.init(),
    }
}

fn provider_from(args: &CloudArgs) -> Result<AnyProvider, String> {
    let secret = std::env::var("CIC_SECRET_ACCESS_KEY").map_err(|_| {
        "set CIC_SECRET_ACCESS_KEY to the secret key (it is never taken as a flag)".to_string()
    })?;
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: args.access_key_id.clone(),
        secret: SecretString::new(secret),
        project_id: args.project_id.clone(),
    });
    // The CLI user is the operator: the endpoint they name on the command line is allowed.
    if let Some(e) = &args.endpoint {
        cfg.trust_endpoint(e.clone());
    }
    AnyProvider::new(args.provider, cfg).map_err(|e| e.to_string())
}

/// Print rows as an aligned table.
fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut w: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!("{}", line(headers.iter().map(|s| s.to_string()).collect()));
    for r in rows {
        println!("{}", line(r));
    }
}

async fn catalog(what: CatalogWhat) -> Result<(), String> {
    match what {
        CatalogWhat::Regions { cloud } => {
            let p = provider_from(&cloud)?;
            let rows = p.regions().await.map_err(|e| e.to_string())?;
            table(
                &["REGION", "NAME", "AVAILABLE"],
                rows.into_iter()
                    .map(|r| vec![r.id, r.name, r.available.to_string()])
                    .collect(),
            );
        }
        CatalogWhat::Zones { cloud, region } => {
            let p = provider_from(&cloud)?;
            let rows = p.zones(&region).await.map_err(|e| e.to_string())?;
            table(
                &["ZONE", "NAME", "AVAILABLE"],
                rows.into_iter()
                    .map(|r| vec![r.id, r.name, r.available.to_string()])
                    .collect(),
            );
        }
        CatalogWhat::Images { cloud, region } => {
            let p = provider_from(&cloud)?;
            let rows = p.images(&region).await.map_err(|e| e.to_string())?;
            table(
                &["IMAGE", "NAME", "OS", "TYPE"],
                rows.into_iter()
                    .map(|r| vec![r.id, r.name, r.os_name, r.image_type])
                    .collect(),
            );
        }
        CatalogWhat::InstanceTypes {
            cloud,
            region,
            zone,
        } => {
            let p = provider_from(&cloud)?;
            let rows = p
                .instance_types(&region, zone.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            table(
                &["TYPE", "ZONE", "FAMILY", "CPU", "MEMORY(GB)"],
                rows.into_iter()
                    .map(|r| {
                        vec![
                            r.id,
                            r.zone,
                            r.family,
                            r.cpu.to_string(),
                            r.memory_gb.to_string(),
                        ]
                    })
                    .collect(),
            );
        }
    }
    Ok(())
}

async fn run(args: RunArgs) -> Result<(), String> {
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

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging(cli.log_format, &cli.log_level);
    let r = match cli.command {
        Command::Crd => {
            print!("{}", cloudinstance_controller::api::crds_yaml());
            Ok(())
        }
        Command::Run(a) => run(a).await,
        Command::Catalog { what } => catalog(what).await,
        Command::Verify(cloud) => match provider_from(&cloud) {
            Err(e) => Err(e),
            Ok(p) => match p.regions().await {
                Ok(r) => {
                    println!(
                        "ok: keys accepted by {}; {} regions available",
                        cloud.provider,
                        r.len()
                    );
                    Ok(())
                }
                Err(e) => Err(format!("keys rejected: {e}")),
            },
        },
        Command::Instances {
            cloud,
            region,
            tag_uid,
            name_contains,
        } => match provider_from(&cloud) {
            Err(e) => Err(e),
            Ok(p) => {
                let filter = match tag_uid {
                    Some(uid) => DescribeFilter::Tag {
                        key: controller::TAG_UID.into(),
                        value: uid,
                    },
                    None => DescribeFilter::All,
                };
                match p.describe_instances(&region, &filter).await {
                    Err(e) => Err(e.to_string()),
                    Ok(list) => {
                        let needle = name_contains.map(|n| n.to_lowercase());
                        let list: Vec<_> = list
                            .into_iter()
                            .filter(|d| {
                                needle
                                    .as_ref()
                                    .is_none_or(|n| d.name.to_lowercase().contains(n))
                            })
                            .collect();
                        table(
                            &[
                                "ID",
                                "NAME",
                                "STATE",
                                "TYPE",
                                "ZONE",
                                "PRIVATE-IP",
                                "PUBLIC-IP",
                            ],
                            list.into_iter()
                                .map(|d| {
                                    vec![
                                        d.id,
                                        d.name,
                                        d.provider_state,
                                        d.instance_type,
                                        d.zone,
                                        d.private_ips.join(","),
                                        d.public_ips.join(","),
                                    ]
                                })
                                .collect(),
                        );
                        Ok(())
                    }
                }
            }
        },
    };
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
