use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use subtle::ConstantTimeEq;

use super::chat::chat_completions;
use super::models::{healthz, list_models};
use super::passthrough::passthrough;
use super::ready::readyz;
use super::AppState;
use crate::error::ProxyError;
use crate::pipeline::request_layers;

/// All of selfbrake's routes, behind the request pipeline's layers. Unknown
/// routes and methods get OpenAI error bodies.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/responses", post(super::responses::responses))
        .route("/v1/models", get(list_models))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(guarded_metrics))
        // Everything else is the tenant's backend's, unbraked.
        .fallback(passthrough)
        .method_not_allowed_fallback(|| async { ProxyError::MethodNotAllowed });
    request_layers(routes, state)
}

/// The admin listener's routes (`server.admin_listen`, loopback by
/// default): `/metrics` without credentials, `/healthz` and `/readyz`.
pub fn admin_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// `GET /metrics` on the main listener: it lists every tenant's traffic,
/// so it answers only with `server.metrics_token` (401 without it), and not
/// at all (404) when no token is configured.
async fn guarded_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let gateway = state.gateway();
    let Some(token) = &gateway.server.metrics_token else {
        return ProxyError::NotFound("no route for /metrics (see server.admin_listen)".into())
            .into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let matches = given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(token.as_bytes())));
    if !matches {
        return ProxyError::Unauthorized.into_response();
    }
    metrics(State(state)).await.into_response()
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
