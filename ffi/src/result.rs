//! `bittern_result`: the code every fallible call returns, and its name.

use crate::guard_value;
use std::ffi::{c_char, CStr};
use std::ptr;

/// What a fallible call did. The numbers are part of the ABI and never change; new codes are
/// only ever added at the end.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bittern_result {
    /// Success: the `*_out` arguments were written.
    Ok = 0,
    /// Malformed or non-canonical bencode (`bittern_last_error_offset` gives the byte offset).
    Bencode = 1,
    /// A torrent that is invalid, or that cannot be made as asked.
    Metainfo = 2,
    /// A tracker failed or answered with an error.
    Tracker = 3,
    /// A peer or network failure, or a `.torrent` that could not be fetched from its URL.
    Network = 4,
    /// Reading or writing a file failed.
    Io = 5,
    /// An argument has a value that is not allowed (bad index, invalid UTF-8, wrong node type).
    InvalidArgument = 6,
    /// A pointer argument that must not be NULL was NULL.
    NullParameter = 7,
    /// The caller cancelled the work (a progress callback returned false).
    Cancelled = 8,
    /// The work did not finish in time.
    Timeout = 9,
    /// What was asked for is absent (a dictionary key, an optional field).
    NotFound = 10,
    /// An internal error (a caught panic): a bug in bittern, please report it.
    Panic = 11,
}

crate::enum_arg::enum_arg!(bittern_result_arg => bittern_result [Ok, Bencode, Metainfo, Tracker, Network, Io, InvalidArgument, NullParameter, Cancelled, Timeout, NotFound, Panic]);

/// The name of a result code as a static NUL-terminated string, such as
/// `"BITTERN_RESULT_OK"`; NULL (and a last error) for a `result` that is none of the
/// `bittern_result` values, such as a newer library's.
///
/// Ownership: the string is static; never free it. Thread safety: may be called from any
/// thread.
#[no_mangle]
pub extern "C" fn bittern_result_name(result: bittern_result_arg) -> *const c_char {
    guard_value(ptr::null(), || {
        let name: &CStr = match result.value("result")? {
            bittern_result::Ok => c"BITTERN_RESULT_OK",
            bittern_result::Bencode => c"BITTERN_RESULT_BENCODE",
            bittern_result::Metainfo => c"BITTERN_RESULT_METAINFO",
            bittern_result::Tracker => c"BITTERN_RESULT_TRACKER",
            bittern_result::Network => c"BITTERN_RESULT_NETWORK",
            bittern_result::Io => c"BITTERN_RESULT_IO",
            bittern_result::InvalidArgument => c"BITTERN_RESULT_INVALID_ARGUMENT",
            bittern_result::NullParameter => c"BITTERN_RESULT_NULL_PARAMETER",
            bittern_result::Cancelled => c"BITTERN_RESULT_CANCELLED",
            bittern_result::Timeout => c"BITTERN_RESULT_TIMEOUT",
            bittern_result::NotFound => c"BITTERN_RESULT_NOT_FOUND",
            bittern_result::Panic => c"BITTERN_RESULT_PANIC",
        };
        Ok(name.as_ptr())
    })
}
