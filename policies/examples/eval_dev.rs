//! Measures the shipped policies on the dev traces.
//!
//! `cargo run -p selfbrake-policies --release --example eval_dev -- [TRACES]
//! [--rules JSON] [--rows]`: without `--rules`, evaluates the trade-off curve
//! (cautious, default, aggressive and the naive baselines); with it, the
//! given JSON rule list. `--rows` also prints one JSON line per trace.
use selfbrake_policies::eval::{evaluate, parse_traces};
use selfbrake_policies::{aggressive_rules, cautious_rules, default_rules, RuleSpec};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/traces/dev.jsonl").to_string();
    let mut custom: Option<Vec<RuleSpec>> = None;
    let mut rows = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rules" => {
                let json = args.next().expect("--rules takes a JSON array");
                custom = Some(serde_json::from_str(&json).expect("a JSON array of rules"));
            }
            "--rows" => rows = true,
            _ => path = a,
        }
    }
    let text = std::fs::read_to_string(&path).expect("readable traces file");
    let traces = parse_traces(&text).expect("valid traces");
    let policies: Vec<(String, Vec<RuleSpec>)> = match custom {
        Some(r) => vec![("custom".into(), r)],
        None => curve(),
    };
    println!(
        "{:<28} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>6}",
        "policy", "braked", "saved", "oracle", "reached", "presvd", "acc", "acc_brk", "prem"
    );
    for (name, rules) in policies {
        let ev = evaluate(&traces, &rules, |_, _| {}).expect("valid rules");
        let r = &ev.report;
        println!(
            "{:<28} {:>7.3} {:>7.3} {:>7.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>6.3}",
            name,
            r.braked_fraction,
            r.saved_fraction,
            r.oracle_saved_fraction,
            r.answer_reached,
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
