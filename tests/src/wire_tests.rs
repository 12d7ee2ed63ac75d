use super::*;

fn gen(form: ReasoningForm) -> Generation {
    Generation {
        id: "chatcmpl-abc".into(),
        created: 1700000000,
        model: "m".into(),
        tokens: vec![(true, "Hm".into()), (false, "4".into())],
        form,
        finish_reason: "stop".into(),
        prompt_tokens: 10,
        report_reasoning_tokens: false,
        include_usage: true,
        continuous_usage: false,
        tokens_per_chunk: 1,
    }
}

fn bytes(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| match s {
            Step::Send { bytes, .. } => bytes.as_str(),
            _ => "<break>",
        })
        .collect()
}

#[test]
fn stream_is_vllm_shaped() {
    let head = json!({"id": "chatcmpl-abc", "object": "chat.completion.chunk",
                      "created": 1700000000, "model": "m"});
    let with = |extra: Value| {
        let mut v = head.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let want = vec![
        with(
            json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                 "logprobs": null, "finish_reason": null}]}),
        ),
        with(
            json!({"choices": [{"index": 0, "delta": {"reasoning": "Hm"},
                                 "logprobs": null, "finish_reason": null}]}),
        ),
        with(
            json!({"choices": [{"index": 0, "delta": {"content": "4"}, "logprobs": null,
                                 "finish_reason": "stop", "stop_reason": null}]}),
        ),
        with(
            json!({"choices": [], "usage": {"prompt_tokens": 10, "total_tokens": 12,
                                             "completion_tokens": 2}}),
        ),
    ];
    let text = bytes(&gen(ReasoningForm::Reasoning).stream_steps());
    let events: Vec<&str> = text.split_terminator("\n\n").collect();
    assert!(text.ends_with("\n\n"));
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let got: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn no_usage_chunk_unless_asked() {
    let mut g = gen(ReasoningForm::ReasoningContent);
    g.include_usage = false;
    let b = bytes(&g.stream_steps());
    assert!(!b.contains("usage"));
    assert!(b.contains(r#"{"reasoning_content":"Hm"}"#));
}

#[test]
fn non_stream_bodies() {
    let b = gen(ReasoningForm::Reasoning).body();
    assert_eq!(b["object"], "chat.completion");
    assert_eq!(b["choices"][0]["message"]["reasoning"], "Hm");
    assert_eq!(b["choices"][0]["message"]["content"], "4");
    assert_eq!(b["usage"]["total_tokens"], 12);
    let mut g = gen(ReasoningForm::InlineThink);
    g.tokens = vec![
        (true, "<think>".into()),
        (true, "Hm".into()),
        (true, "</think>".into()),
        (false, "4".into()),
    ];
    assert_eq!(
        g.body()["choices"][0]["message"]["content"],
        "<think>Hm</think>4"
    );
}

#[test]
fn faults_shape_the_body() {
    let g = gen(ReasoningForm::Reasoning);
    let cut = apply_fault(
        g.stream_steps(),
        &Misbehaviour::CloseMidStream { after_chunks: 2 },
    );
    assert!(bytes(&cut).ends_with("<break>"));
    assert_eq!(cut.len(), 3);
    let end = apply_fault(
        g.stream_steps(),
        &Misbehaviour::EndWithoutDone { after_chunks: 2 },
    );
    assert!(!bytes(&end).contains("[DONE]"));
    let bad = bytes(&apply_fault(g.stream_steps(), &Misbehaviour::MalformedSse));
    assert!(bad.contains("this is not an event stream"));
}
