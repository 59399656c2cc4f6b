//! `.torrent` files (BEP 3 metainfo): load, validate, edit, write and create.
//!
//! A [`Metainfo`] keeps the file's bytes. The info-hash is SHA-1 over the exact bytes of the
//! `info` value as they stand in the file, never a re-encoding; keys bittern does not know,
//! inside `info` or outside it, are kept; an unedited torrent saves back byte for byte, and
//! editing an outer field (announce, comment, ...) never touches the `info` bytes.
//!
//! Loading uses tolerant bencode (real torrents carry unsorted keys and the like): what was not
//! canonical is reported in [`Metainfo::warnings`]. Everything that will name a file on disk is
//! validated so that no path can leave the folder the user chose.

mod create;
mod parse;

pub use create::{
    auto_piece_length, create, CreateOptions, Progress, MAX_PIECE_LENGTH, MIN_PIECE_LENGTH,
};

use crate::bencode::{BencodeError, Encoder};
use sha1::{Digest, Sha1};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// SHA-1 of a torrent's `info` value: the torrent's identity on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

impl InfoHash {
    /// Hashes the exact bytes of an encoded `info` value.
    pub fn of_info_bytes(info: &[u8]) -> Self {
        InfoHash(Sha1::digest(info).into())
    }

    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// 40 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}

/// Why peers may not find each other through a torrent's trackers
/// ([`Metainfo::tracker_problems`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerProblem {
    /// No `announce` and no `announce-list`: peers find the torrent only through peers given by
    /// hand (or a tracker added later).
    #[error(
        "the torrent has no tracker: peers will only find it through peers added by hand (or a \
         tracker added later)"
    )]
    NoTracker,
    /// A URL no tracker can answer at.
    #[error("{0}: not a tracker URL (http://, https:// or udp:// with a host)")]
    NotATrackerUrl(String),
}

/// Why a torrent could not be loaded, created or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetainfoError {
    #[error(transparent)]
    Bencode(#[from] BencodeError),
    /// A field is missing, has the wrong type or a value that is not allowed.
    #[error("invalid torrent: {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("torrent file of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("{path}: {}", crate::error::OsMessage(source))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Creating a torrent: a file changed while it was being hashed.
    #[error("{path}: file changed while it was being hashed")]
    FileChanged { path: PathBuf },
    /// Creating a torrent: a bad option or an unusable source.
    #[error("cannot create torrent: {0}")]
    Create(String),
    #[error("cancelled")]
    Cancelled,
}

impl MetainfoError {
    fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        MetainfoError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn io(path: &Path, source: std::io::Error) -> Self {
        MetainfoError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Bounds on what a loaded torrent may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadLimits {
    /// Largest `.torrent` file accepted, in bytes (default 100 MiB).
    pub max_size: u64,
    /// Most pieces (default 2^22: 64 TiB of 16 MiB pieces).
    pub max_pieces: u64,
    /// Most files (default 1,000,000).
    pub max_files: usize,
    /// Largest piece length (default 256 MiB).
    pub max_piece_length: u64,
    /// Longest file path, in bytes, its components joined by `/` (default 4096, Linux's
    /// `PATH_MAX`: no longer path can be opened). This also bounds the depth.
    pub max_path_len: usize,
    /// Bencode limits (see [`crate::bencode::Limits`]).
    pub bencode: crate::bencode::Limits,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            max_size: 100 << 20,
            max_pieces: 1 << 22,
            max_files: 1_000_000,
            max_piece_length: 256 << 20,
            max_path_len: 4096,
            bencode: Default::default(),
        }
    }
}

/// Something a loaded torrent had that was not canonical or was ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Byte offset in the file, where one applies.
    pub offset: Option<usize>,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(offset) => write!(f, "at byte {offset}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// One file of a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    path: Box<[u8]>,
    length: u64,
    offset: u64,
    attr: Option<Box<[u8]>>,
}

impl FileEntry {
    /// The path relative to the download folder, components joined with `/`: the name for a
    /// single-file torrent, `name/dir/.../file` for a multi-file one. Each component is
    /// validated: non-empty, not `.` or `..`, free of `/`, `\`, NUL and control characters.
    /// Raw bytes: old torrents may carry names that are not UTF-8.
    pub fn path(&self) -> &[u8] {
        &self.path
    }

    /// The path's components (the first is the torrent's name).
    pub fn components(&self) -> impl Iterator<Item = &[u8]> {
        self.path.split(|&b| b == b'/')
    }

    /// The path with invalid UTF-8 replaced (for display).
    pub fn path_lossy(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }

    /// The path as a relative filesystem path, raw bytes kept.
    pub fn relative_path(&self) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(&self.path))
    }

    pub fn length(&self) -> u64 {
        self.length
    }

    /// Where the file starts in the torrent's concatenated data.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// BEP 47 attributes, if given (`p` marks a padding file).
    pub fn attr(&self) -> Option<&[u8]> {
        self.attr.as_deref()
    }
}

/// The `info` dictionary: what the info-hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    name: Vec<u8>,
    piece_length: u64,
    pieces: Vec<u8>,
    files: Vec<FileEntry>,
    multi_file: bool,
    private: bool,
    total_length: u64,
}

impl Info {
    /// The suggested name as raw bytes (may not be UTF-8 in old torrents).
    pub fn name_bytes(&self) -> &[u8] {
        &self.name
    }

    /// The name, invalid UTF-8 replaced.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    pub fn piece_length(&self) -> u64 {
        self.piece_length
    }

    pub fn piece_count(&self) -> usize {
        self.pieces.len() / 20
    }

    /// The SHA-1 of piece `index`, if there is such a piece.
    pub fn piece_hash(&self, index: usize) -> Option<&[u8; 20]> {
        self.pieces
            .get(index * 20..index * 20 + 20)
            .and_then(|h| h.try_into().ok())
    }

    /// All piece hashes, 20 bytes each, concatenated.
    pub fn pieces(&self) -> &[u8] {
        &self.pieces
    }

    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// True when `info` has `files` (a folder), false when it has `length` (one file).
    pub fn is_multi_file(&self) -> bool {
        self.multi_file
    }

    /// BEP 27: peers come only from the torrent's trackers.
    pub fn is_private(&self) -> bool {
        self.private
    }

    pub fn total_length(&self) -> u64 {
        self.total_length
    }
}

/// A `.torrent` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metainfo {
    /// The file's bytes: as loaded, or as rebuilt after an edit.
    raw: Vec<u8>,
    /// Where the encoded `info` value stands in `raw`.
    info_span: Range<usize>,
    /// Every top-level entry but `info`: key and encoded value, kept so nothing is lost.
    outer: Vec<(Vec<u8>, Vec<u8>)>,
    info_hash: InfoHash,
    info: Info,
    announce: Option<String>,
    announce_list: Vec<Vec<String>>,
    comment: Option<String>,
    created_by: Option<String>,
    creation_date: Option<i64>,
    url_list: Vec<String>,
    warnings: Vec<Warning>,
}

impl Metainfo {
    /// Loads a torrent from its bytes with the default [`LoadLimits`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MetainfoError> {
        Self::from_bytes_with_limits(bytes, &LoadLimits::default())
    }

    pub fn from_bytes_with_limits(
        bytes: &[u8],
        limits: &LoadLimits,
    ) -> Result<Self, MetainfoError> {
        if bytes.len() as u64 > limits.max_size {
            return Err(MetainfoError::TooLarge {
                size: bytes.len() as u64,
                limit: limits.max_size,
            });
        }
        parse::parse(bytes.to_vec(), limits)
    }

    /// Loads a `.torrent` file (its size is checked before it is read).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, MetainfoError> {
        Self::load_with_limits(path, &LoadLimits::default())
    }

    pub fn load_with_limits(
        path: impl AsRef<Path>,
        limits: &LoadLimits,
    ) -> Result<Self, MetainfoError> {
        use std::io::Read;
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| MetainfoError::io(path, e))?;
        let size = file
            .metadata()
            .map_err(|e| MetainfoError::io(path, e))?
            .len();
        if size > limits.max_size {
            return Err(MetainfoError::TooLarge {
                size,
                limit: limits.max_size,
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        // `take` guards against a file that grows after the size check.
        file.take(limits.max_size + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| MetainfoError::io(path, e))?;
        if bytes.len() as u64 > limits.max_size {
            return Err(MetainfoError::TooLarge {
                size: bytes.len() as u64,
                limit: limits.max_size,
            });
        }
        parse::parse(bytes, limits)
    }

    /// The torrent as it would be saved: the loaded bytes unless an outer field was edited.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.raw.clone()
    }

    /// Writes the torrent to `path` through a temporary file and a rename, so a crash never
    /// leaves a half-written torrent behind; a `path` that is not a regular file (a pipe, a
    /// device, `/dev/stdout`) is written to directly, never replaced.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), MetainfoError> {
        use std::io::Write;
        let path = path.as_ref();
        // A device, a pipe or /dev/stdout is written to as it is: renaming over it would put
        // a plain file in its place.
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|mut f| f.write_all(&self.raw))
                .map_err(|e| MetainfoError::io(path, e));
        }
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&self.raw)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            MetainfoError::io(path, e)
        })
    }

    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    /// The exact bytes of the encoded `info` value (what the info-hash covers).
    pub fn info_bytes(&self) -> &[u8] {
        &self.raw[self.info_span.clone()]
    }

    pub fn info(&self) -> &Info {
        &self.info
    }

    pub fn announce(&self) -> Option<&str> {
        self.announce.as_deref()
    }

    /// BEP 12 tiers of tracker URLs (empty when the torrent has none).
    pub fn announce_list(&self) -> &[Vec<String>] {
        &self.announce_list
    }

    /// What keeps peers from finding each other through this torrent's trackers: none at all,
    /// or URLs no tracker can answer at (not http, https or udp with a host). Empty when every
    /// tracker URL can work; `bittern create` warns with these.
    pub fn tracker_problems(&self) -> Vec<TrackerProblem> {
        let urls = self.trackers();
        if urls.is_empty() {
            return vec![TrackerProblem::NoTracker];
        }
        urls.into_iter()
            .filter(|url| {
                !reqwest::Url::parse(url).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https" | "udp")
                        && u.host_str().is_some_and(|h| !h.is_empty())
                })
            })
            .map(|url| TrackerProblem::NotATrackerUrl(url.to_owned()))
            .collect()
    }

    /// Every tracker URL, `announce-list` tiers first (BEP 12), then `announce` if not listed.
    pub fn trackers(&self) -> Vec<&str> {
        let mut urls: Vec<&str> = self
            .announce_list
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if let Some(a) = self.announce() {
            if !urls.contains(&a) {
                urls.push(a);
            }
        }
        urls
    }

    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    pub fn created_by(&self) -> Option<&str> {
        self.created_by.as_deref()
    }

    /// Seconds since the Unix epoch.
    pub fn creation_date(&self) -> Option<i64> {
        self.creation_date
    }

    /// BEP 19 web seeds.
    pub fn url_list(&self) -> &[String] {
        &self.url_list
    }

    /// The torrent a magnet link names, once its metadata (the `info` dictionary's bytes,
    /// checked against the link's info-hash by whoever fetched them) is in: the link's
    /// trackers become `announce` and `announce-list`, its web seeds `url-list`. The `info`
    /// bytes are kept exactly as fetched, so the info-hash stays the link's.
    pub fn from_metadata(info: &[u8], magnet: &crate::Magnet) -> Result<Self, MetainfoError> {
        let mut out = Encoder::with_capacity(info.len() + 256);
        out.begin_dict();
        let urls: Vec<&String> = magnet.trackers.iter().flatten().collect();
        if let Some(first) = urls.first() {
            out.bytes(b"announce").bytes(first.as_bytes());
            out.bytes(b"announce-list").begin_list();
            for tier in magnet.trackers.iter().filter(|t| !t.is_empty()) {
                out.begin_list();
                for url in tier {
                    out.bytes(url.as_bytes());
                }
                out.end();
            }
            out.end();
        }
        out.bytes(b"info").raw(info);
        if !magnet.web_seeds.is_empty() {
            out.bytes(b"url-list").begin_list();
            for url in &magnet.web_seeds {
                out.bytes(url.as_bytes());
            }
            out.end();
        }
        out.end();
        Self::from_bytes(&out.finish())
    }

    /// The torrent's magnet link (BEP 9): its info-hash, name, trackers (the `announce-list`
    /// tiers flattened in order, a tier each, as magnet links keep them) and web seeds.
    pub fn magnet(&self) -> crate::Magnet {
        crate::Magnet {
            name: Some(self.info.name()),
            trackers: self
                .trackers()
                .into_iter()
                .map(|url| vec![url.to_owned()])
                .collect(),
            web_seeds: self.url_list.clone(),
            ..crate::Magnet::new(self.info_hash)
        }
    }

    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    // Edits of outer fields: each rewrites the top-level dictionary around the same `info` bytes.

    pub fn set_announce(&mut self, url: Option<&str>) {
        self.announce = url.map(str::to_owned);
        self.set_outer(b"announce", url.map(|u| encoded(|e| e.bytes(u.as_bytes()))));
    }

    pub fn set_announce_list(&mut self, tiers: Vec<Vec<String>>) {
        let tiers: Vec<Vec<String>> = tiers.into_iter().filter(|t| !t.is_empty()).collect();
        let value = (!tiers.is_empty()).then(|| encoded(|e| write_tiers(e, &tiers)));
        self.announce_list = tiers;
        self.set_outer(b"announce-list", value);
    }

    pub fn set_comment(&mut self, comment: Option<&str>) {
        self.comment = comment.map(str::to_owned);
        self.set_outer(
            b"comment",
            comment.map(|c| encoded(|e| e.bytes(c.as_bytes()))),
        );
    }

    pub fn set_created_by(&mut self, created_by: Option<&str>) {
        self.created_by = created_by.map(str::to_owned);
        self.set_outer(
            b"created by",
            created_by.map(|c| encoded(|e| e.bytes(c.as_bytes()))),
        );
    }

    pub fn set_creation_date(&mut self, date: Option<i64>) {
        self.creation_date = date;
        self.set_outer(b"creation date", date.map(|d| encoded(|e| e.int(d))));
    }

    pub fn set_url_list(&mut self, urls: Vec<String>) {
        let value = (!urls.is_empty()).then(|| encoded(|e| write_url_list(e, &urls)));
        self.url_list = urls;
        self.set_outer(b"url-list", value);
    }

    fn set_outer(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        self.outer.retain(|(k, _)| k != key);
        if let Some(v) = value {
            self.outer.push((key.to_vec(), v));
        }
        self.outer.sort();
        // Rebuild the file: outer entries in key order, `info` spliced in as its exact bytes.
        let info = self.info_bytes().to_vec();
        let mut e = Encoder::new();
        e.begin_dict();
        let mut info_written = false;
        let mut info_start = 0;
        for (k, v) in &self.outer {
            if !info_written && k.as_slice() > b"info".as_slice() {
                info_start = write_info_entry(&mut e, &info);
                info_written = true;
            }
            e.bytes(k).raw(v);
        }
        if !info_written {
            info_start = write_info_entry(&mut e, &info);
        }
        e.end();
        self.raw = e.finish();
        self.info_span = info_start..info_start + info.len();
    }
}

/// Writes `4:info` and the info bytes; returns where the bytes start.
fn write_info_entry(e: &mut Encoder, info: &[u8]) -> usize {
    e.bytes(b"info");
    let start = e.len();
    e.raw(info);
    start
}

fn encoded(f: impl FnOnce(&mut Encoder) -> &mut Encoder) -> Vec<u8> {
    let mut e = Encoder::new();
    f(&mut e);
    e.finish()
}

fn write_tiers<'e>(e: &'e mut Encoder, tiers: &[Vec<String>]) -> &'e mut Encoder {
    e.begin_list();
    for tier in tiers {
        e.begin_list();
        for url in tier {
            e.bytes(url.as_bytes());
        }
        e.end();
    }
    e.end()
}

/// One web seed is written as a string, several as a list (as mktorrent does).
fn write_url_list<'e>(e: &'e mut Encoder, urls: &[String]) -> &'e mut Encoder {
    match urls {
        [one] => e.bytes(one.as_bytes()),
        _ => {
            e.begin_list();
            for url in urls {
                e.bytes(url.as_bytes());
            }
            e.end()
        }
    }
}
