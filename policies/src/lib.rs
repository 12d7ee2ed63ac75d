//! The brain of selfbrake: pure, synchronous overthinking detection.
//!
//! A [`Monitor`] is fed reasoning text as it streams (`observe(delta)`, one
//! call per generated token) and answers with a [`Verdict`]. It never does
//! I/O, so the same code runs inside the proxy and in offline evaluation.
//!
//! ```
//! use selfbrake_policies::{Monitor, RuleSpec, Verdict};
//!
//! let rules = vec![RuleSpec::Budget { max_reasoning_tokens: 3, min_tokens: 0 }];
//! let mut monitor = Monitor::new(&rules).unwrap();
//! assert!(matches!(monitor.observe("Let"), Verdict::Continue));
//! assert!(matches!(monitor.observe(" me"), Verdict::Continue));
//! assert!(matches!(monitor.observe(" think"), Verdict::Brake(_)));
//! ```
#![forbid(unsafe_code)]

mod error;
pub mod eval;
mod monitor;
pub mod probe;
pub mod rules;
mod ruleset;
pub mod shipped;
mod spec;
pub mod text;
mod verdict;

pub use error::PolicyError;
pub use monitor::Monitor;
pub use probe::{ProbeAnswer, ProbeOutcome, ProbeRequest, ProbeToken};
pub use rules::probe::{ProbeMode, ProbeSpec};
pub use ruleset::RuleSet;
pub use shipped::{aggressive_rules, cautious_rules, default_rules};
pub use spec::RuleSpec;
pub use text::markers::prepare;
pub use text::Strength;
pub use verdict::{Brake, Verdict};
