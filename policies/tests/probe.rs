//! The probe rule: when it asks, and what it decides from the answers.
use selfbrake_policies::{
    Monitor, ProbeAnswer, ProbeOutcome, ProbeRequest, ProbeToken, RuleSet, RuleSpec, Verdict,
};

fn rules(json: &str) -> Vec<RuleSpec> {
    serde_json::from_str(json).unwrap()
}

/// A probe that writes `text` then closes the box, each token with probability `p`.
fn said(text: &str, p: Option<f64>) -> ProbeOutcome {
    let tokens = [text, "}"]
        .iter()
        .map(|t| ProbeToken {
            text: t.to_string(),
            logprob: p.map(f64::ln),
        })
        .collect();
    ProbeOutcome::Answer(ProbeAnswer { tokens })
}

/// Feeds `text` word by word; returns the verdicts that were not `Continue`,
/// each with the reasoning tokens at that point.
fn feed(m: &mut Monitor, text: &str) -> Vec<(Verdict, u64)> {
    let mut out = Vec::new();
    for w in text.split_inclusive(' ') {
        match m.observe(w) {
            Verdict::Continue => {}
            v => out.push((v, m.tokens())),
        }
    }
    out
}

fn probe_of(v: &[(Verdict, u64)]) -> ProbeRequest {
    match v {
        [(Verdict::Probe(r), _)] => r.clone(),
        _ => panic!("one probe request: {v:?}"),
    }
}

const TWICE: &str = "So x = 42.\n\nWait, let me check: 6 * 7, so x = 42.\n\nAnd more text here.";

#[test]
fn confirm_turns_a_text_brake_into_a_probe_and_brakes_when_it_agrees() {
    let r = rules(
        r#"[{"kind":"probe","mode":"confirm","min_confidence":0.9},{"kind":"convergence","repeats":2}]"#,
    );
    let mut m = Monitor::new(&r).unwrap();
    let v = feed(&mut m, TWICE);
    let req = probe_of(&v);
    assert_eq!(req.trigger, "confirm");
    assert!(req.reason.starts_with("convergence"), "{}", req.reason);
    assert!(req.suffix.ends_with("\\boxed{"));
    let kept = &TWICE[..req.cut(TWICE)];
    assert!(kept.ends_with("x = 42.\n\n"), "{kept:?}");
    assert!(
        m.braked().is_none(),
        "the reasoning goes on while the probe runs"
    );
    let Verdict::Brake(b) = m.probe_result(&said("42", Some(0.97))) else {
        panic!("an agreeing, confident probe brakes");
    };
    assert_eq!(b.rule, "probe");
    assert_eq!(b.answer.as_deref(), Some("42"));
    assert!(b.reason.contains("convergence proposed"), "{}", b.reason);
    assert_eq!(m.probes(), 1);
}

#[test]
fn confirm_keeps_reasoning_on_a_different_or_unsure_answer_and_asks_again_later() {
    let r = rules(
        r#"[{"kind":"probe","mode":"confirm","every_tokens":8},{"kind":"convergence","repeats":2}]"#,
    );
    for outcome in [
        said("41", Some(0.99)),
        said("42", Some(0.5)),
        said("42 wait", None),
        ProbeOutcome::Failed,
    ] {
        let mut m = Monitor::new(&r).unwrap();
        let req = probe_of(&feed(&mut m, TWICE));
        assert_eq!(m.probe_result(&outcome), Verdict::Continue, "{outcome:?}");
        assert!(m.braked().is_none());
        let later = feed(
            &mut m,
            " Hmm, let me verify once more: x = 42.\n\nNext step text goes here.",
        );
        let again = probe_of(&later);
        assert!(again.upto_chars > req.upto_chars);
    }
}

#[test]
fn a_budget_is_a_hard_cap_that_no_probe_delays() {
    let r =
        rules(r#"[{"kind":"probe","mode":"confirm"},{"kind":"budget","max_reasoning_tokens":3}]"#);
    let mut m = Monitor::new(&r).unwrap();
    let v = feed(&mut m, "one two three four");
    assert!(
        matches!(&v[0].0, Verdict::Brake(b) if b.rule == "budget"),
        "{v:?}"
    );
}

#[test]
fn without_a_probing_backend_confirm_steps_aside() {
    let r = rules(r#"[{"kind":"probe"},{"kind":"convergence","repeats":2}]"#);
    let mut m = Monitor::new(&r).unwrap();
    probe_of(&feed(&mut m, TWICE));
    let Verdict::Brake(b) = m.probe_result(&ProbeOutcome::Unsupported) else {
        panic!("the proposal goes through");
    };
    assert_eq!(b.rule, "convergence");
    assert!(b.reason.contains("unconfirmed"), "{}", b.reason);
}

#[test]
fn periodic_probes_every_n_tokens_and_brakes_when_the_last_answers_agree() {
    let r = rules(r#"[{"kind":"probe","mode":"periodic","every_tokens":10,"agree":2}]"#);
    let mut m = Monitor::new(&r).unwrap();
    let text = "w ".repeat(200);
    let mut asked_at = Vec::new();
    let answers = ["7", "42", "42"];
    for w in text.split_inclusive(' ') {
        if let Verdict::Probe(req) = m.observe(w) {
            assert_eq!(req.trigger, "periodic");
            asked_at.push(m.tokens());
            let answer = answers[asked_at.len() - 1];
            if let Verdict::Brake(b) = m.probe_result(&said(answer, None)) {
                assert_eq!(b.rule, "probe");
                assert_eq!(b.answer.as_deref(), Some("42"));
                break;
            }
        }
    }
    assert_eq!(
        asked_at,
        vec![10, 20, 30],
        "the third probe is the second 42"
    );
    assert!(m.braked().is_some());
}

#[test]
fn periodic_waits_while_a_probe_is_in_flight_and_stops_at_max_probes() {
    let r = rules(r#"[{"kind":"probe","mode":"periodic","every_tokens":10,"max_probes":2}]"#);
    let mut m = Monitor::new(&r).unwrap();
    let asked = |m: &mut Monitor, n: usize| {
        (0..n)
            .filter(|_| matches!(m.observe("w "), Verdict::Probe(_)))
            .count()
    };
    assert_eq!(
        asked(&mut m, 50),
        1,
        "no second probe before the first's outcome"
    );
    m.probe_result(&said("1", None));
    assert_eq!(asked(&mut m, 50), 1);
    m.probe_result(&said("2", None));
    assert_eq!(asked(&mut m, 200), 0, "max_probes reached");
}

#[test]
fn markers_probes_before_a_hesitating_step_and_brakes_on_confidence() {
    let r = rules(r#"[{"kind":"probe","mode":"markers","min_confidence":0.95}]"#);
    let text = "Compute 6 * 7 = 42.\n\nWait, is that right? Yes.\n\nHmm, once more.\n\nEnd.";
    let mut m = Monitor::new(&r).unwrap();
    let mut reqs = Vec::new();
    let mut verdicts = Vec::new();
    for w in text.split_inclusive(' ') {
        if let Verdict::Probe(req) = m.observe(w) {
            let confidence = if reqs.is_empty() { 0.6 } else { 0.99 };
            reqs.push(req);
            verdicts.push(m.probe_result(&said("42", Some(confidence))));
        }
    }
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(&text[..reqs[0].cut(text)], "Compute 6 * 7 = 42.\n\n");
    assert!(reqs[0].suffix.contains("**Final Answer**\n\\boxed{"));
    assert_eq!(verdicts[0], Verdict::Continue, "0.6 is not sure enough");
    assert!(matches!(&verdicts[1], Verdict::Brake(b) if b.answer.as_deref() == Some("42")));
}

#[test]
fn bad_probe_parameters_and_two_probe_rules_are_refused() {
    let e = RuleSet::new(rules(r#"[{"kind":"probe","min_confidence":1.5}]"#)).unwrap_err();
    assert_eq!(e.to_string(), "rules[0].min_confidence: must be in (0, 1]");
    let e = RuleSet::new(rules(
        r#"[{"kind":"probe"},{"kind":"probe","mode":"periodic"}]"#,
    ))
    .unwrap_err();
    assert_eq!(e.to_string(), "rules[1]: a policy takes one probe rule");
    assert!(serde_json::from_str::<RuleSpec>(r#"{"kind":"probe","every":3}"#).is_err());
}
