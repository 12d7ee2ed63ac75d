//! Unit tests of the Thinking phase's transitions.
use selfbrake_policies::RuleSpec;

use super::*;

fn budget(max: u64) -> Thinking {
    let rules = [RuleSpec::Budget {
        max_reasoning_tokens: max,
        min_tokens: 0,
    }];
    Thinking::new(Monitor::new(&rules).unwrap())
}

#[test]
fn reasoning_is_passed_on_until_the_monitor_brakes() {
    let mut t = budget(2);
    assert!(matches!(
        t.observe(BackendEvent::Reasoning("a".into())),
        Step::Emit(SessionEvent::Delta(BackendEvent::Reasoning(_)))
    ));
    match t.observe(BackendEvent::Reasoning("b".into())) {
        Step::Brake(SessionEvent::Delta(BackendEvent::Reasoning(r)), brake) => {
            assert_eq!(r, "b");
            assert_eq!(brake.rule, "budget");
        }
        _ => panic!("the second token reaches the budget"),
    }
}

#[test]
fn reasoning_after_the_answer_started_is_not_watched() {
    let mut t = budget(1);
    t.observe(BackendEvent::Content("4".into()));
    assert!(matches!(
        t.observe(BackendEvent::Reasoning("more".into())),
        Step::Emit(_)
    ));
}

#[test]
fn reasoning_after_the_answer_counts_against_the_request_budget() {
    let mut t = budget(100);
    t.limit_reasoning(3);
    t.observe(BackendEvent::Reasoning("a".into()));
    t.observe(BackendEvent::Content("4".into()));
    assert!(matches!(
        t.observe(BackendEvent::Reasoning("b".into())),
        Step::Emit(_)
    ));
    let Step::Cut(_, brake) = t.observe(BackendEvent::Reasoning("c".into())) else {
        panic!("the third reasoning token, after the answer, reaches the budget of 3");
    };
    assert_eq!(brake.rule, "thinking_budget");
    let summary = t.cut(brake, "p");
    assert_eq!(summary.finish_reason, "length");
    assert_eq!(summary.report.reasoning_tokens, 3);
    assert!(summary.report.braked);
}

#[test]
fn reported_usage_raises_the_count_and_brakes_at_once() {
    let mut t = budget(10);
    t.observe(BackendEvent::Reasoning("several tokens".into()));
    let usage = |n| Usage {
        prompt_tokens: 5,
        completion_tokens: n,
        total_tokens: 5 + n,
        reasoning_tokens: None,
    };
    assert!(matches!(
        t.observe(BackendEvent::Usage(usage(6))),
        Step::Quiet
    ));
    let Step::BrakeNow(brake) = t.observe(BackendEvent::Usage(usage(12))) else {
        panic!("12 reported tokens pass the budget of 10");
    };
    assert_eq!(brake.rule, "budget");
    assert_eq!(brake.tokens, 12);
}

#[test]
fn finish_and_usage_are_kept_for_the_summary() {
    let mut t = budget(100);
    t.observe(BackendEvent::Reasoning("r".into()));
    t.observe(BackendEvent::Content("four".into()));
    assert!(matches!(
        t.observe(BackendEvent::Finish("length".into())),
        Step::Quiet
    ));
    let upstream = Usage {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        reasoning_tokens: None,
    };
    assert!(matches!(
        t.observe(BackendEvent::Usage(upstream)),
        Step::Quiet
    ));
    let summary = t.finish("p");
    assert_eq!(summary.finish_reason, "length");
    assert_eq!(summary.usage.prompt_tokens, 10);
    assert_eq!(summary.usage.reasoning_tokens, Some(1));
    assert_eq!(summary.report.answer_tokens, 4);
    assert!(!summary.report.braked);
}

#[test]
fn a_brake_keeps_the_reasoning_and_the_believed_answer() {
    let mut t = budget(3);
    t.observe(BackendEvent::Reasoning("So x = 4.".into()));
    t.observe(BackendEvent::Reasoning("\n\n".into()));
    let Step::Brake(_, brake) = t.observe(BackendEvent::Reasoning("Wait".into())) else {
        panic!("budget of 3 reached");
    };
    let braking = t.brake(brake, "Done.");
    assert_eq!(braking.kept(), "So x = 4.\n\nWait\n\nDone.");
}

#[test]
fn a_probe_is_asked_beside_the_stream_and_its_answer_can_brake() {
    let spec = r#"[{"kind":"probe","mode":"periodic","every_tokens":8,"agree":1}]"#;
    let rules: Vec<RuleSpec> = serde_json::from_str(spec).unwrap();
    let mut t = Thinking::new(Monitor::new(&rules).unwrap());
    let mut asked = None;
    for _ in 0..8 {
        if let Step::Probe(SessionEvent::Delta(_), request) =
            t.observe(BackendEvent::Reasoning("x = 4. ".into()))
        {
            asked = Some(request);
        }
    }
    let request = asked.expect("a probe at 8 tokens, the delta passed on");
    assert_eq!(
        &t.reasoning()[..request.cut(t.reasoning())],
        "x = 4. ".repeat(8)
    );
    let answer = |text: &str| {
        ProbeOutcome::Answer(selfbrake_policies::ProbeAnswer {
            tokens: vec![selfbrake_policies::ProbeToken {
                text: text.into(),
                logprob: None,
            }],
        })
    };
    let brake = t
        .probe_result(&answer("4}"))
        .expect("one agreeing answer brakes");
    assert_eq!((brake.rule, brake.answer.as_deref()), ("probe", Some("4")));
}

#[test]
fn a_probe_answer_after_the_model_answered_brakes_nothing() {
    let spec = r#"[{"kind":"probe","mode":"periodic","every_tokens":8,"agree":1}]"#;
    let rules: Vec<RuleSpec> = serde_json::from_str(spec).unwrap();
    let mut t = Thinking::new(Monitor::new(&rules).unwrap());
    for _ in 0..8 {
        t.observe(BackendEvent::Reasoning("x ".into()));
    }
    t.observe(BackendEvent::Content("4".into()));
    let outcome = ProbeOutcome::Answer(selfbrake_policies::ProbeAnswer {
        tokens: vec![selfbrake_policies::ProbeToken {
            text: "4}".into(),
            logprob: None,
        }],
    });
    assert!(t.probe_result(&outcome).is_none());
}

#[test]
fn reasoning_without_an_answer_is_rescued() {
    let mut t = budget(100);
    t.observe(BackendEvent::Reasoning("x = 4".into()));
    t.observe(BackendEvent::Content("\n\n".into()));
    t.observe(BackendEvent::Finish("length".into()));
    let brake = t.missing_answer().expect("blank content is no answer");
    assert_eq!(brake.rule, "no_answer");
    assert!(brake.reason.contains("length"), "{}", brake.reason);
    t.observe(BackendEvent::Content("4".into()));
    assert!(t.missing_answer().is_none(), "an answer needs no rescue");
    assert!(
        budget(5).missing_answer().is_none(),
        "no reasoning: nothing to answer from"
    );
}

#[test]
fn the_clients_cap_brakes_before_the_answer_would_not_fit() {
    let mut t = budget(1_000);
    t.cap_reasoning(20, 8);
    for _ in 0..11 {
        assert!(matches!(
            t.observe(BackendEvent::Reasoning("x ".into())),
            Step::Emit(_)
        ));
    }
    let Step::Brake(_, brake) = t.observe(BackendEvent::Reasoning("x ".into())) else {
        panic!("12 of 20 tokens leaves the reserve of 8");
    };
    assert_eq!(brake.rule, "max_tokens");
    let mut small = budget(1_000);
    small.cap_reasoning(10, 256);
    assert_eq!(
        small.cap_at,
        Some(5),
        "a cap under the reserve keeps half for reasoning"
    );
}
