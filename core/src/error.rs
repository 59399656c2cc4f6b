//! The crate's one error type, and the kinds the C and Python faces map from.

use crate::bencode::BencodeError;
use crate::log::LogError;
use crate::magnet::MagnetError;
use crate::metainfo::MetainfoError;
use crate::peer::PeerError;
use crate::session::SessionError;
use crate::storage::StorageError;
use crate::tracker::TrackerError;

/// Any error bittern-core returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Bencode(#[from] BencodeError),
    #[error(transparent)]
    Metainfo(#[from] MetainfoError),
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Magnet(#[from] MagnetError),
}

/// The kind of a metainfo failure, wherever it is wrapped.
fn metainfo_kind(e: &MetainfoError) -> ErrorKind {
    match e {
        MetainfoError::Bencode(_) => ErrorKind::Bencode,
        MetainfoError::Io { .. } | MetainfoError::FileChanged { .. } => ErrorKind::Io,
        MetainfoError::Cancelled => ErrorKind::Cancelled,
        _ => ErrorKind::Metainfo,
    }
}

/// What kind of failure an [`Error`] is: each maps to one C result code and one Python class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Malformed or non-canonical bencode.
    Bencode,
    /// A torrent that is invalid, or cannot be made as asked; also what a URL answered with
    /// when it is not a torrent file (an HTML page).
    Metainfo,
    /// Reading or writing a file failed.
    Io,
    /// The caller cancelled the work.
    Cancelled,
    /// A tracker could not be reached, refused, or answered nonsense.
    Tracker,
    /// A setting or argument that cannot work.
    InvalidArgument,
    /// A peer connection failed or a peer broke the protocol, or a `.torrent` could not be
    /// fetched from its URL (the server cannot be reached, or answers with an HTTP error).
    Network,
    /// Something did not happen within its deadline (a tracker's answer, a blocking call).
    Timeout,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Bencode(_) => ErrorKind::Bencode,
            Error::Metainfo(e) => metainfo_kind(e),
            Error::Tracker(TrackerError::Server(_)) => ErrorKind::Io,
            Error::Tracker(TrackerError::Timeout) => ErrorKind::Timeout,
            Error::Tracker(TrackerError::Cancelled) => ErrorKind::Cancelled,
            Error::Tracker(TrackerError::InvalidConfig(_) | TrackerError::InvalidRequest(_)) => {
                ErrorKind::InvalidArgument
            }
            Error::Tracker(_) => ErrorKind::Tracker,
            Error::Peer(_) => ErrorKind::Network,
            Error::Storage(StorageError::Cancelled) => ErrorKind::Cancelled,
            Error::Storage(StorageError::OutOfRange { .. } | StorageError::LayoutMismatch) => {
                ErrorKind::InvalidArgument
            }
            Error::Storage(_) => ErrorKind::Io,
            Error::Session(SessionError::Listen { .. } | SessionError::Runtime(_)) => ErrorKind::Io,
            // Fetching a `.torrent` from a web server is no tracker's doing, whichever client
            // made the request: a network failure, unless it is a deadline, a cancel or a URL
            // that cannot be asked for.
            Error::Session(SessionError::Fetch { cause, .. }) => match cause {
                TrackerError::Timeout => ErrorKind::Timeout,
                TrackerError::Cancelled => ErrorKind::Cancelled,
                TrackerError::InvalidUrl { .. }
                | TrackerError::InvalidConfig(_)
                | TrackerError::InvalidRequest(_) => ErrorKind::InvalidArgument,
                _ => ErrorKind::Network,
            },
            Error::Session(SessionError::NotATorrent { .. }) => ErrorKind::Metainfo,
            Error::Session(SessionError::InvalidFetched { source, .. }) => metainfo_kind(source),
            Error::Session(_) => ErrorKind::InvalidArgument,
            Error::Log(_) | Error::Magnet(_) => ErrorKind::InvalidArgument,
        }
    }

    /// The operating system's error behind this failure, where there is one (its `errno` is
    /// `raw_os_error()`).
    pub fn os_error(&self) -> Option<&std::io::Error> {
        match self {
            Error::Metainfo(MetainfoError::Io { source, .. })
            | Error::Storage(StorageError::Io { source, .. })
            | Error::Session(SessionError::Listen { source, .. })
            | Error::Session(SessionError::Runtime(source)) => Some(source),
            _ => None,
        }
    }

    /// The file this failure is about, where there is one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Error::Metainfo(MetainfoError::Io { path, .. }) => Some(path),
            Error::Storage(e) => e.path(),
            _ => None,
        }
    }

    /// Byte offset of a bencode error, where there is one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            Error::Bencode(e)
            | Error::Metainfo(MetainfoError::Bencode(e))
            | Error::Session(SessionError::InvalidFetched {
                source: MetainfoError::Bencode(e),
                ..
            }) => Some(e.offset),
            _ => None,
        }
    }
}

/// An OS error as the message of one of ours: the system's text without Rust's
/// " (os error N)" suffix, so every face words it one way (the number is at hand on its own:
/// [`Error::os_error`], Python's `errno`, C's `bittern_last_error_os_error`).
pub(crate) struct OsMessage<'a>(pub &'a std::io::Error);

impl std::fmt::Display for OsMessage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0.to_string();
        match self.0.raw_os_error() {
            Some(code) => {
                let suffix = format!(" (os error {code})");
                f.write_str(text.strip_suffix(suffix.as_str()).unwrap_or(&text))
            }
            None => f.write_str(&text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OsMessage;

    #[test]
    fn os_messages_have_no_number_suffix() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(OsMessage(&e).to_string(), "No such file or directory");
        let custom = std::io::Error::other("the file could only be opened read-only");
        assert_eq!(
            OsMessage(&custom).to_string(),
            "the file could only be opened read-only"
        );
    }
}
