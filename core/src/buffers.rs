//! Buffers that go out in slices and come back.
//!
//! A block read from disk or received from a peer is a slice of a larger buffer, passed on
//! without copying until every slice is gone. Freed to the allocator, such buffers go back to
//! the system and cost a page fault per 4 KiB when mapped again (over 100,000 per GiB
//! downloaded); a [`BufferPool`] watches them and hands them out again instead.

use bytes::BytesMut;
use std::collections::VecDeque;
use std::sync::Mutex;

/// The size of the buffers handed out, at least: a few blocks (so a read or a system call
/// moves several at once), and all alike, so that any can serve any request.
pub const BUFFER_SIZE: usize = 64 << 10;

/// Buffers handed out and watched until every slice of each is dropped. Thread-safe.
#[derive(Debug)]
pub struct BufferPool {
    /// An empty slice at the start of each buffer handed out: it can reclaim the whole buffer
    /// once it is the last.
    lent: Mutex<VecDeque<BytesMut>>,
    keep: usize,
}

impl BufferPool {
    /// A pool that watches at most `keep` buffers (those handed out past it are freed as usual).
    pub fn new(keep: usize) -> BufferPool {
        BufferPool {
            lent: Mutex::new(VecDeque::new()),
            keep,
        }
    }

    /// An empty buffer with room for at least `capacity` bytes (and [`BUFFER_SIZE`]): one
    /// handed out before whose slices are all gone, else a new one.
    pub fn take(&self, capacity: usize) -> BytesMut {
        let capacity = capacity.max(BUFFER_SIZE);
        let mut lent = self.lent.lock().unwrap_or_else(|e| e.into_inner());
        let free = lent.iter_mut().position(|t| t.try_reclaim(capacity));
        let mut buf = free
            .and_then(|i| lent.remove(i))
            .unwrap_or_else(|| BytesMut::with_capacity(capacity));
        if lent.len() < self.keep {
            lent.push_back(buf.split_to(0));
        }
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_once_every_slice_is_gone() {
        let pool = BufferPool::new(4);
        let mut buf = pool.take(1000);
        let at = buf.as_ptr();
        buf.extend_from_slice(&[7; 1000]);
        let mut frozen = buf.freeze();
        let (a, b) = (frozen.split_to(400), frozen);
        drop(a);
        assert_ne!(pool.take(1000).as_ptr(), at, "a slice is still alive");
        drop(b);
        let again = pool.take(1000);
        assert_eq!(again.as_ptr(), at);
        assert!(
            again.is_empty() && again.capacity() >= BUFFER_SIZE,
            "the whole of it"
        );
    }

    #[test]
    fn past_its_bound_buffers_are_not_watched() {
        let pool = BufferPool::new(1);
        let (a, b) = (pool.take(100), pool.take(100));
        let a_at = a.as_ptr();
        assert_ne!(a_at, b.as_ptr());
        drop((a, b));
        assert_eq!(pool.take(100).as_ptr(), a_at);
        assert_eq!(pool.lent.lock().unwrap().len(), 1);
    }
}
