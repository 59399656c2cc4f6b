//! The tracker's BEP 15 side over real sockets, spoken to with std's UdpSocket and the packet
//! codec (not through our UDP client), beside raw HTTP announces to the same tracker.

use bittern_core::metainfo::InfoHash;
use bittern_core::tracker::server::{ServerConfig, TrackerServer, UdpListen};
use bittern_core::tracker::udp::wire::{AnnouncePacket, Request, Response, MAX_PACKET};
use bittern_core::tracker::{AnnounceRequest, AnnounceResponse, PeerId};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

fn start(config: ServerConfig) -> TrackerServer {
    TrackerServer::start(ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        threads: 2,
        ..config
    })
    .unwrap()
}

fn request(hash: u8, port: u16, left: u64) -> AnnounceRequest {
    let mut id = [b'u'; 20];
    id[..2].copy_from_slice(&port.to_be_bytes());
    AnnounceRequest::new(InfoHash([hash; 20]), PeerId(id), port, left)
}

struct Client {
    socket: UdpSocket,
    tracker: SocketAddr,
}

impl Client {
    fn new(tracker: SocketAddr) -> Client {
        let local: SocketAddr = if tracker.is_ipv6() {
            "[::1]:0".parse().unwrap()
        } else {
            "127.0.0.1:0".parse().unwrap()
        };
        Client::from(local, tracker)
    }

    /// A client sending from `local`.
    fn from(local: SocketAddr, tracker: SocketAddr) -> Client {
        let socket = UdpSocket::bind(local).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        Client { socket, tracker }
    }

    fn send_raw(&self, packet: &[u8]) {
        self.socket.send_to(packet, self.tracker).unwrap();
    }

    /// The raw answer, or `None` after the read timeout.
    fn recv_raw(&self) -> Option<Vec<u8>> {
        let mut buf = vec![0; 2048];
        match self.socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                assert_eq!(from, self.tracker);
                buf.truncate(n);
                Some(buf)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    fn ask(&self, req: &Request) -> Option<Response> {
        let mut packet = Vec::new();
        req.encode(&mut packet);
        self.send_raw(&packet);
        let answer = self.recv_raw()?;
        Some(Response::decode(&answer, self.tracker.is_ipv6()).unwrap())
    }

    fn connect(&self) -> u64 {
        match self.ask(&Request::Connect { transaction_id: 11 }) {
            Some(Response::Connect {
                transaction_id: 11,
                connection_id,
            }) => connection_id,
            other => panic!("{other:?}"),
        }
    }

    fn announce(&self, id: u64, req: &AnnounceRequest) -> Response {
        let packet = AnnouncePacket::of(req, id, 12, b"/announce");
        self.ask(&Request::Announce(packet)).expect("an answer")
    }
}

fn peers_of(r: Response) -> Vec<SocketAddr> {
    match r {
        Response::Announce { peers, .. } => peers,
        other => panic!("{other:?}"),
    }
}

fn http_announce(addr: SocketAddr, req: &AnnounceRequest) -> AnnounceResponse {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /announce?{} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        req.to_query()
    )
    .unwrap();
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    let at = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    AnnounceResponse::decode(&all[at..]).unwrap()
}

fn http_get(addr: SocketAddr, target: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut all = String::new();
    stream.read_to_string(&mut all).unwrap();
    all
}

#[test]
fn same_port_as_http_by_default_and_urls() {
    let server = start(ServerConfig::default());
    let udp = server.udp_addr().unwrap();
    assert_eq!(udp, server.local_addr());
    assert_eq!(server.udp_url().unwrap(), format!("udp://{udp}/announce"));
    let off = start(ServerConfig {
        udp: UdpListen::Off,
        ..Default::default()
    });
    assert_eq!((off.udp_addr(), off.udp_url()), (None, None));
    let at = start(ServerConfig {
        udp: UdpListen::At("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    });
    assert_ne!(at.udp_addr().unwrap().port(), 0);
    Client::new(at.udp_addr().unwrap()).connect();
}

#[test]
fn connect_announce_scrape_and_a_mixed_swarm() {
    let server = start(ServerConfig::default());
    let client = Client::new(server.udp_addr().unwrap());
    let id = client.connect();
    assert!(peers_of(client.announce(id, &request(1, 7001, 10))).is_empty());

    // A peer announced over HTTP is returned over UDP, and the other way round.
    let r = http_announce(server.local_addr(), &request(1, 7002, 0));
    let addrs: Vec<_> = r.peers.iter().map(|p| p.addr).collect();
    assert_eq!(addrs, vec!["127.0.0.1:7001".parse().unwrap()]);
    match client.announce(id, &request(1, 7001, 10)) {
        Response::Announce {
            peers,
            seeders,
            leechers,
            interval,
            transaction_id,
        } => {
            assert_eq!(peers, vec!["127.0.0.1:7002".parse().unwrap()]);
            assert_eq!(
                (seeders, leechers, interval, transaction_id),
                (1, 1, 1800, 12)
            );
        }
        other => panic!("{other:?}"),
    }

    match client.ask(&Request::Scrape {
        connection_id: id,
        transaction_id: 13,
        info_hashes: vec![InfoHash([1; 20]), InfoHash([2; 20])],
    }) {
        Some(Response::Scrape {
            transaction_id: 13,
            stats,
        }) => {
            assert_eq!((stats[0].complete, stats[0].incomplete), (1, 1));
            assert_eq!(stats[1], Default::default());
        }
        other => panic!("{other:?}"),
    }
    let stats = server.tracker().stats();
    assert_eq!(
        (stats.udp.connects, stats.udp.announces, stats.udp.scrapes),
        (1, 2, 1)
    );
    assert_eq!(stats.swarms.announces, 3);
    let json = http_get(server.local_addr(), "/stats");
    assert!(json.contains("\"udp_announces\":2"), "{json}");
    assert!(json.contains("\"udp_dropped\":0"), "{json}");
}

#[test]
fn a_burst_is_answered_whole_a_batch_at_a_time() {
    // More announces at once than one batch reads (32): every one is answered, each with its
    // own transaction id, however the tracker splits them into batches.
    let server = start(ServerConfig::default());
    let client = Client::new(server.udp_addr().unwrap());
    let id = client.connect();
    let burst = 100u32;
    for transaction_id in 0..burst {
        let packet = AnnouncePacket::of(&request(3, 7000, 10), id, transaction_id, b"/announce");
        let mut bytes = Vec::new();
        Request::Announce(packet).encode(&mut bytes);
        client.send_raw(&bytes);
    }
    let mut answered = std::collections::BTreeSet::new();
    while let Some(answer) = client.recv_raw() {
        match Response::decode(&answer, false).unwrap() {
            Response::Announce { transaction_id, .. } => assert!(answered.insert(transaction_id)),
            other => panic!("{other:?}"),
        }
        if answered.len() == burst as usize {
            break;
        }
    }
    assert_eq!(answered, (0..burst).collect());
}

#[test]
fn ipv6_senders_get_ipv6_peers() {
    let server = match TrackerServer::start(ServerConfig {
        bind: "[::1]:0".parse().unwrap(),
        threads: 1,
        ..Default::default()
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipped: no IPv6 loopback here ({e})");
            return;
        }
    };
    let udp = server.udp_addr().unwrap();
    assert!(udp.is_ipv6());
    let client = Client::new(udp);
    let id = client.connect();
    assert!(peers_of(client.announce(id, &request(1, 7001, 10))).is_empty());
    let other = Client::new(udp);
    let other_id = other.connect();
    let peers = peers_of(other.announce(other_id, &request(1, 7002, 10)));
    assert_eq!(peers, vec!["[::1]:7001".parse().unwrap()]);
}

#[test]
fn bad_ids_get_errors_and_garbage_gets_nothing() {
    let server = start(ServerConfig::default());
    let client = Client::new(server.udp_addr().unwrap());
    let id = client.connect();

    // A connection id not made for this client.
    let packet = AnnouncePacket::of(&request(1, 7001, 10), id ^ 0xffff, 12, b"");
    match client.ask(&Request::Announce(packet)) {
        Some(Response::Error {
            transaction_id: 12,
            message,
        }) => assert!(message.contains("connection id"), "{message}"),
        other => panic!("{other:?}"),
    }
    // Another address's id is not ours; another socket of the same address may use it (the
    // connect exchange proved the address, not the port).
    let stranger = Client::from("127.0.0.2:0".parse().unwrap(), server.udp_addr().unwrap());
    assert!(matches!(
        stranger.announce(id, &request(1, 7009, 1)),
        Response::Error { .. }
    ));
    let same_address = Client::new(server.udp_addr().unwrap());
    assert!(matches!(
        same_address.announce(id, &request(1, 7010, 1)),
        Response::Announce { .. }
    ));

    // Short, oversized and garbage-without-a-transaction-id packets: no answer at all.
    for packet in [vec![0u8; 3], vec![0u8; 15], vec![0u8; MAX_PACKET + 100]] {
        client.send_raw(&packet);
        assert_eq!(client.recv_raw(), None, "{} bytes", packet.len());
    }
    // A flood of junk, then an honest client is still answered.
    for i in 0..2000u32 {
        let mut junk = vec![0u8; 16 + (i as usize % 80)];
        junk[..4].copy_from_slice(&i.to_be_bytes());
        let _ = stranger.socket.send_to(&junk, stranger.tracker);
    }
    // It resends as BEP 15 says: on a loaded machine the flood may still fill the socket's
    // buffer when its first connect arrives, and the kernel drops it.
    let honest = Client::new(server.udp_addr().unwrap());
    let honest_id = (0..20)
        .find_map(
            |_| match honest.ask(&Request::Connect { transaction_id: 11 }) {
                Some(Response::Connect { connection_id, .. }) => Some(connection_id),
                _ => None,
            },
        )
        .expect("answered within 20 sends");
    assert!(matches!(
        honest.announce(honest_id, &request(2, 7010, 1)),
        Response::Announce { .. }
    ));
    let stats = server.tracker().stats().udp;
    assert_eq!(stats.dropped, 3);
    assert!(stats.errors >= 2);
}

#[test]
fn no_udp_means_silence() {
    let server = start(ServerConfig {
        udp: UdpListen::Off,
        ..Default::default()
    });
    let client = Client::new(server.local_addr());
    assert_eq!(client.ask(&Request::Connect { transaction_id: 1 }), None);
}

#[test]
fn allow_only_refuses_unknown_torrents() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerConfig {
        torrents_dir: Some(dir.path().to_owned()),
        allow_only: true,
        ..Default::default()
    });
    let client = Client::new(server.udp_addr().unwrap());
    let id = client.connect();
    match client.announce(id, &request(1, 7001, 10)) {
        Response::Error {
            transaction_id: 12,
            message,
        } => assert!(message.contains("unregistered torrent"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.tracker().stats().swarms.peers, 0);
}
