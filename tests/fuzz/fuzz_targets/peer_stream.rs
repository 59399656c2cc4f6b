//! The peer message decoder fed a stream, in chunks of varying size as a socket delivers them,
//! so state across messages (a message split anywhere, unknown messages skipped in pieces) is
//! exercised. The first bytes pick the torrent's layout and the chunk sizes. Invariants: every
//! message decoded re-encodes to exactly the bytes it came from (after any unknown messages
//! skipped before it); nothing is yielded from a stream that broke a rule; the buffer never
//! holds more than one unfinished message.
#![no_main]

use bittern_core::peer::{Message, MessageCodec};
use bittern_core::piece::Layout;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, Encoder};

fuzz_target!(|data: &[u8]| {
    let [a, b, c, d, chunking, stream @ ..] = data else {
        return;
    };
    let piece_length = 16384u64 << (a % 6);
    let total = 1 + u64::from(u32::from_be_bytes([0, *b, *c, *d])) * 4;
    let layout = Layout::new(piece_length, total).expect("a valid layout");
    let mut codec = MessageCodec::new(layout);
    let max_len = codec.max_message_len();

    let mut buf = BytesMut::new();
    let mut fed = 0usize; // bytes of `stream` put into `buf`
    let mut step = 0usize;
    while fed < stream.len() {
        let size = 1 + (usize::from(*chunking) * 7 + step * 13) % 4096;
        step += 1;
        let end = (fed + size).min(stream.len());
        buf.extend_from_slice(&stream[fed..end]);
        fed = end;
        loop {
            let before = buf.len();
            match codec.decode(&mut buf) {
                Ok(Some(message)) => {
                    let consumed = before - buf.len();
                    let start = fed - before;
                    let region = &stream[start..start + consumed];
                    let mut frame = BytesMut::new();
                    codec
                        .encode(message.clone(), &mut frame)
                        .expect("a message the codec accepted can be sent");
                    assert!(
                        region.ends_with(&frame),
                        "{message:?} re-encodes to other bytes than it came from"
                    );
                    if let Message::Piece { data, .. } = &message {
                        assert!(!data.is_empty() && data.len() <= 16384);
                    }
                }
                Ok(None) => {
                    assert!(buf.len() < 4 + max_len, "buffered more than one message");
                    break;
                }
                Err(_) => return,
            }
        }
    }
});
