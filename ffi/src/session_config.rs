//! `bittern_session_config`: how a session runs, read by `bittern_session_new`.

use crate::{
    arg_mut, arg_out, arg_str, bittern_result, client_config, free_handle, guard, guard_value,
    into_handle, parse_host_port, timeout_ms, Failure,
};
use bittern_core::session::SessionConfig;
use std::ffi::c_char;
use std::time::Duration;

/// How a session runs. Made by `bittern_session_config_new`, ended by
/// `bittern_session_config_free`.
///
/// Defaults: listen on the first free port of 6881 to 6889 on every address; at most 50 peers
/// per torrent, 4 of them from one IP address; 4 peers unchoked by rate (plus one optimistic
/// unchoke); 10 s to connect and handshake; a peer silent for 2 minutes is dropped; a 15 s
/// deadline for each tracker request.
///
/// Values are checked by `bittern_session_new`, once, by the rules every face shares: the
/// limits on peers are at least 1, the timeouts more than 0, and 0 unchoke slots leaves only
/// the optimistic unchoke; anything else gives `BITTERN_RESULT_INVALID_ARGUMENT` there. The
/// listen address is parsed when set, and bound when the session starts.
///
/// Thread safety: the setters need exclusive access; `bittern_session_new` only reads the
/// config, so several sessions may start from the same config at once.
pub struct bittern_session_config {
    inner: SessionConfig,
}

impl bittern_session_config {
    /// Core's config, for `bittern_session_new`.
    pub(crate) fn config(&self) -> &SessionConfig {
        &self.inner
    }
}

/// Makes a new config with the defaults at `*config_out`.
///
/// Ownership: free it with `bittern_session_config_free`. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_session_config_new(
    config_out: *mut *mut bittern_session_config,
) -> bittern_result {
    guard(|| {
        let out = unsafe { arg_out(config_out, "config_out") }?;
        out.put(into_handle(bittern_session_config {
            inner: SessionConfig::default(),
        }));
        Ok(())
    })
}

/// Frees a config. NULL is a no-op. A session started from it is not affected.
///
/// Ownership: takes ownership of `config`. Thread safety: no other thread may be using it.
#[no_mangle]
pub extern "C" fn bittern_session_config_free(config: *mut bittern_session_config) {
    guard_value((), || {
        unsafe { free_handle(config) };
        Ok(())
    })
}

/// Runs `edit` on the config behind `config` (the body of every setter).
fn edit_config(
    config: *mut bittern_session_config,
    edit: impl FnOnce(&mut SessionConfig) -> Result<(), Failure>,
) -> bittern_result {
    guard(|| edit(&mut unsafe { arg_mut(config, "config") }?.inner))
}

/// Sets the address to listen for peers on: `"host:port"`, such as `"0.0.0.0:6881"`,
/// `"127.0.0.1:0"` or `"[::]:51413"` (a name is resolved now, and its first address taken); port
/// 0 picks a free port when the session starts (`bittern_session_listen_port` tells which).
/// NULL goes back to the default, the first free port of 6881 to 6889 on every address.
/// Anything else gives `BITTERN_RESULT_INVALID_ARGUMENT`.
///
/// Ownership: `address` is copied. Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_listen(
    config: *mut bittern_session_config,
    address: *const c_char,
) -> bittern_result {
    edit_config(config, |c| {
        c.listen = if address.is_null() {
            None
        } else {
            Some(parse_host_port("listen address", unsafe {
                arg_str(address, "address")
            }?)?)
        };
        Ok(())
    })
}

/// Sets the most peers connected per torrent (default 50; at least 1).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_max_peers_per_torrent(
    config: *mut bittern_session_config,
    max_peers: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.max_peers_per_torrent = max_peers;
        Ok(())
    })
}

/// Sets the most peers per torrent from one IP address (default 4, at least 1; raise it to
/// run several peers on one machine, as tests do).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_max_peers_per_ip(
    config: *mut bittern_session_config,
    max_peers: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.max_peers_per_ip = max_peers;
        Ok(())
    })
}

/// Sets the number of peers unchoked (uploaded to) by their rate (default 4); one optimistic
/// unchoke comes on top (0 leaves only that one).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_unchoke_slots(
    config: *mut bittern_session_config,
    slots: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.unchoke_slots = slots;
        Ok(())
    })
}

/// Sets how long, in milliseconds, connecting to a peer and exchanging handshakes may take
/// (default 10,000; more than 0).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_handshake_timeout_ms(
    config: *mut bittern_session_config,
    timeout_ms: u64,
) -> bittern_result {
    edit_config(config, |c| {
        c.handshake_timeout = Duration::from_millis(timeout_ms);
        Ok(())
    })
}

/// Sets how long, in milliseconds, a peer may stay silent before it is dropped (default
/// 120,000, more than 0; peers send keep-alives every minute).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_idle_timeout_ms(
    config: *mut bittern_session_config,
    timeout_ms: u64,
) -> bittern_result {
    edit_config(config, |c| {
        c.idle_timeout = Duration::from_millis(timeout_ms);
        Ok(())
    })
}

/// Sets the deadline of each request to a tracker, connecting and reading the answer included,
/// in milliseconds; 0 goes back to the default (15 s). Removing a torrent or freeing the
/// session waits for the `stopped` announce up to about 3 s whatever this is.
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_tracker_timeout_ms(
    config: *mut bittern_session_config,
    timeout_ms: u32,
) -> bittern_result {
    edit_config(config, |c| {
        c.tracker = client_config(self::timeout_ms(timeout_ms));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    #[test]
    fn listen_addresses_are_checked_when_set() {
        let mut config = ptr::null_mut();
        assert_eq!(bittern_session_config_new(&mut config), bittern_result::Ok);
        assert_eq!(
            bittern_session_config_set_listen(config, c"nowhere".as_ptr()),
            bittern_result::InvalidArgument
        );
        assert_eq!(
            bittern_session_config_set_listen(config, ptr::null()),
            bittern_result::Ok
        );
        assert_eq!(unsafe { &*config }.inner.listen, None);
        bittern_session_config_free(config);
    }
}
