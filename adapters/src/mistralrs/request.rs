//! The client's OpenAI chat body, read into the engine's request types.

use ::mistralrs::{MessageContent, SamplingParams, StopTokens, Tool, ToolChoice};
use either::Either;
use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::backend::bad_request;
use crate::AdapterError;

/// Sampling and tools of one engine request.
pub(super) struct Params {
    pub sampling: SamplingParams,
    pub tools: Option<Vec<Tool>>,
    pub tool_choice: Option<ToolChoice>,
}

pub(super) struct Parsed {
    pub messages: Vec<IndexMap<String, MessageContent>>,
    /// `chat_template_kwargs.enable_thinking` (or a top-level `enable_thinking`).
    pub enable_thinking: Option<bool>,
    pub params: Params,
}

/// Reads `body`. `max_tokens` replaces the client's limit (a continuation's answer).
pub(super) fn parse(
    body: &Map<String, Value>,
    max_tokens: Option<u32>,
) -> Result<Parsed, AdapterError> {
    let messages = match body.get("messages") {
        Some(Value::Array(list)) if !list.is_empty() => {
            list.iter().map(message).collect::<Result<Vec<_>, _>>()?
        }
        _ => return Err(bad_request("`messages` must be a non-empty array")),
    };
    let enable_thinking = body
        .get("chat_template_kwargs")
        .and_then(|k| k.get("enable_thinking"))
        .or_else(|| body.get("enable_thinking"))
        .and_then(Value::as_bool);
    if let Some(n) = body.get("n").and_then(Value::as_u64) {
        if n != 1 {
            return Err(bad_request(
                "the embedded engine answers with one choice: `n` must be 1",
            ));
        }
    }
    let tools = match body.get("tools") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value::<Vec<Tool>>(v.clone())
                .map_err(|e| bad_request(&format!("`tools`: {e}")))?,
        ),
    };
    let tool_choice = match body.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value::<ToolChoice>(v.clone())
                .map_err(|e| bad_request(&format!("`tool_choice`: {e}")))?,
        ),
    };
    Ok(Parsed {
        messages,
        enable_thinking,
        params: Params {
            sampling: sampling(body, max_tokens)?,
            tools,
            tool_choice,
        },
    })
}

fn sampling(
    body: &Map<String, Value>,
    max_tokens: Option<u32>,
) -> Result<SamplingParams, AdapterError> {
    let f = |key: &str| body.get(key).and_then(Value::as_f64);
    let max_len = match max_tokens {
        Some(n) => Some(n as usize),
        None => body
            .get("max_completion_tokens")
            .or_else(|| body.get("max_tokens"))
            .and_then(Value::as_u64)
            .map(|n| n as usize),
    };
    let stop_toks = match body.get("stop") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(StopTokens::Seqs(vec![s.clone()])),
        Some(Value::Array(list)) => Some(StopTokens::Seqs(
            list.iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad_request("`stop` must be a string or an array of strings"))?,
        )),
        Some(_) => {
            return Err(bad_request(
                "`stop` must be a string or an array of strings",
            ))
        }
    };
    let mut params = SamplingParams::neutral();
    params.temperature = f("temperature");
    params.top_p = f("top_p");
    params.min_p = f("min_p");
    params.top_k = body
        .get("top_k")
        .and_then(Value::as_u64)
        .map(|k| k as usize);
    params.frequency_penalty = f("frequency_penalty").map(|v| v as f32);
    params.presence_penalty = f("presence_penalty").map(|v| v as f32);
    params.repetition_penalty = f("repetition_penalty").map(|v| v as f32);
    params.stop_toks = stop_toks;
    params.max_len = max_len;
    params.n_choices = 1;
    Ok(params)
}

/// One OpenAI message: `content` as a string (text parts joined), the other
/// string fields kept, `tool_calls` as a list.
fn message(v: &Value) -> Result<IndexMap<String, MessageContent>, AdapterError> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad_request("every message must be an object"))?;
    let role = obj
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("every message needs a string `role`"))?;
    let mut out = IndexMap::new();
    out.insert("role".to_string(), Either::Left(role.to_string()));
    out.insert(
        "content".to_string(),
        Either::Left(content(obj.get("content"))?),
    );
    for (key, value) in obj {
        match (key.as_str(), value) {
            ("role" | "content", _) => {}
            ("tool_calls", Value::Array(calls)) => {
                let calls = calls
                    .iter()
                    .filter_map(|c| c.as_object())
                    .map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .collect();
                out.insert(key.clone(), Either::Right(calls));
            }
            (_, Value::String(s)) => {
                out.insert(key.clone(), Either::Left(s.clone()));
            }
            _ => {}
        }
    }
    Ok(out)
}

fn content(v: Option<&Value>) -> Result<String, AdapterError> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for part in parts {
                match (part.get("type").and_then(Value::as_str), part.get("text")) {
                    (Some("text"), Some(Value::String(t))) => text.push_str(t),
                    _ => {
                        return Err(bad_request(
                            "the embedded engine takes text only: content parts must be `text`",
                        ))
                    }
                }
            }
            Ok(text)
        }
        Some(_) => Err(bad_request(
            "message `content` must be a string or an array of parts",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn reads_messages_and_sampling() {
        let b = body(json!({
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "2+"}, {"type": "text", "text": "2?"}]},
            ],
            "temperature": 0.0, "max_tokens": 7, "stop": "END", "top_k": 5,
            "chat_template_kwargs": {"enable_thinking": false}
        }));
        let p = parse(&b, None).unwrap();
        assert_eq!(p.messages.len(), 2);
        assert_eq!(p.messages[1]["content"], Either::Left("2+2?".to_string()));
        assert_eq!(p.enable_thinking, Some(false));
        assert_eq!(p.params.sampling.max_len, Some(7));
        assert_eq!(p.params.sampling.top_k, Some(5));
        assert_eq!(p.params.sampling.temperature, Some(0.0));
        assert!(
            matches!(p.params.sampling.stop_toks, Some(StopTokens::Seqs(ref s)) if s == &["END"])
        );
        let p = parse(&b, Some(64)).unwrap();
        assert_eq!(p.params.sampling.max_len, Some(64));
    }

    #[test]
    fn refuses_what_it_cannot_run() {
        for bad in [
            json!({"messages": []}),
            json!({"messages": [{"content": "no role"}]}),
            json!({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
            json!({"messages": [{"role": "user", "content": "x"}], "n": 2}),
            json!({"messages": [{"role": "user", "content": "x"}], "stop": 3}),
        ] {
            let err = parse(&body(bad.clone()), None).err().unwrap();
            assert!(
                matches!(err, AdapterError::Status { status: 400, .. }),
                "{bad}: {err}"
            );
        }
    }
}
