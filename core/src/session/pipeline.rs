//! The block pipeline: what happens to a block between a peer's socket and the verdict on its
//! piece, and to a block a peer asks us for.
//!
//! ```text
//!  peer task            torrent actor                     disk thread       hash thread
//!  ---------            -------------                     -----------       -----------
//!  socket -> codec -> Input::Messages
//!                     machine.on_messages
//!                       Piece we asked for: picker
//!                       marks it, Action::Write     -> write_block ----> feed the piece's
//!                       (batched per input batch)      (page cache)      running SHA-1
//!                                                                        Input::Written
//!                     machine.on_written  <------------------------------------'
//!                       the piece's last block:
//!                       Action::Verify  ------------------------------>  hash the rest,
//!                                                                        compare
//!                     machine.on_checked  <---------------- Input::Checked ---'
//!                       pass: `have` to peers, Action::Writeback -> start_writeback
//!                       fail: the piece is fetched again; one sender -> banned;
//!                             several -> Action::HashBlocks -> hash each block on disk,
//!                             compared once the piece passes ("smart ban")
//!
//!  Input::Messages    Request: Action::Read (batched) -> read_blocks (one pread per run of
//!                     machine.on_read <- Input::Read <-'  adjacent blocks) -> Piece to peer
//! ```
//!
//! Blocks go to the disk thread in batches (one hand-off per input batch, not per block), and
//! the disk thread hands each batch on to the hash thread, which reports it `Written`. Both
//! threads run jobs in order, so a piece is verified only after every one of its blocks went
//! through both, and a discarded hash runs before any block of the next attempt. The bytes
//! handed over and not yet reported bound the memory held ([`super::machine`] stops
//! requesting past a limit).

use super::channel::{Input, SharedError, Written};
use super::worker::Worker;
use crate::buffers::BufferPool;
use crate::metainfo::InfoHash;
use crate::piece::picker::PeerKey;
use crate::piece::{Bitfield, BlockRef, Layout, PieceIndex, BLOCK_SIZE};
use crate::storage::{PieceHasher, Storage};
use rustc_hash::FxHashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The disk thread's state.
struct Disk {
    storage: Arc<Storage>,
    buffers: Arc<BufferPool>,
}

/// The hash thread's state: the pieces being downloaded, hashed so far.
struct Hashing {
    storage: Arc<Storage>,
    pieces: FxHashMap<PieceIndex, PieceHasher>,
}

/// A torrent's disk and hash threads; results come back to the actor's inbox.
pub(super) struct Pipeline {
    disk: Worker<Disk>,
    hasher: Worker<Hashing>,
    inbox: mpsc::Sender<Input>,
    info_hash: InfoHash,
    layout: Layout,
}

fn shared(e: crate::storage::StorageError) -> SharedError {
    Arc::new(e.into())
}

impl Pipeline {
    pub fn start(
        storage: Arc<Storage>,
        buffers: Arc<BufferPool>,
        inbox: mpsc::Sender<Input>,
        info_hash: InfoHash,
    ) -> Pipeline {
        let layout = storage.layout();
        Pipeline {
            disk: Worker::start(
                "bittern-disk",
                Disk {
                    storage: storage.clone(),
                    buffers,
                },
            ),
            hasher: Worker::start(
                "bittern-hash",
                Hashing {
                    storage,
                    pieces: FxHashMap::default(),
                },
            ),
            inbox,
            info_hash,
            layout,
        }
    }

    /// Writes the blocks, then feeds them to their pieces' hashes, then reports them
    /// [`Input::Written`].
    pub fn write(&self, blocks: Vec<(BlockRef, bytes::Bytes)>) {
        let (inbox, hasher) = (self.inbox.clone(), self.hasher.clone());
        self.disk.run(move |Disk { storage, .. }| {
            let results: Vec<_> = blocks
                .iter()
                .map(|(b, data)| storage.write_block(b.piece, b.begin, data).map_err(shared))
                .collect();
            hasher.run(move |h| {
                let mut written = Vec::with_capacity(blocks.len());
                for ((b, data), result) in blocks.into_iter().zip(results) {
                    if result.is_ok() {
                        h.pieces.entry(b.piece).or_default().feed(b.begin, &data);
                    }
                    written.push(Written {
                        piece: b.piece,
                        length: b.length,
                        result,
                    });
                }
                let _ = inbox.blocking_send(Input::Written(written));
            });
        });
    }

    /// Finishes the piece's hash (reading back what was not hashed on the way) and reports
    /// [`Input::Checked`].
    pub fn verify(&self, piece: PieceIndex) {
        let inbox = self.inbox.clone();
        self.hasher.run(move |h| {
            let hashed = h.pieces.remove(&piece).unwrap_or_default();
            let result = h.storage.verify_hashed(piece, hashed).map_err(shared);
            let _ = inbox.blocking_send(Input::Checked { piece, result });
        });
    }

    /// Forgets what was hashed of the piece (a write failed; it is fetched again).
    pub fn discard(&self, piece: PieceIndex) {
        self.hasher.run(move |h| {
            h.pieces.remove(&piece);
        });
    }

    /// Reads the blocks peers asked for (a run of adjacent blocks at once) and reports them
    /// together, [`Input::Read`].
    pub fn read(&self, blocks: Vec<(PeerKey, BlockRef)>) {
        let inbox = self.inbox.clone();
        self.disk.run(move |Disk { storage, buffers }| {
            let mut read = Vec::with_capacity(blocks.len());
            storage.read_blocks(buffers, blocks, |peer, block, result| {
                let result = result.map_err(|e| shared(e.clone()));
                read.push((peer, block, result));
            });
            let _ = inbox.blocking_send(Input::Read(read));
        });
    }

    /// Hashes each block of the piece as it is on disk and reports [`Input::BlockHashes`].
    pub fn hash_blocks(&self, piece: PieceIndex, passed: bool) {
        let (inbox, layout) = (self.inbox.clone(), self.layout);
        self.disk.run(move |Disk { storage, .. }| {
            use sha1::{Digest, Sha1};
            let hashes = (0..layout.block_count(piece))
                .filter_map(|b| {
                    let begin = b * BLOCK_SIZE;
                    let data = storage
                        .read_block(piece, begin, layout.block_size(piece, b))
                        .ok()?;
                    Some((begin, Sha1::digest(&data).into()))
                })
                .collect();
            let _ = inbox.blocking_send(Input::BlockHashes {
                piece,
                passed,
                hashes,
            });
        });
    }

    /// Starts writing a verified piece to disk, so the data flows during the download rather
    /// than all at the sync at its end.
    pub fn writeback(&self, piece: PieceIndex) {
        self.disk
            .run(move |Disk { storage, .. }| storage.start_writeback(piece));
    }

    /// Records `have` in the fast resume file, after the blocks handed over before it (it
    /// syncs the files first, so no piece is recorded before its bytes are on disk). A failure
    /// only means a longer check at the next start; it is logged.
    pub fn save_resume(&self, have: Bitfield) {
        let info_hash = self.info_hash;
        self.disk.run(move |Disk { storage, .. }| {
            if let Err(e) = storage.save_resume(&info_hash, &have) {
                tracing::warn!(%info_hash, error = %e, "saving the resume file failed");
            }
        });
    }

    /// [`save_resume`](Self::save_resume), waiting for it and saying how it went.
    pub async fn save_resume_and_wait(&self, have: Bitfield) -> Result<(), SharedError> {
        let info_hash = self.info_hash;
        let (done, saved) = oneshot::channel();
        self.disk.run(move |Disk { storage, .. }| {
            let _ = done.send(storage.save_resume(&info_hash, &have).map_err(shared));
        });
        saved.await.unwrap_or(Ok(()))
    }
}
