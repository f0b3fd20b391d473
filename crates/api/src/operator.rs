//! The operator's routes: health, readiness, metrics, stats.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::ApiState;

/// Alive: the process answers. Says how long it has run and what the pipeline is doing.
pub(crate) async fn health(State(state): State<ApiState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "alive",
        "phase": state.monitor.phase(),
        "uptime_seconds": state.monitor.uptime().as_secs_f64(),
    }))
}

/// Ready: 200 with every check, or 503 with every check and what is wrong.
pub(crate) async fn ready(State(state): State<ApiState>) -> Response {
    let readiness = state.monitor.readiness().await;
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness)).into_response()
}

/// The Prometheus text exposition of every metric.
pub(crate) async fn metrics(State(state): State<ApiState>) -> Response {
    state.monitor.publish_metrics();
    state.prometheus.run_upkeep();
    let body = state.prometheus.render();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Stages, counters and queue depths, for `khabar top`.
pub(crate) async fn stats(State(state): State<ApiState>) -> Json<khabar_runtime::Snapshot> {
    Json(state.monitor.snapshot())
}
