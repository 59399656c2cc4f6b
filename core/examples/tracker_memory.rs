//! Memory per tracked peer: announces one million peers into a tracker registry and reads the
//! process's resident memory before and after (one measurement per process, so freed memory
//! kept by the allocator cannot hide growth).
//!
//!     cargo run --release --example tracker_memory -- [PEERS] [TORRENTS]

use bittern_core::metainfo::InfoHash;
use bittern_core::tracker::swarm::{Registry, SwarmLimits};
use bittern_core::tracker::{AnnounceRequest, PeerId};
use std::net::{IpAddr, Ipv4Addr};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    kb * 1024
}

fn measure(peers: u32, torrents: u32) {
    let limits = SwarmLimits {
        max_torrents: usize::MAX,
        max_peers_per_torrent: usize::MAX,
        default_numwant: 0,
        max_numwant: 0,
        peer_timeout_secs: 3600,
    };
    let before = rss_bytes();
    let registry = Registry::new(limits);
    for i in 0..peers {
        let mut hash = [0u8; 20];
        hash[..4].copy_from_slice(&(i % torrents).to_be_bytes());
        hash[4] = (i % torrents) as u8;
        let mut id = [b'-'; 20];
        id[..4].copy_from_slice(&i.to_be_bytes());
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i / 60_000));
        let req = AnnounceRequest::new(InfoHash(hash), PeerId(id), 1024 + (i % 60_000) as u16, 1);
        registry
            .announce(&req, ip, None)
            .expect("room for every peer");
    }
    let after = rss_bytes();
    assert_eq!(registry.stats().peers, u64::from(peers));
    println!(
        "{peers} peers in {torrents} torrents: {:.1} MiB, {:.0} bytes per peer",
        (after - before) as f64 / 1048576.0,
        (after - before) as f64 / f64::from(peers)
    );
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number"));
    let peers = args.next().unwrap_or(1_000_000);
    let torrents = args.next().unwrap_or(1);
    measure(peers, torrents);
}
