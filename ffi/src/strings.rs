//! Strings handed to C: NUL-free C strings, and a cache of them for a handle's `const char *`
//! results.

use std::collections::HashMap;
use std::ffi::{c_char, CString};
use std::hash::Hash;
use std::ptr;
use std::sync::{Mutex, PoisonError};

/// `s` as a C string: a NUL inside it would cut the C string short, so each becomes U+FFFD.
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(without_nul(s)).unwrap_or_default()
}

/// `s` with each NUL replaced by U+FFFD (the last error keeps its message so).
pub(crate) fn without_nul(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

/// Copies `s` into the caller's `buf` of `len` bytes as the `bittern_*_message` functions do:
/// at most `len - 1` bytes, cut at a UTF-8 character boundary, then a NUL; nothing when `buf` is
/// NULL or `len` 0. Returns the full length of `s` (without the NUL).
///
/// # Safety
/// `buf` is NULL or has `len` writable bytes.
pub(crate) unsafe fn copy_str(s: &str, buf: *mut c_char, len: usize) -> usize {
    let mut n = s.len().min(len.saturating_sub(1));
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: as the caller promised.
    unsafe { copy_with_nul(&s.as_bytes()[..n], buf, len) };
    s.len()
}

/// Writes `bytes` and a NUL to `buf` when it is not NULL and `len` is more than
/// `bytes.len()`.
///
/// # Safety
/// `buf` is NULL or has `len` writable bytes.
pub(crate) unsafe fn copy_with_nul(bytes: &[u8], buf: *mut c_char, len: usize) {
    if !buf.is_null() && bytes.len() < len {
        // SAFETY: the caller provides `len` writable bytes at `buf`, more than `bytes`.
        unsafe {
            ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
            *buf.add(bytes.len()) = 0;
        }
    }
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
    fn nul_inside_a_string_is_replaced() {
        assert_eq!(c_string("a\0b").to_str().unwrap(), "a\u{FFFD}b");
    }
}
