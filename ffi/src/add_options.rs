//! `bittern_add_options`: how `bittern_session_add` adds a torrent.

use crate::{arg_mut, arg_out, bittern_result, free_handle, guard, guard_value, into_handle};
use bittern_core::session::AddOptions;
use std::path::Path;

/// How `bittern_session_add` adds a torrent. Made by `bittern_add_options_new`, ended by
/// `bittern_add_options_free`.
///
/// Defaults: download what is missing, after checking the data already in the save folder.
///
/// Thread safety: the setters need exclusive access; adding only reads the options, so several
/// threads may add with the same options at once.
#[derive(Default)]
pub struct bittern_add_options {
    /// Core's options; the save folder is the one given to `bittern_session_add`.
    inner: AddOptions,
}

impl bittern_add_options {
    /// Core's options to add a torrent with `options` (None: the defaults), its data in
    /// `save_dir`.
    pub(crate) fn to_core(options: Option<&Self>, save_dir: &Path) -> AddOptions {
        AddOptions {
            save_dir: save_dir.to_path_buf(),
            ..options.map_or_else(AddOptions::default, |o| o.inner.clone())
        }
    }
}

/// Makes new add options with the defaults at `*options_out`.
///
/// Ownership: free them with `bittern_add_options_free`. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_add_options_new(
    options_out: *mut *mut bittern_add_options,
) -> bittern_result {
    guard(|| {
        let out = unsafe { arg_out(options_out, "options_out") }?;
        out.put(into_handle(bittern_add_options::default()));
        Ok(())
    })
}

/// Frees add options. NULL is a no-op.
///
/// Ownership: takes ownership of `options`. Thread safety: no other thread may be using them.
#[no_mangle]
pub extern "C" fn bittern_add_options_free(options: *mut bittern_add_options) {
    guard_value((), || {
        unsafe { free_handle(options) };
        Ok(())
    })
}

/// Upload only, never asking peers for pieces (default false): for an origin seeder pointed at
/// complete data. Pieces missing from the save folder are not downloaded.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_add_options_set_seed_only(
    options: *mut bittern_add_options,
    seed_only: bool,
) -> bittern_result {
    guard(|| {
        unsafe { arg_mut(options, "options") }?.inner.seed_only = seed_only;
        Ok(())
    })
}

/// Takes the data in the save folder as complete without checking it (default false): for an
/// origin seeder that made the torrent from these very files. Peers still check every piece
/// they get, so wrong data is refused by them, not spread.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_add_options_set_trust_data(
    options: *mut bittern_add_options,
    trust_data: bool,
) -> bittern_result {
    guard(|| {
        unsafe { arg_mut(options, "options") }?.inner.trust_data = trust_data;
        Ok(())
    })
}
