use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderName, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::chat::chat_completions;
use super::models::{healthz, list_models};
use super::AppState;
use crate::error::ProxyError;

/// Every response carries this header, and every log line of the request its value.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// All of selfbrake's routes. Unknown routes and methods get OpenAI error bodies.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(list_models))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|uri: axum::http::Uri| async move { ProxyError::NotFound(format!("no route for {uri}")) })
        .method_not_allowed_fallback(|| async { ProxyError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(state.clone(), limit_headers))
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path())
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Refuses oversized headers before any handler reads them.
async fn limit_headers(
    State(state): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let limit = state.gateway().server.max_header_bytes;
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if size > limit {
        return ProxyError::HeadersTooLarge { limit }.into_response();
    }
    next.run(request).await
}

/// `GET /metrics`, Prometheus text format.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
