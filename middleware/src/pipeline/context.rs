use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::REQUEST_ID;
use crate::error::ProxyError;
use crate::gateway::{Gateway, Policy, Tenant};
use tokio::sync::OwnedSemaphorePermit;

use crate::server::AppState;
use selfbrake_limits::{Admission, TenantLimits};

/// Header a request uses to pick one of its tenant's allowed policies.
pub const POLICY_HEADER: &str = "x-selfbrake-policy";

/// Who a request is and what it may do, decided before its body is read.
/// Handlers take it as an extractor; a refusal is the OpenAI error response,
/// counted in the metrics as `rejected`.
pub struct RequestContext {
    /// The `x-request-id` the response carries.
    pub id: String,
    /// The config the request runs under, to its end (reloads don't change it).
    pub gateway: Arc<Gateway>,
    pub tenant: Arc<Tenant>,
    pub policy: Arc<Policy>,
    /// The server's and the tenant's slots, held until the response is done.
    pub admission: Admitted,
    pub received: Instant,
}

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = ProxyError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ProxyError> {
        let received = Instant::now();
        let gateway = state.gateway();
        let mut labels = ("unknown".to_string(), "unknown".to_string());
        let result = admit(state, &gateway, &parts.headers, &mut labels).await;
        match result {
            Ok((tenant, policy, admission)) => Ok(RequestContext {
                id: header(&parts.headers, REQUEST_ID.as_str())
                    .unwrap_or("-")
                    .to_string(),
                gateway,
                tenant,
                policy,
                admission,
                received,
            }),
            Err(error) => {
                state.metrics.request(&labels.0, &labels.1, "rejected");
                Err(error)
            }
        }
    }
}

/// The request's `Authorization`, or else its `x-api-key` (how Anthropic
/// clients send their key) read as a bearer token.
fn credentials(headers: &HeaderMap) -> Option<std::borrow::Cow<'_, str>> {
    if let Some(authorization) = header(headers, header::AUTHORIZATION.as_str()) {
        return Some(authorization.into());
    }
    header(headers, "x-api-key").map(|key| format!("Bearer {key}").into())
}

/// Authenticate → pick the policy → admit. `labels` (tenant, policy) is
/// filled as far as the request got, for the metrics of a refusal.
async fn admit(
    state: &AppState,
    gateway: &Gateway,
    headers: &HeaderMap,
    labels: &mut (String, String),
) -> Result<(Arc<Tenant>, Arc<Policy>, Admitted), ProxyError> {
    let tenant = gateway.tenants.resolve(credentials(headers).as_deref())?;
    labels.0.clone_from(&tenant.name);
    let policy = tenant.policy(header(headers, POLICY_HEADER))?;
    labels.1.clone_from(&policy.name);
    // Shed load before the tenant's own limits count the request.
    let stream = state
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| ProxyError::Overloaded {
            retry_after: OVERLOAD_RETRY,
        })?;
    let limits = TenantLimits {
        requests_per_minute: tenant.config.requests_per_minute,
        max_concurrent_requests: tenant.config.max_concurrent_requests,
    };
    let errors_before = gateway.limiter.store_errors();
    let tenant_slot = gateway.limiter.admit(&tenant.name, limits).await;
    let store_errors = gateway.limiter.store_errors() - errors_before;
    if store_errors > 0 {
        state.metrics.limits_store_errors.inc_by(store_errors);
    }
    let tenant_slot = tenant_slot.map_err(ProxyError::from)?;
    Ok((
        tenant,
        policy,
        Admitted {
            _tenant: tenant_slot,
            _stream: stream,
        },
    ))
}

/// What a shed client is told to wait.
const OVERLOAD_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// A request's slots: one of the server's `max_concurrent_streams` and the
/// tenant's concurrency slot. Both are released when it drops.
#[derive(Debug)]
pub struct Admitted {
    _tenant: Admission,
    _stream: OwnedSemaphorePermit,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
