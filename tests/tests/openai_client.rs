//! The official Python `openai` client against selfbrake, streaming and not.
//! `scripts/test.sh` installs it into a venv and sets `SELFBRAKE_TEST_PYTHON`.
mod common;

use std::time::Duration;

use common::{config, Proxy};
use selfbrake_tests::{trace, MockConfig, MockUpstream, Script};
use serde_json::Value;

fn python() -> String {
    std::env::var("SELFBRAKE_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("SELFBRAKE_TEST_PYTHON is not set: run the suite with scripts/test.sh, which installs the openai client")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_openai_client_sees_one_clean_braked_completion() {
    let t = trace("r1-gsm8k-1");
    let mock = MockUpstream::start(MockConfig::with_script(
        Script::from_trace(&t).delay(Duration::from_micros(200)),
    ))
    .await;
    let policy = "rules = [{ kind = \"budget\", max_reasoning_tokens = 60 }]";
    let proxy = Proxy::start(&config(&mock.base_url(), policy)).await;
    let script = selfbrake_tests::repo_root().join("tests/python/openai_client.py");
    let output = tokio::process::Command::new(python())
        .arg(script)
        .arg(proxy.url("/v1"))
        .arg("mock-model")
        .output()
        .await
        .expect("run python");
    assert!(
        output.status.success(),
        "python client failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).expect("client output is JSON");

    for mode in ["nonstream", "stream"] {
        let r = &seen[mode];
        assert_eq!(
            r["content"], "The final answer is $\\boxed{540}$.",
            "{mode}"
        );
        assert!(
            r["reasoning"]
                .as_str()
                .unwrap()
                .ends_with("No need to continue thinking."),
            "{mode}: {}",
            r["reasoning"]
        );
        assert_eq!(r["finish_reason"], "stop", "{mode}");
        assert_eq!(r["selfbrake"]["braked"], true, "{mode}");
        assert_eq!(r["selfbrake"]["rule"], "budget", "{mode}");
        assert_eq!(r["selfbrake"]["reasoning_tokens"], 60, "{mode}");
        assert_eq!(
            r["usage"]["completion_tokens_details"]["reasoning_tokens"], 60,
            "{mode}"
        );
        let usage = &r["usage"];
        assert_eq!(
            usage["total_tokens"].as_u64().unwrap(),
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        );
    }
    assert_eq!(
        seen["stream"]["ids"].as_array().unwrap().len(),
        1,
        "one id per completion"
    );
}
