//! `cargo run --release --example udp_load -- TARGET [SECONDS [THREADS [SOCKETS [IN_FLIGHT
//! [TORRENTS [URL_DATA]]]]]]`: a BEP 15 load generator. Each of THREADS threads (default 2)
//! drives SOCKETS sockets (default 4, each a client of its own to the tracker: SO_REUSEPORT
//! spreads clients by address, so a handful of sockets would load a sharded tracker unevenly).
//! Each socket connects, then keeps IN_FLIGHT announces (default 8) outstanding against TARGET
//! for SECONDS (default 5), each for one of TORRENTS info-hashes (default 1000; torrent `i` is
//! SHA-1 of `i` as 4 big-endian bytes) with a fresh peer id and port (and BEP 41's URL_DATA,
//! default none), and counts the answers and their latency. Packets go out and come in a batch
//! per system call (recvmmsg/sendmmsg), so the generator leaves as much of the machine as it
//! can to the tracker it measures. An announce unanswered after 1 s counts as lost and is
//! replaced. Prints one line: `answers_per_s=... p50_ms=... p99_ms=... lost=... errors=...`
//! (errors: answers that are not announce answers, counted in the rate too).
use bittern_core::metainfo::InfoHash;
use bittern_core::tracker::udp::batch::{Inbox, Outbox, BATCH};
use bittern_core::tracker::udp::{AnnouncePacket, Request, Response, MAX_PACKET};
use bittern_core::tracker::{Event, PeerId};
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const LOST_AFTER: Duration = Duration::from_secs(1);
/// A tracker that answers no connect in this long is not there.
const CONNECT_WITHIN: Duration = Duration::from_secs(5);

/// Torrent `i`'s info-hash: SHA-1 of `i` as 4 big-endian bytes, so the hashes are spread as
/// real ones are (and a whitelist of them is easy to write).
fn torrent(i: u32) -> InfoHash {
    InfoHash(Sha1::digest(i.to_be_bytes()).into())
}

#[derive(Default)]
struct Tally {
    answers: u64,
    errors: u64,
    lost: u64,
    /// Latencies in microseconds.
    latencies: Vec<u32>,
}

/// One client of the tracker: its socket, connection id and the announces it awaits.
struct Client {
    socket: UdpSocket,
    connection_id: u64,
    outstanding: HashMap<u32, Instant>,
}

impl Client {
    /// Binds a socket and makes the connect exchange, retried until answered; exits the
    /// program if TARGET answers none within [`CONNECT_WITHIN`].
    fn connect(target: SocketAddr, rng: &mut fastrand::Rng) -> Client {
        let local: SocketAddr = if target.is_ipv4() {
            "0.0.0.0:0".parse().unwrap()
        } else {
            "[::]:0".parse().unwrap()
        };
        let socket = UdpSocket::bind(local).expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut buf = vec![0u8; MAX_PACKET + 1];
        let deadline = Instant::now() + CONNECT_WITHIN;
        let connection_id = loop {
            if Instant::now() > deadline {
                eprintln!("udp_load: no answer to a connect from {target} in {CONNECT_WITHIN:?}");
                std::process::exit(1);
            }
            let mut out = Vec::new();
            Request::Connect {
                transaction_id: rng.u32(..),
            }
            .encode(&mut out);
            socket.send_to(&out, target).expect("send");
            if let Ok(n) = socket.recv(&mut buf) {
                if let Ok(Response::Connect { connection_id, .. }) =
                    Response::decode(&buf[..n], target.is_ipv6())
                {
                    break connection_id;
                }
            }
        };
        socket.set_nonblocking(true).unwrap();
        Client {
            socket,
            connection_id,
            outstanding: HashMap::new(),
        }
    }
}

struct Load {
    target: SocketAddr,
    seconds: f64,
    sockets: usize,
    in_flight: usize,
    torrents: u32,
    url_data: Vec<u8>,
}

fn worker(load: &Load, seed: u64) -> Tally {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut clients: Vec<Client> = (0..load.sockets)
        .map(|_| Client::connect(load.target, &mut rng))
        .collect();
    let mut polls: Vec<libc::pollfd> = clients
        .iter()
        .map(|c| libc::pollfd {
            fd: c.socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let v6 = load.target.is_ipv6();
    let mut tally = Tally::default();
    let mut inbox = Inbox::new(MAX_PACKET);
    let mut outbox = Outbox::new();
    let mut sending = Vec::with_capacity(load.in_flight);
    let end = Instant::now() + Duration::from_secs_f64(load.seconds);
    let mut last_sweep = Instant::now();
    while Instant::now() < end {
        let mut received = false;
        for client in &mut clients {
            while let Ok(n) = inbox.recv(&client.socket) {
                received = true;
                for (packet, _) in inbox.packets() {
                    match Response::decode(packet, v6) {
                        Ok(answer) => {
                            if let Some(sent) = client.outstanding.remove(&answer.transaction_id())
                            {
                                tally.answers += 1;
                                tally.latencies.push(sent.elapsed().as_micros() as u32);
                                if !matches!(answer, Response::Announce { .. }) {
                                    tally.errors += 1;
                                }
                            }
                        }
                        Err(_) => tally.errors += 1,
                    }
                }
                if n < BATCH {
                    break;
                }
            }
            sending.clear();
            for _ in client.outstanding.len()..load.in_flight {
                let transaction_id = rng.u32(..);
                let mut peer_id = [0u8; 20];
                rng.fill(&mut peer_id);
                let hash = torrent(rng.u32(..load.torrents));
                let packet = Request::Announce(AnnouncePacket {
                    connection_id: client.connection_id,
                    transaction_id,
                    info_hash: hash,
                    peer_id: PeerId(peer_id),
                    downloaded: 0,
                    left: rng.u64(0..2) * 1000,
                    uploaded: 0,
                    event: Some(Event::Started),
                    ip: None,
                    key: rng.u32(..),
                    num_want: Some(50),
                    port: rng.u16(1..),
                    url_data: load.url_data.clone(),
                });
                outbox.push_with(load.target, |out| {
                    packet.encode(out);
                    true
                });
                sending.push(transaction_id);
            }
            let sent = outbox.send(&client.socket);
            let now = Instant::now();
            for &transaction_id in &sending[..sent] {
                client.outstanding.insert(transaction_id, now);
            }
        }
        if !received {
            // SAFETY: `polls` is a live array of pollfd of the length passed.
            unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, 10) };
        }
        if last_sweep.elapsed() > Duration::from_millis(100) {
            last_sweep = Instant::now();
            for client in &mut clients {
                let before = client.outstanding.len();
                client
                    .outstanding
                    .retain(|_, sent| sent.elapsed() < LOST_AFTER);
                tally.lost += (before - client.outstanding.len()) as u64;
            }
        }
    }
    tally
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let threads: usize = arg(2, "2").parse().expect("THREADS");
    let load = std::sync::Arc::new(Load {
        target: arg(0, "127.0.0.1:6969")
            .parse()
            .expect("TARGET is host:port"),
        seconds: arg(1, "5").parse().expect("SECONDS"),
        sockets: arg(3, "4").parse().expect("SOCKETS"),
        in_flight: arg(4, "8").parse().expect("IN_FLIGHT"),
        torrents: arg(5, "1000").parse().expect("TORRENTS"),
        url_data: arg(6, "").into_bytes(),
    });
    let workers: Vec<_> = (0..threads)
        .map(|i| {
            let load = load.clone();
            std::thread::spawn(move || worker(&load, 1 + i as u64))
        })
        .collect();
    let mut all = Tally::default();
    for w in workers {
        let t = w.join().expect("worker");
        all.answers += t.answers;
        all.errors += t.errors;
        all.lost += t.lost;
        all.latencies.extend(t.latencies);
    }
    all.latencies.sort_unstable();
    let at = |q: f64| {
        let n = all.latencies.len();
        if n == 0 {
            return 0.0;
        }
        f64::from(all.latencies[((n - 1) as f64 * q) as usize]) / 1000.0
    };
    println!(
        "answers_per_s={:.0} p50_ms={:.3} p99_ms={:.3} lost={} errors={}",
        all.answers as f64 / load.seconds,
        at(0.5),
        at(0.99),
        all.lost,
        all.errors
    );
}
