//! What the `compare` and `loadtest` drivers share: where the binaries are,
//! selfbrake configs, starting the mock and the proxies, and one load
//! generator run with the CPU the measured processes spent during it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::procfs;
use crate::procs::{self, Guard};
use crate::stats::Summary;
use crate::BenchError;

/// A sibling binary of the running one (`fast-upstream`, `loadgen`): cargo
/// puts every binary of this package in the same directory.
pub fn sibling(name: &str) -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe()?;
    let p = exe.with_file_name(name);
    if p.exists() {
        Ok(p)
    } else {
        Err(BenchError::Other(format!(
            "{} not found: build with `cargo build --release -p selfbrake-bench`",
            p.display()
        )))
    }
}

/// The work folder (given, or a fresh one under the temp dir named after
/// `prefix`) and the selfbrake binary to run (given, or the default), both
/// checked.
pub fn prepare(
    work_dir: Option<PathBuf>,
    prefix: &str,
    selfbrake: Option<PathBuf>,
) -> Result<(PathBuf, PathBuf), BenchError> {
    let dir = work_dir
        .unwrap_or_else(|| std::env::temp_dir().join(format!("{prefix}-{}", std::process::id())));
    std::fs::create_dir_all(&dir)?;
    let bin = selfbrake.unwrap_or_else(default_selfbrake);
    if !bin.exists() {
        return Err(BenchError::Other(format!(
            "{} not found: cargo build --release -p selfbrake -p selfbrake-bench",
            bin.display()
        )));
    }
    Ok((dir, bin))
}

/// `$CARGO_TARGET_DIR/release/selfbrake`, else `target/release/selfbrake`.
pub fn default_selfbrake() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => PathBuf::from(d).join("release/selfbrake"),
        None => PathBuf::from("target/release/selfbrake"),
    }
}

/// A selfbrake config: one OpenAI backend at `upstream`, the `default`
/// policy replaced by `rules` (TOML inline tables), or the shipped default
/// policy when `rules` is `None`.
pub fn selfbrake_config(listen: &str, upstream: &str, rules: Option<&[String]>) -> String {
    let mut s = format!(
        "[server]\nlisten = \"{listen}\"\n# Several instances run side by side: metrics on an ephemeral port.\nadmin_listen = \"127.0.0.1:0\"\n\n[backends.default]\nkind = \"openai\"\nbase_url = \"{upstream}\"\ncontinuation = \"continue_final_message\"\n"
    );
    if let Some(rules) = rules {
        s.push_str("\n[policies.default]\nrules = [\n");
        for r in rules {
            s.push_str(&format!("  {r},\n"));
        }
        s.push_str("]\n");
    }
    s
}

/// Starts selfbrake with `config` (written to `dir/config/name.toml`), after
/// `selfbrake check-config` accepts it, and waits for `/healthz`.
pub fn start_selfbrake(
    bin: &Path,
    dir: &Path,
    name: &str,
    listen: &str,
    config: &str,
) -> Result<Guard, BenchError> {
    // Not beside the logs: selfbrake watches its config's folder for
    // reloads, and every log line would be an event there.
    let configs = dir.join("config");
    std::fs::create_dir_all(&configs)?;
    let file = configs.join(format!("{name}.toml"));
    std::fs::write(&file, config)?;
    let check = Command::new(bin).arg("check-config").arg(&file).output()?;
    if !check.status.success() {
        return Err(BenchError::Other(format!(
            "check-config {}: {}{}",
            file.display(),
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        )));
    }
    let args = vec![
        "serve".to_string(),
        "--config".into(),
        file.display().to_string(),
        "--listen".into(),
        listen.into(),
    ];
    let mut g = procs::spawn(name, bin, &args, &dir.join(format!("{name}.log")))?;
    procs::wait_ready(&mut g, listen, "/healthz", Duration::from_secs(30))?;
    Ok(g)
}

/// Starts the fast mock upstream.
pub fn start_mock(dir: &Path, listen: &str, extra: &[String]) -> Result<Guard, BenchError> {
    start_mock_facing(dir, "fast-upstream", listen, extra)
}

/// Starts the plain TCP relay (`tcp-relay`) from `listen` to `upstream`.
pub fn start_relay(dir: &Path, listen: &str, upstream: &str) -> Result<Guard, BenchError> {
    start_mock_facing(
        dir,
        "tcp-relay",
        listen,
        &["--upstream".into(), upstream.into()],
    )
}

/// Starts the sibling binary `name` on `listen` and waits until the mock's
/// `/v1/models` answers through it.
fn start_mock_facing(
    dir: &Path,
    name: &str,
    listen: &str,
    extra: &[String],
) -> Result<Guard, BenchError> {
    let mut args = vec!["--listen".to_string(), listen.to_string()];
    args.extend_from_slice(extra);
    let log = dir.join(format!("{name}.log"));
    let mut g = procs::spawn(name, &sibling(name)?, &args, &log)?;
    procs::wait_ready(&mut g, listen, "/v1/models", Duration::from_secs(10))?;
    Ok(g)
}

/// One load generator run and the CPU seconds the watched process trees
/// spent during it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Run {
    pub summary: Summary,
    /// CPU seconds of each watched pid's tree, in the order given.
    pub cpu_s: Vec<f64>,
}

fn tree_cpu(pid: u32, tck: u64) -> f64 {
    procfs::tree(pid)
        .into_iter()
        .filter_map(|p| procfs::cpu_seconds(p, tck).ok())
        .sum()
}

/// Runs `loadgen` with `args` (its output JSON goes to `dir/out_name`),
/// measuring CPU of `cpu_pids` (each with its descendants).
pub fn loadgen(
    dir: &Path,
    out_name: &str,
    args: &[String],
    cpu_pids: &[u32],
) -> Result<Run, BenchError> {
    let tck = procfs::clk_tck();
    let out = dir.join(out_name);
    let before: Vec<f64> = cpu_pids.iter().map(|&p| tree_cpu(p, tck)).collect();
    let status = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n \"$(ulimit -Hn)\" 2>/dev/null; exec \"$0\" \"$@\" > /dev/null")
        .arg(sibling("loadgen")?)
        .args(args)
        .arg("--out")
        .arg(&out)
        .status()?;
    let after: Vec<f64> = cpu_pids.iter().map(|&p| tree_cpu(p, tck)).collect();
    if !status.success() {
        return Err(BenchError::Other(format!("loadgen failed: {status}")));
    }
    let summary: Summary = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
    let cpu_s = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    Ok(Run { summary, cpu_s })
}

/// Peak RSS (`VmHWM`) of `pid`'s tree, summed, in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    procfs::tree(pid)
        .into_iter()
        .filter_map(|p| procfs::peak_rss_kb(p).ok())
        .sum::<u64>() as f64
        / 1024.0
}
