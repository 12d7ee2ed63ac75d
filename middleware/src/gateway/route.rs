//! Which backend a request goes to: routing by `model` over the tenant's
//! backends, the least busy first, the others kept for failover.
use std::future::Future;
use std::sync::Arc;

use super::{InFlight, Tenant, Upstream};
use crate::error::ProxyError;

/// One backend a request may go to, and the model name to send it.
#[derive(Debug, Clone)]
pub struct Route {
    pub upstream: Arc<Upstream>,
    /// The upstream's name for the model, where it differs from what the
    /// client asked for (an alias); `None`: send the request's as it is.
    pub rename: Option<String>,
}

impl Route {
    /// Puts the upstream's model name into a request body.
    pub fn apply(&self, body: &mut serde_json::Map<String, serde_json::Value>) {
        if let Some(name) = &self.rename {
            body.insert("model".into(), serde_json::Value::String(name.clone()));
        }
    }
}

impl Tenant {
    /// The backends that serve `model`, fewest requests in flight first
    /// (config order among equals): those that list it, else those that list
    /// nothing and take any model. None: 404 `model_not_found`, as OpenAI
    /// answers. A request without a model may go to any of them.
    pub fn routes(&self, model: Option<&str>) -> Result<Vec<Route>, ProxyError> {
        let upstreams = self.upstreams();
        let mut routes: Vec<Route> = match model {
            None => upstreams.iter().map(|u| route(u, None)).collect(),
            Some(model) => {
                let listed: Vec<Route> = upstreams
                    .iter()
                    .filter_map(|u| {
                        let upstream = u.upstream_name(model)?;
                        Some(route(u, (upstream != model).then(|| upstream.to_string())))
                    })
                    .collect();
                if listed.is_empty() {
                    upstreams
                        .iter()
                        .filter(|u| u.serves_any())
                        .map(|u| route(u, None))
                        .collect()
                } else {
                    listed
                }
            }
        };
        if routes.is_empty() {
            return Err(ProxyError::ModelNotFound(
                model.unwrap_or_default().to_string(),
            ));
        }
        routes.sort_by_key(|r| r.upstream.in_flight());
        Ok(routes)
    }
}

fn route(upstream: &Arc<Upstream>, rename: Option<String>) -> Route {
    Route {
        upstream: upstream.clone(),
        rename,
    }
}

/// Tries `routes` in order until one answers: a refused connection or a
/// timeout before the first byte (nothing was sent to the client yet) moves
/// on to the next; any other error, or the last route's, is the answer.
/// Each attempt holds the backend's in-flight count, returned with its
/// result so the caller keeps it for as long as the response lives.
pub async fn fail_over<T, F, Fut>(
    routes: Vec<Route>,
    mut attempt: F,
) -> Result<(T, InFlight), ProxyError>
where
    F: FnMut(&Route) -> Fut,
    Fut: Future<Output = Result<T, ProxyError>>,
{
    let mut routes = routes.into_iter().peekable();
    while let Some(route) = routes.next() {
        let in_flight = route.upstream.begin();
        match attempt(&route).await {
            Ok(answer) => return Ok((answer, in_flight)),
            Err(error) if routes.peek().is_some() && fails_over(&error) => {
                tracing::warn!(backend = %route.upstream.name, error = %error, "backend failed before its first byte; failing over");
            }
            Err(error) => return Err(error),
        }
    }
    Err(ProxyError::Internal("no backend to route to".into()))
}

/// Whether a failure on one backend lets the request try the next: it never
/// reached the engine (refused connection) or got no answer in time before
/// its first byte, so nothing was sent to the client yet.
fn fails_over(error: &ProxyError) -> bool {
    matches!(
        error,
        ProxyError::Upstream(
            selfbrake_adapters::AdapterError::Connect(_)
                | selfbrake_adapters::AdapterError::Timeout(_)
        )
    )
}
