//! Why a call failed: [`Failure`], the one place core errors become result codes, and the
//! thread-local last error that keeps what a code cannot (`bittern_last_error_*`).

use crate::guard::catch;
use crate::{arg_out, bittern_result, copy_str, copy_with_nul, without_nul};
use bittern_core::bencode::BencodeError;
use bittern_core::metainfo::MetainfoError;
use bittern_core::tracker::TrackerError;
use bittern_core::ErrorKind;
use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_char;

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

    pub(crate) fn null(name: &str) -> Self {
        Self::new(bittern_result::NullParameter, format!("`{name}` is NULL"))
    }

    pub(crate) fn panic(payload: &(dyn Any + Send)) -> Self {
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

    /// The code the call returns.
    /// The OS's error number, for a failure the system reported.
    pub(crate) fn errno(&self) -> Option<i32> {
        self.errno
    }

    /// The file the failure is about.
    pub(crate) fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    pub(crate) fn code(&self) -> bittern_result {
        self.code
    }

    /// Makes this the thread's last error and returns its code.
    pub(crate) fn record(self) -> bittern_result {
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
        Failure::from(&e)
    }
}

impl From<&bittern_core::Error> for Failure {
    fn from(e: &bittern_core::Error) -> Self {
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

impl From<bittern_core::log::LogError> for Failure {
    fn from(e: bittern_core::log::LogError) -> Self {
        bittern_core::Error::from(e).into()
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
            unsafe { copy_str(message, buf, len) }
        }))
    })
    .unwrap_or(0)
}

/// Copies the path of the file the last failed call on this thread was about (the bytes the
/// OS uses for it) into `buf`, as `bittern_last_error_message` copies the message, and returns
/// its full length; 0 (and `""`) when the last error names no file. A path cut short is cut at
/// a UTF-8 character boundary when it is UTF-8 (a path that is not is cut at any byte).
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
            if let Ok(text) = std::str::from_utf8(path) {
                // SAFETY: the caller gives `len` writable bytes at `buf` (or NULL).
                return unsafe { copy_str(text, buf, len) };
            }
            let n = path.len().min(len.saturating_sub(1));
            unsafe { copy_with_nul(&path[..n], buf, len) };
            path.len()
        }))
    })
    .unwrap_or(0)
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
    found.map_or_else(|f| f.code(), |()| bittern_result::Ok)
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
    found.map_or_else(|f| f.code(), |()| bittern_result::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr;

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
}
