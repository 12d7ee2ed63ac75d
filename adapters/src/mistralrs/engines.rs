//! Embedded engines, loaded once per process and model: backends on the
//! same GGUF file share one engine (and its queue), and a config reload
//! reuses it. An engine that no config uses any more is dropped by
//! [`retain`].
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use super::{MistralrsBackend, MistralrsConfig};
use crate::{AdapterError, Backend};

/// Keyed by what an engine is built from.
type Key = (PathBuf, usize);
type Engines = Mutex<HashMap<Key, Arc<MistralrsBackend>>>;

static ENGINES: OnceLock<Engines> = OnceLock::new();

fn engines() -> std::sync::MutexGuard<'static, HashMap<Key, Arc<MistralrsBackend>>> {
    ENGINES
        .get_or_init(Engines::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// A backend for `cfg` on its file's engine, loaded on first use. Loading
/// blocks for seconds: call it from a blocking thread (config building
/// does), never from a runtime worker. The load runs on a runtime of its own.
pub fn shared_backend(cfg: &MistralrsConfig) -> Result<Arc<dyn Backend>, AdapterError> {
    let key = (cfg.gguf.clone(), cfg.max_num_seqs);
    let existing = engines().get(&key).cloned();
    let engine = match existing {
        Some(engine) => engine,
        None => {
            // Only what the engine is keyed on: `think_prefill` and the
            // stall timeout belong to each backend's `variant` below.
            let engine_cfg = MistralrsConfig {
                max_num_seqs: cfg.max_num_seqs,
                ..MistralrsConfig::new(cfg.gguf.clone())
            };
            let loaded = std::thread::scope(|s| {
                s.spawn(|| {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| AdapterError::Internal(format!("runtime: {e}")))?;
                    rt.block_on(MistralrsBackend::load(engine_cfg))
                })
                .join()
                .unwrap_or_else(|_| Err(AdapterError::Internal("the model loader panicked".into())))
            })?;
            let engine = Arc::new(loaded);
            engines().entry(key).or_insert(engine).clone()
        }
    };
    Ok(Arc::new(
        engine.variant(cfg.think_prefill, cfg.stall_timeout),
    ))
}

/// Drops every engine whose (file, sequences) no config in `keep` uses, so
/// a reload that removes an embedded backend frees its memory.
pub fn retain(keep: &[&MistralrsConfig]) {
    engines().retain(|(gguf, seqs), _| {
        keep.iter()
            .any(|cfg| &cfg.gguf == gguf && cfg.max_num_seqs == *seqs)
    });
}

/// Tokens sampled by every embedded engine of this process so far,
/// counted inside the engines (for tests and diagnostics).
pub fn generated_tokens() -> u64 {
    engines().values().map(|e| e.generated_tokens()).sum()
}
