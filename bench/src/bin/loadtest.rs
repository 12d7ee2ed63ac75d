//! Load test and soak of selfbrake: the fast mock upstream, selfbrake with
//! the shipped default policy (every rule active) in front of it, and N
//! concurrent streams for a duration, while selfbrake's RSS and open file
//! descriptors are sampled. Prints errors, latency, whether every stream was
//! complete and well-formed, peak RSS, and the samples (a soak is the same
//! run, longer: growth shows in the samples).
//!
//! Children get the soft open-file limit raised to the hard limit (see
//! `procs::spawn`); 1,000 streams need about 2,000 descriptors in the proxy.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use selfbrake_bench::{driver, procfs};

#[derive(Parser, Debug)]
#[command(about = "Load test / soak of selfbrake against the fast mock upstream")]
struct Args {
    #[arg(long)]
    selfbrake: Option<PathBuf>,
    #[arg(long, default_value_t = 1000)]
    concurrency: usize,
    #[arg(long, default_value_t = 60.0)]
    duration_s: f64,
    /// Tokens per second per stream.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    #[arg(long, default_value_t = 200)]
    tokens: usize,
    #[arg(long, default_value_t = 5.0)]
    sample_every_s: f64,
    /// Worker starts are spread over this many seconds.
    #[arg(long, default_value_t = 4.0)]
    ramp_s: f64,
    #[arg(long, default_value_t = 18200)]
    base_port: u16,
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Share of the streams whose client stops reading mid-stream.
    #[arg(long, default_value_t = 0.1)]
    stalled_fraction: f64,
    /// Share of the streams whose client sends its headers a byte a second.
    #[arg(long, default_value_t = 0.1)]
    slow_header_fraction: f64,
    /// selfbrake's `client_stall_ms` and `header_read_timeout_ms` for the
    /// run: shorter than the window, so the hostile clients are dropped in it.
    #[arg(long, default_value_t = 2000)]
    client_timeout_ms: u64,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let (dir, sb_bin) = driver::prepare(a.work_dir.clone(), "selfbrake-load", a.selfbrake.clone())?;
    let mock_addr = format!("127.0.0.1:{}", a.base_port);
    let sb_addr = format!("127.0.0.1:{}", a.base_port + 1);
    let mock = driver::start_mock(
        &dir,
        &mock_addr,
        &[
            "--rate".into(),
            a.rate.to_string(),
            "--tokens".into(),
            a.tokens.to_string(),
        ],
    )?;
    let hostile = |share: f64| (a.concurrency as f64 * share).round() as usize;
    let (stalled, slow) = (hostile(a.stalled_fraction), hostile(a.slow_header_fraction));
    let regular = a.concurrency.saturating_sub(stalled + slow);
    let cfg = driver::selfbrake_config(&sb_addr, &format!("http://{mock_addr}/v1"), None).replacen(
        "[server]\n",
        &format!(
            "[server]\nclient_stall_ms = {t}\nheader_read_timeout_ms = {t}\n",
            t = a.client_timeout_ms
        ),
        1,
    );
    let sb = driver::start_selfbrake(&sb_bin, &dir, "selfbrake", &sb_addr, &cfg)?;
    let pid = sb.pid();
    let idle_rss = procfs::rss_kb(pid)?;
    let idle_fds = procfs::fd_count(pid)?;
    let args: Vec<String> = vec![
        "--base-url".into(),
        format!("http://{sb_addr}/v1"),
        "--concurrency".into(),
        regular.to_string(),
        "--stalled".into(),
        stalled.to_string(),
        "--slow-headers".into(),
        slow.to_string(),
        "--duration-s".into(),
        a.duration_s.to_string(),
        "--ramp-s".into(),
        a.ramp_s.to_string(),
        "--watch-pid".into(),
        pid.to_string(),
        "--sample-every-s".into(),
        a.sample_every_s.to_string(),
        "--threads".into(),
        "2".into(),
    ];
    let run = driver::loadgen(&dir, "load.json", &args, &[pid, mock.pid()])?;
    // After the drain: streams all ended; upstream sockets idle in the pool
    // close after its idle timeout (4 s). Descriptors must come back to
    // the idle baseline; wait up to 20 s for them.
    let drained = std::time::Instant::now();
    let mut after_fds = procfs::fd_count(pid)?;
    while after_fds > idle_fds && drained.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(250));
        after_fds = procfs::fd_count(pid)?;
    }
    let back_after = drained.elapsed().as_secs_f64();
    let after_rss = procfs::rss_kb(pid)?;
    let s = &run.summary;
    println!("selfbrake load: {} streams for {} s at {} tok/s per stream, {} reasoning tokens per request, shipped default policy", a.concurrency, a.duration_s, a.rate, a.tokens);
    println!(
        "of them: {regular} well-behaved; {} stopped reading mid-stream ({} closed by selfbrake by the end; a stream that fits in the socket buffers ends normally); {} sent headers a byte a second ({} dropped); client_stall_ms = header_read_timeout_ms = {}",
        s.stalled, s.stalled_dropped, s.slow_headers, s.slow_headers_dropped, a.client_timeout_ms
    );
    println!(
        "requests {}  ok {}  errors {}  malformed {}  ({})",
        s.requests,
        s.ok,
        s.errors,
        s.malformed,
        if s.errors + s.malformed == 0 {
            "every stream complete and well-formed"
        } else {
            "FAILURES"
        }
    );
    for e in &s.error_samples {
        println!("  problem: {e}");
    }
    println!(
        "TTFT p50 {:.2} ms p99 {:.2} ms | gap p50 {:.2} ms p99 {:.2} ms | request p50 {:.0} ms p99 {:.0} ms | {:.1} req/s {:.0} tok/s",
        s.ttft_us.p50 / 1e3, s.ttft_us.p99 / 1e3, s.gap_us.p50 / 1e3, s.gap_us.p99 / 1e3,
        s.total_ms.p50, s.total_ms.p99, s.requests_per_s, s.tokens_per_s
    );
    println!(
        "selfbrake CPU {:.1} s ({:.2} µs per token); mock CPU {:.1} s",
        run.cpu_s[0],
        run.cpu_s[0] * 1e6 / s.tokens.max(1) as f64,
        run.cpu_s[1]
    );
    let peak = s.watch_peak_rss_kb.unwrap_or(0) as f64 / 1024.0;
    println!(
        "selfbrake peak RSS (VmHWM) {peak:.1} MiB ({})",
        if peak < 200.0 {
            "under 200 MB"
        } else {
            "OVER 200 MB"
        }
    );
    println!(
        "selfbrake idle before: RSS {:.1} MiB, {idle_fds} fds; after the run: {after_fds} fds {} ({back_after:.1} s after the last stream), RSS {:.1} MiB",
        idle_rss as f64 / 1024.0,
        if after_fds <= idle_fds { "(back to the baseline)" } else { "(NOT back to the baseline)" },
        after_rss as f64 / 1024.0
    );
    println!("samples (t s, RSS MiB, fds):");
    for x in &s.watch_samples {
        println!(
            "  {:6.1}  {:7.1}  {:6}",
            x.t_s,
            x.rss_kb as f64 / 1024.0,
            x.fds
        );
    }
    println!("raw: {}", dir.join("load.json").display());
    drop((sb, mock));
    Ok(())
}
