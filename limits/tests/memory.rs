//! The in-process store (the default): today's per-tenant limits.
use std::time::Duration;

use selfbrake_limits::{Fault, LimitError, Limiter, LimitsConfig, TenantLimits};

fn limits(rate: Option<u32>, concurrent: Option<u32>) -> TenantLimits {
    TenantLimits {
        requests_per_minute: rate,
        max_concurrent_requests: concurrent,
    }
}

fn memory() -> Limiter {
    Limiter::new(&LimitsConfig::default()).unwrap()
}

#[tokio::test]
async fn concurrency_slots_come_back_when_requests_end() {
    let limiter = memory();
    let first = limiter.admit("acme", limits(None, Some(2))).await.unwrap();
    let _second = limiter.admit("acme", limits(None, Some(2))).await.unwrap();
    let refusal = limiter
        .admit("acme", limits(None, Some(2)))
        .await
        .unwrap_err();
    assert_eq!(refusal, LimitError::TooManyConcurrent { limit: 2 });
    assert_eq!(refusal.fault(), Fault::TooManyRequests);
    assert_eq!(refusal.retry_after(), Some(Duration::from_secs(1)));
    // Tenants are counted apart.
    limiter
        .admit("globex", limits(None, Some(2)))
        .await
        .unwrap();
    drop(first);
    limiter
        .admit("acme", limits(None, Some(2)))
        .await
        .expect("slot released");
}

#[tokio::test]
async fn rate_refusals_say_when_to_retry() {
    let limiter = memory();
    for _ in 0..3 {
        limiter.admit("acme", limits(Some(3), None)).await.unwrap();
    }
    let refusal = limiter
        .admit("acme", limits(Some(3), None))
        .await
        .unwrap_err();
    let LimitError::RateLimited {
        limit: 3,
        retry_after,
    } = refusal
    else {
        panic!("{refusal:?}");
    };
    // One request every 20 s comes back.
    assert!(retry_after > Duration::from_secs(18) && retry_after <= Duration::from_secs(20));
    assert_eq!(refusal.retry_after(), Some(Duration::from_secs(20)));
}

#[tokio::test]
async fn a_request_refused_for_concurrency_spends_no_rate() {
    let limiter = memory();
    let both = limits(Some(2), Some(1));
    let held = limiter.admit("acme", both).await.unwrap();
    for _ in 0..5 {
        assert!(matches!(
            limiter.admit("acme", both).await,
            Err(LimitError::TooManyConcurrent { .. })
        ));
    }
    drop(held);
    limiter
        .admit("acme", both)
        .await
        .expect("the 2nd unit of rate is still there");
}

#[tokio::test]
async fn unchanged_limits_keep_their_counters_and_changed_ones_start_fresh() {
    let limiter = memory();
    limiter.admit("acme", limits(Some(1), None)).await.unwrap();
    // A reload that keeps the tenant's limits: still spent.
    assert!(limiter.admit("acme", limits(Some(1), None)).await.is_err());
    // A reload that changes them: a fresh count.
    limiter
        .admit("acme", limits(Some(2), None))
        .await
        .expect("new limits, new count");
}

#[tokio::test]
async fn unlimited_tenants_are_always_admitted_and_zero_admits_nothing() {
    let limiter = memory();
    for _ in 0..100 {
        limiter
            .admit("acme", TenantLimits::default())
            .await
            .unwrap();
    }
    assert!(limiter.admit("z", limits(Some(0), None)).await.is_err());
    assert!(limiter.admit("z", limits(None, Some(0))).await.is_err());
}

#[tokio::test]
async fn lowering_concurrency_counts_the_requests_still_in_flight() {
    let limiter = memory();
    let a = limiter.admit("acme", limits(None, Some(3))).await.unwrap();
    let b = limiter.admit("acme", limits(None, Some(3))).await.unwrap();
    // A reload lowers the limit to 1 while 2 are in flight: none fits.
    assert!(limiter.admit("acme", limits(None, Some(1))).await.is_err());
    drop(a);
    assert!(
        limiter.admit("acme", limits(None, Some(1))).await.is_err(),
        "one still runs"
    );
    drop(b);
    limiter
        .admit("acme", limits(None, Some(1)))
        .await
        .expect("all old requests ended");
}
