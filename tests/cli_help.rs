//! CLI conventions, from the outside: every subcommand's `--help` documents every flag and
//! subcommand, enums list their values (in help and in completions), `completions <shell>`
//! works, durations take the usual forms, RUST_LOG is honoured and a bad log filter is an
//! error. No cluster and no cloud needed.

use std::process::{Command, Output};

fn bin(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudinstance-controller"));
    cmd.args(args)
        .env_remove("RUST_LOG")
        .env_remove("LOG_LEVEL")
        .env_remove("LOG_FORMAT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run cloudinstance-controller")
}

fn ok(args: &[&str]) -> String {
    let o = bin(args, &[]);
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The entries of one section (`Commands:`, `Options:`, `Arguments:`) of a `-h` output:
/// (name, help text).
fn section(help: &str, title: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if !line.starts_with(' ') {
            inside = line.trim_end() == title;
            continue;
        }
        if !inside || line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        if indent <= 6 {
            // "  name   help" / "      --flag <X>  help": the help starts after two spaces,
            // or on the next, deeper indented line when the names are long
            let (name, text) = match body.find("  ") {
                Some(i) => (&body[..i], body[i..].trim()),
                None => (body, ""),
            };
            out.push((name.to_owned(), text.to_owned()));
        } else if let Some((_, text)) = out.last_mut() {
            text.push_str(body);
        }
    }
    out
}

/// Every subcommand path, depth first, from the `Commands:` sections.
fn subcommands(path: &[String], all: &mut Vec<Vec<String>>) {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("-h");
    let help = ok(&args);
    for (name, _) in section(&help, "Commands:") {
        if name == "help" {
            continue;
        }
        let mut p = path.to_vec();
        p.push(name);
        all.push(p.clone());
        subcommands(&p, all);
    }
}

#[test]
fn every_subcommand_and_flag_has_help_text() {
    let mut paths = vec![vec![]];
    subcommands(&[], &mut paths);
    let names: Vec<String> = paths.iter().map(|p| p.join(" ")).collect();
    for expected in [
        "run",
        "crd",
        "catalog regions",
        "catalog instance-types",
        "verify",
        "instances",
        "completions",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "no {expected:?} in {names:?}"
        );
    }
    let mut missing = Vec::new();
    for path in &paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("-h");
        let help = ok(&args);
        for title in ["Commands:", "Options:", "Arguments:"] {
            for (name, text) in section(&help, title) {
                if text.is_empty() {
                    missing.push(format!("{} {name}", path.join(" ")));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "entries of `--help` without a help text: {missing:#?}"
    );
}

#[test]
fn enums_list_their_values_in_help_and_completions() {
    for path in [
        &["verify"][..],
        &["instances"],
        &["catalog", "regions"],
        &["catalog", "instance-types"],
    ] {
        let mut args = path.to_vec();
        args.push("-h");
        let help = ok(&args);
        assert!(
            help.contains("[possible values: tencent, alibaba, huawei]"),
            "{path:?}: {help}"
        );
        assert!(help.contains("[possible values: text, json]"), "{path:?}");
    }
    let long = ok(&["verify", "--help"]);
    assert!(
        long.contains("- huawei:") && long.contains("Huawei Cloud ECS (needs --project-id)"),
        "{long}"
    );
    let completions = ok(&["completions", "-h"]);
    assert!(
        completions.contains("bash, elvish, fish, powershell, zsh"),
        "{completions}"
    );

    let bash = ok(&["completions", "bash"]);
    assert!(bash.contains("complete -F"), "{bash}");
    assert!(bash.contains("--provider"), "bash completes flags");
    assert!(
        bash.contains("tencent alibaba huawei"),
        "bash completes --provider values"
    );
    assert!(
        bash.contains("instance-types"),
        "bash completes nested subcommands"
    );
    let zsh = ok(&["completions", "zsh"]);
    assert!(
        zsh.starts_with("#compdef cloudinstance-controller"),
        "{zsh}"
    );
    assert!(
        zsh.contains("tencent") && zsh.contains("huawei"),
        "zsh completes values"
    );
    for shell in ["fish", "elvish", "powershell"] {
        assert!(ok(&["completions", shell]).contains("provider"), "{shell}");
    }
    let bad = bin(&["completions", "tcsh"], &[]);
    assert!(!bad.status.success());
}

#[test]
fn providers_are_case_insensitive_and_unknown_ones_list_the_choices() {
    // parse only: --help after the values stops before anything runs
    ok(&[
        "verify",
        "--provider",
        "Tencent",
        "--access-key-id",
        "x",
        "--help",
    ]);
    let o = bin(
        &["verify", "--provider", "aws", "--access-key-id", "x"],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("invalid value 'aws'") && err.contains("tencent, alibaba, huawei"),
        "{err}"
    );
}

#[test]
fn durations_take_the_usual_forms() {
    ok(&[
        "run",
        "--poll-fast",
        "1500ms",
        "--poll-slow",
        "1m30s",
        "--soft-stop-grace",
        "90s",
        "--credential-recheck",
        "1h",
        "--leader-election-lease-duration",
        "15",
        "--help",
    ]);
    for bad in ["1x", "1.5s", "m"] {
        let o = bin(&["run", "--poll-slow", bad], &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{bad} accepted");
        assert!(err.contains("use e.g. 90s, 1m30s"), "{err}");
    }
}

#[test]
fn rust_log_is_honoured_and_bad_filters_are_errors() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let o = bin(args, env);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    // a valid filter from any source: the command runs
    assert_eq!(run(&["crd"], &[("RUST_LOG", "debug,kube=info")]).0, Some(0));
    // RUST_LOG is read (a bad one is reported as such) ...
    let (code, err) = run(&["crd"], &[("RUST_LOG", "kube=loud")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("from RUST_LOG"), "{err}");
    // ... and --log-level / LOG_LEVEL take precedence over it
    assert_eq!(
        run(
            &["--log-level", "info", "crd"],
            &[("RUST_LOG", "kube=loud")]
        )
        .0,
        Some(0)
    );
    assert_eq!(
        run(
            &["crd"],
            &[("RUST_LOG", "kube=loud"), ("LOG_LEVEL", "warn")]
        )
        .0,
        Some(0)
    );
    // an invalid filter is an error, not a silent `info`
    for bad in ["verbose", "info,debg", "x=y=z"] {
        let (code, err) = run(&["--log-level", bad, "crd"], &[]);
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert!(err.contains("invalid log filter"), "{err}");
    }
    let (code, err) = run(&["crd"], &[("LOG_LEVEL", "loud")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("LOG_LEVEL"), "{err}");
}
