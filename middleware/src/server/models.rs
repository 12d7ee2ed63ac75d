use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::ProxyError;

/// `GET /v1/models`: what the caller's backend serves.
pub async fn list_models(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let gateway = state.gateway();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let result = async {
        let tenant = gateway.tenants.resolve(auth)?;
        let backend = gateway.backend(tenant)?;
        Ok::<_, ProxyError>(backend.models().await?)
    }
    .await;
    match result {
        Ok(models) => axum::Json(models).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /healthz`
pub async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}
