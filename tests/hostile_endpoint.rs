//! Every byte an endpoint answers is hostile input. Each cloud's client is pointed (through
//! the operator allow-list) at a scripted HTTP server answering what no real cloud should:
//! long multi-byte messages cut at every offset, invalid UTF-8, huge and endless bodies,
//! slow drips, redirects, wrong content types, JSON bombs, oversized headers. The client
//! must return a clear error (never panic, never buffer without bound, never follow a
//! redirect), quickly.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use cloudinstance_controller::provider::http::MAX_BODY_BYTES;
use cloudinstance_controller::provider::retry::RetryPolicy;
use cloudinstance_controller::provider::{
    AnyProvider, ClientConfig, CloudProvider, Credentials, ProviderError, ProviderKind,
    SecretString,
};

/// What the scripted server answers to every request.
#[derive(Clone)]
enum Answer {
    /// Status, extra headers, body, all at once.
    Plain(u16, Vec<(String, String)>, Vec<u8>),
    /// A chunked body that never ends.
    Endless,
    /// Headers, then one body byte every 200 ms.
    Drip,
}

struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
}

async fn serve(answer: Answer) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let answer = answer.clone();
            let count = count.clone();
            tokio::spawn(async move {
                // read the request head (and whatever body came with it)
                let mut buf = vec![0u8; 64 * 1024];
                let _ = tokio::time::timeout(Duration::from_millis(500), sock.read(&mut buf)).await;
                count.fetch_add(1, Ordering::SeqCst);
                let _ = match answer {
                    Answer::Plain(status, headers, body) => {
                        let mut head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                        for (k, v) in headers {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                        head.push_str("\r\n");
                        let mut all = head.into_bytes();
                        all.extend_from_slice(&body);
                        sock.write_all(&all).await
                    }
                    Answer::Endless => {
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                        if sock.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = format!("{:x}\r\n{}\r\n", 65536, "[".repeat(65536));
                        loop {
                            if sock.write_all(chunk.as_bytes()).await.is_err() {
                                break Ok(());
                            }
                        }
                    }
                    Answer::Drip => {
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
                        if sock.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        loop {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            if sock.write_all(b" ").await.is_err() {
                                break Ok(());
                            }
                        }
                    }
                };
            });
        }
    });
    Server { url, requests }
}

fn client(kind: ProviderKind, url: &str) -> AnyProvider {
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: "AKIDhostile".into(),
        secret: SecretString::new("hostile-test-secret"),
        project_id: Some("0123456789abcdef0123456789abcdef".into()),
    });
    cfg.trust_endpoint(url.to_string());
    cfg.timeout = Duration::from_secs(2);
    cfg.retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    AnyProvider::new(kind, cfg).unwrap()
}

const KINDS: [ProviderKind; 3] = [
    ProviderKind::Tencent,
    ProviderKind::Alibaba,
    ProviderKind::Huawei,
];

/// One call that reads an answer (a status poll), bounded in time.
async fn call(kind: ProviderKind, url: &str) -> Result<(), ProviderError> {
    let c = client(kind, url);
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        c.describe_status("ap-guangzhou", &["i-1".to_string()]),
    )
    .await
    .expect("a hostile answer must not hold the client past its timeout");
    r.map(|_| ())
}

/// An error body in this cloud's own shape.
fn error_body(kind: ProviderKind, message: &str) -> (u16, Vec<u8>) {
    let v = match kind {
        ProviderKind::Tencent => serde_json::json!({"Response": {
            "Error": {"Code": "InternalError", "Message": message}, "RequestId": "r-1"}}),
        ProviderKind::Alibaba => {
            serde_json::json!({"Code": "InternalError", "Message": message, "RequestId": "r-1"})
        }
        ProviderKind::Huawei => {
            serde_json::json!({"error": {"code": "Ecs.0001", "message": message}})
        }
    };
    let status = if kind == ProviderKind::Tencent {
        200
    } else {
        400
    };
    (status, serde_json::to_vec(&v).unwrap())
}

fn json_headers() -> Vec<(String, String)> {
    vec![("Content-Type".into(), "application/json".into())]
}

#[tokio::test]
async fn long_multibyte_messages_at_every_offset_are_clipped_on_character_boundaries() {
    let mut tried = 0;
    for kind in KINDS {
        // 3-byte characters, and a 4-byte one, shifted over every offset around the limits
        for extra in 0..8 {
            let msg = format!(
                "{}实例🙂{}",
                "x".repeat(extra),
                "状态不支持该操作。".repeat(120)
            );
            let (status, body) = error_body(kind, &msg);
            let srv = serve(Answer::Plain(status, json_headers(), body)).await;
            let e = call(kind, &srv.url).await.unwrap_err();
            assert!(e.message.len() <= 2048, "{kind}: {} bytes", e.message.len());
            assert!(
                e.message.starts_with('x') || e.message.starts_with('实'),
                "{kind}: {}",
                e.message
            );
            // what events and conditions do with it must not panic either
            for max in 995..1005 {
                let _ = cloudinstance_controller::text::clip(&e.to_string(), max);
            }
            tried += 1;
        }
    }
    assert_eq!(tried, 24);
}

#[tokio::test]
async fn invalid_utf8_wrong_content_type_and_json_bombs_are_clear_errors() {
    let bomb = "[".repeat(200_000).into_bytes();
    let html = b"<html><body>502 Bad Gateway</body></html>".to_vec();
    for kind in KINDS {
        // the cloud's own error shape, with invalid UTF-8 inside the message
        let (err_status, body) = error_body(kind, "MARK");
        let text = String::from_utf8(body).unwrap();
        let (a, b) = text.split_once("MARK").unwrap();
        let mut bad_utf8 = a.as_bytes().to_vec();
        bad_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
        bad_utf8.extend_from_slice(b.as_bytes());
        for (what, status, headers, body) in [
            ("json bomb", 200, json_headers(), bomb.clone()),
            ("invalid utf-8", err_status, json_headers(), bad_utf8),
            (
                "html 200",
                200,
                vec![("Content-Type".into(), "text/html".into())],
                html.clone(),
            ),
            (
                "html 502",
                502,
                vec![("Content-Type".into(), "text/html".into())],
                html.clone(),
            ),
        ] {
            let srv = serve(Answer::Plain(status, headers, body)).await;
            let e = call(kind, &srv.url).await;
            let e = e.expect_err(&format!("{kind} {what}: must be an error"));
            assert!(!e.code.is_empty(), "{kind} {what}: {e:?}");
            assert!(e.message.len() <= 2048, "{kind} {what}");
        }
    }
}

#[tokio::test]
async fn huge_and_endless_bodies_are_refused_not_buffered() {
    let huge = vec![b' '; MAX_BODY_BYTES + 10];
    for kind in KINDS {
        let srv = serve(Answer::Plain(200, json_headers(), huge.clone())).await;
        let e = call(kind, &srv.url).await.unwrap_err();
        assert_eq!(e.code, "ResponseTooLarge", "{kind}: {e:?}");
        let srv = serve(Answer::Endless).await;
        let start = Instant::now();
        let e = call(kind, &srv.url).await.unwrap_err();
        assert_eq!(e.code, "ResponseTooLarge", "{kind}: {e:?}");
        assert!(start.elapsed() < Duration::from_secs(5), "{kind}");
    }
}

#[tokio::test]
async fn slow_drip_answers_end_at_the_request_timeout() {
    for kind in KINDS {
        let srv = serve(Answer::Drip).await;
        let start = Instant::now();
        let e = call(kind, &srv.url).await.unwrap_err();
        assert_eq!(e.code, "Timeout", "{kind}: {e:?}");
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{kind}: {:?}",
            start.elapsed()
        );
    }
}

#[tokio::test]
async fn redirects_are_never_followed() {
    for kind in KINDS {
        let target = serve(Answer::Plain(200, json_headers(), b"{}".to_vec())).await;
        for status in [301, 302, 307, 308] {
            let location = vec![("Location".into(), format!("{}/steal", target.url))];
            let srv = serve(Answer::Plain(status, location, Vec::new())).await;
            let e = call(kind, &srv.url).await.unwrap_err();
            assert_eq!(e.code, "RedirectRefused", "{kind} {status}: {e:?}");
            assert_eq!(srv.requests.load(Ordering::SeqCst), 1);
        }
        assert_eq!(
            target.requests.load(Ordering::SeqCst),
            0,
            "{kind}: a redirect was followed"
        );
    }
}

#[tokio::test]
async fn oversized_and_binary_headers_are_ignored() {
    for kind in KINDS {
        let (status, body) = error_body(kind, "busy");
        let headers = vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-TC-RequestId".into(), "r".repeat(5000)),
            ("x-acs-request-id".into(), "r".repeat(5000)),
            ("X-Request-Id".into(), "r".repeat(5000)),
            ("Retry-After".into(), "99999999999".into()),
        ];
        let srv = serve(Answer::Plain(status, headers, body)).await;
        let e = call(kind, &srv.url).await.unwrap_err();
        assert!(
            e.request_id.as_deref().is_none_or(|r| r.len() <= 128),
            "{kind}: {e:?}"
        );
        assert!(
            e.retry_after.is_none_or(|d| d <= Duration::from_secs(60)),
            "{kind}: {e:?}"
        );
    }
}

#[tokio::test]
async fn endpoints_outside_the_policy_receive_nothing() {
    for kind in KINDS {
        let srv = serve(Answer::Plain(200, json_headers(), b"{}".to_vec())).await;
        let mut cfg = ClientConfig::new(Credentials {
            access_key_id: "AKIDhostile".into(),
            secret: SecretString::new("hostile-test-secret"),
            project_id: Some("0123456789abcdef0123456789abcdef".into()),
        });
        // set as a tenant would: no operator allow-list entry for it
        cfg.endpoint = Some(srv.url.clone());
        let err = match AnyProvider::new(kind, cfg) {
            Err(e) => e,
            Ok(c) => c.regions().await.unwrap_err(),
        };
        assert_eq!(err.code, "EndpointNotAllowed", "{kind}: {err:?}");
        assert!(!err.message.contains("hostile-test-secret"));
        assert_eq!(srv.requests.load(Ordering::SeqCst), 0, "{kind}");
    }
}

#[tokio::test]
async fn a_listing_that_never_ends_is_cut_off() {
    // every page is full and the total claims a billion instances
    let set: Vec<serde_json::Value> = (0..100)
        .map(|i| serde_json::json!({"InstanceId": format!("ins-{i:08}"), "InstanceState": "RUNNING"}))
        .collect();
    let body = serde_json::json!({"Response": {"TotalCount": 1_000_000_000u64,
        "InstanceSet": set, "RequestId": "r-1"}});
    let srv = serve(Answer::Plain(
        200,
        json_headers(),
        serde_json::to_vec(&body).unwrap(),
    ))
    .await;
    let c = client(ProviderKind::Tencent, &srv.url);
    let e = tokio::time::timeout(
        Duration::from_secs(60),
        c.describe_instances(
            "ap-guangzhou",
            &cloudinstance_controller::provider::DescribeFilter::All,
        ),
    )
    .await
    .expect("bounded")
    .unwrap_err();
    assert_eq!(e.code, "TooManyPages", "{e:?}");
    assert_eq!(srv.requests.load(Ordering::SeqCst), 1000);
}

/// A private endpoint behind a corporate CA: untrusted without the credential's caBundle,
/// trusted with it. (The server is `openssl s_server -www`; it answers a Huawei GET with an
/// HTML page, so a trusted call fails later, on the answer, not at the TLS handshake.)
#[tokio::test]
async fn a_credential_ca_bundle_is_trusted_for_a_private_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sh = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{:?}: {}",
            args,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=corp-test-ca",
    ]);
    sh(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "srv.key",
        "-out",
        "srv.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(d.join("ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    sh(&[
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "srv.pem",
        "-days",
        "1",
        "-extfile",
        "ext",
    ]);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = tokio::process::Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            "srv.pem",
            "-key",
            "srv.key",
            "-www",
            "-quiet",
        ])
        .current_dir(d)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("openssl s_server");
    let url = format!("https://127.0.0.1:{port}");
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "s_server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ca = std::fs::read_to_string(d.join("ca.pem")).unwrap();
    let call = |bundle: Option<String>| {
        let url = url.clone();
        async move {
            let mut cfg = ClientConfig::new(Credentials {
                access_key_id: "AKIDtls".into(),
                secret: SecretString::new("tls-test-secret"),
                project_id: Some("0123456789abcdef0123456789abcdef".into()),
            });
            cfg.trust_endpoint(url);
            cfg.timeout = Duration::from_secs(3);
            cfg.retry = RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            };
            cfg.ca_bundle = bundle;
            match AnyProvider::new(ProviderKind::Huawei, cfg) {
                Err(e) => e,
                Ok(c) => c
                    .describe_status("cn-north-4", &["i-1".to_string()])
                    .await
                    .unwrap_err(),
            }
        }
    };
    let untrusted = call(None).await;
    assert_eq!(untrusted.code, "ConnectionFailed", "{untrusted:?}");
    let trusted = call(Some(ca)).await;
    assert!(
        !matches!(
            trusted.code.as_str(),
            "ConnectionFailed" | "Timeout" | "Transport"
        ),
        "the CA bundle was not trusted: {trusted:?}"
    );
    let bad = call(Some(
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".into(),
    ))
    .await;
    assert_eq!(bad.code, "InvalidCABundle", "{bad:?}");
    server.kill().await.ok();
}
