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
//! - One Rust file per C type, named after it without the `bittern_` prefix (`torrent.rs` holds
//!   `bittern_torrent`, `session_config.rs` holds `bittern_session_config`); `announce.rs` holds
//!   the tracker client and `event.rs` what a session reports. A type file imports the helpers
//!   below and the types it takes or returns; no two type files import each other.
//! - The helpers, by topic: `result.rs` (the codes), `error.rs` ([`Failure`] and the last
//!   error), `guard.rs`, `args.rs` (reading arguments), `owned.rs` (what C is handed and frees),
//!   `strings.rs` (C strings), `struct_size.rs` (structs that grow at the end), `sigpipe.rs`
//!   and `version.rs`; `log.rs` switches the engine's diagnostics.

// Types are named as C sees them (`bittern_torrent`, `bittern_result`).
#![allow(non_camel_case_types)]
// Exported functions are called from C, which has no `unsafe`: each one documents the contract
// for its pointers, and the guard checks them for NULL before any dereference (as rustls-ffi).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

// cbindgen reads the modules in the order they are declared here, and writes the functions in
// the order it reads them: this order is the header's. rustfmt sorts the modules between two
// blank lines, hence the groups.
pub mod result;

pub mod version;

pub mod error;
pub mod owned;

pub mod announce;
pub mod bencode;
pub mod create;
pub mod event;
pub mod log;

pub mod session_config;

pub mod add_options;

pub mod session;
pub mod torrent_handle;
pub mod torrent_status;

pub mod disconnect_reason;
pub mod tracker_state;

pub mod torrent;
pub mod tracker;

pub mod magnet;

mod args;
mod enum_arg;
mod guard;
mod sigpipe;
mod strings;
mod struct_size;

pub use error::{
    bittern_last_error_message, bittern_last_error_offset, bittern_last_error_os_error,
    bittern_last_error_path,
};
pub use owned::{bittern_bytes_free, bittern_string_free};
pub use result::{bittern_result, bittern_result_name};
pub use version::{
    bittern_version, BITTERN_VERSION_MAJOR, BITTERN_VERSION_MINOR, BITTERN_VERSION_PATCH,
};

pub(crate) use args::{
    arg, arg_bytes, arg_mut, arg_opt_str, arg_out, arg_path, arg_str, client_config,
    parse_host_port, timeout_ms,
};
pub(crate) use error::Failure;
pub(crate) use guard::{guard, guard_value};
pub(crate) use owned::{free_handle, into_handle, into_owned_bytes, into_owned_string};
pub(crate) use sigpipe::ignore_sigpipe;
pub(crate) use strings::{c_string, copy_str, copy_with_nul, without_nul, CStrCache};
pub(crate) use struct_size::{field_spans, put_sized};
