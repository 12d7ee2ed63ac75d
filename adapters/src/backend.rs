use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Stream;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::format::PrefixFormat;
use crate::probe::Prober;
use crate::{AdapterError, BackendEvent, Propagation};

/// A stream of normalised events. Dropping it cancels the upstream request.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<BackendEvent, AdapterError>> + Send>>;

/// How a backend lets the model answer from an assistant prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ContinuationMode {
    /// vLLM / SGLang: `continue_final_message: true, add_generation_prompt: false`.
    #[default]
    ContinueFinalMessage,
    /// llama.cpp server and others that continue a trailing assistant message.
    Prefill,
    /// No continuation: the session falls back to the policy's `on_brake`.
    None,
}

/// What the model should continue from after a brake.
#[derive(Debug, Clone, PartialEq)]
pub struct Continuation {
    /// Reasoning kept up to the cut, followed by the brake statement.
    pub reasoning: String,
    /// `max_tokens` for the answer.
    pub max_tokens: u32,
}

/// An inference backend.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Streams `request` (an OpenAI chat request body; unknown keys kept).
    async fn stream(&self, request: Map<String, Value>) -> Result<EventStream, AdapterError>;

    /// Streams the answer to `request` continued from the assistant prefix
    /// built from `continuation`. Errors with `Unsupported` where the backend
    /// has no continuation.
    async fn continue_answer(
        &self,
        request: Map<String, Value>,
        continuation: Continuation,
    ) -> Result<EventStream, AdapterError>;

    /// [`stream`](Self::stream) with the headers the request propagates
    /// upstream (trace context, request id). Backends that make no HTTP
    /// call keep this default, which has nothing to send them on.
    async fn stream_with(
        &self,
        request: Map<String, Value>,
        propagation: &Propagation,
    ) -> Result<EventStream, AdapterError> {
        let _ = propagation;
        self.stream(request).await
    }

    /// [`continue_answer`](Self::continue_answer) with the headers the
    /// request propagates upstream (see [`stream_with`](Self::stream_with)).
    async fn continue_answer_with(
        &self,
        request: Map<String, Value>,
        continuation: Continuation,
        propagation: &Propagation,
    ) -> Result<EventStream, AdapterError> {
        let _ = propagation;
        self.continue_answer(request, continuation).await
    }

    fn continuation_mode(&self) -> ContinuationMode;

    /// How the continuation prefix wraps the kept reasoning, for usage
    /// accounting (see [`PrefixFormat::wrapping_len`]).
    fn prefix_format(&self) -> PrefixFormat {
        PrefixFormat::ThinkTags
    }

    /// The probes of one client request (`request`: its chat body, as sent
    /// upstream), or `None` where this backend cannot probe; a policy's
    /// probe rule then steps aside (see the policies crate).
    fn prober(&self, request: &Map<String, Value>) -> Option<Arc<dyn Prober>> {
        let _ = request;
        None
    }

    /// The backend's `GET /models` body.
    async fn models(&self) -> Result<Value, AdapterError>;

    /// Passes a request through to the backend's own route, unbraked,
    /// bodies streamed both ways; the backend's status (its 404 too) comes
    /// back as it is. Backends that serve no HTTP routes answer `Unsupported`.
    async fn forward(
        &self,
        request: crate::Forward,
    ) -> Result<http::Response<reqwest::Body>, AdapterError> {
        let _ = request;
        Err(AdapterError::Unsupported("pass requests through"))
    }
}
