//! The UDP tracker client (BEP 15) against a scripted tracker on loopback: what it sends, how it
//! waits, what it believes.

use bittern_core::metainfo::InfoHash;
use bittern_core::tracker::client::{Client, ClientConfig, TrackerList};
use bittern_core::tracker::udp::{Request, Response};
use bittern_core::tracker::{AnnounceRequest, Event, PeerId, ScrapeStats, TrackerError};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;

/// What the scripted tracker does with the n-th packet it receives (counting from 0).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Act {
    Answer,
    Drop,
    WrongTransaction,
    Truncate,
    Error,
}

/// A tracker answering by the codec, doing `script[n]` to the n-th packet (then `Answer`);
/// returns its address and the requests it saw.
async fn scripted(bind: &str, script: Vec<Act>) -> (SocketAddr, Arc<Mutex<Vec<Request>>>) {
    let socket = UdpSocket::bind(bind).await.unwrap();
    let addr = socket.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        for n in 0.. {
            let Ok((len, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let request = Request::decode(&buf[..len]).unwrap();
            log.lock().unwrap().push(request.clone());
            let act = script.get(n).copied().unwrap_or(Act::Answer);
            let answer = match (&request, act) {
                (_, Act::Drop) => continue,
                (Request::Connect { transaction_id }, _) => Response::Connect {
                    transaction_id: *transaction_id,
                    connection_id: 0xc0ffee,
                },
                (Request::Announce(a), _) => Response::Announce {
                    transaction_id: a.transaction_id,
                    interval: 900,
                    leechers: 3,
                    seeders: 4,
                    peers: vec![
                        "10.1.2.3:6881".parse().unwrap(),
                        "0.0.0.0:1".parse().unwrap(),
                        "[2001:db8::1]:51413".parse().unwrap(),
                    ]
                    .into_iter()
                    .filter(|p: &SocketAddr| p.is_ipv4() == from.is_ipv4())
                    .collect(),
                },
                (
                    Request::Scrape {
                        transaction_id,
                        info_hashes,
                        ..
                    },
                    _,
                ) => Response::Scrape {
                    transaction_id: *transaction_id,
                    stats: info_hashes
                        .iter()
                        .map(|h| ScrapeStats {
                            complete: u64::from(h.0[0]),
                            downloaded: 1,
                            incomplete: 2,
                        })
                        .collect(),
                },
            };
            let answer = match act {
                Act::Error => Response::Error {
                    transaction_id: answer.transaction_id(),
                    message: "unregistered\ntorrent".into(),
                },
                _ => answer,
            };
            let mut out = Vec::new();
            answer.encode(&mut out);
            match act {
                Act::WrongTransaction => out[4] ^= 0xff,
                Act::Truncate => {
                    out.truncate(out.len() - 1);
                }
                _ => {}
            }
            let _ = socket.send_to(&out, from).await;
        }
    });
    (addr, seen)
}

fn quick() -> Client {
    let mut config = ClientConfig::with_timeout(Duration::from_secs(5));
    config.udp_retransmit_after = Duration::from_millis(200);
    Client::new(config).unwrap()
}

fn request() -> AnnounceRequest {
    let mut req = AnnounceRequest::new(InfoHash([7; 20]), PeerId([8; 20]), 6881, 1000);
    req.event = Some(Event::Started);
    req
}

fn url(addr: SocketAddr) -> String {
    format!("udp://{addr}/announce?passkey=abc")
}

#[tokio::test]
async fn announce_connects_once_and_sends_the_url_data() {
    let (addr, seen) = scripted("127.0.0.1:0", vec![]).await;
    let client = quick();
    let answer = client.announce(&url(addr), &request()).await.unwrap();
    assert_eq!(
        (answer.interval, answer.complete, answer.incomplete),
        (900, Some(4), Some(3))
    );
    let peers: Vec<SocketAddr> = answer.peers.iter().map(|p| p.addr).collect();
    assert_eq!(
        peers,
        ["10.1.2.3:6881".parse::<SocketAddr>().unwrap()],
        "0.0.0.0 is not dialled"
    );
    // Within the minute, the connection id is reused.
    client.announce(&url(addr), &request()).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(matches!(seen[0], Request::Connect { .. }));
    let Request::Announce(a) = &seen[1] else {
        panic!("{seen:?}")
    };
    assert_eq!(a.connection_id, 0xc0ffee);
    assert_eq!(a.url_data, b"/announce?passkey=abc");
    assert_eq!(
        (a.port, a.left, a.event),
        (6881, 1000, Some(Event::Started))
    );
}

#[tokio::test]
async fn a_lost_packet_is_sent_again_and_strangers_answers_are_ignored() {
    // The connect is lost once; the announce's first answer has another transaction id.
    let (addr, seen) = scripted(
        "127.0.0.1:0",
        vec![Act::Drop, Act::Answer, Act::WrongTransaction],
    )
    .await;
    let answer = quick().announce(&url(addr), &request()).await.unwrap();
    assert_eq!(answer.peers.len(), 1);
    assert_eq!(seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn error_answers_and_malformed_ones_fail_the_request() {
    let (addr, _) = scripted("127.0.0.1:0", vec![Act::Answer, Act::Error]).await;
    match quick().announce(&url(addr), &request()).await {
        Err(TrackerError::Failure(m)) => assert_eq!(m, "unregistered\\ntorrent"),
        other => panic!("{other:?}"),
    }
    let (addr, _) = scripted("127.0.0.1:0", vec![Act::Answer, Act::Truncate]).await;
    assert!(matches!(
        quick().announce(&url(addr), &request()).await,
        Err(TrackerError::InvalidResponse(_))
    ));
}

#[tokio::test]
async fn a_silent_tracker_times_out_at_the_limit() {
    let (addr, seen) = scripted("127.0.0.1:0", vec![Act::Drop; 100]).await;
    let mut config = ClientConfig::with_timeout(Duration::from_millis(1500));
    config.udp_retransmit_after = Duration::from_millis(200);
    let client = Client::new(config).unwrap();
    let started = std::time::Instant::now();
    assert!(matches!(
        client.announce(&url(addr), &request()).await,
        Err(TrackerError::Timeout)
    ));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // Sent at 0, 0.2, 0.6 and 1.4 s: the wait doubles.
    assert_eq!(seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn scrape_names_its_torrents_and_ipv6_works() {
    let (addr, _) = scripted("127.0.0.1:0", vec![]).await;
    let hashes: Vec<InfoHash> = (0..100u8).map(|i| InfoHash([i; 20])).collect();
    let answer = quick().scrape(&url(addr), &hashes).await.unwrap();
    assert_eq!(answer.files.len(), 100, "two packets of at most 74");
    assert!(answer
        .files
        .iter()
        .all(|(h, s)| s.complete == u64::from(h.0[0])));
    assert!(quick().scrape(&url(addr), &[]).await.is_err());
    if std::net::UdpSocket::bind("[::1]:0").is_ok() {
        let (addr, _) = scripted("[::1]:0", vec![]).await;
        let answer = quick().announce(&url(addr), &request()).await.unwrap();
        let peers: Vec<SocketAddr> = answer.peers.iter().map(|p| p.addr).collect();
        assert_eq!(
            peers,
            ["[2001:db8::1]:51413".parse::<SocketAddr>().unwrap()]
        );
    }
}

#[tokio::test]
async fn a_dead_udp_tracker_fails_over_to_the_next_tier_at_once() {
    // A port nobody listens on: the ICMP answer fails the UDP tracker at once.
    let dead = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (live, _) = scripted("127.0.0.1:0", vec![]).await;
    let mut list = TrackerList::new_unshuffled(vec![vec![url(dead)], vec![url(live)]]).unwrap();
    let (answered, answer) = list.announce(&quick(), &request()).await.unwrap();
    assert_eq!(answered, url(live));
    assert_eq!(answer.interval, 900);
}

/// Our tracker, on loopback, its UDP side on the HTTP port.
fn our_tracker() -> bittern_core::tracker::server::TrackerServer {
    bittern_core::tracker::server::TrackerServer::start(
        bittern_core::tracker::server::ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            threads: 1,
            ..Default::default()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn our_client_and_our_tracker_over_udp_and_http_share_one_swarm() {
    let server = our_tracker();
    let udp = server.udp_url().expect("UDP on by default");
    let client = quick();
    let over_http = {
        let mut req = request();
        req.port = 7001;
        req.left = 0;
        req
    };
    client.announce(&server.url(), &over_http).await.unwrap();
    let answer = client.announce(&udp, &request()).await.unwrap();
    let peers: Vec<u16> = answer.peers.iter().map(|p| p.addr.port()).collect();
    assert_eq!(peers, [7001], "the peer that announced over HTTP");
    assert_eq!((answer.complete, answer.incomplete), (Some(1), Some(1)));
    let counts = client.scrape(&udp, &[InfoHash([7; 20])]).await.unwrap();
    assert_eq!(counts.files[0].1.complete, 1);
    server.stop();
}

#[test]
fn a_download_whose_only_tracker_is_udp_completes_beside_an_http_seeder() {
    use bittern_core::metainfo::{create, CreateOptions};
    use bittern_core::session::{AddOptions, Session, SessionConfig};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.bin");
    std::fs::write(
        &data,
        (0..3_000_000u32)
            .map(|i| (i % 253) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let server = our_tracker();
    let options = CreateOptions {
        trackers: vec![vec![server.url()]],
        piece_length: Some(65536),
        ..Default::default()
    };
    let over_http = create(&data, &options, |_| true).unwrap();
    // The same torrent (the trackers are outside `info`), announced over UDP only.
    let mut over_udp = over_http.clone();
    over_udp.set_announce_list(vec![vec![server.udp_url().unwrap()]]);
    over_udp.set_announce(server.udp_url().as_deref());
    assert_eq!(over_udp.info_hash(), over_http.info_hash());
    let session = |ip: &str| {
        let config = SessionConfig {
            listen: Some(format!("{ip}:0").parse().unwrap()),
            ..Default::default()
        };
        Session::new(config).unwrap()
    };
    let (seeder, downloader) = (session("127.0.0.1"), session("127.0.0.2"));
    let seeding = AddOptions {
        save_dir: dir.path().into(),
        seed_only: true,
        ..Default::default()
    };
    let seeding = seeder.add(over_http, seeding).unwrap();
    // Announced first, so the downloader's first answer names it (every request leaves from
    // 127.0.0.1, so the tracker could not give the seeder the downloader's 127.0.0.2).
    let announced = |t: &bittern_core::session::TorrentHandle| {
        t.trackers()
            .iter()
            .any(|s| s.peers > 0 || s.updated.is_some())
    };
    assert!(seeding.wait_for(Duration::from_secs(30), |_| announced(&seeding)));
    let out = dir.path().join("out");
    let h = downloader
        .add(
            over_udp,
            AddOptions {
                save_dir: out.clone(),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(
        h.wait_finished(Duration::from_secs(20)),
        "{:?} {:?} {:?}",
        h.status(),
        h.trackers(),
        server.tracker().stats()
    );
    assert_eq!(
        std::fs::read(out.join("data.bin")).unwrap(),
        std::fs::read(&data).unwrap()
    );
    let stats = server.tracker().stats();
    assert!(stats.udp.announces >= 1, "{stats:?}");
    server.stop();
}
