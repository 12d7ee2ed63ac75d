use std::collections::HashMap;
use std::sync::Arc;

use selfbrake_adapters::openai::OpenAiBackend;
use selfbrake_adapters::{Backend, Retry};

use crate::config::{BackendConfig, Config, ConfigIssue, PolicyConfig, ServerConfig};
use crate::error::ProxyError;
use crate::tenant::{Tenant, Tenants};

/// First wait before a retry; each later one doubles it.
const RETRY_BACKOFF: std::time::Duration = std::time::Duration::from_millis(200);

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
                #[cfg(feature = "embedded")]
                BackendConfig::Mistralrs(cfg) => embedded::backend(cfg).map_err(|e| {
                    ProxyError::Config(vec![ConfigIssue::new(
                        format!("backends.{name}.gguf"),
                        e.to_string(),
                    )])
                })?,
                #[cfg(not(feature = "embedded"))]
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

/// Embedded engines, loaded once per process and GGUF file: backends on the
/// same file share one engine (and its queue), and a config reload reuses it.
#[cfg(feature = "embedded")]
pub mod embedded {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    use std::time::Duration;

    use selfbrake_adapters::mistralrs::{MistralrsBackend, MistralrsConfig};
    use selfbrake_adapters::{AdapterError, Backend};

    use crate::config::MistralrsBackendConfig;

    /// Keyed by (gguf, max_num_seqs): what the engine is built from.
    type Engines = Mutex<HashMap<(String, usize), Arc<MistralrsBackend>>>;

    static ENGINES: OnceLock<Engines> = OnceLock::new();

    /// A backend for `cfg` on its file's engine, loaded on first use.
    /// `Gateway::build` is synchronous and may run inside a runtime
    /// (reloads), so the load runs on a thread of its own (the engine then
    /// runs on its own thread).
    pub(super) fn backend(cfg: &MistralrsBackendConfig) -> Result<Arc<dyn Backend>, AdapterError> {
        let engines = ENGINES.get_or_init(Engines::default);
        let mut engines = engines.lock().unwrap_or_else(|e| e.into_inner());
        let key = (cfg.gguf.clone(), cfg.max_num_seqs);
        let engine = match engines.get(&key) {
            Some(engine) => engine.clone(),
            None => {
                // Only what the engine is keyed on: `think_prefill` and the
                // stall timeout belong to each backend's `variant` below.
                let adapter_cfg = MistralrsConfig {
                    max_num_seqs: cfg.max_num_seqs,
                    ..MistralrsConfig::new(&cfg.gguf)
                };
                let loaded = std::thread::scope(|s| {
                    s.spawn(|| {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .map_err(|e| AdapterError::Internal(format!("runtime: {e}")))?;
                        rt.block_on(MistralrsBackend::load(adapter_cfg))
                    })
                    .join()
                    .unwrap_or_else(|_| {
                        Err(AdapterError::Internal("the model loader panicked".into()))
                    })
                })?;
                let engine = Arc::new(loaded);
                engines.insert(key, engine.clone());
                engine
            }
        };
        let stall = Duration::from_millis(cfg.stall_timeout_ms);
        Ok(Arc::new(engine.variant(cfg.think_prefill, stall)))
    }

    /// Tokens sampled by every embedded engine of this process so far,
    /// counted inside the engines (for tests and diagnostics).
    pub fn generated_tokens() -> u64 {
        ENGINES.get().map_or(0, |engines| {
            let engines = engines.lock().unwrap_or_else(|e| e.into_inner());
            engines.values().map(|e| e.generated_tokens()).sum()
        })
    }
}
