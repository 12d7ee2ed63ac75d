use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::gateway::Gateway;

/// Shared by every handler. The gateway sits behind an `ArcSwap` so a config
/// reload swaps it atomically while requests in flight keep their own copy.
#[derive(Clone)]
pub struct AppState {
    gateway: Arc<ArcSwap<Gateway>>,
}

impl AppState {
    pub fn new(gateway: Gateway) -> Self {
        Self {
            gateway: Arc::new(ArcSwap::from_pointee(gateway)),
        }
    }

    /// The gateway a new request runs under.
    pub fn gateway(&self) -> Arc<Gateway> {
        self.gateway.load_full()
    }

    /// Makes `gateway` serve new requests.
    pub fn replace(&self, gateway: Gateway) {
        self.gateway.store(Arc::new(gateway));
    }
}
