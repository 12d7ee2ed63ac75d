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
    /// Chat requests of this tenant in flight at once; more get 429.
    #[serde(default)]
    pub max_concurrent_requests: Option<u32>,
    /// Chat requests per minute; more get 429 with `Retry-After`.
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    /// Reasoning is braked here whatever the policy or the client asks.
    #[serde(default)]
    pub max_reasoning_tokens: Option<u64>,
}
