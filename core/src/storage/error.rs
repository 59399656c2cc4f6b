//! Why storage failed: [`StorageError`], whose every variant about a file names it, and [`Op`],
//! what storage was doing when the system refused. An error keeps its kind, path, operation
//! and OS error until a face translates it (`crate::error` maps each variant to a kind).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

#[cfg(doc)] // for doc links only
use super::{Storage, StorageOptions};

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
    #[error("cannot {op} {path}: {}", crate::error::OsMessage(source))]
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
    /// The layout given to [`Storage::open`], or the bitfield given to
    /// [`Storage::save_resume`], does not fit the torrent.
    #[error("the layout does not match the torrent")]
    LayoutMismatch,
    /// The caller cancelled a check: the `progress` callback of [`Storage::check_all`] or
    /// [`Storage::resume`] returned `false`.
    #[error("cancelled")]
    Cancelled,
}

/// A copy keeps the operation, the path and the OS error number (an error without one keeps
/// its kind and text): a failed read of a run of blocks is reported for each of them.
impl Clone for StorageError {
    fn clone(&self) -> Self {
        use StorageError::*;
        match self {
            Io { op, path, source } => Io {
                op: *op,
                path: path.clone(),
                source: match source.raw_os_error() {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(source.kind(), source.to_string()),
                },
            },
            Symlink { path } => Symlink { path: path.clone() },
            NotAFile { path } => NotAFile { path: path.clone() },
            NotAFolder { path } => NotAFolder { path: path.clone() },
            MissingFile { path } => MissingFile { path: path.clone() },
            WrongSize {
                path,
                expected,
                found,
            } => WrongSize {
                path: path.clone(),
                expected: *expected,
                found: *found,
            },
            LongerFile {
                path,
                expected,
                found,
            } => LongerFile {
                path: path.clone(),
                expected: *expected,
                found: *found,
            },
            OutOfRange { piece, begin, end } => OutOfRange {
                piece: *piece,
                begin: *begin,
                end: *end,
            },
            LayoutMismatch => LayoutMismatch,
            Cancelled => Cancelled,
        }
    }
}

impl StorageError {
    pub(super) fn io(op: Op, path: impl Into<PathBuf>, source: io::Error) -> Self {
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
