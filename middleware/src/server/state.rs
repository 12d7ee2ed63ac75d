use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::gateway::Gateway;
use crate::limits::Limits;
use crate::metrics::Metrics;

/// Shared by every handler. The gateway sits behind an `ArcSwap` so a config
/// reload swaps it atomically while requests in flight keep their own copy;
/// metrics and limiter state outlive reloads.
#[derive(Clone)]
pub struct AppState {
    gateway: Arc<ArcSwap<Gateway>>,
    pub metrics: Metrics,
    pub limits: Limits,
}

impl AppState {
    pub fn new(gateway: Gateway) -> Self {
        Self::with_metrics(gateway, Metrics::new())
    }

    pub fn with_metrics(gateway: Gateway, metrics: Metrics) -> Self {
        Self {
            gateway: Arc::new(ArcSwap::from_pointee(gateway)),
            metrics,
            limits: Limits::default(),
        }
    }

    /// The gateway a new request runs under.
    pub fn gateway(&self) -> Arc<Gateway> {
        self.gateway.load_full()
    }

    /// Makes `gateway` serve new requests; requests in flight finish under the old one.
    pub fn replace(&self, gateway: Gateway) {
        self.gateway.store(Arc::new(gateway));
    }
}
