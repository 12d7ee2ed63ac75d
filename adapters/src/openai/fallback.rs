//! A 2xx answer in `application/json` to a streaming request (a server or
//! gateway that ignores `stream: true`): the `chat.completion` body is
//! turned into the events a stream would have given.

use serde_json::{json, Value};

use super::normalise::Normaliser;
use crate::{AdapterError, BackendEvent};

/// Events of a non-stream `chat.completion` body, as one synthetic chunk
/// through the normaliser (so reasoning forms are handled alike).
pub fn completion_events(
    body: &Value,
    mut norm: Normaliser,
) -> Result<Vec<BackendEvent>, AdapterError> {
    let Some(obj) = body.as_object() else {
        return Err(AdapterError::Protocol(
            "completion body is not a JSON object".into(),
        ));
    };
    let mut chunk = obj.clone();
    if let Some(Value::Array(choices)) = obj.get("choices") {
        let converted: Vec<Value> = choices
            .iter()
            .map(|c| {
                let mut delta = c.get("message").cloned().unwrap_or_else(|| json!({}));
                if let Some(Value::Array(calls)) = delta.get_mut("tool_calls") {
                    for (i, call) in calls.iter_mut().enumerate() {
                        if let Some(call) = call.as_object_mut() {
                            call.entry("index").or_insert(i.into());
                        }
                    }
                }
                json!({"index": c.get("index").cloned().unwrap_or(json!(0)), "delta": delta,
                       "finish_reason": c.get("finish_reason").cloned().unwrap_or(Value::Null)})
            })
            .collect();
        chunk.insert("choices".into(), Value::Array(converted));
    }
    let mut out = norm.chunk(Value::Object(chunk))?;
    out.extend(norm.finish());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Usage;

    #[test]
    fn completion_becomes_events() {
        let body = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 3, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                "message": {"role": "assistant", "content": "<think>r</think>a", "tool_calls": [],
                            "refusal": null}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
        });
        let ev = completion_events(&body, Normaliser::new(false)).unwrap();
        assert_eq!(
            ev,
            vec![
                BackendEvent::Meta {
                    id: "chatcmpl-1".into(),
                    model: "m".into(),
                    created: 3
                },
                BackendEvent::Reasoning("r".into()),
                BackendEvent::Content("a".into()),
                BackendEvent::Finish("stop".into()),
                BackendEvent::Usage(Usage {
                    prompt_tokens: 1,
                    completion_tokens: 2,
                    total_tokens: 3,
                    reasoning_tokens: None
                }),
            ]
        );
    }

    #[test]
    fn tool_calls_get_an_index() {
        let body = json!({"choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "reasoning": "x",
                        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}]});
        let ev = completion_events(&body, Normaliser::new(false)).unwrap();
        assert_eq!(ev[1], BackendEvent::Reasoning("x".into()));
        assert!(matches!(&ev[2], BackendEvent::ToolCall(c) if c["index"] == 0 && c["id"] == "c1"));
        assert!(completion_events(&json!("no"), Normaliser::new(false)).is_err());
    }
}
