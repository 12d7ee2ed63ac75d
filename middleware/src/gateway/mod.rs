//! A config made ready to serve: every tenant resolved to its backend and
//! its prepared policies, so that the request path only looks things up and
//! cannot fail on a config mistake.
//!
//! ```
//! use selfbrake::config::Config;
//! use selfbrake::Gateway;
//!
//! let config = Config::from_toml_str(r#"
//! [backends.default]
//! kind = "openai"
//! base_url = "http://127.0.0.1:8000/v1"
//! "#).unwrap();
//! let gateway = Gateway::build(&config).unwrap();
//! // No [tenants]: one anonymous tenant on the only backend, default policy.
//! let tenant = gateway.tenants.resolve(None).unwrap();
//! assert_eq!(tenant.policy(None).unwrap().name, "default");
//! ```
mod catalog;
mod models;
mod policy;
mod route;
mod shared;
mod tenant;
mod upstream;

use std::collections::BTreeMap;
use std::sync::Arc;

use selfbrake_limits::Limiter;

use crate::config::{Config, ConfigError, ServerConfig};

pub use models::{ModelsCache, MODELS_TTL};
pub use policy::Policy;
pub use route::{fail_over, Route};
pub use shared::SharedGateway;
pub(crate) use tenant::stored_digest;
pub use tenant::{hash_key, Tenant, Tenants};
pub use upstream::{InFlight, Upstream};

/// Everything a request needs, built from one config. Requests hold an `Arc`
/// of the gateway they started with, so a reload never changes a request midway.
pub struct Gateway {
    pub server: ServerConfig,
    pub tenants: Tenants,
    /// Admission against the tenants' limits; carried over by a reload that
    /// keeps `[limits]`, so counters survive it.
    pub limiter: Limiter,
}

impl Gateway {
    /// Validates `config`, builds its backends (loading embedded engines:
    /// call from a blocking context) and prepares every tenant's policies.
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        Self::rebuild(config, None)
    }

    /// As [`build`](Self::build), reusing `previous`'s limiter when
    /// `[limits]` is unchanged (a reload).
    pub fn rebuild(config: &Config, previous: Option<&Gateway>) -> Result<Self, ConfigError> {
        let issues = config.validate();
        if !issues.is_empty() {
            return Err(ConfigError(issues));
        }
        let mut upstreams: BTreeMap<String, Arc<Upstream>> = BTreeMap::new();
        for (name, backend) in &config.backends {
            let built = backend
                .build()
                .map_err(|e| ConfigError::at(format!("backends.{name}"), e.to_string()))?;
            let upstream = Upstream::new(name.clone(), built, backend.models().to_vec());
            upstreams.insert(name.clone(), Arc::new(upstream));
        }
        let mut policies = BTreeMap::new();
        for (name, cfg) in &config.policies {
            policies.insert(name.clone(), Policy::prepare(name, cfg, None)?);
        }
        let tenants = Tenants::build(config, &upstreams, &policies)?;
        #[cfg(feature = "embedded")]
        {
            let embedded: Vec<_> = config
                .backends
                .values()
                .filter_map(|b| match b {
                    crate::config::BackendConfig::Mistralrs(cfg) => Some(cfg),
                    _ => None,
                })
                .collect();
            selfbrake_adapters::mistralrs::retain(&embedded);
        }
        let limiter = match previous {
            Some(old) if old.limiter.config() == &config.limits => old.limiter.clone(),
            _ => Limiter::new(&config.limits)
                .map_err(|e| ConfigError::at("limits", e.to_string()))?,
        };
        Ok(Self {
            server: config.server.clone(),
            tenants,
            limiter,
        })
    }
}
