//! `cargo run --release --example udp_load -- TARGET [SECONDS [SOCKETS [IN_FLIGHT [TORRENTS
//! [URL_DATA]]]]]`: a BEP 15 load generator. Each socket (default 2, a thread each) connects,
//! then keeps IN_FLIGHT announces (default 16) outstanding against TARGET for SECONDS (default
//! 5), each for one of TORRENTS info-hashes (default 1000) with a fresh peer id and port (and
//! BEP 41's URL_DATA, default none), and counts the answers and their latency. An announce
//! unanswered after 1 s counts as lost and is replaced. Prints one line:
//! `answers_per_s=... p50_ms=... p99_ms=... lost=... errors=...` (errors: answers that are not
//! announce answers, counted in the rate too).

use bittern_core::metainfo::InfoHash;
use bittern_core::tracker::udp::{AnnouncePacket, Request, Response, MAX_PACKET};
use bittern_core::tracker::{Event, PeerId};
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const LOST_AFTER: Duration = Duration::from_secs(1);

struct Tally {
    answers: u64,
    errors: u64,
    lost: u64,
    /// Latencies in microseconds.
    latencies: Vec<u32>,
}

fn worker(
    target: SocketAddr,
    seconds: f64,
    in_flight: usize,
    torrents: u32,
    url_data: Vec<u8>,
    seed: u64,
) -> Tally {
    let mut rng = fastrand::Rng::with_seed(seed);
    let local: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().unwrap()
    } else {
        "[::]:0".parse().unwrap()
    };
    let socket = UdpSocket::bind(local).expect("bind");
    socket.connect(target).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = vec![0u8; MAX_PACKET + 1];
    let v6 = target.is_ipv6();
    // The connect exchange, retried until answered.
    let connection_id = loop {
        let transaction_id = rng.u32(..);
        let mut out = Vec::new();
        Request::Connect { transaction_id }.encode(&mut out);
        socket.send(&out).expect("send");
        if let Ok(n) = socket.recv(&mut buf) {
            if let Ok(Response::Connect { connection_id, .. }) = Response::decode(&buf[..n], v6) {
                break connection_id;
            }
        }
    };
    let mut tally = Tally {
        answers: 0,
        errors: 0,
        lost: 0,
        latencies: Vec::new(),
    };
    let mut outstanding: HashMap<u32, Instant> = HashMap::new();
    let mut packet = Vec::with_capacity(128);
    let mut send = |outstanding: &mut HashMap<u32, Instant>, rng: &mut fastrand::Rng| {
        let transaction_id = rng.u32(..);
        let mut peer_id = [0u8; 20];
        rng.fill(&mut peer_id);
        let mut hash = [0u8; 20];
        hash[..4].copy_from_slice(&rng.u32(..torrents).to_be_bytes());
        packet.clear();
        Request::Announce(AnnouncePacket {
            connection_id,
            transaction_id,
            info_hash: InfoHash(hash),
            peer_id: PeerId(peer_id),
            downloaded: 0,
            left: rng.u64(0..2) * 1000,
            uploaded: 0,
            event: Some(Event::Started),
            ip: None,
            key: rng.u32(..),
            num_want: Some(50),
            port: rng.u16(1..),
            url_data: url_data.clone(),
        })
        .encode(&mut packet);
        if socket.send(&packet).is_ok() {
            outstanding.insert(transaction_id, Instant::now());
        }
    };
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut last_sweep = Instant::now();
    while Instant::now() < end {
        while outstanding.len() < in_flight {
            send(&mut outstanding, &mut rng);
        }
        if let Ok(n) = socket.recv(&mut buf) {
            match Response::decode(&buf[..n], v6) {
                Ok(answer) => {
                    if let Some(sent) = outstanding.remove(&answer.transaction_id()) {
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
        if last_sweep.elapsed() > Duration::from_millis(100) {
            last_sweep = Instant::now();
            let before = outstanding.len();
            outstanding.retain(|_, sent| sent.elapsed() < LOST_AFTER);
            tally.lost += (before - outstanding.len()) as u64;
        }
    }
    tally
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let target: SocketAddr = arg(0, "127.0.0.1:6969")
        .parse()
        .expect("TARGET is host:port");
    let seconds: f64 = arg(1, "5").parse().expect("SECONDS");
    let sockets: usize = arg(2, "2").parse().expect("SOCKETS");
    let in_flight: usize = arg(3, "16").parse().expect("IN_FLIGHT");
    let torrents: u32 = arg(4, "1000").parse().expect("TORRENTS");
    let url_data = arg(5, "").into_bytes();
    let workers: Vec<_> = (0..sockets)
        .map(|i| {
            let url_data = url_data.clone();
            std::thread::spawn(move || {
                worker(target, seconds, in_flight, torrents, url_data, 1 + i as u64)
            })
        })
        .collect();
    let mut all = Tally {
        answers: 0,
        errors: 0,
        lost: 0,
        latencies: Vec::new(),
    };
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
        all.answers as f64 / seconds,
        at(0.5),
        at(0.99),
        all.lost,
        all.errors
    );
}
