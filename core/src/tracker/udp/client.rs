//! BEP 15's client: announce and scrape over UDP, with the connect exchange first.
//!
//! Each request has a socket of its own, connected to the tracker's address, so the kernel
//! drops datagrams from anyone else; a reply is believed only if it carries our transaction id
//! and is well formed. A request unanswered is sent again after BEP 15's 15 s, then twice as
//! long each time, until [`ClientConfig::udp_max_wait`] has passed. A connection id is kept for
//! the minute BEP 15 allows, per tracker address.

use super::wire::{AnnouncePacket, Request, Response, MAX_PACKET, MAX_SCRAPE_HASHES};
use crate::metainfo::InfoHash;
use crate::tracker::client::ClientConfig;
use crate::tracker::wire::is_dialable;
use crate::tracker::{AnnounceRequest, AnnounceResponse, Peer, ScrapeResponse, TrackerError};
use reqwest::Url;
use rustc_hash::FxHashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// How long a connection id may be used (BEP 15: one minute).
const CONNECTION_ID_LIFETIME: Duration = Duration::from_secs(60);
/// Tracker addresses whose connection id is kept, at most.
const MAX_CACHED: usize = 1024;

/// The UDP side of [`Client`](crate::tracker::client::Client): connection ids by tracker.
#[derive(Debug, Default)]
pub struct UdpClient {
    connections: Mutex<FxHashMap<SocketAddr, (u64, Instant)>>,
}

/// A `udp://host:port/path?query` URL: where to send, and BEP 41's URL data (path and query).
fn parse(url: &str) -> Result<(String, u16, Vec<u8>), TrackerError> {
    let invalid = |reason: &str| TrackerError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    if parsed.scheme() != "udp" {
        return Err(invalid("not a udp:// URL"));
    }
    let host = parsed.host_str().ok_or_else(|| invalid("no host"))?;
    let port = parsed.port().ok_or_else(|| invalid("no port"))?;
    // `[::1]` for the resolver is `::1`.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let mut data = parsed.path().as_bytes().to_vec();
    if let Some(query) = parsed.query() {
        data.push(b'?');
        data.extend_from_slice(query.as_bytes());
    }
    if data == b"/" {
        data.clear();
    }
    Ok((host, port, data))
}

impl UdpClient {
    pub async fn announce(
        &self,
        config: &ClientConfig,
        url: &str,
        req: &AnnounceRequest,
    ) -> Result<AnnounceResponse, TrackerError> {
        let (host, port, url_data) = parse(url)?;
        let mut exchange = Exchange::open(config, &host, port).await?;
        let connection_id = self.connection_id(&mut exchange).await?;
        let transaction_id = fastrand::u32(..);
        let packet = AnnouncePacket::of(req, connection_id, transaction_id, &url_data);
        match exchange
            .ask(&Request::Announce(packet), transaction_id)
            .await
        {
            Ok(Response::Announce {
                interval,
                leechers,
                seeders,
                peers,
                ..
            }) => Ok(AnnounceResponse {
                interval,
                min_interval: None,
                complete: Some(seeders.into()),
                incomplete: Some(leechers.into()),
                peers: peers
                    .into_iter()
                    .filter(|addr| is_dialable(*addr))
                    .map(|addr| Peer {
                        addr,
                        peer_id: None,
                    })
                    .collect(),
                warning: None,
                tracker_id: None,
            }),
            other => Err(self.refused(&exchange, other, "announce")),
        }
    }

    /// Scrapes `hashes`, [`MAX_SCRAPE_HASHES`] to a packet. A UDP tracker cannot be asked for
    /// every torrent it knows.
    pub async fn scrape(
        &self,
        config: &ClientConfig,
        url: &str,
        hashes: &[InfoHash],
    ) -> Result<ScrapeResponse, TrackerError> {
        let (host, port, _) = parse(url)?;
        if hashes.is_empty() {
            return Err(TrackerError::InvalidRequest(
                "a UDP tracker is scraped for named torrents only",
            ));
        }
        let mut exchange = Exchange::open(config, &host, port).await?;
        let mut files = Vec::with_capacity(hashes.len());
        for chunk in hashes.chunks(MAX_SCRAPE_HASHES) {
            let connection_id = self.connection_id(&mut exchange).await?;
            let transaction_id = fastrand::u32(..);
            let request = Request::Scrape {
                connection_id,
                transaction_id,
                info_hashes: chunk.to_vec(),
            };
            match exchange.ask(&request, transaction_id).await {
                Ok(Response::Scrape { stats, .. }) if stats.len() == chunk.len() => {
                    files.extend(chunk.iter().copied().zip(stats));
                }
                Ok(Response::Scrape { stats, .. }) => {
                    return Err(TrackerError::InvalidResponse(format!(
                        "a scrape of {} torrents answered for {}",
                        chunk.len(),
                        stats.len()
                    )))
                }
                other => return Err(self.refused(&exchange, other, "scrape")),
            }
        }
        Ok(ScrapeResponse { files })
    }

    /// The cached connection id for the tracker, or a new one from a connect exchange.
    async fn connection_id(&self, exchange: &mut Exchange) -> Result<u64, TrackerError> {
        let addr = exchange.tracker;
        let cached = self.lock().get(&addr).copied();
        if let Some((id, at)) = cached {
            if at.elapsed() < CONNECTION_ID_LIFETIME {
                return Ok(id);
            }
        }
        let transaction_id = fastrand::u32(..);
        match exchange
            .ask(&Request::Connect { transaction_id }, transaction_id)
            .await
        {
            Ok(Response::Connect { connection_id, .. }) => {
                let mut cache = self.lock();
                if cache.len() >= MAX_CACHED {
                    cache.retain(|_, (_, at)| at.elapsed() < CONNECTION_ID_LIFETIME);
                }
                if cache.len() < MAX_CACHED {
                    cache.insert(addr, (connection_id, Instant::now()));
                }
                Ok(connection_id)
            }
            other => Err(self.refused(exchange, other, "connect")),
        }
    }

    /// What an answer of the wrong kind, an error answer or a failed exchange means; the
    /// connection id is forgotten, since a tracker's error may be about it.
    fn refused(
        &self,
        exchange: &Exchange,
        answer: Result<Response, TrackerError>,
        what: &str,
    ) -> TrackerError {
        self.lock().remove(&exchange.tracker);
        match answer {
            Err(e) => e,
            Ok(Response::Error { message, .. }) => {
                TrackerError::Failure(crate::tracker::wire::shown_text(message.as_bytes()))
            }
            Ok(other) => TrackerError::InvalidResponse(format!(
                "a {what} request answered with {}",
                match other {
                    Response::Connect { .. } => "a connect answer",
                    Response::Announce { .. } => "an announce answer",
                    Response::Scrape { .. } => "a scrape answer",
                    Response::Error { .. } => "an error",
                }
            )),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FxHashMap<SocketAddr, (u64, Instant)>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One tracker's socket, and the time left to talk with it.
struct Exchange {
    socket: UdpSocket,
    tracker: SocketAddr,
    first_wait: Duration,
    deadline: tokio::time::Instant,
}

impl Exchange {
    /// Resolves `host` (its first address) and opens a socket connected to it.
    async fn open(config: &ClientConfig, host: &str, port: u16) -> Result<Exchange, TrackerError> {
        let deadline = tokio::time::Instant::now() + config.udp_max_wait;
        let transport = |e: std::io::Error| TrackerError::Transport(e.to_string());
        let resolve = tokio::net::lookup_host((host, port));
        let tracker = tokio::time::timeout_at(deadline, resolve)
            .await
            .map_err(|_| TrackerError::Timeout)?
            .map_err(transport)?
            .next()
            .ok_or_else(|| TrackerError::Transport(format!("{host} has no address")))?;
        let local: SocketAddr = if tracker.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).await.map_err(transport)?;
        socket.connect(tracker).await.map_err(transport)?;
        Ok(Exchange {
            socket,
            tracker,
            first_wait: config.udp_retransmit_after,
            deadline,
        })
    }

    /// Sends `request` until an answer with `transaction_id` comes, on BEP 15's schedule (the
    /// wait doubles after each send) within the deadline. Datagrams with another transaction
    /// id, from another address, or that do not decode are ignored; an answer with our id that
    /// does not decode is an error.
    async fn ask(
        &mut self,
        request: &Request,
        transaction_id: u32,
    ) -> Result<Response, TrackerError> {
        let mut packet = Vec::with_capacity(128);
        request.encode(&mut packet);
        let v6 = self.tracker.is_ipv6();
        let mut buf = vec![0u8; MAX_PACKET + 1];
        let mut wait = self.first_wait;
        loop {
            if tokio::time::Instant::now() >= self.deadline {
                return Err(TrackerError::Timeout);
            }
            self.socket
                .send(&packet)
                .await
                .map_err(|e| TrackerError::Transport(e.to_string()))?;
            let resend_at = (tokio::time::Instant::now() + wait).min(self.deadline);
            wait = wait.saturating_mul(2);
            loop {
                let received =
                    tokio::time::timeout_at(resend_at, self.socket.recv_from(&mut buf)).await;
                let Ok(received) = received else {
                    break; // send again, or the deadline
                };
                let (n, from) = match received {
                    Ok(got) => got,
                    // An ICMP "port unreachable" for an earlier send: nobody listens there.
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        return Err(TrackerError::Transport(format!(
                            "nothing answers at {}: {e}",
                            self.tracker
                        )))
                    }
                    Err(e) => return Err(TrackerError::Transport(e.to_string())),
                };
                if from != self.tracker || !(8..=MAX_PACKET).contains(&n) {
                    continue;
                }
                let got = u32::from_be_bytes(buf[4..8].try_into().expect("4 bytes"));
                if got != transaction_id {
                    continue;
                }
                return Response::decode(&buf[..n], v6)
                    .map_err(|e| TrackerError::InvalidResponse(e.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_the_address_and_bep41s_url_data() {
        assert_eq!(
            parse("udp://tracker.example:80/announce?passkey=x").unwrap(),
            (
                "tracker.example".into(),
                80,
                b"/announce?passkey=x".to_vec()
            )
        );
        assert_eq!(
            parse("udp://[2001:db8::1]:6969").unwrap(),
            ("2001:db8::1".into(), 6969, Vec::new())
        );
        assert!(parse("udp://tracker.example/announce").is_err(), "no port");
        assert!(parse("http://tracker.example:80/").is_err());
    }
}
