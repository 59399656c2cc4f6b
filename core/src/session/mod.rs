//! The session: torrents, their peers, choking, and the runtime they run on.

pub mod choker;
