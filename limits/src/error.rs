//! One error type, classified by fault so the HTTP status follows from the
//! variant: the tenant's fault (429 with `Retry-After`), the store's (503),
//! or the operator's (a config that cannot start).
use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LimitError {
    /// The tenant's `requests_per_minute` is spent; a request after
    /// `retry_after` will be admitted (429).
    #[error("rate limit of {limit} requests per minute reached")]
    RateLimited { limit: u32, retry_after: Duration },
    /// The tenant already has `limit` requests in flight (429).
    #[error("limit of {limit} concurrent requests reached")]
    TooManyConcurrent { limit: u32 },
    /// The shared store could not answer and `on_store_error = "closed"`
    /// (503). The cause is logged, not carried: it may name the store's
    /// address.
    #[error("the limits store is unavailable")]
    StoreUnavailable,
    /// `[limits]` is not usable as written.
    #[error("invalid limits config: {0}")]
    InvalidConfig(String),
}

/// Who is at fault, which decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The tenant asked for more than its limits allow: 429.
    TooManyRequests,
    /// selfbrake could not decide: 503.
    Unavailable,
    /// The config is wrong: refuse to start or to reload.
    Config,
}

impl LimitError {
    pub fn fault(&self) -> Fault {
        match self {
            LimitError::RateLimited { .. } | LimitError::TooManyConcurrent { .. } => {
                Fault::TooManyRequests
            }
            LimitError::StoreUnavailable => Fault::Unavailable,
            LimitError::InvalidConfig(_) => Fault::Config,
        }
    }

    /// What to put in `Retry-After`: whole seconds, at least one, for the
    /// refusals a client can retry.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LimitError::RateLimited { retry_after, .. } => Some(Duration::from_secs(
                retry_after.as_secs_f64().ceil().max(1.0) as u64,
            )),
            LimitError::TooManyConcurrent { .. } | LimitError::StoreUnavailable => {
                Some(Duration::from_secs(1))
            }
            LimitError::InvalidConfig(_) => None,
        }
    }
}
