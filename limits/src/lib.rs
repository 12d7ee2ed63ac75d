//! Admission of a tenant's request against its `requests_per_minute` and
//! `max_concurrent_requests`, counted in this process (`store = "memory"`)
//! or in Redis, shared by every replica (`store = "redis"`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), selfbrake_limits::LimitError> {
//! use selfbrake_limits::{Limiter, LimitsConfig, TenantLimits};
//! let limiter = Limiter::new(&LimitsConfig::default())?;
//! let limits = TenantLimits { requests_per_minute: Some(600), max_concurrent_requests: Some(32) };
//! let admission = limiter.admit("acme", limits).await?;
//! // ... serve the request; its concurrency slot is released when
//! drop(admission);
//! # Ok(()) }
//! ```
//!
//! With Redis, the rate is a GCRA kept in one key per tenant and concurrency
//! is a set of leases that expire: a replica renews the leases it holds, so
//! the slots of one that crashed come back after `lease_ttl_ms`. Both are
//! taken in one Lua script, timed by the Redis server's clock.
#![forbid(unsafe_code)]

mod config;
mod error;
mod memory;
mod redis;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub use config::{LimitsConfig, OnStoreError, StoreKind};
pub use error::{Fault, LimitError};

/// A tenant's limits, as its config gives them. `None` is unlimited; `0`
/// admits nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TenantLimits {
    pub requests_per_minute: Option<u32>,
    pub max_concurrent_requests: Option<u32>,
}

impl TenantLimits {
    fn unlimited(&self) -> bool {
        self.requests_per_minute.is_none() && self.max_concurrent_requests.is_none()
    }
}

/// Held for the life of a request; its concurrency slot is released when it
/// is dropped.
#[derive(Debug)]
pub struct Admission {
    _held: Held,
}

#[derive(Debug)]
enum Held {
    Nothing,
    Slot(#[allow(dead_code)] memory::Slot),
    Lease(#[allow(dead_code)] redis::Lease),
}

enum Store {
    Memory(memory::MemoryStore),
    Redis(Box<redis::RedisStore>),
}

/// Admits requests. One per process, kept across reloads that leave
/// `[limits]` unchanged (rebuild it when [`Limiter::config`] differs).
/// Cheap to clone.
#[derive(Clone)]
pub struct Limiter {
    inner: Arc<Inner>,
}

struct Inner {
    config: LimitsConfig,
    store: Store,
    store_errors: AtomicU64,
    started: Instant,
    /// Milliseconds after `started` of the last store warning, to log an
    /// outage once a second rather than once a request.
    last_warning_ms: AtomicU64,
}

impl Limiter {
    /// Builds the store `config` names. Connecting to Redis waits for the
    /// first request, so a replica starts while Redis is down.
    pub fn new(config: &LimitsConfig) -> Result<Limiter, LimitError> {
        config.validate()?;
        let store = match config.store {
            StoreKind::Memory => Store::Memory(memory::MemoryStore::default()),
            StoreKind::Redis => Store::Redis(Box::new(redis::RedisStore::new(config)?)),
        };
        Ok(Limiter {
            inner: Arc::new(Inner {
                config: config.clone(),
                store,
                store_errors: AtomicU64::new(0),
                started: Instant::now(),
                last_warning_ms: AtomicU64::new(u64::MAX),
            }),
        })
    }

    /// The config this limiter was built from.
    pub fn config(&self) -> &LimitsConfig {
        &self.inner.config
    }

    /// How many times the store could not answer since this limiter was
    /// built (the middleware exports it as a counter).
    pub fn store_errors(&self) -> u64 {
        self.inner.store_errors.load(Ordering::Relaxed)
    }

    /// Admits one request of `tenant`, or says why not. A request refused
    /// for concurrency spends none of the tenant's rate.
    pub async fn admit(&self, tenant: &str, limits: TenantLimits) -> Result<Admission, LimitError> {
        if limits.unlimited() {
            return Ok(Admission {
                _held: Held::Nothing,
            });
        }
        let held = match &self.inner.store {
            Store::Memory(store) => store
                .admit(tenant, limits)?
                .map_or(Held::Nothing, Held::Slot),
            Store::Redis(store) => match store.admit(tenant, limits).await {
                Ok(decision) => decision?.map_or(Held::Nothing, Held::Lease),
                Err(error) => return self.store_failed(tenant, &error),
            },
        };
        Ok(Admission { _held: held })
    }

    fn store_failed(
        &self,
        tenant: &str,
        error: &redis::StoreError,
    ) -> Result<Admission, LimitError> {
        let count = self.inner.store_errors.fetch_add(1, Ordering::Relaxed) + 1;
        let open = self.inner.config.on_store_error == OnStoreError::Open;
        let now_ms = self.inner.started.elapsed().as_millis() as u64;
        let last = self.inner.last_warning_ms.load(Ordering::Relaxed);
        if last == u64::MAX || now_ms.saturating_sub(last) >= 1000 {
            self.inner.last_warning_ms.store(now_ms, Ordering::Relaxed);
            let action = if open { "admitting" } else { "refusing" };
            tracing::warn!(%error, tenant, store_errors = count, "limits store unavailable; {action} requests");
        }
        if open {
            Ok(Admission {
                _held: Held::Nothing,
            })
        } else {
            Err(LimitError::StoreUnavailable)
        }
    }
}
