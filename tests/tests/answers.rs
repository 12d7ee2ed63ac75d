//! Never an empty answer, and what the client reads on the wire.
mod common;

use common::{assemble, config, read_sse, request, Proxy};
use selfbrake_tests::{MockConfig, MockUpstream, Script};
use serde_json::Value;

/// A model that reasons to an answer, closes its think block and stops.
fn no_answer_mock() -> MockConfig {
    MockConfig::with_script(Script::new(
        "Two plus two: 2 + 2 = 4. So the answer is \\boxed{4}.",
        "",
    ))
}

#[tokio::test]
async fn reasoning_that_ends_without_an_answer_gets_one() {
    let mock = MockUpstream::start(no_answer_mock()).await;
    let proxy = Proxy::start(&config(&mock.base_url(), "rules = []")).await;
    let body: Value = proxy.chat(&request(false)).await.json().await.unwrap();
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(content.contains('4'), "the answer came back: {body}");
    assert_eq!(body["selfbrake"]["rule"], "no_answer");
    assert_eq!(body["selfbrake"]["answer_source"], "continuation");
    assert_eq!(
        mock.chat_bodies().len(),
        2,
        "one generation, one continuation"
    );

    let got = assemble(&read_sse(proxy.chat(&request(true)).await).await);
    assert!(got.content.contains('4'), "{got:?}");
    assert_eq!(got.selfbrake.unwrap()["rule"], "no_answer");
}

#[tokio::test]
async fn the_usage_chunk_goes_out_only_when_asked_for() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let proxy = Proxy::start(&config(&mock.base_url(), "rules = []")).await;

    let mut plain = request(true);
    plain.as_object_mut().unwrap().remove("stream_options");
    let events = read_sse(proxy.chat(&plain).await).await;
    for event in events.iter().filter(|e| e.data != "[DONE]") {
        let chunk = event.json();
        let choices = chunk["choices"].as_array().unwrap();
        assert!(!choices.is_empty(), "a chunk with empty choices: {chunk}");
    }
    let last = events[events.len() - 2].json();
    assert!(last["choices"][0]["finish_reason"].is_string(), "{last}");
    assert!(
        last["selfbrake"].is_object(),
        "selfbrake rides on the finishing chunk: {last}"
    );

    let mut asked = request(true);
    asked["stream_options"] = serde_json::json!({"include_usage": true});
    let events = read_sse(proxy.chat(&asked).await).await;
    let usage_chunk = events[events.len() - 2].json();
    assert_eq!(usage_chunk["choices"], serde_json::json!([]));
    assert!(usage_chunk["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert!(usage_chunk["selfbrake"].is_object());
}

#[tokio::test]
async fn non_streaming_replies_carry_the_braking_headers() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let proxy = Proxy::start(&config(
        &mock.base_url(),
        "rules = [{ kind = \"budget\", max_reasoning_tokens = 3 }]",
    ))
    .await;
    let response = proxy.chat(&request(false)).await;
    let headers = response.headers().clone();
    assert_eq!(headers["x-selfbrake-braked"], "true");
    assert_eq!(headers["x-selfbrake-rule"], "budget");
    assert_eq!(headers["x-selfbrake-reasoning-tokens"], "3");
    assert_eq!(headers["x-selfbrake-policy"], "test");
    let streamed = proxy.chat(&request(true)).await;
    assert_eq!(streamed.headers()["x-selfbrake-policy"], "test");
}

#[tokio::test]
async fn the_clients_token_cap_holds_across_brake_and_continuation() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let proxy = Proxy::start(&config(
        &mock.base_url(),
        "rules = []\nanswer_reserve_tokens = 4",
    ))
    .await;
    let mut capped = request(false);
    capped["max_completion_tokens"] = 12.into();
    let body: Value = proxy.chat(&capped).await.json().await.unwrap();
    assert_eq!(body["selfbrake"]["rule"], "max_tokens", "{body}");
    assert_eq!(body["selfbrake"]["reasoning_tokens"], 8);
    let used = body["usage"]["completion_tokens"].as_u64().unwrap();
    assert!(
        used <= 12,
        "the reply used {used} of the client's 12 tokens"
    );
    let bodies = mock.chat_bodies();
    assert_eq!(bodies.len(), 2, "a generation and its continuation");
    assert_eq!(
        bodies[1]["max_completion_tokens"], 4,
        "the continuation gets what is left"
    );
}

fn controls_config(base_url: &str) -> String {
    format!(
        r#"
[backends.default]
kind = "openai"
base_url = "{base_url}"

[policies.test]
rules = []
[policies.quick]
rules = [{{ kind = "budget", max_reasoning_tokens = 3 }}]

[tenants.anyone]
anonymous = true
backend = "default"
policy = "test"
reasoning_effort = {{ low = "quick" }}
"#
    )
}

#[tokio::test]
async fn reasoning_effort_picks_the_tenants_policy_for_it() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let proxy = Proxy::start(&controls_config(&mock.base_url())).await;
    let mut low = request(false);
    low["reasoning_effort"] = "low".into();
    let body: Value = proxy.chat(&low).await.json().await.unwrap();
    assert_eq!(body["selfbrake"]["policy"], "quick");
    assert_eq!(body["selfbrake"]["rule"], "budget");
    let mut high = request(false);
    high["reasoning_effort"] = "high".into();
    let body: Value = proxy.chat(&high).await.json().await.unwrap();
    assert_eq!(
        body["selfbrake"]["policy"], "test",
        "an unmapped effort keeps the tenant's policy"
    );
    assert_eq!(body["selfbrake"]["braked"], false);
    assert_eq!(
        mock.chat_bodies()[0]["reasoning_effort"],
        "low",
        "sent on as it came"
    );
}

#[tokio::test]
async fn the_requests_thinking_budget_brakes_where_it_says() {
    let mock = MockUpstream::start(MockConfig::default()).await;
    let proxy = Proxy::start(&controls_config(&mock.base_url())).await;
    let mut vllm = request(false);
    vllm["thinking_token_budget"] = 4.into();
    let body: Value = proxy.chat(&vllm).await.json().await.unwrap();
    assert_eq!(body["selfbrake"]["rule"], "thinking_budget");
    assert_eq!(body["selfbrake"]["reasoning_tokens"], 4);
    let mut anthropic = request(false);
    anthropic["thinking"] = serde_json::json!({"type": "enabled", "budget_tokens": 5});
    let body: Value = proxy.chat(&anthropic).await.json().await.unwrap();
    assert_eq!(body["selfbrake"]["reasoning_tokens"], 5);
    let sent = mock.chat_bodies();
    assert_eq!(
        sent[0]["thinking_token_budget"], 4,
        "vLLM's own key goes on"
    );
    assert!(
        sent[2].get("thinking").is_none(),
        "the Anthropic-style key does not: {}",
        sent[2]
    );
}
