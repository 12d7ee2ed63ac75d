use std::fmt::Write as _;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::identity::{fallback_id, now_secs};
use crate::config::ReasoningField;
use selfbrake_adapters::{AdapterError, BackendEvent};

use crate::error::ProxyError;
use crate::session::{SessionEvent, Summary};

/// Turns session events into the client's SSE stream: one completion, one id.
///
/// The JSON around each delta is rendered once per stream, so the per-token
/// cost is escaping the delta text and nothing else.
#[derive(Debug)]
pub struct SseEncoder {
    reasoning_field: ReasoningField,
    fallback_model: String,
    head: Option<Head>,
    /// The client asked for the usage chunk (`stream_options.include_usage`).
    usage_chunk: bool,
}

#[derive(Debug)]
struct Head {
    /// `data: {"id":..,"object":..,"created":..,"model":..,"choices":[{"index":0,"delta":`
    choice_prefix: String,
    /// `data: {"id":..,"object":..,"created":..,"model":..`
    chunk_prefix: String,
}

const CHOICE_SUFFIX: &str = ",\"logprobs\":null,\"finish_reason\":null}]}\n\n";

impl SseEncoder {
    pub fn new(reasoning_field: ReasoningField, model: Option<&str>) -> Self {
        Self {
            reasoning_field,
            fallback_model: model.unwrap_or("unknown").to_string(),
            head: None,
            usage_chunk: false,
        }
    }

    /// With `true` (the client sent `stream_options.include_usage`), the
    /// stream ends with OpenAI's usage chunk (`choices: []`) carrying usage
    /// and the `selfbrake` object. Otherwise no chunk has an empty
    /// `choices` (clients that read `choices[0]` of every chunk would
    /// break), and `selfbrake` rides on the finishing chunk.
    pub fn usage_chunk(mut self, on: bool) -> Self {
        self.usage_chunk = on;
        self
    }

    /// The bytes the client gets for `event`.
    pub fn encode(&mut self, event: SessionEvent) -> Bytes {
        let mut out = String::new();
        self.encode_into(event, &mut out);
        Bytes::from(out)
    }

    /// Appends the bytes the client gets for `event` to `out`: the events
    /// of one upstream read share one buffer and one write.
    pub fn encode_into(&mut self, event: SessionEvent, out: &mut String) {
        if let SessionEvent::Delta(BackendEvent::Meta { id, model, created }) = &event {
            if self.head.is_none() {
                self.open(out, id, model, *created);
            }
            return;
        }
        if self.head.is_none() && !matches!(event, SessionEvent::Failed(_)) {
            let created = now_secs();
            let id = fallback_id(created);
            let model = self.fallback_model.clone();
            self.open(out, &id, &model, created);
        }
        match event {
            SessionEvent::Delta(BackendEvent::Meta { .. }) => {}
            SessionEvent::Delta(BackendEvent::Reasoning(text)) => {
                let keys: &[&str] = match self.reasoning_field {
                    ReasoningField::ReasoningContent => &["reasoning_content"],
                    ReasoningField::Reasoning => &["reasoning"],
                    ReasoningField::Both => &["reasoning", "reasoning_content"],
                };
                self.text_delta(out, keys, &text);
            }
            SessionEvent::Delta(BackendEvent::Content(text)) => {
                self.text_delta(out, &["content"], &text)
            }
            SessionEvent::Delta(BackendEvent::ToolCall(call)) => {
                self.raw_delta(out, format_args!("{{\"tool_calls\":[{call}]}}"));
            }
            SessionEvent::Delta(BackendEvent::Extra(fields)) => {
                self.raw_delta(out, Value::Object(fields))
            }
            // Folded into `End` by the session; never sent on their own.
            SessionEvent::Delta(BackendEvent::Finish(_) | BackendEvent::Usage(_)) => {}
            SessionEvent::End(summary) => self.end(out, &summary),
            SessionEvent::Failed(error) => {
                tracing::warn!(error = %error, "stream failed after the response started");
                let _ = write!(out, "data: {}\n\ndata: [DONE]\n\n", error.body());
            }
        }
    }

    fn open(&mut self, out: &mut String, id: &str, model: &str, created: u64) {
        let chunk_prefix = format!(
            "data: {{\"id\":{},\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":{}",
            escape(id),
            escape(model)
        );
        let choice_prefix = format!("{chunk_prefix},\"choices\":[{{\"index\":0,\"delta\":");
        let _ = write!(
            out,
            "{choice_prefix}{{\"role\":\"assistant\",\"content\":\"\"}}{CHOICE_SUFFIX}"
        );
        self.head = Some(Head {
            choice_prefix,
            chunk_prefix,
        });
    }

    /// One chunk whose delta holds `text` under each of `keys`.
    fn text_delta(&self, out: &mut String, keys: &[&str], text: &str) {
        let head = self.head.as_ref().expect("opened before any delta");
        out.reserve(
            head.choice_prefix.len() + CHOICE_SUFFIX.len() + keys.len() * (text.len() + 24),
        );
        out.push_str(&head.choice_prefix);
        for (i, key) in keys.iter().enumerate() {
            out.push(if i == 0 { '{' } else { ',' });
            out.push('"');
            out.push_str(key);
            out.push_str("\":");
            push_json_string(out, text);
        }
        out.push('}');
        out.push_str(CHOICE_SUFFIX);
    }

    /// One chunk whose delta is `delta`, already JSON.
    fn raw_delta(&self, out: &mut String, delta: impl std::fmt::Display) {
        let head = self.head.as_ref().expect("opened before any delta");
        let _ = write!(out, "{}{delta}{CHOICE_SUFFIX}", head.choice_prefix);
    }

    fn end(&self, out: &mut String, summary: &Summary) {
        let head = self.head.as_ref().expect("opened before the end");
        let report = serde_json::to_string(&summary.report).unwrap_or_else(|_| "null".into());
        let _ = write!(
            out,
            "{}{{}},\"logprobs\":null,\"finish_reason\":{}}}]",
            head.choice_prefix,
            escape(&summary.finish_reason)
        );
        if !self.usage_chunk {
            let _ = write!(out, ",\"selfbrake\":{report}}}\n\ndata: [DONE]\n\n");
            return;
        }
        let _ = write!(
            out,
            "}}\n\n{},\"choices\":[],\"usage\":{},\"selfbrake\":{report}}}\n\ndata: [DONE]\n\n",
            head.chunk_prefix,
            usage_json(summary),
        );
    }
}

/// OpenAI's usage object, with `completion_tokens_details.reasoning_tokens`.
pub(crate) fn usage_json(summary: &Summary) -> Value {
    let u = &summary.usage;
    json!({
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens.unwrap_or(0)},
    })
}

/// `text` as a JSON string literal.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_json_string(&mut out, text);
    out
}

/// Appends `text` as a JSON string literal, escaping per RFC 8259. Runs of
/// plain characters are copied at once; this is the per-token cost of the
/// proxy's output, so it avoids serde's intermediate `Value`.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escaped);
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// Merges streamed `tool_calls` deltas (by `index`) into whole calls.
/// An upstream's `index` beyond this is refused, not allocated for.
pub(crate) const MAX_TOOL_CALLS: u64 = 128;

pub(crate) fn merge_tool_call(
    calls: &mut Vec<Map<String, Value>>,
    delta: Value,
) -> Result<(), ProxyError> {
    let Value::Object(delta) = delta else {
        return Ok(());
    };
    let index = delta
        .get("index")
        .and_then(Value::as_u64)
        .unwrap_or(calls.len() as u64);
    if index >= MAX_TOOL_CALLS {
        return Err(ProxyError::Upstream(AdapterError::Protocol(format!(
            "tool_calls index {index} is beyond the {MAX_TOOL_CALLS} calls a reply may hold"
        ))));
    }
    let index = index as usize;
    while calls.len() <= index {
        calls.push(Map::new());
    }
    let call = &mut calls[index];
    for (key, value) in delta {
        match (key.as_str(), value) {
            ("index", _) => {}
            ("function", Value::Object(function)) => {
                let target = call
                    .entry("function")
                    .or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(target) = target else {
                    continue;
                };
                for (fk, fv) in function {
                    match (target.get_mut(&fk), fv) {
                        (Some(Value::String(existing)), Value::String(more)) => {
                            existing.push_str(&more)
                        }
                        (_, v) => {
                            target.insert(fk, v);
                        }
                    }
                }
            }
            (_, value) => {
                call.insert(key, value);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_through_a_json_parser() {
        for text in [
            "plain",
            "quote \" and \\ slash",
            "line\nbreak\r\ttab",
            "\u{1}\u{1f}ctl",
            "é 漢字 🙂",
            "",
        ] {
            let literal = escape(text);
            assert_eq!(
                serde_json::from_str::<String>(&literal).unwrap(),
                text,
                "{literal}"
            );
        }
    }
}
