//! What the drivers read about a process from `/proc`: CPU time, peak and
//! current resident memory, open file descriptors.
//!
//! Read from `/proc` rather than through a crate so the numbers are exactly
//! the kernel's (`utime + stime`, `VmHWM`, `VmRSS`, the `fd` directory).

use std::path::PathBuf;
use std::process::Command;

use crate::BenchError;

fn proc_path(pid: u32, what: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{what}"))
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 where it cannot be read):
/// `/proc/PID/stat` counts CPU time in these.
pub fn clk_tck() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// CPU time (user + system, all threads) of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64, BenchError> {
    let stat = std::fs::read_to_string(proc_path(pid, "stat"))?;
    // The command name may hold spaces: fields are counted after its `)`.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| BenchError::Other(format!("odd /proc/{pid}/stat")))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime is field 14, stime 15.
    let field = |n: usize| -> Result<u64, BenchError> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| BenchError::Other(format!("no field {n} in /proc/{pid}/stat")))
    };
    Ok(field(14)? + field(15)?)
}

/// CPU seconds of `pid` so far.
pub fn cpu_seconds(pid: u32, tck: u64) -> Result<f64, BenchError> {
    Ok(cpu_ticks(pid)? as f64 / tck as f64)
}

fn status_kb(pid: u32, key: &str) -> Result<u64, BenchError> {
    let status = std::fs::read_to_string(proc_path(pid, "status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| BenchError::Other(format!("no {key} in /proc/{pid}/status")))
}

/// Peak resident set size (`VmHWM`) in KiB.
pub fn peak_rss_kb(pid: u32) -> Result<u64, BenchError> {
    status_kb(pid, "VmHWM")
}

/// Current resident set size (`VmRSS`) in KiB.
pub fn rss_kb(pid: u32) -> Result<u64, BenchError> {
    status_kb(pid, "VmRSS")
}

/// Open file descriptors of `pid`.
pub fn fd_count(pid: u32) -> Result<usize, BenchError> {
    Ok(std::fs::read_dir(proc_path(pid, "fd"))?.count())
}

/// `pid` and its descendants (LiteLLM may run worker processes, whose CPU
/// and memory count too), found through `/proc/PID/task/*/children`.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() && out.len() < 4096 {
        let p = out[i];
        if let Ok(tasks) = std::fs::read_dir(proc_path(p, "task")) {
            for t in tasks.flatten() {
                let children = std::fs::read_to_string(t.path().join("children"));
                for c in children.iter().flat_map(|s| s.split_whitespace()) {
                    if let Ok(c) = c.parse() {
                        out.push(c);
                    }
                }
            }
        }
        i += 1;
    }
    out
}
