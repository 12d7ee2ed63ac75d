//! One command, four paths to the same fast mock upstream, run in
//! alternation: (a) direct, (b) selfbrake with rules active that never fire,
//! (c) selfbrake braking at half the trace (then a continuation request),
//! (d) LiteLLM as a plain OpenAI passthrough. Prints the latency each proxy
//! adds over direct, throughput at saturation, the proxy's CPU per 1,000
//! streamed tokens and its peak RSS.
//!
//! Alternating rounds (a b c d a b c d ...) spread slow drifts of a shared
//! machine over every path instead of charging them to one.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use selfbrake_bench::driver::{self, Run};
use selfbrake_bench::procs::{self, Guard};

use selfbrake_bench::report::{report, Path, Results};

#[derive(Parser, Debug)]
#[command(about = "Overhead of selfbrake vs direct vs LiteLLM, against a fast mock upstream")]
struct Args {
    /// The selfbrake binary [default: $CARGO_TARGET_DIR/release/selfbrake or target/release/selfbrake;
    /// the container image ships `scripts/pgo.sh`'s build, which it prints].
    #[arg(long)]
    selfbrake: Option<PathBuf>,
    /// Tokens per second per stream in the latency runs (a GPU's pace).
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Reasoning tokens per generation.
    #[arg(long, default_value_t = 200)]
    tokens: usize,
    /// Concurrent streams in the latency runs.
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    #[arg(long, default_value_t = 15.0)]
    duration_s: f64,
    /// Alternating rounds of every path.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Concurrent streams in the saturation runs (tokens at full speed).
    #[arg(long, default_value_t = 32)]
    sat_concurrency: usize,
    #[arg(long, default_value_t = 8.0)]
    sat_duration_s: f64,
    /// Reasoning text from this trace JSONL file instead of synthetic text.
    #[arg(long)]
    traces: Option<PathBuf>,
    /// Virtual environment holding `litellm[proxy]`.
    #[arg(long, default_value = "~/.cache/selfbrake-litellm-venv")]
    litellm_venv: String,
    /// Try `pip install 'litellm[proxy]'` into the venv when it is missing.
    #[arg(long)]
    install_litellm: bool,
    #[arg(long)]
    no_litellm: bool,
    /// Loopback ports from here: mock, selfbrake idle, selfbrake braking, LiteLLM, TCP relay.
    #[arg(long, default_value_t = 18100)]
    base_port: u16,
    /// Configs, logs and JSON results go here [default: a temp dir].
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let (dir, sb_bin) =
        driver::prepare(a.work_dir.clone(), "selfbrake-bench", a.selfbrake.clone())?;
    let addr = |i: u16| format!("127.0.0.1:{}", a.base_port + i);
    let upstream = format!("http://{}/v1", addr(0));

    let mut mock_args = vec![
        "--rate".into(),
        a.rate.to_string(),
        "--tokens".into(),
        a.tokens.to_string(),
    ];
    if let Some(t) = &a.traces {
        mock_args.extend(["--traces".into(), t.display().to_string()]);
    }
    let mock = driver::start_mock(&dir, &addr(0), &mock_args)?;
    let idle_rules = vec![
        "{ kind = \"budget\", max_reasoning_tokens = 1000000000 }".to_string(),
        "{ kind = \"convergence\", repeats = 2 }".to_string(),
    ];
    let brake_rules = vec![format!(
        "{{ kind = \"budget\", max_reasoning_tokens = {} }}",
        a.tokens / 2
    )];
    let cfg_b = driver::selfbrake_config(&addr(1), &upstream, Some(&idle_rules));
    let cfg_c = driver::selfbrake_config(&addr(2), &upstream, Some(&brake_rules));
    let sb_idle = driver::start_selfbrake(&sb_bin, &dir, "selfbrake-idle", &addr(1), &cfg_b)?;
    let sb_brake = driver::start_selfbrake(&sb_bin, &dir, "selfbrake-brake", &addr(2), &cfg_c)?;
    let litellm = if a.no_litellm {
        None
    } else {
        match start_litellm(&a, &dir, &addr(3), &upstream) {
            Ok(g) => Some(g),
            Err(e) => {
                println!("LiteLLM not measured: {e:#}");
                None
            }
        }
    };

    let relay = driver::start_relay(&dir, &addr(4), &addr(0))?;
    let mut paths = vec![
        Path::new("direct", &addr(0), None),
        Path::new("TCP relay (floor)", &addr(4), Some(&relay)),
        Path::new("selfbrake, rules idle", &addr(1), Some(&sb_idle)),
        Path::new("selfbrake, brake at 50%", &addr(2), Some(&sb_brake)),
    ];
    if let Some(g) = &litellm {
        paths.push(Path::new("LiteLLM passthrough", &addr(3), Some(g)));
    }
    let mut results = Results::new(paths.len());
    let lat_args = |base: &str, model: &str| -> Vec<String> {
        vec![
            "--base-url".into(),
            format!("http://{base}/v1"),
            "--model".into(),
            model.into(),
            "--concurrency".into(),
            a.concurrency.to_string(),
            "--duration-s".into(),
            a.duration_s.to_string(),
            "--ramp-s".into(),
            "1".into(),
        ]
    };
    let sat_args = |base: &str| -> Vec<String> {
        vec![
            "--base-url".into(),
            format!("http://{base}/v1"),
            "--model".into(),
            "mock-model-fast".into(),
            "--concurrency".into(),
            a.sat_concurrency.to_string(),
            "--duration-s".into(),
            a.sat_duration_s.to_string(),
            "--ramp-s".into(),
            "0.2".into(),
        ]
    };
    for round in 0..a.rounds {
        for (i, p) in paths.iter().enumerate() {
            eprintln!("round {}: latency, {}", round + 1, p.name);
            let run = measure(
                &dir,
                &format!("lat-{round}-{i}.json"),
                &lat_args(&p.addr, "mock-model"),
                p,
                mock.pid(),
            )?;
            results.latency[i].push(run);
        }
        for (i, p) in paths.iter().enumerate() {
            eprintln!("round {}: saturation, {}", round + 1, p.name);
            let run = measure(
                &dir,
                &format!("sat-{round}-{i}.json"),
                &sat_args(&p.addr),
                p,
                mock.pid(),
            )?;
            results.saturation[i].push(run);
        }
    }
    for (i, p) in paths.iter().enumerate() {
        let pid = p.pid.unwrap_or(mock.pid());
        results.peak_rss_mib[i] = driver::peak_rss_mib(pid);
    }
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    println!("{}", report(&a_summary(&a, &sb_bin), &paths, &results));
    println!("raw results: {}", dir.join("results.json").display());
    drop((litellm, relay, sb_brake, sb_idle, mock));
    Ok(())
}

/// The setup line; it names the binary measured, since builds differ by a
/// tenth or more in CPU per token (the image ships `scripts/pgo.sh`'s).
fn a_summary(a: &Args, bin: &std::path::Path) -> String {
    format!(
        "{} streams at {} tok/s each, {} reasoning tokens per request, {} s per run, {} rounds; saturation: {} streams, no token delay, {} s per run; selfbrake: {}",
        a.concurrency, a.rate, a.tokens, a.duration_s, a.rounds, a.sat_concurrency, a.sat_duration_s, bin.display()
    )
}

/// One loadgen run on `p`, with the CPU of the proxy (if any) and the mock.
fn measure(
    dir: &std::path::Path,
    out: &str,
    args: &[String],
    p: &Path,
    mock: u32,
) -> anyhow::Result<Run> {
    let mut pids = vec![mock];
    pids.extend(p.pid);
    let run = driver::loadgen(dir, out, args, &pids)?;
    let s = &run.summary;
    eprintln!(
        "  ok {} errors {} malformed {}  ttft p50 {:.2} ms p99 {:.2} ms  gap p50 {:.2} ms p99 {:.2} ms  {:.0} tok/s",
        s.ok, s.errors, s.malformed, s.ttft_us.p50 / 1e3, s.ttft_us.p99 / 1e3,
        s.gap_us.p50 / 1e3, s.gap_us.p99 / 1e3, s.tokens_per_s
    );
    for e in s.error_samples.iter().take(3) {
        eprintln!("  problem: {e}");
    }
    Ok(run)
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// LiteLLM as a plain OpenAI passthrough to the mock (both model names).
fn start_litellm(
    a: &Args,
    dir: &std::path::Path,
    listen: &str,
    upstream: &str,
) -> anyhow::Result<Guard> {
    let venv = expand_home(&a.litellm_venv);
    let bin = venv.join("bin/litellm");
    if !bin.exists() && a.install_litellm {
        eprintln!("installing litellm[proxy] into {}", venv.display());
        let ok = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()?
            .success()
            && Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "litellm[proxy]"])
                .status()?
                .success();
        if !ok {
            bail!("pip install 'litellm[proxy]' failed");
        }
    }
    if !bin.exists() {
        bail!("{} missing (run with --install-litellm, or pip install 'litellm[proxy]' into that venv)", bin.display());
    }
    let mut yaml = String::from("model_list:\n");
    for m in ["mock-model", "mock-model-fast"] {
        yaml.push_str(&format!(
            "  - model_name: {m}\n    litellm_params:\n      model: openai/{m}\n      api_base: {upstream}\n      api_key: x\n"
        ));
    }
    // A master key, as LiteLLM requires to start; the load generator sends it.
    yaml.push_str(
        "litellm_settings:\n  telemetry: false\ngeneral_settings:\n  master_key: sk-bench\n",
    );
    let file = dir.join("litellm.yaml");
    std::fs::write(&file, yaml)?;
    let port = listen.rsplit(':').next().unwrap_or("4000").to_string();
    // Offline: no fetch of the remote model cost map at start-up.
    std::env::set_var("LITELLM_LOCAL_MODEL_COST_MAP", "True");
    std::env::set_var("LITELLM_LOG", "ERROR");
    let args = vec![
        "--config".into(),
        file.display().to_string(),
        "--host".into(),
        "127.0.0.1".into(),
        "--port".into(),
        port,
    ];
    let mut g = procs::spawn("litellm", &bin, &args, &dir.join("litellm.log"))?;
    procs::wait_ready(
        &mut g,
        listen,
        "/health/liveliness",
        Duration::from_secs(180),
    )
    .context("LiteLLM did not start (see litellm.log in the work dir)")?;
    Ok(g)
}
