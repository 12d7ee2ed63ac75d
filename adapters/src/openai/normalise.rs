//! Turns OpenAI `chat.completion.chunk` objects into [`BackendEvent`]s.
//!
//! Per chunk, in this order: `Meta` (first chunk only), reasoning
//! (`delta.reasoning`, vLLM ≥ 0.11; `delta.reasoning_content`, older vLLM,
//! SGLang, llama.cpp and the DeepSeek API; where both come, only
//! `reasoning` is read), content (through the `<think>` splitter, so inline
//! reasoning becomes `Reasoning`), one `ToolCall` per `delta.tool_calls`
//! element, `Extra` with the other non-null delta keys, `Finish`, `Usage`.
//! Empty strings make no events. Only choice index 0 is read (`n > 1` is
//! not supported; other choices are ignored).
//!
//! Decisions: a chunk that is not an object, or has neither `choices` nor
//! `usage`, is a `Protocol` error, and so is an in-stream error object
//! (`{"error": ...}` or `"object": "error"`, which vLLM sends when
//! generation fails after the headers). `usage` is read from any chunk that
//! has it (with `continuous_usage_stats` every chunk does; the last wins).
//!
//! A continuation's normaliser ([`Normaliser::continuation`]) first removes
//! an echo of the sent prefix (see `crate::echo`) from the raw field text,
//! before `<think>` splitting would take the echoed tags apart.

use serde_json::{Map, Value};

use crate::echo::{EchoStripper, TextKind};
use crate::format::ThinkSplitter;
use crate::{AdapterError, BackendEvent, Usage};

const KNOWN_DELTA_KEYS: [&str; 5] = [
    "role",
    "content",
    "reasoning",
    "reasoning_content",
    "tool_calls",
];

#[derive(Debug)]
pub struct Normaliser {
    meta_sent: bool,
    think: ThinkSplitter,
    /// Set for a continuation until it is known whether the server echoed.
    echo: Option<EchoStripper>,
}

impl Normaliser {
    pub fn new(assume_open_think: bool) -> Self {
        Normaliser {
            meta_sent: false,
            think: ThinkSplitter::new(assume_open_think),
            echo: None,
        }
    }

    /// For the answer after `prefix` (which closed the think block): any
    /// echo of `prefix` at the start of the output is removed.
    pub fn continuation(prefix: impl Into<String>) -> Self {
        Normaliser {
            echo: Some(EchoStripper::new(prefix)),
            ..Normaliser::new(false)
        }
    }

    /// One `data:` payload: the typed fast path when the chunk has the
    /// common shape, else the general one.
    pub fn data(&mut self, data: &str) -> Result<Vec<BackendEvent>, AdapterError> {
        let mut out = Vec::new();
        self.data_into(data, &mut out)?;
        Ok(out)
    }

    /// As [`Self::data`], appending to `out` (a stream reuses one vector).
    pub fn data_into(
        &mut self,
        data: &str,
        out: &mut Vec<BackendEvent>,
    ) -> Result<(), AdapterError> {
        if let Some(chunk) = super::fast::parse(data) {
            self.fast_chunk(chunk, out);
            return Ok(());
        }
        let value = serde_json::from_str(data)
            .map_err(|e| AdapterError::Protocol(format!("invalid JSON in data line: {e}")))?;
        out.extend(self.chunk(value)?);
        Ok(())
    }

    /// Same events as [`Self::chunk`] would give for this chunk.
    fn fast_chunk(&mut self, chunk: super::fast::Chunk<'_>, out: &mut Vec<BackendEvent>) {
        self.meta_once(out, || BackendEvent::Meta {
            id: chunk.id.map(|s| s.into_owned()).unwrap_or_default(),
            model: chunk.model.map(|s| s.into_owned()).unwrap_or_default(),
            created: chunk.created.unwrap_or(0),
        });
        let [choice] = chunk.choices;
        if let Some(delta) = choice.delta {
            let reasoning = delta.reasoning.or(delta.reasoning_content);
            self.text(reasoning.as_deref(), delta.content.as_deref(), out);
        }
        if let Some(reason) = choice.finish_reason {
            self.finish_reason(reason.into_owned(), out);
        }
    }

    /// One parsed `data:` payload.
    pub fn chunk(&mut self, chunk: Value) -> Result<Vec<BackendEvent>, AdapterError> {
        let Value::Object(obj) = chunk else {
            return Err(AdapterError::Protocol(
                "stream chunk is not a JSON object".into(),
            ));
        };
        if let Some(msg) = in_stream_error(&obj) {
            return Err(AdapterError::Protocol(format!(
                "upstream error in stream: {msg}"
            )));
        }
        let choices = obj.get("choices");
        let usage = obj.get("usage").filter(|u| !u.is_null());
        if choices.is_none() && usage.is_none() {
            return Err(AdapterError::Protocol(
                "stream chunk has neither choices nor usage".into(),
            ));
        }
        let mut out = Vec::new();
        self.meta_once(&mut out, || BackendEvent::Meta {
            id: str_field(&obj, "id"),
            model: str_field(&obj, "model"),
            created: obj.get("created").and_then(Value::as_u64).unwrap_or(0),
        });
        match choices {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                let first = list
                    .iter()
                    .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0);
                if let Some(choice) = first {
                    self.choice(choice, &mut out)?;
                }
            }
            Some(_) => return Err(AdapterError::Protocol("`choices` is not an array".into())),
        }
        if let Some(u) = usage {
            out.push(BackendEvent::Usage(parse_usage(u)?));
        }
        Ok(out)
    }

    /// The stream ended: releases text held back by the think splitter.
    pub fn finish(&mut self) -> Vec<BackendEvent> {
        let mut out = Vec::new();
        self.flush(&mut out);
        out
    }

    fn choice(&mut self, choice: &Value, out: &mut Vec<BackendEvent>) -> Result<(), AdapterError> {
        let Some(choice) = choice.as_object() else {
            return Err(AdapterError::Protocol("choice is not an object".into()));
        };
        match choice.get("delta") {
            None | Some(Value::Null) => {}
            Some(Value::Object(delta)) => self.delta(delta, out)?,
            Some(_) => return Err(AdapterError::Protocol("`delta` is not an object".into())),
        }
        match choice.get("finish_reason") {
            None | Some(Value::Null) => {}
            Some(Value::String(reason)) => self.finish_reason(reason.clone(), out),
            Some(_) => {
                return Err(AdapterError::Protocol(
                    "`finish_reason` is not a string".into(),
                ))
            }
        }
        Ok(())
    }

    fn delta(
        &mut self,
        delta: &Map<String, Value>,
        out: &mut Vec<BackendEvent>,
    ) -> Result<(), AdapterError> {
        // Some servers send both names with the same text (vllm-mlx, vLLM
        // versions with the deprecated alias synced): `reasoning` wins.
        let reasoning = match opt_str(delta, "reasoning")? {
            Some(text) => Some(text),
            None => opt_str(delta, "reasoning_content")?,
        };
        self.text(reasoning, opt_str(delta, "content")?, out);
        match delta.get("tool_calls") {
            None | Some(Value::Null) => {}
            Some(Value::Array(calls)) => {
                self.settle_echo(out);
                out.extend(calls.iter().cloned().map(BackendEvent::ToolCall));
            }
            Some(_) => {
                return Err(AdapterError::Protocol(
                    "`tool_calls` is not an array".into(),
                ))
            }
        }
        let extra: Map<String, Value> = delta
            .iter()
            .filter(|(k, v)| !KNOWN_DELTA_KEYS.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !extra.is_empty() {
            out.push(BackendEvent::Extra(extra));
        }
        Ok(())
    }

    /// The `Meta` event, before the first chunk's other events only.
    fn meta_once(&mut self, out: &mut Vec<BackendEvent>, meta: impl FnOnce() -> BackendEvent) {
        if !self.meta_sent {
            self.meta_sent = true;
            out.push(meta());
        }
    }

    /// A delta's text: the reasoning field (marking that the server labels
    /// reasoning), then `content` through the `<think>` splitter.
    fn text(
        &mut self,
        reasoning: Option<&str>,
        content: Option<&str>,
        out: &mut Vec<BackendEvent>,
    ) {
        if let Some(echo) = self.echo.as_mut().filter(|e| e.is_deciding()) {
            let mut pieces = Vec::new();
            if let Some(text) = reasoning {
                self.think.reasoning_field_seen();
                pieces = echo.push(TextKind::Reasoning, text);
            }
            if let Some(text) = content {
                pieces.extend(echo.push(TextKind::Content, text));
            }
            return self.pieces(pieces, out);
        }
        if let Some(text) = reasoning {
            self.think.reasoning_field_seen();
            if !text.is_empty() {
                out.push(BackendEvent::Reasoning(text.to_string()));
            }
        }
        if let Some(text) = content {
            out.extend(self.think.push(text).into_iter().map(BackendEvent::from));
        }
    }

    /// Text released by the echo stripper, as the fields it came in.
    fn pieces(&mut self, pieces: Vec<(TextKind, String)>, out: &mut Vec<BackendEvent>) {
        for (kind, text) in pieces {
            match kind {
                TextKind::Reasoning => out.push(BackendEvent::Reasoning(text)),
                TextKind::Content => {
                    out.extend(self.think.push(&text).into_iter().map(BackendEvent::from))
                }
            }
        }
    }

    /// Something other than text came: whatever text was held as a
    /// possible echo is decided on and passed on first.
    fn settle_echo(&mut self, out: &mut Vec<BackendEvent>) {
        if let Some(echo) = self.echo.as_mut().filter(|e| e.is_deciding()) {
            let pieces = echo.settle();
            self.pieces(pieces, out);
        }
    }

    fn finish_reason(&mut self, reason: String, out: &mut Vec<BackendEvent>) {
        self.flush(out);
        out.push(BackendEvent::Finish(reason));
    }

    fn flush(&mut self, out: &mut Vec<BackendEvent>) {
        self.settle_echo(out);
        out.extend(self.think.flush().into_iter().map(BackendEvent::from));
    }
}

fn opt_str<'a>(m: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, AdapterError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AdapterError::Protocol(format!(
            "`delta.{key}` is not a string"
        ))),
    }
}

fn str_field(m: &Map<String, Value>, key: &str) -> String {
    m.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn in_stream_error(obj: &Map<String, Value>) -> Option<String> {
    if let Some(e) = obj.get("error").filter(|e| !e.is_null()) {
        let msg = e.get("message").and_then(Value::as_str).map(str::to_string);
        return Some(msg.unwrap_or_else(|| e.to_string()));
    }
    if obj.get("object").and_then(Value::as_str) == Some("error") {
        return Some(str_field(obj, "message"));
    }
    None
}

/// Parses an OpenAI usage object.
pub fn parse_usage(u: &Value) -> Result<Usage, AdapterError> {
    let num = |k: &str| u.get(k).and_then(Value::as_u64);
    let prompt = num("prompt_tokens").unwrap_or(0);
    let completion = num("completion_tokens").unwrap_or(0);
    if !u.is_object() {
        return Err(AdapterError::Protocol("`usage` is not an object".into()));
    }
    Ok(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: num("total_tokens").unwrap_or(prompt + completion),
        reasoning_tokens: u
            .get("completion_tokens_details")
            .and_then(|d| d.get("reasoning_tokens"))
            .and_then(Value::as_u64),
    })
}

#[cfg(test)]
#[path = "normalise_tests.rs"]
mod tests;
