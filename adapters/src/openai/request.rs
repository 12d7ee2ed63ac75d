//! Request bodies sent upstream.

use serde_json::{json, Map, Value};

use crate::format::{prefix, PrefixFormat};
use crate::{AdapterError, Continuation, ContinuationMode};

/// The client's body (unknown keys kept) made a usage-reporting stream.
pub fn stream_body(mut req: Map<String, Value>) -> Map<String, Value> {
    req.insert("stream".into(), Value::Bool(true));
    req.insert("stream_options".into(), json!({"include_usage": true}));
    req
}

/// The continuation body: the client's request plus a trailing assistant
/// message holding the prefix, the answer's token limit, and (for
/// `ContinueFinalMessage`) vLLM/SGLang's `continue_final_message: true,
/// add_generation_prompt: false`. Streams like [`stream_body`].
pub fn continuation_body(
    mut req: Map<String, Value>,
    cont: &Continuation,
    mode: ContinuationMode,
    format: PrefixFormat,
) -> Result<Map<String, Value>, AdapterError> {
    if mode == ContinuationMode::None {
        return Err(AdapterError::Unsupported("continue"));
    }
    let message = json!({"role": "assistant", "content": prefix(format, &cont.reasoning)});
    match req.get_mut("messages") {
        Some(Value::Array(messages)) => messages.push(message),
        None | Some(Value::Null) => {
            req.insert("messages".into(), Value::Array(vec![message]));
        }
        Some(_) => return Err(AdapterError::Internal("`messages` is not an array".into())),
    }
    req.insert("max_tokens".into(), cont.max_tokens.into());
    req.insert("max_completion_tokens".into(), cont.max_tokens.into());
    if mode == ContinuationMode::ContinueFinalMessage {
        req.insert("continue_final_message".into(), Value::Bool(true));
        req.insert("add_generation_prompt".into(), Value::Bool(false));
    }
    Ok(stream_body(req))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_request() -> Map<String, Value> {
        json!({
            "model": "m", "stream": false, "stream_options": {"include_usage": false},
            "messages": [{"role": "user", "content": "2+2?"}],
            "max_tokens": 9000, "temperature": 0.6, "custom_key": [1]
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn cont() -> Continuation {
        Continuation {
            reasoning: "It is 4. Wait, verified.".into(),
            max_tokens: 64,
        }
    }

    #[test]
    fn stream_body_forces_stream_and_usage() {
        let b = stream_body(client_request());
        assert_eq!(b["stream"], true);
        assert_eq!(b["stream_options"], json!({"include_usage": true}));
        assert_eq!(b["custom_key"], json!([1]));
        assert_eq!(b["max_tokens"], 9000);
    }

    #[test]
    fn continue_final_message_body() {
        let b = continuation_body(
            client_request(),
            &cont(),
            ContinuationMode::ContinueFinalMessage,
            PrefixFormat::ThinkTags,
        )
        .unwrap();
        let msgs = b["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(
            msgs[1],
            json!({"role": "assistant", "content": "<think>\nIt is 4. Wait, verified.\n</think>\n\n"})
        );
        assert_eq!(b["max_tokens"], 64);
        assert_eq!(b["max_completion_tokens"], 64);
        assert_eq!(b["continue_final_message"], true);
        assert_eq!(b["add_generation_prompt"], false);
        assert_eq!(b["stream"], true);
        assert_eq!(b["temperature"], 0.6);
        assert_eq!(b["custom_key"], json!([1]));
    }

    #[test]
    fn prefill_body_and_close_only() {
        let b = continuation_body(
            client_request(),
            &cont(),
            ContinuationMode::Prefill,
            PrefixFormat::CloseOnly,
        )
        .unwrap();
        assert_eq!(
            b["messages"][1]["content"],
            "It is 4. Wait, verified.\n</think>\n\n"
        );
        assert!(b.get("continue_final_message").is_none());
        assert!(b.get("add_generation_prompt").is_none());
        assert_eq!(b["max_tokens"], 64);
    }

    #[test]
    fn none_is_unsupported() {
        let r = continuation_body(
            client_request(),
            &cont(),
            ContinuationMode::None,
            PrefixFormat::ThinkTags,
        );
        assert!(matches!(r, Err(AdapterError::Unsupported("continue"))));
    }
}
