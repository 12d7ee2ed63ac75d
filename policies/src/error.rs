use thiserror::Error;

/// Everything that can be wrong with a policy is a configuration fault.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PolicyError {
    /// A rule parameter is out of range; `path` names the offending key.
    #[error("{path}: {message}")]
    InvalidParameter { path: String, message: String },
}
