use std::collections::HashMap;
use std::sync::Arc;

use selfbrake_adapters::openai::OpenAiBackend;
use selfbrake_adapters::{Backend, Retry};

/// First wait before a retry; each later one doubles it.
const RETRY_BACKOFF: std::time::Duration = std::time::Duration::from_millis(200);

use crate::config::{BackendConfig, Config, ConfigIssue, PolicyConfig, ServerConfig};
use crate::error::ProxyError;
use crate::tenant::{Tenant, Tenants};

/// Everything a request needs, built from one config. Requests hold an `Arc`
/// of the gateway they started with, so a reload never changes a request midway.
pub struct Gateway {
    pub server: ServerConfig,
    backends: HashMap<String, Arc<dyn Backend>>,
    policies: HashMap<String, Arc<PolicyConfig>>,
    pub tenants: Tenants,
}

impl Gateway {
    /// Validates `config` and builds its backends.
    pub fn build(config: &Config) -> Result<Self, ProxyError> {
        let issues = config.validate();
        if !issues.is_empty() {
            return Err(ProxyError::Config(issues));
        }
        let mut backends: HashMap<String, Arc<dyn Backend>> = HashMap::new();
        for (name, backend) in &config.backends {
            let built: Arc<dyn Backend> = match backend {
                BackendConfig::Openai(cfg) => {
                    let backend = OpenAiBackend::new(cfg.adapter_config()).map_err(|e| {
                        ProxyError::Config(vec![ConfigIssue::new(
                            format!("backends.{name}"),
                            e.to_string(),
                        )])
                    })?;
                    match cfg.retries {
                        0 => Arc::new(backend),
                        n => Arc::new(Retry::new(Arc::new(backend), n, RETRY_BACKOFF)),
                    }
                }
                BackendConfig::Mistralrs(_) => {
                    return Err(ProxyError::Config(vec![ConfigIssue::new(
                        format!("backends.{name}.kind"),
                        "this build has no embedded engine (build with `--features embedded`)",
                    )]))
                }
            };
            backends.insert(name.clone(), built);
        }
        let policies = config
            .policies
            .iter()
            .map(|(name, p)| (name.clone(), Arc::new(p.clone())))
            .collect();
        let tenants = Tenants::from_config(config);
        Ok(Self {
            server: config.server.clone(),
            backends,
            policies,
            tenants,
        })
    }

    pub fn backend(&self, tenant: &Tenant) -> Result<Arc<dyn Backend>, ProxyError> {
        self.backends.get(&tenant.backend).cloned().ok_or_else(|| {
            ProxyError::Config(vec![ConfigIssue::new(
                format!("tenants.{}.backend", tenant.name),
                format!("no backend named `{}`", tenant.backend),
            )])
        })
    }

    /// The tenant's policy, or the one the request names if the tenant allows it.
    pub fn policy(
        &self,
        tenant: &Tenant,
        requested: Option<&str>,
    ) -> Result<(String, Arc<PolicyConfig>), ProxyError> {
        let name = match requested {
            Some(name) if tenant.may_use(name) => name,
            Some(name) => {
                return Err(ProxyError::Forbidden(format!(
                    "policy `{name}` is not allowed for this API key"
                )))
            }
            None => tenant.policy.as_str(),
        };
        let policy = self.policies.get(name).cloned().ok_or_else(|| {
            ProxyError::Config(vec![ConfigIssue::new(
                format!("tenants.{}.policy", tenant.name),
                format!("no policy named `{name}`"),
            )])
        })?;
        Ok((name.to_string(), policy))
    }
}
