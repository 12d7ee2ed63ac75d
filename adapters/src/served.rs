//! The model names a backend serves (`models = [...]` in `[backends.NAME]`),
//! so that one selfbrake can route each request by its `model` to the
//! backend that serves it.
//!
//! ```
//! use selfbrake_adapters::ServedModel;
//!
//! let served: Vec<ServedModel> = serde_json::from_str(
//!     r#"["r1-distill-7b", {"name": "fast", "upstream": "qwen3-8b"}]"#,
//! ).unwrap();
//! assert_eq!(served[0].upstream(), "r1-distill-7b");
//! assert_eq!(served[1].name(), "fast");
//! assert_eq!(served[1].upstream(), "qwen3-8b");
//! ```
use serde::Deserialize;

/// A model a backend serves: its own name, or an alias clients use for it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ServedModel {
    /// Clients ask for the name the backend serves.
    Name(String),
    /// Clients ask for `name`; the backend is sent `upstream`.
    Alias(ModelAlias),
}

/// `{ name = "fast", upstream = "qwen3-8b" }`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelAlias {
    pub name: String,
    pub upstream: String,
}

impl ServedModel {
    /// The name clients ask for (and see in responses and `/v1/models`).
    pub fn name(&self) -> &str {
        match self {
            ServedModel::Name(name) | ServedModel::Alias(ModelAlias { name, .. }) => name,
        }
    }

    /// The name the backend is sent.
    pub fn upstream(&self) -> &str {
        match self {
            ServedModel::Name(name) => name,
            ServedModel::Alias(alias) => &alias.upstream,
        }
    }
}
