//! [`MessageCodec`]: length-prefixed peer messages to and from bytes, checked against one
//! torrent's [`Layout`] once it is known.

use super::message::{name_of, Message};
use super::PeerError;
use super::SharedLayout;
use crate::buffers::BufferPool;
use crate::extension::{self, ut_metadata::MAX_METADATA_SIZE};
use crate::piece::{Bitfield, BlockRef, Layout, PieceIndex, BLOCK_SIZE};
use bytes::{Buf, BufMut, BytesMut};
use std::sync::{Arc, OnceLock};
use tokio_util::codec::{Decoder, Encoder};

/// Bytes of a `piece` message before its data: length prefix, id, index, begin.
const PIECE_HEADER: usize = 13;
/// Room kept free in the read buffer before more is read: a whole block message.
const ROOM: usize = PIECE_HEADER + BLOCK_SIZE as usize;

/// The largest bitfield accepted before the layout is known: one bit for each piece the
/// largest metadata we fetch can describe (20 bytes of hash per piece).
pub const MAX_UNCHECKED_BITFIELD: usize = (MAX_METADATA_SIZE / 20).div_ceil(8) as usize;

/// Decodes and encodes the messages of one torrent's peer connections.
///
/// Decoding checks everything a peer sends before it sets memory aside for it:
///
/// - the length prefix is at most [`max_message_len`](MessageCodec::max_message_len), the
///   largest legal message for this torrent (`max(bitfield bytes + 1, 9 + BLOCK_SIZE, 2 +`
///   [`extension::MAX_PAYLOAD`]`)`);
/// - messages of fixed size have exactly that size (`choke`, `unchoke`, `interested`,
///   `not interested`, `have all`, `have none`: 1; `have`, `suggest`, `allowed fast`: 5;
///   `request`, `cancel`, `reject`: 13); an extended message has its id and at most
///   [`extension::MAX_PAYLOAD`] bytes;
/// - a `bitfield` has exactly `ceil(pieces / 8)` bytes and its spare bits clear;
/// - piece indices are in range; `request`, `cancel` and `reject` name a block
///   [`Layout::is_valid_request`] accepts; a `piece` message's data is not empty, at most
///   [`BLOCK_SIZE`] bytes and inside its piece (its header is checked as soon as its 13 bytes
///   are in, before room for the data is reserved).
///
/// Until the torrent's [`SharedLayout`] is set (a magnet link's metadata not yet fetched), a
/// bitfield (at most [`MAX_UNCHECKED_BITFIELD`] bytes) and a `have` come unchecked, and the
/// messages about blocks and pieces (`request`, `piece`, `cancel`, `reject`, `suggest`,
/// `allowed fast`) are skipped once their length is checked: we have nothing they could be
/// about, and asked for nothing.
///
/// Breaking any of these is `Err(PeerError::Protocol)` naming the rule; too few bytes yet is
/// `Ok(None)`. Messages with an id we do not speak are skipped by their length (within the
/// same cap) and their bytes discarded as they arrive, never buffered whole. A `piece`
/// message's data is split from the read buffer without copying.
///
/// Encoding writes the same format, and refuses (with [`PeerError::InvalidOutgoing`], writing
/// nothing) a message this codec would reject if a peer sent it.
#[derive(Debug, Clone)]
pub struct MessageCodec {
    layout: SharedLayout,
    /// Bytes of an unknown message still to be discarded.
    skip: usize,
    /// Bytes still missing of the message begun in the read buffer, once its header passed.
    want: usize,
    /// Where read buffers come from, if not from the allocator.
    pool: Option<Arc<BufferPool>>,
}

impl MessageCodec {
    /// A codec for a torrent whose layout is known.
    pub fn new(layout: Layout) -> MessageCodec {
        MessageCodec::shared(Arc::new(OnceLock::from(layout)))
    }

    /// A codec that checks against `layout` once it is set.
    pub fn shared(layout: SharedLayout) -> MessageCodec {
        MessageCodec {
            layout,
            skip: 0,
            want: 0,
            pool: None,
        }
    }

    /// Takes read buffers from `pool` (the blocks received are slices of them), so that they
    /// are reused once every block is written, not freed and mapped afresh.
    pub fn use_pool(&mut self, pool: Arc<BufferPool>) {
        self.pool = Some(pool);
    }

    /// Before more is read: room for the rest of the message begun (once its header passed).
    /// With a pool, room for a whole block message at least, in a buffer from the pool.
    fn make_room(&self, buf: &mut BytesMut) {
        let Some(pool) = &self.pool else {
            buf.reserve(self.want);
            return;
        };
        let needed = self.want.max(ROOM);
        if buf.capacity() - buf.len() < needed {
            let mut fresh = pool.take(buf.len() + needed);
            fresh.extend_from_slice(buf);
            *buf = fresh;
        }
    }

    /// The torrent's layout, once it is known.
    pub fn layout(&self) -> Option<&Layout> {
        self.layout.get()
    }

    /// The largest length prefix accepted: that of the torrent's largest legal message.
    pub fn max_message_len(&self) -> usize {
        let bitfield = match self.layout() {
            Some(layout) => layout.bitfield_len(),
            None => MAX_UNCHECKED_BITFIELD,
        };
        (bitfield + 1)
            .max(9 + BLOCK_SIZE as usize)
            .max(2 + extension::MAX_PAYLOAD)
    }

    /// Checks a message's length prefix and id, and for `piece` its index and begin once they
    /// are in. `Ok(None)` means "wait for more bytes before reserving anything".
    fn check_header(&self, buf: &[u8], len: usize) -> Result<Option<Header>, String> {
        let id = buf[4];
        let name = name_of(id);
        let layout = self.layout();
        // What needs the layout is skipped without it, once its size is right.
        let known = if layout.is_some() {
            Header::Known
        } else {
            Header::Unknown
        };
        let fixed = |want: usize, header: Header| {
            if len == want {
                Ok(Some(header))
            } else {
                Err(format!(
                    "{name}: length prefix {len}, must be exactly {want}"
                ))
            }
        };
        match id {
            Message::CHOKE
            | Message::UNCHOKE
            | Message::INTERESTED
            | Message::NOT_INTERESTED
            | Message::HAVE_ALL
            | Message::HAVE_NONE => fixed(1, Header::Known),
            Message::HAVE => fixed(5, Header::Known),
            Message::SUGGEST | Message::ALLOWED_FAST => fixed(5, known),
            Message::REQUEST | Message::CANCEL | Message::REJECT => fixed(13, known),
            Message::BITFIELD => {
                // Without the layout, the length cap bounds it (MAX_UNCHECKED_BITFIELD).
                let Some(layout) = layout else {
                    return Ok(Some(Header::Known));
                };
                let want = layout.bitfield_len();
                if len - 1 == want {
                    Ok(Some(Header::Known))
                } else {
                    Err(format!(
                        "bitfield: {} bytes, must be exactly {want} for {} pieces",
                        len - 1,
                        layout.piece_count()
                    ))
                }
            }
            Message::PIECE => {
                if len < 9 {
                    return Err(format!(
                        "piece: length prefix {len}, must be at least 9 (index and begin)"
                    ));
                }
                if layout.is_none() {
                    return Ok(Some(Header::Unknown));
                }
                if buf.len() < PIECE_HEADER {
                    return Ok(None);
                }
                let (index, begin) = (be_u32(&buf[5..9]), be_u32(&buf[9..13]));
                self.block("piece", index, begin, (len - 9) as u32)?;
                Ok(Some(Header::Known))
            }
            Message::EXTENDED => {
                if len < 2 || len - 2 > extension::MAX_PAYLOAD {
                    return Err(format!(
                        "extended: {} bytes of payload, must be 0 to {}",
                        len.saturating_sub(2),
                        extension::MAX_PAYLOAD
                    ));
                }
                Ok(Some(Header::Known))
            }
            _ => Ok(Some(Header::Unknown)),
        }
    }

    /// The layout for a message that needs it (the header check skipped those without one).
    fn known_layout(&self) -> Result<&Layout, String> {
        self.layout()
            .ok_or_else(|| "the torrent's layout is not known yet".to_owned())
    }

    /// The block `(index, begin, length)` if this torrent has it: index in range, length in
    /// `1..=BLOCK_SIZE`, and inside the piece (checked in `u64`, so no overflow).
    fn block(&self, what: &str, index: u32, begin: u32, length: u32) -> Result<BlockRef, String> {
        let piece = self.piece(what, index)?;
        let layout = self.known_layout()?;
        let size = layout.piece_size(piece);
        if length == 0 {
            return Err(format!(
                "{what}: empty block (length 0) at {begin} in piece {index}"
            ));
        }
        if length > BLOCK_SIZE {
            return Err(format!(
                "{what}: block of {length} bytes is larger than the {BLOCK_SIZE}-byte limit"
            ));
        }
        if u64::from(begin) + u64::from(length) > u64::from(size) {
            return Err(format!(
                "{what}: block of {length} bytes at {begin} ends past the end of piece {index} \
                 ({size} bytes)"
            ));
        }
        debug_assert!(layout.is_valid_request(piece, begin, length));
        Ok(BlockRef {
            piece,
            begin,
            length,
        })
    }

    fn piece(&self, what: &str, index: u32) -> Result<PieceIndex, String> {
        let layout = self.known_layout()?;
        layout.piece(index).ok_or_else(|| {
            format!(
                "{what}: piece index {index} out of range (the torrent has {} pieces)",
                layout.piece_count()
            )
        })
    }

    /// Parses a whole message whose header [`check_header`](Self::check_header) accepted;
    /// `body` is the payload after the id.
    fn parse(&self, id: u8, mut body: BytesMut) -> Result<Message, String> {
        Ok(match id {
            Message::CHOKE => Message::Choke,
            Message::UNCHOKE => Message::Unchoke,
            Message::INTERESTED => Message::Interested,
            Message::NOT_INTERESTED => Message::NotInterested,
            Message::HAVE_ALL => Message::HaveAll,
            Message::HAVE_NONE => Message::HaveNone,
            Message::HAVE if self.layout().is_none() => Message::UncheckedHave(body.get_u32()),
            Message::HAVE => Message::Have(self.piece("have", body.get_u32())?),
            Message::SUGGEST => Message::Suggest(self.piece("suggest", body.get_u32())?),
            Message::ALLOWED_FAST => {
                Message::AllowedFast(self.piece("allowed fast", body.get_u32())?)
            }
            Message::BITFIELD => {
                let Some(layout) = self.layout() else {
                    return Ok(Message::UncheckedBitfield(body.freeze()));
                };
                Message::Bitfield(Bitfield::from_bytes(layout, &body).ok_or_else(|| {
                    format!(
                        "bitfield: spare bits set past the last piece ({} pieces)",
                        layout.piece_count()
                    )
                })?)
            }
            Message::REQUEST | Message::CANCEL | Message::REJECT => {
                let what = name_of(id);
                let (index, begin, length) = (body.get_u32(), body.get_u32(), body.get_u32());
                let block = self.block(what, index, begin, length)?;
                match id {
                    Message::REQUEST => Message::Request(block),
                    Message::CANCEL => Message::Cancel(block),
                    _ => Message::Reject(block),
                }
            }
            Message::PIECE => {
                let (index, begin) = (body.get_u32(), body.get_u32());
                let block = self.block("piece", index, begin, body.len() as u32)?;
                Message::Piece {
                    piece: block.piece,
                    begin,
                    data: body.freeze(),
                }
            }
            Message::EXTENDED => {
                let id = body.get_u8();
                Message::Extended {
                    id,
                    payload: body.freeze(),
                }
            }
            _ => unreachable!("unknown ids are skipped before parsing"),
        })
    }

    /// Why we must not send `msg`, if it is not valid for this torrent.
    fn check_outgoing(&self, msg: &Message) -> Result<(), String> {
        match msg {
            Message::Have(p) => self.piece("have", p.get()).map(drop),
            Message::Suggest(p) => self.piece("suggest", p.get()).map(drop),
            Message::AllowedFast(p) => self.piece("allowed fast", p.get()).map(drop),
            Message::Bitfield(b) => {
                let layout = self.known_layout()?;
                let bytes = b.as_bytes();
                if Bitfield::from_bytes(layout, bytes).is_none() {
                    return Err(format!(
                        "bitfield: {} bytes or spare bits set; this torrent has {} pieces",
                        bytes.len(),
                        layout.piece_count()
                    ));
                }
                Ok(())
            }
            Message::Request(b) | Message::Cancel(b) | Message::Reject(b) => {
                let what = name_of(msg.id().unwrap_or_default());
                self.block(what, b.piece.get(), b.begin, b.length).map(drop)
            }
            Message::Piece { piece, begin, data } => {
                let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
                self.block("piece", piece.get(), *begin, len).map(drop)
            }
            Message::Extended { payload, .. } if payload.len() > extension::MAX_PAYLOAD => {
                Err(format!(
                    "extended: {} bytes of payload, more than {}",
                    payload.len(),
                    extension::MAX_PAYLOAD
                ))
            }
            Message::UncheckedBitfield(_) | Message::UncheckedHave(_) => {
                Err("unchecked messages are only ever received".to_owned())
            }
            _ => Ok(()),
        }
    }
}

enum Header {
    /// A message BEP 3 defines, its header valid.
    Known,
    /// An id we do not speak: skip the message.
    Unknown,
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl MessageCodec {
    /// The next whole message in `buf`, if it is there; skips unknown ones.
    fn decode_one(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, PeerError> {
        self.want = 0;
        loop {
            if self.skip > 0 {
                let n = self.skip.min(buf.len());
                buf.advance(n);
                self.skip -= n;
                if self.skip > 0 {
                    return Ok(None);
                }
            }
            if buf.len() < 4 {
                return Ok(None);
            }
            let len = be_u32(&buf[..4]) as usize;
            if len == 0 {
                buf.advance(4);
                return Ok(Some(Message::KeepAlive));
            }
            let max_len = self.max_message_len();
            if len > max_len {
                return Err(PeerError::Protocol(format!(
                    "length prefix {len} is larger than the largest message this torrent allows \
                     ({max_len} bytes)"
                )));
            }
            if buf.len() < 5 {
                return Ok(None);
            }
            match self.check_header(buf, len).map_err(PeerError::Protocol)? {
                None => return Ok(None),
                Some(Header::Unknown) => {
                    buf.advance(5);
                    self.skip = len - 1;
                    continue;
                }
                Some(Header::Known) => {}
            }
            if buf.len() < 4 + len {
                self.want = 4 + len - buf.len();
                return Ok(None);
            }
            let id = buf[4];
            let mut frame = buf.split_to(4 + len);
            frame.advance(5);
            return self.parse(id, frame).map(Some).map_err(PeerError::Protocol);
        }
    }
}

impl Decoder for MessageCodec {
    type Item = Message;
    type Error = PeerError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, PeerError> {
        let message = self.decode_one(buf)?;
        if message.is_none() {
            self.make_room(buf);
        }
        Ok(message)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, PeerError> {
        match self.decode(buf)? {
            Some(msg) => Ok(Some(msg)),
            None if buf.is_empty() && self.skip == 0 => Ok(None),
            None => Err(PeerError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed in the middle of a message",
            ))),
        }
    }
}

impl Encoder<Message> for MessageCodec {
    type Error = PeerError;

    fn encode(&mut self, msg: Message, dst: &mut BytesMut) -> Result<(), PeerError> {
        self.check_outgoing(&msg)
            .map_err(PeerError::InvalidOutgoing)?;
        let len = msg.wire_len();
        dst.reserve(4 + len);
        dst.put_u32(len as u32);
        if let Some(id) = msg.id() {
            dst.put_u8(id);
        }
        match &msg {
            Message::Have(p) | Message::Suggest(p) | Message::AllowedFast(p) => {
                dst.put_u32(p.get())
            }
            Message::Bitfield(b) => dst.put_slice(b.as_bytes()),
            Message::Request(b) | Message::Cancel(b) | Message::Reject(b) => {
                dst.put_u32(b.piece.get());
                dst.put_u32(b.begin);
                dst.put_u32(b.length);
            }
            Message::Piece { piece, begin, data } => {
                dst.put_u32(piece.get());
                dst.put_u32(*begin);
                dst.put_slice(data);
            }
            Message::Extended { id, payload } => {
                dst.put_u8(*id);
                dst.put_slice(payload);
            }
            Message::KeepAlive
            | Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => {}
            Message::UncheckedBitfield(_) | Message::UncheckedHave(_) => {
                unreachable!("refused by check_outgoing")
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffers::BUFFER_SIZE;
    use bytes::Bytes;

    /// 4 pieces: three of 32 KiB and a last one of 20000 bytes (blocks 16384 + 3616).
    fn layout() -> Layout {
        Layout::new(32768, 3 * 32768 + 20000).unwrap()
    }

    fn codec() -> MessageCodec {
        MessageCodec::new(layout())
    }

    fn piece(i: u32) -> PieceIndex {
        layout().piece(i).unwrap()
    }

    fn encode(msg: Message) -> BytesMut {
        let mut buf = BytesMut::new();
        codec().encode(msg, &mut buf).unwrap();
        buf
    }

    /// Length prefix and id, then `payload`.
    fn raw(id: u8, payload: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        b.put_u32(1 + payload.len() as u32);
        b.put_u8(id);
        b.put_slice(payload);
        b
    }

    fn u32s(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_be_bytes()).collect()
    }

    /// The protocol error decoding `bytes` gives, which must name `rule`.
    fn rejects(bytes: &[u8], rule: &str) {
        let mut buf = BytesMut::from(bytes);
        match codec().decode(&mut buf) {
            Err(PeerError::Protocol(m)) => assert!(m.contains(rule), "{m:?} lacks {rule:?}"),
            other => panic!("{bytes:02x?}: expected a protocol error, got {other:?}"),
        }
    }

    fn all_messages() -> Vec<Message> {
        let l = layout();
        let mut bf = Bitfield::empty(&l);
        bf.set(piece(0));
        bf.set(piece(3));
        let block = |p, begin, length| BlockRef {
            piece: piece(p),
            begin,
            length,
        };
        vec![
            Message::KeepAlive,
            Message::Choke,
            Message::Unchoke,
            Message::Interested,
            Message::NotInterested,
            Message::Have(piece(3)),
            Message::Bitfield(bf),
            Message::Bitfield(Bitfield::full(&l)),
            Message::Request(block(0, 0, 16384)),
            Message::Request(block(3, 16384, 3616)),
            Message::Piece {
                piece: piece(1),
                begin: 16384,
                data: Bytes::from(vec![7u8; 16384]),
            },
            Message::Piece {
                piece: piece(3),
                begin: 19999,
                data: Bytes::from_static(b"x"),
            },
            Message::Cancel(block(2, 100, 200)),
            Message::Suggest(piece(2)),
            Message::HaveAll,
            Message::HaveNone,
            Message::Reject(block(3, 16384, 3616)),
            Message::AllowedFast(piece(1)),
            Message::Extended {
                id: 0,
                payload: Bytes::from_static(b"d1:md11:ut_metadatai1eee"),
            },
            Message::Extended {
                id: 3,
                payload: Bytes::new(),
            },
        ]
    }

    #[test]
    fn fast_and_extended_wire_formats() {
        // BEP 6: ids 0x0d to 0x11; BEP 10: id 20, then the extended id.
        assert_eq!(&encode(Message::HaveAll)[..], [0, 0, 0, 1, 0x0e]);
        assert_eq!(&encode(Message::HaveNone)[..], [0, 0, 0, 1, 0x0f]);
        assert_eq!(
            &encode(Message::AllowedFast(piece(3)))[..],
            [0, 0, 0, 5, 0x11, 0, 0, 0, 3]
        );
        assert_eq!(encode(Message::Suggest(piece(3)))[4], 0x0d);
        let reject = encode(Message::Reject(BlockRef {
            piece: piece(1),
            begin: 0,
            length: 16384,
        }));
        assert_eq!(
            &reject[..],
            [&[0, 0, 0, 13, 0x10][..], &u32s(&[1, 0, 16384])].concat()
        );
        let extended = encode(Message::Extended {
            id: 2,
            payload: Bytes::from_static(b"de"),
        });
        assert_eq!(&extended[..], [0, 0, 0, 4, 20, 2, b'd', b'e']);
        // Sizes and ranges are checked as for BEP 3's messages.
        rejects(
            &raw(0x0e, &[0]),
            "have all: length prefix 2, must be exactly 1",
        );
        rejects(
            &raw(0x11, &u32s(&[4])),
            "allowed fast: piece index 4 out of range",
        );
        rejects(
            &raw(0x10, &u32s(&[3, 19999, 2])),
            "reject: block of 2 bytes at 19999",
        );
        rejects(&raw(20, &[]), "extended: 0 bytes of payload");
        // Within a torrent's largest message (a big bitfield), an extended one keeps its cap.
        let big = Layout::new(16384, 16384 * 8 * 40000).unwrap();
        let mut too_long = raw(20, &[1]);
        too_long.resize(4 + 2 + extension::MAX_PAYLOAD + 1, 0);
        too_long[..4].copy_from_slice(&(2 + extension::MAX_PAYLOAD as u32 + 1).to_be_bytes());
        match MessageCodec::new(big).decode(&mut too_long) {
            Err(PeerError::Protocol(m)) => assert!(m.contains("extended: 17409 bytes"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn before_the_layout_is_known_bitfields_and_haves_come_unchecked() {
        let shared = SharedLayout::default();
        let mut c = MessageCodec::shared(shared.clone());
        assert_eq!(c.max_message_len(), MAX_UNCHECKED_BITFIELD + 1);
        let mut buf = BytesMut::new();
        buf.put_slice(&raw(5, &[0xff; 3]));
        buf.put_slice(&raw(4, &u32s(&[70000])));
        // About blocks and pieces: skipped, there is nothing they could be about yet.
        buf.put_slice(&raw(6, &u32s(&[0, 0, 16384])));
        buf.put_slice(&raw(7, &[0; 100]));
        buf.put_slice(&raw(0x11, &u32s(&[9])));
        buf.put_slice(&encode(Message::HaveAll));
        let mut got = Vec::new();
        while let Some(m) = c.decode(&mut buf).unwrap() {
            got.push(m);
        }
        assert_eq!(
            got,
            [
                Message::UncheckedBitfield(Bytes::from_static(&[0xff; 3])),
                Message::UncheckedHave(70000),
                Message::HaveAll,
            ]
        );
        // Fixed sizes still hold, and a bitfield is bounded by the largest metadata.
        let mut c = MessageCodec::shared(shared.clone());
        let mut bad = raw(6, &u32s(&[0, 0]));
        assert!(
            matches!(c.decode(&mut bad), Err(PeerError::Protocol(m)) if m.contains("must be exactly 13"))
        );
        let mut c = MessageCodec::shared(shared.clone());
        let mut huge = BytesMut::new();
        huge.put_u32(2 + MAX_UNCHECKED_BITFIELD as u32);
        huge.put_u8(5);
        assert!(
            matches!(c.decode(&mut huge), Err(PeerError::Protocol(m)) if m.contains("larger than the largest message"))
        );
        // We can only send what needs no layout.
        let mut out = BytesMut::new();
        assert!(c.encode(Message::HaveNone, &mut out).is_ok());
        assert!(matches!(
            c.encode(Message::Have(piece(0)), &mut out),
            Err(PeerError::InvalidOutgoing(_))
        ));
        // Once the layout is set, every connection's codec checks against it.
        shared.set(layout()).unwrap();
        let mut buf = raw(4, &u32s(&[70000]));
        assert!(c.decode(&mut buf).is_err());
        let mut buf = raw(4, &u32s(&[3]));
        assert_eq!(c.decode(&mut buf).unwrap(), Some(Message::Have(piece(3))));
    }

    #[test]
    fn every_message_round_trips() {
        for msg in all_messages() {
            let mut buf = encode(msg.clone());
            assert_eq!(buf.len(), 4 + msg.wire_len());
            let mut c = codec();
            assert_eq!(c.decode(&mut buf).unwrap(), Some(msg.clone()), "{msg:?}");
            assert!(buf.is_empty());
            assert_eq!(c.decode(&mut buf).unwrap(), None);
        }
    }

    #[test]
    fn wire_formats_are_bep3() {
        assert_eq!(&encode(Message::KeepAlive)[..], [0, 0, 0, 0]);
        assert_eq!(&encode(Message::Choke)[..], [0, 0, 0, 1, 0]);
        assert_eq!(&encode(Message::NotInterested)[..], [0, 0, 0, 1, 3]);
        assert_eq!(
            &encode(Message::Have(piece(3)))[..],
            [0, 0, 0, 5, 4, 0, 0, 0, 3]
        );
        assert_eq!(
            &encode(Message::Bitfield(Bitfield::full(&layout())))[..],
            [0, 0, 0, 2, 5, 0xf0]
        );
        let req = BlockRef {
            piece: piece(1),
            begin: 16384,
            length: 16384,
        };
        assert_eq!(
            &encode(Message::Request(req))[..],
            [&[0, 0, 0, 13, 6][..], &u32s(&[1, 16384, 16384])].concat()
        );
        assert_eq!(encode(Message::Cancel(req))[4], 8);
        let p = encode(Message::Piece {
            piece: piece(2),
            begin: 8,
            data: Bytes::from_static(b"abc"),
        });
        assert_eq!(
            &p[..],
            [&[0, 0, 0, 12, 7][..], &u32s(&[2, 8]), b"abc"].concat()
        );
    }

    #[test]
    fn a_stream_of_messages_decodes_in_order_one_byte_at_a_time() {
        let msgs = all_messages();
        let mut wire = BytesMut::new();
        let mut c = codec();
        for m in &msgs {
            c.encode(m.clone(), &mut wire).unwrap();
        }
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &b in wire.iter() {
            buf.put_u8(b);
            while let Some(m) = c.decode(&mut buf).unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, msgs);
        assert!(buf.is_empty());
    }

    #[test]
    fn truncated_input_waits_for_more() {
        for msg in all_messages() {
            let full = encode(msg.clone());
            let mut c = codec();
            for cut in 0..full.len() {
                let mut buf = BytesMut::from(&full[..cut]);
                assert_eq!(c.decode(&mut buf).unwrap(), None, "{msg:?} cut at {cut}");
                assert_eq!(
                    buf.len(),
                    cut,
                    "nothing consumed from an incomplete message"
                );
            }
        }
    }

    #[test]
    fn piece_data_is_split_from_the_buffer_without_copying() {
        let mut buf = encode(Message::Piece {
            piece: piece(0),
            begin: 0,
            data: Bytes::from(vec![1u8; 16384]),
        });
        let data_at = buf[13..].as_ptr();
        match codec().decode(&mut buf).unwrap() {
            Some(Message::Piece { data, .. }) => assert_eq!(data.as_ptr(), data_at),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn oversized_length_prefix_is_refused_before_allocating() {
        let c = codec();
        // The largest: an extended message (a ut_metadata piece and its dictionary).
        assert_eq!(c.max_message_len(), 2 + extension::MAX_PAYLOAD);
        let mut buf = BytesMut::with_capacity(64);
        buf.put_slice(&[0xff, 0xff, 0xff, 0xff]);
        let mut c = codec();
        match c.decode(&mut buf) {
            Err(PeerError::Protocol(m)) => assert!(m.contains("length prefix 4294967295"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(buf.capacity() <= 64, "capacity grew to {}", buf.capacity());
        // One past the cap, for an unknown id too (skipping is bounded by the same cap).
        rejects(
            &raw(7, &vec![0; 2 + extension::MAX_PAYLOAD]),
            "is larger than the largest message",
        );
        rejects(
            &[0, 0, 0x44, 0x03, 99],
            "is larger than the largest message",
        );
        // A huge bitfield-sized torrent raises the cap to its bitfield.
        let big = Layout::new(16384, 16384 * 8 * 40000).unwrap();
        assert_eq!(MessageCodec::new(big).max_message_len(), 40001);
    }

    #[test]
    fn valid_header_reserves_only_what_the_message_needs() {
        // A piece header is checked when its 13 bytes are in, before reserving for the data.
        let mut buf = BytesMut::with_capacity(16);
        buf.put_slice(&[0, 0, 0x40, 0x09, 7, 0, 0, 0]);
        let mut c = codec();
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert!(buf.capacity() <= 16);
        buf.put_slice(&[1, 0, 0, 0, 0]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert!(buf.capacity() >= 4 + 9 + 16384);
        // A piece header that does not fit is refused at 13 bytes, with nothing reserved.
        let mut buf = BytesMut::with_capacity(16);
        buf.put_slice(&[0, 0, 0x40, 0x09, 7, 0, 0, 0, 3]);
        buf.put_slice(&16384u32.to_be_bytes());
        assert!(matches!(c.decode(&mut buf), Err(PeerError::Protocol(_))));
        assert!(buf.capacity() <= 16);
    }

    #[test]
    fn fixed_sizes_are_exact() {
        for id in 0..=3 {
            rejects(&raw(id, &[0]), "must be exactly 1");
        }
        rejects(&raw(0, &[0]), "choke: length prefix 2");
        rejects(&raw(3, &[0, 0]), "not interested: length prefix 3");
        rejects(
            &raw(4, &[0, 0, 0]),
            "have: length prefix 4, must be exactly 5",
        );
        rejects(&raw(4, &[0, 0, 0, 0, 0]), "have: length prefix 6");
        rejects(
            &raw(6, &u32s(&[0, 0])),
            "request: length prefix 9, must be exactly 13",
        );
        rejects(&raw(8, &u32s(&[0, 0, 1, 0])), "cancel: length prefix 17");
        rejects(
            &raw(7, &u32s(&[0])),
            "piece: length prefix 5, must be at least 9",
        );
        // Refused on the header alone, not after waiting for the claimed bytes.
        rejects(&[0, 0, 0, 200, 6], "request: length prefix 200");
    }

    #[test]
    fn bitfields_are_exact() {
        rejects(
            &raw(5, &[]),
            "bitfield: 0 bytes, must be exactly 1 for 4 pieces",
        );
        rejects(&raw(5, &[0xf0, 0]), "bitfield: 2 bytes");
        rejects(&raw(5, &[0xf8]), "spare bits set");
        rejects(&raw(5, &[0x01]), "spare bits set");
        let mut buf = raw(5, &[0xa0]);
        match codec().decode(&mut buf).unwrap() {
            Some(Message::Bitfield(b)) => {
                assert_eq!(b.iter().map(PieceIndex::get).collect::<Vec<_>>(), [0, 2])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn indices_and_blocks_are_checked() {
        rejects(
            &raw(4, &u32s(&[4])),
            "have: piece index 4 out of range (the torrent has 4",
        );
        rejects(&raw(4, &u32s(&[u32::MAX])), "out of range");
        rejects(
            &raw(6, &u32s(&[4, 0, 16384])),
            "request: piece index 4 out of range",
        );
        rejects(
            &raw(6, &u32s(&[0, 0, 16385])),
            "larger than the 16384-byte limit",
        );
        rejects(&raw(6, &u32s(&[0, 0, 0])), "request: empty block");
        rejects(
            &raw(6, &u32s(&[0, 16385, 16384])),
            "ends past the end of piece 0 (32768",
        );
        rejects(
            &raw(6, &u32s(&[3, 16384, 3617])),
            "ends past the end of piece 3 (20000",
        );
        rejects(&raw(6, &u32s(&[0, u32::MAX, 16384])), "ends past the end");
        rejects(&raw(6, &u32s(&[0, u32::MAX, 1])), "ends past the end");
        rejects(
            &raw(8, &u32s(&[1, 32768, 1])),
            "cancel: block of 1 bytes at 32768",
        );
        // piece: data past the end of the piece, out-of-range index, empty data, u32::MAX begin.
        let piece_msg =
            |index, begin, len: usize| raw(7, &[u32s(&[index, begin]), vec![0; len]].concat());
        rejects(
            &piece_msg(3, 19000, 1001),
            "piece: block of 1001 bytes at 19000 ends past",
        );
        rejects(&piece_msg(0, 32767, 2), "ends past the end of piece 0");
        rejects(&piece_msg(9, 0, 10), "piece: piece index 9 out of range");
        rejects(&piece_msg(0, 0, 0), "piece: empty block");
        rejects(&piece_msg(0, u32::MAX, 1), "ends past the end");
        // Edges that are fine.
        let mut buf = piece_msg(3, 16384, 3616);
        assert!(matches!(
            codec().decode(&mut buf),
            Ok(Some(Message::Piece { .. }))
        ));
        let mut buf = raw(6, &u32s(&[3, 19999, 1]));
        assert!(matches!(
            codec().decode(&mut buf),
            Ok(Some(Message::Request(_)))
        ));
    }

    #[test]
    fn unknown_ids_are_skipped_by_their_length() {
        let mut c = codec();
        let mut buf = BytesMut::new();
        // BEP 5 port (9), anything (200, 21).
        buf.put_slice(&raw(9, &[0x1a, 0xe1]));
        buf.put_slice(&raw(21, &[]));
        buf.put_slice(&raw(200, &[0xff; 1000]));
        buf.put_slice(&encode(Message::Unchoke));
        assert_eq!(c.decode(&mut buf).unwrap(), Some(Message::Unchoke));
        assert!(buf.is_empty());

        // Split across reads: the skipped bytes are discarded as they come, not buffered.
        let mut c = codec();
        let mut wire = raw(200, &[0xab; 16000]);
        wire.put_slice(&encode(Message::Interested));
        let mut buf = BytesMut::with_capacity(4096);
        let mut got = Vec::new();
        for chunk in wire.chunks(1000) {
            buf.put_slice(chunk);
            while let Some(m) = c.decode(&mut buf).unwrap() {
                got.push(m);
            }
            assert!(buf.len() <= 1000 && buf.capacity() <= 4096);
        }
        assert_eq!(got, [Message::Interested]);
    }

    #[test]
    fn with_a_pool_read_buffers_come_back_once_their_blocks_are_gone() {
        let mut c = codec();
        c.use_pool(Arc::new(BufferPool::new(8)));
        let block = encode(Message::Piece {
            piece: piece(1),
            begin: 0,
            data: Bytes::from(vec![7u8; 16384]),
        });
        let mut buf = BytesMut::new();
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        let first = buf.as_ptr();
        assert!(buf.capacity() >= BUFFER_SIZE);
        // Three blocks as reads would bring them; what is left is too little for a fourth.
        let mut read_three = |buf: &mut BytesMut| {
            for _ in 0..3 {
                buf.extend_from_slice(&block);
            }
            let got: Vec<Message> = std::iter::from_fn(|| c.decode(buf).unwrap()).collect();
            assert_eq!(got.len(), 3);
            got
        };
        let held = read_three(&mut buf);
        assert_ne!(buf.as_ptr(), first, "its blocks still use the first buffer");
        drop(held);
        drop(read_three(&mut buf));
        assert_eq!(buf.as_ptr(), first, "the first buffer came back");
    }

    #[test]
    fn end_of_stream_mid_message_is_an_error() {
        let mut c = codec();
        let mut buf = BytesMut::from(&encode(Message::Have(piece(1)))[..6]);
        match c.decode_eof(&mut buf) {
            Err(PeerError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
        let mut c = codec();
        let mut buf = BytesMut::new();
        assert_eq!(c.decode_eof(&mut buf).unwrap(), None);
    }

    #[test]
    fn encoder_refuses_what_a_peer_would_reject() {
        let other = Layout::new(16384, 100 * 16384).unwrap();
        let far = other.piece(50).unwrap();
        let bad = [
            Message::Have(far),
            Message::Bitfield(Bitfield::full(&other)),
            Message::Request(BlockRef {
                piece: piece(0),
                begin: 0,
                length: 16385,
            }),
            Message::Cancel(BlockRef {
                piece: far,
                begin: 0,
                length: 1,
            }),
            Message::Piece {
                piece: piece(3),
                begin: 19990,
                data: Bytes::from_static(&[0; 11]),
            },
            Message::Piece {
                piece: piece(0),
                begin: 0,
                data: Bytes::new(),
            },
        ];
        for msg in bad {
            let mut buf = BytesMut::new();
            let err = codec().encode(msg.clone(), &mut buf);
            assert!(
                matches!(err, Err(PeerError::InvalidOutgoing(_))),
                "{msg:?}: {err:?}"
            );
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn debug_of_a_piece_shows_its_length() {
        let m = Message::Piece {
            piece: piece(0),
            begin: 0,
            data: Bytes::from(vec![0u8; 16384]),
        };
        assert_eq!(
            format!("{m:?}"),
            "Piece { piece: PieceIndex(0), begin: 0, len: 16384 }"
        );
    }
}
