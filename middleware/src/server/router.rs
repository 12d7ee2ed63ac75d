use axum::routing::{get, post};
use axum::Router;

use super::chat::chat_completions;
use super::models::{healthz, list_models};
use super::AppState;
use crate::error::ProxyError;

/// All of selfbrake's routes. Unknown routes and methods get OpenAI error bodies.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(list_models))
        .route("/healthz", get(healthz))
        .fallback(|uri: axum::http::Uri| async move { ProxyError::NotFound(format!("no route for {uri}")) })
        .method_not_allowed_fallback(|| async { ProxyError::MethodNotAllowed })
        .with_state(state)
}
