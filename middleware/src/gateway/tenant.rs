use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Policy, Upstream};
use crate::config::{Config, ConfigError, TenantConfig};
use crate::error::ProxyError;

/// One tenant, resolved from config: who it is, the backend it reaches and
/// the policies it may use (its ceiling applied to each).
pub struct Tenant {
    pub name: String,
    pub config: TenantConfig,
    /// Its backends (`backend`, then `backends`), shared with other tenants.
    upstreams: Vec<Arc<Upstream>>,
    key_digests: Vec<[u8; 32]>,
    /// Its own policy and every allowed one, by name.
    policies: BTreeMap<String, Arc<Policy>>,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("name", &self.name)
            .field("backends", &self.upstreams)
            .field("keys", &self.key_digests.len())
            .finish_non_exhaustive()
    }
}

/// `sha256:<hex>`, the only form in which a key is stored.
pub fn hash_key(key: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes())))
}

/// The digest a stored `sha256:<hex>` names (hex in either case).
pub(crate) fn stored_digest(stored: &str) -> Option<[u8; 32]> {
    let hex = stored.strip_prefix("sha256:")?;
    let bytes = hex::decode(hex).ok()?;
    <[u8; 32]>::try_from(bytes.as_slice()).ok()
}

impl Tenant {
    /// Its backends, in config order.
    pub fn upstreams(&self) -> &[Arc<Upstream>] {
        &self.upstreams
    }

    /// The policy `config.reasoning_effort` maps `effort` to, if any.
    pub fn effort_policy(&self, effort: &str) -> Option<Arc<Policy>> {
        let name = self.config.reasoning_effort.get(effort)?;
        self.policies.get(name).cloned()
    }

    /// The tenant's own policy, or the one the request names if the tenant allows it.
    pub fn policy(&self, requested: Option<&str>) -> Result<Arc<Policy>, ProxyError> {
        let name = requested.unwrap_or(&self.config.policy);
        self.policies.get(name).cloned().ok_or_else(|| {
            ProxyError::Forbidden(format!("policy `{name}` is not allowed for this API key"))
        })
    }
}

/// All tenants; resolves a request's bearer key to its tenant.
#[derive(Debug)]
pub struct Tenants {
    tenants: Vec<Arc<Tenant>>,
}

impl Tenants {
    /// With no `[tenants]`, one anonymous tenant serves the only (or
    /// `default`) backend with the `default` policy, any policy allowed.
    pub(super) fn build(
        config: &Config,
        upstreams: &BTreeMap<String, Arc<Upstream>>,
        policies: &BTreeMap<String, Arc<Policy>>,
    ) -> Result<Self, ConfigError> {
        let mut configs: Vec<(String, TenantConfig)> = config
            .tenants
            .iter()
            .map(|(name, cfg)| (name.clone(), cfg.clone()))
            .collect();
        if configs.is_empty() {
            let backend = if upstreams.contains_key("default") {
                "default".to_string()
            } else {
                upstreams.keys().next().cloned().unwrap_or_default()
            };
            configs.push(("default".into(), TenantConfig::anonymous(backend, policies)));
        }
        let tenants = configs
            .into_iter()
            .map(|(name, cfg)| Tenant::build(name, cfg, upstreams, policies).map(Arc::new))
            .collect::<Result<_, _>>()?;
        Ok(Self { tenants })
    }

    /// The tenant for an `Authorization` header value. Where keys are in
    /// use, a key that matches no tenant is refused, even where an anonymous
    /// tenant exists (a revoked key must stop working); only a request
    /// without a key is anonymous. Where no tenant has a key (an open
    /// server), whatever key a client sends (`EMPTY`, as OpenAI clients
    /// against vLLM do) is anonymous: there is no key to revoke. Every
    /// stored digest is compared in constant time, so timing says nothing
    /// about the keys.
    pub fn resolve(&self, authorization: Option<&str>) -> Result<Arc<Tenant>, ProxyError> {
        let keys_in_use = self.tenants.iter().any(|t| !t.key_digests.is_empty());
        let Some(header) = authorization.filter(|_| keys_in_use) else {
            return self.anonymous();
        };
        let key = bearer_token(header).ok_or(ProxyError::Unauthorized)?;
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let mut found = None;
        for tenant in &self.tenants {
            for stored in &tenant.key_digests {
                if bool::from(stored.ct_eq(&digest)) && found.is_none() {
                    found = Some(tenant);
                }
            }
        }
        found.cloned().ok_or(ProxyError::Unauthorized)
    }

    fn anonymous(&self) -> Result<Arc<Tenant>, ProxyError> {
        self.tenants
            .iter()
            .find(|t| t.config.anonymous)
            .cloned()
            .ok_or(ProxyError::Unauthorized)
    }

    /// Every tenant, in config order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Tenant>> {
        self.tenants.iter()
    }

    /// Whether any tenant serves requests without a key.
    pub fn any_anonymous(&self) -> bool {
        self.tenants.iter().any(|t| t.config.anonymous)
    }
}

/// The credentials of `Bearer <token>`; the scheme name is case-insensitive
/// (RFC 7235 §2.1).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl Tenant {
    fn build(
        name: String,
        config: TenantConfig,
        upstreams: &BTreeMap<String, Arc<Upstream>>,
        policies: &BTreeMap<String, Arc<Policy>>,
    ) -> Result<Self, ConfigError> {
        let mut own = Vec::new();
        for backend in config.backend_names() {
            let upstream = upstreams.get(backend).cloned().ok_or_else(|| {
                ConfigError::at(
                    format!("tenants.{name}.backend"),
                    format!("no backend named `{backend}`"),
                )
            })?;
            own.push(upstream);
        }
        if own.is_empty() {
            return Err(ConfigError::at(
                format!("tenants.{name}.backend"),
                "a tenant needs `backend` or `backends`",
            ));
        }
        let mut prepared = BTreeMap::new();
        let named = std::iter::once(&config.policy)
            .chain(&config.allowed_policies)
            .chain(config.reasoning_effort.values());
        for policy_name in named {
            let base = policies.get(policy_name).ok_or_else(|| {
                ConfigError::at(
                    format!("tenants.{name}.policy"),
                    format!("no policy named `{policy_name}`"),
                )
            })?;
            let policy = match config.max_reasoning_tokens {
                Some(max) => Policy::prepare(policy_name, &base.config, Some(max))?,
                None => base.clone(),
            };
            prepared.insert(policy_name.clone(), policy);
        }
        Ok(Tenant {
            key_digests: config
                .api_keys
                .iter()
                .filter_map(|k| stored_digest(k))
                .collect(),
            upstreams: own,
            policies: prepared,
            name,
            config,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer sk-1"), Some("sk-1"));
        assert_eq!(bearer_token("BEARER sk-1"), Some("sk-1"));
        assert_eq!(bearer_token("bearer   sk-1 "), Some("sk-1"));
        assert_eq!(bearer_token("Basic dXNlcg=="), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    #[test]
    fn stored_digests_decode_in_either_case() {
        let lower = hash_key("abc");
        let upper = format!("sha256:{}", lower["sha256:".len()..].to_uppercase());
        assert_eq!(stored_digest(&lower), stored_digest(&upper));
        assert!(stored_digest(&lower).is_some());
    }

    #[test]
    fn hash_key_is_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
