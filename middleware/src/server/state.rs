use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::ready::Readiness;
use crate::gateway::{Gateway, SharedGateway};
use crate::metrics::Metrics;

/// Shared by every handler. The gateway is swapped atomically by a config
/// reload while requests in flight keep their own copy; metrics and limiter
/// state outlive reloads. One `Arc`: every request clones the state (axum's
/// `State`), and a clone of four `Arc`s was four atomic increments and four
/// decrements on cache lines that every worker thread touches.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares.
pub struct Shared {
    pub gateways: SharedGateway,
    pub metrics: Metrics,
    /// `server.max_concurrent_streams` slots, fixed at start.
    pub streams: Arc<Semaphore>,
    /// The last check of each backend, shared by `/readyz` probes.
    pub readiness: Readiness,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(gateway: Gateway) -> Self {
        Self::with_metrics(gateway, Metrics::new())
    }

    pub fn with_metrics(gateway: Gateway, metrics: Metrics) -> Self {
        Self(Arc::new(Shared {
            streams: Arc::new(Semaphore::new(gateway.server.max_concurrent_streams)),
            gateways: SharedGateway::new(gateway),
            metrics,
            readiness: Readiness::default(),
        }))
    }

    /// The gateway a new request runs under.
    pub fn gateway(&self) -> Arc<Gateway> {
        self.gateways.current()
    }

    /// Makes `gateway` serve new requests; requests in flight finish under the old one.
    pub fn replace(&self, gateway: Gateway) {
        self.gateways.replace(gateway);
    }
}
