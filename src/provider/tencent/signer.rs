//! Tencent Cloud API 3.0 request signing, method v3 (`TC3-HMAC-SHA256`).
//!
//! The four steps of Tencent's "Signature v3" document, each a separate function so the
//! tests can check every intermediate string against the published worked example:
//!
//! 1. [`canonical_request`] builds `POST\n/\n\ncontent-type:<ct>\nhost:<host>\n\ncontent-type;host\n<sha256(body)>`
//! 2. [`string_to_sign`] builds `TC3-HMAC-SHA256\n<timestamp>\n<date>/<service>/tc3_request\n<sha256(canonical)>`
//! 3. [`signature`] runs the HMAC chain `"TC3"+SecretKey` → date → service → `tc3_request` → string to sign
//! 4. [`authorization`] builds `TC3-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=content-type;host, Signature=<hex>`
//!
//! Only `content-type` and `host` are signed (the minimum the API requires). The host
//! must be the exact `Host` header sent, including a non-default port (the emulator
//! listens on `127.0.0.1:PORT`).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::provider::Credentials;

/// The signing algorithm name, first line of the string to sign.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The body content type; the value sent is byte-identical to the value signed.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// Headers covered by the signature, lowercase, sorted, `;`-separated.
pub const SIGNED_HEADERS: &str = "content-type;host";
/// The credential scope terminator.
const TERMINATOR: &str = "tc3_request";

type HmacSha256 = Hmac<Sha256>;

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Header canonicalization rule of the document: value trimmed and lowercased.
fn canonical_header_value(v: &str) -> String {
    v.trim().to_ascii_lowercase()
}

/// Step 1: the canonical request of a POST with an empty query string.
pub fn canonical_request(content_type: &str, host: &str, payload: &[u8]) -> String {
    format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\n{}\n{}",
        canonical_header_value(content_type),
        canonical_header_value(host),
        SIGNED_HEADERS,
        sha256_hex(payload)
    )
}

/// UTC calendar date (`YYYY-MM-DD`) of a UNIX timestamp, as the credential scope needs.
/// Must be UTC: 1551113065 is 2019-02-26 in UTC+8 but 2019-02-25 in UTC.
pub fn utc_date(timestamp: i64) -> String {
    // Howard Hinnant's days-to-civil; exact for the whole i64 seconds range we can meet.
    let days = timestamp.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `<date>/<service>/tc3_request`.
pub fn credential_scope(date: &str, service: &str) -> String {
    format!("{date}/{service}/{TERMINATOR}")
}

/// Step 2: the string to sign.
pub fn string_to_sign(timestamp: i64, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Step 3: lowercase hex signature of `string_to_sign` with the derived key.
pub fn signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, TERMINATOR.as_bytes());
    hex::encode(hmac_sha256(&k_signing, string_to_sign.as_bytes()))
}

/// Step 4: the `Authorization` header value.
pub fn authorization(secret_id: &str, scope: &str, signature: &str) -> String {
    format!(
        "{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}"
    )
}

/// All four steps: the `Authorization` header for a JSON POST of `payload` to `host`.
pub fn sign(
    credentials: &Credentials,
    service: &str,
    host: &str,
    timestamp: i64,
    payload: &[u8],
) -> String {
    let date = utc_date(timestamp);
    let scope = credential_scope(&date, service);
    let canonical = canonical_request(CONTENT_TYPE, host, payload);
    let to_sign = string_to_sign(timestamp, &scope, &canonical);
    let sig = signature(credentials.secret.expose(), &date, service, &to_sign);
    authorization(&credentials.access_key_id, &scope, &sig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::SecretString;

    // Tencent Cloud's published worked example of signature method v3 ("签名方法 v3" /
    // "Signature v3"): DescribeInstances in ap-guangzhou, X-TC-Timestamp 1551113065, body
    // {"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}.
    //
    // Sources:
    // - The English "Signature v3" page publishes HashedRequestPayload 35e9c5b0…, the
    //   CanonicalRequest, HashedCanonicalRequest 5ffe6a04…, the StringToSign and
    //   Signature 72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168, with the
    //   SecretId masked (`AKID**********************0123456789EXAMPLE`). Tencent's official demos
    //   (github.com/TencentCloud/signature-process-demo, cvm/signature-v3/python/demo.py and
    //   java/TencentCloudAPITC3Demo.java at commit e80f75e) mask both demo keys
    //   (`AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******` / `Gu5t9xGARNpq86cd98joQYCN3*******`).
    // - Other editions of the same page print the demo keys unmasked: SecretId
    //   `AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE`, SecretKey `Gu5t9xGARNpq86cd98joQYCN3EXAMPLE`
    //   (e.g. https://www.tencentcloud.com/zh/document/product/1021/34193, and the English page's
    //   own step 3, `SecretKey = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"`), with the same Signature.
    //   With that key the published signature is reproduced below; every expected constant is
    //   copied from the documentation, none was produced by this code.
    const DOC_SECRET_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const DOC_SECRET_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    const DOC_TIMESTAMP: i64 = 1551113065;
    /// The body exactly as the document sends it: JSON with `\uXXXX` escapes for "未命名".
    const DOC_PAYLOAD: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    const DOC_HASHED_PAYLOAD: &str =
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064";
    const DOC_CANONICAL_REQUEST: &str = "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064";
    const DOC_HASHED_CANONICAL_REQUEST: &str =
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031";
    const DOC_STRING_TO_SIGN: &str = "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031";
    const DOC_SIGNATURE: &str = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168";
    const DOC_AUTHORIZATION: &str = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168";

    fn doc_credentials() -> Credentials {
        Credentials {
            access_key_id: DOC_SECRET_ID.into(),
            secret: SecretString::new(DOC_SECRET_KEY),
            project_id: None,
        }
    }

    #[test]
    fn hashed_payload_matches_the_document() {
        assert_eq!(sha256_hex(DOC_PAYLOAD.as_bytes()), DOC_HASHED_PAYLOAD);
    }

    #[test]
    fn canonical_request_matches_the_document_byte_for_byte() {
        let c = canonical_request(
            CONTENT_TYPE,
            "cvm.tencentcloudapi.com",
            DOC_PAYLOAD.as_bytes(),
        );
        assert_eq!(c, DOC_CANONICAL_REQUEST);
        assert_eq!(sha256_hex(c.as_bytes()), DOC_HASHED_CANONICAL_REQUEST);
    }

    #[test]
    fn date_is_utc_and_scope_matches_the_document() {
        // 1551113065 = 2019-02-26 00:44:25 in UTC+8, 2019-02-25 16:44:25 in UTC.
        assert_eq!(utc_date(DOC_TIMESTAMP), "2019-02-25");
        assert_eq!(
            credential_scope(&utc_date(DOC_TIMESTAMP), "cvm"),
            "2019-02-25/cvm/tc3_request"
        );
    }

    #[test]
    fn string_to_sign_matches_the_document_byte_for_byte() {
        let s = string_to_sign(
            DOC_TIMESTAMP,
            "2019-02-25/cvm/tc3_request",
            DOC_CANONICAL_REQUEST,
        );
        assert_eq!(s, DOC_STRING_TO_SIGN);
    }

    #[test]
    fn signature_matches_the_document() {
        assert_eq!(
            signature(DOC_SECRET_KEY, "2019-02-25", "cvm", DOC_STRING_TO_SIGN),
            DOC_SIGNATURE
        );
    }

    #[test]
    fn authorization_header_matches_the_document_byte_for_byte() {
        assert_eq!(
            authorization(DOC_SECRET_ID, "2019-02-25/cvm/tc3_request", DOC_SIGNATURE),
            DOC_AUTHORIZATION
        );
        // And end to end through `sign`.
        let auth = sign(
            &doc_credentials(),
            "cvm",
            "cvm.tencentcloudapi.com",
            DOC_TIMESTAMP,
            DOC_PAYLOAD.as_bytes(),
        );
        assert_eq!(auth, DOC_AUTHORIZATION);
    }

    #[test]
    fn host_is_lowercased_and_trimmed_and_keeps_its_port() {
        let a = canonical_request(CONTENT_TYPE, " CVM.TencentCloudAPI.com ", b"{}");
        let b = canonical_request(CONTENT_TYPE, "cvm.tencentcloudapi.com", b"{}");
        assert_eq!(a, b);
        let with_port = canonical_request(CONTENT_TYPE, "127.0.0.1:40123", b"{}");
        assert!(
            with_port.contains("\nhost:127.0.0.1:40123\n"),
            "{with_port}"
        );
        // A different port is a different signature: the signer must use the host:port sent.
        let c = doc_credentials();
        assert_ne!(
            sign(&c, "cvm", "127.0.0.1:40123", DOC_TIMESTAMP, b"{}"),
            sign(&c, "cvm", "127.0.0.1:40124", DOC_TIMESTAMP, b"{}")
        );
    }

    #[test]
    fn content_type_header_is_canonicalized_and_signed() {
        let c = canonical_request("Application/JSON; charset=UTF-8", "h", b"");
        assert!(
            c.starts_with("POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:h\n\ncontent-type;host\n"),
            "{c}"
        );
        // The content type is part of what is signed.
        let other = canonical_request("application/x-www-form-urlencoded", "h", b"");
        assert_ne!(sha256_hex(c.as_bytes()), sha256_hex(other.as_bytes()));
    }

    #[test]
    fn payload_is_hashed_not_embedded() {
        let body = br#"{"LoginSettings":{"Password":"S3cret!pass"}}"#;
        let c = canonical_request(CONTENT_TYPE, "h", body);
        assert!(!c.contains("S3cret"), "{c}");
        assert!(c.ends_with(&sha256_hex(body)));
        // The SHA-256 of the empty string, as for a body-less request.
        assert!(
            canonical_request(CONTENT_TYPE, "h", b"")
                .ends_with("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn utc_date_edges() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(86_399), "1970-01-01");
        assert_eq!(utc_date(86_400), "1970-01-02");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_709_164_800), "2024-02-29");
        assert_eq!(utc_date(1_735_689_599), "2024-12-31");
        assert_eq!(utc_date(-1), "1969-12-31");
    }
}
