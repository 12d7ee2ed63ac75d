//! Redis stops under load: `on_store_error = "open"` admits and counts the
//! errors, `"closed"` refuses with `StoreUnavailable`; once Redis is back,
//! the limits hold again.
mod common;

use std::time::{Duration, Instant};

use common::{limiter, redis_config, RedisServer};
use selfbrake_limits::{Fault, LimitError, Limiter, OnStoreError, TenantLimits};

const LIMITS: TenantLimits = TenantLimits {
    requests_per_minute: Some(1_000_000),
    max_concurrent_requests: Some(2),
};

/// Four clients admitting (and at once releasing) requests until `until`;
/// every outcome, in order.
async fn load(limiter: &Limiter, until: Instant) -> Vec<Result<(), LimitError>> {
    let clients = (0..4).map(|_| {
        let limiter = limiter.clone();
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            while Instant::now() < until {
                let outcome = limiter.admit("acme", LIMITS).await.map(drop);
                outcomes.push(outcome);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            outcomes
        })
    });
    let mut all = Vec::new();
    for client in clients.collect::<Vec<_>>() {
        all.extend(client.await.unwrap());
    }
    all
}

/// Runs the load, stops Redis in the middle of it, and returns the outcomes
/// after the stop.
async fn outcomes_across_a_stop(
    limiter: &Limiter,
    redis: &mut RedisServer,
) -> Vec<Result<(), LimitError>> {
    let start = Instant::now();
    let running = tokio::spawn({
        let limiter = limiter.clone();
        async move { load(&limiter, start + Duration::from_millis(1500)).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(limiter.store_errors(), 0, "no error while Redis is up");
    redis.stop();
    running.await.unwrap()
}

/// After a restart, the limits hold again: two slots, the third refused.
async fn assert_recovers(limiter: &Limiter, redis: &mut RedisServer) {
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(5);
    let first = loop {
        let errors = limiter.store_errors();
        match limiter.admit("acme", LIMITS).await {
            Ok(admission) if limiter.store_errors() == errors => break admission,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("no recovery after Redis restarted: {other:?}"),
        }
    };
    let errors = limiter.store_errors();
    let _second = limiter.admit("acme", LIMITS).await.expect("second slot");
    assert_eq!(
        limiter.admit("acme", LIMITS).await.unwrap_err(),
        LimitError::TooManyConcurrent { limit: 2 }
    );
    assert_eq!(
        limiter.store_errors(),
        errors,
        "no store error once recovered"
    );
    drop(first);
}

#[tokio::test]
async fn open_admits_and_counts_errors_while_redis_is_down() {
    let mut redis = RedisServer::start();
    let limiter = limiter(&redis_config(&redis.url(), OnStoreError::Open, 30_000));
    let outcomes = outcomes_across_a_stop(&limiter, &mut redis).await;
    let refused: Vec<_> = outcomes.iter().filter(|o| o.is_err()).collect();
    // Four clients share two slots, so some are refused for concurrency while
    // Redis is up; none is refused for the store.
    assert!(
        refused
            .iter()
            .all(|e| matches!(e, Err(LimitError::TooManyConcurrent { .. }))),
        "{refused:?}"
    );
    let errors = limiter.store_errors();
    assert!(
        errors >= 10,
        "store errors counted while Redis was down: {errors}"
    );
    // While down, everything is admitted.
    for _ in 0..5 {
        limiter
            .admit("acme", LIMITS)
            .await
            .expect("admitted while Redis is down");
    }
    assert_eq!(limiter.store_errors(), errors + 5);
    assert_recovers(&limiter, &mut redis).await;
}

#[tokio::test]
async fn closed_refuses_with_store_unavailable_while_redis_is_down() {
    let mut redis = RedisServer::start();
    let limiter = limiter(&redis_config(&redis.url(), OnStoreError::Closed, 30_000));
    let outcomes = outcomes_across_a_stop(&limiter, &mut redis).await;
    let unavailable = outcomes
        .iter()
        .filter(|o| matches!(o, Err(LimitError::StoreUnavailable)))
        .count();
    assert!(unavailable >= 10, "refused as unavailable: {unavailable}");
    assert!(
        outcomes.iter().any(Result::is_ok),
        "admitted before the stop"
    );
    let refusal = limiter.admit("acme", LIMITS).await.unwrap_err();
    assert_eq!(refusal, LimitError::StoreUnavailable);
    assert_eq!(refusal.fault(), Fault::Unavailable);
    assert!(limiter.store_errors() >= unavailable as u64);
    assert_recovers(&limiter, &mut redis).await;
}

#[tokio::test]
async fn a_replica_starts_while_redis_is_down() {
    let mut redis = RedisServer::start();
    redis.stop();
    let limiter = limiter(&redis_config(&redis.url(), OnStoreError::Open, 30_000));
    let started = Instant::now();
    limiter.admit("acme", LIMITS).await.expect("open admits");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(limiter.store_errors(), 1);
    assert_recovers(&limiter, &mut redis).await;
}
