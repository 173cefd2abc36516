//! The official vendor Python SDKs for the acceptance tests: one cached virtualenv at
//! `<target dir>/sdk-venv` (shared by all SDK tests), and running an SDK script against
//! the emulator. Used with `#[path = "support/sdk.rs"] mod sdk;` next to `mod emulator;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{cmd:?} failed ({}):\n{text}", out.status))
    }
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn installed_version(python: &Path, package: &str) -> Option<String> {
    let code = format!("import importlib.metadata as m; print(m.version({package:?}))");
    run(Command::new(python).args(["-c", &code]))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The shared SDK virtualenv with `packages` (name, version) installed, created or
/// completed on demand. Returns its python. Blocking.
pub fn sdk_venv(packages: &[(&str, &str)], what: &str) -> PathBuf {
    // One installer at a time, across the tests of this binary and across processes: two
    // pip installs into one fresh venv break each other (seen on a clean CI checkout).
    static IN_PROCESS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    let lock_path = crate::emulator::target_dir().join("sdk-venv.lock");
    let lock = std::fs::File::create(&lock_path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
    let venv = crate::emulator::target_dir().join("sdk-venv");
    let mut python = venv_python(&venv);
    if !python.exists() {
        let _ = std::fs::remove_dir_all(&venv);
        let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        run(Command::new(&base).args(["-m", "venv"]).arg(&venv))
            .unwrap_or_else(|e| panic!("cannot create the SDK virtualenv with `{base}`: {e}"));
        python = venv_python(&venv);
    }
    let missing = packages
        .iter()
        .any(|(name, version)| installed_version(&python, name).as_deref() != Some(*version));
    if missing {
        let specs: Vec<String> = packages.iter().map(|(n, v)| format!("{n}=={v}")).collect();
        let log = run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
            ])
            .args(&specs))
        .unwrap_or_else(|e| panic!("cannot install the {what} SDK ({specs:?}): {e}"));
        println!("installed {specs:?} into {}\n{log}", venv.display());
    }
    python
}

/// Run `tests/sdk/<script>` with the venv's python and `env`, without any HTTP proxy
/// (the emulator is on loopback). Prints its output; returns it for assertions.
pub async fn run_script(python: PathBuf, script: &str, env: Vec<(&'static str, String)>) -> Output {
    let path = crate::emulator::workspace_file(&format!("tests/sdk/{script}"));
    let name = script.to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&path)
            .envs(env)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run tests/sdk/{name}: {e}"))
    })
    .await
    .expect("SDK script task");
    println!(
        "---- {script} stdout ----\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    println!(
        "---- {script} stderr ----\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
