//! Checking every piece on disk against the torrent's hashes, on several threads.
//!
//! As in torrent creation, on the same pool ([`crate::hashing`]): threads take batches of
//! consecutive pieces (about 4 MiB) and stream each piece through SHA-1 with a buffer of at most
//! 128 KiB, so memory stays bounded whatever the torrent's size. Pieces whose bytes cannot be on
//! disk (a missing file, a file shorter than the piece needs, or bytes storage itself created as
//! a sparse hole and never wrote) are marked absent without reading. Progress is reported on
//! the caller's thread, which may cancel.

use super::layout::segments;
use super::{PieceHasher, Storage, StorageError};
use crate::hashing;
use crate::piece::{Bitfield, PieceIndex};
use std::sync::atomic::Ordering;

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
        let plan = hashing::Plan {
            pieces: total.into(),
            piece_length: self.layout.piece_length(),
            threads: self.options.check_threads,
        };
        let mut have = Bitfield::empty(&self.layout);
        hashing::run(
            plan,
            |pool, buf: &mut Vec<u8>, first, count| {
                self.check_batch(select, &available, pool, buf, first as u32, count as u32)
            },
            |first, results| {
                for (k, ok) in results.into_iter().enumerate() {
                    if ok {
                        if let Some(p) = self.layout.piece(first as u32 + k as u32) {
                            have.set(p);
                        }
                    }
                }
            },
            |done| progress(done as u32, total),
            || StorageError::Cancelled,
        )?;
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

    /// Which of `count` pieces from `first` are on disk and match; `buf` is the thread's.
    fn check_batch(
        &self,
        select: &(dyn Fn(PieceIndex) -> bool + Sync),
        available: &[u64],
        pool: &hashing::Pool,
        buf: &mut Vec<u8>,
        first: u32,
        count: u32,
    ) -> Result<Vec<bool>, StorageError> {
        let mut results = Vec::with_capacity(count as usize);
        for p in (first..first + count).filter_map(|i| self.layout.piece(i)) {
            if pool.stopped() {
                return Err(StorageError::Cancelled);
            }
            let ok = if select(p) && self.piece_possible(p, available) {
                if buf.is_empty() {
                    let len = self.layout.piece_length().min(hashing::READ_BYTES as u64);
                    buf.resize(len as usize, 0);
                }
                match self.hash_with(p, PieceHasher::default(), buf) {
                    Ok(hash) => hash[..] == self.expected(p)[..],
                    Err(e) if e.is_missing_data() => false,
                    Err(e) => return Err(e),
                }
            } else {
                false
            };
            results.push(ok);
            pool.advance(1);
        }
        Ok(results)
    }
}
