//! Limits shared by every replica through Redis.
//!
//! Keys, per tenant: `{prefix}:{{tenant}}:rate` (the GCRA's theoretical
//! arrival time) and `{prefix}:{{tenant}}:leases` (a sorted set of lease ids
//! scored by expiry). The braces are a Redis Cluster hash tag: both keys of a
//! tenant live in one slot, as a script touching both requires. Keys are not
//! tied to the limits' values, so replicas mid-rollout with different limits
//! still share one count.
mod lease;

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, Script};
use thiserror::Error;
use tokio::sync::OnceCell;

pub(crate) use lease::Lease;

use crate::{LimitError, LimitsConfig, TenantLimits};

/// Why the store could not answer. Kept inside the crate: callers see
/// [`LimitError::StoreUnavailable`] or an admission, as `on_store_error` says.
#[derive(Debug, Error)]
pub(crate) enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("unexpected reply from the admit script: {0:?}")]
    Reply(Vec<i64>),
}

pub(crate) struct RedisStore {
    client: Client,
    /// Connected on first use; the manager reconnects by itself after that.
    connection: OnceCell<ConnectionManager>,
    admit: Script,
    renew: Script,
    prefix: String,
    lease_ttl: Duration,
    timeout: Duration,
}

impl RedisStore {
    pub(crate) fn new(config: &LimitsConfig) -> Result<RedisStore, LimitError> {
        let url = config.redis_url.as_deref().unwrap_or_default();
        let client = Client::open(url).map_err(|e| {
            LimitError::InvalidConfig(format!("limits.redis_url: {}", e.category()))
        })?;
        Ok(RedisStore {
            client,
            connection: OnceCell::new(),
            admit: Script::new(include_str!("admit.lua")),
            renew: Script::new(include_str!("renew.lua")),
            prefix: config.key_prefix.clone(),
            lease_ttl: config.lease_ttl(),
            timeout: config.store_timeout(),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            // One attempt per reconnection: requests during an outage fail
            // fast (and are admitted or refused) instead of queueing behind
            // a backoff; the next request tries again.
            .set_number_of_retries(0);
        let connect = self
            .connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config));
        Ok(within(self.timeout, connect).await??.clone())
    }

    /// The store's decision (an admission, holding a lease when concurrency
    /// is limited, or a refusal), or why the store could not decide.
    pub(crate) async fn admit(
        &self,
        tenant: &str,
        limits: TenantLimits,
    ) -> Result<Result<Option<Lease>, LimitError>, StoreError> {
        if let Some(refusal) = refuse_outright(limits) {
            return Ok(Err(refusal));
        }
        let mut connection = self.connection().await?;
        let (rate_key, lease_key) = self.keys(tenant);
        let lease_id = uuid::Uuid::new_v4().to_string();
        let rate = limits.requests_per_minute.unwrap_or(0);
        let interval_us = if rate > 0 {
            60e6 / f64::from(rate)
        } else {
            0.0
        };
        let concurrent = limits.max_concurrent_requests.unwrap_or(0);
        let mut invocation = self.admit.key(&rate_key);
        invocation
            .key(&lease_key)
            .arg(interval_us)
            .arg(rate)
            .arg(concurrent)
            .arg(&lease_id)
            .arg(self.lease_ttl.as_millis() as u64);
        let reply: Vec<i64> =
            within(self.timeout, invocation.invoke_async(&mut connection)).await??;
        match reply.as_slice() {
            [0, _] if concurrent == 0 => Ok(Ok(None)),
            [0, _] => Ok(Ok(Some(Lease::hold(
                connection,
                self.renew.clone(),
                lease_key,
                lease_id,
                self.lease_ttl,
                self.timeout,
            )))),
            [1, wait_us] => Ok(Err(LimitError::RateLimited {
                limit: rate,
                retry_after: Duration::from_micros((*wait_us).max(0) as u64),
            })),
            [2, _] => Ok(Err(LimitError::TooManyConcurrent { limit: concurrent })),
            _ => Err(StoreError::Reply(reply)),
        }
    }

    fn keys(&self, tenant: &str) -> (String, String) {
        let base = format!("{}:{{{tenant}}}", self.prefix);
        (format!("{base}:rate"), format!("{base}:leases"))
    }
}

/// Limits of 0 admit nothing, with no need to ask the store.
fn refuse_outright(limits: TenantLimits) -> Option<LimitError> {
    if limits.max_concurrent_requests == Some(0) {
        return Some(LimitError::TooManyConcurrent { limit: 0 });
    }
    if limits.requests_per_minute == Some(0) {
        return Some(LimitError::RateLimited {
            limit: 0,
            retry_after: Duration::from_secs(60),
        });
    }
    None
}

/// `future`, or [`StoreError::Timeout`] after `timeout`.
async fn within<T>(
    timeout: Duration,
    future: impl std::future::Future<Output = T>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout, future)
        .await
        .map_err(|_| StoreError::Timeout(timeout))
}
