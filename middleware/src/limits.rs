//! Per-tenant limits: concurrent requests and requests per minute.
//!
//! Limiter state is keyed by tenant name and its settings, so a reload that
//! keeps a tenant's limits keeps its counters, and one that changes them
//! starts fresh.
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ProxyError;
use crate::gateway::Tenant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Settings {
    concurrent: Option<u32>,
    per_minute: Option<u32>,
}

struct TenantLimiter {
    settings: Settings,
    concurrent: Option<Arc<Semaphore>>,
    rate: Option<DefaultDirectRateLimiter>,
}

/// Held for the life of a request; releases its concurrency slot on drop.
#[derive(Debug)]
pub struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
}

#[derive(Clone, Default)]
pub struct Limits {
    tenants: Arc<Mutex<HashMap<String, Arc<TenantLimiter>>>>,
}

impl Limits {
    /// Admits a request of `tenant`, or says when to retry.
    pub fn admit(&self, tenant: &Tenant) -> Result<Admission, ProxyError> {
        let settings = Settings {
            concurrent: tenant.config.max_concurrent_requests,
            per_minute: tenant.config.requests_per_minute,
        };
        if settings.concurrent.is_none() && settings.per_minute.is_none() {
            return Ok(Admission { _permit: None });
        }
        let limiter = {
            let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
            let entry = tenants
                .entry(tenant.name.clone())
                .or_insert_with(|| Arc::new(TenantLimiter::new(settings)));
            if entry.settings != settings {
                *entry = Arc::new(TenantLimiter::new(settings));
            }
            entry.clone()
        };
        if let Some(rate) = &limiter.rate {
            if let Err(not_until) = rate.check() {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(ProxyError::RateLimited {
                    message: format!(
                        "rate limit of {} requests per minute reached",
                        settings.per_minute.unwrap_or_default()
                    ),
                    retry_after: wait.max(Duration::from_secs(1)),
                });
            }
        }
        let permit = match &limiter.concurrent {
            Some(semaphore) => Some(semaphore.clone().try_acquire_owned().map_err(|_| {
                ProxyError::RateLimited {
                    message: format!(
                        "limit of {} concurrent requests reached",
                        settings.concurrent.unwrap_or_default()
                    ),
                    retry_after: Duration::from_secs(1),
                }
            })?),
            None => None,
        };
        Ok(Admission { _permit: permit })
    }
}

impl TenantLimiter {
    fn new(settings: Settings) -> Self {
        Self {
            settings,
            concurrent: settings
                .concurrent
                .map(|n| Arc::new(Semaphore::new(n as usize))),
            rate: settings
                .per_minute
                .and_then(NonZeroU32::new)
                .map(|n| RateLimiter::direct(Quota::per_minute(n))),
        }
    }
}
