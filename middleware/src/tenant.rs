use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{Config, TenantConfig};
use crate::error::ProxyError;

/// One tenant, resolved from config: who it is and what it may reach.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    key_digests: Vec<[u8; 32]>,
    pub anonymous: bool,
    pub backend: String,
    pub policy: String,
    pub allowed_policies: Vec<String>,
    pub max_concurrent_requests: Option<u32>,
    pub requests_per_minute: Option<u32>,
    pub max_reasoning_tokens: Option<u64>,
}

/// `sha256:<hex>`, the only form in which a key is stored.
pub fn hash_key(key: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes())))
}

impl Tenant {
    fn from_config(name: &str, cfg: &TenantConfig) -> Self {
        let key_digests = cfg
            .api_keys
            .iter()
            .filter_map(|k| k.strip_prefix("sha256:"))
            .filter_map(|h| hex::decode(h).ok())
            .filter_map(|d| <[u8; 32]>::try_from(d.as_slice()).ok())
            .collect();
        Self {
            name: name.to_string(),
            key_digests,
            anonymous: cfg.anonymous,
            backend: cfg.backend.clone(),
            policy: cfg.policy.clone(),
            allowed_policies: cfg.allowed_policies.clone(),
            max_concurrent_requests: cfg.max_concurrent_requests,
            requests_per_minute: cfg.requests_per_minute,
            max_reasoning_tokens: cfg.max_reasoning_tokens,
        }
    }

    /// Whether `name` is this tenant's policy or one it allows.
    pub fn may_use(&self, policy: &str) -> bool {
        self.policy == policy || self.allowed_policies.iter().any(|p| p == policy)
    }
}

/// All tenants; resolves a request's bearer key to its tenant.
#[derive(Debug, Clone)]
pub struct Tenants {
    tenants: Vec<Tenant>,
}

impl Tenants {
    /// With no `[tenants]`, one anonymous tenant serves the only (or `default`) backend.
    pub fn from_config(config: &Config) -> Self {
        let mut tenants: Vec<Tenant> = config
            .tenants
            .iter()
            .map(|(name, cfg)| Tenant::from_config(name, cfg))
            .collect();
        if tenants.is_empty() {
            let backend = if config.backends.contains_key("default") || config.backends.is_empty() {
                "default".to_string()
            } else {
                config.backends.keys().next().cloned().unwrap_or_default()
            };
            tenants.push(Tenant {
                name: "default".into(),
                key_digests: Vec::new(),
                anonymous: true,
                backend,
                policy: "default".into(),
                allowed_policies: config.policies.keys().cloned().collect(),
                max_concurrent_requests: None,
                requests_per_minute: None,
                max_reasoning_tokens: None,
            });
        }
        Self { tenants }
    }

    /// The tenant for an `Authorization` header value. Every stored digest is
    /// compared in constant time, so timing says nothing about the keys.
    pub fn resolve(&self, authorization: Option<&str>) -> Result<&Tenant, ProxyError> {
        let key = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim);
        if let Some(key) = key {
            let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
            let mut found = None;
            for tenant in &self.tenants {
                for stored in &tenant.key_digests {
                    if bool::from(stored.ct_eq(&digest)) && found.is_none() {
                        found = Some(tenant);
                    }
                }
            }
            if let Some(tenant) = found {
                return Ok(tenant);
            }
        }
        self.tenants
            .iter()
            .find(|t| t.anonymous)
            .ok_or(ProxyError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_resolve_to_their_tenant_and_unknown_keys_are_refused() {
        let cfg = Config::from_toml_str(&format!(
            r#"
            [backends.gpu]
            kind = "openai"
            base_url = "http://127.0.0.1:1/v1"
            [tenants.acme]
            api_keys = ["{}"]
            backend = "gpu"
            policy = "default"
            "#,
            hash_key("sk-acme")
        ))
        .unwrap();
        let tenants = Tenants::from_config(&cfg);
        assert_eq!(
            tenants.resolve(Some("Bearer sk-acme")).unwrap().name,
            "acme"
        );
        assert!(matches!(
            tenants.resolve(Some("Bearer sk-other")),
            Err(ProxyError::Unauthorized)
        ));
        assert!(matches!(
            tenants.resolve(None),
            Err(ProxyError::Unauthorized)
        ));
    }

    #[test]
    fn hash_key_is_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
