use std::time::Duration;

use selfbrake_adapters::openai::OpenAiConfig;
use selfbrake_adapters::{ContinuationMode, PrefixFormat};
use serde::Deserialize;

/// A named backend (`[backends.NAME]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackendConfig {
    /// Any OpenAI-compatible server over HTTP.
    Openai(OpenAiBackendConfig),
    /// The embedded mistral.rs engine.
    Mistralrs(MistralrsBackendConfig),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiBackendConfig {
    pub base_url: String,
    /// Environment variable holding the upstream API key: credentials never live in the file.
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default)]
    pub continuation: ContinuationMode,
    #[serde(default)]
    pub prefix_format: PrefixFormat,
    /// The chat template opens `<think>` itself and the server has no
    /// reasoning parser: content is reasoning until `</think>`.
    #[serde(default)]
    pub assume_open_think: bool,
    #[serde(default = "default_connect_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_first_byte_ms")]
    pub first_byte_timeout_ms: u64,
    #[serde(default = "default_idle_ms")]
    pub idle_timeout_ms: u64,
    #[serde(default = "default_max_stream_ms")]
    pub max_stream_ms: u64,
    /// Retries of a request that failed before its response started
    /// (refused connection, timeout before the headers, 502/503/504); never
    /// once the client has received a byte.
    #[serde(default)]
    pub retries: u32,
}

fn default_connect_ms() -> u64 {
    10_000
}
fn default_first_byte_ms() -> u64 {
    60_000
}
fn default_idle_ms() -> u64 {
    60_000
}
fn default_max_stream_ms() -> u64 {
    30 * 60_000
}

impl OpenAiBackendConfig {
    /// The adapter's config; reads the API key from the environment.
    pub fn adapter_config(&self) -> OpenAiConfig {
        OpenAiConfig {
            base_url: self.base_url.clone(),
            api_key: self
                .api_key_env
                .as_ref()
                .and_then(|var| std::env::var(var).ok()),
            continuation: self.continuation,
            prefix_format: self.prefix_format,
            assume_open_think: self.assume_open_think,
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            first_byte_timeout: Duration::from_millis(self.first_byte_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            max_stream: Duration::from_millis(self.max_stream_ms),
            ..OpenAiConfig::default()
        }
    }
}

/// The embedded mistral.rs engine (`kind = "mistralrs"`; needs a build
/// with the `embedded` feature).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MistralrsBackendConfig {
    /// A local GGUF file (tokenizer and chat template from its metadata).
    pub gguf: String,
    /// Open the assistant turn with `<think>\n`, for models without a reasoning format.
    #[serde(default)]
    pub think_prefill: bool,
    /// Most sequences the engine runs at once; more requests wait in its queue.
    #[serde(default = "default_max_num_seqs")]
    pub max_num_seqs: usize,
    /// A stream the client does not read for this long is cancelled, so a
    /// stalled client cannot hold the engine.
    #[serde(default = "default_stall_ms")]
    pub stall_timeout_ms: u64,
}

fn default_max_num_seqs() -> usize {
    selfbrake_adapters::embedded_defaults::MAX_NUM_SEQS
}
fn default_stall_ms() -> u64 {
    selfbrake_adapters::embedded_defaults::STALL_TIMEOUT_MS
}

impl MistralrsBackendConfig {
    /// A backend for `gguf` with the defaults.
    pub fn new(gguf: impl Into<String>) -> Self {
        MistralrsBackendConfig {
            gguf: gguf.into(),
            think_prefill: false,
            max_num_seqs: default_max_num_seqs(),
            stall_timeout_ms: default_stall_ms(),
        }
    }
}
