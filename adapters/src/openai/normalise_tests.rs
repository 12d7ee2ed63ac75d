use serde_json::json;

use super::*;

fn chunk(delta: Value, finish: Value) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
    })
}

fn usage_chunk() -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m",
        "choices": [],
        "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14,
                  "completion_tokens_details": {"reasoning_tokens": 6}}
    })
}

/// Runs the chunks through the general path and, serialised, through
/// `data` (which takes the fast path where it can): both must agree.
fn run(assume_open: bool, chunks: Vec<Value>) -> Vec<BackendEvent> {
    let mut general = Normaliser::new(assume_open);
    let mut via_data = Normaliser::new(assume_open);
    let mut out = Vec::new();
    let mut out_data = Vec::new();
    for c in chunks {
        out_data.extend(via_data.data(&c.to_string()).unwrap());
        out.extend(general.chunk(c).unwrap());
    }
    out.extend(general.finish());
    out_data.extend(via_data.finish());
    assert_eq!(out, out_data, "fast and general paths disagree");
    out
}

#[test]
fn common_vllm_chunks_take_the_fast_path() {
    for delta in [
        json!({"role": "assistant", "content": ""}),
        json!({"reasoning": "Let me think.\n\n"}),
        json!({"reasoning_content": "é 漢字 \"quoted\""}),
        json!({"content": "<think>"}),
        json!({}),
    ] {
        let data = chunk(delta.clone(), Value::Null).to_string();
        assert!(super::super::fast::parse(&data).is_some(), "{data}");
    }
    let finishing = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"content": ""}, "logprobs": null, "finish_reason": "stop", "stop_reason": null}]});
    assert!(super::super::fast::parse(&finishing.to_string()).is_some());
    // Anything unusual goes the general way.
    for data in [
        usage_chunk().to_string(),
        chunk(json!({"tool_calls": [{"index": 0}]}), Value::Null).to_string(),
        chunk(json!({"content": "x", "audio": {}}), Value::Null).to_string(),
        json!({"object": "error", "message": "boom", "choices": []}).to_string(),
    ] {
        assert!(super::super::fast::parse(&data).is_none(), "{data}");
    }
}

/// (reasoning, content) concatenated, and the non-text events.
fn texts(events: &[BackendEvent]) -> (String, String, Vec<BackendEvent>) {
    let (mut r, mut c, mut other) = (String::new(), String::new(), Vec::new());
    for e in events {
        match e {
            BackendEvent::Reasoning(s) => r.push_str(s),
            BackendEvent::Content(s) => c.push_str(s),
            e => other.push(e.clone()),
        }
    }
    (r, c, other)
}

fn expected_other() -> Vec<BackendEvent> {
    vec![
        BackendEvent::Meta {
            id: "chatcmpl-1".into(),
            model: "m".into(),
            created: 7,
        },
        BackendEvent::Finish("stop".into()),
        BackendEvent::Usage(Usage {
            prompt_tokens: 5,
            completion_tokens: 9,
            total_tokens: 14,
            reasoning_tokens: Some(6),
        }),
    ]
}

fn field_form(key: &str) -> Vec<Value> {
    vec![
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({key: "Two plus"}), Value::Null),
        chunk(json!({key: " two is 4."}), Value::Null),
        chunk(json!({"content": "The answer"}), Value::Null),
        chunk(json!({"content": " is 4."}), json!("stop")),
        usage_chunk(),
    ]
}

#[test]
fn every_reasoning_form_normalises_alike() {
    let want = (
        "Two plus two is 4.".to_string(),
        "The answer is 4.".to_string(),
    );
    let inline = vec![
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": "<thi"}), Value::Null),
        chunk(json!({"content": "nk>Two plus"}), Value::Null),
        chunk(json!({"content": " two is 4.</"}), Value::Null),
        chunk(json!({"content": "think>The answer"}), Value::Null),
        chunk(json!({"content": " is 4."}), json!("stop")),
        usage_chunk(),
    ];
    let no_open = vec![
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": "Two plus two is 4."}), Value::Null),
        chunk(json!({"content": "</think>The answer"}), Value::Null),
        chunk(json!({"content": " is 4."}), json!("stop")),
        usage_chunk(),
    ];
    for (assume, chunks) in [
        (false, field_form("reasoning")),
        (false, field_form("reasoning_content")),
        (true, field_form("reasoning")),
        (false, inline),
        (true, no_open),
    ] {
        let (r, c, other) = texts(&run(assume, chunks));
        assert_eq!((r, c), want);
        assert_eq!(other, expected_other());
    }
}

#[test]
fn role_only_first_chunk_gives_only_meta() {
    let mut n = Normaliser::new(false);
    let ev = n
        .chunk(chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        ))
        .unwrap();
    assert_eq!(ev.len(), 1);
    assert!(matches!(ev[0], BackendEvent::Meta { .. }));
    let ev = n
        .chunk(chunk(json!({"role": "assistant"}), Value::Null))
        .unwrap();
    assert!(ev.is_empty());
}

#[test]
fn tool_calls_and_extra_untouched() {
    let call = json!({"index": 0, "id": "call_1", "type": "function",
                      "function": {"name": "f", "arguments": "{\"a\":"}});
    let mut n = Normaliser::new(false);
    n.chunk(chunk(json!({"role": "assistant"}), Value::Null))
        .unwrap();
    let ev = n
        .chunk(chunk(
            json!({"tool_calls": [call.clone()], "refusal": null, "audio": {"x": 1}}),
            Value::Null,
        ))
        .unwrap();
    let mut extra = Map::new();
    extra.insert("audio".into(), json!({"x": 1}));
    assert_eq!(
        ev,
        vec![BackendEvent::ToolCall(call), BackendEvent::Extra(extra)]
    );
}

#[test]
fn finish_flushes_held_text_first() {
    let mut n = Normaliser::new(false);
    n.chunk(chunk(json!({"content": "a <"}), Value::Null))
        .unwrap();
    let ev = n
        .chunk(chunk(json!({"content": ""}), json!("length")))
        .unwrap();
    let mut n2 = Normaliser::new(true);
    let ev2 = n2
        .chunk(chunk(json!({"content": "r </thi"}), json!("length")))
        .unwrap();
    assert_eq!(ev.last(), Some(&BackendEvent::Finish("length".into())));
    assert_eq!(texts(&ev).1, "");
    assert_eq!(texts(&ev2).0, "r </thi");
    assert_eq!(ev2.last(), Some(&BackendEvent::Finish("length".into())));
}

#[test]
fn protocol_errors() {
    let mut n = Normaliser::new(false);
    for bad in [
        json!([1, 2]),
        json!({"id": "x"}),
        json!({"choices": {}}),
        json!({"choices": [{"index": 0, "delta": {"content": 3}}]}),
        json!({"error": {"message": "boom"}}),
        json!({"object": "error", "message": "boom"}),
    ] {
        assert!(matches!(n.chunk(bad), Err(AdapterError::Protocol(_))));
    }
}

#[test]
fn usage_without_details_and_other_choices_ignored() {
    let mut n = Normaliser::new(false);
    let ev = n
        .chunk(json!({"choices": [{"index": 1, "delta": {"content": "x"}}],
                      "usage": {"prompt_tokens": 1, "completion_tokens": 2}}))
        .unwrap();
    assert_eq!(
        ev[1..],
        [BackendEvent::Usage(Usage {
            prompt_tokens: 1,
            completion_tokens: 2,
            total_tokens: 3,
            reasoning_tokens: None
        })]
    );
}

#[test]
fn both_reasoning_names_count_once() {
    let ev = run(
        false,
        vec![
            chunk(
                json!({"reasoning": "r1", "reasoning_content": "r1"}),
                Value::Null,
            ),
            chunk(
                json!({"reasoning": null, "reasoning_content": "r2"}),
                Value::Null,
            ),
            chunk(
                json!({"content": "a", "reasoning": null, "reasoning_content": null}),
                Value::Null,
            ),
        ],
    );
    let (r, c, _) = texts(&ev);
    assert_eq!((r.as_str(), c.as_str()), ("r1r2", "a"));
}

/// A continuation's chunks through both paths, as `run` does.
fn run_continuation(prefix: &str, chunks: Vec<Value>) -> Vec<BackendEvent> {
    let mut general = Normaliser::continuation(prefix);
    let mut via_data = Normaliser::continuation(prefix);
    let (mut out, mut out_data) = (Vec::new(), Vec::new());
    for c in chunks {
        out_data.extend(via_data.data(&c.to_string()).unwrap());
        out.extend(general.chunk(c).unwrap());
    }
    out.extend(general.finish());
    out_data.extend(via_data.finish());
    assert_eq!(out, out_data, "fast and general paths disagree");
    out
}

/// (reasoning, content) of a continuation's events.
fn answer_texts(events: &[BackendEvent]) -> (String, String) {
    let (r, c, _) = texts(events);
    (r, c)
}

const PREFIX: &str = "<think>\nIt is 4.\n\nWait, verified.\n</think>\n\n";

#[test]
fn continuation_echo_in_content_is_removed_before_think_splitting() {
    // llama-server: the first content delta is the prefix joined to the first new token.
    let ev = run_continuation(
        PREFIX,
        vec![
            chunk(json!({"role": "assistant", "content": null}), Value::Null),
            chunk(json!({"content": format!("{PREFIX}The")}), Value::Null),
            chunk(json!({"content": " answer is 4."}), Value::Null),
            chunk(json!({}), json!("stop")),
        ],
    );
    assert_eq!(
        answer_texts(&ev),
        (String::new(), "The answer is 4.".into())
    );
    assert_eq!(ev.last(), Some(&BackendEvent::Finish("stop".into())));
}

#[test]
fn continuation_echo_as_reasoning_field_is_removed() {
    let (a, b) = PREFIX.split_at(PREFIX.find("</think>").unwrap());
    let ev = run_continuation(
        PREFIX,
        vec![
            chunk(json!({"reasoning_content": a}), Value::Null),
            chunk(json!({"content": format!("{b}Four.")}), Value::Null),
            chunk(json!({}), json!("stop")),
        ],
    );
    assert_eq!(answer_texts(&ev), (String::new(), "Four.".into()));
}

#[test]
fn continuation_without_echo_is_unchanged() {
    let ev = run_continuation(
        PREFIX,
        vec![
            chunk(json!({"content": "<think>"}), Value::Null),
            chunk(json!({"content": "x</think>The answer."}), Value::Null),
            chunk(json!({}), json!("stop")),
        ],
    );
    // Same as a plain normaliser gives: the echo check changed nothing.
    let plain = run(
        false,
        vec![
            chunk(json!({"content": "<think>"}), Value::Null),
            chunk(json!({"content": "x</think>The answer."}), Value::Null),
            chunk(json!({}), json!("stop")),
        ],
    );
    assert_eq!(ev, plain);
    assert_eq!(answer_texts(&ev), ("x".into(), "The answer.".into()));
}

#[test]
fn continuation_held_text_comes_before_a_tool_call() {
    let ev = run_continuation(
        PREFIX,
        vec![
            chunk(json!({"content": "<think>\nIt"}), Value::Null),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "c1"}]}),
                Value::Null,
            ),
        ],
    );
    let kinds: Vec<_> = ev
        .iter()
        .filter(|e| !matches!(e, BackendEvent::Meta { .. }))
        .collect();
    // Released through the think splitter: `<think>` opened reasoning.
    assert_eq!(kinds[0], &BackendEvent::Reasoning("\nIt".into()));
    assert!(matches!(kinds[1], BackendEvent::ToolCall(c) if c["id"] == "c1"));
}
