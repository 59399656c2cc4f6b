//! `bittern_torrent_status`: a snapshot of a torrent, written by `bittern_torrent_handle_status`,
//! with `bittern_torrent_state` and `BITTERN_ETA_UNKNOWN`.

use bittern_core::session::{State, Status};

/// What `bittern_torrent_status.eta` holds when the time left cannot be told (nothing is
/// arriving).
pub const BITTERN_ETA_UNKNOWN: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/// What a torrent is doing.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bittern_torrent_state {
    /// Checking the data on disk, which follows an add (`pieces_checked` counts).
    Checking = 0,
    /// Downloading what is missing.
    Downloading = 1,
    /// Complete: uploading only.
    Seeding = 2,
    /// Paused by `bittern_torrent_handle_pause`: no peers, no transfers.
    Paused = 3,
    /// Stopped by an error (`BITTERN_EVENT_KIND_STORAGE_ERROR` says which).
    Error = 4,
    /// Added from a magnet link: asking peers for the torrent's metadata (`piece_count` and
    /// `total_length` are 0 until it is in).
    FetchingMetadata = 5,
}

/// A snapshot of a torrent, written by `bittern_torrent_handle_status`.
///
/// Set `struct_size` to `sizeof(bittern_torrent_status)` before the call: fields may be added
/// at the end in later versions, and only those within the caller's `struct_size` are written.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct bittern_torrent_status {
    /// Set by the caller to `sizeof(bittern_torrent_status)`; on return, where the fields the
    /// library wrote end (its own `sizeof` when the caller's struct is at least as large).
    pub struct_size: usize,
    /// What the torrent is doing.
    pub state: bittern_torrent_state,
    /// Pieces verified.
    pub pieces_done: u32,
    /// Pieces in the torrent.
    pub piece_count: u32,
    /// Bytes of the verified pieces.
    pub bytes_done: u64,
    /// Bytes in the torrent.
    pub total_length: u64,
    /// Payload bytes per second arriving, over the last few seconds.
    pub download_rate: u64,
    /// Payload bytes per second leaving, over the last few seconds.
    pub upload_rate: u64,
    /// Payload bytes uploaded since the torrent was added.
    pub uploaded: u64,
    /// Payload bytes downloaded since the torrent was added (failed pieces included).
    pub downloaded: u64,
    /// Peers connected.
    pub peers: u32,
    /// Seconds until complete at the current rate: 0 when complete, `BITTERN_ETA_UNKNOWN`
    /// (`UINT64_MAX`) when it cannot be told.
    pub eta: u64,
    /// Pieces looked at by the check of the data on disk (`BITTERN_TORRENT_STATE_CHECKING`);
    /// `piece_count` once it is done. Added after `eta`: read it only when the returned
    /// `struct_size` covers it.
    pub pieces_checked: u32,
    /// Pieces the check found on disk when the torrent started (the download resumed from
    /// them); 0 while checking. Added after `eta`, as `pieces_checked`.
    pub pieces_found: u32,
    /// Verified bytes over the total, from 0.0 to 1.0 (1.0 for an empty torrent). Added after
    /// `eta`, as `pieces_checked`.
    pub progress: f64,
}

impl bittern_torrent_status {
    pub(crate) fn of(s: &Status) -> Self {
        bittern_torrent_status {
            struct_size: std::mem::size_of::<Self>(),
            state: match s.state {
                State::Checking => bittern_torrent_state::Checking,
                State::Downloading => bittern_torrent_state::Downloading,
                State::Seeding => bittern_torrent_state::Seeding,
                State::Paused => bittern_torrent_state::Paused,
                State::Error => bittern_torrent_state::Error,
                State::FetchingMetadata => bittern_torrent_state::FetchingMetadata,
            },
            pieces_done: s.pieces_done,
            piece_count: s.piece_count,
            bytes_done: s.bytes_done,
            total_length: s.total_length,
            download_rate: s.download_rate,
            upload_rate: s.upload_rate,
            uploaded: s.uploaded,
            downloaded: s.downloaded,
            peers: s.peers,
            eta: s.eta().unwrap_or(BITTERN_ETA_UNKNOWN),
            pieces_checked: s.pieces_checked,
            pieces_found: s.pieces_found,
            progress: s.progress(),
        }
    }
}
