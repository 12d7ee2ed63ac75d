//! Measures the shipped policies in sample (every trace at once; the
//! held-out figures come from the `tune` example and `selfbrake eval
//! --folds`).
//!
//! `cargo run -p selfbrake-policies --release --example eval_dev -- [TRACES...]
//! [--rules JSON] [--rows] [--split source|short]`: without `--rules`,
//! evaluates the trade-off curve (cautious, default, aggressive and the naive
//! baselines); with it, the given JSON rule list. `--rows` also prints one
//! JSON line per trace. Without TRACES, both vendored files
//! (`data/traces/dev.jsonl`, `more.jsonl`, 244 traces).
use selfbrake_policies::eval::{evaluate, parse_traces, Trace};
use selfbrake_policies::{aggressive_rules, cautious_rules, default_rules, RuleSpec};

/// The vendored traces, found from this package's directory.
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/traces/");

fn main() {
    let mut args = std::env::args().skip(1);
    let mut paths: Vec<String> = Vec::new();
    let mut custom: Option<Vec<RuleSpec>> = None;
    let mut rows = false;
    let mut split: Option<String> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rules" => {
                let json = args.next().expect("--rules takes a JSON array");
                custom = Some(serde_json::from_str(&json).expect("a JSON array of rules"));
            }
            "--rows" => rows = true,
            "--split" => split = Some(args.next().expect("--split source|parity")),
            _ => paths.push(a),
        }
    }
    if paths.is_empty() {
        paths = ["dev.jsonl", "more.jsonl"]
            .map(|f| format!("{DATA}{f}"))
            .to_vec();
    }
    let mut traces = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("readable traces file");
        traces.extend(parse_traces(&text).expect("valid traces"));
    }
    let policies: Vec<(String, Vec<RuleSpec>)> = match custom {
        Some(r) => vec![("custom".into(), r)],
        None => curve(),
    };
    let subsets: Vec<(String, Vec<Trace>)> = match split.as_deref() {
        None => vec![("all".into(), traces)],
        Some("source") => {
            let mut names: Vec<String> = traces.iter().map(|t| t.source.clone()).collect();
            names.sort();
            names.dedup();
            names
                .into_iter()
                .map(|n| {
                    let sub = traces.iter().filter(|t| t.source == n).cloned().collect();
                    (n, sub)
                })
                .collect()
        }
        Some("short") => {
            let short =
                |t: &Trace| selfbrake_policies::eval::approx_tokens(&t.reasoning).count() < 1000;
            let (s, l): (Vec<Trace>, Vec<Trace>) = traces.into_iter().partition(short);
            vec![
                ("under 1,000 tokens".into(), s),
                ("1,000 tokens or more".into(), l),
            ]
        }
        Some(other) => panic!("--split source|short, not {other}"),
    };
    println!(
        "{:<28} {:>7} {:>7} {:>7} {:>7} {:>8} {:>7} {:>8} {:>8} {:>8} {:>6}",
        "policy",
        "braked",
        "saved",
        "oracle",
        "orc_st",
        "reached",
        "stated",
        "presvd",
        "acc",
        "acc_brk",
        "prem"
    );
    for (set, traces) in &subsets {
        if subsets.len() > 1 {
            println!("-- {set} ({} traces)", traces.len());
        }
        for (name, rules) in &policies {
            let ev = evaluate(traces, rules, |_, _| {}).expect("valid rules");
            let r = &ev.report;
            println!(
                "{:<28} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>8.3} {:>7.3} {:>8.3} {:>8.3} {:>8.3} {:>6.3}",
                name,
                r.braked_fraction,
                r.saved_fraction,
                r.oracle_saved_fraction,
                r.oracle_stated_saved_fraction,
                r.answer_reached,
                r.answer_stated,
                r.answer_preserved,
                r.accuracy_full.unwrap_or(f64::NAN),
                r.accuracy_braked.unwrap_or(f64::NAN),
                r.premature_fraction
            );
            if rows {
                for row in &ev.rows {
                    println!("{}", serde_json::to_string(row).expect("serialisable"));
                }
                print!("{}", r.table());
            }
        }
    }
}

fn curve() -> Vec<(String, Vec<RuleSpec>)> {
    let parse = |s: &str| serde_json::from_str::<Vec<RuleSpec>>(s).expect("valid rule list");
    vec![
        ("cautious".into(), cautious_rules()),
        ("default".into(), default_rules()),
        ("aggressive".into(), aggressive_rules()),
        (
            "baseline: same number x2".into(),
            parse(
                r#"[{"kind":"convergence","repeats":2,"verified":false,"conclusions":false,"reset_on_operand":false}]"#,
            ),
        ),
        (
            "baseline: same number x3".into(),
            parse(
                r#"[{"kind":"convergence","repeats":3,"verified":false,"conclusions":false,"reset_on_operand":false}]"#,
            ),
        ),
        (
            "baseline: re-check confirms".into(),
            parse(
                r#"[{"kind":"convergence","repeats":2,"verified":true,"openers_only":true,"conclusions":false,"reset_on_operand":false}]"#,
            ),
        ),
        ("overthink alone".into(), parse(r#"[{"kind":"overthink"}]"#)),
        ("markers alone".into(), parse(r#"[{"kind":"markers"}]"#)),
        (
            "convergence stated x2 alone".into(),
            parse(r#"[{"kind":"convergence","form":"stated"}]"#),
        ),
    ]
}
