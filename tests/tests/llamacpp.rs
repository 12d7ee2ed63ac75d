//! selfbrake in front of a real engine: llama.cpp's `llama-server` with
//! SmolLM2-135M-Instruct (see `llama/mod.rs` for how it is found and
//! started). Mocks are written here and agree with us; a real server is what
//! found the prefill echo.
//!
//! Run by `scripts/test.sh` (`cargo test -p selfbrake-tests --test llamacpp
//! -- --ignored`). Greedy sampling (`temperature: 0`) makes the engine's
//! output repeatable, so what arrives through selfbrake is compared with
//! what llama-server says directly.
mod common;
mod llama;

use std::time::{Duration, Instant};

use common::{assemble, read_sse, Proxy};
use futures::StreamExt;
use llama::{LlamaServer, SERIAL};
use selfbrake_tests::repo_root;
use serde_json::{json, Value};

const STATEMENT: &str = "Wait, I've verified my answer. No need to continue thinking.";

/// selfbrake with one llama-server backend (`backend` adds TOML lines to
/// it) and one policy.
fn proxy_config(server: &LlamaServer, backend: &str, policy: &str) -> String {
    format!(
        r#"
[backends.llama]
kind = "openai"
base_url = "{}"
first_byte_timeout_ms = 30000
idle_timeout_ms = 30000
{backend}

[policies.test]
brake_statement = "{STATEMENT}"
answer_max_tokens = 48
{policy}

[tenants.anyone]
anonymous = true
backend = "llama"
policy = "test"
"#,
        server.base_url()
    )
}

const NEVER_BRAKE: &str = "rules = [{ kind = \"budget\", max_reasoning_tokens = 100000 }]";

fn ask(question: &str, max_tokens: u32, stream: bool) -> Value {
    json!({
        "model": "smollm2",
        "messages": [{"role": "user", "content": question}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "seed": 7,
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

#[tokio::test]
#[ignore = "needs llama-server and SmolLM2: scripts/test.sh runs it with --ignored"]
async fn passthrough_matches_llama_server_with_usage_and_drops_timings() {
    let _serial = SERIAL.lock().await;
    let server = LlamaServer::start(&[]).await;
    let proxy = Proxy::start(&proxy_config(&server, "", NEVER_BRAKE)).await;

    let direct = server.chat(&ask_plain("Name three colors.", 24)).await;
    let want = direct["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(!want.is_empty(), "{direct}");
    // llama-server adds its own `timings`; selfbrake's completion is its own
    // (possibly two upstream calls), so it never carries them.
    assert!(direct.get("timings").is_some(), "{direct}");

    let body: Value = chat(&proxy, &ask("Name three colors.", 24, false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], want, "{body}");
    assert_eq!(
        body["usage"]["prompt_tokens"],
        direct["usage"]["prompt_tokens"]
    );
    assert_eq!(
        body["usage"]["completion_tokens"],
        direct["usage"]["completion_tokens"]
    );
    assert!(body.get("timings").is_none(), "{body}");
    assert_eq!(body["selfbrake"]["braked"], false);

    let events = read_sse(chat(&proxy, &ask("Name three colors.", 24, true)).await).await;
    let got = assemble(&events);
    assert!(got.done && got.error.is_none());
    assert_eq!(got.content, want);
    assert_eq!(got.reasoning, "");
    let usage = got.usage.expect("usage chunk");
    assert_eq!(
        usage["completion_tokens"],
        direct["usage"]["completion_tokens"]
    );
    assert_eq!(usage["prompt_tokens"], direct["usage"]["prompt_tokens"]);
    for e in events.iter().filter(|e| e.data != "[DONE]") {
        assert!(e.json().get("timings").is_none(), "{}", e.data);
    }
}

#[tokio::test]
#[ignore = "needs llama-server and SmolLM2: scripts/test.sh runs it with --ignored"]
async fn braked_answer_from_a_prefill_continuation_is_new_text_only() {
    let _serial = SERIAL.lock().await;
    let server = LlamaServer::start(&[]).await;
    // The documented config, as shipped: prefill continuation, and (SmolLM2
    // has no think block of its own) `assume_open_think`, so its output is
    // reasoning until `</think>` and the 24-token budget brakes it.
    let example = std::fs::read_to_string(repo_root().join("examples/llamacpp.toml")).unwrap();
    assert!(example.contains(STATEMENT) && example.contains("max_reasoning_tokens = 24"));
    let config = example.replace("http://127.0.0.1:8080/v1", &server.base_url());
    let proxy = Proxy::start(&config).await;
    let question = "Name the three primary colors and explain each one.";

    let got = assemble(&read_sse(chat(&proxy, &ask(question, 200, true)).await).await);
    assert!(got.done && got.error.is_none());
    let report = got.selfbrake.expect("selfbrake object");
    assert_eq!(report["braked"], true, "{report}");
    assert_eq!(report["rule"], "budget");
    assert_eq!(report["answer_source"], "continuation");
    assert_eq!(report["reasoning_tokens"], 24);
    assert!(got.reasoning.ends_with(STATEMENT), "{:?}", got.reasoning);

    // What llama-server itself answers to the same prefill: the prefix
    // first (its echo), then the new text.
    let prefix = format!("<think>\n{}\n</think>\n\n", got.reasoning);
    let direct = server
        .chat(&{
            let mut cont = ask_plain(question, 48);
            cont["messages"]
                .as_array_mut()
                .unwrap()
                .push(json!({"role": "assistant", "content": prefix}));
            cont
        })
        .await;
    let echoed = direct["choices"][0]["message"]["content"].as_str().unwrap();
    let new_text = echoed
        .strip_prefix(prefix.as_str())
        .unwrap_or_else(|| panic!("llama-server no longer echoes the prefill: {echoed:?}"));
    assert!(!new_text.is_empty());

    // Through selfbrake the answer is the new text only.
    assert_eq!(got.content, new_text);
    assert!(!got.content.contains(STATEMENT), "{:?}", got.content);
    assert!(!got.content.contains("</think>"), "{:?}", got.content);

    // The same for a non-stream client.
    let body: Value = chat(&proxy, &ask(question, 200, false))
        .await
        .json()
        .await
        .unwrap();
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], new_text, "{body}");
    assert_eq!(message["reasoning_content"], got.reasoning.as_str());
}

#[tokio::test]
#[ignore = "needs llama-server and SmolLM2: scripts/test.sh runs it with --ignored"]
async fn client_disconnect_frees_the_llama_server_slot_within_100ms() {
    let _serial = SERIAL.lock().await;
    let server = LlamaServer::start(&[]).await;
    let proxy = Proxy::start(&proxy_config(&server, "", NEVER_BRAKE)).await;
    let mut req = ask("Write a very long story about a dragon.", 4000, true);
    req["ignore_eos"] = json!(true);

    let response = chat(&proxy, &req).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut seen = 0;
    while seen < 2000 {
        let chunk = body.next().await.expect("stream open").expect("read");
        seen += chunk.len();
    }
    assert!(server.busy().await, "llama-server is generating");
    drop(body);
    let dropped = Instant::now();
    while server.busy().await {
        assert!(
            dropped.elapsed() < Duration::from_secs(5),
            "llama-server still generating 5 s after the client left"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let freed = dropped.elapsed();
    eprintln!("llama-server slot idle {freed:?} after the client disconnected");
    assert!(
        freed < Duration::from_millis(100),
        "slot freed after {freed:?}"
    );
}

#[tokio::test]
#[ignore = "needs llama-server and SmolLM2: scripts/test.sh runs it with --ignored"]
async fn reasoning_content_from_reasoning_format_deepseek_is_braked() {
    let _serial = SERIAL.lock().await;
    // A template that opens <think> as a reasoning model's does: llama-server
    // then parses the output into `reasoning_content` itself.
    let template = repo_root().join("tests/tests/llama/think-chatml.jinja");
    let template = template.to_str().unwrap();
    let server = LlamaServer::start(&[
        "--reasoning-format",
        "deepseek",
        "--chat-template-file",
        template,
    ])
    .await;
    let question = "Name the three primary colors and explain each one.";

    // The engine itself sends reasoning as `reasoning_content`.
    let direct = server.chat(&ask_plain(question, 8)).await;
    let message = &direct["choices"][0]["message"];
    assert!(
        message["reasoning_content"]
            .as_str()
            .is_some_and(|r| !r.trim().is_empty()),
        "{direct}"
    );

    // The template opened <think>: the prefix only closes it.
    let backend = "continuation = \"prefill\"\nprefix_format = \"close_only\"";
    let policy = "rules = [{ kind = \"budget\", max_reasoning_tokens = 24 }]";
    let proxy = Proxy::start(&proxy_config(&server, backend, policy)).await;
    let got = assemble(&read_sse(chat(&proxy, &ask(question, 200, true)).await).await);
    assert!(got.done && got.error.is_none());
    let report = got.selfbrake.expect("selfbrake object");
    assert_eq!(report["braked"], true, "{report}");
    assert_eq!(report["rule"], "budget");
    assert_eq!(report["reasoning_tokens"], 24);
    assert!(got.reasoning.ends_with(STATEMENT), "{:?}", got.reasoning);

    // The answer is what llama-server continues with after its echo.
    let prefix = format!("{}\n</think>\n\n", got.reasoning);
    let mut cont = ask_plain(question, 48);
    cont["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": prefix}));
    let direct = server.chat(&cont).await;
    let echoed = direct["choices"][0]["message"]["content"].as_str().unwrap();
    let new_text = echoed
        .strip_prefix(prefix.as_str())
        .unwrap_or_else(|| panic!("llama-server no longer echoes the prefill: {echoed:?}"));
    assert_eq!(got.content, new_text);
    assert!(!got.content.contains("</think>"), "{:?}", got.content);
}

/// `POST /v1/chat/completions` through selfbrake. A 135M model on a busy
/// 2-core machine can take longer than the shared client's 30 s.
async fn chat(proxy: &Proxy, body: &Value) -> reqwest::Response {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
        .post(proxy.url("/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .expect("selfbrake answers")
}

/// A non-stream request straight to llama-server.
fn ask_plain(question: &str, max_tokens: u32) -> Value {
    json!({
        "model": "smollm2",
        "messages": [{"role": "user", "content": question}],
        "max_tokens": max_tokens, "temperature": 0, "seed": 7,
    })
}
