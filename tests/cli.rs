//! The diagnostic CLI against the emulator, for all three clouds: catalog tables,
//! key verification, instance listing.

mod support;

use std::process::Output;

use support::emulator::Emulator;
use support::fixtures::{ALIBABA, Cloud, HUAWEI, TENCENT};

fn cli(cloud: &Cloud, endpoint: &str, secret: &str, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cloudinstance-controller"));
    cmd.args(args)
        .args(["--provider", cloud.provider])
        .env("CIC_ENDPOINT", endpoint)
        .env("CIC_ACCESS_KEY_ID", cloud.key_id)
        .env("CIC_SECRET_ACCESS_KEY", secret);
    if let Some(p) = cloud.project_id {
        cmd.env("CIC_PROJECT_ID", p);
    }
    cmd.output().expect("run cloudinstance-controller")
}

fn stdout_ok(o: &Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn catalog_verify_and_instances_for_every_cloud() {
    let emu = Emulator::start(&["--transition-delay-ms", "200"]).await;
    for cloud in [TENCENT, ALIBABA, HUAWEI] {
        let url = emu.url();
        let out = stdout_ok(
            &cli(&cloud, url, cloud.secret, &["catalog", "regions"]),
            "regions",
        );
        assert!(out.starts_with("REGION"), "{out}");
        assert!(out.contains(cloud.region), "{}: {out}", cloud.provider);

        let out = stdout_ok(
            &cli(
                &cloud,
                url,
                cloud.secret,
                &["catalog", "zones", "--region", cloud.region],
            ),
            "zones",
        );
        assert!(out.contains(cloud.zone), "{}: {out}", cloud.provider);

        let out = stdout_ok(
            &cli(
                &cloud,
                url,
                cloud.secret,
                &["catalog", "images", "--region", cloud.region],
            ),
            "images",
        );
        assert!(out.contains(cloud.image), "{}: {out}", cloud.provider);

        let out = stdout_ok(
            &cli(
                &cloud,
                url,
                cloud.secret,
                &[
                    "catalog",
                    "instance-types",
                    "--region",
                    cloud.region,
                    "--zone",
                    cloud.zone,
                ],
            ),
            "instance-types",
        );
        assert!(
            out.contains(cloud.instance_type),
            "{}: {out}",
            cloud.provider
        );

        let out = stdout_ok(&cli(&cloud, url, cloud.secret, &["verify"]), "verify");
        assert!(out.starts_with("ok: keys accepted"), "{out}");

        let wrong = "definitely-not-the-secret-0123456789";
        let o = cli(&cloud, url, wrong, &["verify"]);
        assert!(
            !o.status.success(),
            "{}: wrong key accepted",
            cloud.provider
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("keys rejected"), "{err}");
        assert!(!err.contains(wrong), "secret echoed: {err}");

        let out = stdout_ok(
            &cli(
                &cloud,
                url,
                cloud.secret,
                &["instances", "--region", cloud.region],
            ),
            "instances",
        );
        assert!(out.starts_with("ID"), "{out}");
    }
}
