//! `cloudinstance-controller`: run the controller, print the CRDs, query cloud catalogs.
//! The subcommands live in [`cli`]; this file is the command line and the dispatch.

mod cli;

use clap::{Parser, Subcommand};
use cli::catalog::CatalogWhat;
use cli::cloud::CloudArgs;
use cli::logging::{LogFormat, init_logging, log_filter};
use cli::run::RunArgs;

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
        Command::Run(a) => cli::run::run(a).await,
        Command::Catalog { what } => cli::catalog::catalog(what).await,
        Command::Verify(cloud) => cli::cloud::verify(cloud).await,
        Command::Instances {
            cloud,
            region,
            tag_uid,
            name_contains,
        } => cli::instances::list(cloud, region, tag_uid, name_contains).await,
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
