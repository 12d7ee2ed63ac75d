//! Tokens per second from llama.cpp's `llama-server`, directly and through
//! selfbrake, and their ratio. A benchmark, not a test: it prints figures.
//!
//! ```text
//! SELFBRAKE_LLAMA_SERVER=$(scripts/build-llama-server.sh) \
//! SELFBRAKE_MODEL=$(scripts/get-model.sh ~/.cache/selfbrake-models) \
//! cargo run --release -p selfbrake-tests --example llamacpp_bench -- [RUNS] [TOKENS]
//! ```
//!
//! One llama-server (one slot) serves both paths; runs alternate direct and
//! proxied (in alternating order) so that drift in the machine's load hits
//! both alike. Each run
//! streams `TOKENS` tokens (`ignore_eos`, greedy) and is timed from the
//! first content chunk to the last: the generation rate, without the prompt.
//! Reported: the median rate of each path, their ratio, and the median of
//! the per-pair ratios (less sensitive to load that drifts between pairs).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/llama/mod.rs"]
mod llama;

use std::error::Error;
use std::time::Instant;

use futures::StreamExt;
use serde_json::{json, Value};

const POLICY: &str = "rules = [{ kind = \"budget\", max_reasoning_tokens = 100000 }]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map_or(Ok(10), |a| a.parse())?;
    let tokens: u32 = args.next().map_or(Ok(256), |a| a.parse())?;

    let server = llama::LlamaServer::start(&[]).await;
    let config = format!(
        "[backends.llama]\nkind = \"openai\"\nbase_url = \"{}\"\n\n[policies.pass]\n{POLICY}\n\n\
         [tenants.anyone]\nanonymous = true\nbackend = \"llama\"\npolicy = \"pass\"\n",
        server.base_url()
    );
    let proxy = common::Proxy::start(&config).await;
    let direct_url = server.url("/v1/chat/completions");
    let proxied_url = proxy.url("/v1/chat/completions");
    // A fresh connection per request on both paths: llama-server may close
    // an idle keep-alive connection just as the next request is sent on it.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    println!(
        "llama-server at {direct_url}, selfbrake at {proxied_url}, machine load: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    // Warm-up: the first request loads caches on both paths.
    rate(&client, &direct_url, 16).await?;
    rate(&client, &proxied_url, 16).await?;

    let (mut direct, mut proxied, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        // Each pair back to back, in alternating order.
        let (d, p) = if i % 2 == 0 {
            let d = rate(&client, &direct_url, tokens).await?;
            (d, rate(&client, &proxied_url, tokens).await?)
        } else {
            let p = rate(&client, &proxied_url, tokens).await?;
            (rate(&client, &direct_url, tokens).await?, p)
        };
        println!("run {i}: direct {d:.1} tok/s, through selfbrake {p:.1} tok/s");
        direct.push(d);
        proxied.push(p);
        ratios.push(p / d);
    }
    let (d, p) = (median(&mut direct), median(&mut proxied));
    println!(
        "machine load after: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "median over {runs} runs of {tokens} tokens: direct {d:.1} tok/s, \
         through selfbrake {p:.1} tok/s, ratio of medians {:.3}, median of pair ratios {:.3}",
        p / d,
        median(&mut ratios)
    );
    Ok(())
}

/// Streams `tokens` tokens from `url`; tokens per second between the first
/// and the last content chunk (llama-server sends one token a chunk).
async fn rate(client: &reqwest::Client, url: &str, tokens: u32) -> Result<f64, Box<dyn Error>> {
    let body = json!({
        "model": "smollm2",
        "messages": [{"role": "user", "content": "Write a long story about a dragon."}],
        "max_tokens": tokens, "temperature": 0, "ignore_eos": true, "stream": true,
    });
    let resp = client.post(url).json(&body).send().await?;
    if !resp.status().is_success() {
        return Err(format!("{url}: HTTP {}", resp.status()).into());
    }
    let mut stream = resp.bytes_stream();
    let (mut buf, mut chunks) = (String::new(), 0u32);
    let (mut first, mut last) = (None, None);
    while let Some(bytes) = stream.next().await {
        buf.push_str(std::str::from_utf8(&bytes?)?);
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let Some(data) = event.trim().strip_prefix("data: ") else {
                continue;
            };
            if data == "[DONE]" {
                continue;
            }
            let chunk: Value = serde_json::from_str(data)?;
            let content = &chunk["choices"][0]["delta"]["content"];
            if content.as_str().is_some_and(|c| !c.is_empty()) {
                let now = Instant::now();
                first.get_or_insert(now);
                last = Some(now);
                chunks += 1;
            }
        }
    }
    let (Some(first), Some(last)) = (first, last) else {
        return Err(format!("{url}: no content").into());
    };
    Ok(f64::from(chunks - 1) / last.duration_since(first).as_secs_f64())
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}
