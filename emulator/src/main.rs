//! cloud-emulator: a LocalStack-style emulator of the Tencent Cloud CVM API 3.0 (and, over
//! the same store, other clouds' compute APIs) for tests and benchmarks.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use cloud_emulator::app::AppState;
use cloud_emulator::config::{self, Accounts, Delays, Settings};
use cloud_emulator::server;
use cloud_emulator::store::{self, Store};

#[derive(Parser)]
#[command(
    name = "cloud-emulator",
    version,
    about = "Wire-level emulator of cloud compute APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every emulated cloud API and the /_emulator/ control API on one port.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// YAML list of accounts `{provider, key_id, secret, project_id?}`, replacing the
    /// built-in demo accounts.
    #[arg(long)]
    accounts: Option<PathBuf>,
    /// Keep the instances in this JSON file (loaded at start, saved atomically).
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Duration of every lifecycle transition, in milliseconds.
    #[arg(long, default_value_t = config::DEFAULT_TRANSITION_MS)]
    transition_delay_ms: u64,
    /// Duration of one transition, NAME=MS (pending, starting, stopping, rebooting,
    /// resetting, terminating, shutdown, resize). Repeatable.
    #[arg(long = "delay", value_name = "NAME=MS", value_parser = config::parse_delay_pair)]
    delays: Vec<(String, u64)>,
    /// Disable the per-action request rate limits.
    #[arg(long)]
    no_rate_limit: bool,
    /// Scale every documented rate limit by this factor.
    #[arg(long, default_value_t = 1.0)]
    rate_limit_multiplier: f64,
    /// Maximum number of live instances per account and cloud.
    #[arg(long)]
    instance_quota: Option<u64>,
    /// Seed of the fault schedule: a fault rule's `probability` is then rolled from this
    /// seed and the per-action call sequence instead of a random generator, so the same
    /// seed and the same calls fail the same calls (replays of a test campaign).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Log filter (RUST_LOG syntax) when RUST_LOG is not set.
    #[arg(long, default_value = "info")]
    log_level: String,
}

fn main() {
    let cli = Cli::parse();
    let Command::Serve(args) = cli.command;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&args.log_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(serve(args)) {
        eprintln!("cloud-emulator: {e}");
        std::process::exit(1);
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let accounts = match &args.accounts {
        Some(path) => Accounts::load(path)?,
        None => Accounts::demo(),
    };
    let mut delays = Delays::uniform(args.transition_delay_ms);
    for (name, ms) in &args.delays {
        delays.set(name, *ms)?;
    }
    if !(args.rate_limit_multiplier > 0.0 && args.rate_limit_multiplier.is_finite()) {
        return Err("--rate-limit-multiplier must be a positive number".into());
    }
    let settings = Settings {
        transition_delays_ms: delays,
        rate_limit_enabled: !args.no_rate_limit,
        rate_limit_multiplier: args.rate_limit_multiplier,
        instance_quota: args.instance_quota,
        ..Settings::default()
    };
    let store = match &args.state_file {
        Some(path) => Store::from_snapshot(store::load_snapshot(path)?),
        None => Store::new(),
    };
    let loaded = store.len();
    let app = Arc::new(AppState::new(
        accounts,
        settings,
        store,
        args.state_file.clone(),
    ));
    app.faults().set_seed(args.seed);

    let listener = TcpListener::bind(&args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "cloud-emulator listening on http://{local}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    tracing::info!(
        instances = loaded,
        fault_seed = ?args.seed,
        accounts = app.accounts.all().len(),
        "serving Tencent CVM 2017-03-12 and the /_emulator/ control API"
    );

    if app.state_file.is_some() {
        let saver = app.clone();
        tokio::spawn(async move {
            let mut saved = 0u64;
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                match saver.save_if_changed(saved) {
                    Ok(g) => saved = g,
                    Err(e) => tracing::warn!("cannot save the state file: {e}"),
                }
            }
        });
    }

    let router = server::router(app.clone());
    tokio::select! {
        _ = server::serve(listener, router) => {}
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
        }
    }
    if app.state_file.is_some() {
        app.save_if_changed(u64::MAX)
            .map_err(|e| format!("cannot save the state file: {e}"))?;
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
