//! One piece against the torrent's hash: [`Storage::verify_piece`] reads the piece back and
//! hashes it, [`Storage::verify_hashed`] finishes a [`PieceHasher`] that saw the piece's first
//! blocks as they were written and reads only the rest. Checking every piece, on several
//! threads, is in `check.rs`.

use super::{Storage, StorageError};
use crate::piece::PieceIndex;
use sha1::{Digest, Sha1};

/// Largest buffer used to stream a piece through SHA-1.
const HASH_BUFFER: usize = 256 << 10;

/// A piece's SHA-1 taken from memory as its blocks are written, for as long as they come in
/// order (peers mostly send a piece's blocks in the order we asked for them), so that checking
/// a downloaded piece seldom reads it back. [`Storage::verify_hashed`] reads what it missed.
#[derive(Default)]
pub struct PieceHasher {
    sha: Sha1,
    /// Bytes from the piece's start seen so far.
    hashed: u32,
}

impl PieceHasher {
    /// Takes in the block at `begin` if it is the next in order (an out-of-order block is read
    /// back from disk at the end instead).
    pub fn feed(&mut self, begin: u32, data: &[u8]) {
        if begin == self.hashed {
            self.sha.update(data);
            self.hashed = self.hashed.saturating_add(data.len() as u32);
        }
    }
}

impl Storage {
    /// SHA-1 of the piece as it is on disk, streamed through a buffer of at most 256 KiB.
    pub fn hash_piece(&self, piece: PieceIndex) -> Result<[u8; 20], StorageError> {
        let size = self.piece_size(piece)?;
        let mut buf = vec![0; (size as usize).min(HASH_BUFFER)];
        self.hash_with(piece, PieceHasher::default(), &mut buf)
    }

    /// Whether the piece on disk matches the torrent's hash. A missing or short file gives
    /// `false`; other I/O errors are errors.
    pub fn verify_piece(&self, piece: PieceIndex) -> Result<bool, StorageError> {
        self.verify_hashed(piece, PieceHasher::default())
    }

    /// [`Storage::verify_piece`] for a piece whose first bytes `hasher` has seen as they were
    /// written: only the rest is read back.
    pub fn verify_hashed(
        &self,
        piece: PieceIndex,
        hasher: PieceHasher,
    ) -> Result<bool, StorageError> {
        let size = self.piece_size(piece)?;
        let rest = size.saturating_sub(hasher.hashed) as usize;
        let mut buf = vec![0; rest.min(HASH_BUFFER)];
        match self.hash_with(piece, hasher, &mut buf) {
            Ok(hash) => Ok(hash[..] == self.expected(piece)[..]),
            Err(e) if e.is_missing_data() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The torrent's SHA-1 for `piece`.
    pub(super) fn expected(&self, piece: PieceIndex) -> &[u8] {
        &self.hashes[piece.as_usize() * 20..piece.as_usize() * 20 + 20]
    }

    /// Finishes `hasher`'s SHA-1 of `piece` with the bytes it has not seen, read through `buf`
    /// (not empty).
    pub(super) fn hash_with(
        &self,
        piece: PieceIndex,
        hasher: PieceHasher,
        buf: &mut [u8],
    ) -> Result<[u8; 20], StorageError> {
        let size = u64::from(self.piece_size(piece)?);
        let start = self.layout.piece_offset(piece);
        let PieceHasher { mut sha, hashed } = hasher;
        let mut done = u64::from(hashed).min(size);
        while done < size {
            let n = (buf.len() as u64).min(size - done) as usize;
            self.read_at(start + done, &mut buf[..n])?;
            sha.update(&buf[..n]);
            done += n as u64;
        }
        Ok(sha.finalize().into())
    }
}
