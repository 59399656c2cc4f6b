//! `cargo run --release --example udp_load -- ADDR [SECONDS [WINDOW [TORRENTS]]]`: a BEP 15 load
//! generator. One thread, one socket: connects, then keeps WINDOW (default 32) announces in
//! flight for SECONDS (default 5), each with an info-hash of TORRENTS (default 1000), a peer id
//! and a port drawn at random; prints answers a second and their latency (p50, p99). An announce
//! unanswered for 200 ms is counted lost and the window refilled; an error answer (an expired
//! connection id) makes it connect again.

use bittern_core::metainfo::InfoHash;
use bittern_core::tracker::udp::wire::{AnnouncePacket, Request, Response};
use bittern_core::tracker::{AnnounceRequest, PeerId};
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let target: SocketAddr = args
        .next()
        .ok_or("usage: udp_load ADDR [SECONDS [WINDOW [TORRENTS]]]")?
        .parse()?;
    let seconds: f64 = args.next().map_or(Ok(5.0), |s| s.parse())?;
    let window: usize = args.next().map_or(Ok(32), |s| s.parse())?;
    let torrents: u32 = args.next().map_or(Ok(1000), |s| s.parse())?;
    let local: SocketAddr = if target.is_ipv6() {
        "[::1]:0"
    } else {
        "127.0.0.1:0"
    }
    .parse()?;
    let socket = UdpSocket::bind(local)?;
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    let v6 = target.is_ipv6();
    let mut buf = vec![0u8; 2048];
    let mut packet = Vec::new();

    let connect = |socket: &UdpSocket, buf: &mut [u8]| -> Result<u64, Box<dyn std::error::Error>> {
        for _ in 0..10 {
            let mut p = Vec::new();
            Request::Connect {
                transaction_id: u32::MAX,
            }
            .encode(&mut p);
            socket.send_to(&p, target)?;
            let deadline = Instant::now() + Duration::from_millis(500);
            while Instant::now() < deadline {
                let Ok((n, _)) = socket.recv_from(buf) else {
                    break;
                };
                if let Ok(Response::Connect {
                    transaction_id: u32::MAX,
                    connection_id,
                }) = Response::decode(&buf[..n], v6)
                {
                    return Ok(connection_id);
                }
            }
        }
        Err("the tracker does not answer connect".into())
    };

    let mut connection_id = connect(&socket, &mut buf)?;
    let mut next_tid: u32 = 0;
    let mut in_flight: HashMap<u32, Instant> = HashMap::with_capacity(window * 2);
    let mut latencies: Vec<u32> = Vec::new();
    let (mut lost, mut errors) = (0u64, 0u64);
    let mut send = |socket: &UdpSocket,
                    in_flight: &mut HashMap<u32, Instant>,
                    connection_id: u64|
     -> std::io::Result<()> {
        next_tid = next_tid.wrapping_add(1);
        let hash = fastrand::u32(..torrents);
        let mut ih = [0u8; 20];
        ih[..4].copy_from_slice(&hash.to_be_bytes());
        let mut id = [0u8; 20];
        fastrand::fill(&mut id);
        let req = AnnounceRequest::new(
            InfoHash(ih),
            PeerId(id),
            fastrand::u16(1..),
            fastrand::u64(..2),
        );
        packet.clear();
        Request::Announce(AnnouncePacket::of(
            &req,
            connection_id,
            next_tid,
            b"/announce",
        ))
        .encode(&mut packet);
        in_flight.insert(next_tid, Instant::now());
        socket.send_to(&packet, target).map(|_| ())
    };

    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    for _ in 0..window {
        send(&socket, &mut in_flight, connection_id)?;
    }
    while Instant::now() < end {
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => match Response::decode(&buf[..n], v6) {
                Ok(Response::Announce { transaction_id, .. }) => {
                    if let Some(sent) = in_flight.remove(&transaction_id) {
                        latencies.push(sent.elapsed().as_micros() as u32);
                        send(&socket, &mut in_flight, connection_id)?;
                    }
                }
                Ok(Response::Error { transaction_id, .. }) => {
                    errors += 1;
                    in_flight.remove(&transaction_id);
                    connection_id = connect(&socket, &mut buf)?;
                    send(&socket, &mut in_flight, connection_id)?;
                }
                _ => {}
            },
            Err(_) => {
                lost += in_flight.len() as u64;
                in_flight.clear();
                for _ in 0..window {
                    send(&socket, &mut in_flight, connection_id)?;
                }
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |&us| f64::from(us) / 1000.0)
    };
    println!(
        "{:.0} announces/s, p50 {:.3} ms, p99 {:.3} ms, {} answered, {lost} lost, {errors} errors, window {window}, {torrents} torrents, {elapsed:.1} s",
        latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        latencies.len(),
    );
    Ok(())
}
