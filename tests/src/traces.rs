//! Real reasoning traces from `data/traces/` (vendored in the repository),
//! as the policies crate's one [`Trace`] type.

use std::path::PathBuf;

use selfbrake_policies::eval::parse_traces;
pub use selfbrake_policies::eval::Trace;

use crate::script::Script;

/// The repository's root, from the running package's manifest directory
/// (every package is one level below the root). Read at run time: a test
/// binary reused from a shared cargo cache may have been compiled in another
/// clone of the repository, whose path `env!` would have baked in.
pub fn repo_root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// `<repository>/data/traces/dev.jsonl`.
pub fn traces_path() -> PathBuf {
    repo_root().join("data/traces/dev.jsonl")
}

/// All traces of the dev set. Panics (with the path) when the file is missing.
pub fn load_traces() -> Vec<Trace> {
    let path = traces_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read traces {}: {e}", path.display()));
    parse_traces(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The trace with this id. Panics when there is none.
pub fn trace(id: &str) -> Trace {
    load_traces()
        .into_iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("no trace {id:?} in {}", traces_path().display()))
}

impl Script {
    /// The trace's reasoning and answer, default form, no delay.
    pub fn from_trace(t: &Trace) -> Script {
        Script::new(t.reasoning.clone(), t.answer.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_dev_traces() {
        let t = trace("r1-gsm8k-1");
        assert_eq!(t.final_answer.as_deref(), Some("540"));
        assert!(!t.reasoning.contains("<think>"));
        assert_eq!(load_traces().len(), 119);
    }
}
