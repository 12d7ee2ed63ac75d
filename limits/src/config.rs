//! The `[limits]` section: where admission state lives and what happens when
//! that place cannot be reached.
//!
//! The types are owned here, not by the middleware, so the crate can be
//! configured and tested on its own; the middleware embeds [`LimitsConfig`]
//! in its config as it stands.
use std::time::Duration;

use serde::Deserialize;

use crate::error::LimitError;

/// Where the counters live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// In this process: each replica counts on its own (the default).
    #[default]
    Memory,
    /// In Redis: every replica that names the same `redis_url` and
    /// `key_prefix` shares the limits.
    Redis,
}

/// What to do with a request when the store cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnStoreError {
    /// Admit it, with a warning and a counted error: an outage of Redis does
    /// not take the proxy down with it (the default).
    #[default]
    Open,
    /// Refuse it with [`LimitError::StoreUnavailable`] (HTTP 503): limits
    /// that must never be exceeded, even at the cost of availability.
    Closed,
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub store: StoreKind,
    /// `redis://[:password@]HOST:PORT[/DB]` (or `rediss://`); needed when
    /// `store = "redis"`.
    pub redis_url: Option<String>,
    pub on_store_error: OnStoreError,
    /// How long a concurrency slot outlives the replica that took it. A held
    /// slot is renewed every third of this, so only a replica that died (or
    /// lost Redis for this long) lets its slots lapse.
    pub lease_ttl_ms: u64,
    /// Prefix of every Redis key, so several deployments can share a Redis.
    pub key_prefix: String,
    /// The longest a request waits for the store before the store counts as
    /// unreachable.
    pub store_timeout_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            store: StoreKind::Memory,
            redis_url: None,
            on_store_error: OnStoreError::Open,
            lease_ttl_ms: 30_000,
            key_prefix: "selfbrake".into(),
            store_timeout_ms: 500,
        }
    }
}

/// Below this a lease could lapse between two renewals on a busy replica.
const MIN_LEASE_TTL_MS: u64 = 300;

impl LimitsConfig {
    /// Checks what serde cannot: a Redis store has a URL that parses, and the
    /// durations make sense.
    pub fn validate(&self) -> Result<(), LimitError> {
        let invalid = |message: String| Err(LimitError::InvalidConfig(message));
        if self.lease_ttl_ms < MIN_LEASE_TTL_MS {
            return invalid(format!(
                "limits.lease_ttl_ms must be at least {MIN_LEASE_TTL_MS}"
            ));
        }
        if self.store_timeout_ms == 0 {
            return invalid("limits.store_timeout_ms must be at least 1".into());
        }
        if self.key_prefix.is_empty() {
            return invalid("limits.key_prefix must not be empty".into());
        }
        match (self.store, &self.redis_url) {
            (StoreKind::Redis, None) => {
                invalid("limits.redis_url is needed when limits.store = \"redis\"".into())
            }
            (StoreKind::Redis, Some(url)) => match ::redis::Client::open(url.as_str()) {
                Ok(_) => Ok(()),
                // The URL may hold a password: say why, never what.
                Err(e) => invalid(format!("limits.redis_url does not parse: {}", e.category())),
            },
            (StoreKind::Memory, _) => Ok(()),
        }
    }

    pub fn lease_ttl(&self) -> Duration {
        Duration::from_millis(self.lease_ttl_ms)
    }

    pub fn store_timeout(&self) -> Duration {
        Duration::from_millis(self.store_timeout_ms)
    }
}
