//! The C ABI of bittern: `libbittern.so` / `libbittern.a` and `include/bittern.h`.
//!
//! This crate only translates between C and `bittern-core`: types, errors, ownership and
//! threads. The conventions every function follows (they are also written at the top of the
//! generated header):
//!
//! - Every fallible function returns a [`bittern_result`]; outputs go through trailing `*_out`
//!   pointers that are written only when the result is `BITTERN_RESULT_OK`.
//! - Each exported body runs inside [`guard`] (or [`guard_value`]): pointers are checked for NULL
//!   before use, strings for UTF-8, and a panic is caught and becomes `BITTERN_RESULT_PANIC`.
//!   Whatever fails leaves a message (and, for bencode errors, a byte offset) in a thread-local
//!   last error.
//! - One Rust file per C type: this file holds the result codes, the guard, the last error and
//!   the version; `bencode.rs`, `torrent.rs`, `create.rs`, `tracker.rs` (the tracker server),
//!   `announce.rs` (the tracker client), `session.rs` (sessions and their torrents) and
//!   `event.rs` (what a session reports) hold their handles; `log.rs` switches the engine's
//!   diagnostics.

// Types are named as C sees them (`bittern_torrent`, `bittern_result`).
#![allow(non_camel_case_types)]
// Exported functions are called from C, which has no `unsafe`: each one documents the contract
// for its pointers, and the guard checks them for NULL before any dereference (as rustls-ffi).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod announce;
pub mod bencode;
pub mod create;
pub mod event;
pub mod log;
pub mod session;
pub mod torrent;
pub mod tracker;

use bittern_core::bencode::BencodeError;
use bittern_core::metainfo::MetainfoError;
use bittern_core::tracker::TrackerError;
use bittern_core::ErrorKind;
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::hash::Hash;
use std::net::{SocketAddr, ToSocketAddrs};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::{Mutex, PoisonError};

/// Major version of libbittern (the workspace version).
pub const BITTERN_VERSION_MAJOR: u32 = 0;
/// Minor version of libbittern.
pub const BITTERN_VERSION_MINOR: u32 = 1;
/// Patch version of libbittern.
pub const BITTERN_VERSION_PATCH: u32 = 0;

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
    /// A peer or network failure.
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

/// The name of a result code as a static NUL-terminated string, such as
/// `"BITTERN_RESULT_OK"`.
///
/// Ownership: the string is static; never free it. Thread safety: may be called from any
/// thread. `result` must be one of the `bittern_result` values.
#[no_mangle]
pub extern "C" fn bittern_result_name(result: bittern_result) -> *const c_char {
    guard_value(ptr::null(), || {
        let name: &CStr = match result {
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

/// The library's version, `"MAJOR.MINOR.PATCH"`, as a static NUL-terminated string. It matches
/// the `BITTERN_VERSION_*` macros of the header the library was built with.
///
/// Ownership: the string is static; never free it. Thread safety: may be called from any thread.
#[no_mangle]
pub extern "C" fn bittern_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("the crate version holds a NUL"),
        };
    guard_value(ptr::null(), || Ok(VERSION.as_ptr()))
}

// ---- failures and the last error --------------------------------------------------------------

/// Why a call failed: its code, and what the last error will say.
#[derive(Debug)]
pub(crate) struct Failure {
    code: bittern_result,
    message: String,
    offset: Option<u64>,
    /// The OS's error number, for a failure the system reported.
    errno: Option<i32>,
    /// The file the failure is about.
    path: Option<std::path::PathBuf>,
}

impl Failure {
    pub(crate) fn new(code: bittern_result, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            offset: None,
            errno: None,
            path: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(bittern_result::InvalidArgument, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(bittern_result::NotFound, message)
    }

    fn null(name: &str) -> Self {
        Self::new(bittern_result::NullParameter, format!("`{name}` is NULL"))
    }

    fn panic(payload: &(dyn Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown cause");
        Self::new(
            bittern_result::Panic,
            format!("internal error (a bug in bittern, please report it): {what}"),
        )
    }

    /// Makes this the thread's last error and returns its code.
    fn record(self) -> bittern_result {
        let code = self.code;
        let last = LastError {
            message: without_nul(&self.message),
            offset: self.offset,
            errno: self.errno,
            path: self.path,
        };
        // `try_with`: during thread teardown there is nowhere to keep it, and that is fine.
        let _ = LAST_ERROR.try_with(|cell| *cell.borrow_mut() = Some(last));
        code
    }
}

/// The one place core errors become result codes.
impl From<bittern_core::Error> for Failure {
    fn from(e: bittern_core::Error) -> Self {
        let code = match e.kind() {
            ErrorKind::Bencode => bittern_result::Bencode,
            ErrorKind::Metainfo => bittern_result::Metainfo,
            ErrorKind::Io => bittern_result::Io,
            ErrorKind::Cancelled => bittern_result::Cancelled,
            ErrorKind::Tracker => bittern_result::Tracker,
            ErrorKind::InvalidArgument => bittern_result::InvalidArgument,
            ErrorKind::Network => bittern_result::Network,
            ErrorKind::Timeout => bittern_result::Timeout,
            // A kind this face does not know yet: an internal error until it is mapped here.
            _ => bittern_result::Panic,
        };
        Failure {
            code,
            message: e.to_string(),
            offset: e.offset().map(|o| o as u64),
            errno: e.os_error().and_then(std::io::Error::raw_os_error),
            path: e.path().map(Into::into),
        }
    }
}

impl From<MetainfoError> for Failure {
    fn from(e: MetainfoError) -> Self {
        bittern_core::Error::from(e).into()
    }
}

impl From<BencodeError> for Failure {
    fn from(e: BencodeError) -> Self {
        bittern_core::Error::from(e).into()
    }
}

impl From<bittern_core::session::SessionError> for Failure {
    fn from(e: bittern_core::session::SessionError) -> Self {
        bittern_core::Error::from(e).into()
    }
}

impl From<TrackerError> for Failure {
    fn from(e: TrackerError) -> Self {
        bittern_core::Error::from(e).into()
    }
}

impl From<bittern_core::log::LogError> for Failure {
    fn from(e: bittern_core::log::LogError) -> Self {
        bittern_core::Error::from(e).into()
    }
}

struct LastError {
    message: String,
    offset: Option<u64>,
    errno: Option<i32>,
    path: Option<std::path::PathBuf>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// Copies the message of the last call on this thread that failed into `buf` and returns the
/// message's full length in bytes (not counting the NUL).
///
/// At most `len - 1` bytes are copied (cut at a UTF-8 character boundary) followed by a NUL;
/// with `buf` NULL or `len` 0 nothing is written, so `bittern_last_error_message(NULL, 0) + 1`
/// is the size of buffer the whole message needs. Returns 0 (and writes `""`) when no call on
/// this thread has failed yet. Successful calls leave the last error as it was.
///
/// Ownership: `buf` is the caller's. Thread safety: the last error is per thread; this reads
/// the calling thread's.
#[no_mangle]
pub extern "C" fn bittern_last_error_message(buf: *mut c_char, len: usize) -> usize {
    catch(|| {
        Ok(LAST_ERROR.with_borrow(|last| {
            let message = last.as_ref().map_or("", |l| l.message.as_str());
            let mut n = message.len().min(len.saturating_sub(1));
            while !message.is_char_boundary(n) {
                n -= 1;
            }
            unsafe { copy_with_nul(&message.as_bytes()[..n], buf, len) };
            message.len()
        }))
    })
    .unwrap_or(0)
}

/// Copies the path of the file the last failed call on this thread was about (the bytes the
/// OS uses for it) into `buf`, as `bittern_last_error_message` copies the message, and returns
/// its full length; 0 (and `""`) when the last error names no file.
///
/// Ownership: `buf` is the caller's. Thread safety: reads the calling thread's last error.
#[no_mangle]
pub extern "C" fn bittern_last_error_path(buf: *mut c_char, len: usize) -> usize {
    use std::os::unix::ffi::OsStrExt;
    catch(|| {
        Ok(LAST_ERROR.with_borrow(|last| {
            let path = last
                .as_ref()
                .and_then(|l| l.path.as_deref())
                .map_or(&[][..], |p| p.as_os_str().as_bytes());
            let n = path.len().min(len.saturating_sub(1));
            unsafe { copy_with_nul(&path[..n], buf, len) };
            path.len()
        }))
    })
    .unwrap_or(0)
}

/// Writes `bytes` and a NUL to `buf` when it is not NULL and `len` is more than
/// `bytes.len()`.
///
/// # Safety
/// `buf` is NULL or has `len` writable bytes.
unsafe fn copy_with_nul(bytes: &[u8], buf: *mut c_char, len: usize) {
    if !buf.is_null() && bytes.len() < len {
        // SAFETY: the caller provides `len` writable bytes at `buf`, more than `bytes`.
        unsafe {
            ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
            *buf.add(bytes.len()) = 0;
        }
    }
}

/// Writes the operating system's error number (`errno`, such as `ENOENT` or `ENOSPC`) of the
/// last failed call on this thread to `*errno_out`.
///
/// Returns `BITTERN_RESULT_OK` when the system reported the failure (a file that cannot be
/// opened, read or written, an address that cannot be bound), `BITTERN_RESULT_NOT_FOUND`
/// otherwise. It does not change the last error itself.
///
/// Thread safety: reads the calling thread's last error.
#[no_mangle]
pub extern "C" fn bittern_last_error_os_error(errno_out: *mut i32) -> bittern_result {
    let found = catch(|| {
        let out = unsafe { arg_out(errno_out, "errno_out") }?;
        let errno = LAST_ERROR.with_borrow(|last| last.as_ref().and_then(|l| l.errno));
        out.put(errno.ok_or_else(|| Failure::not_found("the last error has no OS error"))?);
        Ok(())
    });
    found.map_or_else(|f| f.code, |()| bittern_result::Ok)
}

/// Writes the byte offset of the last error on this thread to `*offset_out`.
///
/// Returns `BITTERN_RESULT_OK` when the last failed call was a bencode error (which always has
/// an offset into the input), `BITTERN_RESULT_NOT_FOUND` otherwise (and when nothing has failed
/// yet). It does not change the last error itself.
///
/// Thread safety: reads the calling thread's last error.
#[no_mangle]
pub extern "C" fn bittern_last_error_offset(offset_out: *mut u64) -> bittern_result {
    let found = catch(|| {
        let out = unsafe { arg_out(offset_out, "offset_out") }?;
        let offset = LAST_ERROR.with_borrow(|last| last.as_ref().and_then(|l| l.offset));
        let offset = offset.ok_or_else(|| Failure::not_found("the last error has no offset"))?;
        out.put(offset);
        Ok(())
    });
    found.map_or_else(|f| f.code, |()| bittern_result::Ok)
}

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

// ---- structs that grow at the end -------------------------------------------------------------

/// Where each field of a `struct_size`-first struct lies: `(offset, size)` pairs, in order.
macro_rules! field_spans {
    ($ty:ty, $value:expr; $($field:ident),+ $(,)?) => {
        [$((std::mem::offset_of!($ty, $field), std::mem::size_of_val(&$value.$field))),+]
    };
}
pub(crate) use field_spans;

/// Writes `value` to the caller's struct at `out`, which starts with a `size_t struct_size` that
/// the caller set to the size of its own (perhaps older, smaller) struct: only the fields that
/// lie wholly within it are written, and then `struct_size` is set to where the written fields
/// end (`sizeof` ours when the caller's struct is at least as large). `fields` are
/// [`field_spans!`] of every field but `struct_size`. A `struct_size` smaller than a `size_t` gives `BITTERN_RESULT_INVALID_ARGUMENT`
/// and writes nothing.
///
/// # Safety
/// `out` is NULL or points to `struct_size` writable bytes, aligned for `T`, whose first field is
/// a `usize` set by the caller (the struct may be smaller than `T`, so no `&mut T` is made).
pub(crate) unsafe fn put_sized<T>(
    out: *mut T,
    name: &str,
    value: &T,
    fields: &[(usize, usize)],
) -> Result<(), Failure> {
    let out = NonNull::new(out).ok_or_else(|| Failure::null(name))?;
    let base = out.as_ptr().cast::<u8>();
    // SAFETY: the caller's struct starts with its `struct_size`.
    let size = unsafe { base.cast::<usize>().read() };
    if size < std::mem::size_of::<usize>() {
        return Err(Failure::invalid(format!(
            "`{name}->struct_size` is {size}: set it to sizeof the struct"
        )));
    }
    let from = (value as *const T).cast::<u8>();
    let mut written = std::mem::size_of::<usize>();
    for &(offset, len) in fields {
        if offset + len <= size {
            // SAFETY: the field lies within both `value` and the caller's `size` bytes.
            unsafe { ptr::copy_nonoverlapping(from.add(offset), base.add(offset), len) };
            written = written.max(offset + len);
        }
    }
    if size >= std::mem::size_of::<T>() {
        written = std::mem::size_of::<T>();
    }
    // SAFETY: as the read above.
    unsafe { base.cast::<usize>().write(written) };
    Ok(())
}

// ---- SIGPIPE ----------------------------------------------------------------------------------

/// A write to a connection the other end closed fails with EPIPE and, by default, also raises
/// SIGPIPE, which ends the process. Rust and Python programs ignore SIGPIPE from the start; a C
/// program does not, so the functions that start network I/O call this: SIGPIPE is ignored
/// from then on if it was at its default (a handler of the program's own is kept).
pub(crate) fn ignore_sigpipe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sigaction with a zeroed struct only reads the current disposition; signal
        // changes it only from the default, which no one else relies on being fatal.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut current) == 0
                && current.sa_sigaction == libc::SIG_DFL
            {
                libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            }
        }
    });
}

// ---- the guard --------------------------------------------------------------------------------

/// Runs `body`, turning a panic into a failure.
fn catch<T>(body: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| Err(Failure::panic(&*payload)))
}

/// The guard of a function that returns a [`bittern_result`]: runs `body`, catches a panic and
/// records any failure as the thread's last error.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> bittern_result {
    match catch(body) {
        Ok(()) => bittern_result::Ok,
        Err(failure) => failure.record(),
    }
}

/// The guard of a function that returns a value: on failure (a NULL handle, a panic) it records
/// the last error and returns `fallback` (NULL, 0 or false).
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> Result<T, Failure>) -> T {
    catch(body).unwrap_or_else(|failure| {
        failure.record();
        fallback
    })
}

// ---- arguments --------------------------------------------------------------------------------

/// Borrows the value behind a pointer argument.
///
/// # Safety
/// `p` is NULL or points to a live `T` that nothing mutates during `'a`.
pub(crate) unsafe fn arg<'a, T>(p: *const T, name: &str) -> Result<&'a T, Failure> {
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// Borrows the value behind a pointer argument mutably.
///
/// # Safety
/// `p` is NULL or points to a live `T` that nothing else uses during `'a`.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// A C string argument as UTF-8.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that lives for `'a`.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str, Failure> {
    unsafe { arg_opt_str(p, name) }?.ok_or_else(|| Failure::null(name))
}

/// A file path argument: raw bytes, as the operating system takes them (Linux file names need
/// not be UTF-8).
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_path<'a>(
    p: *const c_char,
    name: &str,
) -> Result<&'a std::path::Path, Failure> {
    use std::os::unix::ffi::OsStrExt;
    if p.is_null() {
        return Err(Failure::null(name));
    }
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(bytes)))
}

/// A C string argument that may be NULL (`None`).
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_opt_str<'a>(
    p: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map(Some)
        .map_err(|e| Failure::invalid(format!("`{name}` is not valid UTF-8: {e}")))
}

/// A `(data, len)` argument; `data` may be NULL when `len` is 0.
///
/// # Safety
/// `data` is NULL or points to `len` readable bytes that live for `'a`.
pub(crate) unsafe fn arg_bytes<'a>(
    data: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], Failure> {
    match (data.is_null(), len) {
        (true, 0) => Ok(&[]),
        (true, _) => Err(Failure::null(name)),
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(data, len) }),
    }
}

/// A `"host:port"` address, such as `"127.0.0.1:0"`, `"[::1]:80"` or `"localhost:6881"` (a name
/// is resolved now, and its first address taken). `what` names it in the error.
pub(crate) fn parse_host_port(what: &str, address: &str) -> Result<SocketAddr, Failure> {
    if let Ok(addr) = address.parse() {
        return Ok(addr);
    }
    let bad =
        |why: String| Failure::invalid(format!("{what} {address:?} is not \"host:port\": {why}"));
    address
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("the name has no address".into()))
}

/// An output argument, checked for NULL up front and written (only) on success.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    pub(crate) fn put(self, value: T) {
        // SAFETY: `arg_out`'s caller promised a writable `T` (possibly uninitialised) behind it.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// Checks an output argument.
///
/// # Safety
/// `p` is NULL or points to writable memory for a `T` that lives until [`Out::put`].
pub(crate) unsafe fn arg_out<T>(p: *mut T, name: &str) -> Result<Out<T>, Failure> {
    NonNull::new(p).map(Out).ok_or_else(|| Failure::null(name))
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

// ---- strings handed to C ----------------------------------------------------------------------

/// `s` as a C string: a NUL inside it would cut the C string short, so each becomes U+FFFD.
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(without_nul(s)).unwrap_or_default()
}

fn without_nul(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

/// C strings made on first request and kept until [`CStrCache::clear`], so a handle can return
/// `const char *` that borrow from it, from several threads at once.
pub(crate) struct CStrCache<K>(Mutex<HashMap<K, CString>>);

impl<K> Default for CStrCache<K> {
    fn default() -> Self {
        CStrCache(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash> CStrCache<K> {
    /// The C string for `key`, made by `make` the first time. It stays at the same address until
    /// `clear` (a C string's bytes live on the heap, so the map may grow around them).
    pub(crate) fn get<S: AsRef<str>>(&self, key: K, make: impl FnOnce() -> S) -> *const c_char {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(key)
            .or_insert_with(|| c_string(make().as_ref()))
            .as_ptr()
    }

    /// Forgets every string (which `&mut` proves nobody is still reading).
    pub(crate) fn clear(&mut self) {
        self.0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_the_crate() {
        assert_eq!(
            BITTERN_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            BITTERN_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            BITTERN_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        let v = unsafe { CStr::from_ptr(bittern_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn a_panic_becomes_a_code_and_a_message() {
        let r = guard(|| panic!("boom"));
        assert_eq!(r, bittern_result::Panic);
        let mut buf = [0 as c_char; 128];
        let n = bittern_last_error_message(buf.as_mut_ptr(), buf.len());
        let msg = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(n, msg.len());
        assert!(msg.ends_with("boom"), "{msg}");
        assert_eq!(guard_value(7u64, || panic!("again")), 7);
    }

    #[test]
    fn last_error_message_truncates_at_a_char_boundary() {
        Failure::invalid("ab\u{e9}cd").record();
        assert_eq!(bittern_last_error_message(ptr::null_mut(), 0), 6);
        let mut buf = [1 as c_char; 4];
        assert_eq!(bittern_last_error_message(buf.as_mut_ptr(), 4), 6);
        // "ab" + the two bytes of 'é' do not fit in 3 bytes: only "ab" is copied.
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_bytes(), b"ab");
        let mut offset = 0;
        assert_eq!(
            bittern_last_error_offset(&mut offset),
            bittern_result::NotFound
        );
    }

    #[test]
    fn nul_inside_a_string_is_replaced() {
        assert_eq!(c_string("a\0b").to_str().unwrap(), "a\u{FFFD}b");
    }
}
