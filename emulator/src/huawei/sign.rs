//! Huawei Cloud API Gateway AK/SK signature verification (`SDK-HMAC-SHA256`).
//!
//! ```text
//! CanonicalRequest = Method \n CanonicalURI (segments URI-encoded, trailing "/") \n
//!                    CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n
//!                    hex(sha256(payload))   (or the X-Sdk-Content-Sha256 value UNSIGNED-PAYLOAD)
//! StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(SK, StringToSign))
//! Authorization    = SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<..>, Signature=<..>
//! ```

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// RFC 3986 percent-encoding: only `A-Z a-z 0-9 - _ . ~` stay literal.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn canonical_uri(path: &str) -> String {
    let mut out = path
        .split('/')
        .map(|seg| percent_encode(&percent_decode(seg)))
        .collect::<Vec<_>>()
        .join("/");
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut p: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    p.sort();
    p.iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkAuthorization {
    pub access: String,
    pub signed_headers: String,
    pub signature: String,
}

pub fn parse_authorization(value: &str) -> Result<SdkAuthorization, String> {
    let rest = value
        .trim()
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| format!("the Authorization header does not start with {ALGORITHM}"))?;
    let mut access = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        let v = v.trim().to_string();
        match k.trim() {
            "Access" => access = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    Ok(SdkAuthorization {
        access: access
            .filter(|v| !v.is_empty())
            .ok_or("the Authorization header has no Access")?,
        signed_headers: signed
            .filter(|v| !v.is_empty())
            .ok_or("the Authorization header has no SignedHeaders")?,
        signature: signature
            .filter(|v| !v.is_empty())
            .ok_or("the Authorization header has no Signature")?,
    })
}

/// Canonical headers for the signed names; `lookup` returns a received header by
/// lowercase name. `None` if a signed header is missing.
pub fn canonical_headers<F>(signed: &str, lookup: F) -> Option<String>
where
    F: Fn(&str) -> Option<String>,
{
    let mut out = String::new();
    for name in signed.split(';') {
        let name = name.trim().to_ascii_lowercase();
        let v = lookup(&name)?;
        out.push_str(&name);
        out.push(':');
        out.push_str(v.trim());
        out.push('\n');
    }
    Some(out)
}

pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    canonical_headers: &str,
    signed: &str,
    payload_hash: &str,
) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        canonical_uri(path),
        canonical_query(query),
        canonical_headers,
        signed,
        payload_hash
    )
}

pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

pub fn signature(sk: &str, string_to_sign: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(sk.as_bytes()).expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Parse `X-Sdk-Date` (`YYYYMMDDTHHMMSSZ`) into milliseconds since the epoch.
pub fn parse_sdk_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() != 16 || !s.ends_with('Z') || s.as_bytes()[8] != b'T' {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    );
    iso.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Huawei's published example (API Request Signing Guide): VPC list request, SK
    /// `MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc`, signature `7be66680...f6ebe`.
    #[test]
    fn published_example() {
        let q = vec![
            (
                "marker".to_string(),
                "13551d6b-755d-4757-b956-536f674975c0".to_string(),
            ),
            ("limit".to_string(), "2".to_string()),
        ];
        let headers = canonical_headers("content-type;host;x-sdk-date", |n| {
            Some(
                match n {
                    "content-type" => "application/json",
                    "host" => "service.region.example.com",
                    "x-sdk-date" => "20191115T033655Z",
                    _ => return None,
                }
                .to_string(),
            )
        })
        .unwrap();
        let cr = canonical_request(
            "GET",
            "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
            &q,
            &headers,
            "content-type;host;x-sdk-date",
            &sha256_hex(b""),
        );
        let sts = string_to_sign("20191115T033655Z", &cr);
        assert!(sts.ends_with("b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"));
        assert_eq!(
            signature("MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc", &sts),
            "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
        );
    }

    #[test]
    fn parsing() {
        let a = parse_authorization(
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=ab",
        )
        .unwrap();
        assert_eq!(a.access, "AK");
        assert_eq!(a.signed_headers, "host;x-sdk-date");
        assert!(parse_authorization("SDK-HMAC-SHA256 Access=AK").is_err());
        assert_eq!(parse_sdk_date("20191115T033655Z"), Some(1_573_789_015_000));
        assert_eq!(parse_sdk_date("2019-11-15"), None);
        assert_eq!(canonical_uri("/v1/a%20b"), "/v1/a%20b/");
    }
}
