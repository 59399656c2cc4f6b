//! The handshake that opens every peer connection, and the helpers that perform it.

use super::codec::MessageCodec;
use super::SharedLayout;
use super::{Connection, PeerError};
use crate::metainfo::InfoHash;
use crate::tracker::PeerId;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::Framed;

/// BEP 3's protocol string, sent after its length (19).
pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";

/// Bytes in a handshake: `pstrlen`, `pstr`, 8 reserved bytes, info-hash, peer id.
pub const HANDSHAKE_LEN: usize = 1 + 19 + 8 + 20 + 20;

/// The first thing each side of a connection sends:
/// `<19><"BitTorrent protocol"><reserved: 8><info_hash: 20><peer_id: 20>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handshake {
    /// Extension bits (BEP 4 lists them). We set BEP 10's (extension protocol) and BEP 6's
    /// (fast extension).
    pub reserved: [u8; 8],
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
}

impl Handshake {
    /// BEP 10's bit: the extension protocol (byte 5, `0x10`).
    const EXTENSION_PROTOCOL: (usize, u8) = (5, 0x10);
    /// BEP 6's bit: the fast extension (byte 7, `0x04`).
    const FAST: (usize, u8) = (7, 0x04);

    /// Our handshake: the extension protocol and the fast extension on.
    pub fn new(info_hash: InfoHash, peer_id: PeerId) -> Handshake {
        let mut reserved = [0; 8];
        for (byte, bit) in [Self::EXTENSION_PROTOCOL, Self::FAST] {
            reserved[byte] |= bit;
        }
        Handshake {
            reserved,
            info_hash,
            peer_id,
        }
    }

    /// The sender speaks BEP 10's extension protocol.
    pub fn supports_extensions(&self) -> bool {
        let (byte, bit) = Self::EXTENSION_PROTOCOL;
        self.reserved[byte] & bit != 0
    }

    /// The sender speaks BEP 6's fast extension.
    pub fn supports_fast(&self) -> bool {
        let (byte, bit) = Self::FAST;
        self.reserved[byte] & bit != 0
    }

    pub fn encode(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0u8; HANDSHAKE_LEN];
        out[0] = PROTOCOL.len() as u8;
        out[1..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved);
        out[28..48].copy_from_slice(&self.info_hash.0);
        out[48..68].copy_from_slice(&self.peer_id.0);
        out
    }

    /// Reads a handshake of exactly [`HANDSHAKE_LEN`] bytes; a wrong length, `pstrlen` or
    /// `pstr` is a [`PeerError::Handshake`] naming it.
    pub fn decode(bytes: &[u8]) -> Result<Handshake, PeerError> {
        if bytes.len() != HANDSHAKE_LEN {
            return Err(PeerError::Handshake(format!(
                "handshake of {} bytes, must be exactly {HANDSHAKE_LEN}",
                bytes.len()
            )));
        }
        check_prefix(&bytes[..20])?;
        let array = |range: std::ops::Range<usize>| -> [u8; 20] {
            bytes[range].try_into().expect("20 bytes")
        };
        Ok(Handshake {
            reserved: bytes[20..28].try_into().expect("8 bytes"),
            info_hash: InfoHash(array(28..48)),
            peer_id: PeerId(array(48..68)),
        })
    }
}

/// Checks `pstrlen` and `pstr` (the first 20 bytes).
fn check_prefix(prefix: &[u8]) -> Result<(), PeerError> {
    if prefix[0] != 19 {
        return Err(PeerError::Handshake(format!(
            "pstrlen is {}, must be 19 (\"BitTorrent protocol\")",
            prefix[0]
        )));
    }
    if &prefix[1..20] != PROTOCOL {
        return Err(PeerError::Handshake(format!(
            "pstr is \"{}\", must be \"BitTorrent protocol\"",
            prefix[1..20].escape_ascii()
        )));
    }
    Ok(())
}

/// Reads the peer's handshake from the socket, refusing a wrong `pstrlen` or `pstr` as soon as
/// those 20 bytes are in. Reads exactly the handshake's bytes, so whatever the peer sends next
/// stays in the socket for the codec.
async fn read_handshake<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Handshake, PeerError> {
    let mut buf = [0u8; HANDSHAKE_LEN];
    read_exact(stream, &mut buf[..20]).await?;
    check_prefix(&buf[..20])?;
    read_exact(stream, &mut buf[20..]).await?;
    Handshake::decode(&buf)
}

async fn read_exact<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut [u8]) -> Result<(), PeerError> {
    match stream.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(PeerError::Handshake(
            "the peer closed the connection before its handshake was complete".into(),
        )),
        Err(e) => Err(PeerError::Io(e)),
    }
}

async fn write_handshake<S: AsyncWrite + Unpin>(
    stream: &mut S,
    handshake: &Handshake,
) -> Result<(), PeerError> {
    stream.write_all(&handshake.encode()).await?;
    stream.flush().await?;
    Ok(())
}

/// Opens a connection we started (`stream` is typically a fresh `TcpStream`): sends `ours`,
/// reads the peer's handshake, and checks that it is for our torrent
/// ([`PeerError::WrongInfoHash`]) and not from ourselves ([`PeerError::OwnConnection`]). All of
/// it within `timeout` ([`PeerError::Timeout`]).
///
/// Returns the peer's handshake (its peer id and reserved bits) and the connection framed with
/// a [`MessageCodec`] for `layout`, the torrent `ours.info_hash` names (once it is known).
/// Comparing the peer id with one a tracker gave is left to the caller.
pub async fn connect_handshake<S>(
    mut stream: S,
    ours: &Handshake,
    layout: SharedLayout,
    timeout: Duration,
) -> Result<(Handshake, Connection<S>), PeerError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let theirs = tokio::time::timeout(timeout, async {
        write_handshake(&mut stream, ours).await?;
        read_handshake(&mut stream).await
    })
    .await
    .map_err(|_| PeerError::Timeout)??;
    if theirs.info_hash != ours.info_hash {
        return Err(PeerError::WrongInfoHash {
            ours: ours.info_hash,
            theirs: theirs.info_hash,
        });
    }
    if theirs.peer_id == ours.peer_id {
        return Err(PeerError::OwnConnection);
    }
    Ok((theirs, framed(stream, layout)))
}

/// Several blocks per read from the start.
fn framed<S>(stream: S, layout: SharedLayout) -> Connection<S> {
    Framed::with_capacity(
        stream,
        MessageCodec::shared(layout),
        crate::buffers::BUFFER_SIZE,
    )
}

/// Answers a connection a peer started: reads its handshake first, asks `lookup` for the
/// torrent it names (our handshake for that torrent and its layout), refuses one we do not
/// serve ([`PeerError::UnknownInfoHash`]) and a peer whose id is ours (`our_peer_id`, or the
/// one in the handshake `lookup` gave: [`PeerError::OwnConnection`]), and only then sends our
/// handshake. Nothing of ours is sent to a refused peer. All of it within `timeout`
/// ([`PeerError::Timeout`]).
///
/// Returns the peer's handshake, ours (as `lookup` gave it) and the framed connection.
pub async fn accept_handshake<S, F>(
    mut stream: S,
    lookup: F,
    our_peer_id: PeerId,
    timeout: Duration,
) -> Result<(Handshake, Handshake, Connection<S>), PeerError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn(&InfoHash) -> Option<(Handshake, SharedLayout)>,
{
    let (theirs, ours, layout) = tokio::time::timeout(timeout, async {
        let theirs = read_handshake(&mut stream).await?;
        let (ours, layout) =
            lookup(&theirs.info_hash).ok_or(PeerError::UnknownInfoHash(theirs.info_hash))?;
        if theirs.peer_id == our_peer_id || theirs.peer_id == ours.peer_id {
            return Err(PeerError::OwnConnection);
        }
        write_handshake(&mut stream, &ours).await?;
        Ok((theirs, ours, layout))
    })
    .await
    .map_err(|_| PeerError::Timeout)??;
    Ok((theirs, ours, framed(stream, layout)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::Message;
    use futures_util::{SinkExt, StreamExt};
    use std::sync::Arc;

    fn ours() -> Handshake {
        Handshake::new(InfoHash([0xaa; 20]), PeerId(*b"-BI0100-ourpeerid000"))
    }

    fn layout() -> SharedLayout {
        Arc::new(crate::piece::Layout::new(16384, 5 * 16384).unwrap().into())
    }

    fn handshake_error(bytes: &[u8]) -> String {
        match Handshake::decode(bytes) {
            Err(PeerError::Handshake(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        let mut h = ours();
        h.reserved[5] = 0x10;
        let bytes = h.encode();
        assert_eq!(bytes.len(), 68);
        assert_eq!(&bytes[..20], b"\x13BitTorrent protocol");
        assert_eq!(bytes[25], 0x10);
        assert_eq!(&bytes[28..48], &[0xaa; 20]);
        assert_eq!(&bytes[48..], b"-BI0100-ourpeerid000");
        assert_eq!(Handshake::decode(&bytes).unwrap(), h);
        let new = Handshake::new(h.info_hash, h.peer_id);
        assert_eq!(new.reserved, [0, 0, 0, 0, 0, 0x10, 0, 0x04]);
        assert!(new.supports_extensions() && new.supports_fast());
        let plain = Handshake {
            reserved: [0; 8],
            ..new
        };
        let plain = Handshake::decode(&plain.encode()).unwrap();
        assert!(!plain.supports_extensions() && !plain.supports_fast());
    }

    #[test]
    fn decode_errors_name_the_field() {
        let good = ours().encode();
        let mut b = good;
        b[0] = 18;
        assert!(handshake_error(&b).contains("pstrlen is 18"));
        let mut b = good;
        b[1] = b'b';
        let m = handshake_error(&b);
        assert!(m.contains("pstr is \"bitTorrent protocol\""), "{m}");
        assert!(handshake_error(&good[..67]).contains("67 bytes"));
        assert!(handshake_error(&[good.as_slice(), &[0]].concat()).contains("69 bytes"));
        assert!(handshake_error(&[]).contains("0 bytes"));
        let mut http = [0u8; 68];
        http[..20].copy_from_slice(b"GET / HTTP/1.1\r\nHost");
        assert!(handshake_error(&http).contains("pstrlen is 71"));
    }

    #[tokio::test]
    async fn handshake_over_a_pipe_then_messages() {
        let (a, b) = tokio::io::duplex(1024);
        let theirs = Handshake::new(ours().info_hash, PeerId([b'p'; 20]));
        let acceptor = tokio::spawn(async move {
            let lookup = |h: &InfoHash| (*h == theirs.info_hash).then(|| (theirs, layout()));
            accept_handshake(b, lookup, theirs.peer_id, Duration::from_secs(5)).await
        });
        let (got, mut conn) = connect_handshake(a, &ours(), layout(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(got, theirs);
        let (seen, answered, mut peer) = acceptor.await.unwrap().unwrap();
        assert_eq!((seen, answered), (ours(), theirs));
        conn.send(Message::Interested).await.unwrap();
        assert_eq!(peer.next().await.unwrap().unwrap(), Message::Interested);
    }

    #[tokio::test]
    async fn malformed_peer_handshake_is_refused_on_its_prefix() {
        let (a, mut b) = tokio::io::duplex(1024);
        // Twenty bytes that are not a handshake, then silence: refused without waiting.
        b.write_all(b"\x13BitTorrent_protocol").await.unwrap();
        let r = connect_handshake(a, &ours(), layout(), Duration::from_secs(30)).await;
        assert!(matches!(r, Err(PeerError::Handshake(m)) if m.contains("pstr is")));
    }

    #[tokio::test]
    async fn closed_mid_handshake() {
        let (a, mut b) = tokio::io::duplex(1024);
        b.write_all(&ours().encode()[..30]).await.unwrap();
        drop(b);
        let r = accept_handshake(
            a,
            |_: &InfoHash| Some((ours(), layout())),
            ours().peer_id,
            Duration::from_secs(30),
        )
        .await;
        assert!(matches!(r, Err(PeerError::Handshake(m)) if m.contains("closed")));
    }
}
