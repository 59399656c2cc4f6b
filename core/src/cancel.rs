//! Stopping a blocking call early: by a deadline, or by the caller's own check.
//!
//! The check runs on the caller's thread (about every [`POLL`]) while the work runs elsewhere,
//! so a face can look for Ctrl-C there (Python's signal handlers only run on the thread that
//! called) without a helper thread of its own per call.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a blocking call asks its [`Cancel`] whether to go on.
pub const POLL: Duration = Duration::from_millis(100);

/// Why a call stopped before its work was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The caller's check said to stop.
    Cancelled,
    /// The deadline passed.
    TimedOut,
}

/// When a blocking call should give up. [`Cancel::NEVER`] lets it run to its end.
#[derive(Clone, Copy, Default)]
pub struct Cancel<'a> {
    deadline: Option<Instant>,
    go_on: Option<&'a (dyn Fn() -> bool + Sync)>,
}

impl std::fmt::Debug for Cancel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel")
            .field("deadline", &self.deadline)
            .field("check", &self.go_on.is_some())
            .finish()
    }
}

impl<'a> Cancel<'a> {
    /// Runs to the end.
    pub const NEVER: Cancel<'static> = Cancel {
        deadline: None,
        go_on: None,
    };

    /// Stops when `go_on()` returns `false`; it is asked on the calling thread.
    pub fn when(go_on: &'a (dyn Fn() -> bool + Sync)) -> Self {
        Cancel {
            deadline: None,
            go_on: Some(go_on),
        }
    }

    /// Stops at `deadline` too (the earlier one wins).
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(self.deadline.map_or(deadline, |d| d.min(deadline)));
        self
    }

    /// Stops `timeout` from now too.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        self.with_deadline(Instant::now() + timeout)
    }

    /// Whether to stop now, and why.
    pub fn check(&self) -> Result<(), Stopped> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Stopped::TimedOut);
        }
        match self.go_on {
            Some(go_on) if !go_on() => Err(Stopped::Cancelled),
            _ => Ok(()),
        }
    }

    /// Runs `work` to its end, asking this every [`POLL`] on the thread that polls it (the
    /// caller's, under `block_on`); the work is dropped (cancelled) when told to stop.
    pub async fn run<F: Future>(&self, work: F) -> Result<F::Output, Stopped> {
        tokio::pin!(work);
        loop {
            self.check()?;
            let slice = self.deadline.map_or(POLL, |d| {
                d.saturating_duration_since(Instant::now()).min(POLL)
            });
            if let Ok(done) = tokio::time::timeout(slice, &mut work).await {
                return Ok(done);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn never_runs_to_the_end() {
        let rt = runtime();
        let done = rt.block_on(Cancel::NEVER.run(async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            7
        }));
        assert_eq!(done, Ok(7));
    }

    #[test]
    fn the_check_is_asked_on_the_calling_thread_and_stops_the_work() {
        let rt = runtime();
        let caller = std::thread::current().id();
        let asked = AtomicU32::new(0);
        let go_on = || {
            assert_eq!(std::thread::current().id(), caller);
            asked.fetch_add(1, Ordering::Relaxed) < 2
        };
        let started = Instant::now();
        let stopped = rt.block_on(Cancel::when(&go_on).run(std::future::pending::<()>()));
        assert_eq!(stopped, Err(Stopped::Cancelled));
        assert_eq!(asked.load(Ordering::Relaxed), 3);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_deadline_times_out() {
        let rt = runtime();
        let started = Instant::now();
        let cancel = Cancel::NEVER.with_timeout(Duration::from_millis(50));
        let stopped = rt.block_on(cancel.run(std::future::pending::<()>()));
        assert_eq!(stopped, Err(Stopped::TimedOut));
        assert!(started.elapsed() < Duration::from_millis(500));
    }
}
