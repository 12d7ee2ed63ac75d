//! Tenants: keys pick the backend and policy, limits answer 429, metrics count it all.
mod common;

use std::time::Duration;

use common::{assemble, client, read_sse, request, Proxy};
use selfbrake::gateway::hash_key;
use selfbrake_tests::{MockConfig, MockUpstream, Script};
use serde_json::Value;

fn two_tenant_config(gpu: &str, cheap: &str) -> String {
    format!(
        r#"
[backends.gpu]
kind = "openai"
base_url = "{gpu}"

[backends.cheap]
kind = "openai"
base_url = "{cheap}"

[policies.balanced]
rules = [{{ kind = "convergence", repeats = 2 }}]

[policies.strict]
rules = [{{ kind = "budget", max_reasoning_tokens = 5 }}]

[policies.open]
rules = []

[tenants.research]
api_keys = ["{research}"]
backend = "gpu"
policy = "balanced"
allowed_policies = ["strict"]

[tenants.chatbot]
api_keys = ["{chatbot}"]
backend = "cheap"
policy = "strict"

[tenants.limited]
api_keys = ["{limited}"]
backend = "cheap"
policy = "open"
requests_per_minute = 2

[tenants.narrow]
api_keys = ["{narrow}"]
backend = "gpu"
policy = "open"
max_concurrent_requests = 1
max_reasoning_tokens = 7
"#,
        research = hash_key("sk-research"),
        chatbot = hash_key("sk-chatbot"),
        limited = hash_key("sk-limited"),
        narrow = hash_key("sk-narrow"),
    )
}

async fn chat_as(
    proxy: &Proxy,
    key: Option<&str>,
    policy: Option<&str>,
    stream: bool,
) -> reqwest::Response {
    let mut builder = client()
        .post(proxy.url("/v1/chat/completions"))
        .json(&request(stream));
    if let Some(key) = key {
        builder = builder.bearer_auth(key);
    }
    if let Some(policy) = policy {
        builder = builder.header("x-selfbrake-policy", policy);
    }
    builder.send().await.unwrap()
}

async fn report(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["selfbrake"].clone()
}

#[tokio::test]
async fn keys_pick_backend_and_policy_and_limits_answer_429() {
    let gpu = MockUpstream::start(MockConfig::default()).await;
    let slow = Script::default().delay(Duration::from_millis(20));
    let cheap = MockUpstream::start(MockConfig::default()).await;
    let proxy = Proxy::start(&two_tenant_config(&gpu.base_url(), &cheap.base_url())).await;

    // Each key reaches its own backend with its own policy.
    assert_eq!(
        report(chat_as(&proxy, Some("sk-research"), None, false).await).await["policy"],
        "balanced"
    );
    assert_eq!((gpu.chat_bodies().len(), cheap.chat_bodies().len()), (1, 0));
    let strict = report(chat_as(&proxy, Some("sk-chatbot"), None, false).await).await;
    assert_eq!(strict["policy"], "strict");
    assert_eq!(strict["rule"], "budget");
    assert_eq!(
        cheap.chat_bodies().len(),
        2,
        "brake + continuation on the cheap backend"
    );
    assert_eq!(gpu.chat_bodies().len(), 1);

    // Wrong or missing key: 401, and no upstream sees it.
    for key in [Some("sk-wrong"), None] {
        let response = chat_as(&proxy, key, None, false).await;
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "authentication_error");
        assert!(
            !body.to_string().contains("sk-wrong"),
            "keys never echo back"
        );
    }

    // A policy header picks an allowed policy, and only an allowed one.
    assert_eq!(
        report(chat_as(&proxy, Some("sk-research"), Some("strict"), false).await).await["policy"],
        "strict"
    );
    let forbidden = chat_as(&proxy, Some("sk-chatbot"), Some("balanced"), false).await;
    assert_eq!(forbidden.status(), 403);

    // Requests per minute: the third in a minute gets 429 with Retry-After.
    for _ in 0..2 {
        assert_eq!(
            chat_as(&proxy, Some("sk-limited"), None, false)
                .await
                .status(),
            200
        );
    }
    let limited = chat_as(&proxy, Some("sk-limited"), None, false).await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");

    // Concurrency: a second stream while the first is open gets 429; after it, 200.
    gpu.set_script(slow);
    let first = chat_as(&proxy, Some("sk-narrow"), None, true).await;
    assert_eq!(first.status(), 200);
    let second = chat_as(&proxy, Some("sk-narrow"), None, true).await;
    assert_eq!(second.status(), 429);
    assert!(second.headers().contains_key("retry-after"));
    let got = assemble(&read_sse(first).await);
    // The tenant's reasoning ceiling brakes even a policy without rules.
    let ceiling = got.selfbrake.unwrap();
    assert_eq!(ceiling["rule"], "budget");
    assert_eq!(ceiling["reasoning_tokens"], 7);
    gpu.set_script(Script::default());
    assert_eq!(
        chat_as(&proxy, Some("sk-narrow"), None, false)
            .await
            .status(),
        200
    );

    // Metrics count what was sent.
    let metrics = proxy.state.metrics.render();
    for (line, value) in [
        (
            r#"selfbrake_requests_total{tenant="research",policy="balanced",outcome="completed"}"#,
            1,
        ),
        (
            r#"selfbrake_requests_total{tenant="research",policy="strict",outcome="braked"}"#,
            1,
        ),
        (
            r#"selfbrake_requests_total{tenant="chatbot",policy="strict",outcome="braked"}"#,
            1,
        ),
        (
            r#"selfbrake_requests_total{tenant="unknown",policy="unknown",outcome="rejected"}"#,
            2,
        ),
        (
            r#"selfbrake_requests_total{tenant="chatbot",policy="unknown",outcome="rejected"}"#,
            1,
        ),
        (
            r#"selfbrake_requests_total{tenant="limited",policy="open",outcome="completed"}"#,
            2,
        ),
        (
            r#"selfbrake_requests_total{tenant="limited",policy="open",outcome="rejected"}"#,
            1,
        ),
        (
            r#"selfbrake_requests_total{tenant="narrow",policy="open",outcome="braked"}"#,
            2,
        ),
        (
            r#"selfbrake_brakes_total{tenant="chatbot",rule="budget"}"#,
            1,
        ),
        (
            r#"selfbrake_brakes_total{tenant="narrow",rule="budget"}"#,
            2,
        ),
        (r#"selfbrake_reasoning_tokens_total{tenant="chatbot"}"#, 5),
        ("selfbrake_streams_in_flight", 0),
    ] {
        let found = metrics
            .lines()
            .find(|l| l.starts_with(line) && l[line.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("no {line} in\n{metrics}"));
        assert_eq!(found[line.len() + 1..].trim(), value.to_string(), "{line}");
    }
    assert!(metrics.contains("selfbrake_overhead_seconds_bucket"));
    assert!(
        metrics.lines().any(
            |l| l.starts_with("selfbrake_upstream_first_byte_seconds_count")
                && l.contains("backend=\"gpu\"")
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn models_are_listed_per_tenant_backend() {
    let gpu = MockUpstream::start(MockConfig {
        model: "big-model".into(),
        ..MockConfig::default()
    })
    .await;
    let cheap = MockUpstream::start(MockConfig {
        model: "small-model".into(),
        ..MockConfig::default()
    })
    .await;
    let proxy = Proxy::start(&two_tenant_config(&gpu.base_url(), &cheap.base_url())).await;
    for (key, model) in [("sk-research", "big-model"), ("sk-chatbot", "small-model")] {
        let models = common::json_of(client().get(proxy.url("/v1/models")).bearer_auth(key)).await;
        assert_eq!(models["data"][0]["id"], model);
    }
    let anonymous = client().get(proxy.url("/v1/models")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let gpu = MockUpstream::start(MockConfig::default()).await;
    let proxy = Proxy::start(&two_tenant_config(&gpu.base_url(), &gpu.base_url())).await;
    let ok = chat_as(&proxy, Some("sk-research"), None, false).await;
    let denied = chat_as(&proxy, None, None, false).await;
    let a = ok.headers()["x-request-id"].to_str().unwrap().to_string();
    let b = denied.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!a.is_empty() && a != b);
}
