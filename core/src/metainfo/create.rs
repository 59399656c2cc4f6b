//! Creating a torrent from a file or a folder.
//!
//! Which files go in, and in what order:
//! - A file makes a single-file torrent; a folder makes a multi-file torrent named after it.
//! - A folder's files are ordered by their relative path's bytes, `/` between components (as
//!   mktorrent orders them), so the same folder always gives the same torrent.
//! - Hidden entries (names starting with `.`) are left out unless `include_hidden` is set.
//! - Symbolic links are followed: the torrent holds what they point to. A link that loops back
//!   to a folder above it is an error, as is a broken link.
//! - Anything that is neither a regular file nor a folder (sockets, FIFOs, devices) is left out.
//! - Empty folders cannot be expressed in BEP 3 and leave no trace.
//!
//! Hashing runs on every core ([`crate::hashing`]), each thread reading its own batches of
//! pieces with positioned reads into a small buffer, so memory stays bounded whatever the
//! input's size. Progress is reported on the caller's thread, which may cancel.

use super::{write_tiers, write_url_list, Metainfo, MetainfoError};
use crate::bencode::Encoder;
use crate::hashing;
use sha1::{Digest, Sha1};
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Smallest piece length bittern creates: one 16 KiB block.
pub const MIN_PIECE_LENGTH: u64 = 16 << 10;
/// Largest piece length chosen automatically.
pub const MAX_AUTO_PIECE_LENGTH: u64 = 16 << 20;
/// Largest piece length bittern creates.
pub const MAX_PIECE_LENGTH: u64 = 256 << 20;

/// What to put in a new torrent besides its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    /// Tracker URLs in BEP 12 tiers. The first becomes `announce`; with more than one URL,
    /// `announce-list` is written too.
    pub trackers: Vec<Vec<String>>,
    /// Bytes per piece: a power of two from 16 KiB to 256 MiB. `None` picks one
    /// ([`auto_piece_length`]).
    pub piece_length: Option<u64>,
    /// The torrent's name; by default the file's or folder's name.
    pub name: Option<String>,
    pub comment: Option<String>,
    /// Defaults to `bittern <version>`; `None` leaves it out.
    pub created_by: Option<String>,
    /// Seconds since the Unix epoch. Defaults to now; `None` leaves it out (for reproducible output).
    pub creation_date: Option<i64>,
    /// BEP 27 private flag.
    pub private: bool,
    /// BEP 19 web seed URLs.
    pub url_list: Vec<String>,
    /// Include files and folders whose names start with `.`.
    pub include_hidden: bool,
    /// Hashing threads; 0 means one per core.
    pub threads: usize,
}

impl Default for CreateOptions {
    fn default() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        CreateOptions {
            trackers: Vec::new(),
            piece_length: None,
            name: None,
            comment: None,
            created_by: Some(format!("bittern {}", crate::VERSION)),
            creation_date: Some(now as i64),
            private: false,
            url_list: Vec::new(),
            include_hidden: false,
            threads: 0,
        }
    }
}

/// How far hashing has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// The smallest power of two that cuts `total` bytes into at most 2000 pieces (so, for inputs
/// large enough, between 1000 and 2000), kept within 16 KiB and 16 MiB.
pub fn auto_piece_length(total: u64) -> u64 {
    total
        .div_ceil(2000)
        .max(1)
        .next_power_of_two()
        .clamp(MIN_PIECE_LENGTH, MAX_AUTO_PIECE_LENGTH)
}

/// Creates a torrent from the file or folder at `path`.
///
/// `progress` is called on this thread about every 100 ms and once at the end; returning
/// `false` cancels, and `create` returns [`MetainfoError::Cancelled`].
pub fn create(
    path: impl AsRef<Path>,
    options: &CreateOptions,
    mut progress: impl FnMut(Progress) -> bool,
) -> Result<Metainfo, MetainfoError> {
    let source = Source::collect(path.as_ref(), options.include_hidden)?;
    let piece_length = match options.piece_length {
        None => auto_piece_length(source.total),
        Some(p) if p.is_power_of_two() && (MIN_PIECE_LENGTH..=MAX_PIECE_LENGTH).contains(&p) => p,
        Some(p) => {
            return Err(MetainfoError::Create(format!(
            "piece length {p} is not a power of two from {MIN_PIECE_LENGTH} to {MAX_PIECE_LENGTH}"
        )))
        }
    };
    let pieces = hash_pieces(&source, piece_length, options.threads, &mut progress)?;
    let name = options
        .name
        .as_ref()
        .map_or(source.name.as_slice(), |n| n.as_bytes());
    Metainfo::from_bytes(&encode(&source, name, piece_length, &pieces, options)?)
}

struct SourceFile {
    /// Where to read it.
    disk: PathBuf,
    /// Path components inside the torrent's folder (empty for a single-file torrent).
    components: Vec<Vec<u8>>,
    length: u64,
    /// Where it starts in the torrent's concatenated data.
    offset: u64,
}

struct Source {
    name: Vec<u8>,
    files: Vec<SourceFile>,
    multi_file: bool,
    total: u64,
}

impl Source {
    fn collect(root: &Path, include_hidden: bool) -> Result<Source, MetainfoError> {
        let meta = std::fs::metadata(root).map_err(|e| MetainfoError::io(root, e))?;
        let name = match root.file_name() {
            Some(n) => n.as_bytes().to_vec(),
            None => {
                let full = root
                    .canonicalize()
                    .map_err(|e| MetainfoError::io(root, e))?;
                full.file_name()
                    .map(|n| n.as_bytes().to_vec())
                    .unwrap_or_default()
            }
        };
        let mut files = Vec::new();
        if meta.is_file() {
            let disk = root.to_path_buf();
            files.push(SourceFile {
                disk,
                components: Vec::new(),
                length: meta.len(),
                offset: 0,
            });
        } else if meta.is_dir() {
            let walk = walkdir::WalkDir::new(root).follow_links(true).min_depth(1);
            let visible = |e: &walkdir::DirEntry| {
                include_hidden || !e.file_name().as_bytes().starts_with(b".")
            };
            for entry in walk.into_iter().filter_entry(visible) {
                let entry = entry.map_err(|e| walk_error(root, e))?;
                if !entry.file_type().is_file() {
                    continue;
                }
                let length = entry.metadata().map_err(|e| walk_error(root, e))?.len();
                let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
                let components = relative.iter().map(|c| c.as_bytes().to_vec()).collect();
                files.push(SourceFile {
                    disk: entry.into_path(),
                    components,
                    length,
                    offset: 0,
                });
            }
            files.sort_by_cached_key(|f| f.components.join(&b'/'));
            if files.is_empty() {
                return Err(MetainfoError::Create(format!(
                    "{}: no files to put in a torrent",
                    root.display()
                )));
            }
        } else {
            return Err(MetainfoError::Create(format!(
                "{}: not a file or a folder",
                root.display()
            )));
        }
        let mut total = 0u64;
        for f in &mut files {
            f.offset = total;
            total = total
                .checked_add(f.length)
                .ok_or_else(|| MetainfoError::Create("total size overflows".into()))?;
        }
        if total == 0 {
            return Err(MetainfoError::Create(format!(
                "{}: holds no data (total size is 0)",
                root.display()
            )));
        }
        Ok(Source {
            name,
            files,
            multi_file: meta.is_dir(),
            total,
        })
    }

    /// Reads `buf.len()` bytes of the concatenated data from `offset`, across file borders.
    fn read_at(
        &self,
        mut offset: u64,
        buf: &mut [u8],
        open: &mut Option<(usize, File)>,
    ) -> Result<(), MetainfoError> {
        let mut i = self
            .files
            .partition_point(|f| f.offset <= offset)
            .saturating_sub(1);
        let mut filled = 0;
        while filled < buf.len() {
            let f = &self.files[i];
            let in_file = offset - f.offset;
            let want = (f.length - in_file).min((buf.len() - filled) as u64) as usize;
            if want == 0 {
                i += 1;
                continue;
            }
            if open.as_ref().map(|(j, _)| *j) != Some(i) {
                *open = Some((i, open_for_hashing(f)?));
            }
            let file = &open.as_ref().expect("just opened").1;
            let n = file
                .read_at(&mut buf[filled..filled + want], in_file)
                .map_err(|e| MetainfoError::io(&f.disk, e))?;
            if n == 0 {
                return Err(MetainfoError::FileChanged {
                    path: f.disk.clone(),
                });
            }
            filled += n;
            offset += n as u64;
        }
        Ok(())
    }
}

fn walk_error(root: &Path, e: walkdir::Error) -> MetainfoError {
    let path = e.path().unwrap_or(root).to_path_buf();
    if let Some(ancestor) = e.loop_ancestor() {
        return MetainfoError::Create(format!(
            "{}: symbolic link loops back to {}",
            path.display(),
            ancestor.display()
        ));
    }
    match e.into_io_error() {
        Some(io) => MetainfoError::Io { path, source: io },
        None => MetainfoError::Create(format!("{}: cannot be read", path.display())),
    }
}

fn open_for_hashing(f: &SourceFile) -> Result<File, MetainfoError> {
    use std::os::fd::AsRawFd;
    let file = File::open(&f.disk).map_err(|e| MetainfoError::io(&f.disk, e))?;
    let len = file
        .metadata()
        .map_err(|e| MetainfoError::io(&f.disk, e))?
        .len();
    if len != f.length {
        return Err(MetainfoError::FileChanged {
            path: f.disk.clone(),
        });
    }
    // A hint only: its failure changes nothing.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL) };
    Ok(file)
}

/// Each hashing thread's own: its read buffer and the source file it has open.
#[derive(Default)]
struct Scratch {
    buf: Vec<u8>,
    open: Option<(usize, File)>,
}

fn hash_pieces(
    source: &Source,
    piece_length: u64,
    threads: usize,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Vec<u8>, MetainfoError> {
    let plan = hashing::Plan {
        pieces: source.total.div_ceil(piece_length),
        piece_length,
        threads,
    };
    let mut pieces = vec![0u8; plan.pieces as usize * 20];
    let report = |done| Progress {
        bytes_done: done,
        bytes_total: source.total,
    };
    hashing::run(
        plan,
        |pool, scratch: &mut Scratch, first, count| {
            hash_batch(source, piece_length, pool, scratch, first, count)
        },
        |first, hashes| {
            let at = first as usize * 20;
            pieces[at..at + hashes.len() * 20].copy_from_slice(hashes.as_flattened());
        },
        |done| progress(report(done)),
        || MetainfoError::Cancelled,
    )?;
    if !progress(report(source.total)) {
        return Err(MetainfoError::Cancelled);
    }
    Ok(pieces)
}

/// Hashes `count` pieces from `first`, streaming through the thread's buffer: a read may span
/// several small pieces, and files' borders.
fn hash_batch(
    source: &Source,
    piece_length: u64,
    pool: &hashing::Pool,
    scratch: &mut Scratch,
    first: u64,
    count: u64,
) -> Result<Vec<[u8; 20]>, MetainfoError> {
    let total = source.total;
    if scratch.buf.is_empty() {
        scratch
            .buf
            .resize(hashing::READ_BYTES.min(total as usize), 0);
    }
    let start = first * piece_length;
    let end = (start + count * piece_length).min(total);
    let mut hashes = Vec::with_capacity(count as usize);
    let mut hasher = Sha1::new();
    let mut piece_end = (start + piece_length).min(total);
    let mut at = start;
    while at < end {
        if pool.stopped() {
            return Err(MetainfoError::Cancelled);
        }
        let n = (scratch.buf.len() as u64).min(end - at) as usize;
        source.read_at(at, &mut scratch.buf[..n], &mut scratch.open)?;
        let mut chunk = &scratch.buf[..n];
        while !chunk.is_empty() {
            let take = ((piece_end - at) as usize).min(chunk.len());
            hasher.update(&chunk[..take]);
            chunk = &chunk[take..];
            at += take as u64;
            if at == piece_end {
                hashes.push(hasher.finalize_reset().into());
                piece_end = (at + piece_length).min(total);
            }
        }
        pool.advance(n as u64);
    }
    Ok(hashes)
}

/// The torrent's bytes, keys in order.
fn encode(
    source: &Source,
    name: &[u8],
    piece_length: u64,
    pieces: &[u8],
    options: &CreateOptions,
) -> Result<Vec<u8>, MetainfoError> {
    let int = |n: u64| {
        i64::try_from(n).map_err(|_| MetainfoError::Create(format!("{n} does not fit bencode")))
    };
    let mut info = Encoder::new();
    info.begin_dict();
    if source.multi_file {
        info.bytes(b"files").begin_list();
        for f in &source.files {
            info.begin_dict()
                .bytes(b"length")
                .int(int(f.length)?)
                .bytes(b"path")
                .begin_list();
            for c in &f.components {
                info.bytes(c);
            }
            info.end().end();
        }
        info.end();
    } else {
        info.bytes(b"length").int(int(source.total)?);
    }
    info.bytes(b"name").bytes(name);
    info.bytes(b"piece length").int(int(piece_length)?);
    info.bytes(b"pieces").bytes(pieces);
    if options.private {
        info.bytes(b"private").int(1);
    }
    info.end();

    let tiers: Vec<Vec<String>> = options
        .trackers
        .iter()
        .map(|t| {
            t.iter()
                .filter(|u| !u.is_empty())
                .cloned()
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty())
        .collect();
    let mut e = Encoder::new();
    e.begin_dict();
    if let Some(first) = tiers.first().and_then(|t| t.first()) {
        e.bytes(b"announce").bytes(first.as_bytes());
        if tiers.iter().map(Vec::len).sum::<usize>() > 1 {
            e.bytes(b"announce-list");
            write_tiers(&mut e, &tiers);
        }
    }
    if let Some(c) = &options.comment {
        e.bytes(b"comment").bytes(c.as_bytes());
    }
    if let Some(c) = &options.created_by {
        e.bytes(b"created by").bytes(c.as_bytes());
    }
    if let Some(d) = options.creation_date {
        e.bytes(b"creation date").int(d);
    }
    e.bytes(b"info").raw(&info.finish());
    let urls: Vec<String> = options
        .url_list
        .iter()
        .filter(|u| !u.is_empty())
        .cloned()
        .collect();
    if !urls.is_empty() {
        e.bytes(b"url-list");
        write_url_list(&mut e, &urls);
    }
    e.end();
    Ok(e.finish())
}
