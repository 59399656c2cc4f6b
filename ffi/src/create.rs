//! `bittern_create_options` and `bittern_torrent_create`: making a torrent from a file or folder.

use crate::torrent::{add_to_tier, bittern_torrent};
use crate::{
    arg_mut, arg_opt_str, arg_out, arg_path, arg_str, bittern_result, free_handle, guard,
    guard_value, into_handle, Failure,
};
use bittern_core::metainfo::{create, CreateOptions, Progress};
use std::ffi::{c_char, c_void};

/// What to put in a new torrent besides its files. Made by `bittern_create_options_new`,
/// ended by `bittern_create_options_free`.
///
/// Defaults: no trackers, automatic piece length, the file's or folder's name, no comment,
/// `created by` = `"bittern <version>"`, creation date = the time `bittern_create_options_new`
/// was called, not private, no web seeds, hidden files left out, one hashing thread per core.
///
/// Thread safety: the setters need exclusive access; `bittern_torrent_create` only reads the
/// options, so several threads may create torrents from the same options at once.
pub struct bittern_create_options {
    inner: CreateOptions,
}

/// Reports hashing progress during `bittern_torrent_create`: `bytes_done` of `bytes_total`
/// bytes are hashed. Return true to go on, false to cancel (`bittern_torrent_create` then
/// returns `BITTERN_RESULT_CANCELLED`).
///
/// It runs on the thread that called `bittern_torrent_create`, about every 100 ms and once at
/// the end with `bytes_done == bytes_total`. It must not call back into the same create.
pub type bittern_progress_callback =
    Option<extern "C" fn(bytes_done: u64, bytes_total: u64, user_data: *mut c_void) -> bool>;

/// Makes a new set of options with the defaults at `*options_out`.
///
/// Ownership: free it with `bittern_create_options_free`. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_create_options_new(
    options_out: *mut *mut bittern_create_options,
) -> bittern_result {
    guard(|| {
        let out = unsafe { arg_out(options_out, "options_out") }?;
        out.put(into_handle(bittern_create_options {
            inner: CreateOptions::default(),
        }));
        Ok(())
    })
}

/// Frees options. NULL is a no-op.
///
/// Ownership: takes ownership of `options`. Thread safety: no other thread may be using them.
#[no_mangle]
pub extern "C" fn bittern_create_options_free(options: *mut bittern_create_options) {
    guard_value((), || {
        unsafe { free_handle(options) };
        Ok(())
    })
}

/// Runs `edit` on the options behind `options` (the body of every setter).
fn edit_options(
    options: *mut bittern_create_options,
    edit: impl FnOnce(&mut CreateOptions) -> Result<(), Failure>,
) -> bittern_result {
    guard(|| edit(&mut unsafe { arg_mut(options, "options") }?.inner))
}

/// Adds tracker `url` (UTF-8) to BEP 12 tier `tier`; `tier` may equal the number of tiers so
/// far to start a new one (a larger one gives `BITTERN_RESULT_INVALID_ARGUMENT`). The first
/// tracker becomes `announce`; with more than one, `announce-list` is written too.
///
/// Ownership: `url` is copied. Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_create_options_add_tracker(
    options: *mut bittern_create_options,
    url: *const c_char,
    tier: usize,
) -> bittern_result {
    edit_options(options, |o| {
        add_to_tier(&mut o.trackers, unsafe { arg_str(url, "url") }?, tier)
    })
}

/// Sets the piece length in bytes: a power of two from 16 KiB to 256 MiB (checked by
/// `bittern_torrent_create`), or 0 to choose one from the total size.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_create_options_set_piece_length(
    options: *mut bittern_create_options,
    piece_length: u64,
) -> bittern_result {
    edit_options(options, |o| {
        o.piece_length = (piece_length != 0).then_some(piece_length);
        Ok(())
    })
}

/// Sets the torrent's name (UTF-8); NULL goes back to the file's or folder's name.
///
/// Ownership: `name` is copied. Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_create_options_set_name(
    options: *mut bittern_create_options,
    name: *const c_char,
) -> bittern_result {
    edit_options(options, |o| {
        o.name = unsafe { arg_opt_str(name, "name") }?.map(str::to_owned);
        Ok(())
    })
}

/// Sets the comment (UTF-8); NULL leaves it out.
///
/// Ownership: `comment` is copied. Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_create_options_set_comment(
    options: *mut bittern_create_options,
    comment: *const c_char,
) -> bittern_result {
    edit_options(options, |o| {
        o.comment = unsafe { arg_opt_str(comment, "comment") }?.map(str::to_owned);
        Ok(())
    })
}

/// Sets `created by` (UTF-8); NULL leaves it out.
///
/// Ownership: `created_by` is copied. Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_create_options_set_created_by(
    options: *mut bittern_create_options,
    created_by: *const c_char,
) -> bittern_result {
    edit_options(options, |o| {
        o.created_by = unsafe { arg_opt_str(created_by, "created_by") }?.map(str::to_owned);
        Ok(())
    })
}

/// Sets the creation date, in seconds since the Unix epoch.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_create_options_set_creation_date(
    options: *mut bittern_create_options,
    date: i64,
) -> bittern_result {
    edit_options(options, |o| {
        o.creation_date = Some(date);
        Ok(())
    })
}

/// Leaves the creation date out (for output that depends only on the files and options).
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_create_options_clear_creation_date(
    options: *mut bittern_create_options,
) -> bittern_result {
    edit_options(options, |o| {
        o.creation_date = None;
        Ok(())
    })
}

/// Sets the BEP 27 private flag.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_create_options_set_private(
    options: *mut bittern_create_options,
    private: bool,
) -> bittern_result {
    edit_options(options, |o| {
        o.private = private;
        Ok(())
    })
}

/// Adds BEP 19 web seed `url` (UTF-8) to `url-list`.
///
/// Ownership: `url` is copied. Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_create_options_add_web_seed(
    options: *mut bittern_create_options,
    url: *const c_char,
) -> bittern_result {
    edit_options(options, |o| {
        o.url_list.push(unsafe { arg_str(url, "url") }?.to_owned());
        Ok(())
    })
}

/// Includes files and folders whose names start with `.` (left out by default).
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_create_options_set_include_hidden(
    options: *mut bittern_create_options,
    include_hidden: bool,
) -> bittern_result {
    edit_options(options, |o| {
        o.include_hidden = include_hidden;
        Ok(())
    })
}

/// Sets the number of hashing threads; 0 means one per core.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_create_options_set_threads(
    options: *mut bittern_create_options,
    threads: usize,
) -> bittern_result {
    edit_options(options, |o| {
        o.threads = threads;
        Ok(())
    })
}

/// Creates a torrent from the file or folder at `path` (bytes as the OS takes them; they need not be UTF-8) into a new torrent at
/// `*torrent_out`.
///
/// A file makes a single-file torrent, a folder a multi-file one (files in byte order of their
/// paths; hidden ones left out unless asked; symbolic links followed). `options` may be NULL for
/// the defaults. `progress` may be NULL; otherwise it is called on this thread with `user_data`
/// (see `bittern_progress_callback`), and returning false cancels with
/// `BITTERN_RESULT_CANCELLED`. Errors: `BITTERN_RESULT_IO` (cannot read, or a file changed while
/// hashed), `BITTERN_RESULT_METAINFO` (bad options, nothing to put in the torrent).
///
/// Ownership: free the torrent with `bittern_torrent_free`; `options` stay the caller's.
/// Thread safety: blocks the calling thread while hashing (on worker threads of its own); only
/// reads `options`.
#[no_mangle]
pub extern "C" fn bittern_torrent_create(
    path: *const c_char,
    options: *const bittern_create_options,
    progress: bittern_progress_callback,
    user_data: *mut c_void,
    torrent_out: *mut *mut bittern_torrent,
) -> bittern_result {
    guard(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let out = unsafe { arg_out(torrent_out, "torrent_out") }?;
        let defaults = CreateOptions::default();
        // SAFETY: `options` is NULL (the defaults) or points at live options.
        let options = unsafe { options.as_ref() }.map_or(&defaults, |o| &o.inner);
        let report =
            |p: Progress| progress.is_none_or(|f| f(p.bytes_done, p.bytes_total, user_data));
        let meta = create(path, options, report)?;
        out.put(into_handle(bittern_torrent::new(meta)));
        Ok(())
    })
}
