//! Tests of the `cloud-emulator` binary over real sockets: the startup line, persistence
//! across restarts, and connection-dropping faults.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cloud_emulator::config::{TENCENT_DEMO_KEY_ID, TENCENT_DEMO_SECRET};
use cloud_emulator::tencent::sign;
use serde_json::{Value, json};

struct Proc {
    child: Child,
    addr: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cloud-emulator"))
        .arg("serve")
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cloud-emulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let line = line.trim_end();
    let url = line
        .strip_prefix("cloud-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let addr = url
        .strip_prefix("http://127.0.0.1:")
        .map(|p| format!("127.0.0.1:{p}"))
        .expect("loopback URL");
    assert!(addr.rsplit(':').next().unwrap().parse::<u16>().unwrap() > 0);
    Proc { child, addr }
}

/// One HTTP/1.1 exchange; `None` when the server closed the connection without answering.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Option<(u16, Value)> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    if raw.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

fn tencent(addr: &str, action: &str, body: Value) -> Option<Value> {
    let payload = serde_json::to_vec(&body).unwrap();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let date = sign::utc_date(ts).unwrap();
    let cr = sign::tc3_canonical_request(
        "POST",
        "/",
        "",
        &format!("content-type:application/json\nhost:{addr}\n"),
        "content-type;host",
        &sign::sha256_hex(&payload),
    );
    let sts = sign::tc3_string_to_sign(&ts.to_string(), &date, "cvm", &cr);
    let sig = sign::tc3_signature(TENCENT_DEMO_SECRET, &date, "cvm", &sts);
    let headers = [
        ("Content-Type", "application/json".to_string()),
        ("X-TC-Action", action.to_string()),
        ("X-TC-Version", "2017-03-12".to_string()),
        ("X-TC-Region", "ap-guangzhou".to_string()),
        ("X-TC-Timestamp", ts.to_string()),
        (
            "Authorization",
            format!(
                "TC3-HMAC-SHA256 Credential={TENCENT_DEMO_KEY_ID}/{date}/cvm/tc3_request, SignedHeaders=content-type;host, Signature={sig}"
            ),
        ),
    ];
    http(addr, "POST", "/", &headers, &payload).map(|(status, v)| {
        assert_eq!(status, 200);
        v["Response"].clone()
    })
}

#[test]
fn state_file_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("cloud-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let state_arg = state.to_str().unwrap().to_string();

    let ids = {
        let p = start(&["--state-file", &state_arg, "--transition-delay-ms", "0"]);
        let r = tencent(
            &p.addr,
            "RunInstances",
            json!({"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": "img-l8og963d", "InstanceCount": 2, "ClientToken": "persist-1"}),
        )
        .unwrap();
        let ids = r["InstanceIdSet"].clone();
        assert_eq!(ids.as_array().unwrap().len(), 2, "{r}");
        // Saved within a second (the saver runs every 250 ms); then killed hard.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !state.exists() {
            assert!(Instant::now() < deadline, "state file never written");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        ids
    };

    let p = start(&["--state-file", &state_arg]);
    let (_, list) = http(&p.addr, "GET", "/_emulator/instances", &[], b"").unwrap();
    let mut listed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = ids
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    listed.sort();
    want.sort();
    assert_eq!(listed, want);
    // The idempotency token survived too.
    let again = tencent(
        &p.addr,
        "RunInstances",
        json!({"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": "img-l8og963d", "InstanceCount": 2, "ClientToken": "persist-1"}),
    )
    .unwrap();
    assert_eq!(again["InstanceIdSet"], ids);
    let status = tencent(&p.addr, "DescribeInstancesStatus", json!({})).unwrap();
    assert_eq!(status["TotalCount"], 2);
    assert_eq!(status["InstanceStatusSet"][0]["InstanceState"], "RUNNING");
    drop(p);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn drop_connection_fault_closes_without_answer() {
    let p = start(&["--no-rate-limit"]);
    let (status, v) = http(
        &p.addr,
        "POST",
        "/_emulator/faults",
        &[("Content-Type", "application/json".into())],
        br#"{"provider": "tencent", "action": "DescribeRegions", "drop_connection": true, "count": 1}"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{v}");
    assert!(tencent(&p.addr, "DescribeRegions", json!({})).is_none());
    // Count exhausted: the next call is answered.
    let ok = tencent(&p.addr, "DescribeRegions", json!({})).unwrap();
    assert!(ok["RegionSet"].is_array(), "{ok}");

    // A latency fault delays the answer.
    http(
        &p.addr,
        "POST",
        "/_emulator/faults",
        &[("Content-Type", "application/json".into())],
        br#"{"action": "DescribeZones", "latency_ms": 300, "count": 1}"#,
    )
    .unwrap();
    let t0 = Instant::now();
    let z = tencent(&p.addr, "DescribeZones", json!({})).unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert!(z["ZoneSet"].is_array());

    let (_, calls) = http(&p.addr, "GET", "/_emulator/calls", &[], b"").unwrap();
    assert_eq!(calls["tencent"]["DescribeRegions"]["faulted"], 1);
    assert_eq!(calls["tencent"]["DescribeRegions"]["ok"], 1);
}

#[test]
fn many_instances_stay_fast() {
    let p = start(&["--no-rate-limit", "--transition-delay-ms", "0"]);
    for _ in 0..50 {
        let r = tencent(
            &p.addr,
            "RunInstances",
            json!({"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": "img-l8og963d", "InstanceCount": 100}),
        )
        .unwrap();
        assert_eq!(r["InstanceIdSet"].as_array().unwrap().len(), 100, "{r}");
    }
    let t0 = Instant::now();
    let r = tencent(&p.addr, "DescribeInstancesStatus", json!({"Limit": 100})).unwrap();
    assert_eq!(r["TotalCount"], 5000);
    let page = tencent(
        &p.addr,
        "DescribeInstances",
        json!({"Offset": 4900, "Limit": 100}),
    )
    .unwrap();
    assert_eq!(page["InstanceSet"].as_array().unwrap().len(), 100);
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}
