//! Splitting the reasoning into deltas differently must not change where and
//! why the text-driven rules brake.
use proptest::prelude::*;
use selfbrake_policies::{Monitor, RuleSpec, Verdict};

fn text_rules() -> Vec<RuleSpec> {
    serde_json::from_str(
        r#"[{"kind":"convergence","repeats":2,"form":"equation"},
            {"kind":"convergence","repeats":2,"verified":false,"settle":0.5},
            {"kind":"overthink"},
            {"kind":"repetition","ngram":4,"repeats":3}]"#,
    )
    .unwrap()
}

fn feed(text: &str, cuts: &[usize]) -> (Option<(&'static str, Option<String>)>, Option<u64>) {
    let mut m = Monitor::new(&text_rules())
        .unwrap()
        .with_question("How many are 3 + 4, or 1/2 of 14?");
    let mut bounds: Vec<usize> = cuts
        .iter()
        .map(|&c| c % (text.len() + 1))
        .filter(|&c| text.is_char_boundary(c))
        .collect();
    bounds.push(0);
    bounds.push(text.len());
    bounds.sort_unstable();
    bounds.dedup();
    for w in bounds.windows(2) {
        if let Verdict::Brake(b) = m.observe(&text[w[0]..w[1]]) {
            return (Some((b.rule, b.answer)), m.cut_chars());
        }
    }
    (None, None)
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("So 3 + 4 = 7.".to_string()),
        Just("The answer is 7.".to_string()),
        Just(" \\boxed{\\frac{1}{2}}".to_string()),
        Just("\n\n".to_string()),
        Just("\n".to_string()),
        Just("Wait, let me check. ".to_string()),
        Just("but button ".to_string()),
        Just("答案 👍🏽 é\u{301} ".to_string()),
        "[a-z0-9 .=\\\\{}]{0,12}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_split_gives_the_same_verdict(parts in prop::collection::vec(piece(), 0..40), cuts in prop::collection::vec(any::<usize>(), 0..60)) {
        let text = parts.concat();
        let whole = feed(&text, &[]);
        let split = feed(&text, &cuts);
        prop_assert_eq!(whole, split);
    }

    /// The same, on texts that always brake: a random prefix, then a value
    /// concluded, re-checked and concluded again. Guards against the test
    /// above passing only because nothing braked.
    #[test]
    fn any_split_of_a_braking_text_brakes_at_the_same_char(parts in prop::collection::vec(piece(), 0..12), cuts in prop::collection::vec(any::<usize>(), 0..60)) {
        let text = format!("{}\n\nSo 5 + 6 = 11.\n\nWait, let me check. 6 + 5 = 11.\n\nDone.", parts.concat());
        let whole = feed(&text, &[]);
        prop_assert!(whole.0.is_some(), "no brake on {:?}", text);
        prop_assert!(whole.1.is_some_and(|c| c <= text.chars().count() as u64));
        prop_assert_eq!(whole, feed(&text, &cuts));
    }
}
