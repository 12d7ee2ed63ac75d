use selfbrake_policies::RuleSpec;
use serde::Deserialize;

/// The shipped default policy, used when a config names none; defined once,
/// in the policies crate (`policies/shipped/default.toml`).
pub const DEFAULT_POLICY_TOML: &str = selfbrake_policies::shipped::DEFAULT_TOML;

/// What to do after a brake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnBrake {
    /// Ask the backend to answer from the kept reasoning.
    #[default]
    Continue,
    /// Answer with the last candidate answer the monitor saw.
    Extract,
    /// End with the reasoning only.
    Stop,
    /// After a brake of the `probe` rule, answer with the probe's answer:
    /// the model already said it, confidently, so no continuation is
    /// needed. Other brakes continue.
    ProbeAnswer,
}

/// A named policy (`[policies.NAME]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Braking prompt, injected as (or prepended to) the system message.
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default = "default_statement")]
    pub brake_statement: String,
    #[serde(default = "default_answer_max_tokens")]
    pub answer_max_tokens: u32,
    /// With a client's `max_completion_tokens` / `max_tokens`, reasoning is
    /// braked this many tokens before that cap, so the answer still fits in
    /// it: the cap holds for the whole reply, continuation included.
    #[serde(default = "default_answer_reserve_tokens")]
    pub answer_reserve_tokens: u32,
    #[serde(default)]
    pub on_brake: OnBrake,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

fn default_statement() -> String {
    "Wait, I've verified my answer. No need to continue thinking.".into()
}

fn default_answer_max_tokens() -> u32 {
    512
}

fn default_answer_reserve_tokens() -> u32 {
    256
}
