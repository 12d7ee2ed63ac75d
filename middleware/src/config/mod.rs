//! The config file: named backends, policies and tenants.
//!
//! ```
//! let cfg = selfbrake::config::Config::from_toml_str(r#"
//! [backends.gpu]
//! kind = "openai"
//! base_url = "http://127.0.0.1:8000/v1"
//!
//! [policies.balanced]
//! rules = [{ kind = "budget", max_reasoning_tokens = 8192 }]
//!
//! [tenants.acme]
//! anonymous = true
//! backend = "gpu"
//! policy = "balanced"
//! "#).unwrap();
//! assert!(cfg.validate().is_empty());
//! ```
mod error;
mod load;
mod policy;
mod server;
mod telemetry;
mod tenant;
mod validate;

pub use error::ConfigError;
pub use load::Config;
pub use policy::{OnBrake, PolicyConfig, DEFAULT_POLICY_TOML};
pub use selfbrake_adapters::mistralrs::MistralrsConfig;
pub use selfbrake_adapters::openai::OpenAiConfig;
pub use selfbrake_adapters::BackendConfig;
pub use server::{ReasoningField, ServerConfig};
pub use telemetry::TelemetryConfig;
pub use tenant::{TenantConfig, DEFAULT_FORBIDDEN_FIELDS};
pub use validate::ConfigIssue;
