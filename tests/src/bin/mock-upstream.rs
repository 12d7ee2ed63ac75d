//! A mock vLLM server for trying selfbrake without a GPU: it replays a real
//! DeepSeek-R1 trace from `data/traces/dev.jsonl` in vLLM's exact wire
//! format, at a realistic token rate, and answers continuations.
//!
//! ```text
//! cargo run -p selfbrake-tests --bin mock-upstream -- [--listen 127.0.0.1:8000]
//!     [--trace r1-gsm8k-10] [--tokens-per-second 50] [--form reasoning|reasoning_content|inline]
//! ```
use std::net::SocketAddr;
use std::time::Duration;

use selfbrake_tests::{trace, MockConfig, MockUpstream, ReasoningForm, Script};

fn usage() -> ! {
    eprintln!(
        "usage: mock-upstream [--listen ADDR] [--trace ID] [--tokens-per-second N] \
         [--form reasoning|reasoning_content|inline]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut listen: SocketAddr = "127.0.0.1:8000".parse().unwrap();
    let mut trace_id = "r1-gsm8k-10".to_string();
    let mut rate = 50.0f64;
    let mut form = ReasoningForm::Reasoning;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--listen" => listen = value.parse().unwrap_or_else(|_| usage()),
            "--trace" => trace_id = value,
            "--tokens-per-second" => rate = value.parse().unwrap_or_else(|_| usage()),
            "--form" => {
                form = match value.as_str() {
                    "reasoning" => ReasoningForm::Reasoning,
                    "reasoning_content" => ReasoningForm::ReasoningContent,
                    "inline" => ReasoningForm::InlineThink,
                    _ => usage(),
                }
            }
            _ => usage(),
        }
    }
    let t = trace(&trace_id);
    let delay = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let script = Script::from_trace(&t).form(form).delay(delay);
    let mock = MockUpstream::start_at(listen, MockConfig::with_script(script))
        .await
        .unwrap_or_else(|e| {
            eprintln!("cannot listen on {listen}: {e}");
            std::process::exit(1)
        });
    eprintln!(
        "mock vLLM on {} replaying {trace_id} ({} reasoning chars) at {rate} tokens/s; Ctrl-C stops",
        mock.base_url(),
        t.reasoning.len()
    );
    let _ = tokio::signal::ctrl_c().await;
}
