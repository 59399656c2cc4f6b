//! SIGPIPE, which a C program does not ignore by default.

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
