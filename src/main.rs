//! `cloudinstance-controller`: run the controller, print the CRDs, query cloud catalogs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use cloudinstance_controller::controller::context::{Settings, TAG_UID};
use cloudinstance_controller::controller::{self, metrics::Metrics, server};
use cloudinstance_controller::provider::endpoint::EndpointPolicy;
use cloudinstance_controller::provider::{
    AnyProvider, ClientConfig, CloudProvider, Credentials, DescribeFilter, ProviderKind,
    SecretString,
};

#[derive(Parser)]
#[command(
    name = "cloudinstance-controller",
    version,
    about = "Kubernetes controller for virtual machines on Tencent Cloud, Alibaba Cloud and Huawei Cloud",
    after_help = "Durations take the forms 90s, 1m30s, 2m, 1h, 500ms (a bare number is seconds)."
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
    /// Log filter, e.g. `debug` or `info,cloudinstance_controller=debug` [default: RUST_LOG,
    /// else info].
    ///
    /// tracing's EnvFilter syntax: a level (trace, debug, info, warn, error, off) and/or
    /// `target=level` directives, comma-separated. Takes precedence over RUST_LOG, which is
    /// used when neither this flag nor LOG_LEVEL is set. An invalid filter is an error.
    #[arg(long, global = true, env = "LOG_LEVEL")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with the per-object span fields.
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
        /// Region to list, e.g. ap-guangzhou, cn-hangzhou, cn-north-4.
        #[arg(long)]
        region: String,
        /// Only the instance created for the CloudInstance with this UID.
        #[arg(long)]
        tag_uid: Option<String>,
        /// Only instances whose name contains this text (case-insensitive).
        #[arg(long)]
        name_contains: Option<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// Subcommands, flags and their values complete, e.g. `--provider <TAB>`. Install, for
    /// bash: `cloudinstance-controller completions bash >
    /// /etc/bash_completion.d/cloudinstance-controller`; for zsh: into a directory of
    /// `$fpath` as `_cloudinstance-controller`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
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

/// The clouds, as the command line names them.
#[derive(Clone, Copy, ValueEnum)]
enum Cloud {
    /// Tencent Cloud CVM (API 3.0, TC3-HMAC-SHA256).
    Tencent,
    /// Alibaba Cloud ECS (RPC API 2014-05-26).
    Alibaba,
    /// Huawei Cloud ECS (needs --project-id).
    Huawei,
}

impl From<Cloud> for ProviderKind {
    fn from(c: Cloud) -> Self {
        match c {
            Cloud::Tencent => ProviderKind::Tencent,
            Cloud::Alibaba => ProviderKind::Alibaba,
            Cloud::Huawei => ProviderKind::Huawei,
        }
    }
}

#[derive(Args, Clone)]
struct CloudArgs {
    /// Which cloud to ask.
    #[arg(long, value_enum, ignore_case = true)]
    provider: Cloud,
    /// API base URL override (e.g. the local emulator, http://127.0.0.1:PORT).
    #[arg(long, env = "CIC_ENDPOINT")]
    endpoint: Option<String>,
    /// Access key id; the secret is read from CIC_SECRET_ACCESS_KEY (never a flag, so it
    /// stays out of shell history and process lists).
    #[arg(long, env = "CIC_ACCESS_KEY_ID")]
    access_key_id: String,
    /// Huawei project id (of the region; required for huawei).
    #[arg(long, env = "CIC_PROJECT_ID")]
    project_id: Option<String>,
}

#[derive(Subcommand)]
enum CatalogWhat {
    /// Regions the account can use.
    Regions {
        #[command(flatten)]
        cloud: CloudArgs,
    },
    /// Availability zones of a region.
    Zones {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Region whose zones to list.
        #[arg(long)]
        region: String,
    },
    /// Images (public and the account's own) usable in a region.
    Images {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Region whose images to list.
        #[arg(long)]
        region: String,
    },
    /// Instance types offered in a region (or one zone of it).
    InstanceTypes {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Region whose instance types to list.
        #[arg(long)]
        region: String,
        /// Only the types sold in this zone.
        #[arg(long)]
        zone: Option<String>,
    },
}

/// A duration: one or more `<number><unit>` parts (units ms, s, m, h), e.g. `90s`,
/// `1m30s`, `1h`, `500ms`; a bare number is seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {s:?}: use e.g. 90s, 1m30s, 2m, 1h or 500ms");
    let t = s.trim();
    if t.is_empty() {
        return Err(invalid());
    }
    if t.chars().all(|c| c.is_ascii_digit()) {
        return t.parse().map(Duration::from_secs).map_err(|_| invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(invalid)?),
            "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(invalid)?),
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total = total.checked_add(part).ok_or_else(invalid)?;
    }
    Ok(total)
}

const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// The log filter: --log-level / LOG_LEVEL, else RUST_LOG, else `info`. Errors name the
/// source. Stricter than EnvFilter in one way: a bare word must be a level (EnvFilter
/// would take `verbose` as a target name and silently log nothing of ours).
fn log_filter(flag: Option<&str>) -> Result<tracing_subscriber::EnvFilter, String> {
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (spec, source) = match (flag, rust_log.as_deref()) {
        (Some(f), _) => (f, "--log-level / LOG_LEVEL"),
        (None, Some(r)) => (r, "RUST_LOG"),
        (None, None) => ("info", "the default"),
    };
    for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let bare = !directive.contains(['=', ':', '[']);
        if bare && !LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "invalid log filter {spec:?} from {source}: {directive:?} is not a level \
                 ({}); for a target write `{directive}=debug`",
                LEVELS.join(", ")
            ));
        }
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(spec)
        .map_err(|e| format!("invalid log filter {spec:?} from {source}: {e}"))
}

fn init_logging(format: LogFormat, filter: tracing_subscriber::EnvFilter) {
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
    AnyProvider::new(args.provider.into(), cfg).map_err(|e| e.to_string())
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
    if let Command::Completions { shell } = cli.command {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(
            shell,
            &mut cmd,
            "cloudinstance-controller",
            &mut std::io::stdout(),
        );
        return;
    }
    match log_filter(cli.log_level.as_deref()) {
        Ok(filter) => init_logging(cli.log_format, filter),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
    let r = match cli.command {
        Command::Completions { .. } => Ok(()),
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
                        ProviderKind::from(cloud.provider),
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
                        key: TAG_UID.into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn durations_take_the_usual_forms() {
        let secs = |s: &str| parse_duration(s).map(|d| d.as_millis());
        assert_eq!(secs("90s"), Ok(90_000));
        assert_eq!(secs("1m30s"), Ok(90_000));
        assert_eq!(secs("90"), Ok(90_000));
        assert_eq!(secs("2m"), Ok(120_000));
        assert_eq!(secs("1h2m3s"), Ok(3_723_000));
        assert_eq!(secs("1s500ms"), Ok(1_500));
        assert_eq!(secs("500ms"), Ok(500));
        for bad in [
            "",
            "s",
            "1x",
            "1.5s",
            "m1",
            "-1s",
            "1m 30s",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn log_filters_are_checked() {
        for ok in [
            "info",
            "DEBUG",
            "warn,cloudinstance_controller=debug",
            "kube=trace",
            "off",
        ] {
            assert!(log_filter(Some(ok)).is_ok(), "{ok}");
        }
        for bad in ["verbose", "info,debg", "kube=loud", "=x=y"] {
            let e = log_filter(Some(bad)).expect_err(bad);
            assert!(e.contains("--log-level"), "{e}");
        }
    }

    /// Every subcommand has an about text and every argument a help text (what
    /// `--help` shows; tests/cli_help.rs checks the printed help too).
    #[test]
    fn every_subcommand_and_argument_is_documented() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                let p = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_name() != "help" {
                    missing.push(p.clone());
                }
                walk(sub, &p, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "cloudinstance-controller", &mut missing);
        assert!(missing.is_empty(), "undocumented: {missing:#?}");
        Cli::command().debug_assert();
    }
}
