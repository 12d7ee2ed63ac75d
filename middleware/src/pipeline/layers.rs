use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::error::ProxyError;
use crate::server::AppState;

/// Every response carries this header, and every log line of the request its value.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps `routes` in the steps every request takes before a handler:
/// oversized headers refused (431), a request id set (or the client's
/// kept) and returned, and a trace span that every log line of the
/// request carries.
pub fn request_layers(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit_headers,
        ))
        .with_state(state)
        .layer(axum::middleware::from_fn(
            super::request_id::scope_request_id,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(axum::middleware::from_fn(super::trace::trace_request))
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
