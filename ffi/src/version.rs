//! The library's version: the `BITTERN_VERSION_*` macros and `bittern_version`.

use crate::guard_value;
use std::ffi::{c_char, CStr};
use std::ptr;

/// Major version of libbittern (the workspace version).
pub const BITTERN_VERSION_MAJOR: u32 = 0;
/// Minor version of libbittern.
pub const BITTERN_VERSION_MINOR: u32 = 1;
/// Patch version of libbittern.
pub const BITTERN_VERSION_PATCH: u32 = 0;

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
}
