//! The arguments C passes, read into Rust values: pointers checked for NULL, strings for UTF-8,
//! addresses and timeouts parsed; and the `*_out` pointers, written only on success.

use crate::Failure;
use bittern_core::tracker::client::ClientConfig;
use std::ffi::{c_char, CStr};
use std::net::{SocketAddr, ToSocketAddrs};
use std::ptr::NonNull;
use std::time::Duration;

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

/// A timeout in milliseconds from C: 0 means the default.
pub(crate) fn timeout_ms(ms: u32) -> Option<Duration> {
    (ms != 0).then(|| Duration::from_millis(ms.into()))
}

/// The tracker client's settings for one call: the defaults, or core's `with_timeout` (None:
/// the default).
pub(crate) fn client_config(timeout: Option<Duration>) -> ClientConfig {
    timeout.map_or_else(ClientConfig::default, ClientConfig::with_timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_bounds_the_connection_too() {
        let c = client_config(Some(Duration::from_millis(300)));
        assert_eq!(c.timeout, Duration::from_millis(300));
        assert_eq!(c.connect_timeout, Duration::from_millis(300));
        assert_eq!(client_config(None), ClientConfig::default());
        assert_eq!(timeout_ms(0), None);
    }
}
