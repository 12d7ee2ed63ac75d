//! Settings of one OpenAI-compatible upstream, as written in the config file
//! (`[backends.NAME]` with `kind = "openai"`). The adapter owns them, so
//! their names and defaults exist once.
use std::time::Duration;

use serde::Deserialize;

use crate::format::PrefixFormat;
use crate::{AdapterError, ContinuationMode, ServedModel};

/// Settings of one OpenAI-compatible upstream.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenAiConfig {
    /// E.g. `http://127.0.0.1:8000/v1` (a trailing `/` is ignored).
    pub base_url: String,
    /// Environment variable holding the upstream API key: credentials never
    /// live in the file.
    pub api_key_env: Option<String>,
    /// The key itself, for programmatic use; filled from `api_key_env` when
    /// the backend is built. Never printed.
    #[serde(skip)]
    pub api_key: Option<String>,
    pub continuation: ContinuationMode,
    pub prefix_format: PrefixFormat,
    /// Content is reasoning until `</think>` (templates that open `<think>`
    /// in the prompt, on servers run without a reasoning parser).
    pub assume_open_think: bool,
    /// The routes probes use: `vllm` (default), `llamacpp` or `none`.
    pub probe: super::ProbeRoute,
    #[serde(rename = "connect_timeout_ms", with = "crate::config::millis")]
    pub connect_timeout: Duration,
    /// Until the response headers arrive (prefill of long prompts counts).
    #[serde(rename = "first_byte_timeout_ms", with = "crate::config::millis")]
    pub first_byte_timeout: Duration,
    /// Between two body chunks.
    #[serde(rename = "idle_timeout_ms", with = "crate::config::millis")]
    pub idle_timeout: Duration,
    /// The whole exchange, headers to `[DONE]`.
    #[serde(rename = "max_stream_ms", with = "crate::config::millis")]
    pub max_stream: Duration,
    /// Longest SSE line (and SSE event) accepted.
    pub max_line_bytes: usize,
    /// Largest JSON body read whole (a non-streaming answer, `/models`).
    pub max_response_bytes: usize,
    /// Retries of a request that failed before its response started
    /// (refused connection, timeout before the headers, 502/503/504); never
    /// once the client has received a byte.
    pub retries: u32,
    /// Model names this backend serves, for routing by `model`; empty: any.
    pub models: Vec<ServedModel>,
    /// Ask for usage on every chunk (`stream_options.continuous_usage_stats`,
    /// vLLM and SGLang), so reasoning is counted in real tokens even where
    /// one chunk carries several (speculative decoding, stream intervals).
    /// Off: one token a chunk, which undercounts such servers.
    pub continuous_usage_stats: bool,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        OpenAiConfig {
            base_url: "http://127.0.0.1:8000/v1".into(),
            api_key_env: None,
            api_key: None,
            continuation: ContinuationMode::default(),
            prefix_format: PrefixFormat::default(),
            assume_open_think: false,
            probe: super::ProbeRoute::default(),
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_stream: Duration::from_secs(30 * 60),
            max_line_bytes: 1024 * 1024,
            max_response_bytes: 16 * 1024 * 1024,
            retries: 0,
            models: Vec::new(),
            continuous_usage_stats: false,
        }
    }
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key_env", &self.api_key_env)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("continuation", &self.continuation)
            .field("prefix_format", &self.prefix_format)
            .field("assume_open_think", &self.assume_open_think)
            .field("probe", &self.probe)
            .field("connect_timeout", &self.connect_timeout)
            .field("first_byte_timeout", &self.first_byte_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_stream", &self.max_stream)
            .field("max_line_bytes", &self.max_line_bytes)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("retries", &self.retries)
            .field("models", &self.models)
            .field("continuous_usage_stats", &self.continuous_usage_stats)
            .finish()
    }
}

impl OpenAiConfig {
    /// A config for `base_url` with every default.
    pub fn new(base_url: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            ..OpenAiConfig::default()
        }
    }

    /// The key to send: the one set, else `api_key_env`'s value. A named
    /// variable that is unset is an error, not a silent request without a key.
    pub fn resolve_api_key(&self) -> Result<Option<String>, AdapterError> {
        if self.api_key.is_some() {
            return Ok(self.api_key.clone());
        }
        match &self.api_key_env {
            None => Ok(None),
            Some(var) => match std::env::var(var) {
                Ok(key) if !key.is_empty() => Ok(Some(key)),
                _ => Err(AdapterError::Config(format!(
                    "api_key_env names `{var}`, which is not set in the environment"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let cfg = OpenAiConfig {
            api_key: Some("sk-secret-123".into()),
            ..OpenAiConfig::default()
        };
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("sk-secret-123"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn an_unset_key_variable_is_an_error_naming_it() {
        let cfg = OpenAiConfig {
            api_key_env: Some("SELFBRAKE_TEST_SURELY_UNSET_VAR".into()),
            ..OpenAiConfig::default()
        };
        let err = cfg.resolve_api_key().unwrap_err().to_string();
        assert!(err.contains("SELFBRAKE_TEST_SURELY_UNSET_VAR"), "{err}");
    }

    #[test]
    fn millisecond_keys_become_durations() {
        let cfg: OpenAiConfig =
            serde_json::from_str(r#"{"base_url": "http://h/v1", "idle_timeout_ms": 250}"#).unwrap();
        assert_eq!(cfg.idle_timeout, Duration::from_millis(250));
        assert_eq!(cfg.first_byte_timeout, Duration::from_secs(60));
    }
}
