//! The `openai` adapter: any OpenAI-compatible server over HTTP (vLLM,
//! SGLang, llama.cpp server, ...).
//!
//! `stream` POSTs `{base_url}/chat/completions` with the client's body
//! (unknown keys kept), always with `"stream": true` and
//! `"stream_options": {"include_usage": true}`. Errors:
//! - connection refused / unreachable → `Connect`;
//! - no response headers within `first_byte_timeout`, no body bytes within
//!   `idle_timeout`, or the whole exchange longer than `max_stream` →
//!   `Timeout`;
//! - non-2xx → `Status` (body truncated to [`ERROR_BODY_LIMIT`] bytes);
//! - bad SSE, invalid JSON in a data line, a line over `max_line_bytes`, an
//!   in-stream error object → `Protocol`;
//! - the body ends (or the connection breaks) before `data: [DONE]` →
//!   `Closed`.
//!
//! A 2xx `application/json` answer (a server that ignored `stream`) is
//! turned into the same events. After an error item the stream ends. The stream reads the response only
//! when polled (no spawned task): dropping it closes the connection.
//!
//! Reasoning is normalised (see `normalise`): `delta.reasoning`,
//! `delta.reasoning_content` and inline `<think>...</think>` all become
//! `Reasoning` events. For templates that open `<think>` themselves, set
//! `assume_open_think` (see `think`).
//!
//! A continuation's output is checked for an echo of the prefix that was
//! sent, which is removed (see `crate::echo`): llama.cpp's server repeats a
//! prefilled assistant message, other servers do not.

mod fallback;
mod fast;
mod http;
mod normalise;
mod request;
mod sse;
mod stream;
mod think;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::{AdapterError, Backend, Continuation, ContinuationMode, EventStream, PrefixFormat};
use http::{check_status, error_text, is_json, send};

pub use normalise::{parse_usage, Normaliser};
pub use request::{continuation_body, prefix, stream_body};
pub use sse::{SseDecoder, SseError, SseEvent};
pub use think::{Piece, ThinkSplitter};

pub use http::ERROR_BODY_LIMIT;

/// Settings of one OpenAI-compatible upstream.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// E.g. `http://127.0.0.1:8000/v1` (a trailing `/` is ignored).
    pub base_url: String,
    /// Sent as `Authorization: Bearer`.
    pub api_key: Option<String>,
    pub continuation: ContinuationMode,
    pub prefix_format: PrefixFormat,
    /// Content is reasoning until `</think>` (templates that open `<think>`
    /// in the prompt, on servers run without a reasoning parser).
    pub assume_open_think: bool,
    pub connect_timeout: Duration,
    /// Until the response headers arrive (prefill of long prompts counts).
    pub first_byte_timeout: Duration,
    /// Between two body chunks.
    pub idle_timeout: Duration,
    /// The whole exchange, headers to `[DONE]`.
    pub max_stream: Duration,
    /// Longest SSE line accepted.
    pub max_line_bytes: usize,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        OpenAiConfig {
            base_url: "http://127.0.0.1:8000/v1".into(),
            api_key: None,
            continuation: ContinuationMode::default(),
            prefix_format: PrefixFormat::default(),
            assume_open_think: false,
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_stream: Duration::from_secs(30 * 60),
            max_line_bytes: 1024 * 1024,
        }
    }
}

/// An OpenAI-compatible backend.
#[derive(Debug, Clone)]
pub struct OpenAiBackend {
    cfg: OpenAiConfig,
    client: reqwest::Client,
    base: String,
}

impl OpenAiBackend {
    pub fn new(cfg: OpenAiConfig) -> Result<Self, AdapterError> {
        let base = cfg.base_url.trim_end_matches('/').to_string();
        reqwest::Url::parse(&base)
            .map_err(|e| AdapterError::Internal(format!("invalid base_url {base:?}: {e}")))?;
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .build()
            .map_err(|e| AdapterError::Internal(format!("http client: {e}")))?;
        Ok(OpenAiBackend { cfg, client, base })
    }

    pub fn config(&self) -> &OpenAiConfig {
        &self.cfg
    }

    fn with_auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cfg.api_key {
            Some(key) => rb.bearer_auth(key),
            None => rb,
        }
    }

    async fn post_stream(
        &self,
        body: Map<String, Value>,
        norm: Normaliser,
    ) -> Result<EventStream, AdapterError> {
        let start = tokio::time::Instant::now();
        let url = format!("{}/chat/completions", self.base);
        tracing::debug!(%url, "upstream chat request");
        let rb = self.with_auth(self.client.post(&url).json(&body));
        let first = self.cfg.first_byte_timeout.min(self.cfg.max_stream);
        let resp = send(rb, first).await?;
        let resp = check_status(resp, self.cfg.first_byte_timeout).await?;
        if is_json(&resp) {
            return self.json_answer(resp, norm).await;
        }
        let limits = stream::Limits {
            idle: self.cfg.idle_timeout,
            deadline: start + self.cfg.max_stream,
            max_stream: self.cfg.max_stream,
            max_line: self.cfg.max_line_bytes,
        };
        Ok(stream::events(resp, limits, norm))
    }

    /// A server that ignored `stream: true` (see `fallback`).
    async fn json_answer(
        &self,
        resp: reqwest::Response,
        norm: Normaliser,
    ) -> Result<EventStream, AdapterError> {
        tracing::debug!("upstream answered a streaming request with JSON");
        let limit = self.cfg.idle_timeout;
        let bytes = tokio::time::timeout(limit, resp.bytes())
            .await
            .map_err(|_| AdapterError::Timeout(format!("JSON body not read within {limit:?}")))?
            .map_err(|e| AdapterError::Closed(error_text(&e)))?;
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|e| AdapterError::Protocol(format!("JSON answer is invalid: {e}")))?;
        let items: Vec<_> = match fallback::completion_events(&body, norm) {
            Ok(events) => events.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        Ok(Box::pin(futures::stream::iter(items)))
    }
}

#[async_trait]
impl Backend for OpenAiBackend {
    async fn stream(&self, request: Map<String, Value>) -> Result<EventStream, AdapterError> {
        let norm = Normaliser::new(self.cfg.assume_open_think);
        self.post_stream(stream_body(request), norm).await
    }

    async fn continue_answer(
        &self,
        request: Map<String, Value>,
        continuation: Continuation,
    ) -> Result<EventStream, AdapterError> {
        let body = continuation_body(
            request,
            &continuation,
            self.cfg.continuation,
            self.cfg.prefix_format,
        )?;
        // The prefix closed `</think>`: content is the answer, once any echo
        // of the prefix (llama.cpp's server repeats it) is removed.
        let sent = prefix(self.cfg.prefix_format, &continuation.reasoning);
        self.post_stream(body, Normaliser::continuation(sent)).await
    }

    fn continuation_mode(&self) -> ContinuationMode {
        self.cfg.continuation
    }

    async fn models(&self) -> Result<Value, AdapterError> {
        let url = format!("{}/models", self.base);
        let limit = self.cfg.first_byte_timeout;
        let resp = send(self.with_auth(self.client.get(&url)), limit).await?;
        let resp = check_status(resp, limit).await?;
        let bytes = tokio::time::timeout(limit, resp.bytes())
            .await
            .map_err(|_| AdapterError::Timeout(format!("models body not read within {limit:?}")))?
            .map_err(|e| AdapterError::Closed(error_text(&e)))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| AdapterError::Protocol(format!("models body is not JSON: {e}")))
    }
}
