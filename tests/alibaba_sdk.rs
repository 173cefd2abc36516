//! Acceptance test of the cloud emulator against Alibaba Cloud's official Python SDK
//! (`alibabacloud-ecs20140526`): `tests/sdk/alibaba_lifecycle.py`, an ordinary SDK program
//! whose only change is the endpoint (plain HTTP to the emulator), must pass.
//!
//! The SDK is installed from PyPI into the virtualenv cached at `<target dir>/sdk-venv`
//! (shared with the other SDK acceptance tests).

#[path = "support/emulator.rs"]
mod emulator;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use emulator::{ALIBABA_ACCESS_KEY_ID, ALIBABA_ACCESS_KEY_SECRET, Emulator};

/// Pinned SDK packages (name, version).
const SDK_PACKAGES: &[(&str, &str)] = &[
    ("alibabacloud-ecs20140526", "7.11.8"),
    ("alibabacloud-tea-openapi", "0.4.6"),
    ("darabonba-core", "1.0.9"),
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

/// The shared SDK virtualenv with the pinned Alibaba SDK, created or completed on demand.
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
    let missing = SDK_PACKAGES
        .iter()
        .any(|(name, version)| installed_version(&python, name).as_deref() != Some(*version));
    if missing {
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
        .unwrap_or_else(|e| panic!("cannot install the Alibaba Cloud SDK: {e}"));
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
    let script = emulator::workspace_file("tests/sdk/alibaba_lifecycle.py");
    let endpoint = emu.addr().to_string();

    let output = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ALIBABA_ACCESS_KEY_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ALIBABA_ACCESS_KEY_SECRET)
            .env("ECS_ENDPOINT", &endpoint)
            .env("ECS_REGION", "cn-hangzhou")
            .env("ECS_WAIT_SECONDS", "60")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .stdin(Stdio::null())
            .output()
            .expect("run tests/sdk/alibaba_lifecycle.py")
    })
    .await
    .expect("SDK script task");

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("---- alibaba_lifecycle.py stdout ----\n{stdout}");
    println!("---- alibaba_lifecycle.py stderr ----\n{stderr}");
    assert!(
        output.status.success(),
        "alibaba_lifecycle.py failed ({}); emulator log:\n{}",
        output.status,
        emu.log()
    );
    assert!(stdout.contains("OK: Alibaba ECS lifecycle passed"));

    // The emulator saw the SDK's calls, including the rejected ones.
    let calls = emu.calls().await;
    let a = &calls["alibaba"];
    assert_eq!(a["RunInstances"]["ok"], 2, "{calls}");
    assert_eq!(
        a["RunInstances"]["error_codes"]["DryRunOperation"], 1,
        "{calls}"
    );
    assert_eq!(a["StopInstances"]["ok"], 1, "{calls}");
    assert_eq!(a["StartInstances"]["ok"], 1, "{calls}");
    assert_eq!(
        a["StartInstances"]["error_codes"]["IncorrectInstanceStatus"], 1,
        "{calls}"
    );
    assert_eq!(a["RebootInstances"]["ok"], 1, "{calls}");
    assert_eq!(a["DeleteInstances"]["ok"], 1, "{calls}");
    assert_eq!(a["DescribeRegions"]["ok"], 2, "{calls}");
    assert_eq!(
        a["DescribeRegions"]["error_codes"]["SignatureDoesNotMatch"], 1,
        "{calls}"
    );
    // The ClientToken retry created nothing, and the instance is gone.
    assert!(emu.instances_of("alibaba").await.is_empty());
}
