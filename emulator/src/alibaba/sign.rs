//! Alibaba Cloud request signatures, verified the way the ECS gateway computes them.
//!
//! * V2 (RPC, `SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`): every parameter except
//!   `Signature` (query and form body together) sorted by name, RFC 3986-encoded,
//!   `StringToSign = METHOD & %2F & percentEncode(canonicalized query)`,
//!   `Signature = base64(HMAC-SHA1(secret + "&", StringToSign))`.
//! * V3 (`ACS3-HMAC-SHA256`, what Alibaba's current SDKs send by default):
//!   ```text
//!   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n
//!                      CanonicalHeaders \n SignedHeaders \n HashedRequestPayload
//!   StringToSign     = ACS3-HMAC-SHA256 \n hex(sha256(CanonicalRequest))
//!   Authorization    = ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=<..>,Signature=hex(HMAC-SHA256(secret, StringToSign))
//!   ```

use std::collections::BTreeMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

pub const ACS3: &str = "ACS3-HMAC-SHA256";

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

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// V2: the sorted, encoded `name=value` list (without `Signature`).
pub fn v2_canonicalized_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn v2_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    format!(
        "{}&%2F&{}",
        method.to_ascii_uppercase(),
        percent_encode(&v2_canonicalized_query(params))
    )
}

pub fn v2_signature(string_to_sign: &str, secret: &str) -> String {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The parsed `Authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acs3Authorization {
    pub access_key_id: String,
    pub signed_headers: String,
    pub signature: String,
}

pub fn parse_acs3(value: &str) -> Result<Acs3Authorization, String> {
    let value = value.trim();
    let rest = value
        .strip_prefix(ACS3)
        .ok_or_else(|| format!("the Authorization header does not start with {ACS3}"))?;
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    for part in rest.split(',') {
        if let Some((k, v)) = part.trim().split_once('=') {
            fields.insert(k.trim(), v.trim());
        }
    }
    let get = |k: &str| {
        fields
            .get(k)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string())
            .ok_or_else(|| format!("the Authorization header has no {k}"))
    };
    Ok(Acs3Authorization {
        access_key_id: get("Credential")?,
        signed_headers: get("SignedHeaders")?,
        signature: get("Signature")?,
    })
}

/// V3 canonical query: pairs sorted by encoded name, names and values RFC 3986-encoded.
pub fn v3_canonical_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// V3 canonical headers for the signed header names; `lookup` returns every received
/// value of a header (lowercase name). `None` when a signed header is missing.
pub fn v3_canonical_headers<F>(signed_headers: &str, lookup: F) -> Option<String>
where
    F: Fn(&str) -> Vec<String>,
{
    let mut out = String::new();
    for name in signed_headers.split(';') {
        let name = name.trim().to_ascii_lowercase();
        let mut values: Vec<String> = lookup(&name)
            .into_iter()
            .map(|v| v.trim().to_string())
            .collect();
        if values.is_empty() {
            return None;
        }
        values.sort();
        out.push_str(&name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    Some(out)
}

pub fn v3_canonical_request(
    method: &str,
    path: &str,
    query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    hashed_payload: &str,
) -> String {
    let path = if path.is_empty() { "/" } else { path };
    format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{hashed_payload}")
}

pub fn v3_string_to_sign(canonical_request: &str) -> String {
    format!("{ACS3}\n{}", sha256_hex(canonical_request.as_bytes()))
}

pub fn v3_signature(string_to_sign: &str, secret: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison of two signatures.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// Alibaba's published example (ECS API reference, "Request signatures", example 1):
    /// AccessKeySecret `testsecret`, signature `OLeaidS1JvxuMvnyHOwuJ+uX5qY=`.
    #[test]
    fn v2_published_example() {
        let p = pairs(&[
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Format", "XML"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Version", "2014-05-26"),
            ("SignatureVersion", "1.0"),
        ]);
        let sts = v2_string_to_sign("GET", &p);
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(
            v2_signature(&sts, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn acs3_header_parses() {
        let a = parse_acs3(
            "ACS3-HMAC-SHA256 Credential=LTAI1,SignedHeaders=host;x-acs-action,Signature=abc",
        )
        .unwrap();
        assert_eq!(a.access_key_id, "LTAI1");
        assert_eq!(a.signed_headers, "host;x-acs-action");
        assert_eq!(a.signature, "abc");
        assert!(parse_acs3("ACS3-HMAC-SHA256 Credential=x").is_err());
        assert!(parse_acs3("Bearer x").is_err());
    }

    #[test]
    fn v3_pieces() {
        assert_eq!(
            v3_canonical_query(&pairs(&[
                ("RegionId", "cn-hangzhou"),
                ("InstanceId.1", "i-1 2")
            ])),
            "InstanceId.1=i-1%202&RegionId=cn-hangzhou"
        );
        let h = v3_canonical_headers("host;x-acs-date", |n| match n {
            "host" => vec!["ecs.aliyuncs.com ".into()],
            "x-acs-date" => vec!["2023-10-26T09:01:01Z".into()],
            _ => vec![],
        })
        .unwrap();
        assert_eq!(
            h,
            "host:ecs.aliyuncs.com\nx-acs-date:2023-10-26T09:01:01Z\n"
        );
        assert!(v3_canonical_headers("host;missing", |_| vec![]).is_none());
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("a", "ab"));
    }
}
