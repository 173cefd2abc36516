//! Acceptance test of the cloud emulator against Tencent Cloud's official Python SDK
//! (`tencentcloud-sdk-python-cvm`): `tests/sdk/tencent_lifecycle.py`, an ordinary SDK
//! program whose only change is the endpoint, must pass against the emulator.
//!
//! The SDK is installed from PyPI into a virtualenv cached at `<target dir>/sdk-venv`.

#[path = "support/emulator.rs"]
mod emulator;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use emulator::{Emulator, TENCENT_SECRET_ID, TENCENT_SECRET_KEY};

/// Pinned SDK packages (name, version).
const SDK_PACKAGES: &[(&str, &str)] = &[
    ("tencentcloud-sdk-python-common", "3.1.195"),
    ("tencentcloud-sdk-python-cvm", "3.1.178"),
];

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

/// A virtualenv with the pinned SDK, created or completed on demand.
fn sdk_venv() -> PathBuf {
    let venv = emulator::target_dir().join("sdk-venv");
    let mut python = venv_python(&venv);
    if !python.exists() {
        let _ = std::fs::remove_dir_all(&venv);
        let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        run(Command::new(&base).args(["-m", "venv"]).arg(&venv))
            .unwrap_or_else(|e| panic!("cannot create the SDK virtualenv with `{base}`: {e}"));
        python = venv_python(&venv);
    }
    let missing: Vec<String> = SDK_PACKAGES
        .iter()
        .filter(|(name, version)| installed_version(&python, name).as_deref() != Some(*version))
        .map(|(name, version)| format!("{name}=={version}"))
        .collect();
    if !missing.is_empty() {
        let specs: Vec<String> = SDK_PACKAGES
            .iter()
            .map(|(n, v)| format!("{n}=={v}"))
            .collect();
        let log = run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
            ])
            .args(&specs))
        .unwrap_or_else(|e| panic!("cannot install the Tencent Cloud SDK ({missing:?}): {e}"));
        println!("installed {specs:?} into {}\n{log}", venv.display());
    }
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_drives_the_emulator() {
    let python = tokio::task::spawn_blocking(sdk_venv)
        .await
        .expect("virtualenv task");
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let script = emulator::workspace_file("tests/sdk/tencent_lifecycle.py");
    let endpoint = emu.addr().to_string();

    let output = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .env("TENCENTCLOUD_SECRET_ID", TENCENT_SECRET_ID)
            .env("TENCENTCLOUD_SECRET_KEY", TENCENT_SECRET_KEY)
            .env("CVM_ENDPOINT", &endpoint)
            .env("CVM_REGION", "ap-guangzhou")
            .env("CVM_WAIT_SECONDS", "60")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .stdin(Stdio::null())
            .output()
            .expect("run tests/sdk/tencent_lifecycle.py")
    })
    .await
    .expect("SDK script task");

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("---- tencent_lifecycle.py stdout ----\n{stdout}");
    println!("---- tencent_lifecycle.py stderr ----\n{stderr}");
    assert!(
        output.status.success(),
        "tencent_lifecycle.py failed ({}); emulator log:\n{}",
        output.status,
        emu.log()
    );
    assert!(stdout.contains("OK: Tencent CVM lifecycle passed"));

    // The emulator saw the SDK's calls, including the rejected ones.
    let calls = emu.calls().await;
    let t = &calls["tencent"];
    assert_eq!(t["RunInstances"]["ok"], 2, "{calls}");
    assert_eq!(
        t["RunInstances"]["error_codes"]["DryRunOperation"], 1,
        "{calls}"
    );
    assert_eq!(t["StopInstances"]["ok"], 1, "{calls}");
    assert_eq!(t["StartInstances"]["ok"], 1, "{calls}");
    assert_eq!(t["RebootInstances"]["ok"], 1, "{calls}");
    assert_eq!(t["TerminateInstances"]["ok"], 1, "{calls}");
    assert_eq!(
        t["DescribeInstances"]["error_codes"]["AuthFailure.SignatureFailure"], 1,
        "{calls}"
    );

    // The ClientToken retry created nothing: one instance, now terminated and then removed.
    let tencent = emu.instances_of("tencent").await;
    assert!(tencent.len() <= 1, "{tencent:?}");
    if let Some(i) = tencent.first() {
        let id = i["id"].as_str().unwrap().to_string();
        emu.wait_for_state(&id, "gone", Duration::from_secs(10))
            .await;
    }
}
