//! Alibaba tag rules, checked before RunInstances so a spec the cloud would refuse gets a
//! clear `CreateRefused` condition (the CRD cannot know the cloud; see
//! `src/api/instance.rs` `tags`).
//!
//! Sources: SDK `alibabacloud-ecs20140526` 7.11.8 `RunInstancesRequestTag.key` ("N: 1 to
//! 20. The tag key cannot be an empty string. It can be up to 128 characters in length and
//! cannot start with aliyun or acs:. It cannot contain http:// or https://") and
//! `RunInstancesRequestTag.value` ("up to 128 characters ... cannot contain http:// or
//! https://"); error codes of AlibabaCloudDocs/ecs `API Reference/Instances/RunInstances.md`:
//! `InvalidTagCount`, `InvalidTagKey.Malformed`, `InvalidTagValue.Malformed`.

use std::collections::BTreeMap;

use crate::provider::Result;
/// Tags per RunInstances (`Tag.N`, N 1-20).
pub const MAX_TAGS: usize = 20;

use crate::provider::common::invalid as refuse;

fn has_url(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.contains("http://") || l.contains("https://")
}

/// Check the tags of a create (the controller's own included).
pub fn check(tags: &BTreeMap<String, String>) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(refuse(
            "InvalidTagCount",
            format!(
                "{} tags (the controller's 4 included); Alibaba Cloud accepts at most {MAX_TAGS} per instance, so at most {} in spec.tags",
                tags.len(),
                MAX_TAGS - 4
            ),
        ));
    }
    for (k, v) in tags {
        let lower = k.to_ascii_lowercase();
        if k.is_empty()
            || k.chars().count() > 128
            || lower.starts_with("aliyun")
            || lower.starts_with("acs:")
            || has_url(k)
        {
            return Err(refuse(
                "InvalidTagKey.Malformed",
                format!(
                    "tag key {k:?}: Alibaba Cloud tag keys are 1 to 128 characters, do not start with aliyun or acs: and contain no http:// or https://"
                ),
            ));
        }
        if v.chars().count() > 128 || has_url(v) {
            return Err(refuse(
                "InvalidTagValue.Malformed",
                format!(
                    "tag {k:?}: Alibaba Cloud tag values are at most 128 characters and contain no http:// or https://"
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
        assert!(check(&tags(&[("team", ""), ("project", "web")])).is_ok());
        let code = |t: &[(&str, &str)]| check(&tags(t)).unwrap_err().code;
        assert_eq!(code(&[("aliyun-x", "a")]), "InvalidTagKey.Malformed");
        assert_eq!(code(&[("ACS:x", "a")]), "InvalidTagKey.Malformed");
        assert_eq!(code(&[("see-http://x", "a")]), "InvalidTagKey.Malformed");
        let v = "v".repeat(129);
        assert_eq!(code(&[("k", &v)]), "InvalidTagValue.Malformed");
        assert_eq!(code(&[("k", "https://x")]), "InvalidTagValue.Malformed");
        let many: BTreeMap<String, String> = (0..21)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        let e = check(&many).unwrap_err();
        assert_eq!(e.code, "InvalidTagCount");
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(e.message.contains("at most 16 in spec.tags"), "{e}");
    }
}
