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

/// `instances --name-contains` (case-insensitive, client-side) and `--tag-uid` (the cloud's
/// tag filter) narrow the listing to the right instances.
#[tokio::test]
async fn instances_listing_filters_by_name_and_owner_uid() {
    use cloudinstance_controller::provider::tencent::TencentClient;
    use cloudinstance_controller::provider::{
        ClientConfig, CloudProvider, Credentials, Login, Network, RunRequest, SecretString,
    };
    let emu = Emulator::start(&["--transition-delay-ms", "100"]).await;
    let cloud = TENCENT;
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: cloud.key_id.into(),
        secret: SecretString::new(cloud.secret),
        project_id: None,
    });
    cfg.trust_endpoint(emu.url().to_string());
    let client = TencentClient::new(cfg).expect("client");
    let mut ids = Vec::new();
    for (name, uid) in [("Web-Alpha-1", "uid-aaa"), ("db-beta-1", "uid-bbb")] {
        let req = RunRequest {
            region: cloud.region.into(),
            zone: cloud.zone.into(),
            image_id: cloud.image.into(),
            instance_type: cloud.instance_type.into(),
            instance_name: Some(name.into()),
            count: 1,
            network: Network {
                public_bandwidth_mbps: Some(1),
                ..Default::default()
            },
            login: Login {
                password: Some(SecretString::new("Passw0rd!cli2026")),
                ..Default::default()
            },
            tags: [("cloudinstance-uid".to_string(), uid.to_string())].into(),
            ..Default::default()
        };
        let id = client.run_instances(&req).await.expect("RunInstances");
        ids.push(id[0].clone());
    }
    let list = |extra: &[&str]| {
        let mut args = vec!["instances", "--region", cloud.region];
        args.extend_from_slice(extra);
        let out = stdout_ok(&cli(&cloud, emu.url(), cloud.secret, &args), "instances");
        out.lines().skip(1).map(str::to_owned).collect::<Vec<_>>()
    };
    let all = list(&[]);
    assert_eq!(all.len(), 2, "{all:?}");
    let alpha = list(&["--name-contains", "ALPHA"]);
    assert_eq!(alpha.len(), 1, "{alpha:?}");
    assert!(
        alpha[0].starts_with(&ids[0]) && alpha[0].contains("Web-Alpha-1"),
        "{alpha:?}"
    );
    let beta = list(&["--tag-uid", "uid-bbb"]);
    assert_eq!(beta.len(), 1, "{beta:?}");
    assert!(beta[0].starts_with(&ids[1]), "{beta:?}");
    assert!(list(&["--tag-uid", "uid-bbb", "--name-contains", "alpha"]).is_empty());
    assert!(list(&["--name-contains", "gamma"]).is_empty());
}
