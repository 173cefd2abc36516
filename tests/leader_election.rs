//! Two controller processes with leader election: only the leader calls the cloud; when it
//! is killed (no chance to release the lease) the other takes over within the lease
//! duration plus one retry period, and nothing is duplicated.

mod support;

use std::time::{Duration, Instant};

use kube::{Api, ResourceExt};
use serde_json::json;

use cloudinstance_controller::api::CloudInstance;
use support::cluster::{TestNamespace, admin_client};
use support::controller::{ControllerProcess, install_crds, wait_for, wait_until};
use support::emulator::Emulator;
use support::fixtures::*;

const LEASE_SECS: u64 = 4;

#[tokio::test]
async fn only_the_leader_acts_and_a_follower_takes_over() {
    let client = admin_client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client, "leader").await;
    let ns = ns.name().to_string();
    let emu = Emulator::start(&["--transition-delay-ms", "300"]).await;
    let ctl = Control::new(emu.url());
    let cloud = TENCENT;
    let lease = format!("{LEASE_SECS}s");
    let args = [
        "--leader-elect",
        "--leader-election-namespace",
        ns.as_str(),
        "--leader-election-lease-duration",
        lease.as_str(),
    ];
    let mut a = ControllerProcess::start_with_env(&ns, &args, &[("POD_NAME", "replica-a")]).await;
    let mut b = ControllerProcess::start_with_env(&ns, &args, &[("POD_NAME", "replica-b")]).await;

    let leader_of = |p: &ControllerProcess| {
        let url = p.metrics_url.clone();
        async move {
            let text = reqwest::get(&url).await.ok()?.text().await.ok()?;
            Some(support::controller::sum_metric(
                &text,
                "cloudinstance_leader",
                &[],
            ))
        }
    };
    wait_until(Duration::from_secs(30), "one leader", || async {
        let (x, y) = (leader_of(&a).await, leader_of(&b).await);
        matches!((x, y), (Some(1.0), Some(0.0)) | (Some(0.0), Some(1.0)))
    })
    .await;
    // make `a` the leader in our naming
    if leader_of(&a).await == Some(0.0) {
        std::mem::swap(&mut a, &mut b);
    }

    apply_credential(&client, &ns, "cred", &cloud, emu.url(), cloud.secret).await;
    apply_instance(&client, &ns, &instance("one", "cred", &cloud, json!({}))).await;
    wait_until(Duration::from_secs(60), "instance Ready", || async {
        is_ready(&instance_status(&client, &ns, "one").await)
    })
    .await;
    assert!(
        a.metric_sum("cloudinstance_provider_calls_total", &[])
            .await
            > 0.0
    );
    assert_eq!(
        b.metric_sum("cloudinstance_provider_calls_total", &[])
            .await,
        0.0,
        "the follower must not call the cloud"
    );

    // kill the leader without a chance to release the lease
    a.kill().await;
    let killed = Instant::now();
    wait_until(Duration::from_secs(30), "follower takes over", || async {
        leader_of(&b).await == Some(1.0)
    })
    .await;
    let failover = killed.elapsed();
    eprintln!("failover after SIGKILL of the leader: {failover:?} (lease {LEASE_SECS}s)");
    assert!(
        failover
            <= Duration::from_secs(LEASE_SECS)
                + Duration::from_secs(LEASE_SECS) / 5
                + Duration::from_secs(3),
        "failover took {failover:?}"
    );

    // the new leader works, and nothing was duplicated
    apply_instance(&client, &ns, &instance("two", "cred", &cloud, json!({}))).await;
    wait_until(Duration::from_secs(60), "second instance Ready", || async {
        is_ready(&instance_status(&client, &ns, "two").await)
    })
    .await;
    let api = Api::<CloudInstance>::namespaced(client.clone(), &ns);
    for name in ["one", "two"] {
        let uid = api.get(name).await.unwrap().uid().unwrap();
        let owned = wait_for(Duration::from_secs(5), "owned instance", || async {
            let o = ctl.owned_by(&uid).await;
            (!o.is_empty()).then_some(o)
        })
        .await;
        assert_eq!(owned.len(), 1, "{name}: exactly one cloud instance");
    }
    assert_eq!(ctl.instances().await.len(), 2);
    assert!(
        b.metric_sum("cloudinstance_provider_calls_total", &[])
            .await
            > 0.0
    );
}
