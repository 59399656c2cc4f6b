//! Checking every piece on disk against the torrent's hashes, on several threads.
//!
//! As in torrent creation: threads take batches of consecutive pieces (about 4 MiB) and stream
//! each piece through SHA-1 with a buffer of at most 1 MiB, so memory stays bounded whatever the
//! torrent's size. Pieces whose bytes cannot be on disk (a missing file, a file shorter than
//! the piece needs, or bytes storage itself created as a sparse hole and never wrote) are
//! marked absent without reading. Progress is reported on the caller's thread, which may cancel.

use super::{segments, PieceHasher, Storage, StorageError};
use crate::piece::{Bitfield, PieceIndex};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Bytes of consecutive pieces a thread takes at a time.
const BATCH_BYTES: u64 = 4 << 20;
/// Largest read while checking.
const READ_BYTES: u64 = 1 << 20;
/// How often, at most, progress is reported.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

type BatchResult = Result<(u32, Vec<bool>), StorageError>;

struct Work<'s> {
    storage: &'s Storage,
    select: &'s (dyn Fn(PieceIndex) -> bool + Sync),
    /// Per file: bytes from the start that may hold data now.
    available: Vec<u64>,
    pieces_per_batch: u32,
    batches: u32,
    next_batch: AtomicU32,
    done: AtomicU32,
    stop: AtomicBool,
}

impl Storage {
    /// Hashes every piece whose bytes can be on disk and returns the pieces that match.
    ///
    /// `progress(done, total)` (in pieces) is called on this thread once before any work, about
    /// every 100 ms, and once at the end; returning `false` (before the end) cancels, and
    /// `check_all` returns [`StorageError::Cancelled`]. An I/O error other than missing data
    /// stops the check.
    pub fn check_all(
        &self,
        mut progress: impl FnMut(u32, u32) -> bool,
    ) -> Result<Bitfield, StorageError> {
        self.check_selected(&|_| true, &mut progress)
    }

    /// Like [`Storage::check_all`], for the pieces `select` picks (the others are absent).
    pub(super) fn check_selected(
        &self,
        select: &(dyn Fn(PieceIndex) -> bool + Sync),
        progress: &mut dyn FnMut(u32, u32) -> bool,
    ) -> Result<Bitfield, StorageError> {
        // Fresh handles, so a file replaced on disk is read as it is now.
        self.pool.close_idle();
        let available = (0..self.files.len())
            .map(|i| self.available(i))
            .collect::<Result<Vec<_>, _>>()?;
        let total = self.layout.piece_count();
        if !progress(0, total) {
            return Err(StorageError::Cancelled);
        }
        let pieces_per_batch = (BATCH_BYTES / self.layout.piece_length()).clamp(1, 1 << 20) as u32;
        let work = Work {
            storage: self,
            select,
            available,
            pieces_per_batch,
            batches: total.div_ceil(pieces_per_batch),
            next_batch: AtomicU32::new(0),
            done: AtomicU32::new(0),
            stop: AtomicBool::new(false),
        };
        let threads = match self.options.check_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .clamp(1, work.batches as usize);

        let mut have = Bitfield::empty(&self.layout);
        let mut failure = None;
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<BatchResult>();
            for _ in 0..threads {
                let tx = tx.clone();
                let work = &work;
                scope.spawn(move || work.run(tx));
            }
            drop(tx);
            let mut last_report = Instant::now();
            loop {
                match rx.recv_timeout(PROGRESS_INTERVAL) {
                    Ok(Ok((batch, results))) => {
                        let first = batch * pieces_per_batch;
                        for (k, ok) in results.into_iter().enumerate() {
                            if ok {
                                if let Some(p) = self.layout.piece(first + k as u32) {
                                    have.set(p);
                                }
                            }
                        }
                    }
                    Ok(Err(e)) => {
                        work.stop.store(true, Ordering::Relaxed);
                        failure.get_or_insert(e);
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                if failure.is_none() && last_report.elapsed() >= PROGRESS_INTERVAL {
                    last_report = Instant::now();
                    if !progress(work.done.load(Ordering::Relaxed), total) {
                        work.stop.store(true, Ordering::Relaxed);
                        failure = Some(StorageError::Cancelled);
                    }
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        progress(total, total);
        Ok(have)
    }

    /// Bytes of file `i`, from its start, that may hold torrent data now.
    pub(super) fn available(&self, i: usize) -> Result<u64, StorageError> {
        let f = &self.files[i];
        if !f.stores_data() {
            return Ok(f.length);
        }
        let on_disk = self.stat_file(i)?.map_or(0, |st| st.size);
        Ok(on_disk
            .min(f.data_len.load(Ordering::Relaxed))
            .min(f.length))
    }

    /// Whether every byte of `piece` can be on disk, given what each file holds.
    pub(super) fn piece_possible(&self, piece: PieceIndex, available: &[u64]) -> bool {
        let offset = self.layout.piece_offset(piece);
        let size = u64::from(self.layout.piece_size(piece));
        segments(&self.files, offset, size).all(|s| s.at + s.len as u64 <= available[s.file])
    }
}

impl Work<'_> {
    fn run(&self, tx: mpsc::Sender<BatchResult>) {
        let buf_len = self.storage.layout.piece_length().min(READ_BYTES) as usize;
        let mut buf = Vec::new();
        while !self.stop.load(Ordering::Relaxed) {
            let batch = self.next_batch.fetch_add(1, Ordering::Relaxed);
            if batch >= self.batches {
                return;
            }
            let result = self
                .check_batch(batch, &mut buf, buf_len)
                .map(|r| (batch, r));
            let failed = result.is_err();
            if tx.send(result).is_err() || failed {
                return;
            }
        }
    }

    fn check_batch(
        &self,
        batch: u32,
        buf: &mut Vec<u8>,
        buf_len: usize,
    ) -> Result<Vec<bool>, StorageError> {
        let s = self.storage;
        let first = batch * self.pieces_per_batch;
        let last = (first + self.pieces_per_batch).min(s.layout.piece_count());
        let mut results = Vec::with_capacity((last - first) as usize);
        for p in (first..last).filter_map(|i| s.layout.piece(i)) {
            if self.stop.load(Ordering::Relaxed) {
                return Err(StorageError::Cancelled);
            }
            let ok = if (self.select)(p) && s.piece_possible(p, &self.available) {
                if buf.is_empty() {
                    buf.resize(buf_len, 0);
                }
                match s.hash_with(p, PieceHasher::default(), buf) {
                    Ok(hash) => hash[..] == s.expected(p)[..],
                    Err(e) if e.is_missing_data() => false,
                    Err(e) => return Err(e),
                }
            } else {
                false
            };
            results.push(ok);
            self.done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(results)
    }
}
