//! Limits counted in this process: requests in flight per tenant, and a
//! GCRA (governor) per tenant for requests per minute.
//!
//! A tenant's requests in flight are counted by tenant name whatever
//! settings admitted them, so a reload that lowers `max_concurrent_requests`
//! counts the requests still running under the old config: old and new
//! slots never add up. The rate limiter is keyed by its setting: a reload
//! that keeps it keeps its counters, one that changes it starts fresh.
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::{LimitError, TenantLimits};

struct TenantState {
    /// Requests of the tenant in flight, whatever settings admitted them.
    in_flight: Arc<AtomicU32>,
    /// `(requests_per_minute, limiter)`, rebuilt when the setting changes.
    rate: Option<(u32, Arc<DefaultDirectRateLimiter>)>,
}

/// A concurrency slot: gives itself back on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    in_flight: Arc<AtomicU32>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Default)]
pub(crate) struct MemoryStore {
    tenants: Mutex<HashMap<String, TenantState>>,
}

impl MemoryStore {
    /// Takes a concurrency slot (if limited) and then a unit of rate, so a
    /// request refused for concurrency spends none of the tenant's rate.
    pub(crate) fn admit(
        &self,
        tenant: &str,
        limits: TenantLimits,
    ) -> Result<Option<Slot>, LimitError> {
        let (in_flight, rate) = {
            let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
            let state = tenants
                .entry(tenant.to_string())
                .or_insert_with(|| TenantState {
                    in_flight: Arc::new(AtomicU32::new(0)),
                    rate: None,
                });
            let wanted = limits.requests_per_minute.and_then(NonZeroU32::new);
            if state.rate.as_ref().map(|(n, _)| *n) != wanted.map(NonZeroU32::get) {
                state.rate =
                    wanted.map(|n| (n.get(), Arc::new(RateLimiter::direct(Quota::per_minute(n)))));
            }
            (
                state.in_flight.clone(),
                state.rate.as_ref().map(|(_, r)| r.clone()),
            )
        };
        let slot = match limits.max_concurrent_requests {
            Some(limit) => {
                in_flight
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                        (n < limit).then_some(n + 1)
                    })
                    .map_err(|_| LimitError::TooManyConcurrent { limit })?;
                Some(Slot { in_flight })
            }
            None => None,
        };
        if let Some(limit) = limits.requests_per_minute {
            let refused = |retry_after| LimitError::RateLimited { limit, retry_after };
            match &rate {
                // 0 per minute admits nothing.
                None => return Err(refused(Duration::from_secs(60))),
                Some(rate) => {
                    if let Err(not_until) = rate.check() {
                        return Err(refused(
                            not_until.wait_time_from(DefaultClock::default().now()),
                        ));
                    }
                }
            }
        }
        Ok(slot)
    }
}
