//! BEP 15's packets, both ways, as a pure codec: [`Request`]s a client sends and
//! [`Response`]s a tracker sends, with BEP 41's URL data on announces.
//!
//! Decoding checks every length before it reads, bounds every count, and never allocates from
//! a number in the packet: a scrape names at most [`MAX_SCRAPE_HASHES`] torrents, an announce
//! answer's peers are as many as the packet holds.

use crate::metainfo::InfoHash;
use crate::tracker::{AnnounceRequest, Event, PeerId, ScrapeStats};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The magic constant of a connect request.
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;
/// Info-hashes in one scrape, at most: BEP 15's "about 74", what a packet of [`MAX_PACKET`]
/// bytes holds.
pub const MAX_SCRAPE_HASHES: usize = (MAX_PACKET - 16) / 20;
/// The largest packet we read or write: an Ethernet MTU's worth. An announce answer is cut to
/// fit it (about 240 IPv4 peers, 80 IPv6 ones).
pub const MAX_PACKET: usize = 1500;

/// The size of an announce request without options.
pub const ANNOUNCE_LEN: usize = 98;
/// The size of a connect request and of its answer.
pub const CONNECT_LEN: usize = 16;

const CONNECT: u32 = 0;
const ANNOUNCE: u32 = 1;
const SCRAPE: u32 = 2;
const ERROR: u32 = 3;

/// Why a packet is not BEP 15.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    #[error("{what} of {len} bytes, must be {need}")]
    Length {
        what: &'static str,
        len: usize,
        need: &'static str,
    },
    #[error("a connect request without BEP 15's protocol id")]
    ProtocolId,
    #[error("unknown action {0}")]
    Action(u32),
    #[error("unknown announce event {0}")]
    Event(u32),
    #[error("announce option {kind} runs past the end of the packet")]
    Option { kind: u8 },
    #[error("a packet of {0} bytes, more than {MAX_PACKET}")]
    TooLarge(usize),
}

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Connect {
        transaction_id: u32,
    },
    Announce(AnnouncePacket),
    Scrape {
        connection_id: u64,
        transaction_id: u32,
        info_hashes: Vec<InfoHash>,
    },
}

/// An announce, as BEP 15 carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncePacket {
    pub connection_id: u64,
    pub transaction_id: u32,
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    pub downloaded: u64,
    pub left: u64,
    pub uploaded: u64,
    pub event: Option<Event>,
    /// The address the peer asks to be listed at (0 in the packet: the sender's).
    pub ip: Option<Ipv4Addr>,
    pub key: u32,
    /// `None`: the tracker's default (-1 in the packet).
    pub num_want: Option<u32>,
    pub port: u16,
    /// BEP 41: the announce URL's path and query, as the client sends it.
    pub url_data: Vec<u8>,
}

impl AnnouncePacket {
    /// The announce `req` as a packet on connection `connection_id`.
    pub fn of(
        req: &AnnounceRequest,
        connection_id: u64,
        transaction_id: u32,
        url_data: &[u8],
    ) -> Self {
        let key = req
            .key
            .as_deref()
            .map(|k| {
                let mut four = [0u8; 4];
                let n = k.len().min(4);
                four[..n].copy_from_slice(&k[..n]);
                u32::from_be_bytes(four)
            })
            .unwrap_or(0);
        AnnouncePacket {
            connection_id,
            transaction_id,
            info_hash: req.info_hash,
            peer_id: req.peer_id,
            downloaded: req.downloaded,
            left: req.left,
            uploaded: req.uploaded,
            event: req.event,
            ip: None,
            key,
            num_want: req.numwant,
            port: req.port,
            url_data: url_data.to_vec(),
        }
    }

    /// The announce as the HTTP side's registry takes it.
    pub fn to_request(&self) -> AnnounceRequest {
        AnnounceRequest {
            uploaded: self.uploaded,
            downloaded: self.downloaded,
            event: self.event,
            numwant: self.num_want,
            key: Some(self.key.to_be_bytes().to_vec()),
            ..AnnounceRequest::new(self.info_hash, self.peer_id, self.port, self.left)
        }
    }
}

/// What a tracker answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Connect {
        transaction_id: u32,
        connection_id: u64,
    },
    Announce {
        transaction_id: u32,
        interval: u32,
        leechers: u32,
        seeders: u32,
        /// All IPv4 or all IPv6: the family of the packet's sender decides.
        peers: Vec<SocketAddr>,
    },
    Scrape {
        transaction_id: u32,
        /// In the order the scrape named the torrents.
        stats: Vec<ScrapeStats>,
    },
    Error {
        transaction_id: u32,
        message: String,
    },
}

impl Response {
    pub fn transaction_id(&self) -> u32 {
        match self {
            Response::Connect { transaction_id, .. }
            | Response::Announce { transaction_id, .. }
            | Response::Scrape { transaction_id, .. }
            | Response::Error { transaction_id, .. } => *transaction_id,
        }
    }
}

/// A cursor over a packet that refuses to read past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    /// The whole packet's length, for errors.
    len: usize,
    what: &'static str,
    need: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PacketError> {
        if self.bytes.len() < n {
            return Err(PacketError::Length {
                what: self.what,
                len: self.len,
                need: self.need,
            });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, PacketError> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self) -> Result<u32, PacketError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, PacketError> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn array20(&mut self) -> Result<[u8; 20], PacketError> {
        Ok(self.take(20)?.try_into().expect("20 bytes"))
    }
}

fn event_code(event: Option<Event>) -> u32 {
    match event {
        None => 0,
        Some(Event::Completed) => 1,
        Some(Event::Started) => 2,
        Some(Event::Stopped) => 3,
    }
}

/// The transaction id of what looks like a request (its bytes 12 to 16), to address an error
/// answer to a packet that is malformed past its header.
pub fn transaction_id_of(packet: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(packet.get(12..16)?.try_into().ok()?))
}

impl Request {
    /// Reads a request of at most [`MAX_PACKET`] bytes: exact sizes for connect (16) and scrape
    /// (16 + 20 per hash, so at most [`MAX_SCRAPE_HASHES`]); an announce of 98 bytes and then BEP 41 options (type 0 ends
    /// them, 1 is one byte of padding, 2 is URL data: a length byte, then that many bytes;
    /// unknown types with a length byte are skipped). Bytes after the end option are ignored,
    /// as BEP 41 says.
    pub fn decode(packet: &[u8]) -> Result<Request, PacketError> {
        if packet.len() > MAX_PACKET {
            return Err(PacketError::TooLarge(packet.len()));
        }
        let mut r = Reader {
            bytes: packet,
            len: packet.len(),
            what: "request",
            need: "at least 16",
        };
        let (connection_id, action, transaction_id) = (r.u64()?, r.u32()?, r.u32()?);
        match action {
            CONNECT => {
                if connection_id != PROTOCOL_ID {
                    return Err(PacketError::ProtocolId);
                }
                if packet.len() != CONNECT_LEN {
                    return Err(PacketError::Length {
                        what: "connect request",
                        len: packet.len(),
                        need: "16",
                    });
                }
                Ok(Request::Connect { transaction_id })
            }
            ANNOUNCE => {
                r.what = "announce request";
                r.need = "at least 98";
                let info_hash = InfoHash(r.array20()?);
                let peer_id = PeerId(r.array20()?);
                let (downloaded, left, uploaded) = (r.u64()?, r.u64()?, r.u64()?);
                let event = match r.u32()? {
                    0 => None,
                    1 => Some(Event::Completed),
                    2 => Some(Event::Started),
                    3 => Some(Event::Stopped),
                    other => return Err(PacketError::Event(other)),
                };
                let ip = match r.u32()? {
                    0 => None,
                    ip => Some(Ipv4Addr::from(ip)),
                };
                let key = r.u32()?;
                let num_want = match r.u32()? as i32 {
                    n if n < 0 => None,
                    n => Some(n as u32),
                };
                let port = r.u16()?;
                let mut url_data = Vec::new();
                while let Some((&kind, rest)) = r.bytes.split_first() {
                    r.bytes = rest;
                    match kind {
                        0 => break,
                        1 => continue,
                        _ => {
                            let len = *r
                                .take(1)
                                .map_err(|_| PacketError::Option { kind })?
                                .first()
                                .expect("1 byte");
                            let data = r
                                .take(usize::from(len))
                                .map_err(|_| PacketError::Option { kind })?;
                            if kind == 2 {
                                url_data.extend_from_slice(data);
                            }
                        }
                    }
                }
                Ok(Request::Announce(AnnouncePacket {
                    connection_id,
                    transaction_id,
                    info_hash,
                    peer_id,
                    downloaded,
                    left,
                    uploaded,
                    event,
                    ip,
                    key,
                    num_want,
                    port,
                    url_data,
                }))
            }
            SCRAPE => {
                let rest = r.bytes;
                if rest.is_empty() || rest.len() % 20 != 0 {
                    return Err(PacketError::Length {
                        what: "scrape request",
                        len: packet.len(),
                        need: "16 and 20 per info-hash",
                    });
                }
                let info_hashes = rest
                    .chunks_exact(20)
                    .map(|h| InfoHash(h.try_into().expect("20 bytes")))
                    .collect();
                Ok(Request::Scrape {
                    connection_id,
                    transaction_id,
                    info_hashes,
                })
            }
            other => Err(PacketError::Action(other)),
        }
    }

    /// Appends the packet to `out`. URL data longer than 255 bytes goes in several options, as
    /// BEP 41 says.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Request::Connect { transaction_id } => {
                out.extend_from_slice(&PROTOCOL_ID.to_be_bytes());
                out.extend_from_slice(&CONNECT.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
            }
            Request::Announce(a) => {
                out.extend_from_slice(&a.connection_id.to_be_bytes());
                out.extend_from_slice(&ANNOUNCE.to_be_bytes());
                out.extend_from_slice(&a.transaction_id.to_be_bytes());
                out.extend_from_slice(&a.info_hash.0);
                out.extend_from_slice(&a.peer_id.0);
                for n in [a.downloaded, a.left, a.uploaded] {
                    out.extend_from_slice(&n.to_be_bytes());
                }
                out.extend_from_slice(&event_code(a.event).to_be_bytes());
                out.extend_from_slice(&a.ip.map_or(0, u32::from).to_be_bytes());
                out.extend_from_slice(&a.key.to_be_bytes());
                let num_want = a.num_want.map_or(-1, |n| n.min(i32::MAX as u32) as i32);
                out.extend_from_slice(&num_want.to_be_bytes());
                out.extend_from_slice(&a.port.to_be_bytes());
                for chunk in a.url_data.chunks(255) {
                    out.push(2);
                    out.push(chunk.len() as u8);
                    out.extend_from_slice(chunk);
                }
            }
            Request::Scrape {
                connection_id,
                transaction_id,
                info_hashes,
            } => {
                out.extend_from_slice(&connection_id.to_be_bytes());
                out.extend_from_slice(&SCRAPE.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                for h in info_hashes {
                    out.extend_from_slice(&h.0);
                }
            }
        }
    }
}

impl Response {
    /// Reads an answer. `v6`: the tracker was asked over IPv6, so announce peers are 18 bytes
    /// each (else 6); a peer list that is not a whole number of entries is an error. An error
    /// message is read as lossy UTF-8.
    pub fn decode(packet: &[u8], v6: bool) -> Result<Response, PacketError> {
        if packet.len() > MAX_PACKET {
            return Err(PacketError::TooLarge(packet.len()));
        }
        let mut r = Reader {
            bytes: packet,
            len: packet.len(),
            what: "response",
            need: "at least 8",
        };
        let (action, transaction_id) = (r.u32()?, r.u32()?);
        match action {
            CONNECT => {
                r.what = "connect response";
                r.need = "16";
                let connection_id = r.u64()?;
                if !r.bytes.is_empty() {
                    return Err(PacketError::Length {
                        what: "connect response",
                        len: packet.len(),
                        need: "16",
                    });
                }
                Ok(Response::Connect {
                    transaction_id,
                    connection_id,
                })
            }
            ANNOUNCE => {
                r.what = "announce response";
                r.need = "20 and a whole number of peers";
                let (interval, leechers, seeders) = (r.u32()?, r.u32()?, r.u32()?);
                let size = if v6 { 18 } else { 6 };
                if r.bytes.len() % size != 0 {
                    return Err(PacketError::Length {
                        what: "announce response",
                        len: packet.len(),
                        need: if v6 {
                            "20 and 18 per peer"
                        } else {
                            "20 and 6 per peer"
                        },
                    });
                }
                let peers = r
                    .bytes
                    .chunks_exact(size)
                    .map(|c| {
                        let port = u16::from_be_bytes([c[size - 2], c[size - 1]]);
                        let ip = if v6 {
                            IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&c[..16]).expect("16")))
                        } else {
                            IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                        };
                        SocketAddr::new(ip, port)
                    })
                    .collect();
                Ok(Response::Announce {
                    transaction_id,
                    interval,
                    leechers,
                    seeders,
                    peers,
                })
            }
            SCRAPE => {
                if r.bytes.len() % 12 != 0 {
                    return Err(PacketError::Length {
                        what: "scrape response",
                        len: packet.len(),
                        need: "8 and 12 per torrent",
                    });
                }
                let stats = r
                    .bytes
                    .chunks_exact(12)
                    .map(|c| {
                        let n = |i: usize| {
                            u64::from(u32::from_be_bytes(c[i..i + 4].try_into().expect("4")))
                        };
                        ScrapeStats {
                            complete: n(0),
                            downloaded: n(4),
                            incomplete: n(8),
                        }
                    })
                    .collect();
                Ok(Response::Scrape {
                    transaction_id,
                    stats,
                })
            }
            ERROR => Ok(Response::Error {
                transaction_id,
                message: String::from_utf8_lossy(r.bytes).into_owned(),
            }),
            other => Err(PacketError::Action(other)),
        }
    }

    /// Appends the packet to `out`: counts above `u32::MAX` are written as `u32::MAX`; peers of
    /// the other family than the first are left out (an answer is all IPv4 or all IPv6), and
    /// so is whatever would take the packet past [`MAX_PACKET`].
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        match self {
            Response::Connect {
                transaction_id,
                connection_id,
            } => {
                out.extend_from_slice(&CONNECT.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                out.extend_from_slice(&connection_id.to_be_bytes());
            }
            Response::Announce {
                transaction_id,
                interval,
                leechers,
                seeders,
                peers,
            } => {
                out.extend_from_slice(&ANNOUNCE.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                for n in [interval, leechers, seeders] {
                    out.extend_from_slice(&n.to_be_bytes());
                }
                let v6 = peers.first().is_some_and(|p| p.is_ipv6());
                for peer in peers.iter().filter(|p| p.is_ipv6() == v6) {
                    let size = if v6 { 18 } else { 6 };
                    if out.len() - start + size > MAX_PACKET {
                        break;
                    }
                    crate::tracker::wire::push_compact(out, *peer);
                }
            }
            Response::Scrape {
                transaction_id,
                stats,
            } => {
                out.extend_from_slice(&SCRAPE.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                let n = |v: u64| u32::try_from(v).unwrap_or(u32::MAX).to_be_bytes();
                for s in stats {
                    out.extend_from_slice(&n(s.complete));
                    out.extend_from_slice(&n(s.downloaded));
                    out.extend_from_slice(&n(s.incomplete));
                }
            }
            Response::Error {
                transaction_id,
                message,
            } => {
                out.extend_from_slice(&ERROR.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                let room = MAX_PACKET - 8;
                let mut cut = message.len().min(room);
                while !message.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.extend_from_slice(&message.as_bytes()[..cut]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announce() -> AnnouncePacket {
        AnnouncePacket {
            connection_id: 0x1122_3344_5566_7788,
            transaction_id: 0xdead_beef,
            info_hash: InfoHash([0xaa; 20]),
            peer_id: PeerId(*b"-BI0100-abcdefghijkl"),
            downloaded: 1,
            left: 2,
            uploaded: 3,
            event: Some(Event::Started),
            ip: None,
            key: 0x0102_0304,
            num_want: Some(50),
            port: 6881,
            url_data: b"/announce?passkey=x".to_vec(),
        }
    }

    fn bytes(r: &Request) -> Vec<u8> {
        let mut out = Vec::new();
        r.encode(&mut out);
        out
    }

    #[test]
    fn requests_round_trip_in_bep15s_layout() {
        let connect = Request::Connect { transaction_id: 7 };
        let b = bytes(&connect);
        assert_eq!(&b[..8], &[0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80]);
        assert_eq!(b.len(), CONNECT_LEN);
        assert_eq!(Request::decode(&b).unwrap(), connect);

        let a = Request::Announce(announce());
        let b = bytes(&a);
        assert_eq!(b.len(), ANNOUNCE_LEN + 2 + 19);
        assert_eq!(&b[8..12], &[0, 0, 0, 1]);
        assert_eq!(&b[80..84], &[0, 0, 0, 2], "event started is 2");
        assert_eq!(&b[96..98], &6881u16.to_be_bytes());
        assert_eq!(Request::decode(&b).unwrap(), a);

        let s = Request::Scrape {
            connection_id: 9,
            transaction_id: 10,
            info_hashes: vec![InfoHash([1; 20]), InfoHash([2; 20])],
        };
        assert_eq!(Request::decode(&bytes(&s)).unwrap(), s);
    }

    #[test]
    fn bep41_options_are_read_and_long_url_data_split() {
        let mut a = announce();
        a.url_data = vec![b'x'; 600];
        let b = bytes(&Request::Announce(a.clone()));
        assert_eq!(b.len(), ANNOUNCE_LEN + 3 * 2 + 600);
        assert_eq!(Request::decode(&b).unwrap(), Request::Announce(a.clone()));
        // NOPs, an unknown option skipped by its length, the end option, then ignored bytes.
        let mut b = bytes(&Request::Announce(AnnouncePacket {
            url_data: Vec::new(),
            ..a.clone()
        }));
        b.extend_from_slice(&[1, 1, 2, 3, b'/', b'a', b'b', 9, 2, 0, 0, 0, 2, 1, b'z']);
        let Request::Announce(got) = Request::decode(&b).unwrap() else {
            panic!()
        };
        assert_eq!(got.url_data, b"/ab");
        // An option that runs past the end.
        let mut b = bytes(&Request::Announce(AnnouncePacket {
            url_data: Vec::new(),
            ..a
        }));
        b.extend_from_slice(&[2, 10, b'/']);
        assert_eq!(Request::decode(&b), Err(PacketError::Option { kind: 2 }));
    }

    #[test]
    fn malformed_requests_are_refused_for_what_is_wrong() {
        let connect = bytes(&Request::Connect { transaction_id: 1 });
        let mut wrong_magic = connect.clone();
        wrong_magic[0] = 1;
        assert_eq!(Request::decode(&wrong_magic), Err(PacketError::ProtocolId));
        assert!(matches!(
            Request::decode(&connect[..15]),
            Err(PacketError::Length { .. })
        ));
        assert!(matches!(
            Request::decode(&[connect.as_slice(), &[0]].concat()),
            Err(PacketError::Length { .. })
        ));
        let a = bytes(&Request::Announce(announce()));
        assert!(matches!(
            Request::decode(&a[..97]),
            Err(PacketError::Length {
                need: "at least 98",
                ..
            })
        ));
        let mut bad_event = a.clone();
        bad_event[83] = 9;
        assert_eq!(Request::decode(&bad_event), Err(PacketError::Event(9)));
        let mut bad_action = a;
        bad_action[11] = 7;
        assert_eq!(Request::decode(&bad_action), Err(PacketError::Action(7)));
        let scrape = |n: usize| {
            bytes(&Request::Scrape {
                connection_id: 1,
                transaction_id: 2,
                info_hashes: vec![InfoHash([3; 20]); n],
            })
        };
        assert_eq!(MAX_SCRAPE_HASHES, 74);
        assert!(Request::decode(&scrape(74)).is_ok());
        assert_eq!(
            Request::decode(&scrape(75)),
            Err(PacketError::TooLarge(1516))
        );
        assert!(matches!(
            Request::decode(&scrape(0)),
            Err(PacketError::Length { .. })
        ));
        assert!(matches!(
            Request::decode(&scrape(2)[..50]),
            Err(PacketError::Length { .. })
        ));
        assert_eq!(
            Request::decode(&vec![0; MAX_PACKET + 1]),
            Err(PacketError::TooLarge(MAX_PACKET + 1))
        );
        assert_eq!(transaction_id_of(&scrape(2)), Some(2));
        assert_eq!(transaction_id_of(&[0; 15]), None);
    }

    fn response(r: &Response) -> Vec<u8> {
        let mut out = Vec::new();
        r.encode(&mut out);
        out
    }

    #[test]
    fn responses_round_trip_for_either_family() {
        for r in [
            Response::Connect {
                transaction_id: 1,
                connection_id: 2,
            },
            Response::Scrape {
                transaction_id: 3,
                stats: vec![ScrapeStats {
                    complete: 4,
                    downloaded: 5,
                    incomplete: 6,
                }],
            },
            Response::Error {
                transaction_id: 7,
                message: "unregistered torrent".into(),
            },
        ] {
            assert_eq!(Response::decode(&response(&r), false).unwrap(), r);
        }
        let v4 = Response::Announce {
            transaction_id: 8,
            interval: 1800,
            leechers: 1,
            seeders: 2,
            peers: vec![
                "10.0.0.1:6881".parse().unwrap(),
                "10.0.0.2:1".parse().unwrap(),
            ],
        };
        let b = response(&v4);
        assert_eq!(b.len(), 20 + 12);
        assert_eq!(Response::decode(&b, false).unwrap(), v4);
        assert!(
            Response::decode(&b, true).is_err(),
            "12 bytes of peers are no IPv6 peer"
        );
        let v6 = Response::Announce {
            transaction_id: 8,
            interval: 1800,
            leechers: 1,
            seeders: 2,
            peers: vec!["[2001:db8::1]:51413".parse().unwrap()],
        };
        assert_eq!(Response::decode(&response(&v6), true).unwrap(), v6);
    }

    #[test]
    fn answers_stay_within_a_packet() {
        let many = Response::Announce {
            transaction_id: 1,
            interval: 1,
            leechers: 0,
            seeders: 0,
            peers: (0..1000u16)
                .map(|i| SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 6881)))
                .collect(),
        };
        let b = response(&many);
        assert!(b.len() <= MAX_PACKET && b.len() > MAX_PACKET - 6);
        let long = Response::Error {
            transaction_id: 1,
            message: "é".repeat(2000),
        };
        let b = response(&long);
        assert!(b.len() <= MAX_PACKET);
        let Response::Error { message, .. } = Response::decode(&b, false).unwrap() else {
            panic!()
        };
        assert!(message.chars().all(|c| c == 'é'));
        // A truncated peer list is refused, not read short.
        let b = response(&Response::Announce {
            transaction_id: 1,
            interval: 1,
            leechers: 0,
            seeders: 0,
            peers: vec!["10.0.0.1:1".parse().unwrap()],
        });
        assert!(Response::decode(&b[..b.len() - 1], false).is_err());
    }

    #[test]
    fn an_announce_maps_to_and_from_the_http_sides_request() {
        let mut req = AnnounceRequest::new(InfoHash([5; 20]), PeerId([6; 20]), 7000, 99);
        req.event = Some(Event::Completed);
        req.numwant = Some(30);
        req.key = Some(vec![1, 2, 3, 4]);
        let packet = AnnouncePacket::of(&req, 1, 2, b"/a");
        let back = packet.to_request();
        assert_eq!(
            (back.info_hash, back.port, back.left),
            (req.info_hash, 7000, 99)
        );
        assert_eq!(
            (back.event, back.numwant),
            (Some(Event::Completed), Some(30))
        );
        assert_eq!(back.key, req.key);
    }
}
