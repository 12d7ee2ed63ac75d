//! Per-request token counting inside the engine's sampler.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ::mistralrs::{CustomLogitsProcessor, Tensor};

/// Counts the tokens the engine samples for one request (and for the
/// backend): its logits processor runs once per sampled token.
#[derive(Clone)]
pub(super) struct TokenCounter {
    mine: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

impl TokenCounter {
    pub fn new(total: Arc<AtomicU64>) -> Self {
        TokenCounter {
            mine: Arc::new(AtomicU64::new(0)),
            total,
        }
    }

    pub fn count(&self) -> u64 {
        self.mine.load(Ordering::Relaxed)
    }

    pub fn processor(&self) -> Arc<dyn CustomLogitsProcessor> {
        let counter = self.clone();
        Arc::new(
            move |logits: &Tensor, _context: &[u32]| -> ::mistralrs::Result<Tensor> {
                counter.mine.fetch_add(1, Ordering::Relaxed);
                counter.total.fetch_add(1, Ordering::Relaxed);
                Ok(logits.clone())
            },
        )
    }
}
