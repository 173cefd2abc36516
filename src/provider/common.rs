//! Helpers every cloud client shares: request-side validation, tokens, RFC 3986 encoding
//! and the token-driven paging loop. Cloud-specific knowledge stays in the cloud modules;
//! what lives here is the same for all three clouds.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::future::Future;

use super::{ErrorKind, ProviderError, Result};

/// A request the caller must fix; never retried.
pub fn invalid(code: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, code, message)
}

/// Refuses a batch longer than the cloud's `limit` before anything is sent. `message`
/// gets the number of ids and words the refusal the cloud's way.
pub fn check_batch(
    ids: &[String],
    limit: usize,
    code: &str,
    message: impl FnOnce(usize) -> String,
) -> Result<()> {
    if ids.len() > limit {
        return Err(invalid(code, message(ids.len())));
    }
    Ok(())
}

/// 32 random hex digits: nonces and per-call idempotency tokens.
pub fn random_hex() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Everything except the RFC 3986 unreserved characters is encoded.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// RFC 3986 percent-encoding (only `A-Z a-z 0-9 - _ . ~` stay literal), as the Alibaba
/// and Huawei signature documents require it.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// How a token-paged listing ended.
pub enum PagesEnd {
    /// The last page had no (or an empty, or an unchanged) next token.
    Done,
    /// `max_pages` pages were read and the cloud still had a next token.
    TooManyPages,
}

/// Reads pages with a next token until the cloud gives none: `fetch(token)` returns one
/// page's items and its next token. An empty token or one that does not move (which would
/// loop forever) ends the loop, as does `max_pages`.
pub async fn token_pages<T, F, Fut>(max_pages: usize, mut fetch: F) -> Result<(Vec<T>, PagesEnd)>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>)>>,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..max_pages {
        let (items, next) = fetch(token.clone()).await?;
        out.extend(items);
        match next.filter(|t| !t.is_empty()) {
            Some(t) if token.as_ref() != Some(&t) => token = Some(t),
            _ => return Ok((out, PagesEnd::Done)),
        }
    }
    Ok((out, PagesEnd::TooManyPages))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_limit() {
        let ids: Vec<String> = (0..3).map(|i| i.to_string()).collect();
        let e = check_batch(&ids, 2, "TooMany", |n| format!("{n} ids")).unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_str()),
            (ErrorKind::InvalidRequest, "TooMany")
        );
        assert!(check_batch(&ids, 3, "TooMany", |n| format!("{n} ids")).is_ok());
    }

    #[test]
    fn rfc3986() {
        assert_eq!(percent_encode("a b*~/"), "a%20b%2A~%2F");
        assert_eq!(random_hex().len(), 32);
    }

    #[tokio::test]
    async fn pages_stop_on_empty_or_repeated_token() {
        let (v, end) = token_pages(10, |t| async move {
            Ok(match t.as_deref() {
                None => (vec![1], Some("a".to_owned())),
                Some("a") => (vec![2], Some("a".to_owned())),
                _ => unreachable!(),
            })
        })
        .await
        .unwrap();
        assert_eq!(v, vec![1, 2]);
        assert!(matches!(end, PagesEnd::Done));
        let (_, end) = token_pages(2, |t| async move {
            Ok((vec![0], Some(format!("{}x", t.unwrap_or_default()))))
        })
        .await
        .unwrap();
        assert!(matches!(end, PagesEnd::TooManyPages));
    }
}
