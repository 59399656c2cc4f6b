//! The tracker's BEP 15 side: connect, announce and scrape over UDP, answered from the same
//! [`Tracker`] (and so the same swarm registry, limits and allow-list) as the HTTP side.
//!
//! A packet's path: [`Tracker::answer_udp`] decodes it with [`wire`](super::wire), checks the
//! connection id ([`ConnectionIds`]: no state per client), asks the registry, and encodes the
//! answer. It is a pure function of the packet, its source and the clock, so the reply rules are
//! unit-tested without sockets; [`Tracker::serve_udp`] is the thin socket loop around it (a
//! thread reading and sending a batch of packets per system call).
//!
//! Reply rules:
//! - no reply at all to a packet over [`MAX_PACKET`] bytes, too short to carry a transaction id
//!   (16 bytes), or from a source that cannot be answered (port 0, unspecified, multicast,
//!   broadcast): counted as dropped;
//! - an error (action 3) for a bad or expired connection id, a malformed request, an unknown
//!   torrent under `allow_only`, a refused announce or scrape;
//! - amplification: until the connection id is verified (it proves the source address), the only
//!   answers are the 16-byte connect answer to a 16-byte connect request and errors cut to the
//!   request's size.

use super::batch::{Inbox, Outbox};
use super::wire::{transaction_id_of, Request, Response, MAX_PACKET};
use crate::metainfo::InfoHash;
use crate::tracker::server::Tracker;
use crate::tracker::swarm::Family;
use crate::tracker::ScrapeStats;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Where the tracker listens for BEP 15.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UdpListen {
    /// The HTTP address and port (its port once bound, when HTTP's was 0), as opentracker does.
    #[default]
    SameAsHttp,
    /// Another address (port 0 picks a free port).
    At(SocketAddr),
    /// No UDP.
    Off,
}

/// How long one time bucket of [`ConnectionIds`] lasts; an id is accepted in its bucket and the
/// next, so for 60 to 120 s: BEP 15's client uses an id for a minute, a server takes it for two.
pub const CONNECTION_ID_BUCKET: Duration = Duration::from_secs(60);

/// Connection ids made and checked without state per client: a keyed hash of the client's IP
/// address and a 60 s time bucket. Not of its port: what the connect exchange proves is that
/// the address receives our answers (so none can be spoofed to aim them at a victim), and a
/// client may announce from another socket than the one it connected from (ours opens one per
/// request; opentracker and aquatic key on the address alone too).
///
/// The hash is std's `RandomState` (SipHash-1-3 with a 128-bit key drawn from the OS's
/// randomness when the tracker starts): a keyed PRF, no new dependency, and several times
/// cheaper per packet than HMAC-SHA1 (four SHA-1 blocks), which matters at a flood's rate. An
/// id need only be unforgeable for two minutes by someone who cannot see our key or the
/// victim's traffic; the key never leaves the process and changes at each start.
pub struct ConnectionIds {
    key: std::hash::RandomState,
    started: Instant,
}

impl Default for ConnectionIds {
    fn default() -> Self {
        Self::new()
    }
}

impl ConnectionIds {
    pub fn new() -> Self {
        ConnectionIds {
            key: std::hash::RandomState::new(),
            started: Instant::now(),
        }
    }

    /// Time since the ids' clock started, what [`make`](Self::make) and
    /// [`check`](Self::check) take.
    pub fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn at(&self, from: SocketAddr, bucket: u64) -> u64 {
        let mut h = self.key.build_hasher();
        // The canonical form: a client seen as ::ffff:a.b.c.d and as a.b.c.d is one client.
        from.ip().to_canonical().hash(&mut h);
        bucket.hash(&mut h);
        h.finish()
    }

    /// The id for a client at `from`, at time `now`.
    pub fn make(&self, from: SocketAddr, now: Duration) -> u64 {
        self.at(from, now.as_secs() / CONNECTION_ID_BUCKET.as_secs())
    }

    /// Whether `id` was made for `from` in this time bucket or the one before.
    pub fn check(&self, id: u64, from: SocketAddr, now: Duration) -> bool {
        let bucket = now.as_secs() / CONNECTION_ID_BUCKET.as_secs();
        id == self.at(from, bucket) || (bucket > 0 && id == self.at(from, bucket - 1))
    }
}

/// The UDP side's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UdpStats {
    /// Connect requests answered.
    pub connects: u64,
    /// Announces answered with peers (also counted in the registry's `announces`).
    pub announces: u64,
    /// Scrapes answered (also counted in the registry's `scrapes`).
    pub scrapes: u64,
    /// Error answers (action 3) sent.
    pub errors: u64,
    /// Packets left without an answer: oversized, too short, from unroutable sources.
    pub dropped: u64,
}

/// The UDP side's state inside a [`Tracker`]: the connection-id key and the counters.
#[derive(Default)]
pub struct UdpState {
    pub ids: ConnectionIds,
    connects: AtomicU64,
    announces: AtomicU64,
    scrapes: AtomicU64,
    errors: AtomicU64,
    dropped: AtomicU64,
}

impl UdpState {
    pub fn stats(&self) -> UdpStats {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        UdpStats {
            connects: n(&self.connects),
            announces: n(&self.announces),
            scrapes: n(&self.scrapes),
            errors: n(&self.errors),
            dropped: n(&self.dropped),
        }
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Whether a reply to `from` could reach anyone: not port 0, nor an unspecified, multicast or
/// broadcast address (a forged source there would make us spray a network).
pub fn routable(from: SocketAddr) -> bool {
    let ip = from.ip().to_canonical();
    from.port() != 0
        && !ip.is_unspecified()
        && !ip.is_multicast()
        && !matches!(ip, IpAddr::V4(v4) if v4.is_broadcast())
}

/// What the tracker answers to one packet.
enum Answer {
    Send(Response),
    /// An error, cut to `limit` bytes when the source is not proven yet.
    Error {
        transaction_id: u32,
        message: String,
        limit: Option<usize>,
    },
}

impl Tracker {
    /// Answers one BEP 15 packet `packet` from `from`, appending the answer to `out` (where a
    /// batch of answers is gathered). Returns whether there is an answer to send.
    pub fn answer_udp(&self, packet: &[u8], from: SocketAddr, out: &mut Vec<u8>) -> bool {
        self.answer_udp_at(packet, from, self.udp.ids.now(), out)
    }

    /// [`answer_udp`](Self::answer_udp) at a given time on the connection ids' clock.
    pub fn answer_udp_at(
        &self,
        packet: &[u8],
        from: SocketAddr,
        now: Duration,
        out: &mut Vec<u8>,
    ) -> bool {
        let start = out.len();
        let udp = &self.udp;
        let transaction_id = match transaction_id_of(packet) {
            Some(t) if packet.len() <= MAX_PACKET && routable(from) => t,
            _ => {
                bump(&udp.dropped);
                return false;
            }
        };
        let answer = self.udp_answer(packet, transaction_id, from, now);
        match answer {
            Answer::Send(response) => response.encode(out),
            Answer::Error {
                transaction_id,
                message,
                limit,
            } => {
                bump(&udp.errors);
                Response::Error {
                    transaction_id,
                    message,
                }
                .encode(out);
                // Never more bytes back than came in before the source is proven (a request
                // is at least 16 bytes and an error's header 8, so the header always fits).
                if let Some(limit) = limit {
                    out.truncate(start + limit);
                }
            }
        }
        true
    }

    fn udp_answer(
        &self,
        packet: &[u8],
        transaction_id: u32,
        from: SocketAddr,
        now: Duration,
    ) -> Answer {
        let udp = &self.udp;
        let unproven = |message: String| Answer::Error {
            transaction_id,
            message,
            limit: Some(packet.len()),
        };
        let request = match Request::decode(packet) {
            Ok(r) => r,
            Err(e) => return unproven(e.to_string()),
        };
        let proven = |connection_id: u64| udp.ids.check(connection_id, from, now);
        let bad_id = || unproven("bad or expired connection id".into());
        // Past `proven`, the source is proven: answers may be as large as a packet.
        let refuse = |message: String| {
            self.registry.count_refused();
            tracing::debug!(%from, reason = %message, "tracker refused a UDP request");
            Answer::Error {
                transaction_id,
                message,
                limit: None,
            }
        };
        match request {
            Request::Connect { transaction_id } => {
                bump(&udp.connects);
                Answer::Send(Response::Connect {
                    transaction_id,
                    connection_id: udp.ids.make(from, now),
                })
            }
            Request::Announce(a) if !proven(a.connection_id) => bad_id(),
            Request::Scrape { connection_id, .. } if !proven(connection_id) => bad_id(),
            Request::Announce(a) => {
                let req = a.to_request();
                if let Err(e) = req.validate() {
                    return refuse(e.to_string());
                }
                // BEP 41: the URL's path is matched as the HTTP path is (none at all is BEP
                // 15 without BEP 41).
                let path = a.url_data.split(|&b| b == b'?').next().unwrap_or(&[]);
                if !path.is_empty() && path != b"/announce" {
                    return refuse(format!(
                        "no announce at {:?}",
                        String::from_utf8_lossy(path)
                    ));
                }
                if !self.allows(&req.info_hash) {
                    self.log(format!(
                        "refused {from}: unregistered torrent {}",
                        req.info_hash
                    ));
                    return refuse(format!("unregistered torrent {}", req.info_hash));
                }
                let seen = from.ip().to_canonical();
                // The packet's IPv4 field is honoured only as HTTP's `ip=` is: when trusted.
                let ip = match (a.ip, self.config().trust_ip_param) {
                    (Some(given), true) => IpAddr::V4(given),
                    _ => seen,
                };
                // BEP 15: the family of the request decides the peers' family.
                let family = if seen.is_ipv6() {
                    Family::V6
                } else {
                    Family::V4
                };
                match self.record_announce(&req, ip, Some(family)) {
                    Ok(response) => {
                        bump(&udp.announces);
                        let count =
                            |n: Option<u64>| u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX);
                        Answer::Send(Response::Announce {
                            transaction_id,
                            interval: self.config().interval,
                            leechers: count(response.incomplete),
                            seeders: count(response.complete),
                            peers: response.peers.iter().map(|p| p.addr).collect(),
                        })
                    }
                    Err(e) => refuse(e.to_string()),
                }
            }
            Request::Scrape { info_hashes, .. } => {
                let max = self.config().max_scrape;
                if info_hashes.len() > max {
                    return refuse(format!("at most {max} info-hashes in a scrape"));
                }
                bump(&udp.scrapes);
                Answer::Send(Response::Scrape {
                    transaction_id,
                    stats: in_order(&info_hashes, self.registry.scrape(&info_hashes)),
                })
            }
        }
    }

    /// Answers BEP 15 on `socket` until `shutdown` turns true (seen within
    /// [`UDP_SHUTDOWN_CHECK`]), a batch of packets at a time. It blocks: run it on a thread of
    /// its own, one per socket of a SO_REUSEPORT group ([`bind_reuseport`]), or several on
    /// clones of one socket. A thread waiting in `recvmmsg` costs two system calls a batch,
    /// where an async task costs four (readiness, read, a read that finds the socket empty,
    /// send) and the runtime's wake-ups.
    pub fn serve_udp(
        self: Arc<Self>,
        socket: std::net::UdpSocket,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        socket.set_nonblocking(false)?;
        socket.set_read_timeout(Some(UDP_SHUTDOWN_CHECK))?;
        let mut inbox = Inbox::new(MAX_PACKET);
        let mut outbox = Outbox::new();
        while !*shutdown.borrow() {
            // Errors are the timeout, or ICMP errors from earlier sends, which Linux reports
            // here: nothing to do.
            if inbox.recv(&socket).is_err() {
                continue;
            }
            for (packet, from) in inbox.packets() {
                match from {
                    Some(from) => outbox.push_with(from, |out| self.answer_udp(packet, from, out)),
                    None => bump(&self.udp.dropped),
                }
            }
            // A full send buffer loses answers, as the network could: clients resend; waiting
            // here would stall every other client.
            outbox.send(&socket);
        }
        Ok(())
    }
}

/// How soon a thread in [`Tracker::serve_udp`] sees `shutdown` turn true.
pub const UDP_SHUTDOWN_CHECK: Duration = Duration::from_millis(100);

/// A scrape answer in the order asked: `known` is the registry's answer (the known hashes, in
/// the order asked); unknown torrents count zeros.
fn in_order(asked: &[InfoHash], known: Vec<(InfoHash, ScrapeStats)>) -> Vec<ScrapeStats> {
    let mut known = known.into_iter().peekable();
    asked
        .iter()
        .map(|h| match known.peek() {
            Some((k, _)) if k == h => known.next().map(|(_, s)| s).unwrap_or_default(),
            _ => ScrapeStats::default(),
        })
        .collect()
}

/// UDP sockets bound to `addr` with SO_REUSEPORT, `count` of them (the kernel spreads clients
/// over them by address hash), nonblocking; all on the port the first one got.
pub fn bind_reuseport(addr: SocketAddr, count: usize) -> std::io::Result<Vec<std::net::UdpSocket>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let mut sockets = Vec::with_capacity(count);
    let mut addr = addr;
    for _ in 0..count.max(1) {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        #[cfg(unix)]
        socket.set_reuse_port(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        let socket: std::net::UdpSocket = socket.into();
        addr = socket.local_addr()?;
        sockets.push(socket);
    }
    Ok(sockets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::server::ServerConfig;
    use crate::tracker::udp::wire::{AnnouncePacket, PROTOCOL_ID};
    use crate::tracker::{AnnounceRequest, PeerId};

    const MIN: Duration = Duration::from_secs(60);

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn connection_ids_live_two_buckets_for_one_address() {
        let ids = ConnectionIds::new();
        let a = addr("192.0.2.1:6881");
        let t = Duration::from_secs(1000);
        let id = ids.make(a, t);
        assert!(ids.check(id, a, t));
        assert!(ids.check(id, a, t + MIN), "one bucket later");
        assert!(!ids.check(id, a, t + 2 * MIN), "two buckets later");
        assert!(!ids.check(id, addr("192.0.2.2:6881"), t), "another address");
        assert!(
            ids.check(id, addr("192.0.2.1:6882"), t),
            "another port, same address"
        );
        assert!(!ids.check(id ^ 1, a, t));
        // A v4-mapped source is the same client.
        assert!(ids.check(id, addr("[::ffff:192.0.2.1]:6881"), t));
        // Another tracker (another key) refuses it.
        assert!(!ConnectionIds::new().check(id, a, t));
        // Bucket 0 has no previous bucket to underflow into.
        let first = ids.make(a, Duration::ZERO);
        assert!(ids.check(first, a, Duration::from_secs(59)));
    }

    #[test]
    fn unroutable_sources() {
        for bad in [
            "0.0.0.0:1",
            "192.0.2.1:0",
            "224.0.0.1:1",
            "255.255.255.255:1",
            "[::]:1",
            "[ff02::1]:1",
            "[::ffff:255.255.255.255]:1",
        ] {
            assert!(!routable(addr(bad)), "{bad}");
        }
        assert!(routable(addr("127.0.0.1:1")));
        assert!(routable(addr("[::1]:1")));
    }

    fn tracker(config: ServerConfig) -> Arc<Tracker> {
        Tracker::new(config).unwrap()
    }

    fn connect(t: &Tracker, from: SocketAddr, now: Duration) -> u64 {
        let mut packet = Vec::new();
        Request::Connect { transaction_id: 7 }.encode(&mut packet);
        let mut out = Vec::new();
        assert!(t.answer_udp_at(&packet, from, now, &mut out));
        assert_eq!(out.len(), 16);
        match Response::decode(&out, false).unwrap() {
            Response::Connect {
                transaction_id: 7,
                connection_id,
            } => connection_id,
            other => panic!("{other:?}"),
        }
    }

    fn announce_packet(connection_id: u64, hash: u8, port: u16) -> Vec<u8> {
        let req = AnnounceRequest::new(InfoHash([hash; 20]), PeerId([port as u8; 20]), port, 5);
        let mut packet = Vec::new();
        Request::Announce(AnnouncePacket::of(&req, connection_id, 99, b"/announce"))
            .encode(&mut packet);
        packet
    }

    fn ask(t: &Tracker, packet: &[u8], from: SocketAddr, now: Duration) -> Option<Response> {
        let mut out = Vec::new();
        if !t.answer_udp_at(packet, from, now, &mut out) {
            return None;
        }
        assert!(out.len() <= MAX_PACKET);
        Some(Response::decode(&out, from.is_ipv6()).unwrap())
    }

    #[test]
    fn announce_and_scrape_after_connect() {
        let t = tracker(ServerConfig::default());
        let (a, b) = (addr("192.0.2.1:6881"), addr("192.0.2.2:6882"));
        let now = Duration::from_secs(5);
        let (ca, cb) = (connect(&t, a, now), connect(&t, b, now));
        assert!(matches!(
            ask(&t, &announce_packet(ca, 1, 6881), a, now),
            Some(Response::Announce { transaction_id: 99, ref peers, .. }) if peers.is_empty()
        ));
        match ask(&t, &announce_packet(cb, 1, 6882), b, now + MIN) {
            Some(Response::Announce {
                peers,
                leechers,
                seeders,
                interval,
                ..
            }) => {
                assert_eq!(peers, vec![a]);
                assert_eq!((leechers, seeders, interval), (2, 0, 1800));
            }
            other => panic!("{other:?}"),
        }
        let mut packet = Vec::new();
        Request::Scrape {
            connection_id: ca,
            transaction_id: 3,
            info_hashes: vec![InfoHash([9; 20]), InfoHash([1; 20])],
        }
        .encode(&mut packet);
        match ask(&t, &packet, a, now) {
            Some(Response::Scrape {
                transaction_id: 3,
                stats,
            }) => {
                assert_eq!(stats[0], ScrapeStats::default());
                assert_eq!(stats[1].incomplete, 2);
            }
            other => panic!("{other:?}"),
        }
        // An IPv6 sender is given IPv6 peers only.
        let c = addr("[2001:db8::1]:7000");
        let cc = connect(&t, c, now);
        match ask(&t, &announce_packet(cc, 1, 7000), c, now) {
            Some(Response::Announce { peers, .. }) => assert!(peers.is_empty()),
            other => panic!("{other:?}"),
        }
        match ask(&t, &announce_packet(ca, 1, 6881), a, now) {
            Some(Response::Announce { peers, .. }) => assert_eq!(peers, vec![b]),
            other => panic!("{other:?}"),
        }
        let s = t.stats().udp;
        assert_eq!((s.connects, s.announces, s.scrapes, s.errors), (3, 4, 1, 0));
    }

    #[test]
    fn bad_connection_ids_get_errors_no_larger_than_the_request() {
        let t = tracker(ServerConfig::default());
        let a = addr("192.0.2.1:6881");
        let now = Duration::from_secs(500);
        let id = connect(&t, a, now);
        for (packet, from, at) in [
            (announce_packet(id ^ 1, 1, 6881), a, now),
            (announce_packet(id, 1, 6881), addr("192.0.2.9:6881"), now),
            (announce_packet(id, 1, 6881), a, now + 2 * MIN),
        ] {
            let mut out = Vec::new();
            assert!(t.answer_udp_at(&packet, from, at, &mut out));
            assert!(out.len() <= packet.len());
            assert!(matches!(
                Response::decode(&out, false),
                Ok(Response::Error {
                    transaction_id: 99,
                    ..
                })
            ));
        }
        // A short scrape with a bad id: the error is cut to its 36 bytes.
        let mut packet = Vec::new();
        Request::Scrape {
            connection_id: 1,
            transaction_id: 4,
            info_hashes: vec![InfoHash([1; 20])],
        }
        .encode(&mut packet);
        let mut out = Vec::new();
        assert!(t.answer_udp_at(&packet, a, now, &mut out));
        assert!(out.len() <= 36);
        assert_eq!(t.stats().udp.errors, 4);
        assert_eq!(t.stats().swarms.peers, 0);
    }

    #[test]
    fn answers_append_to_a_batch_each_cut_on_its_own() {
        let t = tracker(ServerConfig::default());
        let a = addr("192.0.2.1:6881");
        let now = Duration::from_secs(500);
        let mut connect = Vec::new();
        Request::Connect { transaction_id: 7 }.encode(&mut connect);
        let bad_id = announce_packet(1, 1, 6881);
        let mut out = b"earlier answers".to_vec();
        assert!(t.answer_udp_at(&connect, a, now, &mut out));
        assert!(t.answer_udp_at(&bad_id, a, now, &mut out));
        assert_eq!(&out[..15], b"earlier answers");
        assert!(matches!(
            Response::decode(&out[15..31], false),
            Ok(Response::Connect {
                transaction_id: 7,
                ..
            })
        ));
        assert!(out.len() - 31 <= bad_id.len());
        assert!(matches!(
            Response::decode(&out[31..], false),
            Ok(Response::Error {
                transaction_id: 99,
                ..
            })
        ));
    }

    #[test]
    fn what_gets_no_answer_and_what_gets_an_error() {
        let t = tracker(ServerConfig::default());
        let a = addr("192.0.2.1:6881");
        let now = Duration::from_secs(1);
        let mut out = Vec::new();
        // Too short for a transaction id, oversized, unroutable: silence.
        assert!(!t.answer_udp_at(&[0; 15], a, now, &mut out));
        assert!(!t.answer_udp_at(&vec![0; MAX_PACKET + 1], a, now, &mut out));
        let mut connect = Vec::new();
        Request::Connect { transaction_id: 1 }.encode(&mut connect);
        for bad in [
            "0.0.0.0:6881",
            "192.0.2.1:0",
            "255.255.255.255:6881",
            "[ff02::1]:1",
        ] {
            assert!(!t.answer_udp_at(&connect, addr(bad), now, &mut out));
        }
        assert_eq!(t.stats().udp.dropped, 6);
        // A connect padded past 16 bytes, a wrong protocol id, an unknown action, a cut
        // announce: an error no larger than the packet, with its transaction id.
        let mut long = connect.clone();
        long.push(0);
        let mut wrong_id = connect.clone();
        wrong_id[0] ^= 1;
        let mut action = connect.clone();
        action[8..12].copy_from_slice(&9u32.to_be_bytes());
        let cut = announce_packet(1, 1, 1)[..60].to_vec();
        for packet in [long, wrong_id, action, cut] {
            out.clear();
            assert!(t.answer_udp_at(&packet, a, now, &mut out));
            assert!(out.len() <= packet.len());
            assert_eq!(
                Response::decode(&out, false).unwrap().transaction_id(),
                transaction_id_of(&packet).unwrap()
            );
        }
        assert_eq!(
            u64::from_be_bytes(connect[..8].try_into().unwrap()),
            PROTOCOL_ID
        );
    }

    #[test]
    fn refusals_under_the_tracker_rules() {
        let dir = tempfile::tempdir().unwrap();
        let t = tracker(ServerConfig {
            torrents_dir: Some(dir.path().to_owned()),
            allow_only: true,
            max_scrape: 2,
            ..Default::default()
        });
        let a = addr("192.0.2.1:6881");
        let now = Duration::from_secs(1);
        let id = connect(&t, a, now);
        match ask(&t, &announce_packet(id, 1, 6881), a, now) {
            Some(Response::Error { message, .. }) => {
                assert!(message.contains("unregistered torrent"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        let mut packet = Vec::new();
        Request::Scrape {
            connection_id: id,
            transaction_id: 4,
            info_hashes: vec![InfoHash([1; 20]); 3],
        }
        .encode(&mut packet);
        assert!(matches!(
            ask(&t, &packet, a, now),
            Some(Response::Error {
                transaction_id: 4,
                ..
            })
        ));
        // Port 0 and a path other than /announce.
        let t = tracker(ServerConfig::default());
        let id = connect(&t, a, now);
        assert!(matches!(
            ask(&t, &announce_packet(id, 1, 0), a, now),
            Some(Response::Error { .. })
        ));
        let req = AnnounceRequest::new(InfoHash([1; 20]), PeerId([1; 20]), 6881, 0);
        let mut packet = Vec::new();
        Request::Announce(AnnouncePacket::of(&req, id, 5, b"/other?x=1")).encode(&mut packet);
        assert!(matches!(
            ask(&t, &packet, a, now),
            Some(Response::Error {
                transaction_id: 5,
                ..
            })
        ));
        assert_eq!(t.stats().swarms.refused, 2);
    }

    #[test]
    fn numwant_is_capped() {
        let t = tracker(ServerConfig {
            default_numwant: 2,
            max_numwant: 3,
            ..Default::default()
        });
        let now = Duration::from_secs(1);
        for i in 1..=6u16 {
            let from = SocketAddr::from(([192, 0, 2, i as u8], 6000 + i));
            let id = connect(&t, from, now);
            ask(&t, &announce_packet(id, 1, 6000 + i), from, now).unwrap();
        }
        let from = addr("192.0.2.100:7000");
        let id = connect(&t, from, now);
        let count = |numwant: Option<u32>| {
            let req = AnnounceRequest {
                numwant,
                ..AnnounceRequest::new(InfoHash([1; 20]), PeerId([7; 20]), 7000, 1)
            };
            let mut packet = Vec::new();
            Request::Announce(AnnouncePacket::of(&req, id, 5, b"")).encode(&mut packet);
            match ask(&t, &packet, from, now) {
                Some(Response::Announce { peers, .. }) => peers.len(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(count(None), 2);
        assert_eq!(count(Some(100)), 3);
    }
}
