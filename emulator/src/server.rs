//! HTTP server: one port for every cloud plus the `/_emulator/` control API.
//!
//! Requests are routed to a cloud module by [`classify`]. Adding a cloud is a new
//! [`Route`] variant, a rule in [`classify`], an arm in [`dispatch`] and one in
//! [`provider_state_name`].

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

use crate::app::Shared;
use crate::config::Provider;
use crate::http::{ConnControl, is_form, query_and_form_pairs};
use crate::store::VmState;
use crate::{alibaba, control, huawei, tencent};

/// Largest request body accepted (Tencent signature v3 allows 10 MB).
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// Which cloud API a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Tencent,
    Alibaba,
    Huawei,
    Unknown,
}

/// Decide which cloud a request is for.
///
/// * Tencent API 3.0 signature v3: an `X-TC-Action` header.
/// * Tencent signature v1: `Action` and `SecretId` query/form parameters.
pub fn classify(parts: &Parts, body: &[u8]) -> Route {
    if parts.headers.contains_key("x-tc-action") {
        return Route::Tencent;
    }
    let pairs = query_and_form_pairs(parts, body);
    let has = |k: &str| pairs.iter().any(|(n, _)| n == k);
    if has("Action") && has("SecretId") {
        return Route::Tencent;
    }
    // Huawei: REST paths under /v1/, /v1.1/, /v2/, /v2.1/.
    if huawei::matches(parts) {
        return Route::Huawei;
    }
    // Alibaba RPC: `Action` + `AccessKeyId` (signature V2) or an ACS3 signature (V3).
    if alibaba::matches(parts, &pairs) {
        return Route::Alibaba;
    }
    Route::Unknown
}

/// How each cloud names a cloud-neutral state (the control API shows both).
pub fn provider_state_name(provider: Provider, state: VmState) -> String {
    match provider {
        Provider::Tencent => tencent::state_name(state).to_string(),
        Provider::Alibaba => alibaba::state_name(state).to_string(),
        Provider::Huawei => huawei::state_name(state).to_string(),
    }
}

async fn dispatch(State(app): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large or unreadable",
            )
                .into_response();
        }
    };
    let route = classify(&parts, &body);
    record_request(&app, route, &parts, &body);
    // A cloud keeps working on a request it has accepted when the client goes away (a
    // timeout, a crash): the call runs in a task of its own, which a closed connection
    // does not cancel. A request held by a `latency_ms` fault therefore still takes effect
    // after the client gave up on it, as on a real cloud.
    let call = tokio::spawn(async move {
        match route {
            Route::Tencent => tencent::handle(app, parts, body).await,
            Route::Alibaba => alibaba::handle(app, parts, body).await,
            Route::Huawei => huawei::handle(app, parts, body).await,
            Route::Unknown => not_found(&parts, &body),
        }
    });
    match call.await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!("request handler failed: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "emulator handler failed").into_response()
        }
    }
}

/// Add a cloud API request to the request log (`GET /_emulator/requests`), secrets removed.
fn record_request(app: &Shared, route: Route, parts: &Parts, body: &[u8]) {
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let form: Vec<(String, String)> = if is_form(parts) {
        form_urlencoded::parse(body).into_owned().collect()
    } else {
        Vec::new()
    };
    let param = |name: &str| {
        query
            .iter()
            .chain(form.iter())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let (cloud, action) = match route {
        Route::Tencent => (
            Provider::Tencent,
            header("x-tc-action").or_else(|| param("Action")),
        ),
        Route::Alibaba => (
            Provider::Alibaba,
            header("x-acs-action").or_else(|| param("Action")),
        ),
        Route::Huawei => (
            Provider::Huawei,
            huawei::resolve(&parts.method, parts.uri.path(), body).map(|r| r.action),
        ),
        Route::Unknown => return,
    };
    let json = if body.is_empty() || is_form(parts) {
        None
    } else {
        serde_json::from_slice(body).ok()
    };
    let entry = crate::calls::RecordedRequest::new(
        cloud,
        &action.unwrap_or_default(),
        parts.method.as_str(),
        parts.uri.path(),
        query,
        form,
        json,
        &parts.headers,
    );
    app.calls().requests.push(entry);
}

fn not_found(parts: &Parts, _body: &Bytes) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "error": "no emulated cloud API matches this request",
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
        })),
    )
        .into_response()
}

pub fn router(app: Shared) -> Router {
    Router::new()
        .nest("/_emulator", control::routes())
        .fallback(dispatch)
        .with_state(app)
}

/// Accept connections forever (HTTP/1.1, keep-alive).
pub async fn serve(listener: TcpListener, router: Router) {
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        tokio::spawn(async move {
            let notify = Arc::new(Notify::new());
            let ctl = ConnControl(notify.clone());
            let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ctl.clone());
                let router = router.clone();
                async move {
                    let resp: Result<Response, Infallible> =
                        router.oneshot(req.map(Body::new)).await;
                    resp
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                r = conn => {
                    if let Err(e) = r {
                        tracing::debug!("connection ended with error: {e}");
                    }
                }
                _ = notify.notified() => {
                    tracing::debug!("connection dropped by fault injection");
                }
            }
        });
    }
}
