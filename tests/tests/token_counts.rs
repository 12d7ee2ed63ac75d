//! Reasoning counted in real tokens where the backend reports them on every
//! chunk (`stream_options.continuous_usage_stats`), so a server that sends
//! several tokens a chunk (speculative decoding, stream intervals) cannot
//! overshoot a budget.
mod common;

use common::{request, Proxy};
use selfbrake_tests::{trace, MockConfig, MockUpstream, Script};
use serde_json::Value;

fn config(base_url: &str, continuous: bool) -> String {
    format!(
        r#"
[backends.default]
kind = "openai"
base_url = "{base_url}"
continuous_usage_stats = {continuous}

[policies.test]
rules = [{{ kind = "budget", max_reasoning_tokens = 20 }}]

[tenants.anyone]
anonymous = true
backend = "default"
policy = "test"
"#
    )
}

/// The reasoning the client got before the brake statement, in the mock's
/// tokens.
fn streamed_reasoning_tokens(body: &str) -> usize {
    let mut reasoning = String::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        if let Some(r) = chunk["choices"][0]["delta"]["reasoning_content"].as_str() {
            reasoning.push_str(r);
        }
    }
    let kept = reasoning.split("\n\nWait, I've").next().unwrap();
    selfbrake_tests::tokenize(kept).len()
}

#[tokio::test]
async fn a_budget_holds_in_real_tokens_when_chunks_carry_several() {
    let script = Script::from_trace(&trace("r1-gsm8k-1")).tokens_per_chunk(4);
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let proxy = Proxy::start(&config(&mock.base_url(), true)).await;
    let body = proxy.chat(&request(true)).await.text().await.unwrap();
    let sent = &mock.chat_bodies()[0];
    assert_eq!(sent["stream_options"]["continuous_usage_stats"], true);
    // Five chunks of four tokens reach the budget of 20 exactly.
    assert_eq!(streamed_reasoning_tokens(&body), 20, "{body}");
    let last = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|c| c.get("selfbrake").is_some())
        .expect("a chunk carries the selfbrake object");
    assert_eq!(last["selfbrake"]["rule"], "budget");
    assert_eq!(last["selfbrake"]["reasoning_tokens"], 20);
    assert_eq!(
        last["usage"]["completion_tokens_details"]["reasoning_tokens"],
        20
    );
}

#[tokio::test]
async fn without_usage_per_chunk_a_chunk_counts_as_one_token() {
    // The documented estimate: a server that sends four tokens a chunk and
    // no usage until the end is braked after 20 chunks, 80 tokens.
    let script = Script::from_trace(&trace("r1-gsm8k-1")).tokens_per_chunk(4);
    let mock = MockUpstream::start(MockConfig::with_script(script)).await;
    let proxy = Proxy::start(&config(&mock.base_url(), false)).await;
    let body = proxy.chat(&request(true)).await.text().await.unwrap();
    assert!(mock.chat_bodies()[0]["stream_options"]
        .get("continuous_usage_stats")
        .is_none());
    assert_eq!(streamed_reasoning_tokens(&body), 80, "{body}");
}
