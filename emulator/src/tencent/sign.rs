//! Tencent Cloud API 3.0 request signatures.
//!
//! * Signature v3, `TC3-HMAC-SHA256` (headers `Authorization`, `X-TC-Timestamp`):
//!   ```text
//!   CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n
//!                      CanonicalHeaders \n SignedHeaders \n hex(sha256(payload))
//!   CanonicalHeaders = for each signed header: lowercase(name) ":" lowercase(trim(value)) \n
//!   StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n Date/Service/tc3_request \n
//!                      hex(sha256(CanonicalRequest))
//!   SecretDate    = HMAC_SHA256("TC3" + SecretKey, Date)
//!   SecretService = HMAC_SHA256(SecretDate, Service)
//!   SecretSigning = HMAC_SHA256(SecretService, "tc3_request")
//!   Signature     = hex(HMAC_SHA256(SecretSigning, StringToSign))
//!   ```
//! * Signature v1 (`HmacSHA1` / `HmacSHA256`, parameters `SecretId`, `Signature`, ...):
//!   `base64(HMAC(SecretKey, Method + Host + Path + "?" + sorted k=v joined by &))`
//!   with raw (not URL-encoded) values.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

pub const TC3_ALGORITHM: &str = "TC3-HMAC-SHA256";

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// The parsed `Authorization: TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tc3Authorization {
    pub secret_id: String,
    pub date: String,
    pub service: String,
    pub terminator: String,
    pub signed_headers: String,
    pub signature: String,
}

pub fn parse_tc3_authorization(value: &str) -> Result<Tc3Authorization, String> {
    let value = value.trim();
    let (algorithm, rest) = value
        .split_once(' ')
        .ok_or_else(|| "the Authorization header is not of the form `TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`".to_string())?;
    if algorithm != TC3_ALGORITHM {
        return Err(format!(
            "unsupported signature algorithm `{algorithm}`, expected {TC3_ALGORITHM}"
        ));
    }
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("malformed Authorization component `{part}`"))?;
        match k.trim() {
            "Credential" => credential = Some(v.trim().to_string()),
            "SignedHeaders" => signed_headers = Some(v.trim().to_string()),
            "Signature" => signature = Some(v.trim().to_string()),
            _ => {}
        }
    }
    let credential = credential.ok_or("Authorization has no Credential")?;
    let signed_headers = signed_headers.ok_or("Authorization has no SignedHeaders")?;
    let signature = signature.ok_or("Authorization has no Signature")?;
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 4 || parts.iter().any(|p| p.is_empty()) {
        return Err("Credential must be SecretId/Date/Service/tc3_request".into());
    }
    if signature.is_empty() || signed_headers.is_empty() {
        return Err("empty SignedHeaders or Signature".into());
    }
    Ok(Tc3Authorization {
        secret_id: parts[0].to_string(),
        date: parts[1].to_string(),
        service: parts[2].to_string(),
        terminator: parts[3].to_string(),
        signed_headers,
        signature,
    })
}

/// `CanonicalHeaders` for the given signed header names; `lookup` returns a received
/// header value by lowercase name. `None` if a signed header is absent.
pub fn tc3_canonical_headers<F>(signed_headers: &str, lookup: F) -> Option<String>
where
    F: Fn(&str) -> Option<String>,
{
    let mut out = String::new();
    for name in signed_headers.split(';') {
        let name = name.trim().to_ascii_lowercase();
        let value = lookup(&name)?;
        out.push_str(&name);
        out.push(':');
        out.push_str(&value.trim().to_ascii_lowercase());
        out.push('\n');
    }
    Some(out)
}

pub fn tc3_canonical_request(
    method: &str,
    uri: &str,
    query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    format!("{method}\n{uri}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}")
}

pub fn tc3_string_to_sign(
    timestamp: &str,
    date: &str,
    service: &str,
    canonical_request: &str,
) -> String {
    format!(
        "{TC3_ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

pub fn tc3_signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, service.as_bytes());
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    hex::encode(hmac_sha256(&secret_signing, string_to_sign.as_bytes()))
}

/// UTC date (`YYYY-MM-DD`) of a Unix timestamp, as used in the credential scope.
pub fn utc_date(unix_seconds: i64) -> Option<String> {
    jiff::Timestamp::from_second(unix_seconds)
        .ok()
        .map(|t| t.strftime("%Y-%m-%d").to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V1Method {
    HmacSha1,
    HmacSha256,
}

impl V1Method {
    pub fn parse(s: Option<&str>) -> Option<V1Method> {
        match s {
            None | Some("HmacSHA1") => Some(V1Method::HmacSha1),
            Some("HmacSHA256") => Some(V1Method::HmacSha256),
            Some(_) => None,
        }
    }
}

/// Signature v1 source string: `METHOD host path ? k=v&...` over every parameter except
/// `Signature`, sorted by name (`_` in names is read as `.`, as the SDKs do).
pub fn v1_sign_string(method: &str, host: &str, path: &str, params: &[(String, String)]) -> String {
    let mut items: Vec<(String, &str)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (k.replace('_', "."), v.as_str()))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let query: Vec<String> = items.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{method}{host}{path}?{}", query.join("&"))
}

pub fn v1_signature(secret_key: &str, sign_string: &str, method: V1Method) -> String {
    let mac = match method {
        V1Method::HmacSha1 => hmac_sha1(secret_key.as_bytes(), sign_string.as_bytes()),
        V1Method::HmacSha256 => hmac_sha256(secret_key.as_bytes(), sign_string.as_bytes()),
    };
    base64::engine::general_purpose::STANDARD.encode(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vector computed with the official tencentcloud-sdk-python signing code
    // (tencentcloud.common.sign.Sign.sign_tc3 and AbstractClient._get_tc3_signature).
    const PAYLOAD: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;

    #[test]
    fn tc3_matches_official_sdk() {
        let payload_hash = sha256_hex(PAYLOAD.as_bytes());
        // The hash of the example payload of Tencent's signature v3 documentation.
        assert_eq!(
            payload_hash,
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let headers = tc3_canonical_headers("content-type;host", |n| match n {
            "content-type" => Some("application/json".into()),
            "host" => Some("127.0.0.1:8080".into()),
            _ => None,
        })
        .unwrap();
        let cr = tc3_canonical_request(
            "POST",
            "/",
            "",
            &headers,
            "content-type;host",
            &payload_hash,
        );
        let date = utc_date(1_700_000_000).unwrap();
        assert_eq!(date, "2023-11-14");
        let sts = tc3_string_to_sign("1700000000", &date, "cvm", &cr);
        assert_eq!(
            tc3_signature("demo-tencent-secret-key", &date, "cvm", &sts),
            "af33e2be6d7bef8331a41522b62a8a560ab6081a53da7f8138e5a04f8ab7b6d4"
        );
        assert_ne!(
            tc3_signature("wrong-key", &date, "cvm", &sts),
            "af33e2be6d7bef8331a41522b62a8a560ab6081a53da7f8138e5a04f8ab7b6d4"
        );
    }

    /// Tencent's published worked example of signature v3 (DescribeInstances at timestamp
    /// 1551113065 with the documentation's unmasked demo keys).
    #[test]
    fn tc3_matches_the_published_example() {
        let headers = tc3_canonical_headers("content-type;host", |n| match n {
            "content-type" => Some("application/json; charset=utf-8".into()),
            "host" => Some("cvm.tencentcloudapi.com".into()),
            _ => None,
        })
        .unwrap();
        let cr = tc3_canonical_request(
            "POST",
            "/",
            "",
            &headers,
            "content-type;host",
            &sha256_hex(PAYLOAD.as_bytes()),
        );
        assert_eq!(
            sha256_hex(cr.as_bytes()),
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        let date = utc_date(1_551_113_065).unwrap();
        assert_eq!(date, "2019-02-25");
        let sts = tc3_string_to_sign("1551113065", &date, "cvm", &cr);
        assert_eq!(
            tc3_signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", &date, "cvm", &sts),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn canonical_headers_lowercase_values_and_fail_on_missing() {
        let h = tc3_canonical_headers("content-type;host;x-tc-action", |n| match n {
            "content-type" => Some(" application/json; charset=utf-8 ".into()),
            "host" => Some("cvm.tencentcloudapi.com".into()),
            "x-tc-action" => Some("DescribeInstances".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            h,
            "content-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\nx-tc-action:describeinstances\n"
        );
        assert!(tc3_canonical_headers("content-type;host", |_| None).is_none());
    }

    #[test]
    fn authorization_parsing() {
        let a = parse_tc3_authorization(
            "TC3-HMAC-SHA256 Credential=AKIDX/2023-11-14/cvm/tc3_request, SignedHeaders=content-type;host, Signature=abc",
        )
        .unwrap();
        assert_eq!(a.secret_id, "AKIDX");
        assert_eq!(a.date, "2023-11-14");
        assert_eq!(a.service, "cvm");
        assert_eq!(a.terminator, "tc3_request");
        assert_eq!(a.signed_headers, "content-type;host");
        assert_eq!(a.signature, "abc");
        assert!(
            parse_tc3_authorization("HMAC-SHA1 Credential=a/b/c/d, SignedHeaders=x, Signature=y")
                .is_err()
        );
        assert!(parse_tc3_authorization("garbage").is_err());
        assert!(
            parse_tc3_authorization("TC3-HMAC-SHA256 Credential=a/b, SignedHeaders=x, Signature=y")
                .is_err()
        );
        assert!(
            parse_tc3_authorization("TC3-HMAC-SHA256 Credential=a/b/c/d, Signature=y").is_err()
        );
    }

    #[test]
    fn v1_matches_official_sdk() {
        let params: Vec<(String, String)> = [
            ("Action", "DescribeInstances"),
            ("InstanceIds.0", "ins-09dx96dg"),
            ("Limit", "20"),
            ("Nonce", "11886"),
            ("Offset", "0"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDDEMO00000000000000000000000000"),
            ("SignatureMethod", "HmacSHA256"),
            ("Timestamp", "1700000000"),
            ("Version", "2017-03-12"),
            ("Signature", "ignored"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let s = v1_sign_string("POST", "127.0.0.1:8080", "/", &params);
        assert!(s.starts_with("POST127.0.0.1:8080/?Action=DescribeInstances&InstanceIds.0="));
        assert_eq!(
            v1_signature("demo-tencent-secret-key", &s, V1Method::HmacSha256),
            "0PKTd0g4tXOybeGWXKJ7NLQsLIj/PzXPieKDNH6FPig="
        );
        assert_eq!(
            v1_signature("demo-tencent-secret-key", &s, V1Method::HmacSha1),
            "u2xl+Q1RFgEvfqIGyVM+kyKaaGg="
        );
    }
}
