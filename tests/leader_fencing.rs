//! Leader fencing: a leader whose apiserver connection hangs stops mutating clouds before
//! its lease can expire for any other replica.
//!
//! The elector talks to the real apiserver through a TCP proxy owned by the test. Freezing
//! the proxy holds every byte in both directions while keeping the connections open: the
//! renew call hangs (no error, no reset), the failure mode client-go's renewDeadline exists
//! for. The test then checks, on the lease as another replica sees it, that the fence
//! closed (and the renew loop gave up) before `renewTime + leaseDurationSeconds`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use cloudinstance_controller::api::CloudCredential;
use cloudinstance_controller::controller::cloud::Handles;
use cloudinstance_controller::controller::leader::{Elector, LeaseConfig};
use cloudinstance_controller::controller::metrics::Metrics;
use cloudinstance_controller::controller::ratelimit::ActionClass;
use cloudinstance_controller::provider::endpoint::EndpointPolicy;
use support::cluster::{TestNamespace, admin_client, cluster};

/// A TCP proxy that can be frozen: while frozen, nothing is forwarded either way.
struct FreezableProxy {
    port: u16,
    frozen: Arc<AtomicBool>,
}

impl FreezableProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let frozen = Arc::new(AtomicBool::new(false));
        let f = frozen.clone();
        tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                let Ok(up) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (dr, dw) = down.into_split();
                let (ur, uw) = up.into_split();
                tokio::spawn(pump(dr, uw, f.clone()));
                tokio::spawn(pump(ur, dw, f.clone()));
            }
        });
        Self { port, frozen }
    }

    fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // bytes read just before the freeze are held too
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_leader_whose_apiserver_hangs_stops_mutating_before_its_lease_expires() {
    let admin = admin_client().await;
    let ns = TestNamespace::new(&admin, "fence").await;
    let namespace = ns.name().to_string();

    // the elector's client goes through the proxy
    let mut config = cluster().await.config().await;
    let upstream = format!(
        "{}:{}",
        config.cluster_url.host().expect("apiserver host"),
        config.cluster_url.port_u16().expect("apiserver port")
    );
    let proxy = FreezableProxy::start(upstream).await;
    config.cluster_url = format!("https://127.0.0.1:{}", proxy.port)
        .parse()
        .expect("proxy url");
    let client = Client::try_from(config).expect("client through the proxy");

    let lease_duration = Duration::from_secs(6);
    let cfg = LeaseConfig::new(
        namespace.clone(),
        "fence-test".into(),
        "replica-a".into(),
        lease_duration,
    );
    let renew_deadline = cfg.renew_deadline;
    let elector = Arc::new(Elector::new(client, cfg));
    let fence = elector.fence();
    assert!(
        !fence.allows_mutation(),
        "the fence is closed before the lease is won"
    );
    tokio::time::timeout(Duration::from_secs(20), elector.acquire())
        .await
        .expect("lease acquired through the proxy");
    assert!(fence.allows_mutation(), "the leader may mutate");

    // A cloud handle built with this fence: mutations check it, describes do not.
    let handles = Handles::new(
        Arc::new(Metrics::default()),
        Duration::from_secs(5),
        EndpointPolicy::official_only(),
        fence.clone(),
    );
    let cred: CloudCredential = serde_json::from_value(json!({
        "apiVersion": "compute.cloudinstance.io/v1alpha1", "kind": "CloudCredential",
        "metadata": {"name": "c", "namespace": namespace, "generation": 1},
        "spec": {"provider": "tencent", "secretRef": {"name": "keys"}},
    }))
    .expect("credential");
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "keys", "resourceVersion": "1",
                     "labels": {"compute.cloudinstance.io/credential": "true"}},
        "data": {"accessKeyId": "QUtJRGV4YW1wbGU=", "secretAccessKey": "c2VjcmV0"},
    }))
    .expect("secret");
    let handle = handles
        .build("ns/c", &cred, &secret)
        .expect("handle from a marked Secret");

    let renewer = {
        let e = elector.clone();
        tokio::spawn(async move { e.keep_renewing().await })
    };
    // let one renewal go through, then hang the apiserver connection
    tokio::time::sleep(lease_duration / 3 + Duration::from_millis(500)).await;
    proxy.freeze();

    // The lease as every other replica sees it (through the admin client, not the proxy).
    let leases: Api<Lease> = Api::namespaced(admin.clone(), &namespace);
    let lease = leases.get("fence-test").await.expect("lease");
    let spec = lease.spec.expect("lease spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-a"));
    let renewed = spec.renew_time.expect("renewTime").0;
    let expires_for_others = renewed
        + jiff::SignedDuration::from_secs(spec.lease_duration_seconds.expect("duration") as i64);

    let started = Instant::now();
    while fence.allows_mutation() {
        assert!(
            started.elapsed() < lease_duration * 2,
            "the fence never closed while the apiserver hung"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let closed_at = jiff::Timestamp::now();
    let margin = expires_for_others.duration_since(closed_at);
    assert!(
        margin >= jiff::SignedDuration::from_millis(1000),
        "the fence closed at {closed_at}, only {margin:?} before the lease expires for \
         others at {expires_for_others}"
    );

    // No mutation is sent any more (the call's future is never polled); describes still are.
    let sent = Arc::new(AtomicBool::new(false));
    let s = sent.clone();
    let r = handle
        .call(ActionClass::Mutating, "StopInstances", async move {
            s.store(true, Ordering::SeqCst);
            Ok(())
        })
        .await;
    let e = r.expect_err("a fenced mutation is refused");
    assert_eq!(e.code, "NotLeader");
    assert!(!sent.load(Ordering::SeqCst), "the mutation was sent");
    let d = handle
        .call(ActionClass::Describe, "DescribeInstances", async { Ok(7) })
        .await;
    assert_eq!(d.expect("describe allowed"), 7);

    // The renew loop gives up (the process exits on that) before the lease expires too.
    tokio::time::timeout(renew_deadline + Duration::from_secs(2), renewer)
        .await
        .expect("keep_renewing returned after the renew deadline")
        .expect("renew task");
    assert!(
        jiff::Timestamp::now() < expires_for_others,
        "the renew loop outlived the lease"
    );
    ns.delete().await;
}

/// client-go semantics: a follower judges the holder's lease by when it saw the record
/// change, on its own clock. A holder whose clock is an hour behind (its renewTime looks
/// ancient) but that keeps renewing is not overthrown; once it stops, the follower takes
/// over after the lease duration.
#[tokio::test]
async fn a_holder_with_a_skewed_clock_keeps_its_lease_while_it_renews() {
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use kube::api::PostParams;

    let admin = admin_client().await;
    let ns = TestNamespace::new(&admin, "skew").await;
    let namespace = ns.name().to_string();
    let leases: Api<Lease> = Api::namespaced(admin.clone(), &namespace);
    let skewed = || MicroTime(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(3600));
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": "skew-test"},
    }))
    .unwrap();
    let mut lease = lease;
    lease.spec = Some(LeaseSpec {
        holder_identity: Some("other".into()),
        lease_duration_seconds: Some(3),
        renew_time: Some(skewed()),
        ..Default::default()
    });
    leases
        .create(&PostParams::default(), &lease)
        .await
        .expect("create lease");
    // the skewed holder renews every 500 ms
    let stop = Arc::new(AtomicBool::new(false));
    // when the holder's last renewal was written (on our clock)
    let last_renewal = Arc::new(std::sync::Mutex::new(Instant::now()));
    let renewer = {
        let (leases, stop, last) = (leases.clone(), stop.clone(), last_renewal.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                if let Ok(mut l) = leases.get("skew-test").await {
                    if let Some(s) = l.spec.as_mut() {
                        s.renew_time = Some(skewed());
                    }
                    if leases
                        .replace("skew-test", &PostParams::default(), &l)
                        .await
                        .is_ok()
                    {
                        *last.lock().unwrap() = Instant::now();
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let me = Elector::new(
        admin.clone(),
        LeaseConfig::new(
            namespace.clone(),
            "skew-test".into(),
            "me".into(),
            Duration::from_secs(3),
        ),
    );
    // 6 s (two lease durations) of attempts: never taken from a renewing holder
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        assert!(
            !me.try_acquire_or_renew().await.expect("lease round"),
            "took over a live lease because the holder's clock is behind"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // the holder stops renewing: taken over after the lease duration (on our clock)
    stop.store(true, Ordering::SeqCst);
    renewer.await.unwrap();
    let stopped = Instant::now();
    loop {
        if me.try_acquire_or_renew().await.expect("lease round") {
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "never took over an abandoned lease"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // not before a whole lease duration after the last renewal (which this replica can
    // only have seen after it was written)
    let since_renewal = last_renewal.lock().unwrap().elapsed();
    assert!(
        since_renewal >= Duration::from_secs(3),
        "took over {since_renewal:?} after the holder's last renewal, before the lease duration"
    );
    let held = leases.get("skew-test").await.unwrap();
    assert_eq!(
        held.spec.and_then(|s| s.holder_identity).as_deref(),
        Some("me")
    );
    ns.delete().await;
}
