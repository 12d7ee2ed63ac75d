use axum::body::Body;
use axum::http::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::REQUEST_ID;

tokio::task_local! {
    static CURRENT: String;
}

/// Runs the rest of the request with its id in reach of error messages,
/// so that a 5xx tells the client which id to quote without passing it
/// through every function.
pub(super) async fn scope_request_id(request: Request<Body>, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    CURRENT.scope(id, next.run(request)).await
}

/// The id of the request being handled, where there is one.
pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}
