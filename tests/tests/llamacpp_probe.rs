//! Probes on a real engine: llama.cpp's `llama-server` with SmolLM2-135M
//! (`probe = "llamacpp"`: `/apply-template` once, `/completion` per probe).
//! Run by `scripts/test.sh` with `--ignored`, like `llamacpp.rs`.
mod common;
mod llama;

use std::time::{Duration, Instant};

use common::Proxy;
use llama::{LlamaServer, SERIAL};
use selfbrake_adapters::openai::{OpenAiBackend, OpenAiConfig, ProbeRoute};
use selfbrake_adapters::{Backend, ProbeCall};
use serde_json::{json, Value};

const QUESTION: &str = "What is 12 times 3?";

fn ask(max_tokens: u32) -> Value {
    json!({
        "model": "smollm2",
        "messages": [{"role": "user", "content": QUESTION}],
        "max_tokens": max_tokens, "temperature": 0, "seed": 7, "stream": false,
    })
}

#[tokio::test]
#[ignore = "needs llama-server and SmolLM2: scripts/test.sh runs it with --ignored"]
async fn a_probe_reads_llama_servers_tokens_logprobs_and_usage() {
    let _serial = SERIAL.lock().await;
    let server = LlamaServer::start(&[]).await;
    let cfg = OpenAiConfig {
        probe: ProbeRoute::Llamacpp,
        ..OpenAiConfig::new(server.base_url())
    };
    let backend = OpenAiBackend::new(cfg).unwrap();
    let request = ask(64).as_object().unwrap().clone();
    let prober = backend.prober(&request).expect("llama.cpp probes");
    let call = ProbeCall {
        reasoning: "12 times 3 is 36.\n\n".into(),
        suffix: "... Oh, I suddenly got the answer to the whole problem, **Final Answer**\n\n\\[ \\boxed{".into(),
        max_tokens: 16,
    };
    let started = Instant::now();
    let reply = prober.probe(call.clone()).await.expect("the probe answers");
    let first = started.elapsed();
    let started = Instant::now();
    let again = prober.probe(call).await.expect("the probe answers again");
    eprintln!(
        "llama-server probe: {:?} first (template fetched), {:?} second; {} tokens: {:?}",
        first,
        started.elapsed(),
        reply.tokens.len(),
        reply
            .tokens
            .iter()
            .map(|t| (&t.text, t.logprob))
            .collect::<Vec<_>>()
    );
    assert!(!reply.tokens.is_empty() && reply.tokens.len() <= 16);
    assert!(
        reply
            .tokens
            .iter()
            .all(|t| t.logprob.is_some_and(|p| p <= 0.0)),
        "every token has its log-probability"
    );
    let usage = reply.usage.expect("tokens_evaluated / tokens_predicted");
    assert!(usage.prompt_tokens > 20, "the templated prompt: {usage:?}");
    assert_eq!(usage.completion_tokens, reply.tokens.len() as u64);
    let text = |r: &selfbrake_adapters::ProbeReply| {
        r.tokens.iter().map(|t| t.text.clone()).collect::<Vec<_>>()
    };
    assert_eq!(text(&reply), text(&again), "greedy: the same answer twice");
}

#[tokio::test]
#[ignore = "needs llama-server and SmolLM2: scripts/test.sh runs it with --ignored"]
async fn periodic_probes_run_through_the_proxy_and_are_billed() {
    let _serial = SERIAL.lock().await;
    // A second slot: with one, llama-server queues the probe behind the
    // generation it is about, which then ends first and cancels it.
    let server = LlamaServer::start(&["-np", "2"]).await;
    let config = format!(
        r#"
[backends.llama]
kind = "openai"
base_url = "{}"
continuation = "prefill"
assume_open_think = true
probe = "llamacpp"

[policies.test]
answer_max_tokens = 32
rules = [{{ kind = "probe", mode = "periodic", every_tokens = 8, max_probes = 2 }}]

[tenants.anyone]
anonymous = true
backend = "llama"
policy = "test"
"#,
        server.base_url()
    );
    let proxy = Proxy::start(&config).await;
    // A loaded 2-core machine runs SmolLM2 slowly: more than the common
    // client's 30 s.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let mut ask = ask(120);
    ask["messages"][0]["content"] = json!("Name the three primary colors and explain each one.");
    let resp = client.post(proxy.url("/v1/chat/completions")).json(&ask);
    let body: Value = resp.send().await.unwrap().json().await.unwrap();
    let report = &body["selfbrake"];
    eprintln!("through the proxy: {report}");
    assert_eq!(report["probes"], 2, "{body}");
    let probe_tokens = report["probe_tokens"].as_u64().unwrap();
    assert!(probe_tokens > 40, "{body}");
    let usage = &body["usage"];
    assert!(
        usage["prompt_tokens"].as_u64().unwrap() >= probe_tokens - 32,
        "{body}"
    );
}
