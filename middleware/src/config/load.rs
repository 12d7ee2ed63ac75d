use std::collections::BTreeMap;
use std::path::Path;

use config::{Environment, File, FileFormat};
use selfbrake_limits::LimitsConfig;
use serde::Deserialize;

use super::{
    BackendConfig, ConfigError, ConfigIssue, PolicyConfig, ServerConfig, TelemetryConfig,
    TenantConfig,
};

/// The whole config file, after environment overrides.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub backends: BTreeMap<String, BackendConfig>,
    #[serde(default)]
    pub policies: BTreeMap<String, PolicyConfig>,
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantConfig>,
    /// Where tenants' limits are counted (`memory`, or `redis` shared by replicas).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// OpenTelemetry traces (off by default).
    #[serde(default)]
    pub telemetry: TelemetryConfig,
}

impl Config {
    /// Reads `path` (TOML) and applies `SELFBRAKE__SECTION__KEY` overrides.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::at(path.display().to_string(), format!("cannot read: {e}"))
        })?;
        Self::build(&text, true)
    }

    /// Parses TOML text without environment overrides.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        Self::build(text, false)
    }

    fn build(text: &str, env: bool) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from_str(text, FileFormat::Toml));
        if env {
            builder = builder.add_source(
                Environment::with_prefix("SELFBRAKE")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            );
        }
        let parsed = builder
            .build()
            .and_then(|c| c.try_deserialize::<Config>())
            .map_err(|e| ConfigError(vec![ConfigIssue::from_config_error(&e)]))?;
        Ok(parsed.with_default_policy())
    }

    /// The built-in default policy is always available under `default`.
    fn with_default_policy(mut self) -> Self {
        if !self.policies.contains_key("default") {
            let shipped: Config = config::Config::builder()
                .add_source(File::from_str(super::DEFAULT_POLICY_TOML, FileFormat::Toml))
                .build()
                .and_then(|c| c.try_deserialize())
                .expect("the shipped default policy parses (checked by a test)");
            self.policies.extend(shipped.policies);
        }
        self
    }
}

/// An empty server table, so `server` exists for environment overrides.
const DEFAULTS: &str = "[server]\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_policy_parses_and_is_added() {
        let cfg = Config::from_toml_str("").unwrap();
        let policy = &cfg.policies["default"];
        assert!(!policy.rules.is_empty());
        selfbrake_policies::Monitor::new(&policy.rules).unwrap();
    }

    #[test]
    fn shipped_default_policy_matches_the_policies_crate() {
        let cfg = Config::from_toml_str("").unwrap();
        assert_eq!(
            cfg.policies["default"].rules,
            selfbrake_policies::default_rules()
        );
    }

    #[test]
    fn unknown_key_is_rejected_with_its_name() {
        let err = Config::from_toml_str("[server]\nlisten = \"x\"\nlisen = 1\n").unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn serving_threads_default_to_one_and_are_bounded() {
        let threads = |toml: &str| Config::from_toml_str(toml).map(|c| c.server.worker_threads);
        assert_eq!(threads("").unwrap(), 1);
        assert_eq!(threads("[server]\nworker_threads = 0\n").unwrap(), 0);
        let many = Config::from_toml_str("[server]\nworker_threads = 5000\n").unwrap();
        let issues = many.validate();
        assert!(
            issues.iter().any(|i| i.path == "server.worker_threads"),
            "{issues:?}"
        );
    }
}
