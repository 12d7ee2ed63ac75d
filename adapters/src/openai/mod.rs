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
//! when polled (no spawned task): dropping it before `data: [DONE]` closes the connection. For
//! `http://` upstreams the stream drives the connection itself, so that the events of one socket
//! read reach the client in one write (see `inline`).
//!
//! Reasoning is normalised (see `normalise`): `delta.reasoning`,
//! `delta.reasoning_content` and inline `<think>...</think>` all become
//! `Reasoning` events. For templates that open `<think>` themselves, set
//! `assume_open_think` (see `think`).
//!
//! A continuation's output is checked for an echo of the prefix that was
//! sent, which is removed (see `crate::echo`): llama.cpp's server repeats a
//! prefilled assistant message, other servers do not.

mod config;
mod fallback;
mod fast;
mod http;
mod inline;
mod normalise;
mod probe;
mod request;
mod sse;
mod stream;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::format::PrefixFormat;
use crate::{AdapterError, Backend, Continuation, ContinuationMode, EventStream, Propagation};
use http::{check_status, is_json, is_json_head, read_capped, send};
use inline::{InlineAnswer, InlineClient};

pub use config::OpenAiConfig;
pub use normalise::{parse_usage, Normaliser};
pub use probe::{completion_reply, llamacpp_reply, OpenAiProber, ProbeRoute};
pub use request::{continuation_body, stream_body};
pub use sse::{SseDecoder, SseError, SseEvent};

pub use http::ERROR_BODY_LIMIT;

/// Shorter than the 5 s keep-alive of uvicorn and llama-server.
const POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(4);

/// An OpenAI-compatible backend.
#[derive(Debug, Clone)]
pub struct OpenAiBackend {
    cfg: OpenAiConfig,
    client: reqwest::Client,
    /// Streams chat completions where it can (see `inline`).
    inline: Option<InlineClient>,
    base: String,
    /// Parsed once: parsing it per request (IDNA host checks included) was
    /// a visible share of a short request's CPU.
    chat_url: reqwest::Url,
}

impl OpenAiBackend {
    /// Checks the URL and resolves the API key (an unset `api_key_env` is an error).
    pub fn new(mut cfg: OpenAiConfig) -> Result<Self, AdapterError> {
        cfg.api_key = cfg.resolve_api_key()?;
        let base = cfg.base_url.trim_end_matches('/').to_string();
        let invalid = |e| AdapterError::Config(format!("invalid base_url {base:?}: {e}"));
        let url = reqwest::Url::parse(&base).map_err(invalid)?;
        let inline = InlineClient::for_base(&url, cfg.connect_timeout, POOL_IDLE);
        let chat_url = reqwest::Url::parse(&format!("{base}/chat/completions")).map_err(invalid)?;
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            // Idle connections are dropped before the servers' own keep-alive
            // ends (uvicorn behind vLLM and SGLang, llama-server: 5 s), so a
            // request never goes out on a connection the server is closing.
            .pool_idle_timeout(POOL_IDLE)
            .build()
            .map_err(|e| AdapterError::Internal(format!("http client: {e}")))?;
        Ok(OpenAiBackend {
            cfg,
            client,
            inline,
            base,
            chat_url,
        })
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
        propagation: &Propagation,
    ) -> Result<EventStream, AdapterError> {
        let start = tokio::time::Instant::now();
        tracing::debug!(url = %self.chat_url, "upstream chat request");
        let rb = self
            .client
            .post(self.chat_url.clone())
            .headers(propagation.headers().clone());
        let rb = self.with_auth(rb.json(&body));
        let first = self.cfg.first_byte_timeout.min(self.cfg.max_stream);
        let limits = stream::Limits {
            idle: self.cfg.idle_timeout,
            deadline: start + self.cfg.max_stream,
            max_stream: self.cfg.max_stream,
            max_line: self.cfg.max_line_bytes,
        };
        let resp = match self.send_stream(rb, first).await? {
            Answer::Inline(answer)
                if answer.status().is_success() && !is_json_head(answer.headers()) =>
            {
                return Ok(answer.into_events(limits, norm));
            }
            Answer::Inline(answer) => answer.into_reqwest(),
            Answer::Pooled(resp) => resp,
        };
        let resp = check_status(resp, self.cfg.first_byte_timeout).await?;
        if is_json(&resp) {
            return self.json_answer(resp, norm).await;
        }
        Ok(stream::events(resp, limits, norm))
    }

    /// Sends a streaming request, inline where the upstream allows it.
    async fn send_stream(
        &self,
        rb: reqwest::RequestBuilder,
        limit: std::time::Duration,
    ) -> Result<Answer, AdapterError> {
        let Some(inline) = &self.inline else {
            return send(rb, limit).await.map(Answer::Pooled);
        };
        let request = rb
            .build()
            .map_err(|e| AdapterError::Internal(http::error_text(&e)))?;
        tokio::time::timeout(limit, inline.send(request))
            .await
            .map_err(|_| AdapterError::Timeout(format!("no response headers within {limit:?}")))?
            .map(|answer| Answer::Inline(Box::new(answer)))
    }

    /// A server that ignored `stream: true` (see `fallback`).
    async fn json_answer(
        &self,
        resp: reqwest::Response,
        norm: Normaliser,
    ) -> Result<EventStream, AdapterError> {
        tracing::debug!("upstream answered a streaming request with JSON");
        let max = self.cfg.max_response_bytes;
        let bytes = read_capped(resp, max, self.cfg.idle_timeout, "the JSON answer").await?;
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|e| AdapterError::Protocol(format!("JSON answer is invalid: {e}")))?;
        let items: Vec<_> = match fallback::completion_events(&body, norm) {
            Ok(events) => events.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        Ok(Box::pin(futures::stream::iter(items)))
    }
}

/// A streaming request's answer, from whichever client sent it.
enum Answer {
    // Boxed: it holds the connection, some 1 KB.
    Inline(Box<InlineAnswer>),
    Pooled(reqwest::Response),
}

#[async_trait]
impl Backend for OpenAiBackend {
    async fn stream(&self, request: Map<String, Value>) -> Result<EventStream, AdapterError> {
        self.stream_with(request, &Propagation::default()).await
    }

    async fn continue_answer(
        &self,
        request: Map<String, Value>,
        continuation: Continuation,
    ) -> Result<EventStream, AdapterError> {
        self.continue_answer_with(request, continuation, &Propagation::default())
            .await
    }

    async fn stream_with(
        &self,
        request: Map<String, Value>,
        propagation: &Propagation,
    ) -> Result<EventStream, AdapterError> {
        let norm = Normaliser::new(self.cfg.assume_open_think);
        let mut body = stream_body(request);
        if self.cfg.continuous_usage_stats {
            // Usage on every chunk: reasoning counted in real tokens.
            body.insert(
                "stream_options".into(),
                serde_json::json!({"include_usage": true, "continuous_usage_stats": true}),
            );
        }
        self.post_stream(body, norm, propagation).await
    }

    async fn continue_answer_with(
        &self,
        request: Map<String, Value>,
        continuation: Continuation,
        propagation: &Propagation,
    ) -> Result<EventStream, AdapterError> {
        let body = continuation_body(
            request,
            &continuation,
            self.cfg.continuation,
            self.cfg.prefix_format,
        )?;
        // The prefix closed `</think>`: content is the answer, once any echo
        // of the prefix (llama.cpp's server repeats it) is removed.
        let sent = crate::format::prefix(self.cfg.prefix_format, &continuation.reasoning);
        self.post_stream(body, Normaliser::continuation(sent), propagation)
            .await
    }

    fn continuation_mode(&self) -> ContinuationMode {
        self.cfg.continuation
    }

    fn prober(&self, request: &Map<String, Value>) -> Option<std::sync::Arc<dyn crate::Prober>> {
        if self.cfg.probe == ProbeRoute::None {
            return None;
        }
        Some(std::sync::Arc::new(OpenAiProber::new(self, request)))
    }

    fn prefix_format(&self) -> PrefixFormat {
        self.cfg.prefix_format
    }

    async fn forward(
        &self,
        request: crate::Forward,
    ) -> Result<::http::Response<reqwest::Body>, AdapterError> {
        let url = crate::forward::upstream_url(&self.base, &request.path_and_query);
        let mut headers = ::http::HeaderMap::new();
        for name in crate::forward::FORWARDED_HEADERS {
            for value in request.headers.get_all(*name) {
                if let Ok(name) = ::http::HeaderName::from_bytes(name.as_bytes()) {
                    headers.append(name, value.clone());
                }
            }
        }
        let rb = self
            .client
            .request(request.method, &url)
            .headers(headers)
            .body(request.body);
        let resp = send(self.with_auth(rb), self.cfg.first_byte_timeout).await?;
        Ok(resp.into())
    }

    async fn models(&self) -> Result<Value, AdapterError> {
        let url = format!("{}/models", self.base);
        let limit = self.cfg.first_byte_timeout;
        let resp = send(self.with_auth(self.client.get(&url)), limit).await?;
        let resp = check_status(resp, limit).await?;
        let max = self.cfg.max_response_bytes;
        let bytes = read_capped(resp, max, limit, "the models list").await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| AdapterError::Protocol(format!("models body is not JSON: {e}")))
    }
}
