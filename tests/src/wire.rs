//! vLLM's OpenAI-compatible wire format: chunk shapes, the SSE framing and
//! the non-stream body, as `vllm/entrypoints/openai/serving_chat.py` writes
//! them (`exclude_unset` JSON: `logprobs` and `finish_reason` present as
//! `null` on every choice, `stop_reason` only on the finishing one, no
//! `usage` key except on the final usage chunk, whose `choices` is `[]`).

use serde_json::{json, Value};

use crate::frame::{escape, Frame, DONE};
use crate::script::ReasoningForm;
use crate::Misbehaviour;

/// One step of a streamed response body.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Bytes to write; `token` when they carry a generated token (the
    /// script's delay comes before these); `done` for `data: [DONE]`.
    Send {
        bytes: String,
        token: bool,
        done: bool,
    },
    /// Break the connection (the body errors).
    Abort,
    /// Send nothing more, keep the connection open.
    Stall,
}

/// A generation to serialise.
#[derive(Debug, Clone)]
pub(crate) struct Generation {
    pub id: String,
    pub created: u64,
    pub model: String,
    /// `(is_reasoning, text)`.
    pub tokens: Vec<(bool, String)>,
    pub form: ReasoningForm,
    pub finish_reason: String,
    pub prompt_tokens: u64,
    pub report_reasoning_tokens: bool,
    /// `stream_options.include_usage` was true: send the usage chunk.
    pub include_usage: bool,
    /// `stream_options.continuous_usage_stats` was true: usage on every chunk.
    pub continuous_usage: bool,
    /// Tokens a chunk carries (see `Script::tokens_per_chunk`).
    pub tokens_per_chunk: usize,
}

impl Generation {
    /// The delta key a token goes under.
    fn field(&self, reasoning: bool) -> &'static str {
        match (reasoning, self.form) {
            (true, ReasoningForm::Reasoning) => "reasoning",
            (true, ReasoningForm::ReasoningContent) => "reasoning_content",
            _ => "content",
        }
    }

    pub fn usage(&self) -> Value {
        let completion = self.tokens.len() as u64;
        let mut u = json!({
            "prompt_tokens": self.prompt_tokens,
            "total_tokens": self.prompt_tokens + completion,
            "completion_tokens": completion,
        });
        if self.report_reasoning_tokens {
            let r = self.tokens.iter().filter(|t| t.0).count();
            u["completion_tokens_details"] = json!({ "reasoning_tokens": r });
        }
        u
    }

    /// The SSE body, one token per chunk.
    pub fn stream_steps(&self) -> Vec<Step> {
        let send = |bytes: String, token: bool| Step::Send {
            bytes,
            token,
            done: false,
        };
        let frame = Frame::new(&self.id, &self.model, self.created);
        let mut steps = vec![send(frame.role(), false)];
        let n = self.tokens.len();
        let mut i = 0;
        while i < n {
            let kind = self.tokens[i].0;
            let mut end = i + 1;
            while end < n && end - i < self.tokens_per_chunk.max(1) && self.tokens[end].0 == kind {
                end += 1;
            }
            let text: String = self.tokens[i..end].iter().map(|t| t.1.as_str()).collect();
            let finish = (end == n).then_some(self.finish_reason.as_str());
            let field = self.field(kind);
            let chunk = if self.continuous_usage {
                frame.tokens_with_usage(
                    field,
                    &escape(&text),
                    finish,
                    self.prompt_tokens,
                    end as u64,
                )
            } else {
                frame.token(field, &escape(&text), finish)
            };
            steps.push(send(chunk, true));
            i = end;
        }
        if n == 0 {
            let last = frame.token("content", "\"\"", Some(&self.finish_reason));
            steps.push(send(last, false));
        }
        if self.include_usage {
            let completion = n as u64;
            let reasoning = self
                .report_reasoning_tokens
                .then(|| self.tokens.iter().filter(|t| t.0).count() as u64);
            steps.push(send(
                frame.usage(self.prompt_tokens, completion, reasoning),
                false,
            ));
        }
        steps.push(Step::Send {
            bytes: DONE.into(),
            token: false,
            done: true,
        });
        steps
    }

    /// The `stream: false` body.
    pub fn body(&self) -> Value {
        let text = |want: bool| -> String {
            self.tokens
                .iter()
                .filter(|t| t.0 == want)
                .map(|t| t.1.as_str())
                .collect()
        };
        let mut message = json!({"role": "assistant", "content": text(false), "tool_calls": []});
        match self.form {
            ReasoningForm::Reasoning => message["reasoning"] = text(true).into(),
            ReasoningForm::ReasoningContent => message["reasoning_content"] = text(true).into(),
            _ => {
                let all: String = self.tokens.iter().map(|t| t.1.as_str()).collect();
                message["content"] = all.into();
            }
        }
        json!({
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "message": message, "logprobs": null,
                         "finish_reason": self.finish_reason, "stop_reason": null}],
            "usage": self.usage(),
        })
    }
}

/// Where the garbage of `MalformedSse`, `InvalidJson` and `HugeLine` goes:
/// after this many data chunks (the role chunk and two tokens).
pub const GARBAGE_AFTER: usize = 3;

/// Applies a stream fault to a well-formed body.
pub(crate) fn apply_fault(mut steps: Vec<Step>, fault: &Misbehaviour) -> Vec<Step> {
    let raw = |s: String| Step::Send {
        bytes: s,
        token: false,
        done: false,
    };
    let at = GARBAGE_AFTER.min(steps.len());
    match fault {
        Misbehaviour::MalformedSse => {
            steps.insert(at, raw("this is not an event stream\n\n".into()))
        }
        Misbehaviour::InvalidJson => steps.insert(
            at,
            raw("data: {\"id\": \"chatcmpl-x\", \"choices\": [\n\n".into()),
        ),
        Misbehaviour::HugeLine(n) => {
            let chunk = json!({"id": "chatcmpl-huge", "object": "chat.completion.chunk", "created": 0,
                "model": "m", "choices": [{"index": 0, "delta": {"content": "x".repeat(*n)},
                "logprobs": null, "finish_reason": null}]});
            steps.insert(at, raw(format!("data: {chunk}\n\n")));
        }
        Misbehaviour::CloseMidStream { after_chunks } => {
            steps.truncate(*after_chunks);
            steps.push(Step::Abort);
        }
        Misbehaviour::EndWithoutDone { after_chunks } => steps.truncate(*after_chunks),
        Misbehaviour::StallAfter { chunks } => {
            steps.truncate(*chunks);
            steps.push(Step::Stall);
        }
        Misbehaviour::None | Misbehaviour::Status { .. } | Misbehaviour::HangBeforeHeaders => {}
    }
    steps
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
