//! Where the torrent's bytes lie in its files. The torrent's data is the concatenation of its
//! files; [`FileSlot`] is one file with its offset in that data, and [`segments`] cuts a range
//! of the data (a block, a piece) into stretches of files, skipping zero-length ones. (The
//! piece side, piece sizes and offsets, is [`crate::piece::Layout`].)

use super::StorageError;
use crate::metainfo::Info;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};

/// One file of the torrent, as storage sees it.
#[derive(Debug)]
pub(super) struct FileSlot {
    /// Path components below the folder.
    pub(super) names: Box<[CString]>,
    /// `folder` joined with the relative path (for messages).
    pub(super) path: PathBuf,
    pub(super) offset: u64,
    pub(super) length: u64,
    pub(super) padding: bool,
    /// Bytes from the start that may hold torrent data: what the file held when storage
    /// opened it, or all of it once written to.
    /// [`Storage::check_all`](super::Storage::check_all) reads nothing past it.
    pub(super) data_len: AtomicU64,
    /// Written since its last sync.
    pub(super) dirty: AtomicBool,
}

impl FileSlot {
    pub(super) fn stores_data(&self) -> bool {
        !self.padding && self.length > 0
    }
}

/// A stretch of one file inside a range of the torrent's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Segment {
    pub(super) file: usize,
    /// Offset in the file.
    pub(super) at: u64,
    pub(super) len: usize,
    /// Offset in the range (the caller's buffer).
    pub(super) buf: usize,
}

/// The pieces of `offset..offset + len` in each file, in order, skipping zero-length files.
pub(super) fn segments(
    files: &[FileSlot],
    offset: u64,
    len: u64,
) -> impl Iterator<Item = Segment> + '_ {
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

/// The torrent's files in order, their paths joined to `folder`; touches nothing on disk.
pub(super) fn file_slots(info: &Info, folder: &Path) -> Result<Box<[FileSlot]>, StorageError> {
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
    Ok(files.into_boxed_slice())
}
