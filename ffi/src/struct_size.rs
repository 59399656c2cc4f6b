//! Structs that cross the ABI and grow at the end: they start with `size_t struct_size`, and
//! only the fields within the caller's `struct_size` are written.

use crate::Failure;
use std::ptr::{self, NonNull};

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
/// [`field_spans!`] of every field but `struct_size`. A `struct_size` smaller than a `size_t`
/// gives `BITTERN_RESULT_INVALID_ARGUMENT` and writes nothing.
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
