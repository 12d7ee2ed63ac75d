//! Probe-confirmed braking end to end: a mock vLLM whose probe answers
//! follow a scripted belief (a wrong, unsure value until step 4, then the
//! right one with p = 0.98), selfbrake in front of it, a client reading the
//! stream.
mod common;

use std::time::{Duration, Instant};

use common::{assemble, config, read_sse, request, Proxy};
use futures::StreamExt;
use selfbrake_tests::{
    tokenize, Belief, MockConfig, MockUpstream, ProbeScript, RecordedRequest, Script,
};
use serde_json::{json, Value};

const QUESTION: &str = "A rectangle is 6 by 2. What is its perimeter?";

/// The area, 12, is concluded like an answer and re-checked (convergence
/// would brake on it); the perimeter, 16, comes at step 4; filler follows.
fn reasoning() -> String {
    let mut r = String::from(
        "First, the area is 6 * 2 = 12.\n\n\
         Wait, let me check: 2 * 6 = 12. So the area is 12.\n\n\
         Now the question asks for the perimeter, not the area.\n\n\
         The perimeter is 2 * (6 + 2) = 16.\n\n\
         Wait, let me verify: six plus two plus six plus two is 16. So the perimeter is 16.\n\n",
    );
    for i in 0..12 {
        r.push_str(&format!(
            "Step {i} restates the figure in many more words than it needs to, going around the shape once more without new facts.\n\n"
        ));
    }
    r
}

fn mock_config(probe_delay: Duration) -> MockConfig {
    let script =
        Script::new(reasoning(), "The perimeter is $\\boxed{16}$.").delay(Duration::from_millis(2));
    MockConfig {
        probe: Some(ProbeScript {
            beliefs: vec![Belief::new("perimeter", "12", "16", 4)],
            delay: probe_delay,
            ..ProbeScript::default()
        }),
        ..MockConfig::with_script(script)
    }
}

fn policy(rules: &str, extra: &str) -> String {
    format!("answer_max_tokens = 64\n{extra}\nrules = [{rules}]")
}

fn ask(stream: bool) -> Value {
    let mut body = request(stream);
    body["messages"] = json!([{"role": "user", "content": QUESTION}]);
    body
}

fn probes_of(mock: &MockUpstream) -> Vec<RecordedRequest> {
    let reqs = mock.requests();
    reqs.into_iter()
        .filter(|r| r.path == "/v1/completions")
        .collect()
}

/// What the mock billed for a probe: its prompt's tokens and three generated.
fn billed(probe: &RecordedRequest) -> u64 {
    tokenize(probe.body["prompt"].as_str().unwrap()).len() as u64 + 3
}

#[tokio::test]
async fn confirm_refuses_the_intermediate_value_and_brakes_on_the_confirmed_answer() {
    let mock = MockUpstream::start(mock_config(Duration::from_millis(40))).await;
    let rules = r#"{ kind = "probe", mode = "confirm", every_tokens = 8, min_confidence = 0.9 },
                   { kind = "convergence", repeats = 2 }"#;
    // The tenant table comes last: its prefix-cache salt.
    let salted = config(&mock.base_url(), &policy(rules, "")) + "cache_salt = \"acme\"\n";
    let proxy = Proxy::start(&salted).await;

    let got = assemble(&read_sse(proxy.chat(&ask(true)).await).await);
    let report = got.selfbrake.expect("selfbrake object");
    assert_eq!(report["rule"], "probe", "{report}");
    let reason = report["reason"].as_str().unwrap();
    assert!(reason.contains("answers 16"), "{reason}");
    assert!(
        got.reasoning.contains("So the perimeter is 16."),
        "the brake waited for the right answer"
    );
    assert!(got.content.contains("\\boxed{16}"), "{}", got.content);

    let probes = probes_of(&mock);
    assert_eq!(probes.len(), 2, "one refused (12, p = 0.65), one confirmed");
    assert_eq!(report["probes"], 2);
    // The probe prompt: the server's own templated text, the reasoning up
    // to where convergence proposed, Dynasor's suffix; greedy, with logprobs.
    let first = &probes[0].body;
    let prompt = first["prompt"].as_str().unwrap();
    assert!(prompt.starts_with(&format!(
        "<|user|>\n{QUESTION}<|end|>\n<|assistant|>\n<think>\nFirst, the area"
    )));
    assert!(prompt.ends_with("So the area is 12.\n\n... Oh, I suddenly got the answer to the whole problem, **Final Answer**\n\n\\[ \\boxed{"), "{prompt}");
    assert_eq!(first["add_special_tokens"], false);
    assert_eq!(first["temperature"], 0);
    assert_eq!(first["logprobs"], 1);
    assert_eq!(first["max_tokens"], 16);
    assert_eq!(
        first["cache_salt"], "acme",
        "the tenant's cache isolation holds"
    );
    let tokenizes = mock
        .requests()
        .iter()
        .filter(|r| r.path == "/tokenize")
        .count();
    assert_eq!(tokenizes, 1, "the template is fetched once per request");

    // Without the probe, convergence brakes on the area.
    let plain = MockUpstream::start(mock_config(Duration::ZERO)).await;
    let rules = r#"{ kind = "convergence", repeats = 2 }"#;
    let proxy = Proxy::start(&config(&plain.base_url(), &policy(rules, ""))).await;
    let got = assemble(&read_sse(proxy.chat(&ask(true)).await).await);
    assert_eq!(got.selfbrake.unwrap()["rule"], "convergence");
    assert!(!got.reasoning.contains("perimeter is 16"));
}

#[tokio::test]
async fn a_server_that_refuses_probes_leaves_the_text_rules_to_brake_unconfirmed() {
    let mut cfg = mock_config(Duration::ZERO);
    if let Some(p) = cfg.probe.as_mut() {
        p.refuse_tokenize = true;
    }
    let mock = MockUpstream::start(cfg).await;
    let rules = r#"{ kind = "probe", mode = "confirm" }, { kind = "convergence", repeats = 2 }"#;
    let proxy = Proxy::start(&config(&mock.base_url(), &policy(rules, ""))).await;

    let body: Value = proxy.chat(&ask(false)).await.json().await.unwrap();
    let report = &body["selfbrake"];
    assert_eq!(report["rule"], "convergence", "{body}");
    assert!(
        report["reason"].as_str().unwrap().contains("unconfirmed"),
        "{body}"
    );
    assert_eq!(report["probes"], 1);
    assert!(
        probes_of(&mock).is_empty(),
        "no completion after the refusal"
    );
}

#[tokio::test]
async fn periodic_brakes_once_the_last_answers_agree_and_bills_the_probes() {
    let mock = MockUpstream::start(mock_config(Duration::from_millis(5))).await;
    let rules = r#"{ kind = "probe", mode = "periodic", every_tokens = 16, agree = 2 }"#;
    let proxy = Proxy::start(&config(&mock.base_url(), &policy(rules, ""))).await;

    let body: Value = proxy.chat(&ask(false)).await.json().await.unwrap();
    let report = &body["selfbrake"];
    assert_eq!(report["rule"], "probe", "{body}");
    let reason = report["reason"].as_str().unwrap();
    assert!(
        reason.contains("the last 2 probes all answer 16"),
        "{reason}"
    );
    let reasoning = body["choices"][0]["message"]["reasoning_content"]
        .as_str()
        .unwrap();
    assert!(
        reasoning.contains("perimeter is 2 * (6 + 2) = 16."),
        "{reasoning}"
    );

    let probes = probes_of(&mock);
    assert!(
        probes.len() >= 3,
        "12 first, then 16 twice: {}",
        probes.len()
    );
    let answers: Vec<bool> = probes
        .iter()
        .map(|p| p.body["prompt"].as_str().unwrap().matches("\n\n").count() > 4)
        .collect();
    assert_eq!(
        answers.iter().filter(|&&right| right).count(),
        2,
        "{answers:?}"
    );
    // Probe cost is visible: counted, and added to usage as billed.
    let probe_tokens: u64 = probes.iter().map(billed).sum();
    assert_eq!(report["probes"], probes.len());
    assert_eq!(report["probe_tokens"], probe_tokens);
    let usage = &body["usage"];
    let total = usage["total_tokens"].as_u64().unwrap();
    let sum =
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap();
    assert_eq!(total, sum);
    assert!(usage["prompt_tokens"].as_u64().unwrap() >= probe_tokens - 3 * probes.len() as u64);
    let metrics = proxy.state.metrics.render();
    assert!(
        metrics.contains(&format!(
            "selfbrake_probe_tokens_total{{tenant=\"anyone\"}} {probe_tokens}"
        )),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_client_stream_flows_while_a_probe_is_in_flight() {
    let mock = MockUpstream::start(mock_config(Duration::from_millis(300))).await;
    let rules = r#"{ kind = "probe", mode = "periodic", every_tokens = 16, max_probes = 1 }"#;
    let proxy = Proxy::start(&config(&mock.base_url(), &policy(rules, ""))).await;

    let events = read_sse(proxy.chat(&ask(true)).await).await;
    let probe = probes_of(&mock).pop().expect("one probe");
    let record = mock
        .wait_closed(probe.index, Duration::from_secs(2))
        .await
        .expect("the probe answered");
    assert!(record.completed);
    let (from, to) = (probe.at, record.closed_at.unwrap());
    let during: Vec<Instant> = events
        .iter()
        .filter(|e| e.data.contains("reasoning_content"))
        .map(|e| e.at)
        .filter(|at| *at > from && *at < to)
        .collect();
    // 300 ms at one token per 2 ms: a session that waited would send none.
    assert!(
        during.len() > 20,
        "{} reasoning chunks during the probe",
        during.len()
    );
    let gap = during.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    eprintln!(
        "{} reasoning chunks reached the client during a {:?} probe; longest gap {gap:?}",
        during.len(),
        to - from
    );
    assert!(
        gap < Duration::from_millis(100),
        "a {gap:?} pause while probing"
    );
}

#[tokio::test]
async fn a_disconnect_cancels_the_probe_in_flight() {
    let mock = MockUpstream::start(mock_config(Duration::from_secs(20))).await;
    let rules = r#"{ kind = "probe", mode = "periodic", every_tokens = 16 }"#;
    let proxy = Proxy::start(&config(&mock.base_url(), &policy(rules, ""))).await;

    let response = proxy.chat(&ask(true)).await;
    let mut body = response.bytes_stream();
    while probes_of(&mock).is_empty() {
        body.next().await.expect("the stream goes on").unwrap();
    }
    // Give the probe's connection time to be established and waiting.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let dropped = Instant::now();
    drop(body);
    let probe = probes_of(&mock).pop().unwrap();
    let record = mock
        .wait_closed(probe.index, Duration::from_secs(2))
        .await
        .expect("the probe's upstream request was closed");
    assert!(!record.completed, "the probe was cut, not answered");
    let lag = record.closed_at.unwrap().saturating_duration_since(dropped);
    assert!(
        lag < Duration::from_millis(200),
        "closed {lag:?} after the client left"
    );
    assert_eq!(probes_of(&mock).len(), 1, "at most one probe in flight");
}

#[tokio::test]
async fn markers_mode_answers_with_the_confident_probe() {
    let mock = MockUpstream::start(mock_config(Duration::from_millis(5))).await;
    let rules = r#"{ kind = "probe", mode = "markers", min_confidence = 0.95 }"#;
    let extra = r#"on_brake = "probe_answer""#;
    let proxy = Proxy::start(&config(&mock.base_url(), &policy(rules, extra))).await;

    let got = assemble(&read_sse(proxy.chat(&ask(true)).await).await);
    let report = got.selfbrake.expect("selfbrake object");
    assert_eq!(report["rule"], "probe", "{report}");
    assert_eq!(report["answer_source"], "probe");
    assert_eq!(got.content, "The final answer is $\\boxed{16}$.");
    assert_eq!(mock.chat_bodies().len(), 1, "no continuation was needed");
    // DEER's place: before each step that opens with "Wait"; the first
    // (before step 1) is unsure, the second (before step 4) is sure.
    let probes = probes_of(&mock);
    assert_eq!(probes.len(), 2);
    let prompt = probes[1].body["prompt"].as_str().unwrap();
    assert!(
        prompt.ends_with("= 16.\n\n\n**Final Answer**\n\\boxed{"),
        "{prompt}"
    );
}
