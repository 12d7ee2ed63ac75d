use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::StreamExt;
use serde_json::Value;

use super::coalesce::Coalesce;
use super::observe::{Observed, Observer, Observing, RequestTags};
use super::open::{open, Opened};
use super::passthrough::passthrough;
use super::watched::Watched;
use super::{AppState, ConnectionWatch};
use crate::error::ProxyError;
use crate::pipeline::{read_body, RequestContext};
use crate::rewrite::responses::{to_chat, ResponseState, ResponsesEncoder};
use crate::rewrite::{outcome_headers, ChatRequest};
use crate::session::SessionEvent;

/// `POST /v1/responses`: braked like a chat request where the request is
/// stateless and tool-free (see `rewrite::responses`); otherwise passed
/// through to the backend's own Responses API, unbraked.
pub async fn responses(
    State(state): State<AppState>,
    ctx: RequestContext,
    watch: Option<Extension<ConnectionWatch>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let server = &ctx.gateway.server;
    let read = tokio::time::timeout(
        Duration::from_millis(server.body_read_timeout_ms),
        read_body(&parts.headers, body, server.max_body_bytes),
    )
    .await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => return error.into_response(),
        Err(_) => return ProxyError::RequestTimeout.into_response(),
    };
    let chat = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(body)) => to_chat(&body),
        _ => None,
    };
    let Some(chat) = chat else {
        let request = Request::from_parts(parts, Body::from(bytes));
        return passthrough(ctx, request).await;
    };
    let tags = RequestTags {
        tenant: ctx.tenant.name.clone(),
        policy: ctx.policy.name.clone(),
        received: ctx.received,
    };
    let max = Duration::from_millis(server.max_request_ms);
    let watch = watch.map(|Extension(w)| w.request(max));
    let request = match ChatRequest::from_value(Value::Object(chat)) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let opened = match open(&state, &ctx, &parts.headers, request).await {
        Ok(opened) => opened,
        Err(error) => {
            state
                .metrics
                .request(&tags.tenant, &tags.policy, "rejected");
            state
                .metrics
                .finished(&tags.tenant, "rejected", tags.received.elapsed());
            return error.into_response();
        }
    };
    let Opened {
        events,
        policy,
        model,
        stream,
        setup,
        ..
    } = opened;
    let tags = RequestTags {
        tenant: tags.tenant,
        policy: policy.name.clone(),
        received: tags.received,
    };
    let policy_header =
        HeaderValue::from_str(&policy.name).unwrap_or(HeaderValue::from_static("unknown"));
    if stream {
        let mut encoder = ResponsesEncoder::new(model.as_deref());
        let observer = Observer::new(state.metrics.clone(), tags, ctx.admission, setup);
        let encode = Observing::new(observer, move |event: SessionEvent, batch: &mut String| {
            encoder.encode_into(event, batch)
        });
        let body = Watched::new(Coalesce::new(events, encode), watch);
        return (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                (crate::rewrite::headers::POLICY, policy_header),
            ],
            Body::new(body),
        )
            .into_response();
    }
    // Held to the end: the total deadline covers a non-streaming reply too.
    let _watch = watch;
    let observer = Observer::new(state.metrics.clone(), tags, ctx.admission, setup);
    let events = Observed::new(events, observer);
    let mut events = std::pin::pin!(events);
    let mut response = ResponseState::new(model.as_deref());
    while let Some(event) = events.next().await {
        if let Err(error) = response.push(event) {
            return error.into_response();
        }
    }
    match response.finish() {
        Ok(object) => {
            let mut reply = axum::Json(&object).into_response();
            outcome_headers(&object["selfbrake"], reply.headers_mut());
            reply
        }
        Err(error) => error.into_response(),
    }
}
