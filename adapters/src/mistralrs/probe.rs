//! Probes on the embedded engine: a raw completion from the templated
//! messages, the think block opened (unless the template did), the
//! reasoning so far and the probe suffix; greedy. The engine runs
//! in-process, so templating per probe costs no round trip and nothing is
//! cached.
//!
//! No log-probabilities: mistral.rs 0.8.1 streams values between +1.40 and
//! +1.54 as the `logprob` of a greedy probe's tokens (measured on
//! SmolLM2-135M, where llama.cpp gives −0.02 to −1.96 for the same tokens),
//! which are no log-probabilities; confidence stays unknown here.
use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{Map, Value};

use super::backend::MistralrsBackend;
use super::decode::Mode;
use super::{prompt, request};
use crate::probe::{ProbeCall, ProbeReply, ProbeToken, Prober};
use crate::{AdapterError, BackendEvent};

/// The probes of one request on the embedded engine.
pub struct MistralrsProber {
    /// The same engine (shared), as a backend of its own.
    backend: MistralrsBackend,
    request: Map<String, Value>,
}

impl MistralrsProber {
    pub(super) fn new(backend: MistralrsBackend, request: &Map<String, Value>) -> Self {
        MistralrsProber {
            backend,
            request: request.clone(),
        }
    }
}

#[async_trait]
impl Prober for MistralrsProber {
    async fn probe(&self, call: ProbeCall) -> Result<ProbeReply, AdapterError> {
        let mut parsed = request::parse(&self.request, Some(call.max_tokens))?;
        parsed.params.sampling.temperature = Some(0.0);
        parsed.params.sampling.top_k = Some(1);
        parsed.params.tools = None;
        parsed.params.tool_choice = None;
        let turn = format!("{}{}", call.reasoning, call.suffix);
        let (mut stream, _) = self
            .backend
            .run_prefixed(parsed, prompt::Prefix::Probe(turn), |prompt_tokens| {
                Mode::Answer { prompt_tokens }
            })
            .await?;
        let mut reply = ProbeReply::default();
        while let Some(event) = stream.next().await {
            match event? {
                BackendEvent::Content(text) | BackendEvent::Reasoning(text) => {
                    reply.tokens.push(ProbeToken {
                        text,
                        logprob: None,
                    });
                }
                BackendEvent::Usage(u) => reply.usage = Some(u),
                _ => {}
            }
        }
        Ok(reply)
    }
}
