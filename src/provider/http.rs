//! HTTP plumbing shared by the three clients. Everything an endpoint answers is treated
//! as hostile: bodies are capped, header values validated, redirects never followed,
//! and errors never carry the request URL (which holds signatures, and on RPC APIs may
//! hold parameters).

use std::time::Duration;

use super::endpoint::EndpointPolicy;
use super::{ErrorKind, ProviderError, ProviderKind, Result};

/// Largest response body read from a cloud. Real answers are a few KiB (pages are at most
/// 100 instances); anything larger is refused instead of buffered.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Longest header value taken from an answer (request ids, Retry-After).
pub const MAX_HEADER_VALUE: usize = 128;
/// Longest server-suggested wait honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The HTTP client every provider uses: rustls trusting the platform's trust store (so
/// private/VPC endpoints behind a corporate CA installed on the node work), the public web
/// roots, and the credential's own `ca_bundle`; no redirects (a redirect would carry a
/// signed request somewhere else), bounded connect time and a total deadline per request
/// (which also bounds slow-drip bodies).
pub fn client(timeout: Duration, ca_bundle: Option<&str>) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder().use_rustls_tls();
    if let Some(pem) = ca_bundle.filter(|p| !p.trim().is_empty()) {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|_| {
            ProviderError::new(
                ErrorKind::InvalidRequest,
                "InvalidCABundle",
                "spec.caBundle holds no valid PEM certificate",
            )
        })?;
        if certs.is_empty() {
            return Err(ProviderError::new(
                ErrorKind::InvalidRequest,
                "InvalidCABundle",
                "spec.caBundle holds no PEM certificate",
            ));
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    b.redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!(
            "cloudinstance-controller/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| transport(&e))
}

/// A response read within the limits.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub request_id: Option<String>,
    pub retry_after: Option<Duration>,
}

impl Answer {
    /// The body as text; invalid UTF-8 is replaced, never a panic.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Check the request's URL against the policy, send it, and read the answer within the
/// limits. `request_id_header` names the cloud's request id header.
pub async fn execute(
    http: &reqwest::Client,
    policy: &EndpointPolicy,
    kind: ProviderKind,
    rb: reqwest::RequestBuilder,
    request_id_header: &str,
) -> Result<Answer> {
    let req = rb.build().map_err(|e| transport(&e))?;
    policy.check(kind, req.url())?;
    let mut resp = http.execute(req).await.map_err(|e| transport(&e))?;
    let status = resp.status();
    let request_id = header_value(resp.headers(), request_id_header);
    if status.is_redirection() {
        return Err(ProviderError::new(
            ErrorKind::InvalidRequest,
            "RedirectRefused",
            format!(
                "the endpoint answered HTTP {} (a redirect); redirects are never followed: \
                 set the endpoint to the cloud's API address",
                status.as_u16()
            ),
        )
        .with_request_id(request_id));
    }
    let retry_after = header_value(resp.headers(), "retry-after")
        .and_then(|s| s.parse::<u64>().ok())
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_large(request_id));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&e))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large(request_id));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status: status.as_u16(),
        body,
        request_id,
        retry_after,
    })
}

fn too_large(request_id: Option<String>) -> ProviderError {
    ProviderError::new(
        ErrorKind::Transient,
        "ResponseTooLarge",
        format!("the endpoint answered more than {MAX_BODY_BYTES} bytes; the answer was dropped"),
    )
    .with_request_id(request_id)
}

/// A header value if it is short, visible ASCII (request ids, numbers); otherwise None.
pub fn header_value(h: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    let v = h.get(name)?.to_str().ok()?.trim();
    (!v.is_empty() && v.len() <= MAX_HEADER_VALUE && v.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| v.to_owned())
}

/// A network-level failure (connect, reset, timeout, undecodable body), or a request
/// that could not even be built (terminal: sending it again cannot help).
///
/// The message never contains the URL: reqwest's `Display` appends `for url (...)`,
/// and URLs carry signatures (and, on RPC APIs, parameters). The URL is removed first,
/// and only the kind of failure and its causes are kept.
pub fn transport(err: &reqwest::Error) -> ProviderError {
    let (kind, code, what) = if err.is_builder() {
        (
            ErrorKind::InvalidRequest,
            "InvalidRequest",
            "the request could not be built",
        )
    } else if err.is_timeout() {
        (ErrorKind::Transient, "Timeout", "the request timed out")
    } else if err.is_connect() {
        (
            ErrorKind::Transient,
            "ConnectionFailed",
            "could not connect to the endpoint",
        )
    } else if err.is_decode() || err.is_body() {
        (
            ErrorKind::Transient,
            "InvalidResponse",
            "the answer could not be read",
        )
    } else if err.is_redirect() {
        (
            ErrorKind::InvalidRequest,
            "RedirectRefused",
            "the endpoint redirected",
        )
    } else {
        (ErrorKind::Transient, "Transport", "the connection failed")
    };
    let mut msg = what.to_owned();
    let mut src = std::error::Error::source(err);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    ProviderError::new(kind, code, scrub_urls(&msg))
}

/// Remove anything URL-shaped (`scheme://...` up to whitespace) from a message.
pub fn scrub_urls(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find("://") {
        // start of the scheme: walk back over scheme characters
        let head = &rest[..i];
        let start = head
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map(|(j, _)| j)
            .unwrap_or(i);
        out.push_str(&rest[..start]);
        out.push_str("<url>");
        let after = &rest[i + 3..];
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>'))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_urls_removes_every_url() {
        let m = "error sending request for url (https://ecs.aliyuncs.com/?Password=p%40ss&Signature=abc): \
                 connection closed; also http://x:1/y?z";
        let s = scrub_urls(m);
        assert!(!s.contains("Password"), "{s}");
        assert!(!s.contains("Signature"), "{s}");
        assert!(!s.contains("x:1"), "{s}");
        assert!(s.contains("connection closed"), "{s}");
        assert_eq!(scrub_urls("no url here"), "no url here");
        // multi-byte text around a URL
        assert_eq!(scrub_urls("错误 https://a/b 错误"), "错误 <url> 错误");
    }

    #[test]
    fn header_values_are_validated() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-ok", "abc-123".parse().unwrap());
        h.insert("x-long", "a".repeat(500).parse().unwrap());
        h.insert("x-space", "a b".parse().unwrap());
        h.insert(
            "x-bin",
            reqwest::header::HeaderValue::from_bytes(b"\xe9\xe9").unwrap(),
        );
        assert_eq!(header_value(&h, "x-ok").as_deref(), Some("abc-123"));
        assert_eq!(header_value(&h, "x-long"), None);
        assert_eq!(header_value(&h, "x-space"), None);
        assert_eq!(header_value(&h, "x-bin"), None);
        assert_eq!(header_value(&h, "x-missing"), None);
    }
}
