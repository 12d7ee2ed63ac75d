use selfbrake_policies::eval::{
    approx_tokens, evaluate, parse_traces, question_folds, source_folds, Miss, Report, Trace,
};
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
    // The JSON contract (design.md): every key, with the report's values.
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["traces"], 1);
    assert_eq!(json["braked_fraction"], 1.0);
    assert_eq!(json["reasoning_tokens_kept"], row.kept_tokens);
    assert_eq!(json["reasoning_tokens_full"], row.full_tokens);
    for (key, value) in [
        ("saved_fraction", r.saved_fraction),
        ("oracle_saved_fraction", r.oracle_saved_fraction),
        ("answer_reached", 1.0),
        ("answer_preserved", 1.0),
        ("accuracy_full", 1.0),
        ("accuracy_braked", 1.0),
        ("premature_fraction", 0.0),
    ] {
        assert_eq!(json[key].as_f64(), Some(value), "{key}");
    }
    assert_eq!(row.miss, None, "nothing was lost");
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

/// Every vendored trace (`data/traces/dev.jsonl` and `more.jsonl`, 244).
fn all_traces() -> Vec<Trace> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/traces/");
    ["dev.jsonl", "more.jsonl"]
        .iter()
        .flat_map(|f| {
            let path = format!("{dir}{f}");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            parse_traces(&text).unwrap()
        })
        .collect()
}

/// The shipped default policy keeps every answer on held-out folds of all
/// 244 traces: the issue's accuracy targets (mean over folds by question and
/// over leave-one-source-out: at most 0.5 accuracy points lost, the final
/// answer reached in at least 99% of traces, no premature brake), and the
/// only lost answer is the one trace that never states one. The savings
/// targets (0.33, 65% of the oracle, 50% of it on short reasoning) are not
/// met by text alone (policies/README.md says which class of miss blocks
/// them); the floors below are the measured figures, so a change that costs
/// savings fails here.
#[test]
fn default_policy_keeps_every_answer_on_held_out_folds() {
    let traces = all_traces();
    assert_eq!(traces.len(), 244);
    let ev = evaluate(&traces, &selfbrake_policies::default_rules(), |_, _| {}).unwrap();
    for folds in [question_folds(&traces, 5), source_folds(&traces)] {
        let reports: Vec<Report> = folds.iter().map(|f| f.report(&ev.rows).report).collect();
        let mean = Report::mean(&reports);
        let name = &folds[0].name;
        assert!(mean.accuracy_loss_points() <= 0.5, "{name}: {mean:?}");
        assert!(mean.answer_reached >= 0.99, "{name}: {mean:?}");
        assert_eq!(mean.premature_fraction, 0.0, "{name}");
        assert!(
            mean.saved_fraction >= 0.17,
            "{name}: saved {}",
            mean.saved_fraction
        );
    }
    let lost: Vec<(&str, Option<Miss>)> = ev
        .rows
        .iter()
        .filter(|r| !r.reached)
        .map(|r| (r.id.as_str(), r.miss))
        .collect();
    assert_eq!(lost, [("r1-math500-32", Some(Miss::NoFinal))]);
    let short = Report::from_rows(ev.rows.iter().filter(|r| r.full_tokens < 1000));
    assert!(short.traces >= 70, "{} short traces", short.traces);
    assert!(
        short.saved_fraction >= 0.03,
        "short: saved {}",
        short.saved_fraction
    );
}
