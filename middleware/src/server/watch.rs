//! Deadlines on the client side that fire whether or not anyone polls.
//!
//! A response body is only polled while the client takes bytes, so a timer
//! inside it would stop with the client. Instead every connection has a
//! [`ConnectionWatch`] and a watchdog task beside it (see `listen.rs`); each
//! request registers a [`RequestWatch`]: the time its body last handed
//! bytes over that the client has not taken yet, and its deadline. When a
//! client leaves bytes untaken for `client_stall_ms`, or a request passes
//! `max_request_ms`, the watchdog drops the connection: the body, the
//! session, the upstream request and the tenant's slot go with it.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// One connection's requests, as the watchdog sees them.
#[derive(Clone)]
pub struct ConnectionWatch {
    inner: Arc<Connection>,
}

struct Connection {
    epoch: Instant,
    stall: Duration,
    requests: Mutex<Vec<Weak<Request>>>,
}

struct Request {
    /// Millis since `epoch` when bytes were handed over and not yet taken; 0: none waiting.
    handed_at: AtomicU64,
    deadline: Instant,
}

/// A request's registration; dropping it ends the watch.
pub struct RequestWatch {
    request: Arc<Request>,
    epoch: Instant,
}

/// Why the watchdog dropped a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// The client took no bytes for `client_stall_ms`.
    Stalled,
    /// A request passed `max_request_ms`.
    Deadline,
}

impl ConnectionWatch {
    pub fn new(stall: Duration) -> Self {
        ConnectionWatch {
            inner: Arc::new(Connection {
                epoch: Instant::now(),
                stall,
                requests: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Starts watching a request that may live until `max` from now.
    pub fn request(&self, max: Duration) -> RequestWatch {
        let request = Arc::new(Request {
            handed_at: AtomicU64::new(0),
            deadline: Instant::now() + max,
        });
        let mut requests = self
            .inner
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        requests.retain(|r| r.strong_count() > 0);
        requests.push(Arc::downgrade(&request));
        RequestWatch {
            request,
            epoch: self.inner.epoch,
        }
    }

    /// Resolves when a request of this connection expires; never otherwise.
    pub async fn expired(&self) -> Expired {
        let every = (self.inner.stall / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Some(why) = self.check(Instant::now()) {
                return why;
            }
        }
    }

    fn check(&self, now: Instant) -> Option<Expired> {
        let requests = self
            .inner
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let since_epoch = now.duration_since(self.inner.epoch).as_millis() as u64;
        for request in requests.iter().filter_map(Weak::upgrade) {
            if now >= request.deadline {
                return Some(Expired::Deadline);
            }
            let handed = request.handed_at.load(Ordering::Relaxed);
            if handed != 0
                && since_epoch.saturating_sub(handed) >= self.inner.stall.as_millis() as u64
            {
                return Some(Expired::Stalled);
            }
        }
        None
    }
}

impl RequestWatch {
    /// The body was polled: the client took what it had been handed.
    pub fn polled(&self) {
        self.request.handed_at.store(0, Ordering::Relaxed);
    }

    /// The body handed bytes over; the client has yet to take them.
    pub fn handed(&self) {
        let ms = self.epoch.elapsed().as_millis().max(1) as u64;
        self.request.handed_at.store(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_left_untaken_past_the_stall_expire_the_connection() {
        let conn = ConnectionWatch::new(Duration::from_millis(100));
        let req = conn.request(Duration::from_secs(60));
        req.handed();
        let later = Instant::now() + Duration::from_millis(150);
        assert_eq!(conn.check(later), Some(Expired::Stalled));
        req.polled();
        assert_eq!(conn.check(later), None, "taken bytes are no stall");
    }

    #[test]
    fn a_quiet_upstream_is_not_a_stalled_client() {
        let conn = ConnectionWatch::new(Duration::from_millis(100));
        let req = conn.request(Duration::from_secs(60));
        req.polled(); // polled, waiting on the upstream: nothing handed over
        assert_eq!(conn.check(Instant::now() + Duration::from_secs(5)), None);
    }

    #[test]
    fn the_deadline_fires_whatever_the_client_does() {
        let conn = ConnectionWatch::new(Duration::from_secs(60));
        let _req = conn.request(Duration::from_millis(10));
        assert_eq!(
            conn.check(Instant::now() + Duration::from_millis(20)),
            Some(Expired::Deadline)
        );
    }

    #[test]
    fn finished_requests_are_forgotten() {
        let conn = ConnectionWatch::new(Duration::from_millis(1));
        let req = conn.request(Duration::from_millis(1));
        req.handed();
        drop(req);
        assert_eq!(conn.check(Instant::now() + Duration::from_secs(1)), None);
    }
}
