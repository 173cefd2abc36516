//! Alibaba Cloud RPC request signing, signature method V2 (`HMAC-SHA1`,
//! `SignatureVersion=1.0`), written from the published algorithm:
//!
//! 1. Sort every request parameter except `Signature` by name.
//! 2. Percent-encode names and values (RFC 3986: only `A-Z a-z 0-9 - _ . ~` stay literal,
//!    space is `%20`) and join them as `name=value` with `&`: the canonicalized query string.
//! 3. `StringToSign = HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(canonicalized)`.
//! 4. `Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))`.

use std::collections::BTreeMap;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// RFC 3986 percent-encoding as Alibaba's signature documentation requires it.
pub use crate::provider::common::percent_encode;

/// `name=value` pairs, sorted by name and percent-encoded, joined with `&`. The
/// `Signature` parameter is never part of it.
pub fn canonicalized_query(params: &BTreeMap<String, String>) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    // Sorting the encoded names is what the server does; for ASCII names it equals the
    // BTreeMap order, but non-ASCII names would sort differently.
    pairs.sort();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `METHOD&%2F&percentEncode(canonicalized query)`.
pub fn string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode("/"),
        percent_encode(&canonicalized_query(params))
    )
}

/// The `Signature` parameter value (before URL encoding).
pub fn signature(method: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign(method, params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The full query string of a signed request: the parameters plus `Signature`,
/// every name and value percent-encoded.
pub fn signed_query(method: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
    let sig = signature(method, params, secret);
    let mut q = canonicalized_query(params);
    q.push_str("&Signature=");
    q.push_str(&percent_encode(&sig));
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_params(timestamp_name: &str) -> BTreeMap<String, String> {
        [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            (timestamp_name, "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Alibaba's published worked example of the ECS RPC signature: ECS API Reference,
    /// "Request signatures", Example 1 (DescribeRegions, AccessKeyId `testid`,
    /// AccessKeySecret `testsecret`, HMAC key `testsecret&`, StringToSign below, signature
    /// `OLeaidS1JvxuMvnyHOwuJ+uX5qY=`). Source: https://www.alibabacloud.com/help/doc-detail/25492.htm,
    /// Markdown source AlibabaCloudDocs/ecs, `intl.en-US/API Reference/Getting started/Request
    /// signatures.md` (commit 4c4be6ffc29fae6ac14cd761d69cbcc199040ad0). Matched byte for byte.
    #[test]
    fn published_example_timestamp() {
        let p = doc_params("Timestamp");
        assert_eq!(
            string_to_sign("GET", &p),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML\
             %26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf\
             %26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z\
             %26Version%3D2014-05-26"
        );
        assert_eq!(
            signature("GET", &p, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    /// The same published example in its original (2016) form, which spelled the
    /// parameter `TimeStamp`: Alibaba Cloud developer community, "API 签名机制(示例)",
    /// https://developer.aliyun.com/ask/210168 — StringToSign
    /// `GET&%2F&AccessKeyId%3Dtestid...TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26`,
    /// key `testsecret&`, signature `CT9X0VtwR86fNWSnsc6v8YGOjuE=` (also printed in the
    /// Alibaba CBN and Smart Access Gateway "Signature" API docs).
    #[test]
    fn published_example_timestamp_legacy_spelling() {
        let p = doc_params("TimeStamp");
        assert_eq!(
            string_to_sign("GET", &p),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML\
             %26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf\
             %26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z\
             %26Version%3D2014-05-26"
        );
        assert_eq!(
            signature("GET", &p, "testsecret"),
            "CT9X0VtwR86fNWSnsc6v8YGOjuE="
        );
        let q = signed_query("GET", &p, "testsecret");
        assert!(
            q.ends_with("&Signature=CT9X0VtwR86fNWSnsc6v8YGOjuE%3D"),
            "{q}"
        );
    }

    #[test]
    fn encoding_rules() {
        assert_eq!(percent_encode("a b*c~d'e(f)!"), "a%20b%2Ac~d%27e%28f%29%21");
        assert_eq!(
            percent_encode("[\"i-1\",\"i-2\"]"),
            "%5B%22i-1%22%2C%22i-2%22%5D"
        );
        assert_eq!(percent_encode("中"), "%E4%B8%AD");
        assert_eq!(percent_encode("-_.~"), "-_.~");
    }

    #[test]
    fn signature_param_is_excluded_and_method_matters() {
        let mut p = doc_params("Timestamp");
        let before = signature("GET", &p, "testsecret");
        p.insert("Signature".into(), "ignored".into());
        assert_eq!(signature("GET", &p, "testsecret"), before);
        assert_ne!(signature("POST", &p, "testsecret"), before);
        assert_ne!(signature("GET", &p, "other"), before);
    }
}
