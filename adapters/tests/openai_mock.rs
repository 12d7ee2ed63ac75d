//! `OpenAiBackend` against the mock vLLM upstream over loopback.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Map, Value};

use selfbrake_adapters::openai::{OpenAiBackend, OpenAiConfig};
use selfbrake_adapters::{
    AdapterError, Backend, BackendEvent, Continuation, ContinuationMode, EventStream, Usage,
};
use selfbrake_tests::{MockConfig, MockUpstream, ReasoningForm, Script};

fn request() -> Map<String, Value> {
    json!({"model": "mock-model", "messages": [{"role": "user", "content": "What is 2 + 2?"}],
           "temperature": 0.6, "stream": false, "x_custom": {"keep": true}})
    .as_object()
    .unwrap()
    .clone()
}

fn backend(mock: &MockUpstream, f: impl FnOnce(&mut OpenAiConfig)) -> OpenAiBackend {
    let mut cfg = OpenAiConfig {
        base_url: mock.base_url(),
        ..OpenAiConfig::default()
    };
    f(&mut cfg);
    OpenAiBackend::new(cfg).unwrap()
}

#[derive(Debug, Default)]
struct Collected {
    reasoning: String,
    content: String,
    meta: Option<BackendEvent>,
    finish: Option<String>,
    usage: Option<Usage>,
    error: Option<AdapterError>,
    after_error: usize,
}

async fn collect(mut s: EventStream) -> Collected {
    let mut c = Collected::default();
    while let Some(item) = s.next().await {
        if c.error.is_some() {
            c.after_error += 1;
        }
        match item {
            Ok(BackendEvent::Reasoning(t)) => c.reasoning.push_str(&t),
            Ok(BackendEvent::Content(t)) => c.content.push_str(&t),
            Ok(m @ BackendEvent::Meta { .. }) => c.meta = Some(m),
            Ok(BackendEvent::Finish(f)) => c.finish = Some(f),
            Ok(BackendEvent::Usage(u)) => c.usage = Some(u),
            Ok(e) => panic!("unexpected event {e:?}"),
            Err(e) => c.error = Some(e),
        }
    }
    c
}

#[tokio::test]
async fn every_reasoning_form_normalises_to_the_same_text() {
    let script = Script::default();
    for form in [
        ReasoningForm::Reasoning,
        ReasoningForm::ReasoningContent,
        ReasoningForm::InlineThink,
        ReasoningForm::InlineThinkNoOpen,
    ] {
        let mock = MockUpstream::start(MockConfig::with_script(script.clone().form(form))).await;
        let be = backend(&mock, |c| {
            c.assume_open_think = form == ReasoningForm::InlineThinkNoOpen
        });
        let c = collect(be.stream(request()).await.unwrap()).await;
        assert!(c.error.is_none(), "{form:?}: {:?}", c.error);
        assert_eq!(c.reasoning, script.reasoning, "{form:?}");
        assert_eq!(c.content, script.answer, "{form:?}");
        assert_eq!(c.finish.as_deref(), Some("stop"));
        let tokens = script.clone().form(form).tokens().len() as u64;
        let usage = c.usage.unwrap();
        assert_eq!(usage.completion_tokens, tokens);
        assert_eq!(usage.total_tokens, usage.prompt_tokens + tokens);
        match c.meta.unwrap() {
            BackendEvent::Meta { id, model, created } => {
                assert!(id.starts_with("chatcmpl-"));
                assert_eq!(model, "mock-model");
                assert!(created > 0);
            }
            _ => unreachable!(),
        }
    }
}

#[tokio::test]
async fn request_is_forced_to_stream_with_usage_and_auth() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let be = backend(&mock, |c| c.api_key = Some("sk-test".into()));
    collect(be.stream(request()).await.unwrap()).await;
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    let body = &reqs[0].body;
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["x_custom"], json!({"keep": true}));
    assert_eq!(body["temperature"], 0.6);
    assert_eq!(reqs[0].authorization.as_deref(), Some("Bearer sk-test"));
}

#[tokio::test]
async fn continuation_answers_from_the_prefix() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let be = backend(&mock, |_| {});
    let cont = Continuation {
        reasoning:
            "So it is \\boxed{4}.\n\nWait, I've verified my answer. No need to continue thinking."
                .into(),
        max_tokens: 64,
    };
    let c = collect(be.continue_answer(request(), cont).await.unwrap()).await;
    assert!(c.error.is_none());
    assert_eq!(c.reasoning, "");
    assert_eq!(c.content, "The final answer is $\\boxed{4}$.");
    let body = &mock.chat_bodies()[0];
    let msgs = body["messages"].as_array().unwrap();
    assert_eq!(msgs.last().unwrap()["role"], "assistant");
    assert!(msgs.last().unwrap()["content"]
        .as_str()
        .unwrap()
        .starts_with("<think>\nSo it is"));
    assert_eq!(body["continue_final_message"], true);
    assert_eq!(body["add_generation_prompt"], false);
    assert_eq!(body["max_tokens"], 64);
    assert!(mock.requests()[0].continuation);
    // The prefix is counted as prompt.
    assert!(c.usage.unwrap().prompt_tokens > 20);
}

#[tokio::test]
async fn continuation_none_is_unsupported() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let be = backend(&mock, |c| c.continuation = ContinuationMode::None);
    let cont = Continuation {
        reasoning: "r".into(),
        max_tokens: 8,
    };
    let r = be.continue_answer(request(), cont).await;
    assert!(matches!(r, Err(AdapterError::Unsupported("continue"))));
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn models_lists_the_served_model() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let m = backend(&mock, |_| {}).models().await.unwrap();
    assert_eq!(m["object"], "list");
    assert_eq!(m["data"][0]["id"], "mock-model");
}

#[tokio::test]
async fn dropping_the_stream_closes_the_upstream_within_100ms() {
    let script = Script::default().delay(Duration::from_millis(20));
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let be = backend(&mock, |_| {});
    let mut s = be.stream(request()).await.unwrap();
    let mut reasoning = 0;
    while reasoning < 3 {
        if let Ok(BackendEvent::Reasoning(_)) = s.next().await.unwrap() {
            reasoning += 1;
        }
    }
    let dropped = Instant::now();
    drop(s);
    let rec = mock
        .wait_closed(0, Duration::from_secs(2))
        .await
        .expect("upstream stream not closed");
    let closed = rec.closed_at.unwrap();
    assert!(!rec.completed);
    let lag = closed.saturating_duration_since(dropped);
    assert!(
        lag < Duration::from_millis(100),
        "closed {lag:?} after the drop"
    );
    assert!(rec.tokens_sent < Script::default().tokens().len());
}

#[tokio::test]
async fn real_traces_come_through_intact_in_every_form() {
    let traces = selfbrake_tests::load_traces();
    for t in traces.iter().step_by(17).take(5) {
        for form in [
            ReasoningForm::Reasoning,
            ReasoningForm::ReasoningContent,
            ReasoningForm::InlineThink,
            ReasoningForm::InlineThinkNoOpen,
        ] {
            let script = Script::from_trace(t).form(form);
            let mock = MockUpstream::start(MockConfig::with_script(script)).await;
            let be = backend(&mock, |c| {
                c.assume_open_think = form == ReasoningForm::InlineThinkNoOpen
            });
            let c = collect(be.stream(request()).await.unwrap()).await;
            assert!(c.error.is_none(), "{}/{form:?}: {:?}", t.id, c.error);
            assert_eq!(c.reasoning, t.reasoning, "{}/{form:?}", t.id);
            assert_eq!(c.content, t.answer, "{}/{form:?}", t.id);
        }
    }
}

#[tokio::test]
async fn prefill_mode_sends_only_the_trailing_message() {
    let mock = MockUpstream::start(MockConfig {
        continuation_answer: Some("Answer: 4".into()),
        ..MockConfig::default()
    })
    .await;
    let be = backend(&mock, |c| {
        c.continuation = ContinuationMode::Prefill;
        c.prefix_format = selfbrake_adapters::PrefixFormat::CloseOnly;
    });
    let cont = Continuation {
        reasoning: "It is 4.".into(),
        max_tokens: 2,
    };
    let c = collect(be.continue_answer(request(), cont).await.unwrap()).await;
    // "Answer: 4" is two tokens: it fits max_tokens = 2 exactly.
    assert_eq!(c.content, "Answer: 4");
    let body = &mock.chat_bodies()[0];
    assert_eq!(body["messages"][1]["content"], "It is 4.\n</think>\n\n");
    assert!(body.get("continue_final_message").is_none());
    assert_eq!(body["max_completion_tokens"], 2);
}

#[tokio::test]
async fn drop_is_seen_upstream_even_between_slow_chunks() {
    // The mock sleeps 2 s before each token: the close must be noticed
    // while it waits, not at its next write.
    let script = Script::default().delay(Duration::from_secs(2));
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let be = backend(&mock, |_| {});
    let mut s = be.stream(request()).await.unwrap();
    assert!(matches!(
        s.next().await,
        Some(Ok(BackendEvent::Meta { .. }))
    ));
    let dropped = Instant::now();
    drop(s);
    let rec = mock
        .wait_closed(0, Duration::from_secs(1))
        .await
        .expect("closed while idle");
    let lag = rec.closed_at.unwrap().saturating_duration_since(dropped);
    assert!(
        lag < Duration::from_millis(100),
        "closed {lag:?} after the drop"
    );
    assert_eq!(rec.tokens_sent, 0);
}

#[tokio::test]
async fn tags_split_across_chunks_on_the_wire() {
    let script = Script::default();
    for n in [1, 2, 3, 5, 7] {
        for form in [ReasoningForm::InlineThink, ReasoningForm::InlineThinkNoOpen] {
            let mock = MockUpstream::start(MockConfig::with_script(
                script.clone().form(form).chunk_chars(n),
            ))
            .await;
            let be = backend(&mock, |c| {
                c.assume_open_think = form == ReasoningForm::InlineThinkNoOpen
            });
            let c = collect(be.stream(request()).await.unwrap()).await;
            assert_eq!(
                (c.reasoning.as_str(), c.content.as_str()),
                (script.reasoning.as_str(), script.answer.as_str())
            );
        }
    }
}

#[tokio::test]
async fn continuation_answer_sent_as_reasoning_comes_as_reasoning() {
    let mock = MockUpstream::start(MockConfig {
        continuation_in_reasoning: true,
        ..MockConfig::default()
    })
    .await;
    let be = backend(&mock, |_| {});
    let cont = Continuation {
        reasoning: "\\boxed{4}".into(),
        max_tokens: 64,
    };
    let c = collect(be.continue_answer(request(), cont).await.unwrap()).await;
    assert_eq!(c.reasoning, "The final answer is $\\boxed{4}$.");
    assert_eq!(c.content, "");
}
