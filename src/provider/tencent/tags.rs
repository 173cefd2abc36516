//! Tencent tag rules, checked before RunInstances so a spec the cloud would refuse gets a
//! clear `CreateRefused` condition (the CRD cannot know the cloud; see
//! `src/api/instance.rs` `tags`).
//!
//! Sources: Tag service limits https://cloud.tencent.com/document/product/651/13354
//! ("标签键 ... 1-127 个字符", "标签值 ... 1-255 个字符" (a value may not be empty), keys
//! starting with `qcs:`, `project`, `项目` are reserved by the system, at most 50 tags per
//! resource); error codes from tencentcloud-sdk-python-cvm 3.1.178 `errorcodes.py`:
//! `FailedOperation.TagKeyReserved` ("请求中指定的标签键为系统预留标签"),
//! `FailedOperation.IllegalTagValue`, `FailedOperation.IllegalTagKey`,
//! `InvalidParameterValue.TagQuotaLimitExceeded`. Character set (same page, "字符"):
//! Chinese and English letters, digits, spaces between characters (not at either end) and
//! `+ - = . _ : / @ ( ) [ ] , ; > <` (full-width `＋ － ＝ ／ ＠ （ ） 【 】 ：` from Chinese
//! input); anything else is `IllegalTagKey` / `IllegalTagValue` ("标签键存在不合法字符").

use std::collections::BTreeMap;

use crate::provider::Result;
/// Tags per resource.
pub const MAX_TAGS: usize = 50;
/// Key prefixes the system reserves.
pub const RESERVED_PREFIXES: &[&str] = &["qcs:", "project", "项目"];

use crate::provider::common::invalid as refuse;

/// A Chinese character (CJK Unified Ideographs, their Extension A and the compatibility
/// ideographs).
pub fn is_chinese(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Tag keys and values use only the documented characters: "支持中英文字符" (Chinese and
/// English letters; not the letters of other scripts), digits 0-9, inner spaces and the
/// listed specials. (The international mirror of the page says "Characters ... represented
/// in UTF-8"; the Chinese page, updated 2026-01-14, is the narrower and newer one, and a
/// tag refused here is reported on the object instead of failing in the cloud.)
fn chars_ok(s: &str) -> bool {
    const SPECIAL: &str = "+-=._:/@()[],;><＋－＝／＠（）【】：";
    !s.starts_with(' ')
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || is_chinese(c) || c == ' ' || SPECIAL.contains(c))
}

/// Check the tags of a create (the controller's own included).
pub fn check(tags: &BTreeMap<String, String>) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(refuse(
            "InvalidParameterValue.TagQuotaLimitExceeded",
            format!(
                "{} tags (the controller's 4 included); Tencent Cloud binds at most {MAX_TAGS} to an instance",
                tags.len()
            ),
        ));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 127 {
            return Err(refuse(
                "FailedOperation.IllegalTagKey",
                format!("tag key {k:?}: Tencent Cloud tag keys are 1 to 127 characters"),
            ));
        }
        if !chars_ok(k) {
            return Err(refuse(
                "FailedOperation.IllegalTagKey",
                format!(
                    "tag key {k:?}: Tencent Cloud tag keys allow Chinese and English letters, digits, inner spaces and + - = . _ : / @ ( ) [ ] , ; > < only"
                ),
            ));
        }
        if let Some(p) = RESERVED_PREFIXES.iter().find(|p| k.starts_with(*p)) {
            return Err(refuse(
                "FailedOperation.TagKeyReserved",
                format!("tag key {k:?}: keys starting with {p:?} are reserved by Tencent Cloud"),
            ));
        }
        if v.is_empty() || v.chars().count() > 255 {
            return Err(refuse(
                "FailedOperation.IllegalTagValue",
                format!(
                    "tag {k:?}: Tencent Cloud tag values are 1 to 255 characters (an empty value is not allowed)"
                ),
            ));
        }
        if !chars_ok(v) {
            return Err(refuse(
                "FailedOperation.IllegalTagValue",
                format!(
                    "tag {k:?}: Tencent Cloud tag values allow letters, digits, inner spaces and + - = . _ : / @ ( ) [ ] , ; > < only"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ErrorKind;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn documented_limits() {
        assert!(check(&tags(&[("team", "web")])).is_ok());
        let code = |t: &[(&str, &str)]| check(&tags(t)).unwrap_err().code;
        assert_eq!(code(&[("team", "")]), "FailedOperation.IllegalTagValue");
        assert_eq!(code(&[("projectx", "a")]), "FailedOperation.TagKeyReserved");
        assert_eq!(code(&[("项目组", "a")]), "FailedOperation.TagKeyReserved");
        assert_eq!(code(&[("qcs:x", "a")]), "FailedOperation.TagKeyReserved");
        let long = "k".repeat(128);
        assert_eq!(code(&[(&long, "a")]), "FailedOperation.IllegalTagKey");
        let v = "v".repeat(256);
        assert_eq!(code(&[("k", &v)]), "FailedOperation.IllegalTagValue");
        // Character set: Chinese and English letters, digits, inner spaces, the listed
        // specials; letters of other scripts are not documented.
        for other in ["ñandú", "Привет", "サーバー", "서버", "café"] {
            assert_eq!(
                code(&[("team", other)]),
                "FailedOperation.IllegalTagValue",
                "{other}"
            );
            assert_eq!(
                code(&[(other, "a")]),
                "FailedOperation.IllegalTagKey",
                "{other}"
            );
        }
        assert!(
            check(&tags(&[
                ("环境 名", "生产【a】"),
                ("cloudinstance-uid", "0f-9a")
            ]))
            .is_ok()
        );
        assert!(check(&tags(&[("a.b_c:d/e@f", "(x)[y],z;>< +-=")])).is_ok());
        assert_eq!(code(&[("team#", "a")]), "FailedOperation.IllegalTagKey");
        assert_eq!(code(&[(" team", "a")]), "FailedOperation.IllegalTagKey");
        assert_eq!(code(&[("team", "a*b")]), "FailedOperation.IllegalTagValue");
        assert_eq!(code(&[("team", "web ")]), "FailedOperation.IllegalTagValue");
        let many: BTreeMap<String, String> = (0..51)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert_eq!(
            check(&many).unwrap_err().code,
            "InvalidParameterValue.TagQuotaLimitExceeded"
        );
        assert_eq!(check(&many).unwrap_err().kind, ErrorKind::InvalidRequest);
    }
}
