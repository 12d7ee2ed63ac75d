//! The embedded engine on a real model. Needs the `embedded` feature and a
//! GGUF file in `SELFBRAKE_MODEL` (`scripts/get-model.sh` fetches
//! SmolLM2-135M-Instruct); run in release, a debug build is too slow:
//!
//! ```sh
//! SELFBRAKE_MODEL=$(scripts/get-model.sh) \
//!   cargo test --release --features embedded -p selfbrake-adapters --test mistralrs_model
//! ```
#![cfg(feature = "embedded")]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use selfbrake_adapters::mistralrs::{MistralrsBackend, MistralrsConfig};
use selfbrake_adapters::{
    AdapterError, Backend, BackendEvent, Continuation, EventStream, ProbeCall, ProbeReply, Usage,
};
use serde_json::{json, Map, Value};

/// One engine for the whole binary; tests take turns so that the engine's
/// token count belongs to one test at a time.
fn engine() -> &'static MistralrsBackend {
    static ENGINE: OnceLock<MistralrsBackend> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let path = std::env::var("SELFBRAKE_MODEL").expect(
            "SELFBRAKE_MODEL must name a GGUF file for the embedded model tests \
             (SELFBRAKE_MODEL=$(scripts/get-model.sh))",
        );
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(MistralrsBackend::load(MistralrsConfig::new(path)))
                .expect("the model loads")
        })
        .join()
        .unwrap()
    })
}

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn backend(think_prefill: bool) -> Arc<MistralrsBackend> {
    Arc::new(engine().variant(think_prefill, Duration::from_secs(30)))
}

fn request(question: &str, max_tokens: u32) -> Map<String, Value> {
    json!({
        "model": "m",
        "messages": [{"role": "user", "content": question}],
        "max_tokens": max_tokens,
        "temperature": 0.0,
    })
    .as_object()
    .unwrap()
    .clone()
}

#[derive(Default, Debug)]
struct Collected {
    meta: bool,
    created: u64,
    reasoning: String,
    content: String,
    finish: Option<String>,
    usage: Option<Usage>,
}

async fn collect(mut stream: EventStream) -> Collected {
    let mut c = Collected::default();
    while let Some(item) = stream.next().await {
        match item.expect("no stream error") {
            BackendEvent::Meta { created, .. } => {
                c.meta = true;
                c.created = created;
            }
            BackendEvent::Reasoning(r) => c.reasoning.push_str(&r),
            BackendEvent::Content(t) => c.content.push_str(&t),
            BackendEvent::Finish(f) => c.finish = Some(f),
            BackendEvent::Usage(u) => c.usage = Some(u),
            _ => {}
        }
    }
    c
}

/// Waits until the engine's token count stops moving; returns it.
async fn settled(b: &MistralrsBackend) -> u64 {
    let mut last = b.generated_tokens();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = b.generated_tokens();
        if now == last {
            return now;
        }
        last = now;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_streams_text_and_engine_usage() {
    let _turn = TURN.lock().await;
    let b = backend(false);
    let before = settled(&b).await;
    let c = collect(
        b.stream(request("What is the capital of France?", 24))
            .await
            .unwrap(),
    )
    .await;
    let generated = settled(&b).await - before;
    assert!(c.meta);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        now.abs_diff(c.created) < 60,
        "created {} is not within a minute of now ({now})",
        c.created
    );
    assert!(!c.content.trim().is_empty(), "{c:?}");
    let usage = c.usage.expect("usage");
    assert!(usage.prompt_tokens > 5, "{usage:?}");
    assert!(
        usage.completion_tokens > 0 && usage.completion_tokens <= 24,
        "{usage:?}"
    );
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
    assert_eq!(
        generated, usage.completion_tokens,
        "engine count vs reported usage"
    );
    assert!(
        matches!(c.finish.as_deref(), Some("stop" | "length")),
        "{c:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn think_prefill_streams_reasoning() {
    let _turn = TURN.lock().await;
    let b = backend(true);
    let c = collect(b.stream(request("What is 12 times 3?", 48)).await.unwrap()).await;
    assert!(!c.reasoning.trim().is_empty(), "{c:?}");
    let usage = c.usage.expect("usage");
    assert!(
        usage.completion_tokens > 0 && usage.completion_tokens <= 48,
        "{usage:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_stops_the_engine() {
    let _turn = TURN.lock().await;
    let b = backend(true);
    let before = settled(&b).await;
    let mut stream = b
        .stream(request("Write a long story about a dragon.", 2000))
        .await
        .unwrap();
    let mut events = 0;
    while events < 20 {
        stream.next().await.expect("more events").expect("no error");
        events += 1;
    }
    drop(stream);
    let generated = settled(&b).await - before;
    // The bridge forwards at most a buffer of events ahead of the reader,
    // and the engine notices the drop at its next token.
    assert!(
        generated < 20 + 64 + 4,
        "the engine kept generating: {generated} tokens"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        b.generated_tokens() - before,
        generated,
        "tokens generated after the drop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_is_greedy_and_billed() {
    let _turn = TURN.lock().await;
    let b = backend(true);
    let prober = b
        .prober(&request("What is 12 times 3?", 500))
        .expect("the embedded engine probes");
    let call = ProbeCall {
        reasoning: "12 times 3 is 36.\n\n".into(),
        suffix: "... Oh, I suddenly got the answer to the whole problem, **Final Answer**\n\n\\[ \\boxed{".into(),
        max_tokens: 16,
    };
    let first = prober.probe(call.clone()).await.unwrap();
    let again = prober.probe(call).await.unwrap();
    eprintln!(
        "embedded probe: {:?}",
        first
            .tokens
            .iter()
            .map(|t| (&t.text, t.logprob))
            .collect::<Vec<_>>()
    );
    assert!(!first.tokens.is_empty() && first.tokens.len() <= 16);
    assert!(
        first.tokens.iter().all(|t| t.logprob.is_none()),
        "the engine's values are no log-probabilities (see mistralrs/probe.rs): {first:?}"
    );
    let text = |r: &ProbeReply| r.tokens.iter().map(|t| t.text.clone()).collect::<String>();
    assert_eq!(text(&first), text(&again), "greedy");
    let usage = first.usage.expect("usage");
    assert!(
        usage.prompt_tokens > 30,
        "templated prompt, reasoning and suffix: {usage:?}"
    );
    let generated = usage.completion_tokens;
    assert!(
        generated >= first.tokens.len() as u64 && generated <= 16,
        "{usage:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuation_answers_from_the_kept_reasoning() {
    let _turn = TURN.lock().await;
    let b = backend(true);
    let cont = Continuation {
        reasoning:
            "12 times 3 is 36.\n\nWait, I've verified my answer. No need to continue thinking."
                .into(),
        max_tokens: 32,
    };
    let c = collect(
        b.continue_answer(request("What is 12 times 3?", 500), cont)
            .await
            .unwrap(),
    )
    .await;
    assert!(c.reasoning.is_empty(), "{c:?}");
    assert!(!c.content.trim().is_empty(), "{c:?}");
    let usage = c.usage.expect("usage");
    assert!(
        usage.completion_tokens > 0 && usage.completion_tokens <= 32,
        "{usage:?}"
    );
    assert!(
        usage.prompt_tokens > 20,
        "the prefix is in the prompt: {usage:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_longer_than_the_context_is_a_400() {
    let _turn = TURN.lock().await;
    let max = engine()
        .max_seq_len()
        .expect("the model has a context length");
    let long = "hello ".repeat(max + 100);
    for think_prefill in [false, true] {
        let err = match backend(think_prefill).stream(request(&long, 8)).await {
            Err(e) => e,
            Ok(_) => panic!("a prompt over {max} tokens was accepted"),
        };
        match &err {
            AdapterError::Status { status: 400, body } => {
                assert!(body.contains("context"), "{body}")
            }
            other => panic!("expected a 400, got {other}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_corrupt_gguf_fails_naming_the_path() {
    let dir = std::env::temp_dir().join(format!("selfbrake-model-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.gguf");
    let corrupt = dir.join("corrupt.gguf");
    let mut bytes = b"GGUF".to_vec();
    bytes.extend(std::iter::repeat_n(0xAB, 4096));
    std::fs::write(&corrupt, bytes).unwrap();
    for path in [missing, corrupt] {
        let err = MistralrsBackend::load(MistralrsConfig::new(&path))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
