//! HTTP helpers the cloud modules share: request parameters, headers, and closing a
//! connection without an answer. The cloud modules use these, never [`crate::server`]
//! (which routes to them), so the dependency points one way: server → clouds → http.

use std::sync::Arc;

use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

/// Query string pairs, plus the body's pairs when it is `application/x-www-form-urlencoded`.
pub fn query_and_form_pairs(parts: &Parts, body: &[u8]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    if is_form(parts) {
        pairs.extend(form_urlencoded::parse(body).into_owned());
    }
    pairs
}

pub fn is_form(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// A header's value, with bytes that are not UTF-8 replaced (the signature checks then fail
/// on them as the real clouds do).
pub fn header_str(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Every value of a repeated header, each as by [`header_str`].
pub fn header_values(parts: &Parts, name: &str) -> Vec<String> {
    parts
        .headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

/// Per-connection handle that lets a handler close its connection without answering
/// (fault injection `drop_connection`).
#[derive(Clone)]
pub struct ConnControl(pub(crate) Arc<Notify>);

/// Close the connection the request arrived on without answering. When the request came
/// through [`serve`] the connection is gone before this returns (the answer goes nowhere;
/// the wait only ends the handler's task); otherwise answers 503.
pub async fn drop_connection(parts: &Parts) -> Response {
    if let Some(ConnControl(n)) = parts.extensions.get::<ConnControl>() {
        n.notify_one();
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "connection dropped by fault injection",
    )
        .into_response()
}
