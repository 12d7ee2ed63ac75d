//! The benchmark binaries build and run end to end for a few seconds (CI's
//! check; the figures come from full runs, see the README). A failed or
//! malformed stream in these runs fails the test.
use std::path::PathBuf;
use std::process::Command;

/// The selfbrake binary of this build (cargo puts workspace binaries side by
/// side; `--all-targets` builds it before the tests run).
fn selfbrake_bin() -> PathBuf {
    let compare = PathBuf::from(env!("CARGO_BIN_EXE_compare"));
    let bin = compare.with_file_name("selfbrake");
    assert!(bin.exists(), "{} is not built", bin.display());
    bin
}

fn run(bin: &str, args: &[&str]) -> String {
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .args(args)
        .arg("--selfbrake")
        .arg(selfbrake_bin())
        .arg("--work-dir")
        .arg(work.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{bin} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn compare_runs_every_path_and_prints_the_table() {
    let out = run(
        env!("CARGO_BIN_EXE_compare"),
        &[
            "--no-litellm",
            "--rounds",
            "1",
            "--concurrency",
            "8",
            // 20 tokens at 50 tok/s: 0.4 s a request, so several end after
            // each worker's warm-up request.
            "--tokens",
            "20",
            "--duration-s",
            "2",
            "--sat-concurrency",
            "4",
            "--sat-duration-s",
            "1",
            "--base-port",
            "18540",
        ],
    );
    for path in [
        "direct",
        "TCP relay (floor)",
        "selfbrake, rules idle",
        "selfbrake, brake at 50%",
    ] {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("| {path} |")) && l.contains(" / "))
            .unwrap_or_else(|| panic!("no row for {path:?} in:\n{out}"));
        let failed = row.trim_end_matches('|').rsplit('|').next().unwrap().trim();
        let (failed, requests) = failed.split_once(" / ").unwrap();
        assert_eq!(failed, "0", "{row}");
        assert!(requests.parse::<u64>().unwrap() > 0, "{row}");
    }
    assert!(out.contains("added inter-token p99"), "{out}");
    assert!(!out.contains("NOT MEASURED"), "{out}");
    assert!(!out.contains("NaN"), "{out}");
}

#[test]
fn loadtest_reports_clean_streams_and_rss() {
    let out = run(
        env!("CARGO_BIN_EXE_loadtest"),
        &[
            "--concurrency",
            "20",
            "--duration-s",
            "2",
            "--rate",
            "200",
            "--tokens",
            "50",
            "--ramp-s",
            "0.5",
            "--sample-every-s",
            "1",
            "--base-port",
            "18560",
            "--client-timeout-ms",
            "500",
        ],
    );
    // 10% of the 20 streams trickle their headers: all dropped by the header timeout.
    assert!(
        out.contains("2 sent headers a byte a second (2 dropped)"),
        "{out}"
    );
    assert!(
        out.contains("errors 0  malformed 0  (every stream complete and well-formed)"),
        "{out}"
    );
    assert!(out.contains("selfbrake peak RSS"), "{out}");
}
