//! Huawei changeos (reinstall) login rules against the real `cloud-emulator` binary (issue
//! 14, item 3; docs/provider-contract.md Huawei §10; SDK
//! `huaweicloudsdkecs/v2/model/change_server_os_with_cloud_init_option.py`, API ecs_02_0202):
//! a key pair needs `userid` (the IAM user of the AK, from IAM ShowPermanentAccessKey), and
//! without password or key pair the request would need user data, so the client refuses it
//! before any request.

mod support;

use std::time::{Duration, Instant};

use cloudinstance_controller::provider::huawei::HuaweiClient;
use cloudinstance_controller::provider::retry::RetryPolicy;
use cloudinstance_controller::provider::{
    ClientConfig, CloudProvider, Credentials, DescribeFilter, ErrorKind, InstanceState, Login,
    Network, ReinstallRequest, RunRequest, SecretString, StopMode,
};
use support::emulator::{Emulator, HUAWEI_AK, HUAWEI_PROJECT_ID, HUAWEI_SK};

const REGION: &str = "cn-north-4";
const IMAGE2: &str = "67f433d8-ed0e-4321-a8a2-a71838539e09";

fn client(emu: &Emulator) -> HuaweiClient {
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: HUAWEI_AK.into(),
        secret: SecretString::new(HUAWEI_SK),
        project_id: Some(HUAWEI_PROJECT_ID.into()),
    });
    cfg.trust_endpoint(emu.url().to_string());
    cfg.timeout = Duration::from_secs(10);
    cfg.retry = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
    };
    HuaweiClient::new(cfg)
        .expect("client")
        .with_job_wait(Duration::from_secs(10))
}

async fn wait_state(c: &HuaweiClient, id: &str, want: InstanceState) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = c
            .describe_instances(REGION, &DescribeFilter::Ids(vec![id.to_string()]))
            .await
            .unwrap();
        if d.first().is_some_and(|d| d.state == want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never reached {want:?}: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn reinstall(login: Login) -> ReinstallRequest {
    ReinstallRequest {
        image_id: IMAGE2.into(),
        login,
        system_disk_size_gb: None,
        hostname: None,
    }
}

#[tokio::test]
async fn changeos_with_a_key_pair_sends_the_iam_user_id() {
    let emu = Emulator::start(&["--transition-delay-ms", "100", "--no-rate-limit"]).await;
    let c = client(&emu);
    let ids = c
        .run_instances(&RunRequest {
            region: REGION.into(),
            zone: "cn-north-4a".into(),
            image_id: "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61".into(),
            instance_type: "s6.large.2".into(),
            instance_name: Some("os".into()),
            count: 1,
            network: Network {
                vpc_id: Some("3b3e4f4b-1f6a-4a7e-9b55-0c0000000001".into()),
                subnet_id: Some("7e4b6c2a-2f7b-4b8c-8a66-5b0000000001".into()),
                ..Default::default()
            },
            login: Login {
                key_ids: vec!["kp-1".into()],
                ..Default::default()
            },
            client_token: Some("login-test".into()),
            ..Default::default()
        })
        .await
        .expect("create");
    let id = ids[0].clone();
    wait_state(&c, &id, InstanceState::Running).await;
    c.stop_instances(REGION, &ids, StopMode::Hard)
        .await
        .unwrap();
    wait_state(&c, &id, InstanceState::Stopped).await;

    // No password, no key pair: refused locally, nothing sent.
    let e = c
        .reinstall(REGION, &id, &reinstall(Login::default()))
        .await
        .unwrap_err();
    assert_eq!(e.code, "ReinstallNeedsLogin", "{e}");
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(
        emu.call_count("huawei", "ChangeServerOsWithCloudInit")
            .await,
        0
    );

    // A key pair: the emulator insists on the AK's user id, which the client looks up.
    c.reinstall(
        REGION,
        &id,
        &reinstall(Login {
            key_ids: vec!["kp-2".into()],
            ..Default::default()
        }),
    )
    .await
    .expect("changeos with a key pair");
    let calls = emu.calls().await;
    assert_eq!(
        calls["huawei"]["ChangeServerOsWithCloudInit"]["ok"], 1,
        "{calls}"
    );
    assert_eq!(
        calls["huawei"]["ShowPermanentAccessKey"]["ok"], 1,
        "{calls}"
    );
    let rec = emu.instance(&id).await.expect("recorded");
    assert_eq!(rec["key_ids"], serde_json::json!(["kp-2"]), "{rec}");
    assert_eq!(rec["image"], IMAGE2, "{rec}");
}
