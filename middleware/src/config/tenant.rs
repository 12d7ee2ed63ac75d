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
    /// The backend this tenant's requests go to.
    #[serde(default)]
    pub backend: String,
    /// More backends, for routing by `model`: a request goes to one of the
    /// tenant's backends that serves its model (see `[backends.*].models`).
    #[serde(default)]
    pub backends: Vec<String>,
    pub policy: String,
    /// Other policies a request may pick with `x-selfbrake-policy`.
    #[serde(default)]
    pub allowed_policies: Vec<String>,
    /// The policy a request's `reasoning_effort` (`none`, `minimal`, `low`,
    /// `medium`, `high`) picks, e.g. `{ low = "aggressive", high =
    /// "cautious" }`: clients choose braking with the control they already
    /// send. An effort not listed keeps the tenant's policy.
    #[serde(default)]
    pub reasoning_effort: std::collections::BTreeMap<String, String>,
    /// Chat requests of this tenant in flight at once; more get 429.
    #[serde(default)]
    pub max_concurrent_requests: Option<u32>,
    /// Chat requests per minute; more get 429 with `Retry-After`.
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    /// Reasoning is braked here whatever the policy or the client asks.
    #[serde(default)]
    pub max_reasoning_tokens: Option<u64>,
    /// Model names this tenant may ask for; others get 403. Empty: any.
    #[serde(default)]
    pub models: Vec<String>,
    /// The most `max_tokens` / `max_completion_tokens` a request may ask
    /// for; larger asks are lowered to it, and it is set where none is asked.
    #[serde(default)]
    pub max_tokens_cap: Option<u64>,
    /// Request keys a client may not send (400 naming the key): settings
    /// of the server, not of one request.
    #[serde(default = "default_forbidden_fields")]
    pub forbidden_fields: Vec<String>,
    /// Sent as vLLM's `cache_salt` on every request, so that no tenant can
    /// probe another's cached prefixes by timing.
    #[serde(default)]
    pub cache_salt: Option<String>,
}

/// vLLM and SGLang keys that reach into the server's scheduling, cache or
/// transfer machinery: one tenant could jump the queue (`priority`), probe
/// or poison the shared prefix cache (`cache_salt`), or steer KV transfers.
pub const DEFAULT_FORBIDDEN_FIELDS: &[&str] = &[
    "priority",
    "cache_salt",
    "kv_transfer_params",
    "vllm_xargs",
    "request_id",
    "return_hidden_states",
    "bootstrap_host",
    "bootstrap_port",
    "bootstrap_room",
];

fn default_forbidden_fields() -> Vec<String> {
    DEFAULT_FORBIDDEN_FIELDS
        .iter()
        .map(|s| s.to_string())
        .collect()
}

impl TenantConfig {
    /// `backend` then `backends`, each once, in the order written.
    pub fn backend_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for name in std::iter::once(&self.backend).chain(&self.backends) {
            if !name.is_empty() && !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        names
    }

    /// The tenant that serves a config without `[tenants]`: no key needed,
    /// the `default` policy, and any policy on request.
    pub fn anonymous<V>(backend: String, policies: &std::collections::BTreeMap<String, V>) -> Self {
        TenantConfig {
            api_keys: Vec::new(),
            anonymous: true,
            backend,
            backends: Vec::new(),
            policy: "default".into(),
            allowed_policies: policies.keys().cloned().collect(),
            reasoning_effort: Default::default(),
            max_concurrent_requests: None,
            requests_per_minute: None,
            max_reasoning_tokens: None,
            models: Vec::new(),
            max_tokens_cap: None,
            forbidden_fields: default_forbidden_fields(),
            cache_salt: None,
        }
    }
}
