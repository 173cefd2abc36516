//! HTTP endpoints: `/metrics`, `/healthz`, `/readyz`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::metrics::Metrics;

/// Shared with the server: metrics and readiness.
#[derive(Clone)]
pub struct ServerState {
    pub metrics: Arc<Metrics>,
    /// True once the controller is running (and, with leader election, whatever the role).
    pub ready: Arc<AtomicBool>,
}

async fn metrics(
    State(s): State<ServerState>,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    (
        StatusCode::OK,
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

/// `ok`, with the process id in `X-Process-Id` so a script or test waiting for this
/// endpoint can tell it reached the process it started, not another one on the port.
async fn healthz() -> impl axum::response::IntoResponse {
    (
        [("x-process-id", std::process::id().to_string())],
        healthz_body().await,
    )
}

async fn healthz_body() -> &'static str {
    "ok"
}

async fn readyz(State(s): State<ServerState>) -> (StatusCode, &'static str) {
    if s.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// Bind and serve; returns the bound address (port 0 picks one).
pub async fn serve(addr: SocketAddr, state: ServerState) -> std::io::Result<SocketAddr> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server failed");
        }
    });
    Ok(bound)
}
