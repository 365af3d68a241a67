//! UDP sends gathered over one turn of a shard's loop and written with
//! `sendmmsg(2)`: a publisher's packet goes to every viewer of the shard in
//! one system call per `BATCH` packets instead of one each. The kernel's
//! per-packet work stays; what goes is the system call's own cost, which on
//! virtual machines is a large part of a small send.

use std::io::IoSlice;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use nix::sys::socket::{sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};

/// Packets per system call; a turn with more sends several.
pub const BATCH: usize = 64;

pub struct Batch {
    /// The packets' bytes, back to back.
    bytes: Vec<u8>,
    /// Each packet's end in `bytes`, and where it goes.
    ends: Vec<usize>,
    addrs: Vec<Option<SockaddrStorage>>,
    headers: MultiHeaders<SockaddrStorage>,
}

impl Default for Batch {
    fn default() -> Self {
        Self {
            bytes: Vec::with_capacity(BATCH * 1500),
            ends: Vec::with_capacity(BATCH),
            addrs: Vec::with_capacity(BATCH),
            headers: MultiHeaders::preallocate(BATCH, None),
        }
    }
}

impl Batch {
    /// Adds a packet; sends the batch when it is full. Returns how many
    /// packets the socket refused (a full buffer drops them, as the
    /// network would).
    pub fn push(&mut self, socket: &UdpSocket, to: SocketAddr, data: &[u8]) -> u64 {
        self.bytes.extend_from_slice(data);
        self.ends.push(self.bytes.len());
        self.addrs.push(Some(SockaddrStorage::from(to)));
        if self.ends.len() == BATCH {
            self.flush(socket)
        } else {
            0
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Sends what is gathered; how many packets the socket refused.
    pub fn flush(&mut self, socket: &UdpSocket) -> u64 {
        let mut dropped = 0;
        let mut from = 0;
        while from < self.ends.len() {
            let mut start = if from == 0 { 0 } else { self.ends[from - 1] };
            let slices: Vec<[IoSlice<'_>; 1]> = self.ends[from..]
                .iter()
                .map(|end| {
                    let s = [IoSlice::new(&self.bytes[start..*end])];
                    start = *end;
                    s
                })
                .collect();
            let sent = sendmmsg(
                socket.as_raw_fd(),
                &mut self.headers,
                &slices,
                &self.addrs[from..],
                [],
                MsgFlags::empty(),
            )
            .map(|r| r.count());
            match sent {
                Ok(n) if n > 0 => from += n,
                // The first packet left was refused (a full buffer, an
                // address the kernel will not send to): it is dropped and
                // the rest go on.
                _ => {
                    dropped += 1;
                    from += 1;
                }
            }
        }
        self.bytes.clear();
        self.ends.clear();
        self.addrs.clear();
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_packet_arrives_whole_and_in_order_across_full_batches() {
        let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut batch = Batch::default();
        let n = BATCH * 2 + 5;
        let mut dropped = 0;
        for i in 0..n {
            let to = if i % 2 == 0 {
                sink.local_addr().unwrap()
            } else {
                other.local_addr().unwrap()
            };
            let packet = vec![i as u8; 100 + i];
            dropped += batch.push(&socket, to, &packet);
        }
        assert!(!batch.is_empty(), "the tail waits for the flush");
        dropped += batch.flush(&socket);
        assert_eq!(dropped, 0);
        let mut buf = [0u8; 2048];
        for i in (0..n).step_by(2) {
            let len = sink.recv(&mut buf).unwrap();
            assert_eq!(len, 100 + i);
            assert!(buf[..len].iter().all(|b| *b == i as u8));
        }
        for i in (1..n).step_by(2) {
            let len = other.recv(&mut buf).unwrap();
            assert_eq!(len, 100 + i);
        }
    }
}
