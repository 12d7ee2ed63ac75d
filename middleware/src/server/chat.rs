use axum::body::Body;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::StreamExt;

use super::coalesce::Coalesce;
use super::observe::{Observed, Observer, Observing, RequestTags};
use super::open::{open, Opened};
use super::trailers::{accepts_trailers, announcement, OutcomeSlot, WithTrailers};
use super::watched::Watched;
use super::{AppState, ConnectionWatch, RequestWatch};
use crate::error::ProxyError;
use crate::pipeline::{read_body, RequestContext};
use crate::rewrite::{outcome_headers, ChatRequest, CompletionBuilder, SseEncoder};
use crate::session::SessionEvent;

/// `POST /v1/chat/completions`: the braked route.
pub async fn chat_completions(
    State(state): State<AppState>,
    ctx: RequestContext,
    watch: Option<Extension<ConnectionWatch>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let tags = RequestTags {
        tenant: ctx.tenant.name.clone(),
        policy: ctx.policy.name.clone(),
        received: ctx.received,
    };
    let max = Duration::from_millis(ctx.gateway.server.max_request_ms);
    let watch = watch.map(|Extension(w)| w.request(max));
    match serve(&state, ctx, &headers, body, &tags, watch).await {
        Ok(response) => response,
        Err(error) => {
            state
                .metrics
                .request(&tags.tenant, &tags.policy, "rejected");
            state
                .metrics
                .finished(&tags.tenant, "rejected", tags.received.elapsed());
            error.into_response()
        }
    }
}

/// Body → request → session → response. Errors before the session's first
/// event become an HTTP status; later ones end the response (see `Observed`).
async fn serve(
    state: &AppState,
    ctx: RequestContext,
    headers: &HeaderMap,
    body: Body,
    tags: &RequestTags,
    watch: Option<RequestWatch>,
) -> Result<Response, ProxyError> {
    let server = &ctx.gateway.server;
    let read_timeout = Duration::from_millis(server.body_read_timeout_ms);
    let bytes = tokio::time::timeout(
        read_timeout,
        read_body(headers, body, server.max_body_bytes),
    )
    .await
    .map_err(|_| ProxyError::RequestTimeout)??;
    let request = ChatRequest::parse(&bytes)?;
    let Opened {
        events,
        policy,
        model,
        stream,
        include_usage,
        setup,
    } = open(state, &ctx, headers, request).await?;
    let reasoning_field = server.reasoning_field;
    let tags = RequestTags {
        tenant: tags.tenant.clone(),
        policy: policy.name.clone(),
        received: tags.received,
    };
    let metrics = state.metrics.clone();
    let policy_name = policy.name.clone();
    if stream {
        let mut encoder =
            SseEncoder::new(reasoning_field, model.as_deref()).usage_chunk(include_usage);
        // Only a client that takes trailers gets the outcome kept for them.
        let slot = accepts_trailers(headers).then(OutcomeSlot::default);
        let outcome = slot.clone();
        let observer = Observer::new(metrics, tags, ctx.admission, setup);
        let encode = Observing::new(observer, move |event: SessionEvent, batch: &mut String| {
            if let Some(outcome) = &outcome {
                outcome.record(&event);
            }
            encoder.encode_into(event, batch)
        });
        // Outermost, so it sees only the polls of the connection itself.
        let body = Watched::new(Coalesce::new(events, encode), watch);
        let mut response = (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
                (header::HeaderName::from_static("x-accel-buffering"), "no"),
            ],
            [(
                crate::rewrite::headers::POLICY,
                header::HeaderValue::from_str(&policy_name)
                    .unwrap_or(header::HeaderValue::from_static("unknown")),
            )],
        )
            .into_response();
        if let Some(slot) = slot {
            let (name, value) = announcement();
            response.headers_mut().insert(name, value);
            *response.body_mut() = Body::new(WithTrailers::new(body, slot));
        } else {
            *response.body_mut() = Body::new(body);
        }
        return Ok(response);
    }
    let mut builder = CompletionBuilder::new(reasoning_field, model.as_deref());
    // Held to the end: the total deadline covers a non-streaming reply too.
    let _watch = watch;
    let events = Observed::new(events, Observer::new(metrics, tags, ctx.admission, setup));
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        // Counted as `failed` by `Observed` already, so not passed up as a rejection.
        if let Err(error) = builder.push(event) {
            return Ok(error.into_response());
        }
    }
    Ok(match builder.finish() {
        Ok(completion) => {
            let mut response = axum::Json(&completion).into_response();
            outcome_headers(&completion["selfbrake"], response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    })
}
