//! `--log-format` and `--log-level`: the tracing subscriber of every subcommand.

use clap::ValueEnum;

/// Log format.
#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with the per-object span fields.
    Json,
}

const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// The log filter: --log-level / LOG_LEVEL, else RUST_LOG, else `info`. Errors name the
/// source. Stricter than EnvFilter in one way: a bare word must be a level (EnvFilter
/// would take `verbose` as a target name and silently log nothing of ours).
pub fn log_filter(flag: Option<&str>) -> Result<tracing_subscriber::EnvFilter, String> {
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

pub fn init_logging(format: LogFormat, filter: tracing_subscriber::EnvFilter) {
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => b.json().flatten_event(true).with_current_span(true).init(),
        LogFormat::Text => b.init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
