use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Settings of the embedded engine (`[backends.NAME]` with `kind =
/// "mistralrs"`). Defined whether or not the `embedded` feature is built, so
/// a config parses the same everywhere and a build without the engine can
/// say so by name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MistralrsConfig {
    /// A local GGUF file; tokenizer and chat template come from its metadata.
    pub gguf: PathBuf,
    /// Open the assistant turn with `<think>\n` (models without a reasoning format).
    #[serde(default)]
    pub think_prefill: bool,
    /// Most sequences the engine runs at once (the rest wait in its queue).
    #[serde(default = "default_max_num_seqs")]
    pub max_num_seqs: usize,
    /// A stream whose reader takes no event for this long is cancelled, so a
    /// stalled client cannot hold the engine.
    #[serde(
        rename = "stall_timeout_ms",
        with = "crate::config::millis",
        default = "default_stall"
    )]
    pub stall_timeout: Duration,
    /// Model names this backend answers to, for routing by `model`; empty: any.
    #[serde(default)]
    pub models: Vec<crate::ServedModel>,
}

fn default_max_num_seqs() -> usize {
    32
}

fn default_stall() -> Duration {
    Duration::from_secs(30)
}

impl MistralrsConfig {
    pub fn new(gguf: impl Into<PathBuf>) -> Self {
        MistralrsConfig {
            gguf: gguf.into(),
            think_prefill: false,
            max_num_seqs: default_max_num_seqs(),
            stall_timeout: default_stall(),
            models: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        let cfg: MistralrsConfig = serde_json::from_str(r#"{"gguf": "m.gguf"}"#).unwrap();
        assert_eq!(cfg, MistralrsConfig::new("m.gguf"));
    }
}
