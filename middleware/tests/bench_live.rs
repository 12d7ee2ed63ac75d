//! `selfbrake bench-live` against the probe mock: two questions whose
//! reasoning concludes an intermediate value (the area) like an answer
//! before the asked one (the perimeter). A text rule brakes on the area
//! and loses accuracy; the probe-confirmed policy waits for the perimeter.
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use selfbrake_tests::{Belief, MockConfig, MockUpstream, ProbeScript, Script};
use serde_json::Value;

/// Reasoning that states the area twice, then the perimeter at step 4.
fn reasoning(side_a: u32, side_b: u32) -> String {
    let (area, perimeter) = (side_a * side_b, 2 * (side_a + side_b));
    let mut r = format!(
        "First, the area is {side_a} * {side_b} = {area}.\n\n\
         Wait, let me check: {side_b} * {side_a} = {area}. So the area is {area}.\n\n\
         Now the question asks for the perimeter, not the area.\n\n\
         The perimeter is 2 * ({side_a} + {side_b}) = {perimeter}.\n\n\
         Wait, let me verify: going around the shape gives {perimeter}. So the perimeter is {perimeter}.\n\n"
    );
    for i in 0..10 {
        r.push_str(&format!(
            "Step {i} goes around the shape once more in many words.\n\n"
        ));
    }
    r
}

fn mock() -> MockConfig {
    let shapes = [("6 by 2", 6, 2), ("5 by 3", 5, 3)];
    let by_question = shapes
        .iter()
        .map(|(q, a, b)| {
            let answer = format!("The perimeter is $\\boxed{{{}}}$.", 2 * (a + b));
            let script = Script::new(reasoning(*a, *b), answer).delay(Duration::from_millis(1));
            (q.to_string(), script)
        })
        .collect();
    let beliefs = shapes
        .iter()
        .map(|(q, a, b)| Belief::new(q, &(a * b).to_string(), &(2 * (a + b)).to_string(), 4))
        .collect();
    MockConfig {
        by_question,
        probe: Some(ProbeScript {
            beliefs,
            delay: Duration::from_millis(5),
            ..ProbeScript::default()
        }),
        ..MockConfig::default()
    }
}

const CONFIG: &str = r#"
[policies.text]
rules = [{ kind = "convergence", repeats = 2 }]

[policies.probed]
rules = [
  { kind = "probe", mode = "confirm", every_tokens = 8 },
  { kind = "convergence", repeats = 2 },
]
"#;

const QUESTIONS: &str = r#"{"id": "rect-6x2", "question": "A rectangle is 6 by 2. What is its perimeter?", "gold": "16"}
{"id": "rect-5x3", "question": "A rectangle is 5 by 3. What is its perimeter?", "gold": "16"}
{"id": "skipped", "question": "Not asked: --limit 2.", "gold": null}
"#;

async fn bench(base_url: &str, dir: &Path, policy: &str) -> Value {
    let out = dir.join(policy);
    let args = [
        "bench-live",
        "--base-url",
        base_url,
        "--questions",
        dir.join("questions.jsonl").to_str().unwrap(),
        "--config",
        dir.join("bench.toml").to_str().unwrap(),
        "--policy",
        policy,
        "--limit",
        "2",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]
    .map(String::from);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_selfbrake"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    eprintln!("bench-live --policy {policy} against the probe mock: {summary}");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary, written);
    let rows = std::fs::read_to_string(out.join("rows.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 2);
    let svg = std::fs::read_to_string(out.join("plot.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.matches("<rect").count() == 4,
        "{svg}"
    );
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_live_reports_tokens_and_accuracy_both_ways() {
    let mock = MockUpstream::start(mock()).await;
    let dir = std::env::temp_dir().join(format!("selfbrake-bench-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bench.toml"), CONFIG).unwrap();
    std::fs::write(dir.join("questions.jsonl"), QUESTIONS).unwrap();

    let text = bench(&mock.base_url(), &dir, "text").await;
    assert_eq!(text["questions"], 2);
    assert_eq!(text["errors"], 0);
    assert_eq!(text["accuracy_unbraked"], 1.0, "{text}");
    assert_eq!(text["accuracy_braked"], 0.0, "braked on the area: {text}");
    assert_eq!(text["probes"], 0);

    let probed = bench(&mock.base_url(), &dir, "probed").await;
    assert_eq!(probed["accuracy_unbraked"], 1.0, "{probed}");
    assert_eq!(
        probed["accuracy_braked"], 1.0,
        "the probe waited for the perimeter: {probed}"
    );
    assert_eq!(probed["braked_fraction"], 1.0);
    assert!(probed["probes"].as_u64().unwrap() >= 4, "{probed}");
    assert!(probed["probe_tokens"].as_u64().unwrap() > 0);
    let saved = probed["saved_fraction"].as_f64().unwrap();
    assert!(
        saved > 0.2 && saved < text["saved_fraction"].as_f64().unwrap(),
        "{probed}"
    );
    assert_eq!(
        probed["reasoning_tokens_unbraked"], text["reasoning_tokens_unbraked"],
        "the same greedy run unbraked"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_questions_line_is_an_error_naming_it() {
    let dir = std::env::temp_dir().join(format!("selfbrake-bench-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("q.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"a\", \"question\": \"1+1?\", \"gold\": \"2\"}\n{\"id\": 3}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_selfbrake"))
        .args([
            "bench-live",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--policy",
            "default",
        ])
        .arg("--questions")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2: not a question"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
