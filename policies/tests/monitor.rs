use selfbrake_policies::text::{Event, MarkerMatcher, Scanner};
use selfbrake_policies::{default_rules, Monitor, RuleSpec, Verdict};

fn rules(json: &str) -> Vec<RuleSpec> {
    serde_json::from_str(json).unwrap()
}

/// Feeds `text` one char at a time; returns the brake and the chars consumed.
fn run(rules: &[RuleSpec], text: &str) -> Option<(selfbrake_policies::Brake, u64)> {
    let mut m = Monitor::new(rules).unwrap();
    for c in text.chars() {
        if let Verdict::Brake(b) = m.observe(c.encode_utf8(&mut [0; 4])) {
            return Some((b, m.cut_chars().unwrap()));
        }
    }
    None
}

const BOXED: &str = "We compute 6 * 7.\n\nSo the result is \\boxed{42}.\n\n\
Wait, let me check it another way: 7 * 6, and that gives \\boxed{42}.\n\n\
Alternatively, something else entirely.";

#[test]
fn convergence_brakes_after_an_agreeing_recheck_with_boxed_answers() {
    let (brake, at) = run(&rules(r#"[{"kind":"convergence","repeats":2}]"#), BOXED).unwrap();
    assert_eq!(brake.rule, "convergence");
    assert_eq!(brake.answer.as_deref(), Some("42"));
    // The cut falls on the blank line after the agreeing step.
    let kept: String = BOXED.chars().take(at as usize).collect();
    assert!(kept.ends_with("\\boxed{42}.\n\n"), "{kept:?}");
}

#[test]
fn convergence_understands_the_answer_is_form() {
    let text = "First try.\n\nThe answer is 3/4.\n\nHmm, wait, let me verify: 0.75, so the answer is \\frac{3}{4}.\n\nMore.";
    let (brake, _) = run(
        &rules(r#"[{"kind":"convergence","repeats":2,"form":"stated"}]"#),
        text,
    )
    .unwrap();
    assert_eq!(brake.rule, "convergence");
    assert!(
        brake.reason.contains("2 separate steps"),
        "{}",
        brake.reason
    );
}

#[test]
fn convergence_does_not_brake_on_different_answers_or_one_step() {
    let text = "The answer is 5.\n\nWait, no: the answer is 6.\n\nDone.";
    assert!(run(&rules(r#"[{"kind":"convergence","repeats":2}]"#), text).is_none());
    let same_step = "The answer is 5. Wait, the answer is 5.\nYes.\n\nok";
    assert!(run(&rules(r#"[{"kind":"convergence","repeats":2}]"#), same_step).is_none());
}

#[test]
fn convergence_ignores_a_value_that_is_then_computed_with() {
    // 180 is restated after a re-check, but in between it was used as an
    // operand: an intermediate result, not the answer.
    let text = "Distance = 180.\n\nThen 180 - 135 = 45.\n\nWait, check: 3 * 60 = 180.\n\nMore.";
    let with = rules(r#"[{"kind":"convergence","repeats":2}]"#);
    assert!(run(&with, text).is_none());
    let without = rules(r#"[{"kind":"convergence","repeats":2,"reset_on_operand":false}]"#);
    assert_eq!(run(&without, text).unwrap().0.rule, "convergence");
}

#[test]
fn min_tokens_defers_a_rule_until_reached() {
    let r = rules(r#"[{"kind":"convergence","repeats":2,"min_tokens":1000}]"#);
    let mut m = Monitor::new(&r).unwrap();
    for c in BOXED.chars() {
        assert_eq!(m.observe(c.encode_utf8(&mut [0; 4])), Verdict::Continue);
    }
    let mut braked = false;
    for _ in 0..1000 {
        if let Verdict::Brake(b) = m.observe(" x") {
            assert_eq!(b.rule, "convergence");
            assert_eq!(b.tokens, 1000);
            braked = true;
            break;
        }
    }
    assert!(braked);
}

#[test]
fn markers_respect_word_boundaries_and_deltas() {
    let count = |deltas: &[&str]| {
        let mut m = MarkerMatcher::new();
        let mut n = 0;
        for d in deltas {
            for c in d.chars() {
                n += usize::from(m.push_char(c, c.is_alphanumeric()).is_some());
            }
        }
        n + usize::from(m.finish().is_some())
    };
    assert_eq!(count(&["the button is red"]), 0);
    assert_eq!(count(&["Wa", "it", ", but"]), 2);
    assert_eq!(count(&["HMM. Hmmmm."]), 1);
    assert_eq!(
        count(&["Let me ", "check."]),
        1,
        "longest match counted once"
    );
    assert_eq!(count(&["—But wait"]), 2);
}

#[test]
fn unicode_never_panics_and_keeps_positions() {
    let first = "答案是 \\boxed{４２} 👍🏽 é\u{301}.\n\nWait 🤔, \\boxed{４２}.\n\n";
    let text = format!("{first}終");
    for rules in [
        default_rules(),
        rules(r#"[{"kind":"convergence","repeats":2,"verified":false}]"#),
    ] {
        let mut m = Monitor::new(&rules).unwrap();
        let mut brake = None;
        for (i, c) in text.char_indices() {
            if let Verdict::Brake(b) = m.observe(&text[i..i + c.len_utf8()]) {
                brake.get_or_insert(b);
            }
        }
        if rules.len() == 1 {
            // Two steps conclude the same boxed value: the brake falls on the
            // blank line after the second, counted in chars, not bytes.
            let b = brake.expect("two agreeing boxed steps brake");
            assert_eq!(b.answer.as_deref(), Some("４２"));
            assert_eq!(m.cut_chars(), Some(first.chars().count() as u64));
        }
    }
    // Events keep coming, one candidate and one step end per boxed step,
    // however long the stream.
    let mut s = Scanner::new();
    let (mut candidates, mut step_ends) = (0, 0);
    for c in "\\boxed{x}\n\n".repeat(2000).chars() {
        s.push(c, &mut |ev| match ev {
            Event::Candidate(_) => candidates += 1,
            Event::StepEnd(_) => step_ends += 1,
            _ => {}
        });
    }
    assert_eq!((candidates, step_ends, s.step()), (2000, 2000, 1999));
}

/// Told the question, the monitor does not take a value the question gives
/// for the answer, nor one component of a pair.
#[test]
fn the_question_rules_out_given_values_and_lone_components() {
    let policy = rules(r#"[{"kind":"convergence","repeats":2,"verified":false}]"#);
    let feed = |m: &mut Monitor, text: &str| {
        text.split_inclusive(' ').find_map(|t| match m.observe(t) {
            Verdict::Brake(b) => Some(b),
            Verdict::Continue | Verdict::Probe(_) => None,
        })
    };
    let given = "So the price is 12.\n\nWait, the price is 12.\n\nSo the total is 36.\n\nCheck: the total is 36.\n\n";
    let b = feed(&mut Monitor::new(&policy).unwrap(), given).unwrap();
    assert_eq!(
        b.answer.as_deref(),
        Some("12"),
        "without the question 12 converges"
    );
    let mut told = Monitor::new(&policy)
        .unwrap()
        .with_question("Each of 3 boxes costs 12 dollars. What is the total?");
    let b = feed(&mut told, given).unwrap();
    assert_eq!(
        b.answer.as_deref(),
        Some("36"),
        "12 is given by the question"
    );

    let pair = "So x = -2.\n\nWait, x = -2.\n\nThen y = 1, so the point is (-2, 1).\n\nYes, the point is (-2, 1).\n\n";
    let mut told = Monitor::new(&policy).unwrap();
    told.set_question("Find the intersection. Enter your answer as an ordered pair.");
    let b = feed(&mut told, pair).unwrap();
    assert_eq!(b.answer.as_deref(), Some("(-2, 1)"));
    let b = feed(&mut Monitor::new(&policy).unwrap(), pair).unwrap();
    assert_eq!(
        b.answer.as_deref(),
        Some("-2"),
        "without the question the first component converges"
    );
}

/// `settle`: a converged value brakes only once the reasoning since it was
/// first concluded is long enough relative to the reasoning before it.
#[test]
fn settle_waits_in_proportion_to_the_reasoning_so_far() {
    let policy = rules(r#"[{"kind":"convergence","repeats":2,"verified":false,"settle":1.0}]"#);
    // First concluded at the end of a 40-char step; converged 20 chars later.
    let head = "We add the two parts: 17 + 25 = 42.\n\nSo the sum is 42.\n\n";
    let mut m = Monitor::new(&policy).unwrap();
    let mut braked_at = None;
    let text = format!(
        "{head}{}",
        "Now the details again, nothing new here.\n\n".repeat(4)
    );
    for (i, c) in text.char_indices() {
        if let Verdict::Brake(b) = m.observe(&text[i..i + c.len_utf8()]) {
            assert_eq!(b.answer.as_deref(), Some("42"));
            braked_at = m.cut_chars();
            break;
        }
    }
    let first = "We add the two parts: 17 + 25 = 42.\n\n".chars().count() as u64;
    let at = braked_at.expect("settles");
    assert!(
        at >= 2 * first,
        "braked at {at}, before twice the {first} chars that found it"
    );
    assert!(
        at < 2 * first + 45,
        "braked at {at}: the first step end past twice {first}"
    );
    // Another value concluded meanwhile disarms it.
    let mut m = Monitor::new(&policy).unwrap();
    let moved_on = format!(
        "{head}Then 42 * 2 = 84.\n\n{}",
        "More text, no value.\n\n".repeat(6)
    );
    assert!(moved_on
        .split_inclusive(' ')
        .all(|t| m.observe(t) == Verdict::Continue));
}

#[test]
fn budget_caps_tokens_and_latches() {
    let r = rules(r#"[{"kind":"budget","max_reasoning_tokens":10}]"#);
    let mut m = Monitor::new(&r).unwrap();
    assert_eq!(m.observe_tokens("a b c", 9), Verdict::Continue);
    let Verdict::Brake(b) = m.observe("d") else {
        panic!("budget must fire")
    };
    assert_eq!((b.rule, b.tokens), ("budget", 10));
    assert_eq!(m.observe("e"), Verdict::Brake(b));
}

#[test]
fn monitor_is_send_and_config_errors_name_the_rule() {
    fn send<T: Send + std::fmt::Debug>() {}
    send::<Monitor>();
    let err = Monitor::new(&rules(
        r#"[{"kind":"budget","max_reasoning_tokens":5},{"kind":"convergence","repeats":0}]"#,
    ))
    .unwrap_err();
    assert!(err.to_string().starts_with("rules[1].repeats"), "{err}");
}

/// `then_recheck`: a value concluded twice brakes only when a later step
/// opens yet another explicit check, not when the model moves on.
#[test]
fn then_recheck_waits_for_another_check() {
    let rules: Vec<RuleSpec> = serde_json::from_str(
        r#"[{"kind":"convergence","repeats":2,"verified":false,"then_recheck":true}]"#,
    )
    .unwrap();
    let base = "So 9 x 60 = 540.\n\nAgain, 60 x 9 = 540.\n\n";
    let mut moved = Monitor::new(&rules).unwrap();
    let v = moved.observe(&format!("{base}Now the second part, which is new.\n\n"));
    assert_eq!(v, Verdict::Continue);
    let mut checked = Monitor::new(&rules).unwrap();
    match checked.observe(&format!("{base}Let me verify once more: 540.\n\n")) {
        Verdict::Brake(b) => assert_eq!(b.answer.as_deref(), Some("540")),
        v => panic!("{v:?}"),
    }
    let mut plain_wait = Monitor::new(&rules).unwrap();
    let v = plain_wait.observe(&format!("{base}Wait, 540 is it.\n\n"));
    assert_eq!(v, Verdict::Continue);
}
