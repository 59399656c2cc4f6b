//! The guard inside every exported body: it catches a panic, which becomes
//! `BITTERN_RESULT_PANIC`, and records any failure as the thread's last error.

use crate::{bittern_result, Failure};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`, turning a panic into a failure.
pub(crate) fn catch<T>(body: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bittern_last_error_message;
    use std::ffi::{c_char, CStr};

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
}
