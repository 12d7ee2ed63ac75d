use std::collections::HashMap;
use std::fmt;

use super::{BackendConfig, Config};

/// More serving threads than this is a typo, not a machine.
const MAX_WORKER_THREADS: usize = 1024;

/// The values of OpenAI's `reasoning_effort`.
pub const REASONING_EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high"];

/// One problem in a config, with the path of the offending key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn from_config_error(err: &config::ConfigError) -> Self {
        let text = err.to_string();
        // The config crate appends ` for key `a.b`` or ` in <origin>`; keep the key when it has one.
        let path = text
            .split("for key `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .unwrap_or("");
        // `a.b[1]kind` → `a.b[1].kind`
        let mut path = path
            .replace("]", "].")
            .replace("].[", "][")
            .replace("]..", "].");
        if path.ends_with('.') {
            path.pop();
        }
        // Name the unknown key itself, not only the table that holds it.
        if let Some(field) = text
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
        {
            path = if path.is_empty() {
                field.to_string()
            } else {
                format!("{path}.{field}")
            };
        }
        let message = text.split(" for key `").next().unwrap_or(&text).to_string();
        Self::new(path, message)
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl Config {
    /// Everything a running server would refuse, each with its key path.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            issues.push(ConfigIssue::new(
                "server.listen",
                format!(
                    "`{}` is not an address like 127.0.0.1:8787",
                    self.server.listen
                ),
            ));
        }
        self.validate_exposure(&mut issues);
        if let Err(e) = self.limits.validate() {
            issues.push(ConfigIssue::new("limits", e.to_string()));
        }
        if self.server.max_header_bytes == 0 {
            issues.push(ConfigIssue::new(
                "server.max_header_bytes",
                "must be at least 1",
            ));
        }
        if self.server.max_body_bytes == 0 {
            issues.push(ConfigIssue::new(
                "server.max_body_bytes",
                "must be at least 1",
            ));
        }
        for (name, backend) in &self.backends {
            let mut served = std::collections::HashSet::new();
            for model in backend.models() {
                if !served.insert(model.name()) {
                    issues.push(ConfigIssue::new(
                        format!("backends.{name}.models"),
                        format!("`{}` is listed twice", model.name()),
                    ));
                }
            }
            if let BackendConfig::Openai(b) = backend {
                if !(b.base_url.starts_with("http://") || b.base_url.starts_with("https://")) {
                    issues.push(ConfigIssue::new(
                        format!("backends.{name}.base_url"),
                        "must start with http:// or https://",
                    ));
                }
                if let Some(var) = &b.api_key_env {
                    if std::env::var(var).map_or(true, |v| v.is_empty()) {
                        issues.push(ConfigIssue::new(
                            format!("backends.{name}.api_key_env"),
                            format!("`{var}` is not set in the environment"),
                        ));
                    }
                }
                for (key, value) in [
                    ("connect_timeout_ms", b.connect_timeout),
                    ("first_byte_timeout_ms", b.first_byte_timeout),
                    ("idle_timeout_ms", b.idle_timeout),
                    ("max_stream_ms", b.max_stream),
                ] {
                    if value.is_zero() {
                        issues.push(ConfigIssue::new(
                            format!("backends.{name}.{key}"),
                            "must be at least 1",
                        ));
                    }
                }
            }
        }
        for (name, policy) in &self.policies {
            if policy.answer_max_tokens == 0 {
                issues.push(ConfigIssue::new(
                    format!("policies.{name}.answer_max_tokens"),
                    "must be at least 1",
                ));
            }
            for (i, rule) in policy.rules.iter().enumerate() {
                if let Err(e) = rule.validate(&format!("policies.{name}.rules[{i}]")) {
                    issues.push(ConfigIssue::new("", e.to_string()));
                }
            }
        }
        self.validate_tenants(&mut issues);
        issues.extend(self.telemetry.issues());
        issues
    }

    fn validate_tenants(&self, issues: &mut Vec<ConfigIssue>) {
        if self.backends.is_empty() {
            issues.push(ConfigIssue::new(
                "backends",
                "at least one backend is required",
            ));
        }
        if self.tenants.is_empty()
            && self.backends.len() > 1
            && !self.backends.contains_key("default")
        {
            issues.push(ConfigIssue::new(
                "tenants",
                "several backends and no tenants: add a tenant, or name one backend `default`",
            ));
        }
        let mut seen_keys: HashMap<[u8; 32], &str> = HashMap::new();
        let mut anonymous = Vec::new();
        for (name, tenant) in &self.tenants {
            let names = tenant.backend_names();
            if names.is_empty() {
                issues.push(ConfigIssue::new(
                    format!("tenants.{name}.backend"),
                    "a tenant needs `backend` or `backends`",
                ));
            }
            for backend in names {
                if !self.backends.contains_key(backend) {
                    issues.push(ConfigIssue::new(
                        format!("tenants.{name}.backend"),
                        format!("no backend named `{backend}`"),
                    ));
                }
            }
            for (key, policy) in std::iter::once(("policy".to_string(), &tenant.policy))
                .chain(
                    tenant
                        .allowed_policies
                        .iter()
                        .enumerate()
                        .map(|(i, p)| (format!("allowed_policies[{i}]"), p)),
                )
                .chain(
                    tenant
                        .reasoning_effort
                        .iter()
                        .map(|(effort, p)| (format!("reasoning_effort.{effort}"), p)),
                )
            {
                if !self.policies.contains_key(policy) {
                    issues.push(ConfigIssue::new(
                        format!("tenants.{name}.{key}"),
                        format!("no policy named `{policy}`"),
                    ));
                }
            }
            for effort in tenant.reasoning_effort.keys() {
                if !REASONING_EFFORTS.contains(&effort.as_str()) {
                    issues.push(ConfigIssue::new(
                        format!("tenants.{name}.reasoning_effort.{effort}"),
                        format!(
                            "not a reasoning effort (one of {})",
                            REASONING_EFFORTS.join(", ")
                        ),
                    ));
                }
            }
            for (i, key) in tenant.api_keys.iter().enumerate() {
                let path = format!("tenants.{name}.api_keys[{i}]");
                match crate::gateway::stored_digest(key) {
                    Some(digest) => {
                        // Compared as digests: `sha256:AB…` and `sha256:ab…` are one key.
                        if let Some(other) = seen_keys.insert(digest, name.as_str()) {
                            issues.push(ConfigIssue::new(
                                path,
                                format!("the same key is also given to tenant `{other}`"),
                            ));
                        }
                    }
                    None => issues.push(ConfigIssue::new(
                        path,
                        "must be `sha256:<64 hex digits>` (see `selfbrake hash-key KEY`)",
                    )),
                }
            }
            for (key, value) in [
                (
                    "max_concurrent_requests",
                    tenant.max_concurrent_requests.map(u64::from),
                ),
                (
                    "requests_per_minute",
                    tenant.requests_per_minute.map(u64::from),
                ),
                ("max_reasoning_tokens", tenant.max_reasoning_tokens),
            ] {
                if value == Some(0) {
                    issues.push(ConfigIssue::new(
                        format!("tenants.{name}.{key}"),
                        "must be at least 1",
                    ));
                }
            }
            if tenant.anonymous {
                anonymous.push(name.as_str());
            }
        }
        if anonymous.len() > 1 {
            issues.push(ConfigIssue::new(
                "tenants",
                format!(
                    "only one tenant may be anonymous, found {}",
                    anonymous.join(", ")
                ),
            ));
        }
    }

    /// Anonymous access on an address others can reach must be asked for.
    fn validate_exposure(&self, issues: &mut Vec<ConfigIssue>) {
        let anonymous = self.tenants.is_empty() || self.tenants.values().any(|t| t.anonymous);
        let loopback = self
            .server
            .listen
            .parse::<std::net::SocketAddr>()
            .map_or(true, |a| a.ip().is_loopback());
        if anonymous && !loopback && !self.server.allow_anonymous {
            issues.push(ConfigIssue::new(
                "server.allow_anonymous",
                format!(
                    "`{}` is not a loopback address and requests without a key would be served \
                     (no [tenants], or an anonymous tenant): add tenants with api_keys, or set \
                     server.allow_anonymous = true",
                    self.server.listen
                ),
            ));
        }
        for (key, value) in [
            ("header_read_timeout_ms", self.server.header_read_timeout_ms),
            ("body_read_timeout_ms", self.server.body_read_timeout_ms),
            ("client_stall_ms", self.server.client_stall_ms),
            ("max_request_ms", self.server.max_request_ms),
            (
                "max_concurrent_streams",
                self.server.max_concurrent_streams as u64,
            ),
        ] {
            if value == 0 {
                issues.push(ConfigIssue::new(
                    format!("server.{key}"),
                    "must be at least 1",
                ));
            }
        }
        if self.server.worker_threads > MAX_WORKER_THREADS {
            issues.push(ConfigIssue::new(
                "server.worker_threads",
                format!("at most {MAX_WORKER_THREADS} (0: one per CPU)"),
            ));
        }
        let admin = &self.server.admin_listen;
        if !admin.is_empty() && admin.parse::<std::net::SocketAddr>().is_err() {
            issues.push(ConfigIssue::new(
                "server.admin_listen",
                format!("`{admin}` is not an address like 127.0.0.1:9787 (or empty for none)"),
            ));
        }
    }
}
