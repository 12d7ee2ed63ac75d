use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use selfbrake_policies::RuleSpec;

use super::body::read_limited;
use super::coalesce::Coalesce;
use super::observe::{Observed, RequestTags};
use super::AppState;
use crate::config::PolicyConfig;
use crate::error::ProxyError;
use crate::metrics::BackendLabels;
use crate::rewrite::{ChatRequest, CompletionBuilder, SseEncoder};
use crate::session::{self, SessionContext, SessionEvent};

/// Header a request uses to pick one of its tenant's allowed policies.
pub const POLICY_HEADER: &str = "x-selfbrake-policy";

/// `POST /v1/chat/completions`
pub async fn chat_completions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut tags = RequestTags {
        tenant: "unknown".into(),
        policy: "unknown".into(),
    };
    match handle(&state, &mut tags, headers, body).await {
        Ok(response) => response,
        Err(error) => {
            state
                .metrics
                .request(&tags.tenant, &tags.policy, "rejected");
            error.into_response()
        }
    }
}

async fn handle(
    state: &AppState,
    tags: &mut RequestTags,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ProxyError> {
    let setup_started = Instant::now();
    let gateway = state.gateway();
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let tenant = gateway
        .tenants
        .resolve(header_str(header::AUTHORIZATION.as_str()))?;
    tags.tenant = tenant.name.clone();
    let (policy_name, mut policy) = gateway.policy(tenant, header_str(POLICY_HEADER))?;
    tags.policy = policy_name.clone();
    let admission = state.limits.admit(tenant)?;
    if let Some(length) =
        header_str(header::CONTENT_LENGTH.as_str()).and_then(|l| l.parse::<usize>().ok())
    {
        if length > gateway.server.max_body_bytes {
            return Err(ProxyError::BodyTooLarge {
                limit: gateway.server.max_body_bytes,
            });
        }
    }
    let bytes = read_limited(body, gateway.server.max_body_bytes).await?;
    let mut request = ChatRequest::parse(&bytes)?;
    if let Some(prompt) = &policy.system_prompt {
        request.inject_system_prompt(prompt);
    }
    if let Some(max) = tenant.max_reasoning_tokens {
        policy = with_ceiling(&policy, max);
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
    let setup = setup_started.elapsed();
    let upstream_started = Instant::now();
    let events = session::start(ctx).await?;
    state
        .metrics
        .upstream_first_byte
        .get_or_create(&BackendLabels {
            backend: tenant.backend.clone(),
        })
        .observe(upstream_started.elapsed().as_secs_f64());
    let tags = std::mem::replace(
        tags,
        RequestTags {
            tenant: String::new(),
            policy: String::new(),
        },
    );
    if request.stream {
        let mut encoder = SseEncoder::new(reasoning_field, model.as_deref());
        let encode = move |event| Ok::<_, Infallible>(encoder.encode(event));
        let body = Observed::new(
            events,
            encode,
            state.metrics.clone(),
            tags,
            admission,
            setup,
        );
        return Ok((
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
                (header::HeaderName::from_static("x-accel-buffering"), "no"),
            ],
            Body::from_stream(Coalesce::new(body)),
        )
            .into_response());
    }
    let mut builder = CompletionBuilder::new(reasoning_field, model.as_deref());
    let events = Observed::new(
        events,
        |e: SessionEvent| e,
        state.metrics.clone(),
        tags,
        admission,
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
        Ok(completion) => axum::Json(completion).into_response(),
        Err(error) => error.into_response(),
    })
}

/// The policy plus the tenant's reasoning ceiling, which no policy or request lifts.
fn with_ceiling(policy: &PolicyConfig, max: u64) -> Arc<PolicyConfig> {
    let mut capped = policy.clone();
    capped.rules.push(RuleSpec::Budget {
        max_reasoning_tokens: max,
        min_tokens: 0,
    });
    Arc::new(capped)
}
