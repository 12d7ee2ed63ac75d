//! The embedded engine behind the [`Backend`] trait.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ::mistralrs::core::RequestMessage;
use ::mistralrs::{Model, NormalRequest, Request, Response};
use async_trait::async_trait;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::counter::TokenCounter;
use super::decode::{Decoder, Mode};
use super::{bridge, load, prompt, request, MistralrsConfig};
use crate::{AdapterError, Backend, Continuation, ContinuationMode, EventStream};

/// The embedded engine behind the [`Backend`] trait.
pub struct MistralrsBackend {
    cfg: MistralrsConfig,
    model: Arc<Model>,
    /// The model's name (the GGUF file's stem), reported as `model`.
    name: String,
    max_seq_len: Option<usize>,
    /// Tokens the engine has sampled for our requests, all requests together.
    generated: Arc<AtomicU64>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for MistralrsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MistralrsBackend")
            .field("cfg", &self.cfg)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl MistralrsBackend {
    /// Loads the GGUF file (CPU). Errors name the path.
    pub async fn load(cfg: MistralrsConfig) -> Result<Self, AdapterError> {
        let (model, name) = load::load(&cfg).await?;
        let max_seq_len = model.max_sequence_length().ok().flatten();
        Ok(MistralrsBackend {
            cfg,
            model: Arc::new(model),
            name,
            max_seq_len,
            generated: Arc::new(AtomicU64::new(0)),
            next_id: AtomicU64::new(0),
        })
    }

    /// Another backend on the same engine, with its own `think_prefill` and
    /// stall timeout (the engine, its queue and its token count are shared).
    pub fn variant(&self, think_prefill: bool, stall_timeout: Duration) -> Self {
        MistralrsBackend {
            cfg: MistralrsConfig {
                think_prefill,
                stall_timeout,
                ..self.cfg.clone()
            },
            model: self.model.clone(),
            name: self.name.clone(),
            max_seq_len: self.max_seq_len,
            generated: self.generated.clone(),
            next_id: AtomicU64::new(0),
        }
    }

    /// A raw completion from the templated messages plus `prefix`; also
    /// returns the prefix text as it was appended.
    pub(super) async fn run_prefixed(
        &self,
        parsed: request::Parsed,
        prefix: prompt::Prefix,
        mode: fn(usize) -> Mode,
    ) -> Result<(EventStream, String), AdapterError> {
        let prompt = prompt::build(&self.model, &parsed, prefix).await?;
        self.check_length(prompt.tokens.len())?;
        let len = prompt.tokens.len();
        let messages = RequestMessage::CompletionTokens(prompt.tokens);
        let stream = self.run(messages, parsed.params, mode(len)).await?;
        Ok((stream, prompt.prefix))
    }

    /// The model's context length, where the engine knows it.
    pub fn max_seq_len(&self) -> Option<usize> {
        self.max_seq_len
    }

    /// Tokens the engine has sampled for this backend's requests so far
    /// (counted inside the engine's sampler, so tokens generated after a
    /// stream was dropped count too).
    pub fn generated_tokens(&self) -> u64 {
        self.generated.load(Ordering::Relaxed)
    }

    /// The engine, for callers that want to drive it directly (benchmarks).
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    fn check_length(&self, prompt_tokens: usize) -> Result<(), AdapterError> {
        match self.max_seq_len {
            Some(max) if prompt_tokens >= max => Err(too_long(prompt_tokens, max)),
            _ => Ok(()),
        }
    }

    /// Sends `messages` to the engine and waits for its first answer, so that
    /// a refused request is an error before the client gets a byte.
    async fn run(
        &self,
        messages: RequestMessage,
        params: request::Params,
        mode: Mode,
    ) -> Result<EventStream, AdapterError> {
        let counter = TokenCounter::new(self.generated.clone());
        let (tx, mut rx) = mpsc::channel(1);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) as usize;
        let mut req = NormalRequest::new_simple(
            messages,
            params.sampling,
            tx,
            id,
            params.tools,
            params.tool_choice,
        );
        req.is_streaming = true;
        req.logits_processors = Some(vec![counter.processor()]);
        let sender = self
            .model
            .inner()
            .get_sender(None)
            .map_err(|e| AdapterError::Internal(format!("engine: {e}")))?;
        sender
            .send(Request::Normal(Box::new(req)))
            .await
            .map_err(|_| AdapterError::Internal("the engine has stopped".into()))?;
        let first = rx
            .recv()
            .await
            .ok_or_else(|| AdapterError::Closed("the engine dropped the request".into()))?;
        let mut decoder = Decoder::new(mode, self.name.clone(), counter);
        if let Some(err) = refusal(&first, self.max_seq_len) {
            return Err(err);
        }
        let first_events = decoder.decode(first);
        Ok(bridge::spawn(
            rx,
            decoder,
            first_events,
            self.cfg.stall_timeout,
        ))
    }
}

/// The engine's refusal of a request, as an error.
fn refusal(resp: &Response, max_seq_len: Option<usize>) -> Option<AdapterError> {
    match resp {
        Response::ValidationError(e) => {
            let msg = e.to_string();
            let msg = match max_seq_len {
                Some(max) if msg.contains("sequence length is greater") => {
                    format!("the prompt is longer than the model's context of {max} tokens ({msg})")
                }
                _ => msg,
            };
            Some(bad_request(&msg))
        }
        Response::InternalError(e) => Some(AdapterError::Internal(format!("engine: {e}"))),
        _ => None,
    }
}

pub(super) fn bad_request(message: &str) -> AdapterError {
    AdapterError::Status {
        status: 400,
        body: json!({"error": {"message": message, "type": "invalid_request_error"}}).to_string(),
    }
}

fn too_long(prompt_tokens: usize, max: usize) -> AdapterError {
    bad_request(&format!(
        "the prompt is {prompt_tokens} tokens, longer than the model's context of {max} tokens"
    ))
}

#[async_trait]
impl Backend for MistralrsBackend {
    async fn stream(&self, request: Map<String, Value>) -> Result<EventStream, AdapterError> {
        let parsed = request::parse(&request, None)?;
        if !self.cfg.think_prefill {
            let messages = RequestMessage::Chat {
                messages: parsed.messages,
                enable_thinking: parsed.enable_thinking,
                reasoning_effort: None,
            };
            return self.run(messages, parsed.params, Mode::Chat).await;
        }
        let (stream, _) = self
            .run_prefixed(parsed, prompt::Prefix::OpenThink, |prompt_tokens| {
                Mode::Thinking { prompt_tokens }
            })
            .await?;
        Ok(stream)
    }

    async fn continue_answer(
        &self,
        request: Map<String, Value>,
        continuation: Continuation,
    ) -> Result<EventStream, AdapterError> {
        let parsed = request::parse(&request, Some(continuation.max_tokens))?;
        let prefix = prompt::Prefix::Answer(continuation.reasoning);
        let (stream, sent) = self
            .run_prefixed(parsed, prefix, |prompt_tokens| Mode::Answer {
                prompt_tokens,
            })
            .await?;
        // A raw completion returns only new text today; the wrapper keeps
        // the answer clean should an engine version repeat the prompt's tail.
        Ok(crate::echo::strip_echo(stream, sent))
    }

    fn continuation_mode(&self) -> ContinuationMode {
        // The engine continues a prefix natively (raw completion).
        ContinuationMode::Prefill
    }

    fn prober(&self, request: &Map<String, Value>) -> Option<Arc<dyn crate::Prober>> {
        let engine = self.variant(self.cfg.think_prefill, self.cfg.stall_timeout);
        Some(Arc::new(super::probe::MistralrsProber::new(
            engine, request,
        )))
    }

    async fn models(&self) -> Result<Value, AdapterError> {
        Ok(json!({
            "object": "list",
            "data": [{"id": self.name, "object": "model", "owned_by": "selfbrake-embedded"}],
        }))
    }
}
