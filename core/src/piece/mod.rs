//! Pieces and blocks: how a torrent's data is cut up, which pieces a peer has, and (in
//! `picker`) which blocks to ask for next.
//!
//! [`Layout`] is the one place that knows piece and block sizes; the wire codec, the picker and
//! storage all ask it. [`PieceIndex`] can only be made by checking an index against a layout,
//! so code holding one never indexes out of range.

pub mod picker;

use crate::metainfo::Info;
use std::fmt;

/// The unit of requests: BEP 3 peers ask for 16 KiB blocks (the last block of a piece may be
/// shorter).
pub const BLOCK_SIZE: u32 = 16 << 10;

/// How a torrent's bytes fall into pieces and blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    piece_length: u64,
    total_length: u64,
    piece_count: u32,
}

impl Layout {
    /// `None` if the numbers cannot describe a torrent (no data, no piece length, more pieces
    /// than fit in `u32`).
    pub fn new(piece_length: u64, total_length: u64) -> Option<Layout> {
        if piece_length == 0 || total_length == 0 {
            return None;
        }
        let piece_count = u32::try_from(total_length.div_ceil(piece_length)).ok()?;
        Some(Layout {
            piece_length,
            total_length,
            piece_count,
        })
    }

    /// The layout of a loaded torrent (validated when it was loaded).
    pub fn of(info: &Info) -> Layout {
        Layout::new(info.piece_length(), info.total_length())
            .expect("a loaded torrent has data and pieces")
    }

    pub fn piece_length(&self) -> u64 {
        self.piece_length
    }

    pub fn total_length(&self) -> u64 {
        self.total_length
    }

    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// `index` as a [`PieceIndex`], if this torrent has such a piece.
    pub fn piece(&self, index: u32) -> Option<PieceIndex> {
        (index < self.piece_count).then_some(PieceIndex(index))
    }

    /// Every piece, in order.
    pub fn pieces(&self) -> impl Iterator<Item = PieceIndex> {
        (0..self.piece_count).map(PieceIndex)
    }

    /// Bytes in `piece` (the last piece may be shorter).
    pub fn piece_size(&self, piece: PieceIndex) -> u32 {
        let start = self.piece_offset(piece);
        (self.total_length - start).min(self.piece_length) as u32
    }

    /// Where `piece` starts in the torrent's concatenated data.
    pub fn piece_offset(&self, piece: PieceIndex) -> u64 {
        u64::from(piece.0) * self.piece_length
    }

    /// Blocks in `piece`.
    pub fn block_count(&self, piece: PieceIndex) -> u32 {
        self.piece_size(piece).div_ceil(BLOCK_SIZE)
    }

    /// Bytes in block `block` of `piece` (the last block may be shorter); 0 past the end.
    pub fn block_size(&self, piece: PieceIndex, block: u32) -> u32 {
        let size = self.piece_size(piece);
        let start = u64::from(block) * u64::from(BLOCK_SIZE);
        if start >= u64::from(size) {
            return 0;
        }
        (u64::from(size) - start).min(u64::from(BLOCK_SIZE)) as u32
    }

    /// Whether `(begin, length)` is a block a peer may ask for in `piece`: at most 16 KiB, not
    /// empty, and inside the piece. Checked without overflow whatever the numbers.
    pub fn is_valid_request(&self, piece: PieceIndex, begin: u32, length: u32) -> bool {
        length > 0
            && length <= BLOCK_SIZE
            && u64::from(begin) + u64::from(length) <= u64::from(self.piece_size(piece))
    }

    /// Bytes in a bitfield for this torrent.
    pub fn bitfield_len(&self) -> usize {
        (self.piece_count as usize).div_ceil(8)
    }
}

/// A block: what a `request` asks for, a `cancel` takes back and the picker hands out: `length` bytes at `begin` in `piece`. Blocks the picker hands out start at a multiple of
/// [`BLOCK_SIZE`] and are `BLOCK_SIZE` long except the last of a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockRef {
    pub piece: PieceIndex,
    /// Byte offset of the block inside the piece.
    pub begin: u32,
    /// Bytes in the block.
    pub length: u32,
}

/// A piece index checked against its torrent's [`Layout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PieceIndex(u32);

impl PieceIndex {
    pub fn get(self) -> u32 {
        self.0
    }

    pub fn as_usize(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for PieceIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Which pieces a peer (or we) has: BEP 3's bitfield, high bit of the first byte is piece 0.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitfield {
    bits: Vec<u8>,
    len: u32,
    ones: u32,
}

impl fmt::Debug for Bitfield {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bitfield({}/{})", self.ones, self.len)
    }
}

impl Bitfield {
    /// No pieces.
    pub fn empty(layout: &Layout) -> Bitfield {
        Bitfield {
            bits: vec![0; layout.bitfield_len()],
            len: layout.piece_count(),
            ones: 0,
        }
    }

    /// Every piece.
    pub fn full(layout: &Layout) -> Bitfield {
        let mut b = Bitfield::empty(layout);
        for p in layout.pieces() {
            b.set(p);
        }
        b
    }

    /// A bitfield from the wire: exactly `ceil(pieces / 8)` bytes with the spare bits clear,
    /// or `None`.
    pub fn from_bytes(layout: &Layout, bytes: &[u8]) -> Option<Bitfield> {
        if bytes.len() != layout.bitfield_len() {
            return None;
        }
        let spare = bytes.len() * 8 - layout.piece_count() as usize;
        if spare > 0
            && bytes
                .last()
                .is_some_and(|&last| last & ((1u8 << spare) - 1) != 0)
        {
            return None;
        }
        let ones = bytes.iter().map(|b| b.count_ones()).sum();
        Some(Bitfield {
            bits: bytes.to_vec(),
            len: layout.piece_count(),
            ones,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bits
    }

    pub fn has(&self, piece: PieceIndex) -> bool {
        self.bits[piece.as_usize() / 8] & (0x80 >> (piece.0 % 8)) != 0
    }

    /// Marks `piece`; returns whether it was new.
    pub fn set(&mut self, piece: PieceIndex) -> bool {
        let (byte, mask) = (piece.as_usize() / 8, 0x80u8 >> (piece.0 % 8));
        let new = self.bits[byte] & mask == 0;
        self.bits[byte] |= mask;
        self.ones += u32::from(new);
        new
    }

    /// Unmarks `piece`; returns whether it was marked.
    pub fn clear(&mut self, piece: PieceIndex) -> bool {
        let (byte, mask) = (piece.as_usize() / 8, 0x80u8 >> (piece.0 % 8));
        let was = self.bits[byte] & mask != 0;
        self.bits[byte] &= !mask;
        self.ones -= u32::from(was);
        was
    }

    /// Pieces marked.
    pub fn count(&self) -> u32 {
        self.ones
    }

    pub fn is_complete(&self) -> bool {
        self.ones == self.len
    }

    /// The marked pieces, in order.
    pub fn iter(&self) -> impl Iterator<Item = PieceIndex> + '_ {
        (0..self.len).map(PieceIndex).filter(|&p| self.has(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_at_the_edges() {
        let l = Layout::new(32768, 3 * 32768 + 20000).unwrap();
        assert_eq!(l.piece_count(), 4);
        let last = l.piece(3).unwrap();
        assert_eq!(l.piece_size(last), 20000);
        assert_eq!(l.block_count(last), 2);
        assert_eq!(
            (
                l.block_size(last, 0),
                l.block_size(last, 1),
                l.block_size(last, 2)
            ),
            (16384, 3616, 0)
        );
        assert!(l.piece(4).is_none());
        assert!(l.is_valid_request(last, 16384, 3616));
        assert!(!l.is_valid_request(last, 16384, 3617));
        assert!(!l.is_valid_request(last, u32::MAX, 16384), "no overflow");
        assert!(!l.is_valid_request(last, 0, 0));
        assert!(!l.is_valid_request(l.piece(0).unwrap(), 0, 16385));
        assert!(Layout::new(0, 5).is_none() && Layout::new(5, 0).is_none());
    }

    #[test]
    fn bitfields_from_the_wire_are_checked() {
        let l = Layout::new(16384, 10 * 16384).unwrap();
        assert!(Bitfield::from_bytes(&l, &[0xff, 0xc0]).is_some());
        assert!(
            Bitfield::from_bytes(&l, &[0xff, 0xe0]).is_none(),
            "spare bit set"
        );
        assert!(Bitfield::from_bytes(&l, &[0xff]).is_none(), "too short");
        assert!(
            Bitfield::from_bytes(&l, &[0xff, 0xc0, 0]).is_none(),
            "too long"
        );
        let mut b = Bitfield::from_bytes(&l, &[0x80, 0x40]).unwrap();
        assert_eq!(b.iter().map(PieceIndex::get).collect::<Vec<_>>(), [0, 9]);
        assert!(b.set(l.piece(3).unwrap()));
        assert!(!b.set(l.piece(3).unwrap()));
        assert!(b.clear(l.piece(0).unwrap()));
        assert_eq!(b.count(), 2);
        assert!(Bitfield::full(&l).is_complete());
        assert_eq!(Bitfield::full(&l).as_bytes(), [0xff, 0xc0]);
    }
}
