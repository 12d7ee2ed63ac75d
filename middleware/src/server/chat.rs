use axum::body::Body;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::StreamExt;

use super::coalesce::Coalesce;
use super::observe::{Observed, RequestTags};
use super::watched::Watched;
use super::{AppState, ConnectionWatch, RequestWatch};
use crate::error::ProxyError;
use crate::metrics::BackendLabels;
use crate::pipeline::{read_body, RequestContext, POLICY_HEADER};
use crate::rewrite::{
    apply_tenant_rules, outcome_headers, take_reasoning_budget, ChatRequest, CompletionBuilder,
    SseEncoder,
};
use crate::session::{self, SessionContext, SessionEvent};

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
    };
    let max = Duration::from_millis(ctx.gateway.server.max_request_ms);
    let watch = watch.map(|Extension(w)| w.request(max));
    match serve(&state, ctx, &headers, body, &tags, watch).await {
        Ok(response) => response,
        Err(error) => {
            state
                .metrics
                .request(&tags.tenant, &tags.policy, "rejected");
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
    let mut request = ChatRequest::parse(&bytes)?;
    apply_tenant_rules(&mut request.body, &ctx.tenant.config)?;
    let reasoning_budget = take_reasoning_budget(&mut request.body);
    // `reasoning_effort` picks the policy the tenant maps it to, unless the
    // request named one with the policy header.
    let policy = match request
        .body
        .get("reasoning_effort")
        .and_then(|e| e.as_str())
    {
        Some(effort) if !headers.contains_key(POLICY_HEADER) => ctx
            .tenant
            .effort_policy(effort)
            .unwrap_or_else(|| ctx.policy.clone()),
        _ => ctx.policy.clone(),
    };
    if let Some(prompt) = &policy.config.system_prompt {
        request.inject_system_prompt(prompt);
    }
    let reasoning_field = server.reasoning_field;
    let include_usage = request
        .body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let model = request.model().map(str::to_string);
    tracing::debug!(tenant = %ctx.tenant.name, policy = %policy.name, stream = request.stream, "chat request");
    let setup = ctx.received.elapsed();
    let upstream_started = std::time::Instant::now();
    let events = session::start(SessionContext {
        backend: ctx.tenant.backend.clone(),
        policy: policy.clone(),
        request: request.body,
        reasoning_budget,
    })
    .await?;
    state
        .metrics
        .upstream_first_byte
        .get_or_create(&BackendLabels {
            backend: ctx.tenant.backend_name.clone(),
        })
        .observe(upstream_started.elapsed().as_secs_f64());
    let tags = RequestTags {
        tenant: tags.tenant.clone(),
        policy: policy.name.clone(),
    };
    let metrics = state.metrics.clone();
    let policy_name = policy.name.clone();
    if request.stream {
        let mut encoder =
            SseEncoder::new(reasoning_field, model.as_deref()).usage_chunk(include_usage);
        let events = Observed::new(
            events,
            |e: SessionEvent| e,
            metrics,
            tags,
            ctx.admission,
            setup,
        );
        let encode = move |event, batch: &mut String| encoder.encode_into(event, batch);
        // Outermost, so it sees only the polls of the connection itself.
        let body = Watched::new(Coalesce::new(events, encode), watch);
        return Ok((
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
            Body::from_stream(body),
        )
            .into_response());
    }
    let mut builder = CompletionBuilder::new(reasoning_field, model.as_deref());
    // Held to the end: the total deadline covers a non-streaming reply too.
    let _watch = watch;
    let events = Observed::new(
        events,
        |e: SessionEvent| e,
        metrics,
        tags,
        ctx.admission,
        setup,
    );
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
