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

mod check;
mod fs;
mod pool;
mod resume;

pub use resume::{FileStamp, InvalidResumeData, ResumeData, ResumeStatus};

use crate::buffers::{BufferPool, BUFFER_SIZE};
use crate::metainfo::Info;
use crate::piece::{BlockRef, Layout, PieceIndex};
use sha1::{Digest, Sha1};
use std::ffi::{CString, OsStr};
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Default bound on open file handles per torrent.
pub const DEFAULT_MAX_OPEN_FILES: usize = 128;

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

/// What storage was doing when an I/O error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    CreateFolder,
    OpenFolder,
    Open,
    Stat,
    Resize,
    Read,
    Write,
    Sync,
    SaveResume,
    LoadResume,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::CreateFolder => "create folder",
            Op::OpenFolder => "open folder",
            Op::Open => "open",
            Op::Stat => "stat",
            Op::Resize => "resize",
            Op::Read => "read",
            Op::Write => "write",
            Op::Sync => "sync",
            Op::SaveResume => "save resume data to",
            Op::LoadResume => "load resume data from",
        })
    }
}

/// Why storage failed. Every variant about a file names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The system refused an operation on `path`.
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: Op,
        path: PathBuf,
        source: io::Error,
    },
    /// A symbolic link stands where a folder or file of the torrent should be.
    #[error("{path} is a symbolic link; bittern never follows links inside the download folder")]
    Symlink { path: PathBuf },
    /// Something other than a regular file stands where a file of the torrent should be.
    #[error("{path} is not a regular file")]
    NotAFile { path: PathBuf },
    /// Something other than a folder stands where a folder of the torrent should be.
    #[error("{path} is not a folder")]
    NotAFolder { path: PathBuf },
    /// Opening only existing files ([`StorageOptions::existing_files_only`]): a file of the
    /// torrent is not there.
    #[error("{path}: missing (the torrent has it); the original data is never added to")]
    MissingFile { path: PathBuf },
    /// Opening only existing files: a file's size is not the torrent's.
    #[error(
        "{path}: {found} bytes, but {expected} in the torrent (it changed since the torrent \
         was made); the original data is never resized"
    )]
    WrongSize {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    /// A file on disk is longer than the torrent says; it was left untouched.
    #[error(
        "{path} holds {found} bytes but the torrent says {expected}; \
         it is left untouched (open with LongerFiles::Truncate to cut it)"
    )]
    LongerFile {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    /// A block that does not lie inside its piece (or a piece of another torrent).
    #[error("piece {piece}: bytes {begin}..{end} are not inside the piece")]
    OutOfRange { piece: u32, begin: u64, end: u64 },
    /// The layout given to [`Storage::open`] is not the torrent's.
    #[error("the layout does not match the torrent")]
    LayoutMismatch,
    /// The caller cancelled a check: the `progress` callback of [`Storage::check_all`] or
    /// [`Storage::resume`] returned `false`.
    #[error("cancelled")]
    Cancelled,
}

impl StorageError {
    fn io(op: Op, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The path involved, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            StorageError::Io { path, .. }
            | StorageError::Symlink { path }
            | StorageError::NotAFile { path }
            | StorageError::NotAFolder { path }
            | StorageError::MissingFile { path }
            | StorageError::WrongSize { path, .. }
            | StorageError::LongerFile { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Whether this says the data is simply not there (a missing or short file): a piece that
    /// cannot be read this way is a piece we do not have, not a failure of the disk.
    pub fn is_missing_data(&self) -> bool {
        match self {
            StorageError::Io {
                op: Op::Read | Op::Open,
                source,
                ..
            } => matches!(
                source.kind(),
                io::ErrorKind::UnexpectedEof | io::ErrorKind::NotFound
            ),
            _ => false,
        }
    }
}

/// What to do with a file on disk that is longer than the torrent says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LongerFiles {
    /// Refuse to open the torrent ([`StorageError::LongerFile`]); touch nothing.
    #[default]
    Refuse,
    /// Cut the file to the torrent's length (only once the user agreed).
    Truncate,
}

/// How a [`Storage`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageOptions {
    /// Most file handles open at once (default [`DEFAULT_MAX_OPEN_FILES`]; 0 counts as 1).
    pub max_open_files: usize,
    pub longer_files: LongerFiles,
    /// Threads hashing in [`Storage::check_all`]; 0 means one per core.
    pub check_threads: usize,
    /// Folder of resume files; by default `<folder>/.bittern`, reached without following links.
    pub resume_dir: Option<PathBuf>,
    /// Open the files as they are, for seeding from the original data: the folder and every
    /// file must exist at the torrent's sizes ([`StorageError::MissingFile`],
    /// [`StorageError::WrongSize`]), and nothing is created, truncated or resized.
    pub existing_files_only: bool,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            max_open_files: DEFAULT_MAX_OPEN_FILES,
            longer_files: LongerFiles::Refuse,
            check_threads: 0,
            resume_dir: None,
            existing_files_only: false,
        }
    }
}

/// Counters about open files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageStats {
    /// File handles open now.
    pub open_files: usize,
    /// The most file handles ever open at once.
    pub peak_open_files: usize,
    /// The bound ([`StorageOptions::max_open_files`]).
    pub max_open_files: usize,
}

/// One file of the torrent, as storage sees it.
#[derive(Debug)]
struct FileSlot {
    /// Path components below the folder.
    names: Box<[CString]>,
    /// `folder` joined with the relative path (for messages).
    path: PathBuf,
    offset: u64,
    length: u64,
    padding: bool,
    /// Bytes from the start that may hold torrent data: what the file held when storage
    /// opened it, or all of it once written to. [`Storage::check_all`] reads nothing past it.
    data_len: AtomicU64,
    /// Written since its last sync.
    dirty: AtomicBool,
}

impl FileSlot {
    fn stores_data(&self) -> bool {
        !self.padding && self.length > 0
    }
}

/// A stretch of one file inside a range of the torrent's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    file: usize,
    /// Offset in the file.
    at: u64,
    len: usize,
    /// Offset in the range (the caller's buffer).
    buf: usize,
}

/// The pieces of `offset..offset + len` in each file, in order, skipping zero-length files.
fn segments(files: &[FileSlot], offset: u64, len: u64) -> impl Iterator<Item = Segment> + '_ {
    let mut i = files
        .partition_point(|f| f.offset <= offset)
        .saturating_sub(1);
    let end = offset + len;
    let mut at = offset;
    std::iter::from_fn(move || {
        while at < end {
            let f = files.get(i)?;
            let in_file = at - f.offset;
            if in_file >= f.length {
                i += 1;
                continue;
            }
            let n = (f.length - in_file).min(end - at);
            let seg = Segment {
                file: i,
                at: in_file,
                len: n as usize,
                buf: (at - offset) as usize,
            };
            at += n;
            return Some(seg);
        }
        None
    })
}

/// What [`Storage::open`] found on disk for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Missing,
    Size(u64),
}

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
    /// Prepares `info`'s files in `folder`: checks what is on disk (links, non-files, longer
    /// files are refused before anything is touched), then creates folders and missing files
    /// and extends short ones, sparse. See the [module documentation](self) for the rules.
    pub fn open(
        info: &Info,
        layout: Layout,
        folder: &Path,
        options: StorageOptions,
    ) -> Result<Storage, StorageError> {
        if layout.piece_length() != info.piece_length()
            || layout.total_length() != info.total_length()
            || layout.piece_count() as usize != info.piece_count()
        {
            return Err(StorageError::LayoutMismatch);
        }
        if !options.existing_files_only {
            std::fs::create_dir_all(folder)
                .map_err(|e| StorageError::io(Op::CreateFolder, folder, e))?;
        }
        let root =
            fs::open_folder(folder).map_err(|e| StorageError::io(Op::OpenFolder, folder, e))?;
        let mut files = Vec::with_capacity(info.files().len());
        for f in info.files() {
            let path = folder.join(f.relative_path());
            let names = f
                .components()
                .map(|c| CString::new(c).map_err(|_| StorageError::NotAFile { path: path.clone() }))
                .collect::<Result<Box<[CString]>, _>>()?;
            files.push(FileSlot {
                names,
                path,
                offset: f.offset(),
                length: f.length(),
                padding: f.attr().is_some_and(|a| a.contains(&b'p')),
                data_len: AtomicU64::new(0),
                dirty: AtomicBool::new(false),
            });
        }
        let storage = Storage {
            layout,
            folder: folder.to_path_buf(),
            root,
            files: files.into_boxed_slice(),
            hashes: info.pieces().into(),
            pool: pool::Pool::new(options.max_open_files),
            options,
            save_lock: Mutex::new(()),
            walk_lock: Mutex::new(()),
        };
        let found = (0..storage.files.len())
            .map(|i| {
                storage
                    .inspect(i)
                    .and_then(|found| storage.accept(i, found))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (i, found) in found.into_iter().enumerate() {
            storage.prepare(i, found)?;
        }
        Ok(storage)
    }

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

    pub fn stats(&self) -> StorageStats {
        StorageStats {
            open_files: self.pool.live(),
            peak_open_files: self.pool.peak(),
            max_open_files: self.pool.capacity(),
        }
    }

    /// Closes every file handle not in use (they reopen on demand).
    pub fn close_idle_files(&self) {
        self.pool.close_idle();
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

    fn expected(&self, piece: PieceIndex) -> &[u8] {
        &self.hashes[piece.as_usize() * 20..piece.as_usize() * 20 + 20]
    }

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

    /// Streams the piece through SHA-1 using `buf` (not empty).
    /// Finishes `hasher`'s SHA-1 of `piece` with the bytes it has not seen, read through `buf`.
    fn hash_with(
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

    /// The pool's handle for file `i`, opened (read-write, else read-only) if needed.
    fn handle(&self, i: usize) -> Result<pool::Lent<'_>, StorageError> {
        self.pool.get(i, || {
            let _walking = self.walking();
            let f = &self.files[i];
            let (name, dirs) = f.names.split_last().expect("paths are not empty");
            let dir = self.walk(i, dirs, true)?;
            let dir = self.dir_fd(&dir);
            match fs::open_file(dir, name, fs::Mode::ReadWriteCreate) {
                Ok(file) => Ok(pool::Handle {
                    file,
                    writable: true,
                }),
                Err(fs::Failure::Io(e, _)) if is_permission(&e) => {
                    fs::open_file(dir, name, fs::Mode::ReadOnly)
                        .map(|file| pool::Handle {
                            file,
                            writable: false,
                        })
                        .map_err(|failure| self.failure(i, f.names.len(), failure, Op::Open))
                }
                Err(failure) => Err(self.failure(i, f.names.len(), failure, Op::Open)),
            }
        })
    }

    fn walking(&self) -> std::sync::MutexGuard<'_, ()> {
        self.walk_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn dir_fd<'a>(&'a self, dir: &'a Option<OwnedFd>) -> BorrowedFd<'a> {
        dir.as_ref().map_or(self.root.as_fd(), |d| d.as_fd())
    }

    /// Walks file `i`'s folders `dirs` from the download folder.
    fn walk(
        &self,
        i: usize,
        dirs: &[CString],
        create: bool,
    ) -> Result<Option<OwnedFd>, StorageError> {
        fs::walk(self.root.as_fd(), dirs, create)
            .map_err(|e| self.failure(i, e.depth, e.failure, Op::Open))
    }

    /// The path of file `i`'s first `depth` components.
    fn partial_path(&self, i: usize, depth: usize) -> PathBuf {
        let mut p = self.folder.clone();
        for c in &self.files[i].names[..depth] {
            p.push(OsStr::from_bytes(c.as_bytes()));
        }
        p
    }

    fn failure(&self, i: usize, depth: usize, failure: fs::Failure, op: Op) -> StorageError {
        let path = self.partial_path(i, depth);
        match failure {
            fs::Failure::Symlink => StorageError::Symlink { path },
            fs::Failure::NotFile => StorageError::NotAFile { path },
            fs::Failure::NotDirectory => StorageError::NotAFolder { path },
            fs::Failure::Missing => StorageError::io(op, path, io::ErrorKind::NotFound.into()),
            fs::Failure::Io(e, true) => StorageError::io(Op::CreateFolder, path, e),
            fs::Failure::Io(e, false) => StorageError::io(op, path, e),
        }
    }

    /// The state of file `i` on disk (`None`: missing, or not a regular file) without
    /// creating anything.
    fn stat_file(&self, i: usize) -> Result<Option<fs::Stat>, StorageError> {
        let f = &self.files[i];
        let (name, dirs) = f.names.split_last().expect("paths are not empty");
        let _walking = self.walking();
        let dir = match fs::walk(self.root.as_fd(), dirs, false) {
            Ok(dir) => dir,
            Err(_) => return Ok(None),
        };
        match fs::stat_at(self.dir_fd(&dir), name) {
            Ok(Some(st)) if st.kind == fs::Kind::File => Ok(Some(st)),
            Ok(_) => Ok(None),
            Err(e) => Err(StorageError::io(Op::Stat, &f.path, e)),
        }
    }

    /// What stands on disk for file `i`; refuses links, non-files and (unless allowed) longer
    /// files. Creates nothing.
    fn inspect(&self, i: usize) -> Result<Found, StorageError> {
        let f = &self.files[i];
        if f.padding {
            return Ok(Found::Size(f.length));
        }
        let (name, dirs) = f.names.split_last().expect("paths are not empty");
        let _walking = self.walking();
        let dir = match fs::walk(self.root.as_fd(), dirs, false) {
            Ok(dir) => dir,
            Err(fs::WalkError {
                failure: fs::Failure::Missing,
                ..
            }) => return Ok(Found::Missing),
            Err(e) => return Err(self.failure(i, e.depth, e.failure, Op::Open)),
        };
        let st = fs::stat_at(self.dir_fd(&dir), name)
            .map_err(|e| StorageError::io(Op::Stat, &f.path, e))?;
        match st {
            None => Ok(Found::Missing),
            Some(st) => match st.kind {
                fs::Kind::File => {
                    // With existing files only, a longer one is a wrong size (see `accept`).
                    if st.size > f.length
                        && self.options.longer_files == LongerFiles::Refuse
                        && !self.options.existing_files_only
                    {
                        return Err(StorageError::LongerFile {
                            path: f.path.clone(),
                            expected: f.length,
                            found: st.size,
                        });
                    }
                    Ok(Found::Size(st.size))
                }
                fs::Kind::Symlink => Err(StorageError::Symlink {
                    path: f.path.clone(),
                }),
                fs::Kind::Dir => Err(StorageError::NotAFile {
                    path: f.path.clone(),
                }),
                fs::Kind::Other => Err(StorageError::NotAFile {
                    path: f.path.clone(),
                }),
            },
        }
    }

    /// What was found of file `i`, if the options allow it to be prepared.
    fn accept(&self, i: usize, found: Found) -> Result<Found, StorageError> {
        let f = &self.files[i];
        if !self.options.existing_files_only || found == Found::Size(f.length) {
            return Ok(found);
        }
        let path = f.path.clone();
        Err(match found {
            Found::Missing => StorageError::MissingFile { path },
            Found::Size(found) => StorageError::WrongSize {
                path,
                expected: f.length,
                found,
            },
        })
    }

    /// Creates or resizes file `i` as [`Storage::inspect`] found it; records what may hold data.
    fn prepare(&self, i: usize, found: Found) -> Result<(), StorageError> {
        let f = &self.files[i];
        if f.padding {
            f.data_len.store(f.length, Ordering::Relaxed);
            return Ok(());
        }
        if found == Found::Size(f.length) {
            f.data_len.store(f.length, Ordering::Relaxed);
            return Ok(());
        }
        let (name, dirs) = f.names.split_last().expect("paths are not empty");
        let _walking = self.walking();
        let dir = self.walk(i, dirs, true)?;
        let file = fs::open_file(self.dir_fd(&dir), name, fs::Mode::ReadWriteCreate)
            .map_err(|failure| self.failure(i, f.names.len(), failure, Op::Open))?;
        let size = file
            .metadata()
            .map_err(|e| StorageError::io(Op::Stat, &f.path, e))?
            .len();
        if size > f.length && self.options.longer_files == LongerFiles::Refuse {
            // It grew since it was inspected.
            return Err(StorageError::LongerFile {
                path: f.path.clone(),
                expected: f.length,
                found: size,
            });
        }
        if size != f.length {
            file.set_len(f.length)
                .map_err(|e| StorageError::io(Op::Resize, &f.path, e))?;
        }
        f.data_len.store(size.min(f.length), Ordering::Relaxed);
        Ok(())
    }
}

fn is_permission(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS)
    )
}

#[cfg(test)]
mod tests;
