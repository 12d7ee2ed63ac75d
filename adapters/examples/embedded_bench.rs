//! Tokens per second of the embedded engine through selfbrake's backend
//! (`MistralrsBackend::stream`: request parsing, the bridge task, event
//! decoding) against mistral.rs called directly (`Model::stream_chat_request`),
//! on the same loaded engine, prompt and greedy sampling, alternating runs.
//!
//! ```sh
//! SELFBRAKE_MODEL=$(scripts/get-model.sh) \
//!   cargo run --release --features embedded -p selfbrake-adapters --example embedded_bench -- [ROUNDS] [TOKENS]
//! ```
#[cfg(feature = "embedded")]
mod bench {
    use std::time::Instant;

    use futures::StreamExt;
    use mistralrs::{RequestBuilder, Response, TextMessageRole};
    use selfbrake_adapters::mistralrs::{MistralrsBackend, MistralrsConfig};
    use selfbrake_adapters::{Backend, BackendEvent};
    use serde_json::json;

    const PROMPT: &str = "Write a long story about a dragon who learns to fly.";

    /// One run: (generated tokens, seconds to the first token, seconds in all).
    type Run = (u64, f64, f64);

    async fn direct(b: &MistralrsBackend, max: usize) -> Run {
        let req = RequestBuilder::new()
            .add_message(TextMessageRole::User, PROMPT)
            .set_sampler_temperature(0.0)
            .set_sampler_max_len(max);
        let start = Instant::now();
        let mut first = None;
        let mut tokens = 0;
        let mut stream = b.model().stream_chat_request(req).await.unwrap();
        while let Some(resp) = stream.next().await {
            let Response::Chunk(chunk) = resp else {
                panic!("engine error")
            };
            first.get_or_insert_with(|| start.elapsed().as_secs_f64());
            if let Some(u) = chunk.usage {
                tokens = u.completion_tokens as u64;
            }
            if chunk.choices.iter().any(|c| c.finish_reason.is_some()) {
                break;
            }
        }
        (tokens, first.unwrap_or(0.0), start.elapsed().as_secs_f64())
    }

    async fn selfbrake(b: &MistralrsBackend, max: usize) -> Run {
        let body = json!({
            "messages": [{"role": "user", "content": PROMPT}],
            "temperature": 0.0, "max_tokens": max,
        });
        let start = Instant::now();
        let mut first = None;
        let mut tokens = 0;
        let mut stream = b.stream(body.as_object().unwrap().clone()).await.unwrap();
        while let Some(ev) = stream.next().await {
            match ev.unwrap() {
                BackendEvent::Content(_) | BackendEvent::Reasoning(_) => {
                    first.get_or_insert_with(|| start.elapsed().as_secs_f64());
                }
                BackendEvent::Usage(u) => tokens = u.completion_tokens,
                _ => {}
            }
        }
        (tokens, first.unwrap_or(0.0), start.elapsed().as_secs_f64())
    }

    fn summary(name: &str, runs: &[Run]) -> f64 {
        let tokens: u64 = runs.iter().map(|r| r.0).sum();
        let total: f64 = runs.iter().map(|r| r.2).sum();
        let decode: f64 = runs.iter().map(|r| r.2 - r.1).sum();
        let decode_tokens: u64 = runs.iter().map(|r| r.0.saturating_sub(1)).sum();
        let tps = tokens as f64 / total;
        println!(
            "| {name} | {} | {tokens} | {tps:.2} | {:.2} | {:.0} |",
            runs.len(),
            decode_tokens as f64 / decode,
            1000.0 * runs.iter().map(|r| r.1).sum::<f64>() / runs.len() as f64,
        );
        tps
    }

    pub async fn main() {
        let mut args = std::env::args().skip(1);
        let rounds: usize = args.next().map_or(3, |a| a.parse().unwrap());
        let max: usize = args.next().map_or(128, |a| a.parse().unwrap());
        let path = std::env::var("SELFBRAKE_MODEL").expect("SELFBRAKE_MODEL=path/to/model.gguf");
        let start = Instant::now();
        let b = MistralrsBackend::load(MistralrsConfig::new(&path))
            .await
            .unwrap();
        println!(
            "model {path}: loaded in {:.2} s",
            start.elapsed().as_secs_f64()
        );
        // Warm-up (not counted).
        direct(&b, 16).await;
        selfbrake(&b, 16).await;
        let (mut d, mut s) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate which goes first, so drift hits both alike.
            if round % 2 == 0 {
                d.push(direct(&b, max).await);
                s.push(selfbrake(&b, max).await);
            } else {
                s.push(selfbrake(&b, max).await);
                d.push(direct(&b, max).await);
            }
            eprintln!(
                "round {round}: direct {:?}, selfbrake {:?}",
                d[round], s[round]
            );
        }
        println!(
            "\n| path | runs | tokens | tok/s (request to last token) | decode tok/s | TTFT ms |"
        );
        println!("|---|---|---|---|---|---|");
        let td = summary("mistral.rs direct", &d);
        let ts = summary("selfbrake backend", &s);
        println!("\nselfbrake / direct: {:.3}", ts / td);
    }
}

#[cfg(feature = "embedded")]
#[tokio::main]
async fn main() {
    bench::main().await
}

#[cfg(not(feature = "embedded"))]
fn main() {
    eprintln!("build with --features embedded");
}
