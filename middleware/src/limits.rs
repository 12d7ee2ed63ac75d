//! Per-tenant limits: concurrent requests and requests per minute.
//!
//! A tenant's requests in flight are counted by tenant name and survive a
//! reload, so lowering `max_concurrent_requests` counts the requests still
//! running under the old config: old and new slots never add up. The rate
//! limiter is keyed by its setting, so a reload that keeps it keeps its
//! counters and one that changes it starts fresh.
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::error::ProxyError;
use crate::gateway::Tenant;

struct TenantLimiter {
    /// Requests of the tenant in flight, whatever config admitted them.
    in_flight: Arc<AtomicU32>,
    /// `(per_minute, limiter)`, rebuilt when the setting changes.
    rate: Option<(u32, Arc<DefaultDirectRateLimiter>)>,
}

/// Held for the life of a request; gives its concurrency slot back on drop.
#[derive(Debug)]
pub struct Admission {
    counted: Option<Arc<AtomicU32>>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some(count) = &self.counted {
            count.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[derive(Clone, Default)]
pub struct Limits {
    tenants: Arc<Mutex<HashMap<String, TenantLimiter>>>,
}

impl Limits {
    /// Admits a request of `tenant`, or says when to retry.
    pub fn admit(&self, tenant: &Tenant) -> Result<Admission, ProxyError> {
        let concurrent = tenant.config.max_concurrent_requests;
        let per_minute = tenant.config.requests_per_minute;
        if concurrent.is_none() && per_minute.is_none() {
            return Ok(Admission { counted: None });
        }
        let (in_flight, rate) = {
            let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
            let entry = tenants
                .entry(tenant.name.clone())
                .or_insert_with(|| TenantLimiter {
                    in_flight: Arc::new(AtomicU32::new(0)),
                    rate: None,
                });
            let wanted = per_minute.and_then(NonZeroU32::new);
            if entry.rate.as_ref().map(|(n, _)| *n) != wanted.map(NonZeroU32::get) {
                entry.rate =
                    wanted.map(|n| (n.get(), Arc::new(RateLimiter::direct(Quota::per_minute(n)))));
            }
            (
                entry.in_flight.clone(),
                entry.rate.as_ref().map(|(_, r)| r.clone()),
            )
        };
        if let Some(rate) = rate {
            if let Err(not_until) = rate.check() {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(ProxyError::RateLimited {
                    message: format!(
                        "rate limit of {} requests per minute reached",
                        per_minute.unwrap_or_default()
                    ),
                    retry_after: wait.max(Duration::from_secs(1)),
                });
            }
        }
        let Some(max) = concurrent else {
            return Ok(Admission { counted: None });
        };
        in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| ProxyError::RateLimited {
                message: format!("limit of {max} concurrent requests reached"),
                retry_after: Duration::from_secs(1),
            })?;
        Ok(Admission {
            counted: Some(in_flight),
        })
    }
}
