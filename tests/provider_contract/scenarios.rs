//! The scenarios every cloud's client goes through, written once; what differs between
//! the clouds comes from their [`Contract`].

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use cloudinstance_controller::provider::{
    CloudProvider, DescribeFilter, ErrorKind, InstanceState, Modification, StopMode,
};

use crate::contract::{Contract, Ctx, Seen, Step, WAIT, patient, retry};

/// Instantiate the shared scenarios as tests of the cloud of the enclosing module (its
/// `CLOUD`).
macro_rules! contract_tests {
    () => {
        /// The shared scenarios of `crate::scenarios`, for this cloud.
        mod contract {
            use crate::scenarios as s;

            #[tokio::test]
            async fn lifecycle() {
                s::lifecycle(&super::CLOUD).await;
            }
            #[tokio::test]
            async fn throttling_is_retried_and_surfaces_when_it_persists() {
                s::throttling(&super::CLOUD).await;
            }
            #[tokio::test]
            async fn server_errors_are_retried_then_transient() {
                s::server_errors(&super::CLOUD).await;
            }
            #[tokio::test]
            async fn the_emulators_rate_limit_is_retried() {
                s::rate_limit(&super::CLOUD).await;
            }
            #[tokio::test]
            async fn invalid_requests_are_terminal_and_keep_the_message() {
                s::rejected(&super::CLOUD).await;
            }
            #[tokio::test]
            async fn the_same_client_token_creates_one_instance() {
                s::idempotent_create(&super::CLOUD).await;
            }
            #[tokio::test]
            async fn authentication_errors() {
                s::authentication(&super::CLOUD).await;
            }
            #[tokio::test]
            async fn dry_run_and_batches() {
                s::dry_run_and_batches(&super::CLOUD).await;
            }
            #[tokio::test]
            async fn catalog() {
                s::catalog(&super::CLOUD).await;
            }
        }
    };
}
pub(crate) use contract_tests;

/// Create, stop, (the cloud's changes while stopped), start, reboot, rename, change
/// security groups, terminate, checking the client's view, the emulator's record and the
/// requests made at every step.
pub async fn lifecycle(cloud: &'static Contract) {
    let cx = Ctx::start(cloud).await;
    let r = cloud.region;
    let req = cx.request("web");
    let ids = cx.c.run_instances(&req).await.expect("run_instances");
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = ids[0].clone();
    assert!((cloud.id_shape)(&id), "{id}");
    let seen = |status, details, record| Seen {
        status,
        details,
        record,
    };
    let st = cx.status(&ids).await;
    (cloud.check)(Step::Created, &seen(&st, None, &Value::Null));
    cx.wait_state(&id, InstanceState::Running).await;

    // Details: what was asked for, found by id, by its owner tag, and in the full list.
    let d = cx.details(&id).await;
    assert_eq!(d.name, "web");
    assert_eq!(d.state, InstanceState::Running);
    assert_eq!(d.provider_state, cloud.running_state);
    assert_eq!(d.zone, cloud.zone);
    assert_eq!(d.instance_type, cloud.instance_type);
    assert_eq!(d.image_id, cloud.image);
    assert_eq!(d.private_ips.len(), 1, "{d:?}");
    assert_eq!(d.public_ips.len(), 1, "{d:?}");
    if !req.network.security_group_ids.is_empty() {
        assert_eq!(d.security_group_ids, req.network.security_group_ids);
    }
    let (key, prefix) = cloud.owner_tag;
    assert_eq!(
        d.tags.get(key).map(String::as_str),
        Some(format!("{prefix}web").as_str())
    );
    assert!(d.created_at.is_some(), "{d:?}");
    assert_eq!(cx.by_owner("web").await, ids);
    assert!(cx.by_owner("someone-else").await.is_empty());
    let all =
        cx.c.describe_instances(r, &DescribeFilter::All)
            .await
            .expect("all");
    assert!(all.iter().any(|x| x.id == id), "{all:?}");
    let record = cx
        .emu
        .instance(&id)
        .await
        .expect("instance in the emulator");
    assert_eq!(record["public_ips"], json!(d.public_ips));
    (cloud.check)(Step::Running, &seen(&st, Some(&d), &record));

    // Starting a running instance is a wrong-state error the caller can tolerate; once.
    let e = cx.c.start_instances(r, &ids).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::WrongState, "{e}");
    if let Some(code) = cloud.wrong_state_code {
        assert_eq!(e.code, code);
    }
    assert_eq!(cx.stats(cloud.start_action).await.0, 1);

    cx.c.stop_instances(r, &ids, cloud.stop_mode)
        .await
        .expect("stop");
    let st = cx.status(&ids).await;
    (cloud.check)(Step::Stopping, &seen(&st, None, &Value::Null));
    cx.wait_state(&id, InstanceState::Stopped).await;
    if let Some(while_stopped) = cloud.while_stopped {
        while_stopped(&cx, &id).await;
    }
    // (Huawei's reinstall has started it again)
    if cx.status(&ids).await[0].state == InstanceState::Stopped {
        cx.c.start_instances(r, &ids).await.expect("start");
        cx.wait_state(&id, InstanceState::Running).await;
    }

    cx.c.reboot_instances(r, &ids, cloud.force_reboot)
        .await
        .expect("reboot");
    let st = cx.status(&ids).await;
    let record = cx.emu.instance(&id).await.expect("instance");
    (cloud.check)(Step::Rebooting, &seen(&st, None, &record));
    cx.wait_state(&id, InstanceState::Running).await;

    // A new name alone, then a name and security groups at once.
    let rename = |name: &str, sgs: Option<&[&str]>| Modification {
        name: Some(name.into()),
        security_group_ids: sgs.map(|s| s.iter().map(|g| g.to_string()).collect()),
    };
    cx.c.modify_instance(r, &id, &rename("web-renamed", None))
        .await
        .expect("rename");
    let d = cx.details(&id).await;
    assert_eq!(d.name, "web-renamed");
    assert_eq!(d.provider_state, cloud.running_state);
    assert_eq!(
        cx.emu.instance(&id).await.expect("instance")["name"],
        "web-renamed"
    );
    let mut before = Vec::new();
    for (action, _) in cloud.modify_calls {
        before.push((
            cx.counter(action, "total").await,
            cx.counter(action, "ok").await,
        ));
    }
    cx.c.modify_instance(r, &id, &rename("web-2", Some(cloud.new_sgs)))
        .await
        .expect("rename and change security groups");
    for ((action, n), (total, ok)) in cloud.modify_calls.iter().zip(before) {
        assert_eq!(cx.counter(action, "total").await, total + n, "{action}");
        assert_eq!(cx.counter(action, "ok").await, ok + n, "{action}");
    }
    let d = cx.details(&id).await;
    assert_eq!(d.name, "web-2");
    let mut sgs = d.security_group_ids.clone();
    if !cloud.sg_order_kept {
        sgs.sort();
    }
    assert_eq!(sgs, cloud.new_sgs);
    assert_eq!(
        cx.emu.instance(&id).await.expect("instance")["name"],
        "web-2"
    );

    // Terminated, then gone for good.
    cx.c.terminate_instances(r, &ids).await.expect("terminate");
    let st = cx.status(&ids).await;
    (cloud.check)(Step::Terminating, &seen(&st, None, &Value::Null));
    let deadline = Instant::now() + WAIT;
    loop {
        match cx.status(&ids).await.first() {
            None => break,
            Some(s) if s.state == InstanceState::Terminated => break,
            Some(s) if s.state == InstanceState::Suspended && cloud.recycled.is_some() => {
                assert_eq!(Some(s.provider_state.as_str()), cloud.recycled, "{s:?}");
                break;
            }
            Some(s) => {
                assert!(cloud.while_terminating.contains(&s.state), "{s:?}");
                assert!(Instant::now() < deadline, "still {s:?}");
            }
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    cx.emu.wait_for_state(&id, "gone", WAIT).await;
    assert!(cx.status(&ids).await.is_empty());
    let all =
        cx.c.describe_instances(r, &DescribeFilter::All)
            .await
            .expect("all");
    assert!(all.is_empty(), "{all:?}");
}

/// Throttling answers are retried; when they persist, the last one surfaces as Throttled
/// with the cloud's code after the policy's attempts.
pub async fn throttling(cloud: &'static Contract) {
    let cx = Ctx::start(cloud).await;
    let (call, action, code) = cloud.throttle;
    let fault = |count: Option<u64>| {
        let mut f = json!({"action": action, "code": code, "message": "emulated throttle"});
        if cloud.provider == "huawei" {
            f["http_status"] = json!(429);
        }
        if let Some(n) = count {
            f["count"] = json!(n);
        }
        f
    };
    cx.fault(fault(Some(2))).await;
    let listed = cx
        .call(&cx.c, call)
        .await
        .expect("after two throttled attempts");
    if let Some(want) = cx.expected(call) {
        assert!(listed.iter().any(|x| x == want), "{listed:?}");
    }
    assert_eq!(cx.stats(action).await, (3, 2));

    cx.fault(fault(None)).await;
    let e = cx.call(&cx.c, call).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Throttled, "{e}");
    assert_eq!(e.code, code);
    assert_eq!(cx.stats(action).await, (3 + 4, 2 + 4));
}

/// Server errors are retried; when they persist, the call fails as Transient after the
/// policy's attempts.
pub async fn server_errors(cloud: &'static Contract) {
    let cx = Ctx::start(cloud).await;
    let action = cloud.zones_action;
    let fault = |count: u64| {
        let mut f = (cloud.server_error)();
        f["action"] = json!(action);
        f["count"] = json!(count);
        f
    };
    cx.fault(fault(3)).await;
    let zones = cx.c.zones(cloud.region).await.expect("after three errors");
    assert!(zones.iter().any(|z| z.id == cloud.zone && z.available));
    assert_eq!(cx.stats(action).await, (4, 3));

    cx.fault(fault(10)).await;
    let e = cx.c.zones(cloud.region).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert_eq!(cx.stats(action).await.0, 4 + 4);
}

/// The emulator's own rate limiter (1 request/s for one action) is retried by a client
/// whose backoff waits for the bucket to refill.
pub async fn rate_limit(cloud: &'static Contract) {
    let cx = Ctx::start(cloud).await;
    let (call, action) = cloud.rate_limited;
    cx.emu
        .set_config(json!({"rate_limit_enabled": true, "rate_limit_overrides": {action: 1.0}}))
        .await;
    let c = cx
        .client(cloud.key_id, cloud.secret, cloud.project_id, patient())
        .expect("client");
    for _ in 0..3 {
        cx.call(&c, call)
            .await
            .expect("throttled calls are retried");
    }
    let throttled = cx.counter(action, "throttled").await;
    assert!(throttled >= 1, "{}", cx.emu.calls().await);
}

/// Create requests the cloud refuses: terminal (one attempt each), with the cloud's code
/// and message, a request id when the cloud answered, and no secret in the error.
pub async fn rejected(cloud: &'static Contract) {
    let cx = Ctx::start(cloud).await;
    let mut sent = 0;
    for case in cloud.rejected {
        let mut req = cx.request(&format!("bad-{sent}"));
        (case.change)(&mut req);
        let e = cx.c.run_instances(&req).await.unwrap_err();
        let what = format!("{}: {e}", case.what);
        assert_eq!(e.kind, ErrorKind::InvalidRequest, "{what}");
        case.code.check(&what, &e.code);
        case.message.check(&what, &e.message);
        if case.sent {
            assert!(e.request_id.is_some(), "{what}");
            sent += 1;
        }
        if let Some(secret) = case.secret {
            assert!(!format!("{e} {e:?}").contains(secret), "{what}: leaked");
        }
        assert_eq!(
            cx.stats(cloud.create_action).await.0,
            sent,
            "{what}: not retried"
        );
    }
    assert!(cx.instances().await.is_empty());
}

/// The same client token creates one instance; a create whose answer is lost (a server
/// error, a dropped connection) is retried with its generated token and creates one.
pub async fn idempotent_create(cloud: &'static Contract) {
    let cx = Ctx::start(cloud).await;
    let mut req = cx.request("idem");
    req.client_token = Some("cic-it-token-0001".into());
    let first = cx.c.run_instances(&req).await.expect("first run");
    let second = cx.c.run_instances(&req).await.expect("second run");
    assert_eq!(first, second);
    assert_eq!(first.len(), 1);
    let all = cx.instances().await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["id"], first[0].as_str());
    if cloud.token_on_record {
        assert_eq!(all[0]["client_token"], "cic-it-token-0001");
    }

    let lost = [
        (cloud.server_error)(),
        json!({"drop_connection": true}),
        json!({"drop_connection": true, "after_processing": true}),
    ];
    for (n, mut fault) in lost.into_iter().enumerate() {
        fault["action"] = json!(cloud.create_action);
        fault["count"] = json!(1);
        cx.fault(fault.clone()).await;
        let ids =
            cx.c.run_instances(&cx.request(&format!("lost-answer-{n}")))
                .await
                .unwrap_or_else(|e| panic!("create retried after {fault}: {e}"));
        assert_eq!(ids.len(), 1);
        assert_eq!(cx.instances().await.len(), 2 + n, "after {fault}");
    }
}

/// A wrong secret is an Auth error with the cloud's code, not retried, for reads and
/// creates (whose password does not show in the error); the right secret works against
/// the same emulator; an unknown key id has a code of its own.
pub async fn authentication(cloud: &'static Contract) {
    let cx = Ctx::start(cloud).await;
    let (call, action, code, message) = cloud.auth;
    let bad = cx
        .client(cloud.key_id, "not-the-secret", cloud.project_id, retry())
        .expect("client");
    let e = cx.call(&bad, call).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert_eq!(e.code, code, "{e}");
    if let Some(m) = message {
        assert!(e.message.starts_with(m), "{e}");
    }
    assert!(e.request_id.is_some(), "{e}");
    assert_eq!(cx.stats(action).await.0, 1, "auth errors are not retried");
    let e = bad.run_instances(&cx.request("auth")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert_eq!(e.code, code, "{e}");
    assert!(!format!("{e} {e:?}").contains("Passw0rd"), "{e}");
    assert!(cx.instances().await.is_empty());
    assert!(
        !cx.call(&cx.c, call)
            .await
            .expect("the right secret")
            .is_empty()
    );

    if let Some((key_id, code)) = cloud.unknown_key {
        let unknown = cx
            .client(key_id, cloud.secret, cloud.project_id, retry())
            .expect("client");
        let e = cx.call(&unknown, call).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth, "{e}");
        assert_eq!(e.code, code);
        assert!(!format!("{e:?}").contains(cloud.secret));
    }
}

/// A dry run creates nothing; more ids than a batch holds are refused before any call;
/// unknown ids are absent from a status answer, and an action on one is NotFound.
pub async fn dry_run_and_batches(cloud: &'static Contract) {
    let cx = Ctx::start(cloud).await;
    let r = cloud.region;
    let mut req = cx.request("dry");
    req.dry_run = true;
    let e = cx.c.run_instances(&req).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DryRunOk, "{e}");
    if let Some(code) = cloud.dry_run_code {
        assert_eq!(e.code, code);
    }
    assert!(cx.instances().await.is_empty());

    cx.emu.reset_calls().await;
    let limit = cx.c.batch_limit();
    let too_many: Vec<String> = (0..=limit).map(cloud.unknown_id).collect();
    for mode in [StopMode::Soft, StopMode::Hard] {
        let e = cx.c.stop_instances(r, &too_many, mode).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    }
    if cloud.status_over_limit_refused {
        let e = cx.c.describe_status(r, &too_many).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    }
    assert_eq!(cx.emu.calls().await[cloud.provider], Value::Null);

    let st = cx.status(&too_many[..limit]).await;
    assert!(st.is_empty(), "{st:?}");
    let (op, code) = cloud.not_found;
    let e = cx.op(op, &too_many[..1]).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert_eq!(e.code, code);
}

/// Regions, zones, images and instance types, and the types of one zone.
pub async fn catalog(cloud: &'static Contract) {
    let cx = Ctx::start(cloud).await;
    let r = cloud.region;
    let regions = cx.c.regions().await.expect("regions");
    assert!(regions.iter().any(|x| x.id == r && x.available));
    let zones = cx.c.zones(r).await.expect("zones");
    assert!(zones.iter().any(|z| z.id == cloud.zone && z.available));
    let images = cx.c.images(r).await.expect("images");
    assert!(
        images.iter().any(|i| i.id == cloud.image
            && i.image_type == cloud.image_type
            && !i.os_name.is_empty()
            && i.os_name.contains(cloud.image_os)),
        "{images:?}"
    );
    let all = cx.c.instance_types(r, None).await.expect("instance types");
    let t = all
        .iter()
        .find(|t| t.id == cloud.instance_type)
        .expect("the fixture's instance type");
    assert_eq!((t.cpu, t.memory_gb, t.family.as_str()), cloud.type_shape);
    let here =
        cx.c.instance_types(r, Some(cloud.zone))
            .await
            .expect("types of the fixture's zone");
    let t = here
        .iter()
        .find(|t| t.id == cloud.instance_type)
        .expect("the fixture's instance type is offered in the fixture's zone");
    assert_eq!(t.zone, cloud.zone);
    let (zone, missing) = cloud.zone_limited;
    let in_zone = cx.c.instance_types(r, Some(zone)).await.expect("types");
    assert!(!in_zone.is_empty());
    assert!(in_zone.iter().all(|t| t.zone == zone), "{in_zone:?}");
    if let Some(family) = missing {
        assert!(
            in_zone.iter().all(|t| t.family != family),
            "{family} is not sold in {zone}"
        );
        assert!(all.iter().any(|t| t.family == family));
        assert!(in_zone.len() < all.len());
    }
}
