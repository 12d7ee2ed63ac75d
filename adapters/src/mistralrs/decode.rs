//! The engine's streaming responses as normalised events.

use ::mistralrs::core::{ChatCompletionChunkResponse, CompletionChunkResponse};
use ::mistralrs::Response;
use serde_json::Value;

use super::counter::TokenCounter;
use crate::format::ThinkSplitter;
use crate::{AdapterError, BackendEvent, Usage};

/// What kind of request the stream answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// A chat request: the engine's reasoning parser fills
    /// `reasoning_content`; inline `<think>` at the start of content is
    /// split off too.
    Chat,
    /// A raw completion from an opened `<think>`: text is reasoning until `</think>`.
    Thinking { prompt_tokens: usize },
    /// A raw completion after a closed think block: all text is the answer.
    Answer { prompt_tokens: usize },
}

type Item = Result<BackendEvent, AdapterError>;

pub(super) struct Decoder {
    mode: Mode,
    model: String,
    counter: TokenCounter,
    splitter: ThinkSplitter,
    meta_sent: bool,
    done: bool,
}

impl Decoder {
    pub fn new(mode: Mode, model: String, counter: TokenCounter) -> Self {
        Decoder {
            mode,
            model,
            counter,
            splitter: ThinkSplitter::new(matches!(mode, Mode::Thinking { .. })),
            meta_sent: false,
            done: false,
        }
    }

    /// The sequence has finished (or failed): nothing more to read.
    pub fn done(&self) -> bool {
        self.done
    }

    pub fn finish(&mut self) {
        self.done = true;
    }

    pub fn decode(&mut self, response: Response) -> Vec<Item> {
        let mut out = Vec::new();
        match response {
            Response::Chunk(chunk) => self.chat(chunk, &mut out),
            Response::CompletionChunk(chunk) => self.completion(chunk, &mut out),
            Response::ValidationError(e) | Response::InternalError(e) => {
                self.done = true;
                out.push(Err(AdapterError::Internal(format!("engine: {e}"))));
            }
            Response::ModelError(e, _) | Response::CompletionModelError(e, _) => {
                self.done = true;
                out.push(Err(AdapterError::Internal(format!("engine: {e}"))));
            }
            _ => {
                self.done = true;
                out.push(Err(AdapterError::Protocol(
                    "the engine sent a response of another kind".into(),
                )));
            }
        }
        out
    }

    fn meta(&mut self, id: &str, created: u128, out: &mut Vec<Item>) {
        if !self.meta_sent {
            self.meta_sent = true;
            out.push(Ok(BackendEvent::Meta {
                id: format!("chatcmpl-embedded-{id}"),
                model: self.model.clone(),
                // mistral.rs stamps chunks in Unix seconds already.
                created: created as u64,
            }));
        }
    }

    fn chat(&mut self, chunk: ChatCompletionChunkResponse, out: &mut Vec<Item>) {
        self.meta(&chunk.id, chunk.created, out);
        let mut finish = None;
        for choice in chunk.choices {
            let delta = choice.delta;
            if let Some(r) = delta.reasoning_content.filter(|r| !r.is_empty()) {
                self.splitter.reasoning_field_seen();
                out.push(Ok(BackendEvent::Reasoning(r)));
            }
            if let Some(c) = delta.content.filter(|c| !c.is_empty()) {
                self.pieces(&c, out);
            }
            for call in delta.tool_calls.unwrap_or_default() {
                let call = serde_json::to_value(&call).unwrap_or(Value::Null);
                out.push(Ok(BackendEvent::ToolCall(call)));
            }
            finish = finish.or(choice.finish_reason);
        }
        if let Some(reason) = finish {
            let usage = match chunk.usage {
                Some(u) => Usage {
                    prompt_tokens: u.prompt_tokens as u64,
                    completion_tokens: u.completion_tokens as u64,
                    total_tokens: u.total_tokens as u64,
                    reasoning_tokens: None,
                },
                None => self.usage(0),
            };
            self.end(reason, usage, out);
        }
    }

    fn completion(&mut self, chunk: CompletionChunkResponse, out: &mut Vec<Item>) {
        self.meta(&chunk.id, chunk.created, out);
        let mut finish = None;
        for choice in chunk.choices {
            if !choice.text.is_empty() {
                match self.mode {
                    Mode::Answer { .. } => out.push(Ok(BackendEvent::Content(choice.text))),
                    _ => self.pieces(&choice.text, out),
                }
            }
            finish = finish.or(choice.finish_reason);
        }
        if let Some(reason) = finish {
            let prompt = match self.mode {
                Mode::Thinking { prompt_tokens } | Mode::Answer { prompt_tokens } => prompt_tokens,
                Mode::Chat => 0,
            };
            let usage = self.usage(prompt as u64);
            self.end(reason, usage, out);
        }
    }

    /// Usage from the engine's sampler count (completion chunks carry none).
    fn usage(&self, prompt_tokens: u64) -> Usage {
        let completion_tokens = self.counter.count();
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
            reasoning_tokens: None,
        }
    }

    fn pieces(&mut self, text: &str, out: &mut Vec<Item>) {
        for piece in self.splitter.push(text) {
            out.push(Ok(piece.into()));
        }
    }

    fn end(&mut self, reason: String, usage: Usage, out: &mut Vec<Item>) {
        for piece in self.splitter.flush() {
            out.push(Ok(piece.into()));
        }
        out.push(Ok(BackendEvent::Finish(reason)));
        out.push(Ok(BackendEvent::Usage(usage)));
        self.done = true;
    }
}
