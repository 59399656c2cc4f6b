//! Why a peer connection ended, and how often each reason happened to a torrent.

/// Why a peer connection of a torrent ended. The numbers are part of the C ABI: a new reason
/// only ever takes the next number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DisconnectReason {
    /// The peer closed the connection, or reset it.
    ClosedByPeer = 0,
    /// Nothing arrived from the peer within the idle timeout.
    Idle = 1,
    /// Reading from or writing to the socket failed.
    Io = 2,
    /// The peer sent bytes that are not the wire protocol (the codec refused them).
    Malformed = 3,
    /// A well-formed message that breaks a rule: a request for a piece we do not have, more
    /// requests queued than we allow, a flood of keep-alives.
    RuleBroken = 4,
    /// The peer sent data that failed the hash check, or its address was banned for it.
    Banned = 5,
    /// A limit was reached: peers per torrent or per address, or the address is connected
    /// already.
    Limit = 6,
    /// The peer stopped reading what we send: its queue with us filled up, or it took none of
    /// our messages within the idle timeout.
    SlowReader = 7,
    /// We finished, and the peer is a seed too: neither has anything for the other.
    BothSeeding = 8,
    /// The torrent was paused (or stopped by a storage error).
    Paused = 9,
    /// The torrent was removed or its session shut down.
    Stopped = 10,
    /// A second connection with a peer we are connected to (each side dialled the other).
    Duplicate = 11,
}

impl DisconnectReason {
    /// Every reason, in the order of their numbers.
    pub const ALL: [DisconnectReason; 12] = [
        DisconnectReason::ClosedByPeer,
        DisconnectReason::Idle,
        DisconnectReason::Io,
        DisconnectReason::Malformed,
        DisconnectReason::RuleBroken,
        DisconnectReason::Banned,
        DisconnectReason::Limit,
        DisconnectReason::SlowReader,
        DisconnectReason::BothSeeding,
        DisconnectReason::Paused,
        DisconnectReason::Stopped,
        DisconnectReason::Duplicate,
    ];

    /// A short name in snake case, the same in every face (`"closed_by_peer"`).
    pub fn name(self) -> &'static str {
        match self {
            DisconnectReason::ClosedByPeer => "closed_by_peer",
            DisconnectReason::Idle => "idle",
            DisconnectReason::Io => "io",
            DisconnectReason::Malformed => "malformed",
            DisconnectReason::RuleBroken => "rule_broken",
            DisconnectReason::Banned => "banned",
            DisconnectReason::Limit => "limit",
            DisconnectReason::SlowReader => "slow_reader",
            DisconnectReason::BothSeeding => "both_seeding",
            DisconnectReason::Paused => "paused",
            DisconnectReason::Stopped => "stopped",
            DisconnectReason::Duplicate => "duplicate",
        }
    }
}

/// How many peer connections of a torrent ended for each [`DisconnectReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Disconnects([u32; DisconnectReason::ALL.len()]);

impl Disconnects {
    pub fn get(&self, reason: DisconnectReason) -> u32 {
        self.0[reason as usize]
    }

    pub(super) fn count(&mut self, reason: DisconnectReason) {
        let n = &mut self.0[reason as usize];
        *n = n.saturating_add(1);
    }

    /// Every reason with its count, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (DisconnectReason, u32)> + '_ {
        DisconnectReason::ALL.iter().map(|r| (*r, self.get(*r)))
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|n| u64::from(*n)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_all() {
        for (i, reason) in DisconnectReason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, i, "{reason:?}");
        }
    }

    #[test]
    fn counts() {
        let mut d = Disconnects::default();
        d.count(DisconnectReason::Idle);
        d.count(DisconnectReason::Idle);
        d.count(DisconnectReason::Stopped);
        assert_eq!(d.get(DisconnectReason::Idle), 2);
        assert_eq!(d.get(DisconnectReason::Io), 0);
        assert_eq!(d.total(), 3);
        assert_eq!(d.iter().count(), DisconnectReason::ALL.len());
    }
}
