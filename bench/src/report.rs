//! The `compare` driver's table: each path against direct, medians over the
//! alternating rounds, with the added latency taken per round (proxy minus
//! the direct run of the same round) so that rounds pair up.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::driver::Run;
use crate::procs::Guard;

/// One way to the mock: direct, or through a proxy process.
#[derive(Debug, Clone)]
pub struct Path {
    pub name: String,
    pub addr: String,
    /// The proxy's pid; `None` for direct.
    pub pid: Option<u32>,
}

impl Path {
    pub fn new(name: &str, addr: &str, proxy: Option<&Guard>) -> Self {
        Path {
            name: name.into(),
            addr: addr.into(),
            pid: proxy.map(Guard::pid),
        }
    }
}

/// Every run, by path index then round.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Results {
    pub latency: Vec<Vec<Run>>,
    pub saturation: Vec<Vec<Run>>,
    /// Of the proxy (the mock for direct), over the whole session.
    pub peak_rss_mib: Vec<f64>,
}

impl Results {
    pub fn new(paths: usize) -> Self {
        Results {
            latency: vec![Vec::new(); paths],
            saturation: vec![Vec::new(); paths],
            peak_rss_mib: vec![0.0; paths],
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median over rounds of `f(run)`.
fn med(runs: &[Run], f: impl Fn(&Run) -> f64) -> f64 {
    median(runs.iter().map(f).collect())
}

/// Median over rounds of `f(run) - f(direct run of the same round)`.
fn added(runs: &[Run], direct: &[Run], f: impl Fn(&Run) -> f64) -> f64 {
    median(runs.iter().zip(direct).map(|(r, d)| f(r) - f(d)).collect())
}

/// CPU µs per streamed token of the process at `cpu_s[k]` (k = 0: the mock,
/// 1: the proxy).
fn cpu_us_per_token(run: &Run, k: usize) -> f64 {
    let tokens = run.summary.tokens.max(1) as f64;
    run.cpu_s.get(k).copied().unwrap_or(f64::NAN) * 1e6 / tokens
}

fn ms(us: f64) -> f64 {
    us / 1e3
}

/// The markdown tables and the verdicts on the targets.
pub fn report(setup: &str, paths: &[Path], r: &Results) -> String {
    let d_lat = &r.latency[0];
    let d_sat = &r.saturation[0];
    let ttft50 = |x: &Run| x.summary.ttft_us.p50;
    let ttft99 = |x: &Run| x.summary.ttft_us.p99;
    let gap50 = |x: &Run| x.summary.gap_us.p50;
    let gap99 = |x: &Run| x.summary.gap_us.p99;
    let mut s = String::new();
    let _ = writeln!(s, "Setup: {setup}\n");
    let _ = writeln!(s, "| path | TTFT p50 / p99 ms | added TTFT p50 / p99 ms | gap p50 / p99 ms | added gap p50 / p99 ms | req/s | tok/s | failed / requests |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for (i, p) in paths.iter().enumerate() {
        let l = &r.latency[i];
        let failed: u64 = l
            .iter()
            .map(|x| x.summary.errors + x.summary.malformed)
            .sum();
        let reqs: u64 = l.iter().map(|x| x.summary.requests).sum();
        let _ = writeln!(
            s,
            "| {} | {:.3} / {:.3} | {:+.3} / {:+.3} | {:.3} / {:.3} | {:+.3} / {:+.3} | {:.1} | {:.0} | {failed} / {reqs} |",
            p.name,
            ms(med(l, ttft50)), ms(med(l, ttft99)),
            ms(added(l, d_lat, ttft50)), ms(added(l, d_lat, ttft99)),
            ms(med(l, gap50)), ms(med(l, gap99)),
            ms(added(l, d_lat, gap50)), ms(added(l, d_lat, gap99)),
            med(l, |x| x.summary.requests_per_s), med(l, |x| x.summary.tokens_per_s),
        );
    }
    let _ = writeln!(s, "\n| path | saturation req/s (× direct) | saturation tok/s (× direct) | CPU µs per token, latency run (s per 1k tok) | CPU µs per token, saturation | peak RSS MiB (× mock) | mock CPU µs per token |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    let d_req = med(d_sat, |x| x.summary.requests_per_s);
    let d_tok = med(d_sat, |x| x.summary.tokens_per_s);
    let mock_rss = r.peak_rss_mib[0];
    for (i, p) in paths.iter().enumerate() {
        let (l, t) = (&r.latency[i], &r.saturation[i]);
        // Direct: the mock's own cost, the floor a proxy is compared with.
        let k = if p.pid.is_some() { 1 } else { 0 };
        let req = med(t, |x| x.summary.requests_per_s);
        let tok = med(t, |x| x.summary.tokens_per_s);
        let cpu_l = med(l, |x| cpu_us_per_token(x, k));
        let _ = writeln!(
            s,
            "| {}{} | {:.0} ({:.2}×) | {:.0} ({:.2}×) | {:.2} ({:.4}) | {:.2} | {:.1} ({:.1}×) | {:.2} |",
            p.name,
            if k == 0 { " (the mock itself)" } else { "" },
            req, req / d_req, tok, tok / d_tok,
            cpu_l, cpu_l / 1e3,
            med(t, |x| cpu_us_per_token(x, k)),
            r.peak_rss_mib[i], r.peak_rss_mib[i] / mock_rss,
            med(l, |x| cpu_us_per_token(x, 0)),
        );
    }
    verdicts(&mut s, paths, r);
    s
}

fn verdicts(s: &mut String, paths: &[Path], r: &Results) {
    let d = &r.latency[0];
    let Some(sb) = paths.iter().position(|p| p.name.starts_with("selfbrake")) else {
        return;
    };
    let l = &r.latency[sb];
    let ttft = added(l, d, |x| x.summary.ttft_us.p99) / 1e3;
    let gap = added(l, d, |x| x.summary.gap_us.p99) / 1e3;
    let cpu = med(l, |x| cpu_us_per_token(x, 1));
    let yes = |b: bool| if b { "met" } else { "MISSED" };
    let _ = writeln!(s, "\nTargets ({}):", paths[sb].name);
    let _ = writeln!(
        s,
        "- added TTFT p99 ≤ 1 ms: {ttft:+.3} ms — {}",
        yes(ttft <= 1.0)
    );
    let _ = writeln!(
        s,
        "- added inter-token p99 ≤ 0.2 ms: {gap:+.3} ms — {}",
        yes(gap <= 0.2)
    );
    let _ = writeln!(
        s,
        "- CPU per streamed token ≤ 3 µs: {cpu:.2} µs — {}",
        yes(cpu <= 3.0)
    );
    if let Some(ll) = paths.iter().position(|p| p.name.starts_with("LiteLLM")) {
        let lt = added(&r.latency[ll], d, |x| x.summary.ttft_us.p99) / 1e3;
        let lg = added(&r.latency[ll], d, |x| x.summary.gap_us.p99) / 1e3;
        let _ = writeln!(
            s,
            "- ≥ 10× lower added latency than LiteLLM: TTFT p99 {lt:+.3} vs {ttft:+.3} ms ({:.0}×), gap p99 {lg:+.3} vs {gap:+.3} ms ({:.0}×)",
            lt / ttft.max(1e-3),
            lg / gap.max(1e-3)
        );
    }
}
