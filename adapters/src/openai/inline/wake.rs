//! The waker a driven body polls its connection with: it drops the
//! wake-ups the body causes itself while it is being polled.
//!
//! The connection hands each chunk to the body through hyper's channel,
//! and taking a chunk out wakes the connection's side, which is this very
//! task. Passed on, that wake-up made the runtime poll the whole response
//! (server connection, encoder, session, adapter) once more after every
//! token, only to find nothing to do. A wake-up that arrives while the
//! body is being polled is noted instead, and the body polls once more
//! before it returns `Pending`; one that arrives later (new bytes on the
//! socket, a timer) goes to the task as usual.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use futures::task::AtomicWaker;

const IDLE: u8 = 0;
const POLLING: u8 = 1;
const POLLING_WOKEN: u8 = 2;

struct Shared {
    task: AtomicWaker,
    state: AtomicU8,
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Only a poll in progress absorbs the wake-up; once it has ended
        // (IDLE), the wake-up goes to the task.
        match self.state.compare_exchange(
            POLLING,
            POLLING_WOKEN,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) | Err(POLLING_WOKEN) => {}
            Err(_) => self.task.wake(),
        }
    }
}

/// One body's waker.
pub(super) struct OwnWakes {
    shared: Arc<Shared>,
    waker: Waker,
}

impl OwnWakes {
    pub(super) fn new() -> Self {
        let shared = Arc::new(Shared {
            task: AtomicWaker::new(),
            state: AtomicU8::new(IDLE),
        });
        let waker = Waker::from(shared.clone());
        OwnWakes { shared, waker }
    }

    /// Starts a poll on behalf of the task that `task` wakes.
    pub(super) fn start(&self, task: &Waker) -> &Waker {
        self.shared.task.register(task);
        self.shared.state.store(POLLING, Ordering::Release);
        &self.waker
    }

    /// Ends the poll; true when a wake-up arrived during it.
    pub(super) fn finish(&self) -> bool {
        self.shared.state.swap(IDLE, Ordering::AcqRel) == POLLING_WOKEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn wake_ups_during_a_poll_are_noted_and_later_ones_passed_on() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let task = Waker::from(count.clone());
        let wakes = OwnWakes::new();
        let own = wakes.start(&task).clone();
        own.wake_by_ref();
        own.wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "absorbed");
        assert!(wakes.finish(), "noted");
        own.wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "passed on");
        wakes.start(&task);
        assert!(!wakes.finish(), "nothing during this poll");
    }
}
