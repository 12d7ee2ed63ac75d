//! The braking proxy end to end: a mock vLLM replaying real traces, selfbrake
//! in front of it, a client reading the stream.
mod common;

use std::time::Duration;

use common::{assemble, config, read_sse, request, Proxy};
use selfbrake_tests::{
    load_traces, tokenize, trace, MockConfig, MockUpstream, ReasoningForm, Script,
};
use serde_json::Value;

const STATEMENT: &str = "Wait, I've verified my answer. No need to continue thinking.";

fn budget_policy(tokens: u64) -> String {
    format!(
        "brake_statement = \"{STATEMENT}\"\nanswer_max_tokens = 64\nrules = [{{ kind = \"budget\", max_reasoning_tokens = {tokens} }}]"
    )
}

fn kept(reasoning: &str, tokens: usize) -> String {
    tokenize(reasoning)[..tokens].concat()
}

#[tokio::test]
async fn budget_brake_cuts_the_upstream_and_answers_from_the_kept_reasoning() {
    let t = trace("r1-gsm8k-1");
    let mock = MockUpstream::start(MockConfig::with_script(
        Script::from_trace(&t).delay(Duration::from_millis(2)),
    ))
    .await;
    let proxy = Proxy::start(&config(&mock.base_url(), &budget_policy(40))).await;

    let events = read_sse(proxy.chat(&request(true)).await).await;
    let got = assemble(&events);

    // One completion, well-formed, ending in [DONE].
    assert!(got.done);
    assert_eq!(
        got.ids.len(),
        1,
        "one id for the whole completion: {:?}",
        got.ids
    );
    assert!(got.error.is_none());

    // The reasoning is cut after 40 tokens and closed by the brake statement.
    let kept = kept(&t.reasoning, 40);
    let separator = if kept.ends_with("\n\n") {
        ""
    } else if kept.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    assert_eq!(got.reasoning, format!("{kept}{separator}{STATEMENT}"));
    let report = got.selfbrake.expect("selfbrake object in the last chunk");
    assert_eq!(report["braked"], true);
    assert_eq!(report["rule"], "budget");
    assert_eq!(report["policy"], "test");
    assert_eq!(report["reasoning_tokens"], 40);
    assert_eq!(report["answer_source"], "continuation");

    // The upstream stopped generating at the brake (within 100 ms of it).
    let first = mock
        .wait_closed(0, Duration::from_secs(2))
        .await
        .expect("reasoning stream closed");
    assert!(
        !first.completed,
        "the reasoning stream must be cut, not finished"
    );
    let last_kept_at = events
        .iter()
        .filter(|e| e.data.contains("reasoning_content"))
        .nth(39)
        .expect("40 reasoning chunks")
        .at;
    let closed_at = first.closed_at.unwrap();
    let lag = closed_at.saturating_duration_since(last_kept_at);
    eprintln!(
        "upstream closed {lag:?} after the brake, {} tokens sent",
        first.tokens_sent
    );
    assert!(
        lag < Duration::from_millis(100),
        "upstream closed {lag:?} after the brake"
    );
    assert!(
        first.tokens_sent < 40 + 50,
        "upstream kept generating: {} tokens",
        first.tokens_sent
    );

    // The continuation carries the kept reasoning plus the statement.
    let bodies = mock.chat_bodies();
    assert_eq!(bodies.len(), 2);
    let continuation = &bodies[1];
    let last = continuation["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(last["role"], "assistant");
    assert_eq!(
        last["content"].as_str().unwrap(),
        format!("<think>\n{kept}{separator}{STATEMENT}\n</think>\n\n")
    );
    assert_eq!(continuation["continue_final_message"], true);
    assert_eq!(continuation["add_generation_prompt"], false);
    assert_eq!(continuation["max_tokens"], 64);
    assert_eq!(continuation["stream"], true);

    // The answer is the continuation's content.
    let answer = "The final answer is $\\boxed{540}$.";
    assert_eq!(got.content, answer);
    assert_eq!(got.finish_reason.as_deref(), Some("stop"));

    // Usage sums both calls: 40 reasoning tokens + the answer's tokens.
    let usage = got.usage.expect("usage");
    let answer_tokens = tokenize(answer).len() as u64;
    assert_eq!(usage["completion_tokens"], 40 + answer_tokens);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 40);
    assert_eq!(report["answer_tokens"], answer_tokens);
    let prompt = usage["prompt_tokens"].as_u64().unwrap();
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        prompt + 40 + answer_tokens
    );
    let continuation_prompt = selfbrake_tests::mock::prompt_tokens(continuation);
    assert!(
        prompt > continuation_prompt,
        "prompt tokens of both calls are summed"
    );
}

#[tokio::test]
async fn unbraked_traces_pass_through_unchanged_in_every_reasoning_form() {
    let t = trace("r1-gsm8k-5");
    for (form, backend_extra) in [
        (ReasoningForm::Reasoning, ""),
        (ReasoningForm::ReasoningContent, ""),
        (ReasoningForm::InlineThink, ""),
        (
            ReasoningForm::InlineThinkNoOpen,
            "assume_open_think = true\n",
        ),
    ] {
        let mock =
            MockUpstream::start(MockConfig::with_script(Script::from_trace(&t).form(form))).await;
        let cfg = config(&mock.base_url(), &budget_policy(1_000_000)).replace(
            "idle_timeout_ms = 2000\n",
            &format!("idle_timeout_ms = 2000\n{backend_extra}"),
        );
        let proxy = Proxy::start(&cfg).await;
        let got = assemble(&read_sse(proxy.chat(&request(true)).await).await);
        assert!(got.done, "{form:?}");
        assert_eq!(got.reasoning, t.reasoning, "{form:?}: reasoning");
        assert_eq!(got.content, t.answer, "{form:?}: content byte for byte");
        let report = got.selfbrake.unwrap();
        assert_eq!(report["braked"], false, "{form:?}");
        assert_eq!(report["answer_source"], "model");
        assert_eq!(
            mock.chat_bodies().len(),
            1,
            "no continuation without a brake"
        );
        let usage = got.usage.unwrap();
        let reasoning_tokens = tokenize(&t.reasoning).len() as u64;
        let answer_tokens = tokenize(&t.answer).len() as u64;
        let tags = match form {
            ReasoningForm::InlineThink => 2,
            ReasoningForm::InlineThinkNoOpen => 1,
            _ => 0,
        };
        assert_eq!(
            usage["completion_tokens"],
            reasoning_tokens + answer_tokens + tags,
            "{form:?}"
        );
        // The upstream was always asked to stream, with usage.
        let body = &mock.chat_bodies()[0];
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
    }
}

#[tokio::test]
async fn non_stream_response_is_built_from_the_same_session() {
    let t = trace("r1-gsm8k-1");
    let mock = MockUpstream::start(MockConfig::with_script(Script::from_trace(&t))).await;
    let proxy = Proxy::start(&config(&mock.base_url(), &budget_policy(40))).await;

    let streamed = assemble(&read_sse(proxy.chat(&request(true)).await).await);
    let response = proxy.chat(&request(false)).await;
    assert_eq!(response.status(), 200);
    let full: Value = response.json().await.unwrap();
    assert_eq!(full["object"], "chat.completion");
    let message = &full["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["content"].as_str().unwrap(), streamed.content);
    assert_eq!(
        message["reasoning_content"].as_str().unwrap(),
        streamed.reasoning
    );
    assert_eq!(full["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        full["usage"]["completion_tokens"],
        streamed.usage.unwrap()["completion_tokens"]
    );
    assert_eq!(full["selfbrake"]["braked"], true);
    assert_eq!(full["selfbrake"]["rule"], "budget");
    // Upstream is streamed even when the client is not.
    assert_eq!(mock.chat_bodies()[2]["stream"], true);
}

#[tokio::test]
async fn convergence_brakes_real_traces_after_the_answer_is_reached() {
    let policy = format!(
        "brake_statement = \"{STATEMENT}\"\nrules = [{{ kind = \"convergence\", repeats = 2 }}]"
    );
    let mut braked = 0;
    for t in load_traces()
        .into_iter()
        .filter(|t| t.source == "r1-gsm8k")
        .take(6)
    {
        let mock = MockUpstream::start(MockConfig::with_script(Script::from_trace(&t))).await;
        let proxy = Proxy::start(&config(&mock.base_url(), &policy)).await;
        let got = assemble(&read_sse(proxy.chat(&request(true)).await).await);
        let report = got.selfbrake.unwrap();
        if report["braked"] == true {
            braked += 1;
            assert_eq!(report["rule"], "convergence", "{}", t.id);
            let kept = got.reasoning.strip_suffix(STATEMENT).unwrap().trim_end();
            assert!(
                t.reasoning.starts_with(kept),
                "{}: kept reasoning is a prefix",
                t.id
            );
            assert!(
                kept.len() < t.reasoning.trim_end().len(),
                "{}: something was cut",
                t.id
            );
            // The brake came after the answer: the trace's own final answer
            // is already in what the client was given.
            let final_answer = t.final_answer.as_deref().expect("a final answer");
            assert!(
                !selfbrake_policies::eval::bare_occurrences(kept, final_answer).is_empty(),
                "{}: braked before its final answer {final_answer} appeared",
                t.id
            );
            assert!(
                !got.content.is_empty(),
                "{}: the continuation answered",
                t.id
            );
        } else {
            assert_eq!(got.reasoning, t.reasoning);
        }
    }
    assert!(
        braked >= 3,
        "convergence braked only {braked} of 6 GSM8K traces"
    );
}

#[tokio::test]
async fn extract_and_stop_answer_without_a_continuation() {
    let t = trace("r1-gsm8k-1");
    for (on_brake, continuation, expect_content, source) in [
        ("extract", "none", true, "extracted"),
        ("continue", "none", true, "extracted"),
        ("stop", "continue_final_message", false, "none"),
    ] {
        let mock = MockUpstream::start(MockConfig::with_script(Script::from_trace(&t))).await;
        let policy = format!(
            "on_brake = \"{on_brake}\"\nrules = [{{ kind = \"convergence\", repeats = 2 }}]"
        );
        let cfg = config(&mock.base_url(), &policy).replace(
            "idle_timeout_ms = 2000\n",
            &format!("idle_timeout_ms = 2000\ncontinuation = \"{continuation}\"\n"),
        );
        let proxy = Proxy::start(&cfg).await;
        let got = assemble(&read_sse(proxy.chat(&request(true)).await).await);
        let report = got.selfbrake.unwrap();
        assert_eq!(report["braked"], true, "{on_brake}");
        assert_eq!(report["answer_source"], source, "{on_brake}");
        assert_eq!(
            mock.chat_bodies().len(),
            1,
            "{on_brake}: no continuation request"
        );
        if expect_content {
            assert!(
                got.content.contains("\\boxed{540}"),
                "{on_brake}: {:?}",
                got.content
            );
        } else {
            assert_eq!(got.content, "");
        }
        assert!(got.done);
    }
}

#[tokio::test]
async fn failed_continuation_still_ends_well_formed_with_the_extracted_answer() {
    let t = trace("r1-gsm8k-1");
    let mut cfg = MockConfig::with_script(Script::from_trace(&t));
    cfg.continuation_fault = selfbrake_tests::Misbehaviour::status(500, "engine crashed");
    let mock = MockUpstream::start(cfg).await;
    let policy = "rules = [{ kind = \"convergence\", repeats = 2 }]";
    let proxy = Proxy::start(&config(&mock.base_url(), policy)).await;
    let got = assemble(&read_sse(proxy.chat(&request(true)).await).await);
    assert!(got.done);
    assert!(got.error.is_none());
    let report = got.selfbrake.unwrap();
    assert_eq!(report["answer_source"], "extracted");
    assert!(report["reason"]
        .as_str()
        .unwrap()
        .contains("continuation failed"));
    assert!(got.content.contains("\\boxed{540}"), "{:?}", got.content);
    assert_eq!(mock.chat_bodies().len(), 2);
}

#[tokio::test]
async fn system_prompt_is_injected_upstream() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let policy = "system_prompt = \"Reason efficiently.\"\nrules = []";
    let proxy = Proxy::start(&config(&mock.base_url(), policy)).await;
    let response = proxy.chat(&request(false)).await;
    assert_eq!(response.status(), 200);
    let sent = &mock.chat_bodies()[0]["messages"];
    assert_eq!(sent[0]["role"], "system");
    assert_eq!(sent[0]["content"], "Reason efficiently.");
    assert_eq!(sent[1]["content"], "What is 2 + 2?");
}

#[tokio::test]
async fn models_lists_what_the_backend_serves() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let proxy = Proxy::start(&config(&mock.base_url(), "rules = []")).await;
    let models = common::json_of(common::client().get(proxy.url("/v1/models"))).await;
    assert_eq!(models["data"][0]["id"], "mock-model");
    let health = common::client()
        .get(proxy.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
