use thiserror::Error;

use super::ConfigIssue;

/// A config that cannot serve: unreadable, unparsable, or invalid. Raised
/// only when a config is loaded or built, never while a request runs.
#[derive(Debug, Error)]
#[error("invalid config: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ConfigError(pub Vec<ConfigIssue>);

impl ConfigError {
    /// One issue at `path`.
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError(vec![ConfigIssue::new(path, message)])
    }

    /// Every issue, each with its key path.
    pub fn issues(&self) -> &[ConfigIssue] {
        &self.0
    }
}
