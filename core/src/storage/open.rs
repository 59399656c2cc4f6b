//! Opening a torrent's files: [`StorageOptions`], the checks [`Storage::open`] makes before
//! it creates or resizes anything (links, non-files, longer files, and with
//! [`StorageOptions::existing_files_only`] missing or resized files), and the handles opened on
//! demand afterwards, through the bounded pool, always by walking the path without following
//! links.

use super::error::{Op, StorageError};
use super::layout::file_slots;
use super::{fs, pool, Storage};
use crate::metainfo::Info;
use crate::piece::Layout;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// Default bound on open file handles per torrent.
pub const DEFAULT_MAX_OPEN_FILES: usize = 128;

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

/// What [`Storage::open`] found on disk for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Missing,
    Size(u64),
}

impl Storage {
    /// Prepares `info`'s files in `folder`: checks what is on disk (links, non-files, longer
    /// files are refused before anything is touched), then creates folders and missing files
    /// and extends short ones, sparse. See the [module documentation](super) for the
    /// rules.
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
        let storage = Storage {
            layout,
            folder: folder.to_path_buf(),
            root,
            files: file_slots(info, folder)?,
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

    /// How many file handles are open now, the most ever open at once, and the bound.
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

    /// The pool's handle for file `i`, opened (read-write, else read-only) if needed.
    pub(super) fn handle(&self, i: usize) -> Result<pool::Lent<'_>, StorageError> {
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

    /// Takes the walk lock (see `Storage::walk_lock`).
    pub(super) fn walking(&self) -> std::sync::MutexGuard<'_, ()> {
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
    pub(super) fn stat_file(&self, i: usize) -> Result<Option<fs::Stat>, StorageError> {
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
