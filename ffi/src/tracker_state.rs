//! `bittern_tracker_state`: where one tracker URL of a torrent stands, as
//! `bittern_torrent_handle_tracker_state` reports it.

use bittern_core::session::TrackerState;

/// Where a tracker of a torrent stands. The numbers are part of the ABI and never change; new
/// states are only ever added.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bittern_tracker_state {
    /// Not asked yet (the torrent is being checked, or an earlier tracker answered).
    NotTried = 0,
    /// Its last announce was answered.
    Working = 1,
    /// Its last announce failed (`bittern_torrent_handle_tracker_message` says why).
    Failing = 2,
}

impl bittern_tracker_state {
    pub(crate) fn of(state: TrackerState) -> Self {
        match state {
            TrackerState::NotTried => bittern_tracker_state::NotTried,
            TrackerState::Working => bittern_tracker_state::Working,
            TrackerState::Failing => bittern_tracker_state::Failing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_keeps_its_number() {
        use bittern_tracker_state as C;
        let all = [
            (TrackerState::NotTried, C::NotTried, 0),
            (TrackerState::Working, C::Working, 1),
            (TrackerState::Failing, C::Failing, 2),
        ];
        for (core, c, number) in all {
            assert_eq!(C::of(core), c);
            assert_eq!(c as u32, number);
        }
    }
}
