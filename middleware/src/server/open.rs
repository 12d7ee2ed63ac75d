//! The part of a braked request that every API shares: the tenant's rules
//! applied to the chat request, the policy picked, the session started on
//! a backend that serves the model.
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use futures::stream::BoxStream;
use futures::StreamExt;
use selfbrake_adapters::{BackendEvent, Propagation};
use serde_json::{Map, Value};

use super::AppState;
use crate::error::ProxyError;
use crate::gateway::{fail_over, InFlight, Policy};
use crate::metrics::BackendLabels;
use crate::pipeline::{RequestContext, POLICY_HEADER};
use crate::rewrite::{apply_tenant_rules, take_reasoning_budget, ChatRequest};
use crate::session::{self, SessionContext, SessionEvent};

/// A started session and what the response encoders need to know.
pub(super) struct Opened {
    pub events: BoxStream<'static, SessionEvent>,
    pub policy: Arc<Policy>,
    /// The model name the client asked for (and sees).
    pub model: Option<String>,
    pub stream: bool,
    /// The client asked for the usage chunk (`stream_options.include_usage`).
    pub include_usage: bool,
    /// From the request's arrival to the session's start.
    pub setup: Duration,
}

/// Tenant rules → budget → policy → braking prompt → session. Errors here
/// come before the client got a byte, so they become an HTTP status.
pub(super) async fn open(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    mut request: ChatRequest,
) -> Result<Opened, ProxyError> {
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
    let include_usage = request
        .body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let model = request.model().map(str::to_string);
    tracing::debug!(tenant = %ctx.tenant.name, policy = %policy.name, stream = request.stream, "braked request");
    let setup = ctx.received.elapsed();
    let (events, in_flight) = open_session(
        state,
        ctx,
        &policy,
        request.body,
        model.as_deref(),
        reasoning_budget,
        headers,
    )
    .await?;
    // The backend counts the request as in flight for as long as its events
    // flow; the client sees the model name it asked for, not an alias's
    // upstream name.
    let client_model = model.clone();
    let events = events
        .map(move |mut event| {
            let _ = &in_flight;
            if let (SessionEvent::Delta(BackendEvent::Meta { model, .. }), Some(asked)) =
                (&mut event, &client_model)
            {
                model.clone_from(asked);
            }
            event
        })
        .boxed();
    Ok(Opened {
        events,
        policy,
        model,
        stream: request.stream,
        include_usage,
        setup,
    })
}

/// Starts the session on the least busy backend of the tenant that serves
/// `model`, failing over to the next one when a backend cannot be reached
/// or does not answer before its first byte (nothing was sent yet).
async fn open_session(
    state: &AppState,
    ctx: &RequestContext,
    policy: &Arc<Policy>,
    request: Map<String, Value>,
    model: Option<&str>,
    reasoning_budget: Option<u64>,
    headers: &HeaderMap,
) -> Result<
    (
        impl futures::Stream<Item = SessionEvent> + Send + 'static,
        InFlight,
    ),
    ProxyError,
> {
    let routes = ctx.tenant.routes(model)?;
    fail_over(routes, |route| {
        let mut body = request.clone();
        route.apply(&mut body);
        let backend = route.upstream.clone();
        let context = SessionContext {
            backend: backend.backend.clone(),
            policy: policy.clone(),
            request: body,
            reasoning_budget,
            propagation: Propagation::from_client(headers),
        };
        async move {
            let started = std::time::Instant::now();
            let events = session::start(context).await?;
            state
                .metrics
                .upstream_first_byte
                .get_or_create(&BackendLabels {
                    backend: backend.name.clone(),
                })
                .observe(started.elapsed().as_secs_f64());
            Ok(events)
        }
    })
    .await
}
