//! `selfbrake serve` watches its config's directory for hot reload. A log
//! written beside the config (`serve --config ./selfbrake.toml
//! 2>>./selfbrake.log`) must not wake the process for every line it takes,
//! and the config written in place must still be picked up.
mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Served;

fn config(port: u16, budget: u64) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"\"\nmetrics_token = \"m\"\n\
         [backends.default]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
         [policies.default]\nrules = [{{ kind = \"budget\", max_reasoning_tokens = {budget} }}]\n"
    )
}

/// Context switches of every thread of `pid` so far: one per time a thread
/// went to sleep and was woken (or was preempted).
fn switches(pid: u32) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status =
            std::fs::read_to_string(task.unwrap().path().join("status")).unwrap_or_default();
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    total
}

async fn reloads_ok(base: &str) -> u64 {
    let text = selfbrake_tests::metrics::scrape(&format!("{base}/metrics"), Some("m")).await;
    let ok = "selfbrake_config_reloads_total{result=\"ok\"}";
    selfbrake_tests::metrics::sample(&text, ok).unwrap_or(0.0) as u64
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_beside_the_config_wakes_nothing_and_the_config_still_reloads() {
    let mut port = 0;
    let mut served = Served::start(
        "watchlog",
        |p| {
            port = p;
            config(p, 1000)
        },
        Stdio::null(),
    )
    .await;
    let pid = served.child.id();
    const LINES: u64 = 400;

    // The same stretch of time idle, then with a line a millisecond.
    let before = switches(pid);
    let started = Instant::now();
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(served.dir.join("selfbrake.log"))
        .unwrap();
    for i in 0..LINES {
        writeln!(log, "line {i} of a busy neighbour").unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    let writing = started.elapsed();
    let during_writes = switches(pid) - before;
    let before = switches(pid);
    std::thread::sleep(writing);
    let idle = switches(pid) - before;
    assert!(
        during_writes < idle + LINES / 4,
        "{during_writes} context switches while {LINES} lines went to a log beside the config, \
         {idle} in as long idle: the watcher wakes per line"
    );

    // Written in place (no rename): a close after writing.
    assert_eq!(reloads_ok(&served.base).await, 0);
    std::fs::write(served.dir.join("config.toml"), config(port, 2000)).unwrap();
    let started = Instant::now();
    while reloads_ok(&served.base).await != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the config written in place was not reloaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The watch holds nothing up at shutdown.
    served.sigterm();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
}
