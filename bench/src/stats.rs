//! Percentiles over recorded samples, and the load generator's JSON summary.

use serde::{Deserialize, Serialize};

/// Value at quantile `q` (0..=1) of `sorted` (nearest rank); 0 when empty.
pub fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// p50 / p99 / max of a sample set, in the unit the samples were taken in.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Pct {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub n: usize,
}

impl Pct {
    /// Sorts `samples` in place.
    pub fn of(samples: &mut [u32]) -> Self {
        samples.sort_unstable();
        Pct {
            p50: quantile(samples, 0.50),
            p99: quantile(samples, 0.99),
            max: samples.last().copied().unwrap_or(0) as f64,
            n: samples.len(),
        }
    }
}

/// One sample of a watched process during a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcSample {
    pub t_s: f64,
    pub rss_kb: u64,
    pub fds: usize,
}

/// What one load generator run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub url: String,
    pub concurrency: usize,
    pub duration_s: f64,
    /// Requests started (warm-up requests included).
    pub requests: u64,
    /// Requests that ended 200, well-formed, with at least one token.
    pub ok: u64,
    /// Requests that failed (status, connection, timeout).
    pub errors: u64,
    /// Requests that ended 200 but not well-formed (no `[DONE]`, several
    /// ids, bad JSON, data after `[DONE]`, no finish reason).
    pub malformed: u64,
    /// The first few error messages, for the report.
    pub error_samples: Vec<String>,
    /// Requests completed inside the measuring window, per second.
    pub requests_per_s: f64,
    /// Tokens received inside the measuring window, per second.
    pub tokens_per_s: f64,
    /// Tokens received in all (drain included).
    pub tokens: u64,
    /// Time to first token, µs (warm-up requests excluded).
    pub ttft_us: Pct,
    /// Gaps between consecutive token chunks of one stream, µs.
    pub gap_us: Pct,
    /// Whole request, ms.
    pub total_ms: Pct,
    /// Of the watched process (`--watch-pid`), if any.
    pub watch_peak_rss_kb: Option<u64>,
    pub watch_samples: Vec<ProcSample>,
    /// Clients that stopped reading mid-stream, and how many of them the
    /// server had dropped by the end of the window.
    #[serde(default)]
    pub stalled: u64,
    #[serde(default)]
    pub stalled_dropped: u64,
    /// Clients that sent their headers a byte a second, and how many of
    /// them the server dropped.
    #[serde(default)]
    pub slow_headers: u64,
    #[serde(default)]
    pub slow_headers_dropped: u64,
}
