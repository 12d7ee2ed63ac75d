//! One backend as routing sees it: the models it serves and how busy it is.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use selfbrake_adapters::{Backend, ServedModel};

use super::{ModelsCache, MODELS_TTL};

/// A configured backend, shared by every tenant that uses it, so that its
/// count of requests in flight covers all of them.
pub struct Upstream {
    /// Its name in the config (for metrics and logs).
    pub name: String,
    pub backend: Arc<dyn Backend>,
    /// What it serves; empty: whatever model a request names.
    pub served: Vec<ServedModel>,
    /// Its `GET /models`, fetched at most once per [`MODELS_TTL`].
    pub models: ModelsCache,
    in_flight: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("name", &self.name)
            .field("served", &self.served)
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

impl Upstream {
    pub fn new(name: String, backend: Arc<dyn Backend>, served: Vec<ServedModel>) -> Self {
        Upstream {
            models: ModelsCache::new(backend.clone(), MODELS_TTL),
            name,
            backend,
            served,
            in_flight: Arc::default(),
        }
    }

    /// Requests on this backend now, from every tenant.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Counts a request as in flight until the guard is dropped (hold it
    /// for as long as the response body lives).
    pub fn begin(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.in_flight.clone())
    }

    /// The name to send upstream for a client's `model`, if this backend
    /// lists it.
    pub fn upstream_name(&self, model: &str) -> Option<&str> {
        self.served
            .iter()
            .find(|m| m.name() == model)
            .map(ServedModel::upstream)
    }

    /// Whether this backend lists no models, and so takes any.
    pub fn serves_any(&self) -> bool {
        self.served.is_empty()
    }
}

/// One request in flight on an [`Upstream`].
#[derive(Debug)]
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
