//! Two `Limiter`s on one Redis behave as two replicas of selfbrake: a
//! tenant's limits hold across both, and a crashed replica's concurrency
//! slots come back after the lease ttl.
mod common;

use std::time::{Duration, Instant};

use common::{limiter, redis_config, RedisServer};
use selfbrake_limits::{LimitError, LimitsConfig, OnStoreError, TenantLimits};

const RATE_ONLY: TenantLimits = TenantLimits {
    requests_per_minute: Some(4),
    max_concurrent_requests: None,
};

/// These tests are about sharing, not outages: a store slow to answer on a
/// loaded machine (the first call also connects and loads the scripts) is
/// waited for, not taken for one that is down.
fn shared(url: &str, lease_ttl_ms: u64) -> LimitsConfig {
    LimitsConfig {
        store_timeout_ms: 2_000,
        ..redis_config(url, OnStoreError::Closed, lease_ttl_ms)
    }
}

fn concurrent(n: u32) -> TenantLimits {
    TenantLimits {
        requests_per_minute: None,
        max_concurrent_requests: Some(n),
    }
}

#[tokio::test]
async fn two_replicas_share_requests_per_minute() {
    let redis = RedisServer::start();
    let config = shared(&redis.url(), 30_000);
    let (a, b) = (limiter(&config), limiter(&config));
    // 4 per minute, taken alternately by the two replicas: 4 in all, not 8.
    for (i, replica) in [&a, &b, &a, &b].into_iter().enumerate() {
        replica
            .admit("acme", RATE_ONLY)
            .await
            .unwrap_or_else(|e| panic!("request {i} refused: {e}"));
    }
    for replica in [&a, &b] {
        match replica.admit("acme", RATE_ONLY).await {
            Err(LimitError::RateLimited {
                limit: 4,
                retry_after,
            }) => {
                // One request every 15 s comes back.
                assert!(retry_after > Duration::from_secs(13), "{retry_after:?}");
                assert!(retry_after <= Duration::from_secs(15), "{retry_after:?}");
            }
            other => panic!("a 5th request in the minute: {other:?}"),
        }
    }
    // Another tenant has its own count.
    a.admit("globex", RATE_ONLY).await.expect("another tenant");
}

#[tokio::test]
async fn two_replicas_share_max_concurrent_requests() {
    let redis = RedisServer::start();
    let config = shared(&redis.url(), 30_000);
    let (a, b) = (limiter(&config), limiter(&config));
    let first = a.admit("acme", concurrent(3)).await.expect("1st");
    let _second = a.admit("acme", concurrent(3)).await.expect("2nd");
    let _third = b.admit("acme", concurrent(3)).await.expect("3rd");
    for replica in [&a, &b] {
        assert_eq!(
            replica.admit("acme", concurrent(3)).await.unwrap_err(),
            LimitError::TooManyConcurrent { limit: 3 }
        );
    }
    // A request ending on replica A frees a slot for replica B.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match b.admit("acme", concurrent(3)).await {
            Ok(_) => break,
            Err(LimitError::TooManyConcurrent { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            other => panic!("slot not released: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_held_lease_is_renewed_past_its_ttl() {
    let redis = RedisServer::start();
    let config = shared(&redis.url(), 600);
    let (a, b) = (limiter(&config), limiter(&config));
    let _held = a.admit("acme", concurrent(1)).await.expect("first");
    // Three ttls later the slot is still held: its holder keeps renewing it.
    for _ in 0..9 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            b.admit("acme", concurrent(1)).await.unwrap_err(),
            LimitError::TooManyConcurrent { limit: 1 }
        );
    }
}

#[tokio::test]
async fn a_crashed_replicas_slot_comes_back_after_the_lease_ttl() {
    let redis = RedisServer::start();
    let config = shared(&redis.url(), 600);
    let survivor = limiter(&config);
    // The survivor holds one of the two slots for the whole test, so the
    // lease set stays alive: the crashed lease must lapse on its own.
    let _held = survivor
        .admit("acme", concurrent(2))
        .await
        .expect("survivor's request");
    // The crashing replica: its own runtime, which dies with the admission
    // still held, so nothing releases or renews the lease.
    let crashing = config.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let admission = limiter(&crashing)
                .admit("acme", concurrent(2))
                .await
                .expect("the crashing replica's request");
            std::mem::forget(admission);
        });
        runtime.shutdown_background();
    })
    .join()
    .unwrap();
    let crashed_at = Instant::now();
    assert_eq!(
        survivor.admit("acme", concurrent(2)).await.unwrap_err(),
        LimitError::TooManyConcurrent { limit: 2 },
        "the slot is held until the lease lapses"
    );
    loop {
        match survivor.admit("acme", concurrent(2)).await {
            Ok(_) => break,
            Err(LimitError::TooManyConcurrent { .. })
                if crashed_at.elapsed() < Duration::from_secs(3) =>
            {
                tokio::time::sleep(Duration::from_millis(25)).await
            }
            other => panic!("the crashed replica's slot did not come back: {other:?}"),
        }
    }
    let waited = crashed_at.elapsed();
    assert!(
        waited >= Duration::from_millis(400),
        "lapsed early: {waited:?}"
    );
}
