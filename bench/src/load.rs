//! The load generator's core: `concurrency` workers, each sending one
//! streaming request after the other until the window closes; requests in
//! flight then finish (so every stream can be checked), but only what
//! arrived inside the window counts towards throughput.
//!
//! Each worker's first request opens its connection and is left out of the
//! latency figures (it is still checked and counted); worker starts are
//! spread over `ramp` so token ticks of different streams do not line up.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::client::{chat_body, http_client, stream_chat, Record};
use crate::procfs;
use crate::stats::{Pct, ProcSample, Summary};

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `.../v1/chat/completions`.
    pub url: http::Uri,
    pub model: String,
    pub concurrency: usize,
    pub duration: Duration,
    pub ramp: Duration,
    pub request_timeout: Duration,
    /// Process to sample (RSS, fds) every `sample_every`.
    pub watch_pid: Option<u32>,
    pub sample_every: Duration,
    /// Besides the `concurrency` well-behaved workers: clients that stop
    /// reading mid-stream, and clients that trickle their headers (see
    /// `hostile`). Each holds one connection for the whole window.
    pub stalled: usize,
    pub slow_headers: usize,
}

#[derive(Default)]
struct Totals {
    requests: u64,
    ok: u64,
    errors: u64,
    malformed: u64,
    error_samples: Vec<String>,
    done_in_window: u64,
    tokens: u64,
    tokens_in_window: u64,
    ttft_us: Vec<u32>,
    gap_us: Vec<u32>,
    total_ms: Vec<u32>,
}

impl Totals {
    fn add(&mut self, rec: Record, warm_up: bool) {
        self.requests += 1;
        self.tokens += rec.tokens;
        self.tokens_in_window += rec.tokens_in_window;
        let problem = match (&rec.error, &rec.malformed) {
            (Some(e), _) => {
                self.errors += 1;
                Some(e.clone())
            }
            (None, Some(m)) => {
                self.malformed += 1;
                Some(m.clone())
            }
            (None, None) => {
                self.ok += 1;
                None
            }
        };
        if let Some(p) = problem {
            if self.error_samples.len() < 10 {
                self.error_samples.push(p);
            }
            return;
        }
        if rec.done_in_window {
            self.done_in_window += 1;
        }
        if warm_up {
            return;
        }
        if let Some(t) = rec.ttft {
            self.ttft_us
                .push(t.as_micros().min(u32::MAX as u128) as u32);
        }
        self.gap_us.extend_from_slice(&rec.gaps_us);
        self.total_ms
            .push(rec.total.as_millis().min(u32::MAX as u128) as u32);
    }
}

/// Runs the load and summarises it.
pub async fn run(cfg: LoadConfig) -> Summary {
    let client = http_client();
    let body = chat_body(&cfg.model);
    let start = Instant::now();
    let deadline = start + cfg.duration;
    let totals = Arc::new(Mutex::new(Totals::default()));
    let sampler = cfg
        .watch_pid
        .map(|pid| tokio::spawn(sample(pid, start, cfg.sample_every, deadline)));
    let mut workers = Vec::with_capacity(cfg.concurrency);
    for i in 0..cfg.concurrency {
        let (client, body, url, totals) = (
            client.clone(),
            body.clone(),
            cfg.url.clone(),
            totals.clone(),
        );
        let delay = cfg.ramp.mul_f64(i as f64 / cfg.concurrency.max(1) as f64);
        let timeout = cfg.request_timeout;
        workers.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut first = true;
            while Instant::now() < deadline {
                let rec = stream_chat(&client, &url, body.clone(), timeout, deadline).await;
                let failed = rec.error.is_some();
                totals.lock().expect("totals").add(rec, first);
                first = false;
                if failed {
                    // Do not spin on a dead target.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    let addr = hostile_addr(&cfg.url);
    let path = cfg.url.path().to_string();
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let mut stalled = Vec::new();
    let mut slow = Vec::new();
    if let Some(addr) = addr {
        for _ in 0..cfg.stalled {
            let (path, body) = (path.clone(), body_text.clone());
            stalled.push(tokio::spawn(async move {
                crate::hostile::stalled_reader(addr, &path, &body, deadline).await
            }));
        }
        for _ in 0..cfg.slow_headers {
            let path = path.clone();
            slow.push(tokio::spawn(async move {
                crate::hostile::slow_headers(addr, &path, deadline).await
            }));
        }
    }
    for w in workers {
        let _ = w.await;
    }
    let count = |v: Vec<Result<bool, tokio::task::JoinError>>| {
        v.into_iter().filter(|r| matches!(r, Ok(true))).count() as u64
    };
    let stalled_dropped = count(futures::future::join_all(stalled).await);
    let slow_dropped = count(futures::future::join_all(slow).await);
    let samples = match sampler {
        Some(s) => s.await.unwrap_or_default(),
        None => Vec::new(),
    };
    let mut t = std::mem::take(&mut *totals.lock().expect("totals"));
    let secs = cfg.duration.as_secs_f64();
    Summary {
        url: cfg.url.to_string(),
        concurrency: cfg.concurrency,
        duration_s: secs,
        requests: t.requests,
        ok: t.ok,
        errors: t.errors,
        malformed: t.malformed,
        error_samples: t.error_samples,
        requests_per_s: t.done_in_window as f64 / secs,
        tokens_per_s: t.tokens_in_window as f64 / secs,
        tokens: t.tokens,
        ttft_us: Pct::of(&mut t.ttft_us),
        gap_us: Pct::of(&mut t.gap_us),
        total_ms: Pct::of(&mut t.total_ms),
        watch_peak_rss_kb: cfg.watch_pid.and_then(|p| procfs::peak_rss_kb(p).ok()),
        watch_samples: samples,
        stalled: cfg.stalled as u64,
        stalled_dropped,
        slow_headers: cfg.slow_headers as u64,
        slow_headers_dropped: slow_dropped,
    }
}

/// Samples RSS and open fds of `pid` until the window closes (and once more
/// after it).
async fn sample(pid: u32, start: Instant, every: Duration, deadline: Instant) -> Vec<ProcSample> {
    let mut out = Vec::new();
    loop {
        if let (Ok(rss_kb), Ok(fds)) = (procfs::rss_kb(pid), procfs::fd_count(pid)) {
            out.push(ProcSample {
                t_s: start.elapsed().as_secs_f64(),
                rss_kb,
                fds,
            });
        }
        if Instant::now() >= deadline {
            return out;
        }
        let next = (Instant::now() + every).min(deadline);
        tokio::time::sleep_until(next.into()).await;
    }
}

/// The socket address of a plain `http://` URL with an IP host.
fn hostile_addr(url: &http::Uri) -> Option<std::net::SocketAddr> {
    let host = url.host()?;
    let port = url.port_u16().unwrap_or(80);
    format!("{host}:{port}").parse().ok()
}
