//! The real LiteLLM proxy in front of selfbrake, with the shipped
//! `examples/litellm/config.yaml`: client → LiteLLM → selfbrake → mock vLLM.
//! `scripts/test.sh` installs `litellm[proxy]` into the test venv and sets
//! `SELFBRAKE_TEST_PYTHON`; the `litellm` command is taken from beside it.
//! What LiteLLM passes on and what it drops is written in docs/litellm.md;
//! this test holds that page to the truth.
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{client, config, Proxy};
use selfbrake_tests::{trace, MockConfig, MockUpstream, Script};
use serde_json::{json, Value};

const BRAKE_END: &str = "No need to continue thinking.";
/// LiteLLM refuses to start without an admin key; the test's requests use it.
const MASTER_KEY: &str = "sk-litellm-test-master";
const ANSWER: &str = "The final answer is $\\boxed{540}$.";

/// `litellm` from the test venv; panics (never skips) when it is missing.
fn litellm_command() -> PathBuf {
    let python = std::env::var("SELFBRAKE_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("SELFBRAKE_TEST_PYTHON is not set: run the suite with scripts/test.sh, which installs litellm[proxy]")
    });
    let litellm = PathBuf::from(python).with_file_name("litellm");
    assert!(
        litellm.is_file(),
        "{} is missing: `pip install 'litellm[proxy]'` into the test venv (scripts/test.sh does)",
        litellm.display()
    );
    litellm
}

/// A LiteLLM proxy process on a free loopback port, killed on drop.
struct LiteLlm {
    port: u16,
    log: PathBuf,
    _child: tokio::process::Child,
}

/// The log stays behind only when a test failed, for whoever reads the CI
/// output; otherwise each run would leave one file in the temp directory.
impl Drop for LiteLlm {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            std::fs::remove_file(&self.log).ok();
        }
    }
}

impl LiteLlm {
    async fn start(selfbrake_v1: &str) -> LiteLlm {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!("selfbrake-litellm-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let config = selfbrake_tests::repo_root().join("examples/litellm/config.yaml");
        let child = tokio::process::Command::new(litellm_command())
            .arg("--config")
            .arg(config)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .env("SELFBRAKE_API_BASE", selfbrake_v1)
            .env("SELFBRAKE_API_KEY", "sk-unused-by-an-anonymous-tenant")
            .env("LITELLM_MASTER_KEY", MASTER_KEY)
            // No network here: use the bundled model cost map.
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .expect("start litellm");
        let proxy = LiteLlm {
            port,
            log,
            _child: child,
        };
        proxy.wait_ready().await;
        proxy
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// LiteLLM imports a lot: on two busy cores it can take a minute.
    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(180);
        let client = client();
        loop {
            let ready = client.get(self.url("/health/liveliness")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "litellm did not start:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The `data:` payloads of an SSE body, `[DONE]` included.
fn sse_payloads(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|data| data.trim().to_string())
        .filter(|data| !data.is_empty())
        .collect()
}

async fn chat(litellm: &LiteLlm, stream: bool) -> reqwest::Response {
    let mut request = json!({
        "model": "r1-distill-7b",
        "messages": [{"role": "user", "content": "What is 6 times 7?"}],
        "stream": stream,
    });
    if stream {
        request["stream_options"] = json!({"include_usage": true});
    }
    let response = client()
        .post(litellm.url("/v1/chat/completions"))
        .bearer_auth(MASTER_KEY)
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", litellm.log_tail());
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litellm_passes_selfbrakes_reasoning_and_answer_on() {
    let mock = MockUpstream::start(MockConfig::with_script(
        Script::from_trace(&trace("r1-gsm8k-1")).delay(Duration::from_micros(200)),
    ))
    .await;
    let policy = "rules = [{ kind = \"budget\", max_reasoning_tokens = 60 }]";
    let proxy = Proxy::start(&config(&mock.base_url(), policy)).await;
    let litellm = LiteLlm::start(&proxy.url("/v1")).await;

    // Streamed: reasoning up to the cut with the braking statement, then the
    // answer selfbrake asked for after the brake, and usage.
    let response = chat(&litellm, true).await;
    // selfbrake's response headers come through prefixed `llm_provider-`.
    assert!(
        response.headers().contains_key("llm_provider-x-request-id"),
        "{:?}",
        response.headers()
    );
    let body = response.text().await.unwrap();
    let payloads = sse_payloads(&body);
    assert_eq!(
        payloads.last().map(String::as_str),
        Some("[DONE]"),
        "{body}"
    );
    let (mut reasoning, mut content) = (String::new(), String::new());
    let (mut usage, mut selfbrake_seen) = (None, false);
    for payload in &payloads[..payloads.len() - 1] {
        let chunk: Value =
            serde_json::from_str(payload).unwrap_or_else(|e| panic!("{e}: {payload}"));
        selfbrake_seen |= chunk.get("selfbrake").is_some();
        if chunk.get("usage").is_some_and(|u| !u.is_null()) {
            usage = Some(chunk["usage"].clone());
        }
        for choice in chunk["choices"].as_array().into_iter().flatten() {
            let delta = &choice["delta"];
            reasoning.push_str(delta["reasoning_content"].as_str().unwrap_or_default());
            content.push_str(delta["content"].as_str().unwrap_or_default());
        }
    }
    assert!(reasoning.ends_with(BRAKE_END), "reasoning: {reasoning:?}");
    assert!(reasoning.len() > 200, "reasoning: {reasoning:?}");
    assert_eq!(content, ANSWER);
    let usage = usage.expect("a usage chunk");
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 60);
    // What LiteLLM drops from a stream (docs/litellm.md): the `selfbrake`
    // object of the last chunk.
    assert!(
        !selfbrake_seen,
        "LiteLLM now passes `selfbrake` on in streams: update docs/litellm.md"
    );

    // Not streamed: LiteLLM keeps the top-level `selfbrake` object.
    let full: Value = chat(&litellm, false).await.json().await.unwrap();
    let message = &full["choices"][0]["message"];
    assert!(message["reasoning_content"]
        .as_str()
        .unwrap()
        .ends_with(BRAKE_END));
    assert_eq!(message["content"], ANSWER);
    assert_eq!(full["selfbrake"]["braked"], true, "{full}");
    assert_eq!(full["selfbrake"]["rule"], "budget", "{full}");

    // The requests went through selfbrake and braked: its metrics say so,
    // whatever LiteLLM passes on.
    let metrics = proxy.state.metrics.render();
    assert!(
        metrics.contains(r#"selfbrake_brakes_total{tenant="anyone",rule="budget"} 2"#),
        "{metrics}"
    );
    assert_eq!(
        mock.chat_bodies().len(),
        4,
        "two generations, two continuations"
    );
}
