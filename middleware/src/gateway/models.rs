use std::sync::Arc;
use std::time::{Duration, Instant};

use selfbrake_adapters::{AdapterError, Backend};
use serde_json::Value;
use tokio::sync::Mutex;

/// How long a backend's model list is reused.
pub const MODELS_TTL: Duration = Duration::from_secs(5);

/// A backend's `GET /models`, fetched at most once per [`MODELS_TTL`]
/// whatever the number of clients asking: a client polling `/v1/models`
/// cannot turn into one upstream request per call.
pub struct ModelsCache {
    backend: Arc<dyn Backend>,
    ttl: Duration,
    last: Mutex<Option<(Instant, Value)>>,
}

impl ModelsCache {
    pub fn new(backend: Arc<dyn Backend>, ttl: Duration) -> Self {
        ModelsCache {
            backend,
            ttl,
            last: Mutex::new(None),
        }
    }

    /// The list, from the cache while fresh. Callers wait on one fetch
    /// rather than each making their own.
    pub async fn get(&self) -> Result<Value, AdapterError> {
        let mut last = self.last.lock().await;
        if let Some((at, models)) = &*last {
            if at.elapsed() < self.ttl {
                return Ok(models.clone());
            }
        }
        let models = self.backend.models().await?;
        *last = Some((Instant::now(), models.clone()));
        Ok(models)
    }
}
