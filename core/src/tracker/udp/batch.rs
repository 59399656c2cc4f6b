//! Datagrams a batch at a time: on Linux one `recvmmsg` reads up to [`BATCH`] packets and one
//! `sendmmsg` sends their answers, where `recv_from`/`send_to` cost a system call per packet
//! each way. Elsewhere a batch is one packet.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};

/// Packets read or sent per system call.
pub const BATCH: usize = 32;

/// Buffers for [`BATCH`] received datagrams and their senders, reused from call to call.
pub struct Inbox {
    /// Room for one datagram: one byte more than the largest packet taken, so a datagram that
    /// fills its slot was larger (the kernel cut it) and can be told apart.
    slot: usize,
    data: Vec<u8>,
    lens: Vec<usize>,
    from: Vec<Option<SocketAddr>>,
}

impl Inbox {
    /// An inbox for datagrams of at most `max_packet` bytes (longer ones are shown at
    /// `max_packet + 1` bytes, cut, for the caller to drop).
    pub fn new(max_packet: usize) -> Inbox {
        let slot = max_packet + 1;
        Inbox {
            slot,
            data: vec![0; slot * BATCH],
            lens: Vec::with_capacity(BATCH),
            from: Vec::with_capacity(BATCH),
        }
    }

    /// Reads up to [`BATCH`] datagrams from `socket`. A blocking socket waits for the first
    /// (up to its read timeout, then `WouldBlock`), never for more; a nonblocking one never
    /// waits (`WouldBlock` when there is none). Returns how many were read.
    pub fn recv(&mut self, socket: &impl AsFd) -> io::Result<usize> {
        self.lens.clear();
        self.from.clear();
        sys::recv(socket.as_fd(), self)?;
        Ok(self.lens.len())
    }

    /// The datagrams of the last [`recv`](Self::recv) and their senders (`None` for a sender
    /// that is no IP address).
    pub fn packets(&self) -> impl Iterator<Item = (&[u8], Option<SocketAddr>)> {
        self.lens
            .iter()
            .zip(&self.from)
            .enumerate()
            .map(|(i, (&len, &from))| (&self.data[i * self.slot..i * self.slot + len], from))
    }
}

/// Datagrams to send, each with its destination, in one buffer reused from batch to batch.
#[derive(Default)]
pub struct Outbox {
    data: Vec<u8>,
    /// Each datagram's end in `data` and its destination.
    ends: Vec<(usize, SocketAddr)>,
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Adds a datagram to `to`, written by `write` at the end of the buffer; `write` returns
    /// false to add nothing after all.
    pub fn push_with(&mut self, to: SocketAddr, write: impl FnOnce(&mut Vec<u8>) -> bool) {
        let start = self.data.len();
        if write(&mut self.data) {
            self.ends.push((self.data.len(), to));
        } else {
            self.data.truncate(start);
        }
    }

    fn datagrams(&self) -> impl Iterator<Item = (&[u8], SocketAddr)> {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&(end, _)| end));
        starts
            .zip(&self.ends)
            .map(|(start, &(end, to))| (&self.data[start..end], to))
    }

    /// Sends every datagram on `socket`, [`BATCH`] per call, never waiting for room.
    /// Returns how many were sent: when the socket's buffer is full the rest is dropped (as
    /// the network could drop them; BEP 15 clients resend). Clears the outbox.
    pub fn send(&mut self, socket: &impl AsFd) -> usize {
        let result = sys::send(socket.as_fd(), self);
        self.clear();
        result
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use super::{BorrowedFd, Inbox, Outbox, BATCH};
    use socket2::{SockAddr, SockAddrStorage};
    use std::io;
    use std::mem::zeroed;
    use std::os::fd::AsRawFd;

    pub fn recv(socket: BorrowedFd, inbox: &mut Inbox) -> io::Result<()> {
        let mut names: [SockAddrStorage; BATCH] =
            std::array::from_fn(|_| SockAddrStorage::zeroed());
        // SAFETY: all-zero is a valid value of these plain C structs.
        let mut iovecs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        let slot = inbox.slot;
        for (i, ((chunk, iovec), (header, name))) in inbox
            .data
            .chunks_exact_mut(slot)
            .zip(iovecs.iter_mut())
            .zip(headers.iter_mut().zip(names.iter_mut()))
            .enumerate()
        {
            debug_assert!(i < BATCH);
            *iovec = libc::iovec {
                iov_base: chunk.as_mut_ptr().cast(),
                iov_len: slot,
            };
            header.msg_hdr.msg_namelen = name.size_of();
            header.msg_hdr.msg_name = (name as *mut SockAddrStorage).cast();
            header.msg_hdr.msg_iov = iovec;
            header.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at a live buffer of the length it states, all owned by
        // this frame or by `inbox`, which outlive the call.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        for (header, name) in headers.iter().zip(names).take(n as usize) {
            inbox.lens.push(header.msg_len as usize);
            // SAFETY: the kernel wrote a socket address of `msg_namelen` bytes into `name`.
            let from = unsafe { SockAddr::new(name, header.msg_hdr.msg_namelen) };
            inbox.from.push(from.as_socket());
        }
        Ok(())
    }

    pub fn send(socket: BorrowedFd, outbox: &Outbox) -> usize {
        let datagrams: Vec<(&[u8], SockAddr)> = outbox
            .datagrams()
            .map(|(data, to)| (data, SockAddr::from(to)))
            .collect();
        let mut sent = 0;
        for chunk in datagrams.chunks(BATCH) {
            // SAFETY: as in `recv`.
            let mut iovecs: [libc::iovec; BATCH] = unsafe { zeroed() };
            let mut headers: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
            for ((data, to), (iovec, header)) in
                chunk.iter().zip(iovecs.iter_mut().zip(&mut headers))
            {
                *iovec = libc::iovec {
                    iov_base: data.as_ptr() as *mut libc::c_void,
                    iov_len: data.len(),
                };
                header.msg_hdr.msg_name = to.as_ptr() as *mut libc::c_void;
                header.msg_hdr.msg_namelen = to.len();
                header.msg_hdr.msg_iov = iovec;
                header.msg_hdr.msg_iovlen = 1;
            }
            let mut done = 0;
            while done < chunk.len() {
                // SAFETY: the headers point at the datagrams and addresses in `datagrams`,
                // which outlive the call; the kernel only reads them.
                let n = unsafe {
                    libc::sendmmsg(
                        socket.as_raw_fd(),
                        headers[done..].as_mut_ptr(),
                        (chunk.len() - done) as libc::c_uint,
                        libc::MSG_DONTWAIT,
                    )
                };
                if n > 0 {
                    done += n as usize;
                    sent += n as usize;
                } else if io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock {
                    return sent;
                } else {
                    // The kernel refused the first datagram outright (an address it cannot
                    // route): skip it rather than let it hold back the rest.
                    done += 1;
                }
            }
        }
        sent
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use super::{BorrowedFd, Inbox, Outbox};
    use socket2::{SockAddr, SockRef};
    use std::io;
    use std::mem::MaybeUninit;

    pub fn recv(socket: BorrowedFd, inbox: &mut Inbox) -> io::Result<()> {
        let buf = &mut inbox.data[..inbox.slot];
        // SAFETY: initialised bytes are valid `MaybeUninit` bytes; the kernel only writes.
        let buf = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        let (len, from) = SockRef::from(&socket).recv_from(buf)?;
        inbox.lens.push(len);
        inbox.from.push(from.as_socket());
        Ok(())
    }

    pub fn send(socket: BorrowedFd, outbox: &Outbox) -> usize {
        let socket = SockRef::from(&socket);
        let mut sent = 0;
        for (data, to) in outbox.datagrams() {
            match socket.send_to_with_flags(data, &SockAddr::from(to), libc::MSG_DONTWAIT) {
                Ok(_) => sent += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {}
            }
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    fn pair() -> (UdpSocket, UdpSocket) {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    fn wait_readable(socket: &UdpSocket) {
        socket.set_nonblocking(false).unwrap();
        let mut byte = [0u8; 1];
        socket.peek_from(&mut byte).unwrap();
        socket.set_nonblocking(true).unwrap();
    }

    #[test]
    fn a_batch_goes_out_and_comes_back_in_order_with_senders() {
        let (a, b) = pair();
        let to = b.local_addr().unwrap();
        let mut outbox = Outbox::new();
        for i in 0..(BATCH + 5) {
            outbox.push_with(to, |out| {
                out.extend_from_slice(format!("packet {i}").as_bytes());
                true
            });
        }
        outbox.push_with(to, |out| {
            out.extend_from_slice(b"withdrawn");
            false
        });
        assert_eq!(outbox.len(), BATCH + 5);
        assert_eq!(outbox.send(&a), BATCH + 5);
        assert!(outbox.is_empty());
        let mut inbox = Inbox::new(100);
        let mut got = Vec::new();
        while got.len() < BATCH + 5 {
            wait_readable(&b);
            inbox.recv(&b).unwrap();
            for (data, from) in inbox.packets() {
                assert_eq!(from, Some(a.local_addr().unwrap()));
                got.push(String::from_utf8(data.to_vec()).unwrap());
            }
        }
        let expected: Vec<String> = (0..BATCH + 5).map(|i| format!("packet {i}")).collect();
        assert_eq!(got, expected);
        assert_eq!(
            inbox.recv(&b).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    }

    #[test]
    fn an_oversized_datagram_fills_its_slot_and_is_cut() {
        let (a, b) = pair();
        a.send_to(&[7u8; 300], b.local_addr().unwrap()).unwrap();
        a.send_to(b"next", b.local_addr().unwrap()).unwrap();
        let mut inbox = Inbox::new(100);
        let mut lens = Vec::new();
        while lens.len() < 2 {
            wait_readable(&b);
            inbox.recv(&b).unwrap();
            lens.extend(inbox.packets().map(|(data, _)| data.len()));
        }
        assert_eq!(lens, [101, 4]);
    }

    #[test]
    fn an_unroutable_destination_does_not_hold_back_the_rest() {
        let (a, b) = pair();
        let mut outbox = Outbox::new();
        let v6: SocketAddr = "[::1]:9".parse().unwrap(); // not sendable from an IPv4 socket
        outbox.push_with(v6, |out| {
            out.push(1);
            true
        });
        outbox.push_with(b.local_addr().unwrap(), |out| {
            out.push(2);
            true
        });
        assert_eq!(outbox.send(&a), 1);
        wait_readable(&b);
        let mut inbox = Inbox::new(100);
        inbox.recv(&b).unwrap();
        assert_eq!(
            inbox.packets().map(|(d, _)| d.to_vec()).collect::<Vec<_>>(),
            [vec![2]]
        );
    }
}
