use selfbrake_policies::eval::{approx_tokens, evaluate, parse_traces};
use selfbrake_policies::RuleSpec;

/// Shortened from r1-gsm8k-1 in data/traces/dev.jsonl (DeepSeek-R1
/// chain from McGill-NLP/thoughtology, MIT licensed): the answer is found in
/// the third step and re-checked twice.
const TRACE: &str = r#"{"id":"t1","source":"r1-gsm8k","question":"q","reasoning":"James does 3 sprints 3 times a week. So 3 x 3 is 9.\n\nEach sprint is 60 meters. 9 x 60 is 540.\n\nWait a second, let me double-check my math. 60 times 9 is 540.\n\nAlternatively, per session 3 x 60 = 180, and 3 x 180 = 540.\n\nAll right, the answer is \\boxed{540}.","answer":"540","final":"540","gold":"540","answer_synthesized":true}"#;

#[test]
fn parse_errors_name_the_line() {
    let text = format!("{TRACE}\n\n{{\"id\": 3}}\n");
    let err = parse_traces(&text).unwrap_err();
    assert!(err.to_string().starts_with("traces line 3"), "{err}");
    assert_eq!(parse_traces(TRACE).unwrap()[0].gold.as_deref(), Some("540"));
}

#[test]
fn eval_measures_the_cut() {
    let traces = parse_traces(TRACE).unwrap();
    let rules: Vec<RuleSpec> =
        serde_json::from_str(r#"[{"kind":"convergence","repeats":2}]"#).unwrap();
    let mut calls = 0;
    let ev = evaluate(&traces, &rules, |done, total| {
        calls += 1;
        assert_eq!((done, total), (1, 1));
    })
    .unwrap();
    assert_eq!(calls, 1);
    let row = &ev.rows[0];
    assert!(row.braked);
    assert_eq!(row.rule.as_deref(), Some("convergence"));
    let kept: String = traces[0]
        .reasoning
        .chars()
        .take(row.cut_char as usize)
        .collect();
    assert!(kept.ends_with("60 times 9 is 540.\n\n"), "{kept:?}");
    let r = &ev.report;
    assert_eq!(r.answer_reached, 1.0);
    assert_eq!(r.accuracy_braked, Some(1.0));
    assert_eq!(r.premature_fraction, 0.0);
    assert!(r.saved_fraction > 0.3 && r.saved_fraction <= r.oracle_saved_fraction + 1e-9);
    assert_eq!(
        r.reasoning_tokens_full,
        approx_tokens(&traces[0].reasoning).count() as u64
    );
    let json = serde_json::to_value(r).unwrap();
    for key in [
        "traces",
        "braked_fraction",
        "oracle_saved_fraction",
        "answer_preserved",
        "accuracy_full",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert!(r.table().contains("answer reached"));
}

/// `answer_reached` counts the final as a bare token, `answer_stated` only
/// as a candidate answer; a value the question already holds counts bare only
/// where it is produced ("gives 540"), not where it is mentioned.
#[test]
fn reached_counts_bare_tokens_stated_only_candidates() {
    let step = "Each sprint is 60 meters, and 9 x 60 gives 540 meters a week, but";
    let mut mention = String::from("He runs 540 meters a week, I think, but");
    mention.push_str("\n\nWait, let me check.\n\nSo the answer is 540.");
    let cases = [
        (
            format!("{step}\n\nWait, let me check.\n\nSo the answer is 540."),
            "q",
            1.0,
        ),
        (mention.clone(), "q", 1.0),
        (mention, "Does he run 540 meters?", 0.0),
    ];
    for (reasoning, question, reached) in cases {
        let first = reasoning.split("\n\n").next().unwrap();
        let cap = approx_tokens(first).count() as u64;
        let t = serde_json::json!({"id": "b", "question": question, "reasoning": reasoning,
            "final": "540", "gold": "540"});
        let traces = parse_traces(&t.to_string()).unwrap();
        let rules = vec![RuleSpec::Budget {
            max_reasoning_tokens: cap,
            min_tokens: 0,
        }];
        let r = evaluate(&traces, &rules, |_, _| {}).unwrap().report;
        assert_eq!(r.braked_fraction, 1.0);
        assert_eq!(r.answer_reached, reached, "{question}");
        assert_eq!(r.answer_stated, 0.0);
        assert_eq!(r.accuracy_braked, Some(reached));
        assert!(r.oracle_saved_fraction >= r.oracle_stated_saved_fraction);
    }
}

/// The shipped default policy keeps meeting the issue's targets on the real
/// dev traces (data/traces/dev.jsonl, read at run time): a rule change
/// that costs answers or savings fails here, not in production.
#[test]
fn default_policy_meets_its_targets_on_the_dev_traces() {
    let path = selfbrake_policies::eval::dev_traces_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let traces = parse_traces(&text).unwrap();
    assert!(traces.len() >= 100, "{} traces", traces.len());
    let r = evaluate(&traces, &selfbrake_policies::default_rules(), |_, _| {})
        .unwrap()
        .report;
    assert!(r.saved_fraction >= 0.35, "saved {}", r.saved_fraction);
    assert!(
        r.saved_fraction >= 0.75 * r.oracle_saved_fraction,
        "saved {} of oracle {}",
        r.saved_fraction,
        r.oracle_saved_fraction
    );
    assert!(r.answer_reached >= 0.97, "reached {}", r.answer_reached);
    let (full, braked) = (r.accuracy_full.unwrap(), r.accuracy_braked.unwrap());
    assert!(braked >= full - 0.02, "accuracy {full} -> {braked}");
    assert!(
        r.premature_fraction <= 0.02,
        "premature {}",
        r.premature_fraction
    );
}
