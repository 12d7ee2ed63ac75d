//! Streaming load generator: `--concurrency` workers send streaming chat
//! requests back to back to `--url` for `--duration-s`, and print one JSON
//! summary (TTFT, inter-token gaps, request and token throughput, errors,
//! well-formedness; with `--watch-pid`, that process's RSS and open fds
//! sampled during the run and its peak RSS).
#![forbid(unsafe_code)]

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use selfbrake_bench::load::{self, LoadConfig};

#[derive(Parser, Debug)]
#[command(about = "Concurrent streaming chat-completions load generator")]
struct Args {
    /// Base URL of the OpenAI-compatible server (`/chat/completions` is appended).
    #[arg(long, default_value = "http://127.0.0.1:8787/v1")]
    base_url: String,
    #[arg(long, default_value = "mock-model")]
    model: String,
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    #[arg(long, default_value_t = 20.0)]
    duration_s: f64,
    /// Worker starts are spread over this many seconds.
    #[arg(long, default_value_t = 1.0)]
    ramp_s: f64,
    #[arg(long, default_value_t = 120.0)]
    request_timeout_s: f64,
    /// Sample this process's RSS and open fds during the run.
    #[arg(long)]
    watch_pid: Option<u32>,
    #[arg(long, default_value_t = 5.0)]
    sample_every_s: f64,
    /// Client runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Clients that stop reading mid-stream (besides `--concurrency`).
    #[arg(long, default_value_t = 0)]
    stalled: usize,
    /// Clients that send their headers a byte a second (besides `--concurrency`).
    #[arg(long, default_value_t = 0)]
    slow_headers: usize,
    /// Write the JSON summary here too.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let url = format!("{}/chat/completions", a.base_url.trim_end_matches('/'))
        .parse()
        .context("base URL")?;
    let cfg = LoadConfig {
        url,
        model: a.model,
        concurrency: a.concurrency,
        duration: Duration::from_secs_f64(a.duration_s),
        ramp: Duration::from_secs_f64(a.ramp_s),
        request_timeout: Duration::from_secs_f64(a.request_timeout_s),
        watch_pid: a.watch_pid,
        sample_every: Duration::from_secs_f64(a.sample_every_s),
        stalled: a.stalled,
        slow_headers: a.slow_headers,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.threads.max(1))
        .enable_all()
        .build()?;
    let summary = rt.block_on(load::run(cfg));
    let json = serde_json::to_string_pretty(&summary)?;
    if let Some(p) = a.out {
        std::fs::write(&p, &json).with_context(|| format!("{}", p.display()))?;
    }
    println!("{json}");
    Ok(())
}
