//! Storage: a torrent's pieces in files on disk.
//!
//! A [`Storage`] maps the torrent's concatenated data onto its files (pieces cross file
//! borders; zero-length files are created and hold no data) and does positioned, blocking I/O
//! (`pread`/`pwrite`, no copy buffers), as rqbit argues: every method blocks, so callers run
//! them where blocking is allowed, never on async workers (the session opens and resumes on
//! the caller's thread, then reads, writes, syncs and hashes on a disk thread and a hash
//! thread per torrent).
//!
//! # Where files go, and what is refused
//! - Files live in `folder` under their validated relative paths (`name` for a single-file
//!   torrent, `name/dir/.../file` for a multi-file one). `folder` is created if missing; links in
//!   the path of `folder` itself are the user's choice and followed.
//! - Below `folder`, nothing is ever opened through a symbolic link: paths are walked with
//!   `openat(O_NOFOLLOW)` from a descriptor of `folder`, so a link (to anywhere, inside or out)
//!   where a folder or file of the torrent should be is refused with [`StorageError::Symlink`],
//!   before anything is created, and stays refused if it appears later. FIFOs, devices and
//!   sockets are refused too ([`StorageError::NotAFile`]). Hard links cannot be told from the
//!   file itself and are written through, as any program writing that path would.
//! - Missing folders are created; missing files are created sparse (`set_len`), files shorter
//!   than the torrent says are extended sparse, their existing bytes kept.
//! - A file longer than the torrent says is refused ([`StorageError::LongerFile`]) and left
//!   untouched, unless the caller opens with [`LongerFiles::Truncate`] (after the user
//!   confirmed): data is never cut without being asked.
//! - BEP 47 padding files (`attr` holds `p`) are never created: they read as zeros and writes
//!   to them are dropped.
//! - All checks run before anything is created: a refused torrent leaves the disk as it was.
//!
//! # Open files
//! At most [`StorageOptions::max_open_files`] handles are open at once (default 128), however
//! many files the torrent has and however many threads do I/O. Besides them a `Storage` holds
//! one descriptor for `folder`, two more while a path is walked (walks take turns), and two
//! while resume data is saved or loaded. See [`Storage::stats`].
//!
//! # Verification, resume, durability
//! [`Storage::verify_piece`] and [`Storage::check_all`] compare with the torrent's hashes;
//! [`Storage::resume`] trusts a saved bitfield when the files are as they were at save time,
//! and checks what it cannot trust. See [`ResumeData`] for the file format and the
//! order of operations that keeps a crash from claiming a piece whose bytes were lost.
//!
//! # Where the code is
//! - this file: the [`Storage`] type, reading and writing blocks, syncing;
//! - `error.rs`: [`StorageError`] and [`Op`];
//! - `layout.rs`: which stretches of which files hold a range of the torrent's data;
//! - `open.rs`: [`StorageOptions`], [`Storage::open`] and opening each file on demand;
//! - `fs.rs`: walking paths below the folder without following links;
//! - `pool.rs`: the bounded pool of open files;
//! - `verify.rs`: one piece against its hash, [`PieceHasher`];
//! - `check.rs`: every piece against its hash, on several threads;
//! - `resume.rs`: saving and loading [`ResumeData`].

mod check;
mod error;
mod fs;
mod layout;
mod open;
mod pool;
mod resume;
mod verify;

pub use error::{Op, StorageError};
pub use open::{LongerFiles, StorageOptions, StorageStats, DEFAULT_MAX_OPEN_FILES};
pub use resume::{FileStamp, InvalidResumeData, ResumeData, ResumeStatus};
pub use verify::PieceHasher;

use crate::buffers::{BufferPool, BUFFER_SIZE};
use crate::piece::{BlockRef, Layout, PieceIndex};
use layout::{segments, FileSlot};
use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// A torrent's data on disk. Shared across threads (`Arc<Storage>`); every method takes
/// `&self`.
pub struct Storage {
    layout: Layout,
    folder: PathBuf,
    root: File,
    files: Box<[FileSlot]>,
    hashes: Box<[u8]>,
    pool: pool::Pool,
    options: StorageOptions,
    /// Serializes resume saves (they share a temporary name).
    save_lock: Mutex<()>,
    /// Held while a path is walked and its file opened or stat'ed, so that at most two folder
    /// descriptors exist at once, whatever the number of threads.
    walk_lock: Mutex<()>,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("folder", &self.folder)
            .field("files", &self.files.len())
            .field("layout", &self.layout)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Storage {
    /// The torrent's pieces, as given to [`Storage::open`].
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The download folder, as given to [`Storage::open`].
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Where file `index` of the torrent lives.
    pub fn file_path(&self, index: usize) -> Option<&Path> {
        self.files.get(index).map(|f| f.path.as_path())
    }

    /// Reads `len` bytes at `begin` in `piece`, across file borders.
    pub fn read_block(
        &self,
        piece: PieceIndex,
        begin: u32,
        len: u32,
    ) -> Result<Vec<u8>, StorageError> {
        // Checked before allocating: `len` may come from a peer.
        let offset = self.block_offset(piece, begin, len as usize)?;
        let mut buf = vec![0; len as usize];
        self.read_at(offset, &mut buf)?;
        Ok(buf)
    }

    /// Reads each of `blocks` and hands it, with its tag, to `each`: one read for each run of
    /// adjacent blocks (peers mostly ask for a piece's blocks in order), of at most 64 KiB,
    /// into a buffer from `buffers`.
    pub fn read_blocks<T>(
        &self,
        buffers: &BufferPool,
        blocks: Vec<(T, BlockRef)>,
        mut each: impl FnMut(T, BlockRef, Result<bytes::Bytes, &StorageError>),
    ) {
        // Checked before anything is allocated: lengths may come from a peer.
        let offset = |b: &BlockRef| self.block_offset(b.piece, b.begin, b.length as usize);
        let mut blocks = blocks.into_iter().peekable();
        while let Some((tag, first)) = blocks.next() {
            let start = match offset(&first) {
                Ok(start) => start,
                Err(e) => {
                    each(tag, first, Err(&e));
                    continue;
                }
            };
            let mut run = vec![(tag, first)];
            let mut end = start + u64::from(first.length);
            while let Some((_, next)) = blocks.peek() {
                match offset(next) {
                    Ok(at)
                        if at == end
                            && at + u64::from(next.length) - start <= BUFFER_SIZE as u64 =>
                    {
                        end += u64::from(next.length);
                        run.extend(blocks.next());
                    }
                    _ => break,
                }
            }
            let mut buf = buffers.take((end - start) as usize);
            buf.resize((end - start) as usize, 0);
            match self.read_at(start, &mut buf) {
                Ok(()) => {
                    let mut data = buf.freeze();
                    for (tag, b) in run {
                        each(tag, b, Ok(data.split_to(b.length as usize)));
                    }
                }
                Err(e) => run.into_iter().for_each(|(tag, b)| each(tag, b, Err(&e))),
            }
        }
    }

    /// Reads `buf.len()` bytes at `begin` in `piece` into `buf`.
    pub fn read_block_into(
        &self,
        piece: PieceIndex,
        begin: u32,
        buf: &mut [u8],
    ) -> Result<(), StorageError> {
        let offset = self.block_offset(piece, begin, buf.len())?;
        self.read_at(offset, buf)
    }

    /// Writes `data` at `begin` in `piece`, across file borders. The bytes reach the page cache;
    /// [`Storage::sync_piece`] makes them durable.
    pub fn write_block(
        &self,
        piece: PieceIndex,
        begin: u32,
        data: &[u8],
    ) -> Result<(), StorageError> {
        let offset = self.block_offset(piece, begin, data.len())?;
        for seg in segments(&self.files, offset, data.len() as u64) {
            let f = &self.files[seg.file];
            if f.padding {
                continue;
            }
            let h = self.handle(seg.file)?;
            if !h.writable {
                let e = io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "the file could only be opened read-only",
                );
                return Err(StorageError::io(Op::Write, &f.path, e));
            }
            h.file
                .write_all_at(&data[seg.buf..seg.buf + seg.len], seg.at)
                .map_err(|e| StorageError::io(Op::Write, &f.path, e))?;
            // After the write: a sync that clears the flag first then syncs covers it.
            f.dirty.store(true, Ordering::Release);
            f.data_len.store(f.length, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The whole piece (its size is bounded by the torrent's piece length).
    pub fn read_piece(&self, piece: PieceIndex) -> Result<Vec<u8>, StorageError> {
        let size = self.piece_size(piece)?;
        self.read_block(piece, 0, size)
    }

    /// Starts writing the piece's bytes to disk without waiting for them, so that the sync
    /// that makes them durable (before the resume file records them) has little left to do.
    /// Errors are left to that sync.
    pub fn start_writeback(&self, piece: PieceIndex) {
        let Ok(size) = self.piece_size(piece) else {
            return;
        };
        for seg in segments(
            &self.files,
            self.layout.piece_offset(piece),
            u64::from(size),
        ) {
            if self.files[seg.file].padding {
                continue;
            }
            if let Ok(h) = self.handle(seg.file) {
                let _ = fs::start_writeback(&h.file, seg.at, seg.len as u64);
            }
        }
    }

    /// Makes the piece's bytes durable (`fdatasync` of each file it touches that was written
    /// since its last sync).
    pub fn sync_piece(&self, piece: PieceIndex) -> Result<(), StorageError> {
        let size = self.piece_size(piece)?;
        let offset = self.layout.piece_offset(piece);
        for seg in segments(&self.files, offset, u64::from(size)) {
            self.sync_file(seg.file)?;
        }
        Ok(())
    }

    /// Makes every byte written so far durable.
    pub fn sync_all(&self) -> Result<(), StorageError> {
        (0..self.files.len()).try_for_each(|i| self.sync_file(i))
    }

    // Internals.

    /// The piece's size, checking that it belongs to this torrent.
    fn piece_size(&self, piece: PieceIndex) -> Result<u32, StorageError> {
        if self.layout.piece(piece.get()).is_none() {
            return Err(StorageError::OutOfRange {
                piece: piece.get(),
                begin: 0,
                end: 0,
            });
        }
        Ok(self.layout.piece_size(piece))
    }

    /// Where a block starts in the torrent's data, if it lies inside its piece.
    fn block_offset(&self, piece: PieceIndex, begin: u32, len: usize) -> Result<u64, StorageError> {
        let size = self.piece_size(piece)?;
        let end = u64::from(begin) + len as u64;
        if end > u64::from(size) {
            return Err(StorageError::OutOfRange {
                piece: piece.get(),
                begin: u64::from(begin),
                end,
            });
        }
        Ok(self.layout.piece_offset(piece) + u64::from(begin))
    }

    /// Reads the torrent's data at `offset` into `buf`, across file borders.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        for seg in segments(&self.files, offset, buf.len() as u64) {
            let f = &self.files[seg.file];
            let dst = &mut buf[seg.buf..seg.buf + seg.len];
            if f.padding {
                dst.fill(0);
                continue;
            }
            let h = self.handle(seg.file)?;
            h.file.read_exact_at(dst, seg.at).map_err(|e| {
                let e = match e.kind() {
                    io::ErrorKind::UnexpectedEof => io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file is shorter than the torrent says",
                    ),
                    _ => e,
                };
                StorageError::io(Op::Read, &f.path, e)
            })?;
        }
        Ok(())
    }

    /// Makes file `i`'s written bytes durable, if it was written since its last sync.
    fn sync_file(&self, i: usize) -> Result<(), StorageError> {
        let f = &self.files[i];
        if !f.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let synced = self.handle(i).and_then(|h| {
            h.file
                .sync_data()
                .map_err(|e| StorageError::io(Op::Sync, &f.path, e))
        });
        if synced.is_err() {
            f.dirty.store(true, Ordering::Release);
        }
        synced
    }
}

#[cfg(test)]
mod tests;
