//! Limits counted in this process: a semaphore per tenant for concurrent
//! requests, a GCRA (governor) per tenant for requests per minute.
//!
//! State is keyed by tenant name and its settings, so a reload that keeps a
//! tenant's limits keeps its counters, and one that changes them starts
//! fresh. Requests admitted under the old settings keep their permits until
//! they end.
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{LimitError, TenantLimits};

struct TenantState {
    limits: TenantLimits,
    concurrent: Option<Arc<Semaphore>>,
    rate: Option<DefaultDirectRateLimiter>,
}

impl TenantState {
    fn new(limits: TenantLimits) -> Self {
        TenantState {
            limits,
            concurrent: limits
                .max_concurrent_requests
                .map(|n| Arc::new(Semaphore::new(n as usize))),
            rate: limits
                .requests_per_minute
                .and_then(NonZeroU32::new)
                .map(|n| RateLimiter::direct(Quota::per_minute(n))),
        }
    }
}

#[derive(Default)]
pub(crate) struct MemoryStore {
    tenants: Mutex<HashMap<String, Arc<TenantState>>>,
}

impl MemoryStore {
    /// Takes a concurrency slot (if limited) and then a unit of rate, so a
    /// request refused for concurrency spends none of the tenant's rate.
    pub(crate) fn admit(
        &self,
        tenant: &str,
        limits: TenantLimits,
    ) -> Result<Option<OwnedSemaphorePermit>, LimitError> {
        let state = {
            let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
            match tenants.get(tenant) {
                Some(state) if state.limits == limits => state.clone(),
                _ => {
                    let state = Arc::new(TenantState::new(limits));
                    tenants.insert(tenant.to_string(), state.clone());
                    state
                }
            }
        };
        let permit = match (&state.concurrent, limits.max_concurrent_requests) {
            (Some(semaphore), Some(limit)) => Some(
                semaphore
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| LimitError::TooManyConcurrent { limit })?,
            ),
            _ => None,
        };
        if let Some(limit) = limits.requests_per_minute {
            let refused = |retry_after| LimitError::RateLimited { limit, retry_after };
            match &state.rate {
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
        Ok(permit)
    }
}
