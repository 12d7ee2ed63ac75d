use std::convert::Infallible;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::body::read_limited;
use super::AppState;
use crate::error::ProxyError;
use crate::rewrite::{ChatRequest, CompletionBuilder, SseEncoder};
use crate::session::{self, SessionContext};

/// Header a request uses to pick one of its tenant's allowed policies.
pub const POLICY_HEADER: &str = "x-selfbrake-policy";

/// `POST /v1/chat/completions`
pub async fn chat_completions(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match handle(state, headers, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn handle(state: AppState, headers: HeaderMap, body: Body) -> Result<Response, ProxyError> {
    let gateway = state.gateway();
    let header_str = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let tenant = gateway.tenants.resolve(header_str(header::AUTHORIZATION.as_str()))?;
    let (policy_name, policy) = gateway.policy(tenant, header_str(POLICY_HEADER))?;
    if let Some(length) = header_str(header::CONTENT_LENGTH.as_str()).and_then(|l| l.parse::<usize>().ok()) {
        if length > gateway.server.max_body_bytes {
            return Err(ProxyError::BodyTooLarge { limit: gateway.server.max_body_bytes });
        }
    }
    let bytes = read_limited(body, gateway.server.max_body_bytes).await?;
    let mut request = ChatRequest::parse(&bytes)?;
    if let Some(prompt) = &policy.system_prompt {
        request.inject_system_prompt(prompt);
    }
    let backend = gateway.backend(tenant)?;
    let reasoning_field = gateway.server.reasoning_field;
    let model = request.model().map(str::to_string);
    tracing::debug!(tenant = %tenant.name, policy = %policy_name, stream = request.stream, "chat request");
    let ctx = SessionContext {
        backend,
        policy_name,
        policy,
        request: request.body,
    };
    let events = session::start(ctx).await?;
    if request.stream {
        let mut encoder = SseEncoder::new(reasoning_field, model.as_deref());
        let body = Body::from_stream(events.map(move |event| Ok::<_, Infallible>(encoder.encode(event))));
        return Ok((
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
                (header::HeaderName::from_static("x-accel-buffering"), "no"),
            ],
            body,
        )
            .into_response());
    }
    let mut builder = CompletionBuilder::new(reasoning_field, model.as_deref());
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        builder.push(event)?;
    }
    Ok(axum::Json(builder.finish()?).into_response())
}
