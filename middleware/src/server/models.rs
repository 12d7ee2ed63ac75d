use axum::response::{IntoResponse, Response};

use crate::error::ProxyError;
use crate::pipeline::RequestContext;

/// `GET /v1/models`: what the caller's backends serve, under the names it
/// may ask for. Authenticated and admitted like any request of the tenant.
pub async fn list_models(ctx: RequestContext) -> Response {
    match ctx.tenant.catalog().await {
        Ok(models) => axum::Json(models).into_response(),
        Err(e) => ProxyError::from(e).into_response(),
    }
}

/// `GET /healthz`
pub async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}
