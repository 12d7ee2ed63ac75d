//! The passthrough routes through the official Python clients: `openai` for
//! completions, embeddings and responses (stateless ones braked), `anthropic` for messages (which
//! sends its key as `x-api-key`). `scripts/test.sh` installs both into a
//! venv and sets `SELFBRAKE_TEST_PYTHON`.
mod common;

use selfbrake::config::Config;
use selfbrake::gateway::hash_key;
use selfbrake::{router, AppState, Gateway};
use selfbrake_tests::{MockConfig, MockUpstream};
use serde_json::Value;

fn python() -> String {
    std::env::var("SELFBRAKE_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("SELFBRAKE_TEST_PYTHON is not set: run the suite with scripts/test.sh, which installs the clients")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_clients_reach_every_passthrough_route() {
    let mock = MockUpstream::start(MockConfig {
        model: "qwen3-8b".into(),
        ..MockConfig::default()
    })
    .await;
    // Clients ask for the alias `fast`; the backend serves `qwen3-8b`.
    let toml = format!(
        r#"
[backends.default]
kind = "openai"
base_url = "{}"
models = [{{ name = "fast", upstream = "qwen3-8b" }}]

[tenants.acme]
api_keys = ["{}"]
backend = "default"
policy = "default"
"#,
        mock.base_url(),
        hash_key("sk-acme")
    );
    let state = AppState::new(Gateway::build(&Config::from_toml_str(&toml).unwrap()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });

    let script = selfbrake_tests::repo_root().join("tests/python/passthrough_clients.py");
    let output = tokio::process::Command::new(python())
        .args([script.to_str().unwrap(), &root, "fast", "sk-acme"])
        .output()
        .await
        .expect("run python");
    assert!(
        output.status.success(),
        "python clients failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).expect("client output is JSON");
    assert_eq!(seen["completion"]["text"], " 4");
    assert_eq!(seen["completion_stream"], " The answer is 4.");
    assert_eq!(seen["embedding"], serde_json::json!([0.25, -0.5, 0.125]));
    // `/v1/responses` stateless: braked through chat, in the Responses shape.
    let answer = "The final answer is $\\boxed{4}$.";
    assert_eq!(seen["response"]["text"], answer);
    assert_eq!(seen["response"]["status"], "completed");
    assert_eq!(
        seen["response"]["types"],
        serde_json::json!(["reasoning", "message"])
    );
    assert!(seen["response"]["reasoning"]
        .as_str()
        .unwrap()
        .starts_with("Two plus two is 4."));
    assert_eq!(seen["response_stream"]["text"], answer);
    assert_eq!(seen["response_stream"]["final_text"], answer);
    assert_eq!(
        seen["response_stream"]["reasoning"],
        seen["response"]["reasoning"]
    );
    assert_eq!(seen["response_stream"]["last"], "response.completed");
    // Stateful: the backend's own Responses API.
    assert_eq!(seen["response_passthrough"], "The answer is 4.");
    assert_eq!(seen["message"]["text"], "The answer is 4.");
    assert_eq!(seen["message"]["stop"], "end_turn");
    assert_eq!(seen["message_stream"], "The answer is 4.");

    // What the backend received: each route once per call, the alias
    // renamed, the bodies otherwise as the clients sent them, no key.
    let requests = mock.requests();
    let count = |path: &str| requests.iter().filter(|r| r.path == path).count();
    assert_eq!(count("/v1/completions"), 2);
    assert_eq!(count("/v1/embeddings"), 1);
    assert_eq!(count("/v1/responses"), 1, "only the stateful one");
    assert_eq!(count("/v1/chat/completions"), 2, "the braked ones, as chat");
    assert_eq!(count("/v1/messages"), 2);
    for r in &requests {
        assert_eq!(r.body["model"], "qwen3-8b", "{}: {}", r.path, r.body);
        assert_eq!(
            r.authorization, None,
            "{}: the client's key went upstream",
            r.path
        );
    }
    let first = |path: &str| &requests.iter().find(|r| r.path == path).unwrap().body;
    assert_eq!(first("/v1/completions")["prompt"], "2+2=");
    assert_eq!(first("/v1/completions")["max_tokens"], 4);
    assert_eq!(first("/v1/embeddings")["input"], "two plus two");
    assert_eq!(first("/v1/responses")["previous_response_id"], "resp_1");
    assert_eq!(
        first("/v1/chat/completions")["messages"],
        serde_json::json!([{"role": "user", "content": "What is 2+2?"}])
    );
    assert_eq!(first("/v1/messages")["max_tokens"], 16);
    assert_eq!(first("/v1/messages")["messages"][0]["content"], "2+2?");
    let messages = requests.iter().find(|r| r.path == "/v1/messages").unwrap();
    assert!(
        messages
            .header_names
            .iter()
            .any(|h| h == "anthropic-version"),
        "anthropic-version goes upstream"
    );
    assert!(
        !messages.header_names.iter().any(|h| h == "x-api-key"),
        "the client's x-api-key never goes upstream"
    );
}
