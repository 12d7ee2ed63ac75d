use std::sync::Arc;

use tokio::sync::Semaphore;

use super::ready::Readiness;
use crate::gateway::{Gateway, SharedGateway};
use crate::metrics::Metrics;

/// Shared by every handler. The gateway is swapped atomically by a config
/// reload while requests in flight keep their own copy; metrics and limiter
/// state outlive reloads.
#[derive(Clone)]
pub struct AppState {
    pub gateways: SharedGateway,
    pub metrics: Metrics,
    /// `server.max_concurrent_streams` slots, fixed at start.
    pub streams: Arc<Semaphore>,
    /// The last check of each backend, shared by `/readyz` probes.
    pub readiness: Arc<Readiness>,
}

impl AppState {
    pub fn new(gateway: Gateway) -> Self {
        Self::with_metrics(gateway, Metrics::new())
    }

    pub fn with_metrics(gateway: Gateway, metrics: Metrics) -> Self {
        Self {
            streams: Arc::new(Semaphore::new(gateway.server.max_concurrent_streams)),
            gateways: SharedGateway::new(gateway),
            metrics,
            readiness: Arc::default(),
        }
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
