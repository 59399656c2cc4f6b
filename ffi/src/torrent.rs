//! `bittern_torrent`: a `.torrent` file (BEP 3 metainfo), loaded, created or edited.

use crate::{
    arg, arg_bytes, arg_mut, arg_opt_str, arg_out, arg_path, arg_str, bittern_result,
    client_config, free_handle, guard, guard_value, into_handle, into_owned_bytes, timeout_ms,
    CStrCache, Failure,
};
use bittern_core::cancel::Cancel;
use bittern_core::session::TorrentSource;
use bittern_core::tracker::client::ClientConfig;
use bittern_core::Metainfo;
use std::ffi::c_char;
use std::ptr;

/// A torrent. It keeps the file's exact bytes: the info-hash covers the `info` value as it
/// stands in the file, and unknown keys are kept, so an unedited torrent saves back byte for
/// byte and an edit of an outer field (announce, comment, ...) never changes the info-hash.
///
/// Thread safety: the getters (functions taking `const bittern_torrent *`) may run on several
/// threads at once. The setters (taking `bittern_torrent *`) need exclusive access: no other
/// call may use the torrent while one runs.
///
/// Strings: `const char *` results are NUL-terminated UTF-8 owned by the torrent, valid until
/// `bittern_torrent_free` or the next setter call on it. Invalid UTF-8 is replaced with U+FFFD,
/// and so is a NUL byte inside a value, so that the C string is never cut short.
pub struct bittern_torrent {
    meta: Metainfo,
    strings: CStrCache<Text>,
}

/// Which string a cached C string is.
#[derive(PartialEq, Eq, Hash)]
enum Text {
    Name,
    Announce,
    Comment,
    CreatedBy,
    Tracker(usize, usize),
    WebSeed(usize),
    File(usize),
    Warning(usize),
}

impl bittern_torrent {
    pub(crate) fn new(meta: Metainfo) -> Self {
        bittern_torrent {
            meta,
            strings: CStrCache::default(),
        }
    }

    /// The torrent itself, for the functions of other files that take one (announce, scrape,
    /// adding to a session).
    pub(crate) fn meta(&self) -> &Metainfo {
        &self.meta
    }

    /// An optional string field as a C string, NULL when absent.
    fn text(&self, key: Text, value: Option<&str>) -> *const c_char {
        value.map_or(ptr::null(), |v| self.strings.get(key, || v))
    }

    /// Applies an edit; every C string handed out so far ends here (documented on the setters).
    fn edit(&mut self, f: impl FnOnce(&mut Metainfo)) {
        f(&mut self.meta);
        self.strings.clear();
    }
}

/// The guard of a setter taking an optional string (NULL removes the field).
fn set_text(
    torrent: *mut bittern_torrent,
    value: *const c_char,
    name: &str,
    set: impl FnOnce(&mut Metainfo, Option<&str>),
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg_mut(torrent, "torrent") }?;
        let value = unsafe { arg_opt_str(value, name) }?;
        t.edit(|m| set(m, value));
        Ok(())
    })
}

/// The guard of a getter that returns a value (`fallback` when `torrent` is NULL).
fn read<T>(
    torrent: *const bittern_torrent,
    fallback: T,
    get: impl FnOnce(&bittern_torrent) -> T,
) -> T {
    guard_value(fallback, || Ok(get(unsafe { arg(torrent, "torrent") }?)))
}

fn out_of_range(what: &str, index: usize, count: usize) -> Failure {
    Failure::invalid(format!("no {what} {index}: there are {count}"))
}

/// Adds `url` to BEP 12 tier `tier` of `tiers`; `tier` may be one past the last to start a new
/// tier. Shared by `bittern_torrent_announce_list_add` and `bittern_create_options_add_tracker`.
pub(crate) fn add_to_tier(
    tiers: &mut Vec<Vec<String>>,
    url: &str,
    tier: usize,
) -> Result<(), Failure> {
    let count = tiers.len();
    if tier > count {
        return Err(Failure::invalid(format!(
            "no tier {tier}: there are {count}, and tier {count} starts a new one"
        )));
    }
    if tier == count {
        tiers.push(Vec::new());
    }
    tiers[tier].push(url.to_owned());
    Ok(())
}

// ---- making and ending ------------------------------------------------------------------------

/// Loads the `.torrent` file at `path` (bytes as the OS takes them; they need not be UTF-8) into a new torrent at `*torrent_out`.
///
/// Non-canonical bencode (such as unsorted keys) is accepted and reported as warnings. Errors:
/// `BITTERN_RESULT_IO` (cannot read), `BITTERN_RESULT_BENCODE` (not bencode; see
/// `bittern_last_error_offset`), `BITTERN_RESULT_METAINFO` (not a valid torrent).
///
/// Ownership: free the torrent with `bittern_torrent_free`. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_load(
    path: *const c_char,
    torrent_out: *mut *mut bittern_torrent,
) -> bittern_result {
    guard(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let out = unsafe { arg_out(torrent_out, "torrent_out") }?;
        let meta =
            TorrentSource::Path(path.into()).load(&ClientConfig::default(), Cancel::NEVER)?;
        out.put(into_handle(bittern_torrent::new(meta)));
        Ok(())
    })
}

/// Loads a torrent from the bytes `data[0..len]` into a new torrent at `*torrent_out` (errors as
/// `bittern_torrent_load`).
///
/// Ownership: the torrent keeps its own copy of the bytes; free it with `bittern_torrent_free`.
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_from_bytes(
    data: *const u8,
    len: usize,
    torrent_out: *mut *mut bittern_torrent,
) -> bittern_result {
    guard(|| {
        let bytes = unsafe { arg_bytes(data, len, "data") }?;
        let out = unsafe { arg_out(torrent_out, "torrent_out") }?;
        let meta =
            TorrentSource::Bytes(bytes.to_vec()).load(&ClientConfig::default(), Cancel::NEVER)?;
        out.put(into_handle(bittern_torrent::new(meta)));
        Ok(())
    })
}

/// Downloads the `.torrent` file at `url` (UTF-8, `http` or `https`; at most 16 MiB) into a new
/// torrent at `*torrent_out`, such as one a tracker publishes under `/torrents/`. `timeout_ms`
/// is the request's deadline; 0 means the default (15 s).
///
/// Errors, each with a last error message that names `url`: `BITTERN_RESULT_INVALID_ARGUMENT`
/// when `url` is not an `http` or `https` URL; `BITTERN_RESULT_NETWORK` when the server cannot
/// be reached or answers with an HTTP error ("cannot fetch the torrent file <url>: HTTP 404
/// Not Found"); `BITTERN_RESULT_TIMEOUT`; `BITTERN_RESULT_METAINFO` when the answer is not a
/// torrent file at all (an HTML page: "<url> is not a torrent file (the server sent text/html,
/// ...)"); else as `bittern_torrent_from_bytes` for what came.
///
/// Ownership: free the torrent with `bittern_torrent_free`. Thread safety: blocks the calling
/// thread, up to the timeout.
#[no_mangle]
pub extern "C" fn bittern_torrent_fetch(
    url: *const c_char,
    timeout_ms: u32,
    torrent_out: *mut *mut bittern_torrent,
) -> bittern_result {
    crate::ignore_sigpipe();
    guard(|| {
        let url = unsafe { arg_str(url, "url") }?;
        let out = unsafe { arg_out(torrent_out, "torrent_out") }?;
        // A path is `bittern_torrent_load`'s.
        let source = TorrentSource::parse(url)?;
        if !matches!(source, TorrentSource::Url(_)) {
            return Err(Failure::invalid(format!(
                "{url:?} is not an http or https URL"
            )));
        }
        let meta = source.load(&client_config(self::timeout_ms(timeout_ms)), Cancel::NEVER)?;
        out.put(into_handle(bittern_torrent::new(meta)));
        Ok(())
    })
}

/// Frees a torrent and every string and byte pointer borrowed from it. NULL is a no-op.
///
/// Ownership: takes ownership of `torrent`. Thread safety: no other thread may be using it.
#[no_mangle]
pub extern "C" fn bittern_torrent_free(torrent: *mut bittern_torrent) {
    guard_value((), || {
        unsafe { free_handle(torrent) };
        Ok(())
    })
}

// ---- the info dictionary ----------------------------------------------------------------------

/// Writes the 20-byte info-hash (SHA-1 of the exact `info` bytes) to `hash_out[0..20]`.
///
/// Ownership: `hash_out` is the caller's (at least 20 bytes). Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_info_hash(
    torrent: *const bittern_torrent,
    hash_out: *mut u8,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let out = unsafe { arg_out(hash_out.cast::<[u8; 20]>(), "hash_out") }?;
        out.put(t.meta.info_hash().0);
        Ok(())
    })
}

/// Writes the info-hash as 40 lowercase hex digits and a NUL to `hex_out[0..41]`.
///
/// Ownership: `hex_out` is the caller's (at least 41 bytes). Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_info_hash_hex(
    torrent: *const bittern_torrent,
    hex_out: *mut c_char,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let out = unsafe { arg_out(hex_out.cast::<[u8; 41]>(), "hex_out") }?;
        let mut hex = [0u8; 41];
        hex[..40].copy_from_slice(t.meta.info_hash().to_hex().as_bytes());
        out.put(hex);
        Ok(())
    })
}

/// The exact bytes of the encoded `info` value (what the info-hash covers): `*data_out` points
/// at `*len_out` bytes.
///
/// Ownership: the bytes belong to the torrent, valid until `bittern_torrent_free` or the next
/// setter call. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_info_bytes(
    torrent: *const bittern_torrent,
    data_out: *mut *const u8,
    len_out: *mut usize,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let data_out = unsafe { arg_out(data_out, "data_out") }?;
        let len_out = unsafe { arg_out(len_out, "len_out") }?;
        let info = t.meta.info_bytes();
        data_out.put(info.as_ptr());
        len_out.put(info.len());
        Ok(())
    })
}

/// The torrent's suggested name, NUL-terminated UTF-8 (invalid UTF-8 replaced; see
/// `bittern_torrent_name_bytes` for the raw bytes). NULL when `torrent` is NULL.
///
/// Ownership: owned by the torrent, valid until `bittern_torrent_free` or the next setter call.
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_name(torrent: *const bittern_torrent) -> *const c_char {
    read(torrent, ptr::null(), |t| {
        t.strings.get(Text::Name, || t.meta.info().name())
    })
}

/// The name's raw bytes, as in the file (old torrents may not use UTF-8): `*data_out` points at
/// `*len_out` bytes, not NUL-terminated.
///
/// Ownership: owned by the torrent, valid until `bittern_torrent_free`. Thread safety:
/// read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_name_bytes(
    torrent: *const bittern_torrent,
    data_out: *mut *const u8,
    len_out: *mut usize,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let data_out = unsafe { arg_out(data_out, "data_out") }?;
        let len_out = unsafe { arg_out(len_out, "len_out") }?;
        let name = t.meta.info().name_bytes();
        data_out.put(name.as_ptr());
        len_out.put(name.len());
        Ok(())
    })
}

/// Bytes per piece (the last piece may be shorter). 0 when `torrent` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_piece_length(torrent: *const bittern_torrent) -> u64 {
    read(torrent, 0, |t| t.meta.info().piece_length())
}

/// The number of pieces. 0 when `torrent` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_piece_count(torrent: *const bittern_torrent) -> usize {
    read(torrent, 0, |t| t.meta.info().piece_count())
}

/// Writes the 20-byte SHA-1 of piece `index` to `hash_out[0..20]`.
///
/// Ownership: `hash_out` is the caller's (at least 20 bytes). Thread safety: read-only. A bad
/// index gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_torrent_piece_hash(
    torrent: *const bittern_torrent,
    index: usize,
    hash_out: *mut u8,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let out = unsafe { arg_out(hash_out.cast::<[u8; 20]>(), "hash_out") }?;
        let info = t.meta.info();
        let hash = info
            .piece_hash(index)
            .ok_or_else(|| out_of_range("piece", index, info.piece_count()))?;
        out.put(*hash);
        Ok(())
    })
}

/// The total size of the torrent's files in bytes. 0 when `torrent` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_total_length(torrent: *const bittern_torrent) -> u64 {
    read(torrent, 0, |t| t.meta.info().total_length())
}

/// True when the torrent is a folder (`info` has `files`), false for a single file (and when
/// `torrent` is NULL).
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_is_multi_file(torrent: *const bittern_torrent) -> bool {
    read(torrent, false, |t| t.meta.info().is_multi_file())
}

/// True when the torrent is private (BEP 27: peers only from its trackers); false otherwise
/// (and when `torrent` is NULL).
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_is_private(torrent: *const bittern_torrent) -> bool {
    read(torrent, false, |t| t.meta.info().is_private())
}

/// The number of files (1 for a single-file torrent). 0 when `torrent` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_file_count(torrent: *const bittern_torrent) -> usize {
    read(torrent, 0, |t| t.meta.info().files().len())
}

/// File `index`: its path (the torrent's name, then the folders and the file name, joined with
/// `/`), its length in bytes, and its offset in the torrent's concatenated data.
///
/// Ownership: the path is owned by the torrent, valid until `bittern_torrent_free` or the next
/// setter call. Thread safety: read-only. A bad index gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_torrent_file_get(
    torrent: *const bittern_torrent,
    index: usize,
    path_out: *mut *const c_char,
    length_out: *mut u64,
    offset_out: *mut u64,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let path_out = unsafe { arg_out(path_out, "path_out") }?;
        let length_out = unsafe { arg_out(length_out, "length_out") }?;
        let offset_out = unsafe { arg_out(offset_out, "offset_out") }?;
        let files = t.meta.info().files();
        let file = files
            .get(index)
            .ok_or_else(|| out_of_range("file", index, files.len()))?;
        path_out.put(t.strings.get(Text::File(index), || file.path_lossy()));
        length_out.put(file.length());
        offset_out.put(file.offset());
        Ok(())
    })
}

// ---- outer fields -----------------------------------------------------------------------------

/// The `announce` tracker URL, or NULL when the torrent has none (or `torrent` is NULL).
///
/// Ownership: owned by the torrent, valid until `bittern_torrent_free` or the next setter call.
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_announce(torrent: *const bittern_torrent) -> *const c_char {
    read(torrent, ptr::null(), |t| {
        t.text(Text::Announce, t.meta.announce())
    })
}

/// The number of BEP 12 `announce-list` tiers (0 when there is none, or `torrent` is NULL).
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_announce_list_tier_count(
    torrent: *const bittern_torrent,
) -> usize {
    read(torrent, 0, |t| t.meta.announce_list().len())
}

/// The number of tracker URLs in tier `tier`.
///
/// Thread safety: read-only. A bad tier gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_torrent_announce_list_tier_size(
    torrent: *const bittern_torrent,
    tier: usize,
    size_out: *mut usize,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let out = unsafe { arg_out(size_out, "size_out") }?;
        let tiers = t.meta.announce_list();
        let urls = tiers
            .get(tier)
            .ok_or_else(|| out_of_range("tier", tier, tiers.len()))?;
        out.put(urls.len());
        Ok(())
    })
}

/// Tracker URL `index` of tier `tier`.
///
/// Ownership: owned by the torrent, valid until `bittern_torrent_free` or the next setter call.
/// Thread safety: read-only. A bad tier or index gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_torrent_announce_list_get(
    torrent: *const bittern_torrent,
    tier: usize,
    index: usize,
    url_out: *mut *const c_char,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let out = unsafe { arg_out(url_out, "url_out") }?;
        let tiers = t.meta.announce_list();
        let urls = tiers
            .get(tier)
            .ok_or_else(|| out_of_range("tier", tier, tiers.len()))?;
        let url = urls.get(index).ok_or_else(|| {
            Failure::invalid(format!(
                "no URL {index} in tier {tier}: it has {}",
                urls.len()
            ))
        })?;
        out.put(t.strings.get(Text::Tracker(tier, index), || url));
        Ok(())
    })
}

/// The comment, or NULL when the torrent has none (or `torrent` is NULL).
///
/// Ownership: owned by the torrent, valid until `bittern_torrent_free` or the next setter call.
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_comment(torrent: *const bittern_torrent) -> *const c_char {
    read(torrent, ptr::null(), |t| {
        t.text(Text::Comment, t.meta.comment())
    })
}

/// The `created by` field, or NULL when the torrent has none (or `torrent` is NULL).
///
/// Ownership: owned by the torrent, valid until `bittern_torrent_free` or the next setter call.
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_created_by(torrent: *const bittern_torrent) -> *const c_char {
    read(torrent, ptr::null(), |t| {
        t.text(Text::CreatedBy, t.meta.created_by())
    })
}

/// The creation date in seconds since the Unix epoch.
///
/// Returns `BITTERN_RESULT_NOT_FOUND` when the torrent has none. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_creation_date(
    torrent: *const bittern_torrent,
    date_out: *mut i64,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let out = unsafe { arg_out(date_out, "date_out") }?;
        let date = t.meta.creation_date();
        out.put(date.ok_or_else(|| Failure::not_found("the torrent has no creation date"))?);
        Ok(())
    })
}

/// The number of BEP 19 web seeds (`url-list`). 0 when `torrent` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_url_list_count(torrent: *const bittern_torrent) -> usize {
    read(torrent, 0, |t| t.meta.url_list().len())
}

/// Web seed URL `index`.
///
/// Ownership: owned by the torrent, valid until `bittern_torrent_free` or the next setter call.
/// Thread safety: read-only. A bad index gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_torrent_url_list_get(
    torrent: *const bittern_torrent,
    index: usize,
    url_out: *mut *const c_char,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let out = unsafe { arg_out(url_out, "url_out") }?;
        let urls = t.meta.url_list();
        let url = urls
            .get(index)
            .ok_or_else(|| out_of_range("web seed", index, urls.len()))?;
        out.put(t.strings.get(Text::WebSeed(index), || url));
        Ok(())
    })
}

/// The number of warnings from loading: what was not canonical or was ignored. 0 when
/// `torrent` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_warning_count(torrent: *const bittern_torrent) -> usize {
    read(torrent, 0, |t| t.meta.warnings().len())
}

/// Warning `index`: `*has_offset_out` tells whether it has a byte offset in the file, written to
/// `*offset_out` (0 when it has none), and `*message_out` is its message.
///
/// Ownership: the message is owned by the torrent, valid until `bittern_torrent_free` or the
/// next setter call. Thread safety: read-only. A bad index gives
/// `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_torrent_warning_get(
    torrent: *const bittern_torrent,
    index: usize,
    has_offset_out: *mut bool,
    offset_out: *mut u64,
    message_out: *mut *const c_char,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let has_offset_out = unsafe { arg_out(has_offset_out, "has_offset_out") }?;
        let offset_out = unsafe { arg_out(offset_out, "offset_out") }?;
        let message_out = unsafe { arg_out(message_out, "message_out") }?;
        let warnings = t.meta.warnings();
        let warning = warnings
            .get(index)
            .ok_or_else(|| out_of_range("warning", index, warnings.len()))?;
        has_offset_out.put(warning.offset.is_some());
        offset_out.put(warning.offset.unwrap_or(0) as u64);
        message_out.put(t.strings.get(Text::Warning(index), || &warning.message));
        Ok(())
    })
}

// ---- writing ----------------------------------------------------------------------------------

/// The torrent as it would be saved (the loaded bytes, unless an outer field was edited) in a
/// new buffer: `*data_out` points at `*len_out` bytes.
///
/// Ownership: the caller owns the buffer and frees it with `bittern_bytes_free(data, len)`.
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_to_bytes(
    torrent: *const bittern_torrent,
    data_out: *mut *mut u8,
    len_out: *mut usize,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let data_out = unsafe { arg_out(data_out, "data_out") }?;
        let len_out = unsafe { arg_out(len_out, "len_out") }?;
        let (data, len) = into_owned_bytes(t.meta.to_bytes());
        data_out.put(data);
        len_out.put(len);
        Ok(())
    })
}

/// Writes the torrent to the file at `path` (bytes as the OS takes them; they need not be UTF-8), through a temporary file and a rename so
/// that a crash never leaves half a torrent. Errors: `BITTERN_RESULT_IO`.
///
/// Thread safety: read-only on the torrent.
#[no_mangle]
pub extern "C" fn bittern_torrent_save(
    torrent: *const bittern_torrent,
    path: *const c_char,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(torrent, "torrent") }?;
        let path = unsafe { arg_path(path, "path") }?;
        t.meta.save(path)?;
        Ok(())
    })
}

// ---- setters ----------------------------------------------------------------------------------
// Each rewrites the top-level dictionary around the same `info` bytes: the info-hash stays.

/// Sets the `announce` URL (UTF-8); NULL removes it.
///
/// Ownership: `url` is copied. Thread safety: needs exclusive access to the torrent; ends every
/// string and byte pointer borrowed from it.
#[no_mangle]
pub extern "C" fn bittern_torrent_set_announce(
    torrent: *mut bittern_torrent,
    url: *const c_char,
) -> bittern_result {
    set_text(torrent, url, "url", Metainfo::set_announce)
}

/// Sets the comment (UTF-8); NULL removes it.
///
/// Ownership: `comment` is copied. Thread safety: needs exclusive access to the torrent; ends
/// every string and byte pointer borrowed from it.
#[no_mangle]
pub extern "C" fn bittern_torrent_set_comment(
    torrent: *mut bittern_torrent,
    comment: *const c_char,
) -> bittern_result {
    set_text(torrent, comment, "comment", Metainfo::set_comment)
}

/// Sets `created by` (UTF-8); NULL removes it.
///
/// Ownership: `created_by` is copied. Thread safety: needs exclusive access to the torrent;
/// ends every string and byte pointer borrowed from it.
#[no_mangle]
pub extern "C" fn bittern_torrent_set_created_by(
    torrent: *mut bittern_torrent,
    created_by: *const c_char,
) -> bittern_result {
    set_text(torrent, created_by, "created_by", Metainfo::set_created_by)
}

/// Sets the creation date, in seconds since the Unix epoch.
///
/// Thread safety: needs exclusive access to the torrent; ends every string and byte pointer
/// borrowed from it.
#[no_mangle]
pub extern "C" fn bittern_torrent_set_creation_date(
    torrent: *mut bittern_torrent,
    date: i64,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg_mut(torrent, "torrent") }?;
        t.edit(|m| m.set_creation_date(Some(date)));
        Ok(())
    })
}

/// Removes the creation date.
///
/// Thread safety: needs exclusive access to the torrent; ends every string and byte pointer
/// borrowed from it.
#[no_mangle]
pub extern "C" fn bittern_torrent_clear_creation_date(
    torrent: *mut bittern_torrent,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg_mut(torrent, "torrent") }?;
        t.edit(|m| m.set_creation_date(None));
        Ok(())
    })
}

/// Adds tracker `url` (UTF-8) to `announce-list` tier `tier`; `tier` may equal the tier count to
/// start a new tier (a larger one gives `BITTERN_RESULT_INVALID_ARGUMENT`). `announce` is not
/// changed.
///
/// Ownership: `url` is copied. Thread safety: needs exclusive access to the torrent; ends every
/// string and byte pointer borrowed from it.
#[no_mangle]
pub extern "C" fn bittern_torrent_announce_list_add(
    torrent: *mut bittern_torrent,
    url: *const c_char,
    tier: usize,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg_mut(torrent, "torrent") }?;
        let url = unsafe { arg_str(url, "url") }?;
        let mut tiers = t.meta.announce_list().to_vec();
        add_to_tier(&mut tiers, url, tier)?;
        t.edit(|m| m.set_announce_list(tiers));
        Ok(())
    })
}

/// Removes `announce-list` (every tier). `announce` is not changed.
///
/// Thread safety: needs exclusive access to the torrent; ends every string and byte pointer
/// borrowed from it.
#[no_mangle]
pub extern "C" fn bittern_torrent_announce_list_clear(
    torrent: *mut bittern_torrent,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg_mut(torrent, "torrent") }?;
        t.edit(|m| m.set_announce_list(Vec::new()));
        Ok(())
    })
}

/// Adds web seed `url` (UTF-8) to the end of `url-list` (BEP 19).
///
/// Ownership: `url` is copied. Thread safety: needs exclusive access to the torrent; ends every
/// string and byte pointer borrowed from it.
#[no_mangle]
pub extern "C" fn bittern_torrent_url_list_add(
    torrent: *mut bittern_torrent,
    url: *const c_char,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg_mut(torrent, "torrent") }?;
        let url = unsafe { arg_str(url, "url") }?;
        let mut urls = t.meta.url_list().to_vec();
        urls.push(url.to_owned());
        t.edit(|m| m.set_url_list(urls));
        Ok(())
    })
}

/// Removes `url-list` (every web seed).
///
/// Thread safety: needs exclusive access to the torrent; ends every string and byte pointer
/// borrowed from it.
#[no_mangle]
pub extern "C" fn bittern_torrent_url_list_clear(torrent: *mut bittern_torrent) -> bittern_result {
    guard(|| {
        let t = unsafe { arg_mut(torrent, "torrent") }?;
        t.edit(|m| m.set_url_list(Vec::new()));
        Ok(())
    })
}
