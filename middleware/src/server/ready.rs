//! `GET /readyz`: whether this replica can serve its tenants now, for a
//! load balancer or a Kubernetes readiness probe (which carry no key, so
//! it is neither authenticated nor counted against any tenant).
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use selfbrake_adapters::{AdapterError, Backend};
use serde_json::json;
use tokio::sync::Mutex;

use super::AppState;
use crate::gateway::Gateway;

/// How long a backend's last check answers probes. Probes more frequent
/// than this (several load balancers, a tight `periodSeconds`) cost the
/// backend nothing more.
const CHECK_TTL: Duration = Duration::from_secs(2);

/// A check slower than this counts as unreachable: a probe must answer
/// within the prober's own timeout (Kubernetes: 1 s by default, often raised).
const CHECK_TIMEOUT: Duration = Duration::from_millis(1500);

/// The last check of each backend, by name. The backend instance is kept
/// with it so that a reload that rebuilds a backend is checked afresh.
#[derive(Default)]
pub struct Readiness {
    checks: Mutex<BTreeMap<String, Check>>,
}

struct Check {
    backend: Arc<dyn Backend>,
    at: Instant,
    /// `None` when the backend answered; else why not, without its URL.
    problem: Option<String>,
}

impl Readiness {
    /// Each backend some tenant uses, checked at most once per [`CHECK_TTL`]
    /// however many probes come in: concurrent probes wait for the check in
    /// flight and share its result. Returns the unreachable ones, by name.
    pub async fn unreachable(&self, gateway: &Gateway) -> BTreeMap<String, String> {
        let mut backends: BTreeMap<&str, &Arc<dyn Backend>> = BTreeMap::new();
        for tenant in gateway.tenants.iter() {
            for upstream in tenant.upstreams() {
                backends.insert(&upstream.name, &upstream.backend);
            }
        }
        let mut checks = self.checks.lock().await;
        checks.retain(|name, _| backends.contains_key(name.as_str()));
        let stale: Vec<(&str, &Arc<dyn Backend>)> = backends
            .into_iter()
            .filter(|&(name, backend)| {
                checks.get(name).is_none_or(|c| {
                    c.at.elapsed() >= CHECK_TTL || !Arc::ptr_eq(&c.backend, backend)
                })
            })
            .collect();
        let results = futures::future::join_all(
            stale
                .iter()
                .map(|(name, backend)| check(name, backend.as_ref())),
        )
        .await;
        for ((name, backend), problem) in stale.into_iter().zip(results) {
            let check = Check {
                backend: backend.clone(),
                at: Instant::now(),
                problem,
            };
            checks.insert(name.to_string(), check);
        }
        checks
            .iter()
            .filter_map(|(name, c)| Some((name.clone(), c.problem.clone()?)))
            .collect()
    }
}

/// One backend's model list, within [`CHECK_TIMEOUT`]. An embedded engine
/// answers from memory: it is ready once loaded, which the gateway's build
/// already waited for.
async fn check(name: &str, backend: &dyn Backend) -> Option<String> {
    let problem = match tokio::time::timeout(CHECK_TIMEOUT, backend.models()).await {
        Ok(Ok(_)) => return None,
        Err(_) => format!("no answer within {} ms", CHECK_TIMEOUT.as_millis()),
        Ok(Err(e)) => {
            tracing::warn!(backend = %name, error = %e, "readiness: backend unreachable");
            summary(&e)
        }
    };
    Some(problem)
}

/// What a probe may tell anyone who asks: the kind of failure, never the
/// backend's address or its error body.
fn summary(error: &AdapterError) -> String {
    match error {
        AdapterError::Connect(_) => "unreachable".into(),
        AdapterError::Timeout(_) => "timed out".into(),
        AdapterError::Status { status, .. } => format!("answered HTTP {status}"),
        AdapterError::Protocol(_) | AdapterError::Closed(_) => "sent an invalid answer".into(),
        AdapterError::Unsupported(_) | AdapterError::Config(_) | AdapterError::Internal(_) => {
            "cannot list its models".into()
        }
    }
}

/// `GET /readyz`: 200 `{"status": "ready"}` when the config is loaded and
/// every tenant's backend answers; otherwise 503 with the backends that
/// do not, e.g. `{"status": "unready", "unreachable": {"gpu": "unreachable"}}`.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let gateway = state.gateway();
    let unreachable = state.readiness.unreachable(&gateway).await;
    if unreachable.is_empty() {
        return axum::Json(json!({"status": "ready"})).into_response();
    }
    let body = json!({"status": "unready", "unreachable": unreachable});
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}
