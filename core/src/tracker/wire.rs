//! The tracker protocol's wire forms: query strings both ways, bencoded answers both ways,
//! BEP 23 compact peers and BEP 7 `peers6`.
//!
//! Parsing is for hostile input on either side: a server reads queries from anyone, a client
//! reads answers from any tracker. Every problem is a typed error naming it ([`QueryError`] for
//! a query, [`TrackerError`] for an answer), never a panic.

use super::{
    AnnounceRequest, AnnounceResponse, Event, Peer, PeerId, ScrapeResponse, ScrapeStats,
    TrackerError,
};
use crate::bencode::{decode, DecodeOptions, Encoder, Node};
use crate::metainfo::InfoHash;
use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Everything but RFC 3986's unreserved characters is escaped.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn escape(bytes: &[u8]) -> percent_encoding::PercentEncode<'_> {
    percent_encode(bytes, QUERY)
}

/// Why a tracker request's query string was refused; its text is the `failure reason` the
/// client gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A `%` not followed by two hex digits.
    #[error("bad percent-encoding in {0:?}")]
    BadEscape(String),
    /// A key that may appear once appears again (which of the two would count?).
    #[error("'{0}' given more than once")]
    Repeated(&'static str),
    #[error("missing '{0}'")]
    Missing(&'static str),
    #[error("'{key}' is not a valid number: {value:?}")]
    NotANumber { key: &'static str, value: String },
    #[error("'{key}' must be 20 bytes, got {len}")]
    NotTwentyBytes { key: &'static str, len: usize },
    #[error("'port' must be from 1 to 65535")]
    PortZero,
    #[error("unknown 'event' {0:?}")]
    UnknownEvent(String),
    #[error("more than {0} info_hash in one scrape")]
    TooManyHashes(usize),
}

/// Decoded `(key, value)` pairs of a query string, in order; borrowed where nothing was escaped.
pub type QueryPairs<'q> = Vec<(Cow<'q, [u8]>, Cow<'q, [u8]>)>;

/// A query string split into decoded `(key, value)` pairs, in order.
///
/// Unlike a lenient decoder, a `%` not followed by two hex digits is an error: a binary
/// `info_hash` must arrive exactly, or not at all.
pub fn parse_query(raw: &[u8]) -> Result<QueryPairs<'_>, QueryError> {
    let mut pairs = Vec::with_capacity(16);
    for part in raw.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (key, value) = match part.iter().position(|&b| b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &b""[..]),
        };
        pairs.push((unescape(key)?, unescape(value)?));
    }
    Ok(pairs)
}

fn unescape(s: &[u8]) -> Result<Cow<'_, [u8]>, QueryError> {
    for (i, _) in s.iter().enumerate().filter(|(_, &b)| b == b'%') {
        if !s
            .get(i + 1..i + 3)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        {
            return Err(QueryError::BadEscape(
                String::from_utf8_lossy(s).into_owned(),
            ));
        }
    }
    // `+` stands for a space in form encoding; BitTorrent clients escape a real `+` as %2B.
    if s.contains(&b'+') {
        let spaced: Vec<u8> = s
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        return Ok(Cow::Owned(percent_decode(&spaced).collect()));
    }
    Ok(percent_decode(s).into())
}

/// The one value of `key`: repeating it is an error (which of the two would count?).
fn single<'q>(
    pairs: &'q QueryPairs<'_>,
    key: &'static str,
) -> Result<Option<&'q [u8]>, QueryError> {
    let mut found = pairs
        .iter()
        .filter(|(k, _)| k.as_ref() == key.as_bytes())
        .map(|(_, v)| v.as_ref());
    let first = found.next();
    if found.next().is_some() {
        return Err(QueryError::Repeated(key));
    }
    Ok(first)
}

fn required<'q>(pairs: &'q QueryPairs<'_>, key: &'static str) -> Result<&'q [u8], QueryError> {
    single(pairs, key)?.ok_or(QueryError::Missing(key))
}

fn number<T: std::str::FromStr>(value: &[u8], key: &'static str) -> Result<T, QueryError> {
    std::str::from_utf8(value)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| QueryError::NotANumber {
            key,
            value: String::from_utf8_lossy(value).into_owned(),
        })
}

fn twenty(value: &[u8], key: &'static str) -> Result<[u8; 20], QueryError> {
    value.try_into().map_err(|_| QueryError::NotTwentyBytes {
        key,
        len: value.len(),
    })
}

impl AnnounceRequest {
    /// Reads an announce from a request's raw query string (server side).
    pub fn from_query(raw: &[u8]) -> Result<Self, QueryError> {
        let pairs = parse_query(raw)?;
        let flag = |key| -> Result<bool, QueryError> {
            Ok(match single(&pairs, key)? {
                None => false,
                Some(v) => number::<u8>(v, key)? != 0,
            })
        };
        let port: u16 = number(required(&pairs, "port")?, "port")?;
        if port == 0 {
            return Err(QueryError::PortZero);
        }
        let event = match single(&pairs, "event")? {
            None | Some(b"") | Some(b"empty") => None,
            Some(b"started") => Some(Event::Started),
            Some(b"completed") => Some(Event::Completed),
            Some(b"stopped") => Some(Event::Stopped),
            Some(other) => {
                return Err(QueryError::UnknownEvent(
                    String::from_utf8_lossy(other).into_owned(),
                ))
            }
        };
        Ok(AnnounceRequest {
            info_hash: InfoHash(twenty(required(&pairs, "info_hash")?, "info_hash")?),
            peer_id: PeerId(twenty(required(&pairs, "peer_id")?, "peer_id")?),
            port,
            uploaded: number(required(&pairs, "uploaded")?, "uploaded")?,
            downloaded: number(required(&pairs, "downloaded")?, "downloaded")?,
            left: number(required(&pairs, "left")?, "left")?,
            event,
            ip: single(&pairs, "ip")?.map(|v| String::from_utf8_lossy(v).into_owned()),
            numwant: single(&pairs, "numwant")?
                .map(|v| number(v, "numwant"))
                .transpose()?,
            compact: flag("compact")?,
            no_peer_id: flag("no_peer_id")?,
            key: single(&pairs, "key")?.map(<[u8]>::to_vec),
            tracker_id: single(&pairs, "trackerid")?.map(<[u8]>::to_vec),
        })
    }

    /// The query string for this announce (client side), without the leading `?`.
    pub fn to_query(&self) -> String {
        let mut q = format!(
            "info_hash={}&peer_id={}&port={}&uploaded={}&downloaded={}&left={}&compact={}",
            escape(&self.info_hash.0),
            escape(&self.peer_id.0),
            self.port,
            self.uploaded,
            self.downloaded,
            self.left,
            u8::from(self.compact),
        );
        if let Some(e) = self.event {
            q += &format!("&event={}", e.as_str());
        }
        if let Some(n) = self.numwant {
            q += &format!("&numwant={n}");
        }
        if self.no_peer_id {
            q += "&no_peer_id=1";
        }
        if let Some(ip) = &self.ip {
            q += &format!("&ip={}", escape(ip.as_bytes()));
        }
        if let Some(key) = &self.key {
            q += &format!("&key={}", escape(key));
        }
        if let Some(id) = &self.tracker_id {
            q += &format!("&trackerid={}", escape(id));
        }
        q
    }
}

/// The info-hashes of a scrape query (server side): one or more `info_hash`, at most `limit`.
pub fn scrape_hashes_from_query(raw: &[u8], limit: usize) -> Result<Vec<InfoHash>, QueryError> {
    let pairs = parse_query(raw)?;
    let hashes = pairs
        .iter()
        .filter(|(k, _)| k.as_ref() == b"info_hash")
        .map(|(_, v)| twenty(v, "info_hash").map(InfoHash))
        .collect::<Result<Vec<_>, _>>()?;
    if hashes.len() > limit {
        return Err(QueryError::TooManyHashes(limit));
    }
    Ok(hashes)
}

/// The query string of a scrape for `hashes` (client side).
pub fn scrape_query(hashes: &[InfoHash]) -> String {
    let parts: Vec<String> = hashes
        .iter()
        .map(|h| format!("info_hash={}", escape(&h.0)))
        .collect();
    parts.join("&")
}

/// BEP 48: the scrape URL of an announce URL whose last path segment starts with `announce`.
pub fn scrape_url(announce: &str) -> Option<String> {
    let (base, query) = announce
        .split_once('?')
        .map_or((announce, None), |(b, q)| (b, Some(q)));
    let slash = base.rfind('/')?;
    let rest = base[slash + 1..].strip_prefix("announce")?;
    let url = format!("{}/scrape{rest}", &base[..slash]);
    Some(match query {
        Some(q) => format!("{url}?{q}"),
        None => url,
    })
}

/// A `failure reason` answer.
pub fn failure(reason: &str) -> Vec<u8> {
    let mut e = Encoder::new();
    e.begin_dict()
        .bytes(b"failure reason")
        .bytes(reason.as_bytes())
        .end();
    e.finish()
}

/// Appends BEP 23 compact peers: 6 bytes per IPv4 peer, 18 per IPv6 peer.
pub fn push_compact(out: &mut Vec<u8>, addr: SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&addr.port().to_be_bytes());
}

/// Reads compact peers; a length that is not a whole number of entries is an error.
pub fn parse_compact(bytes: &[u8], v6: bool) -> Result<Vec<SocketAddr>, TrackerError> {
    let size = if v6 { 18 } else { 6 };
    if bytes.len() % size != 0 {
        return Err(TrackerError::InvalidResponse(format!(
            "compact peer list of {} bytes is not a multiple of {size}",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(size)
        .map(|c| {
            let port = u16::from_be_bytes([c[size - 2], c[size - 1]]);
            let ip = match v6 {
                false => IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
                true => IpAddr::V6(Ipv6Addr::from(
                    <[u8; 16]>::try_from(&c[..16]).expect("16 bytes"),
                )),
            };
            SocketAddr::new(ip, port)
        })
        .collect())
}

impl AnnounceResponse {
    /// The bencoded answer. With `compact`, IPv4 peers go in `peers` and IPv6 peers in
    /// `peers6`; otherwise all are dictionaries in `peers` (without `peer id` if `no_peer_id`).
    pub fn encode(&self, compact: bool, no_peer_id: bool) -> Vec<u8> {
        let per_peer = if compact { 18 } else { 80 };
        let mut e = Encoder::with_capacity(128 + per_peer * self.peers.len());
        e.begin_dict();
        if let Some(n) = self.complete {
            e.bytes(b"complete").int(n as i64);
        }
        if let Some(n) = self.incomplete {
            e.bytes(b"incomplete").int(n as i64);
        }
        e.bytes(b"interval").int(i64::from(self.interval));
        if let Some(n) = self.min_interval {
            e.bytes(b"min interval").int(i64::from(n));
        }
        if compact {
            let (mut v4, mut v6) = (Vec::with_capacity(6 * self.peers.len()), Vec::new());
            for p in &self.peers {
                push_compact(if p.addr.is_ipv4() { &mut v4 } else { &mut v6 }, p.addr);
            }
            e.bytes(b"peers").bytes(&v4);
            if !v6.is_empty() {
                e.bytes(b"peers6").bytes(&v6);
            }
        } else {
            e.bytes(b"peers").begin_list();
            for p in &self.peers {
                e.begin_dict()
                    .bytes(b"ip")
                    .bytes(p.addr.ip().to_string().as_bytes());
                if let (Some(id), false) = (p.peer_id, no_peer_id) {
                    e.bytes(b"peer id").bytes(&id.0);
                }
                e.bytes(b"port").int(i64::from(p.addr.port())).end();
            }
            e.end();
        }
        if let Some(id) = &self.tracker_id {
            e.bytes(b"tracker id").bytes(id);
        }
        if let Some(w) = &self.warning {
            e.bytes(b"warning message").bytes(w.as_bytes());
        }
        e.end();
        e.finish()
    }

    /// Reads a tracker's answer (client side). A `failure reason` becomes
    /// [`TrackerError::Failure`]; peers that cannot be dialled ([`is_dialable`]) or are named
    /// by a host name instead of an address are left out; texts are made safe to show
    /// ([`MAX_TRACKER_TEXT`]); intervals are passed on as given (clamped into `u32`), for the
    /// caller to bound.
    pub fn decode(body: &[u8]) -> Result<Self, TrackerError> {
        let doc = decode(body, DecodeOptions::tolerant()).map_err(|e| {
            let start = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
            TrackerError::InvalidResponse(format!("not bencode ({e}); it starts {start:?}"))
        })?;
        let root = doc.root();
        if root.as_dict().is_none() {
            return Err(TrackerError::InvalidResponse("not a dictionary".into()));
        }
        if let Some(reason) = root.get(b"failure reason") {
            return Err(TrackerError::Failure(
                text(reason).unwrap_or_else(|| "(no reason given)".into()),
            ));
        }
        let seconds = |key: &[u8]| {
            root.get(key)
                .and_then(|n| n.as_int())
                .map(|n| n.clamp(0, u32::MAX as i64) as u32)
        };
        let count = |key: &[u8]| {
            root.get(key)
                .and_then(|n| n.as_int())
                .map(|n| n.max(0) as u64)
        };
        let mut peers = Vec::new();
        match root.get(b"peers") {
            None => {}
            Some(list) if list.as_bytes().is_some() => {
                let addrs = parse_compact(list.as_bytes().unwrap_or_default(), false)?;
                peers.extend(addrs.into_iter().map(|addr| Peer {
                    addr,
                    peer_id: None,
                }));
            }
            Some(list) => {
                let items = list.as_list().ok_or_else(|| {
                    TrackerError::InvalidResponse("'peers' is neither a string nor a list".into())
                })?;
                peers.extend(items.filter_map(dictionary_peer));
            }
        }
        if let Some(six) = root.get(b"peers6").and_then(|p| p.as_bytes()) {
            peers.extend(parse_compact(six, true)?.into_iter().map(|addr| Peer {
                addr,
                peer_id: None,
            }));
        }
        peers.retain(|p| is_dialable(p.addr));
        Ok(AnnounceResponse {
            interval: seconds(b"interval")
                .ok_or_else(|| TrackerError::InvalidResponse("no 'interval'".into()))?,
            min_interval: seconds(b"min interval"),
            complete: count(b"complete"),
            incomplete: count(b"incomplete"),
            peers,
            warning: root.get(b"warning message").and_then(text),
            tracker_id: root
                .get(b"tracker id")
                .and_then(|t| t.as_bytes())
                .map(<[u8]>::to_vec),
        })
    }
}

/// The longest text taken from a tracker's answer (a failure reason, a warning), in characters.
pub const MAX_TRACKER_TEXT: usize = 512;

/// A bencoded string of a tracker's answer as [`shown_text`] gives it.
fn text(node: Node<'_>) -> Option<String> {
    Some(shown_text(node.as_bytes()?))
}

/// A tracker's text as it may be shown: invalid UTF-8 replaced, control characters (terminal
/// escapes, line breaks that would forge log lines or headers) written as escapes, and cut to
/// [`MAX_TRACKER_TEXT`] characters, the last one `…`.
pub fn shown_text(bytes: &[u8]) -> String {
    let raw = String::from_utf8_lossy(bytes);
    // Counted as shown (an escape is several characters), so that showing it again changes
    // nothing.
    let mut shown: Vec<char> = Vec::with_capacity(MAX_TRACKER_TEXT + 10);
    for c in raw.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
        if shown.len() > MAX_TRACKER_TEXT {
            shown.truncate(MAX_TRACKER_TEXT - 1);
            shown.push('…');
            break;
        }
    }
    shown.into_iter().collect()
}

/// Whether a peer a tracker named can be dialled: not port 0, not an unspecified, multicast or
/// broadcast address (a hostile tracker could point us at those to waste our connection slots).
pub fn is_dialable(addr: SocketAddr) -> bool {
    let ip = addr.ip();
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    addr.port() != 0 && !ip.is_unspecified() && !ip.is_multicast() && !broadcast
}

/// A peer of the dictionary form, if it names an address and a usable port.
fn dictionary_peer(node: Node<'_>) -> Option<Peer> {
    let ip: IpAddr = node.get(b"ip")?.as_str()?.parse().ok()?;
    let port = u16::try_from(node.get(b"port")?.as_int()?).ok()?;
    let peer_id = node
        .get(b"peer id")
        .and_then(|p| p.as_bytes())
        .and_then(|b| b.try_into().ok())
        .map(PeerId);
    Some(Peer {
        addr: SocketAddr::new(ip, port),
        peer_id,
    })
}

impl ScrapeResponse {
    /// `d5:filesd<hash>d8:complete..10:downloaded..10:incomplete..ee...ee`, hashes in order.
    pub fn encode(&self) -> Vec<u8> {
        let mut files: Vec<&(InfoHash, ScrapeStats)> = self.files.iter().collect();
        files.sort_by_key(|(h, _)| *h);
        files.dedup_by_key(|(h, _)| *h);
        let mut e = Encoder::new();
        e.begin_dict().bytes(b"files").begin_dict();
        for (hash, s) in files {
            e.bytes(&hash.0).begin_dict();
            e.bytes(b"complete").int(s.complete as i64);
            e.bytes(b"downloaded").int(s.downloaded as i64);
            e.bytes(b"incomplete").int(s.incomplete as i64);
            e.end();
        }
        e.end().end();
        e.finish()
    }

    /// Reads a scrape answer (client side).
    pub fn decode(body: &[u8]) -> Result<Self, TrackerError> {
        let doc = decode(body, DecodeOptions::tolerant())
            .map_err(|e| TrackerError::InvalidResponse(format!("not bencode ({e})")))?;
        let root = doc.root();
        if let Some(reason) = root.get(b"failure reason") {
            return Err(TrackerError::Failure(text(reason).unwrap_or_default()));
        }
        let files = root
            .get(b"files")
            .and_then(|f| f.as_dict())
            .ok_or_else(|| TrackerError::InvalidResponse("no 'files' dictionary".into()))?;
        let count = |d: Node<'_>, key: &[u8]| {
            d.get(key)
                .and_then(|n| n.as_int())
                .map_or(0, |n| n.max(0) as u64)
        };
        Ok(ScrapeResponse {
            files: files
                .filter_map(|(hash, d)| {
                    let hash = InfoHash(hash.try_into().ok()?);
                    Some((
                        hash,
                        ScrapeStats {
                            complete: count(d, b"complete"),
                            downloaded: count(d, b"downloaded"),
                            incomplete: count(d, b"incomplete"),
                        },
                    ))
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AnnounceRequest {
        let mut r = AnnounceRequest::new(
            InfoHash([0xff; 20]),
            PeerId(*b"-BT0001-abc%&=+ \x00\x01\x02\x03"),
            6881,
            1000,
        );
        r.event = Some(Event::Started);
        r.numwant = Some(30);
        r.key = Some(b"k y".to_vec());
        r
    }

    #[test]
    fn a_trackers_text_cannot_drive_a_terminal_or_forge_lines() {
        let answer = |reason: &[u8]| {
            let mut e = Encoder::new();
            e.begin_dict().bytes(b"failure reason").bytes(reason).end();
            match AnnounceResponse::decode(&e.finish()) {
                Err(TrackerError::Failure(text)) => text,
                other => panic!("{other:?}"),
            }
        };
        let shown = answer(b"\x1b[2J\x1b]0;pwned\x07gone\r\nLocation: http://evil/\x00");
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(
            shown.contains("\\u{1b}[2J") && shown.contains("\\r\\nLocation"),
            "{shown:?}"
        );
        let long = answer(&[b'x'; 100_000]);
        assert_eq!(long.chars().count(), MAX_TRACKER_TEXT);
        assert!(long.ends_with('…'));
        let exact = "y".repeat(MAX_TRACKER_TEXT);
        assert_eq!(answer(exact.as_bytes()), exact);
        // Escapes count as shown: what is shown, shown again, is the same (found by the fuzzer).
        let escapes = answer(&[0x7f; MAX_TRACKER_TEXT]);
        assert_eq!(escapes.chars().count(), MAX_TRACKER_TEXT);
        assert_eq!(answer(escapes.as_bytes()), escapes);
    }

    #[test]
    fn peers_that_cannot_be_dialled_are_dropped() {
        let mut compact = Vec::new();
        for addr in [
            "0.0.0.0:6881",
            "255.255.255.255:6881",
            "224.0.0.1:6881",
            "10.0.0.1:0",
            "10.0.0.1:6881",
        ] {
            push_compact(&mut compact, addr.parse().unwrap());
        }
        let mut six = Vec::new();
        for addr in ["[::]:6881", "[ff02::1]:6881", "[2001:db8::1]:6881"] {
            push_compact(&mut six, addr.parse().unwrap());
        }
        let mut e = Encoder::new();
        e.begin_dict()
            .bytes(b"interval")
            .int(60)
            .bytes(b"peers")
            .bytes(&compact);
        e.bytes(b"peers6").bytes(&six).end();
        let answer = AnnounceResponse::decode(&e.finish()).unwrap();
        let kept: Vec<String> = answer.peers.iter().map(|p| p.addr.to_string()).collect();
        assert_eq!(kept, ["10.0.0.1:6881", "[2001:db8::1]:6881"]);
    }

    #[test]
    fn announce_query_round_trips_binary_fields() {
        let r = request();
        assert_eq!(
            AnnounceRequest::from_query(r.to_query().as_bytes()).unwrap(),
            r
        );
    }

    #[test]
    fn bad_queries_name_the_problem() {
        let ok = request().to_query();
        let cases = [
            (ok.replace("info_hash=", "info_hash=%ff&x="), "20 bytes"),
            (ok.replace("port=6881", "port=0"), "port"),
            (ok.replace("port=6881", "port=70000"), "port"),
            (ok.replace("left=1000", "left=-1"), "left"),
            (ok.replace("left=1000", "left=abc"), "left"),
            (format!("{ok}&port=1"), "more than once"),
            (ok.replace("event=started", "event=bogus"), "event"),
            (
                ok.replace("info_hash=%FF", "info_hash=%G1"),
                "percent-encoding",
            ),
            (ok.replace("&uploaded=0", ""), "missing 'uploaded'"),
        ];
        for (query, needle) in cases {
            let err = AnnounceRequest::from_query(query.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(needle), "{query}: {err}");
        }
    }

    #[test]
    fn responses_round_trip_in_both_forms() {
        let response = AnnounceResponse {
            interval: 1800,
            min_interval: Some(60),
            complete: Some(3),
            incomplete: Some(4),
            peers: vec![
                Peer {
                    addr: "10.0.0.1:6881".parse().unwrap(),
                    peer_id: Some(PeerId([1; 20])),
                },
                Peer {
                    addr: "[::1]:51413".parse().unwrap(),
                    peer_id: Some(PeerId([2; 20])),
                },
            ],
            warning: Some("careful".into()),
            tracker_id: Some(b"tid".to_vec()),
        };
        let compact = AnnounceResponse::decode(&response.encode(true, false)).unwrap();
        let without_ids: Vec<Peer> = response
            .peers
            .iter()
            .map(|p| Peer {
                peer_id: None,
                ..*p
            })
            .collect();
        assert_eq!(
            compact,
            AnnounceResponse {
                peers: without_ids,
                ..response.clone()
            }
        );
        assert_eq!(
            AnnounceResponse::decode(&response.encode(false, false)).unwrap(),
            response
        );
        crate::bencode::decode(
            response.encode(false, true).as_slice(),
            DecodeOptions::strict(),
        )
        .unwrap();
    }

    #[test]
    fn hostile_responses_are_errors_or_filtered() {
        let bad = [
            &b"<html>oops</html>"[..],
            b"d8:intervali60e5:peers5:abcdee",
            b"le",
            b"",
        ];
        for body in bad {
            assert!(
                matches!(
                    AnnounceResponse::decode(body),
                    Err(TrackerError::InvalidResponse(_))
                ),
                "{body:?}"
            );
        }
        let failure =
            AnnounceResponse::decode(&super::failure("unregistered torrent")).unwrap_err();
        assert_eq!(failure.to_string(), "tracker refused: unregistered torrent");
        let zero_port =
            b"d8:intervali-5e5:peers12:\x01\x02\x03\x04\x00\x00\x01\x02\x03\x04\x1a\xe1e";
        let r = AnnounceResponse::decode(zero_port).unwrap();
        assert_eq!(r.interval, 0);
        assert_eq!(
            r.peers,
            [Peer {
                addr: "1.2.3.4:6881".parse().unwrap(),
                peer_id: None
            }]
        );
    }

    #[test]
    fn scrape_round_trips_and_urls_follow_bep_48() {
        let s = ScrapeResponse {
            files: vec![(
                InfoHash([9; 20]),
                ScrapeStats {
                    complete: 1,
                    downloaded: 2,
                    incomplete: 3,
                },
            )],
        };
        assert_eq!(ScrapeResponse::decode(&s.encode()).unwrap(), s);
        let q = scrape_query(&[InfoHash([1; 20]), InfoHash([2; 20])]);
        assert_eq!(
            scrape_hashes_from_query(q.as_bytes(), 10).unwrap(),
            [InfoHash([1; 20]), InfoHash([2; 20])]
        );
        assert!(scrape_hashes_from_query(q.as_bytes(), 1).is_err());
        assert_eq!(
            scrape_url("http://t/announce").as_deref(),
            Some("http://t/scrape")
        );
        assert_eq!(
            scrape_url("http://t/x/announce.php?k=1").as_deref(),
            Some("http://t/x/scrape.php?k=1")
        );
        assert_eq!(scrape_url("http://t/a"), None);
    }
}
