//! The parallel pool that hashes pieces, for creating torrents and for checking data on disk.
//!
//! Threads take batches of consecutive pieces (about [`BATCH_BYTES`]) so each streams through
//! its own region of the data, and each piece is read with at most [`READ_BYTES`] per call, so
//! memory stays bounded whatever the data's size. What a batch means (which bytes, which
//! hashes) is the caller's worker; the pool only deals out batches, gathers their results on
//! the caller's thread, reports progress there and stops on the first error or a cancel.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Bytes of consecutive pieces a hashing thread takes at a time.
pub(crate) const BATCH_BYTES: u64 = 4 << 20;
/// Bytes read per call: small enough that what was read is still in cache when hashed. The
/// kernel's copy into the buffer and the hashing that follows both pass through the core's L2;
/// at 1 MiB (the whole of an AMD EPYC core's L2) the buffer is evicted before it is hashed, and
/// the copy cost 1.5 times what it costs at 128 KiB (issue 11: 147 against 99 ms of CPU for
/// 1 GiB, 9% of the whole job's CPU). Below 64 KiB, the calls start to cost more than that.
pub(crate) const READ_BYTES: usize = 128 << 10;
/// How often, at most, progress is reported.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// Most pieces in a batch, for torrents with tiny pieces.
const MAX_PIECES_PER_BATCH: u64 = 1 << 20;

/// The work to share out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) pieces: u64,
    /// Sizes the batches to about [`BATCH_BYTES`].
    pub(crate) piece_length: u64,
    /// 0 means one per core.
    pub(crate) threads: usize,
}

/// What the pool's threads share; a worker sees it to stop early and to count progress.
pub(crate) struct Pool {
    stop: AtomicBool,
    done: AtomicU64,
    next_batch: AtomicU64,
}

impl Pool {
    /// Whether the pool has stopped (an error or a cancel): a worker should give up its batch
    /// with any error, which is dropped.
    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Counts `units` more work done, in whatever unit the progress callback is given.
    pub(crate) fn advance(&self, units: u64) {
        self.done.fetch_add(units, Ordering::Relaxed);
    }
}

/// Runs `work(pool, scratch, first_piece, count)` for every batch of `plan` on the pool's
/// threads and hands each batch's results to `sink(first_piece, results)` on this thread, in
/// no particular order. `scratch` is each thread's own, kept from batch to batch (buffers,
/// open files).
///
/// `progress(done)`, with `done` as counted by [`Pool::advance`], is called on this thread
/// about every 100 ms, the first time 100 ms after the start; returning `false` stops the
/// pool and `run` returns `cancelled()`. Otherwise the first error a worker returns stops the
/// pool and is returned. Reports before the start and at the end are the caller's, whose
/// promises about them differ.
pub(crate) fn run<S, T, E>(
    plan: Plan,
    work: impl Fn(&Pool, &mut S, u64, u64) -> Result<Vec<T>, E> + Sync,
    mut sink: impl FnMut(u64, Vec<T>),
    mut progress: impl FnMut(u64) -> bool,
    cancelled: impl FnOnce() -> E,
) -> Result<(), E>
where
    S: Default,
    T: Send,
    E: Send,
{
    let per_batch = (BATCH_BYTES / plan.piece_length.max(1)).clamp(1, MAX_PIECES_PER_BATCH);
    let batches = plan.pieces.div_ceil(per_batch);
    let threads = match plan.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(usize::try_from(batches).unwrap_or(usize::MAX))
    .max(1);
    let pool = Pool {
        stop: AtomicBool::new(false),
        done: AtomicU64::new(0),
        next_batch: AtomicU64::new(0),
    };
    let mut cancelled = Some(cancelled);
    let mut failure = None;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<Result<(u64, Vec<T>), E>>();
        let mut hashers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let tx = tx.clone();
            let (pool, work) = (&pool, &work);
            hashers.push(scope.spawn(move || {
                let mut scratch = S::default();
                while !pool.stopped() {
                    let batch = pool.next_batch.fetch_add(1, Ordering::Relaxed);
                    if batch >= batches {
                        return;
                    }
                    let first = batch * per_batch;
                    let count = per_batch.min(plan.pieces - first);
                    let result = work(pool, &mut scratch, first, count).map(|r| (first, r));
                    let failed = result.is_err();
                    if tx.send(result).is_err() || failed {
                        return;
                    }
                }
            }));
        }
        drop(tx);
        let mut last_report = Instant::now();
        loop {
            match rx.recv_timeout(PROGRESS_INTERVAL) {
                Ok(Ok((first, results))) => {
                    if failure.is_none() {
                        sink(first, results);
                    }
                }
                Ok(Err(e)) => {
                    pool.stop.store(true, Ordering::Relaxed);
                    failure.get_or_insert(e);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if failure.is_none() && last_report.elapsed() >= PROGRESS_INTERVAL {
                last_report = Instant::now();
                if !progress(pool.done.load(Ordering::Relaxed)) {
                    pool.stop.store(true, Ordering::Relaxed);
                    failure = cancelled.take().map(|c| c());
                }
            }
        }
        // Joined by hand: the scope's own wait ends before the threads have exited, and a
        // thread still exiting when a program ends shows as a leak under valgrind.
        for hasher in hashers {
            if let Err(panic) = hasher.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn plan(pieces: u64, threads: usize) -> Plan {
        Plan {
            pieces,
            piece_length: 1 << 20,
            threads,
        }
    }

    #[test]
    fn every_piece_once_in_batches_of_about_batch_bytes() {
        let mut seen = vec![0u32; 37];
        let counts = AtomicUsize::new(0);
        let work = |pool: &Pool, _: &mut (), first: u64, count: u64| {
            assert!(count <= BATCH_BYTES >> 20);
            counts.fetch_add(1, Ordering::Relaxed);
            pool.advance(count);
            Ok::<_, ()>((first..first + count).collect())
        };
        let sink = |first: u64, got: Vec<u64>| {
            for (k, p) in got.into_iter().enumerate() {
                assert_eq!(p, first + k as u64);
                seen[p as usize] += 1;
            }
        };
        run(plan(37, 3), work, sink, |_| true, || ()).unwrap();
        assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
        assert_eq!(counts.into_inner(), 37usize.div_ceil(4));
    }

    #[test]
    fn the_first_error_is_returned_and_stops_the_others() {
        let work = |pool: &Pool, _: &mut (), first: u64, _| {
            if pool.stopped() {
                return Err("after the stop");
            }
            if first == 8 {
                return Err("batch 2");
            }
            Ok(vec![()])
        };
        let e = run(plan(1 << 16, 2), work, |_, _| {}, |_| true, || "cancelled").unwrap_err();
        assert_eq!(e, "batch 2");
    }

    #[test]
    fn progress_false_cancels() {
        let work = |pool: &Pool, _: &mut (), _, _| {
            std::thread::sleep(Duration::from_millis(20));
            if pool.stopped() {
                return Err("after the stop");
            }
            Ok(vec![()])
        };
        let e = run(plan(1 << 16, 2), work, |_, _| {}, |_| false, || "cancelled").unwrap_err();
        assert_eq!(e, "cancelled");
    }

    #[test]
    fn no_pieces_runs_nothing() {
        let work = |_: &Pool, _: &mut (), _, _| -> Result<Vec<()>, ()> { unreachable!() };
        run(plan(0, 0), work, |_, _| {}, |_| true, || ()).unwrap();
    }
}
