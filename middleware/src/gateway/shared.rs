use std::sync::Arc;

use arc_swap::ArcSwap;

use super::Gateway;

/// The gateway that new requests run under, swapped atomically by a reload
/// while requests in flight keep the one they started with.
#[derive(Clone)]
pub struct SharedGateway(Arc<ArcSwap<Gateway>>);

impl SharedGateway {
    pub fn new(gateway: Gateway) -> Self {
        SharedGateway(Arc::new(ArcSwap::from_pointee(gateway)))
    }

    /// The gateway a new request runs under.
    pub fn current(&self) -> Arc<Gateway> {
        self.0.load_full()
    }

    /// Makes `gateway` serve new requests; requests in flight finish under the old one.
    pub fn replace(&self, gateway: Gateway) {
        self.0.store(Arc::new(gateway));
    }
}
