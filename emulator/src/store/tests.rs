//! Tests of the store: schedules, tokens, snapshots.

use super::*;

pub(crate) fn test_instance(id: &str, now: i64) -> Instance {
    Instance {
        name: "n".into(),
        image_id: "img-l8og963d".into(),
        instance_type: "S5.MEDIUM4".into(),
        cpu: 2,
        memory_gb: 4,
        schedule: vec![Phase {
            state: VmState::Running,
            until_ms: None,
        }],
        charge_type: "POSTPAID_BY_HOUR".into(),
        system_disk: Disk {
            disk_type: "CLOUD_PREMIUM".into(),
            size_gb: 50,
            id: None,
            delete_with_instance: true,
        },
        ..Instance::new(
            Provider::Tencent,
            "acct",
            "ap-guangzhou",
            "ap-guangzhou-3",
            id,
            now,
        )
    }
}

#[test]
fn schedule_is_evaluated_lazily() {
    let t0 = 1_000_000;
    let mut i = test_instance("ins-aaaaaaaa", t0);
    i.set_schedule(
        t0,
        &[(VmState::Pending, Some(2000)), (VmState::Running, None)],
    );
    assert_eq!(i.state_at(t0), VmState::Pending);
    assert_eq!(i.state_at(t0 + 1999), VmState::Pending);
    assert_eq!(i.state_at(t0 + 2000), VmState::Running);
    assert_eq!(i.state_at(t0 + 10_000_000), VmState::Running);
    assert_eq!(i.settles_at(), t0 + 2000);

    i.set_schedule(
        t0 + 5000,
        &[
            (VmState::Terminating, Some(1000)),
            (VmState::Terminated, Some(500)),
            (VmState::Gone, None),
        ],
    );
    assert_eq!(i.state_at(t0 + 5999), VmState::Terminating);
    assert_eq!(i.state_at(t0 + 6000), VmState::Terminated);
    assert_eq!(i.state_at(t0 + 6499), VmState::Terminated);
    assert_eq!(i.state_at(t0 + 6500), VmState::Gone);
}

#[test]
fn gone_instances_are_swept_and_invisible() {
    let t0 = 5_000_000;
    let mut s = Store::new();
    let mut i = test_instance("ins-bbbbbbbb", t0);
    i.set_schedule(
        t0,
        &[(VmState::Terminating, Some(10)), (VmState::Gone, None)],
    );
    s.insert(i);
    assert!(s.get("ins-bbbbbbbb", t0).is_some());
    assert!(s.get("ins-bbbbbbbb", t0 + 10).is_none());
    assert!(s.list(t0 + 10, |_| true).is_empty());
    s.sweep(t0 + 1000);
    assert!(!s.contains_id("ins-bbbbbbbb"));
}

#[test]
fn many_instances_are_cheap() {
    let t0 = 9_000_000;
    let mut s = Store::new();
    for _ in 0..5000 {
        let id = s.unique_id("ins-", 8);
        let mut i = test_instance(&id, t0);
        i.private_ips.push(s.alloc_private_ip());
        i.set_schedule(
            t0,
            &[(VmState::Pending, Some(100)), (VmState::Running, None)],
        );
        s.insert(i);
    }
    assert_eq!(s.len(), 5000);
    let start = std::time::Instant::now();
    let running = s.list(t0 + 100, |i| i.state_at(t0 + 100) == VmState::Running);
    assert_eq!(running.len(), 5000);
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
    // Listing order is creation order.
    assert!(running.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[test]
fn ips_are_unique_and_private_in_ten_slash_eight() {
    let mut s = Store::new();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..600 {
        let ip = s.alloc_private_ip();
        assert!(ip.starts_with("10."));
        assert!(!ip.ends_with(".0") && !ip.ends_with(".255"));
        let mut i = test_instance(&s.unique_id("ins-", 8), 0);
        i.private_ips.push(ip.clone());
        s.insert(i);
        assert!(seen.insert(ip));
    }
    let p = s.alloc_public_ip();
    assert!(!p.starts_with("10."));
}

#[test]
fn snapshot_round_trip_keeps_instances_and_tokens() {
    let mut s = Store::new();
    s.insert(test_instance("ins-cccccccc", 1));
    s.token_record(
        Provider::Tencent,
        "acct",
        "tok",
        vec!["ins-cccccccc".into()],
    );
    let dir = std::env::temp_dir().join(format!("emu-snap-{}", new_uuid()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");
    save_snapshot(&path, &s.snapshot()).unwrap();
    let back = Store::from_snapshot(load_snapshot(&path).unwrap());
    assert!(back.get("ins-cccccccc", 2).is_some());
    assert_eq!(
        back.token_lookup(Provider::Tencent, "acct", "tok").unwrap(),
        &["ins-cccccccc".to_string()]
    );
    // A new instance gets a later sequence number than the loaded ones.
    let mut back = back;
    back.insert(test_instance("ins-dddddddd", 3));
    let l = back.list(4, |_| true);
    assert_eq!(l.last().unwrap().id, "ins-dddddddd");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(load_snapshot(&path).unwrap().instances.is_empty());
}

#[test]
fn uuid_shape() {
    let u = new_uuid();
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
}
