//! Fast resume: which pieces were verified and durable when the torrent last stopped (the
//! format and the order of operations are documented on [`ResumeData`]).

use super::layout::segments;
use super::{fs, Op, Storage, StorageError};
use crate::bencode::{decode, DecodeOptions, Encoder, Node};
use crate::metainfo::InfoHash;
use crate::piece::{Bitfield, Layout, PieceIndex};
use std::ffi::{CStr, CString};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::PoisonError;

/// The folder resume files go in, below the download folder, by default.
const RESUME_FOLDER: &CStr = c".bittern";

/// A file's size and modification time when resume data was saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    /// Nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
}

/// The content of a resume file: which pieces were verified and durable when the torrent last
/// stopped.
///
/// # The file
/// `<folder>/.bittern/<info-hash in hex>.resume` by default (the `.bittern` folder is reached
/// without following links, like the torrent's files), or `<resume_dir>/<hex>.resume` when
/// [`StorageOptions::resume_dir`](super::StorageOptions::resume_dir) is set. One bencoded
/// dictionary, canonical (keys sorted):
///
/// | key | value |
/// |---|---|
/// | `bitfield` | the verified pieces, BEP 3 bit order, `ceil(pieces / 8)` bytes, spare bits clear |
/// | `file sizes` | one list per file of the torrent, in order: `[size, mtime in ns]` at save time, or `[]` for a file that holds no data (zero-length, padding) or was missing |
/// | `info-hash` | 20 bytes |
/// | `piece count` | integer |
/// | `piece length` | integer |
/// | `version` | 1 |
///
/// It is written atomically: a temporary file in the same folder, `fsync`, `rename`, `fsync` of
/// the folder. Unknown keys are ignored (room to grow); any other deviation makes it invalid.
///
/// # Loading
/// [`Storage::resume`] falls back to [`Storage::check_all`] when the file is missing, cannot
/// be read or parsed, disagrees with the torrent (info-hash, piece length or count, number of
/// files), or claims a piece in a file that was short or missing at save time. When it is
/// sound but some files changed since (size or mtime differ), the pieces touching those files
/// are checked again and the rest of the bitfield is trusted: a piece's bytes live only in the
/// files it touches. When nothing changed, the bitfield is trusted as it is.
///
/// # The order that survives a crash
/// A piece may be in a saved bitfield only once its bytes are on disk. The session does:
/// 1. [`Storage::write_block`] for each block of a piece;
/// 2. [`Storage::verify_piece`]; on success, mark the piece in its bitfield (and announce it);
/// 3. from time to time, and when stopping: [`Storage::save_resume`] with that bitfield.
///
/// `save_resume` first syncs every file written since its last sync ([`Storage::sync_all`]),
/// then records sizes and mtimes, then writes the resume file atomically. So whatever instant a
/// SIGKILL lands: a piece in the saved bitfield was verified before the save began, and its
/// bytes were synced before the resume file existed. Bytes written after the save change their
/// file's mtime, so those files' pieces are checked again at the next start (or re-fetched).
/// [`Storage::sync_piece`] exists for a session that wants a piece durable sooner.
/// One process at a time may use a download folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeData {
    pub info_hash: InfoHash,
    pub piece_length: u64,
    pub piece_count: u32,
    /// The pieces that were verified and durable.
    pub have: Bitfield,
    /// Per file of the torrent, in order; `None` for a file that holds no data or was missing.
    pub files: Vec<Option<FileStamp>>,
}

/// Why resume data was not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid resume data: {reason}")]
pub struct InvalidResumeData {
    pub reason: String,
}

fn invalid(reason: impl Into<String>) -> InvalidResumeData {
    InvalidResumeData {
        reason: reason.into(),
    }
}

/// What [`Storage::resume`] made of the resume file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResumeStatus {
    /// Every file was as saved: the bitfield was trusted without reading any data.
    Trusted,
    /// No resume file: every piece was checked.
    Missing,
    /// The resume file was unreadable, corrupt or inconsistent: every piece was checked.
    Invalid(String),
    /// The resume file is for another torrent: every piece was checked.
    OtherTorrent,
    /// Files changed since the save: the pieces touching them were checked again.
    Stale {
        changed_files: usize,
        rechecked_pieces: u32,
    },
}

impl ResumeData {
    pub const VERSION: i64 = 1;

    /// The bencoded file content.
    pub fn to_bytes(&self) -> Vec<u8> {
        let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut e = Encoder::with_capacity(64 + self.have.as_bytes().len() + 48 * self.files.len());
        e.begin_dict();
        e.bytes(b"bitfield").bytes(self.have.as_bytes());
        e.bytes(b"file sizes").begin_list();
        for f in &self.files {
            e.begin_list();
            if let Some(f) = f {
                e.int(int(f.size)).int(f.mtime_ns);
            }
            e.end();
        }
        e.end();
        e.bytes(b"info-hash").bytes(self.info_hash.as_bytes());
        e.bytes(b"piece count").int(i64::from(self.piece_count));
        e.bytes(b"piece length").int(int(self.piece_length));
        e.bytes(b"version").int(Self::VERSION);
        e.end();
        e.finish()
    }

    /// Parses a resume file for a torrent of this `layout` (strict bencode).
    pub fn from_bytes(bytes: &[u8], layout: &Layout) -> Result<ResumeData, InvalidResumeData> {
        let doc = decode(bytes, DecodeOptions::strict()).map_err(|e| invalid(e.to_string()))?;
        let root = doc.root();
        if root.as_dict().is_none() {
            return Err(invalid("not a dictionary"));
        }
        let get = |key: &str| {
            root.get(key.as_bytes())
                .ok_or_else(|| invalid(format!("'{key}' is missing")))
        };
        let int = |key: &str| {
            get(key)?
                .as_int()
                .ok_or_else(|| invalid(format!("'{key}' is not an integer")))
        };
        if int("version")? != Self::VERSION {
            return Err(invalid("unknown version"));
        }
        let info_hash = get("info-hash")?
            .as_bytes()
            .and_then(|b| <[u8; 20]>::try_from(b).ok())
            .map(InfoHash)
            .ok_or_else(|| invalid("'info-hash' is not 20 bytes"))?;
        let piece_length = int("piece length")?;
        let piece_count = int("piece count")?;
        if u64::try_from(piece_length).ok() != Some(layout.piece_length())
            || u32::try_from(piece_count).ok() != Some(layout.piece_count())
        {
            return Err(invalid("piece length or count differ from the torrent's"));
        }
        let have = get("bitfield")?
            .as_bytes()
            .and_then(|b| Bitfield::from_bytes(layout, b))
            .ok_or_else(|| invalid("'bitfield' does not fit the torrent"))?;
        let files = get("file sizes")?
            .as_list()
            .ok_or_else(|| invalid("'file sizes' is not a list"))?
            .map(file_stamp)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ResumeData {
            info_hash,
            piece_length: layout.piece_length(),
            have,
            files,
            piece_count: layout.piece_count(),
        })
    }
}

fn file_stamp(node: Node<'_>) -> Result<Option<FileStamp>, InvalidResumeData> {
    let bad = || invalid("an entry of 'file sizes' is not [] or [size, mtime]");
    let items: Vec<Node<'_>> = node.as_list().ok_or_else(bad)?.take(3).collect();
    match items.as_slice() {
        [] => Ok(None),
        [size, mtime] => Ok(Some(FileStamp {
            size: size
                .as_int()
                .and_then(|s| u64::try_from(s).ok())
                .ok_or_else(bad)?,
            mtime_ns: mtime.as_int().ok_or_else(bad)?,
        })),
        _ => Err(bad()),
    }
}

impl Storage {
    /// Where the resume file for `info_hash` lives.
    pub fn resume_path(&self, info_hash: &InfoHash) -> PathBuf {
        self.resume_dir_path()
            .join(format!("{}.resume", info_hash.to_hex()))
    }

    fn resume_dir_path(&self) -> PathBuf {
        match &self.options.resume_dir {
            Some(dir) => dir.clone(),
            None => self.folder.join(".bittern"),
        }
    }

    /// The resume folder, created if asked.
    fn open_resume_dir(&self, create: bool) -> Result<OwnedFd, fs::Failure> {
        match &self.options.resume_dir {
            Some(dir) => {
                if create {
                    std::fs::create_dir_all(dir).map_err(|e| fs::Failure::Io(e, true))?;
                }
                fs::open_folder(dir).map(OwnedFd::from).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        fs::Failure::Missing
                    } else {
                        fs::Failure::Io(e, false)
                    }
                })
            }
            None => {
                let _walking = self.walking();
                fs::walk(self.root.as_fd(), &[RESUME_FOLDER], create)
                    .map(|d| d.expect("one folder walked"))
                    .map_err(|e| e.failure)
            }
        }
    }

    /// Size and mtime of each file that holds data, as on disk now.
    fn stamps(&self) -> Result<Vec<Option<FileStamp>>, StorageError> {
        (0..self.files.len())
            .map(|i| {
                if !self.files[i].stores_data() {
                    return Ok(None);
                }
                Ok(self.stat_file(i)?.map(|st| FileStamp {
                    size: st.size,
                    mtime_ns: st.mtime_ns,
                }))
            })
            .collect()
    }

    /// Saves `have` as the torrent's resume data: syncs every written file, records sizes and
    /// mtimes, writes the file atomically. `have` must hold only verified pieces.
    pub fn save_resume(&self, info_hash: &InfoHash, have: &Bitfield) -> Result<(), StorageError> {
        if have.as_bytes().len() != self.layout.bitfield_len() {
            return Err(StorageError::LayoutMismatch);
        }
        let _saving = self
            .save_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.sync_all()?;
        let data = ResumeData {
            info_hash: *info_hash,
            piece_length: self.layout.piece_length(),
            have: have.clone(),
            files: self.stamps()?,
            piece_count: self.layout.piece_count(),
        };
        let bytes = data.to_bytes();

        let path = self.resume_path(info_hash);
        let fail = |failure: fs::Failure| match failure {
            fs::Failure::Symlink => StorageError::Symlink {
                path: self.resume_dir_path(),
            },
            fs::Failure::NotDirectory => StorageError::NotAFolder {
                path: self.resume_dir_path(),
            },
            fs::Failure::NotFile => StorageError::NotAFile { path: path.clone() },
            fs::Failure::Missing => {
                StorageError::io(Op::SaveResume, &path, std::io::ErrorKind::NotFound.into())
            }
            fs::Failure::Io(e, _) => StorageError::io(Op::SaveResume, &path, e),
        };
        let dir = self.open_resume_dir(true).map_err(fail)?;
        let name = CString::new(format!("{}.resume", info_hash.to_hex())).expect("hex");
        let tmp = CString::new(format!("{}.resume.tmp", info_hash.to_hex())).expect("hex");
        let mut file = fs::open_file(dir.as_fd(), &tmp, fs::Mode::WriteTruncate).map_err(fail)?;
        let written = file
            .write_all(&bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::rename_at(dir.as_fd(), &tmp, &name))
            .and_then(|()| fs::sync_dir(dir.as_fd()));
        if let Err(e) = written {
            fs::remove_at(dir.as_fd(), &tmp);
            return Err(StorageError::io(Op::SaveResume, &path, e));
        }
        Ok(())
    }

    /// Reads and validates the resume file for `info_hash` (no data is read). `Err` says why it
    /// cannot be used.
    pub fn load_resume(&self, info_hash: &InfoHash) -> Result<ResumeData, ResumeStatus> {
        let why = |failure: fs::Failure| match failure {
            fs::Failure::Missing => ResumeStatus::Missing,
            fs::Failure::Symlink => ResumeStatus::Invalid("a symbolic link".into()),
            fs::Failure::NotDirectory | fs::Failure::NotFile => {
                ResumeStatus::Invalid("not a regular file in a folder".into())
            }
            fs::Failure::Io(e, _) => ResumeStatus::Invalid(e.to_string()),
        };
        let dir = self.open_resume_dir(false).map_err(why)?;
        let name = CString::new(format!("{}.resume", info_hash.to_hex())).expect("hex");
        let file = fs::open_file(dir.as_fd(), &name, fs::Mode::ReadOnly).map_err(why)?;
        let limit = 4096 + 2 * self.layout.bitfield_len() as u64 + 64 * self.files.len() as u64;
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ResumeStatus::Invalid(e.to_string()))?;
        if bytes.len() as u64 > limit {
            return Err(ResumeStatus::Invalid("larger than it can be".into()));
        }
        let data = ResumeData::from_bytes(&bytes, &self.layout)
            .map_err(|e| ResumeStatus::Invalid(e.reason))?;
        if data.info_hash != *info_hash {
            return Err(ResumeStatus::OtherTorrent);
        }
        if data.files.len() != self.files.len() {
            return Err(ResumeStatus::Invalid(format!(
                "{} files, but the torrent has {}",
                data.files.len(),
                self.files.len()
            )));
        }
        // A claimed piece must lie in files that held all its bytes at save time.
        let saved: Vec<u64> = self
            .files
            .iter()
            .zip(&data.files)
            .map(|(f, stamp)| match stamp {
                _ if !f.stores_data() => f.length,
                Some(s) => s.size.min(f.length),
                None => 0,
            })
            .collect();
        if let Some(p) = data.have.iter().find(|&p| !self.piece_possible(p, &saved)) {
            return Err(ResumeStatus::Invalid(format!(
                "piece {p} is claimed but its files did not hold it"
            )));
        }
        Ok(data)
    }

    /// The pieces we have: from the resume file when it can be trusted, else (or for the files
    /// that changed) by hashing. `progress` is as in [`Storage::check_all`].
    pub fn resume(
        &self,
        info_hash: &InfoHash,
        mut progress: impl FnMut(u32, u32) -> bool,
    ) -> Result<(Bitfield, ResumeStatus), StorageError> {
        let data = match self.load_resume(info_hash) {
            Ok(data) => data,
            Err(status) => return Ok((self.check_all(progress)?, status)),
        };
        let now = self.stamps()?;
        let changed: Vec<bool> = now
            .iter()
            .zip(&data.files)
            .zip(self.files.iter())
            .map(|((now, then), f)| f.stores_data() && now != then)
            .collect();
        let changed_files = changed.iter().filter(|&&c| c).count();
        if changed_files == 0 {
            return Ok((data.have, ResumeStatus::Trusted));
        }
        let touches_changed = |p: PieceIndex| {
            let offset = self.layout.piece_offset(p);
            let size = u64::from(self.layout.piece_size(p));
            segments(&self.files, offset, size).any(|s| changed[s.file])
        };
        let checked = self.check_selected(&touches_changed, &mut progress)?;
        let mut have = data.have;
        let mut rechecked_pieces = 0;
        for p in self.layout.pieces().filter(|&p| touches_changed(p)) {
            rechecked_pieces += 1;
            if checked.has(p) {
                have.set(p);
            } else {
                have.clear(p);
            }
        }
        Ok((
            have,
            ResumeStatus::Stale {
                changed_files,
                rechecked_pieces,
            },
        ))
    }
}
