//! A backend as the config file names it (`[backends.NAME]`, tagged by
//! `kind`), and the one place that turns it into a running [`Backend`].
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::mistralrs::MistralrsConfig;
use crate::openai::{OpenAiBackend, OpenAiConfig};
use crate::{AdapterError, Backend, Retry};

/// First wait before a retry; each later one doubles it.
const RETRY_BACKOFF: Duration = Duration::from_millis(200);

/// A named backend (`[backends.NAME]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackendConfig {
    /// Any OpenAI-compatible server over HTTP.
    Openai(OpenAiConfig),
    /// The embedded mistral.rs engine (needs the `embedded` feature).
    Mistralrs(MistralrsConfig),
}

impl BackendConfig {
    /// The model names the backend serves, as routing sees them; empty: any.
    pub fn models(&self) -> &[crate::ServedModel] {
        match self {
            BackendConfig::Openai(cfg) => &cfg.models,
            BackendConfig::Mistralrs(cfg) => &cfg.models,
        }
    }

    /// Builds the backend. An embedded engine is loaded here (seconds, on
    /// the calling thread); an OpenAI backend only checks its settings.
    pub fn build(&self) -> Result<Arc<dyn Backend>, AdapterError> {
        match self {
            BackendConfig::Openai(cfg) => {
                let backend = OpenAiBackend::new(cfg.clone())?;
                Ok(match cfg.retries {
                    0 => Arc::new(backend),
                    n => Arc::new(Retry::new(Arc::new(backend), n, RETRY_BACKOFF)),
                })
            }
            #[cfg(feature = "embedded")]
            BackendConfig::Mistralrs(cfg) => crate::mistralrs::shared_backend(cfg),
            #[cfg(not(feature = "embedded"))]
            BackendConfig::Mistralrs(_) => Err(AdapterError::Config(
                "this build has no embedded engine (build with `--features embedded`)".into(),
            )),
        }
    }
}

/// Durations written as whole milliseconds.
pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
