use serde::Deserialize;

/// A named tenant (`[tenants.NAME]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// `sha256:<hex>` of each key; plain keys never live in config.
    #[serde(default)]
    pub api_keys: Vec<String>,
    /// Serves requests that carry no known key.
    #[serde(default)]
    pub anonymous: bool,
    pub backend: String,
    pub policy: String,
    /// Other policies a request may pick with `x-selfbrake-policy`.
    #[serde(default)]
    pub allowed_policies: Vec<String>,
}
