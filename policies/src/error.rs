use thiserror::Error;

/// Everything that can be wrong with a policy is a configuration fault; a
/// trace file that does not parse is a fault of the evaluation's input.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PolicyError {
    /// A rule parameter is out of range; `path` names the offending key.
    #[error("{path}: {message}")]
    InvalidParameter { path: String, message: String },
    /// A line of a trace file is not a trace; `line` is 1-based.
    #[error("traces line {line}: {message}")]
    InvalidTrace { line: usize, message: String },
}
