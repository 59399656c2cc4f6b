//! A bounded pool of open files, shared by every thread doing I/O for one torrent.
//!
//! The bound is strict: the number of live handles (in the pool, being opened, or evicted but
//! still in a reader's hands) never exceeds the capacity. Only idle handles are evicted (least
//! recently used first); when every handle is busy, a caller waits until one is returned. A
//! caller holds one handle at a time, so waiting cannot deadlock. Opening, closing and all I/O
//! happen outside the lock.

use rustc_hash::FxHashMap;
use std::fs::File;
use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// An open file of the torrent.
#[derive(Debug)]
pub(super) struct Handle {
    pub file: File,
    /// False when the file could only be opened read-only.
    pub writable: bool,
}

#[derive(Debug)]
struct Slot {
    handle: Arc<Handle>,
    last_used: u64,
}

#[derive(Debug, Default)]
struct State {
    slots: FxHashMap<usize, Slot>,
    /// Handles alive: in `slots`, being opened, or being closed.
    live: usize,
    peak: usize,
    tick: u64,
}

#[derive(Debug)]
pub(super) struct Pool {
    state: Mutex<State>,
    returned: Condvar,
    capacity: usize,
}

/// A handle lent by the pool; returning it (dropping) may wake a waiting thread.
pub(super) struct Lent<'p> {
    pool: &'p Pool,
    handle: Option<Arc<Handle>>,
}

impl Deref for Lent<'_> {
    type Target = Handle;
    fn deref(&self) -> &Handle {
        self.handle.as_ref().expect("present until dropped")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        self.handle.take();
        // Taking the lock orders this return after any waiter's scan, so no wake-up is lost.
        let _state = self.pool.lock();
        self.pool.returned.notify_all();
    }
}

impl Pool {
    pub fn new(capacity: usize) -> Pool {
        Pool {
            state: Mutex::default(),
            returned: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The handle for file `key`, opened with `open` if the pool does not hold it.
    pub fn get<E>(
        &self,
        key: usize,
        open: impl FnOnce() -> Result<Handle, E>,
    ) -> Result<Lent<'_>, E> {
        let mut state = self.lock();
        let victim = loop {
            state.tick += 1;
            let tick = state.tick;
            if let Some(slot) = state.slots.get_mut(&key) {
                slot.last_used = tick;
                return Ok(self.lend(slot.handle.clone()));
            }
            if state.live < self.capacity {
                state.live += 1;
                state.peak = state.peak.max(state.live);
                break None;
            }
            let idle = state
                .slots
                .iter()
                .filter(|(_, s)| Arc::strong_count(&s.handle) == 1)
                .min_by_key(|(_, s)| s.last_used)
                .map(|(&k, _)| k);
            if let Some(k) = idle {
                // The victim's place passes to the handle about to be opened.
                break state.slots.remove(&k);
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        };
        drop(state);
        drop(victim);
        let opened = open();
        let mut state = self.lock();
        match opened {
            Err(e) => {
                state.live -= 1;
                self.returned.notify_all();
                Err(e)
            }
            Ok(handle) => {
                state.tick += 1;
                let tick = state.tick;
                if let Some(slot) = state.slots.get_mut(&key) {
                    // Another thread opened the same file meanwhile: use its handle.
                    slot.last_used = tick;
                    let existing = slot.handle.clone();
                    state.live -= 1;
                    drop(state);
                    drop(handle);
                    return Ok(self.lend(existing));
                }
                let handle = Arc::new(handle);
                state.slots.insert(
                    key,
                    Slot {
                        handle: handle.clone(),
                        last_used: tick,
                    },
                );
                drop(state);
                Ok(self.lend(handle))
            }
        }
    }

    fn lend(&self, handle: Arc<Handle>) -> Lent<'_> {
        Lent {
            pool: self,
            handle: Some(handle),
        }
    }

    /// Closes every handle nobody is using.
    pub fn close_idle(&self) {
        let mut state = self.lock();
        let idle: Vec<usize> = state
            .slots
            .iter()
            .filter(|(_, s)| Arc::strong_count(&s.handle) == 1)
            .map(|(&k, _)| k)
            .collect();
        let closed: Vec<Slot> = idle.iter().filter_map(|k| state.slots.remove(k)).collect();
        state.live -= closed.len();
        self.returned.notify_all();
        drop(state);
        drop(closed);
    }

    /// Handles alive now.
    pub fn live(&self) -> usize {
        self.lock().live
    }

    /// The most handles ever alive at once.
    pub fn peak(&self) -> usize {
        self.lock().peak
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn handle(dir: &std::path::Path, k: usize) -> std::io::Result<Handle> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(k.to_string()))?;
        Ok(Handle {
            file,
            writable: true,
        })
    }

    #[test]
    fn evicts_the_least_recently_used_idle_handle() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::new(2);
        let opens = AtomicUsize::new(0);
        let get = |k| {
            pool.get(k, || {
                opens.fetch_add(1, Ordering::Relaxed);
                handle(dir.path(), k)
            })
            .unwrap()
        };
        drop(get(1));
        drop(get(2));
        drop(get(1)); // 1 is now more recent than 2
        drop(get(3)); // evicts 2
        assert_eq!(opens.load(Ordering::Relaxed), 3);
        drop(get(1));
        assert_eq!(opens.load(Ordering::Relaxed), 3, "1 stayed open");
        drop(get(2));
        assert_eq!(opens.load(Ordering::Relaxed), 4, "2 was evicted");
        assert_eq!((pool.live(), pool.peak()), (2, 2));
        pool.close_idle();
        assert_eq!(pool.live(), 0);
    }

    #[test]
    fn busy_handles_are_never_evicted_and_the_bound_holds_under_contention() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::new(3);
        let held = pool.get(0, || handle(dir.path(), 0)).unwrap();
        std::thread::scope(|s| {
            for t in 0..8 {
                let pool = &pool;
                let dir = dir.path();
                s.spawn(move || {
                    for i in 0..200 {
                        let k = 1 + (t * 7 + i) % 10;
                        let h = pool.get(k, || handle(dir, k)).unwrap();
                        assert!(h.writable);
                        assert!(pool.live() <= 3);
                    }
                });
            }
        });
        // File 0 was held the whole time: still the same open handle.
        let again = pool
            .get(0, || -> std::io::Result<Handle> { panic!("0 was evicted") })
            .unwrap();
        drop((held, again));
        assert!(pool.peak() <= 3, "peak {}", pool.peak());
    }

    #[test]
    fn a_failed_open_returns_its_place() {
        let pool = Pool::new(1);
        let e = pool.get(0, || Err::<Handle, _>("no"));
        assert!(e.is_err());
        assert_eq!(pool.live(), 0);
        let dir = tempfile::tempdir().unwrap();
        assert!(pool.get(1, || handle(dir.path(), 1)).is_ok());
    }
}
