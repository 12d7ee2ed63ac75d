//! The shipped policies (`default`, `cautious`, `aggressive`), each defined
//! once: a TOML file in `policies/shipped/`, in the config file's own form
//! (`[policies.NAME]`), compiled into the crate and parsed here. The
//! middleware serves these texts, the evaluation measures them, and
//! `examples/policies/*.toml` are checked byte for byte against them by a
//! test, so there is nothing to keep in sync by hand. Parsing is not I/O:
//! the crate stays pure.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::RuleSpec;

/// Names of the shipped policies, cautious to aggressive.
pub const NAMES: [&str; 3] = ["cautious", "default", "aggressive"];

/// `policies/shipped/default.toml`: the policy used when a config names none.
pub const DEFAULT_TOML: &str = include_str!("../shipped/default.toml");
const CAUTIOUS_TOML: &str = include_str!("../shipped/cautious.toml");
const AGGRESSIVE_TOML: &str = include_str!("../shipped/aggressive.toml");

/// A shipped policy's settings, as the config file writes them. Keys the
/// policies crate does not interpret (the answer budget, what to do on a
/// brake) are kept as written for the middleware.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ShippedPolicy {
    pub brake_statement: String,
    pub answer_max_tokens: u32,
    pub on_brake: String,
    pub rules: Vec<RuleSpec>,
}

#[derive(Deserialize)]
struct File {
    policies: BTreeMap<String, ShippedPolicy>,
}

/// The TOML text of shipped policy `name` (a `[policies.NAME]` table).
pub fn toml_text(name: &str) -> Option<&'static str> {
    match name {
        "default" => Some(DEFAULT_TOML),
        "cautious" => Some(CAUTIOUS_TOML),
        "aggressive" => Some(AGGRESSIVE_TOML),
        _ => None,
    }
}

/// Shipped policy `name`, parsed; `None` for an unknown name. The files are
/// part of the crate and a test parses each, so the parse cannot fail at run
/// time.
pub fn policy(name: &str) -> Option<ShippedPolicy> {
    let text = toml_text(name)?;
    let mut file: File = toml::from_str(text)
        .unwrap_or_else(|e| panic!("shipped policy `{name}` parses (tested): {e}"));
    file.policies.remove(name)
}

/// The rules of shipped policy `name`, validated.
fn rules(name: &str) -> Vec<RuleSpec> {
    policy(name)
        .unwrap_or_else(|| panic!("`{name}` is a shipped policy"))
        .rules
}

/// The default policy's rules (`policies/shipped/default.toml`).
pub fn default_rules() -> Vec<RuleSpec> {
    rules("default")
}

/// The cautious policy's rules (`policies/shipped/cautious.toml`).
pub fn cautious_rules() -> Vec<RuleSpec> {
    rules("cautious")
}

/// The aggressive policy's rules (`policies/shipped/aggressive.toml`).
pub fn aggressive_rules() -> Vec<RuleSpec> {
    rules("aggressive")
}
