//! `hack/soak-report.sh` turns a soak log into the README's figures: runs per soaked
//! HEAD (interrupted runs not counted), failures, run times and every seed.

use std::path::PathBuf;
use std::process::Command;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hack/soak-report.sh")
}

const LOG: &str = "\
# 2026-11-28T21:00:00Z soak start: campaign both, scale small, threads 2, HEAD aaa1111, runs 0 (0 = unlimited), duration 5m
2026-11-28T21:01:00Z run 1 seed 11 campaign both ok 60s controller 0123 | faults: ...
2026-11-28T21:02:30Z run 2 seed 22 campaign both ok 90s controller 0123 | faults: ...
2026-11-28T21:03:00Z run 3 seed 33 campaign both INTERRUPTED (exit 143)
# 2026-11-28T21:03:00Z soak interrupted
# 2026-11-28T22:00:00Z soak start: campaign both, scale small, threads 2, HEAD bbb2222, runs 0 (0 = unlimited), duration 5m
2026-11-28T22:01:00Z run 1 seed 44 campaign both ok 70s controller 4567 | crash: ...
2026-11-28T22:02:00Z run 2 seed 55 campaign both FAILED 65s controller 4567 | audit
";

/// A second soak that ran beside the first (its own CIC_SOAK_DIR), soaking the same
/// HEAD bbb2222 and then ccc3333; its log starts with a run line before any start
/// line (a truncated log), which belongs to no HEAD.
const SECOND_LOG: &str = "\
2026-11-28T21:59:00Z run 9 seed 99 campaign both ok 50s controller 4567 | crash: ...
# 2026-11-28T22:00:05Z soak start: campaign both, scale small, threads 2, HEAD bbb2222, runs 0 (0 = unlimited), duration 5m
2026-11-28T22:01:10Z run 1 seed 66 campaign both ok 80s controller 4567 | crash: ...
# 2026-11-28T23:00:00Z soak start: campaign both, scale small, threads 2, HEAD ccc3333, runs 0 (0 = unlimited), duration 5m
2026-11-28T23:01:00Z run 1 seed 77 campaign both ok 61s controller 89ab | crash: ...
";

fn report(args: &[&str]) -> String {
    report_logs(args, &[LOG])
}

fn report_logs(args: &[&str], logs: &[&str]) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("cic-soak-report-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let paths: Vec<PathBuf> = logs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let log = dir.join(format!("soak-{i}.log"));
            std::fs::write(&log, text).unwrap();
            log
        })
        .collect();
    let out = Command::new(script())
        .args(args)
        .args(&paths)
        .output()
        .expect("run hack/soak-report.sh");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn counts_runs_per_head_and_lists_every_seed() {
    let out = report(&[]);
    assert!(out.contains("| `aaa1111` | 2 / 2 | 0 | 60–90 s |"), "{out}");
    assert!(out.contains("| `bbb2222` | 1 / 2 | 1 | 65–70 s |"), "{out}");
    assert!(out.contains("| **all** | **3 / 4** | 1 | |"), "{out}");
    assert!(out.contains("- `aaa1111`: 11 22\n"), "{out}");
    assert!(out.contains("- `bbb2222`: 44 55\n"), "{out}");
    // the interrupted run is neither passed nor failed
    assert!(!out.contains("33"), "{out}");
}

#[test]
fn seeds_of_one_head() {
    assert_eq!(report(&["--seeds-only", "bbb2222"]), "44 55\n");
}

#[test]
fn soaks_side_by_side_are_counted_together_per_head() {
    let out = report_logs(&[], &[LOG, SECOND_LOG]);
    assert!(out.contains("| `aaa1111` | 2 / 2 | 0 | 60–90 s |"), "{out}");
    assert!(out.contains("| `bbb2222` | 2 / 3 | 1 | 65–80 s |"), "{out}");
    assert!(out.contains("| `ccc3333` | 1 / 1 | 0 | 61–61 s |"), "{out}");
    assert!(out.contains("| **all** | **5 / 6** | 1 | |"), "{out}");
    assert!(out.contains("- `bbb2222`: 44 55 66\n"), "{out}");
    // the run before any start line in the second log is not credited to the first
    // log's last HEAD
    assert!(!out.contains("99"), "{out}");
    assert_eq!(
        report_logs(&["--seeds-only", "bbb2222"], &[LOG, SECOND_LOG]),
        "44 55 66\n"
    );
}
