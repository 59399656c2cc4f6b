//! What bittern hands over to C and C hands back to be freed: handles (`Box`), bytes
//! (`bittern_bytes_free`) and strings (`bittern_string_free`).

use crate::{c_string, guard_value};
use std::ffi::{c_char, CString};
use std::ptr;

/// Frees bytes that bittern handed over with their length (such as from
/// `bittern_torrent_to_bytes`). `len` must be the length given with them. NULL is a no-op.
///
/// Ownership: takes ownership of `data`; do not use it afterwards. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_bytes_free(data: *mut u8, len: usize) {
    guard_value((), || {
        if !data.is_null() {
            // SAFETY: `data` and `len` came from `into_owned_bytes`, a `Box<[u8]>`.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(data, len)) });
        }
        Ok(())
    })
}

/// Hands bytes to C, to be freed by `bittern_bytes_free(data, len)`.
pub(crate) fn into_owned_bytes(bytes: Vec<u8>) -> (*mut u8, usize) {
    let len = bytes.len();
    (Box::into_raw(bytes.into_boxed_slice()).cast::<u8>(), len)
}

/// Frees a string that bittern handed over as `char *` (such as from
/// `bittern_tracker_next_log_line`). NULL is a no-op.
///
/// Ownership: takes ownership of `string`; do not use it afterwards. Only strings documented as
/// freed by this function may be passed (never a `const char *` borrowed from a handle). Thread
/// safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_string_free(string: *mut c_char) {
    guard_value((), || {
        if !string.is_null() {
            // SAFETY: `string` came from `into_owned_string`, a `CString`.
            drop(unsafe { CString::from_raw(string) });
        }
        Ok(())
    })
}

/// Hands a string to C, to be freed by `bittern_string_free`.
pub(crate) fn into_owned_string(s: &str) -> *mut c_char {
    c_string(s).into_raw()
}

/// Moves a handle to C.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Ends a handle made by [`into_handle`]; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or came from [`into_handle`] and has not been freed.
pub(crate) unsafe fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        drop(unsafe { Box::from_raw(p) });
    }
}
