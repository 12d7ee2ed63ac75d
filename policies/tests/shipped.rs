//! The shipped policies: defined once (policies/shipped/*.toml), copied
//! byte for byte where the repository shows them (examples/policies/), and
//! ordered by what they do on the vendored traces.
use selfbrake_policies::eval::{evaluate, parse_traces, Report, Trace};
use selfbrake_policies::shipped::{self, NAMES};
use selfbrake_policies::Monitor;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

#[test]
fn every_shipped_policy_parses_and_validates() {
    for name in NAMES {
        let p = shipped::policy(name).unwrap_or_else(|| panic!("{name}"));
        assert!(!p.rules.is_empty(), "{name}");
        Monitor::new(&p.rules).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(p.answer_max_tokens > 0 && !p.brake_statement.is_empty());
    }
    assert!(shipped::policy("balanced").is_none());
}

#[test]
fn examples_show_the_shipped_files_byte_for_byte() {
    for name in NAMES {
        let path = format!("{REPO}/examples/policies/{name}.toml");
        let example = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            example,
            shipped::toml_text(name).unwrap(),
            "{path} differs from policies/shipped/{name}.toml: copy the shipped file"
        );
    }
}

/// The default may not brake on hesitation alone: every rule in it either
/// waits for a concluded value or guards against runaway generation.
#[test]
fn default_has_no_hesitation_rule() {
    for rule in shipped::default_rules() {
        assert!(
            matches!(rule.kind(), "convergence" | "repetition" | "budget"),
            "{}",
            rule.kind()
        );
    }
    let aggressive = shipped::aggressive_rules();
    assert!(aggressive.iter().any(|r| r.kind() == "markers"));
}

fn all_traces() -> Vec<Trace> {
    ["dev.jsonl", "more.jsonl"]
        .iter()
        .flat_map(|f| {
            let path = format!("{REPO}/data/traces/{f}");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            parse_traces(&text).unwrap()
        })
        .collect()
}

/// Cautious saves less than default and aggressive more, on all 244 traces
/// (measured: policies/README.md); the cautious end loses no more answers
/// than the default, the aggressive end pays for its savings in answers.
#[test]
fn cautious_saves_less_than_default_and_aggressive_more() {
    let traces = all_traces();
    let report = |name: &str| -> Report {
        let rules = shipped::policy(name).unwrap().rules;
        evaluate(&traces, &rules, |_, _| {}).unwrap().report
    };
    let (c, d, a) = (report("cautious"), report("default"), report("aggressive"));
    assert!(
        c.saved_fraction < d.saved_fraction,
        "{} vs {}",
        c.saved_fraction,
        d.saved_fraction
    );
    assert!(
        d.saved_fraction + 0.1 < a.saved_fraction,
        "{} vs {}",
        d.saved_fraction,
        a.saved_fraction
    );
    assert!(c.answer_reached >= d.answer_reached);
    assert!(
        d.answer_reached > a.answer_reached + 0.02,
        "{} vs {}",
        d.answer_reached,
        a.answer_reached
    );
    assert!(c.braked_fraction < d.braked_fraction && d.braked_fraction < a.braked_fraction);
}
