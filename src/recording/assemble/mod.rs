//! RTP packets to whole frames, for the recorder: a frame's packets, in
//! order, whole or not at all, turned into the frame by its codec's
//! depacketizer (`vp8`, RFC 7741; `h264`, RFC 6184); Opus packets are
//! frames already. A frame is only written once it and every frame before
//! it since a keyframe is complete, so a file never holds a frame the
//! decoder cannot use.

pub mod h264;
pub mod vp8;

use std::collections::BTreeMap;
use std::sync::Arc;

/// A packet held until its frame is complete.
struct Held {
    ts: u32,
    marker: bool,
    payload: Arc<[u8]>,
}

/// An H.264 stream's parameter sets (each a NAL unit), which an MP4 file
/// carries in its track's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSets {
    pub sps: Vec<u8>,
    pub pps: Vec<u8>,
}

/// A complete frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub ts: u32,
    /// VP8: the frame as is; H.264: its NAL units, each after its length
    /// in four bytes (the parameter sets left out).
    pub data: Vec<u8>,
    pub keyframe: bool,
    /// A keyframe's picture size.
    pub size: Option<(u32, u32)>,
    /// H.264: the parameter sets a keyframe decodes with.
    pub params: Option<Arc<ParamSets>>,
}

/// One codec's side of turning packets into frames.
pub trait Depacketizer: Default {
    /// Whether a payload starts a frame; `None` when it is not this
    /// codec's payload at all.
    fn starts(payload: &[u8]) -> Option<bool>;
    /// The frame from its packets' payloads, in order; `None` when they do
    /// not make one.
    fn frame(&mut self, ts: u32, payloads: &[Arc<[u8]>]) -> Option<Frame>;
}

/// Packets older than the newest by this many are given up on: a gap that
/// long will not be repaired in time (retransmissions come within a round
/// trip or two).
const GIVE_UP_AFTER: u64 = 512;

/// Frames from RTP packets, in sequence-number order.
#[derive(Default)]
pub struct Frames<D> {
    held: BTreeMap<u64, Held>,
    /// The next sequence number a frame may start at (`None`: before the
    /// first keyframe, or after a loss).
    next: Option<u64>,
    codec: D,
}

pub type Vp8Frames = Frames<vp8::Vp8>;
pub type H264Frames = Frames<h264::H264>;

impl<D: Depacketizer> Frames<D> {
    /// Takes a packet; returns the frames it completed, oldest first.
    pub fn push(&mut self, seq: u64, ts: u32, marker: bool, payload: Arc<[u8]>) -> Vec<Frame> {
        if self.next.is_some_and(|n| seq < n) {
            // Already written (a retransmission).
            return Vec::new();
        }
        if !payload.is_empty() && D::starts(&payload).is_none() {
            // Not this codec at all.
            return Vec::new();
        }
        // An empty payload is padding (a sender probing its bandwidth on
        // the media stream): it takes a sequence number between frames.
        self.held.insert(
            seq,
            Held {
                ts,
                marker,
                payload,
            },
        );
        let mut out = Vec::new();
        loop {
            match self.take_frame() {
                Some(Some(frame)) => out.push(frame),
                Some(None) => continue,
                None => break,
            }
        }
        // A gap that is not going to be filled: start again at the next
        // keyframe.
        let newest = self.held.keys().next_back().copied().unwrap_or(0);
        if let Some(oldest) = self.held.keys().next().copied() {
            if newest - oldest > GIVE_UP_AFTER {
                self.next = None;
                self.held.retain(|s, _| *s > newest - GIVE_UP_AFTER);
            }
        }
        out
    }

    /// The frame at the head of what is held: `Some(Some(frame))` when it
    /// is complete, `Some(None)` when packets were dropped and the head
    /// moved on, `None` to wait for more.
    fn take_frame(&mut self) -> Option<Option<Frame>> {
        let (&first, head) = self.held.iter().next()?;
        if head.payload.is_empty() && self.next.is_none_or(|n| n == first) {
            // Padding where a frame may start: passed over.
            self.held.remove(&first);
            self.next = self.next.map(|_| first + 1);
            return Some(None);
        }
        let starts = D::starts(&head.payload).unwrap_or(false);
        match self.next {
            Some(n) if first != n => return None,
            _ if !starts => {
                // Not a frame's start where one must begin (the beginning,
                // or a frame cut short): skip to a keyframe.
                self.next = None;
                self.held.remove(&first);
                return Some(None);
            }
            _ => {}
        }
        // The frame's packets: consecutive, one timestamp, up to a marker.
        let ts = head.ts;
        let mut last = None;
        for (expected, (&seq, p)) in (first..).zip(self.held.iter()) {
            if seq != expected || p.ts != ts {
                return None;
            }
            if p.marker {
                last = Some(seq);
                break;
            }
        }
        let last = last?;
        let payloads: Vec<Arc<[u8]>> = (first..=last)
            .filter_map(|seq| self.held.remove(&seq).map(|p| p.payload))
            .collect();
        let Some(frame) = self.codec.frame(ts, &payloads) else {
            // Packets that make no frame: nothing after it decodes until
            // the next keyframe.
            self.next = None;
            return Some(None);
        };
        if self.next.is_none() && !frame.keyframe {
            // Nothing to decode it against.
            return Some(None);
        }
        self.next = Some(last + 1);
        Some(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VP8 keyframe of `w`x`h` with `extra` bytes of data.
    fn keyframe(w: u16, h: u16, extra: usize) -> Vec<u8> {
        let mut f = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
        f.extend_from_slice(&w.to_le_bytes());
        f.extend_from_slice(&h.to_le_bytes());
        f.extend(std::iter::repeat_n(0xab, extra));
        f
    }

    /// RTP payloads for `frame`, `n` of them, with a 15-bit picture id.
    fn packetize(frame: &[u8], n: usize) -> Vec<Arc<[u8]>> {
        let chunk = frame.len().div_ceil(n);
        frame
            .chunks(chunk)
            .enumerate()
            .map(|(i, c)| {
                let start = if i == 0 { 0x10 } else { 0x00 };
                let mut p = vec![0x80 | start, 0x80, 0x80 | 0x12, 0x34];
                p.extend_from_slice(c);
                p.into()
            })
            .collect()
    }

    fn feed(frames: &mut Vp8Frames, seq0: u64, ts: u32, payloads: &[Arc<[u8]>]) -> Vec<Frame> {
        let mut out = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            let marker = i + 1 == payloads.len();
            out.extend(frames.push(seq0 + i as u64, ts, marker, p.clone()));
        }
        out
    }

    #[test]
    fn a_keyframe_in_three_packets_is_one_frame_with_its_size() {
        let mut f = Vp8Frames::default();
        let key = keyframe(1280, 720, 3000);
        let out = feed(&mut f, 10, 900, &packetize(&key, 3));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, key);
        assert!(out[0].keyframe);
        assert_eq!(out[0].size, Some((1280, 720)));
    }

    #[test]
    fn packets_out_of_order_still_make_the_frame() {
        let mut f = Vp8Frames::default();
        let key = keyframe(640, 360, 2000);
        let p = packetize(&key, 3);
        assert!(f.push(1, 0, false, p[0].clone()).is_empty());
        assert!(f.push(3, 0, true, p[2].clone()).is_empty());
        let out = f.push(2, 0, false, p[1].clone());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, key);
    }

    #[test]
    fn nothing_before_the_first_keyframe_and_nothing_after_a_lost_packet_until_the_next() {
        let mut f = Vp8Frames::default();
        let delta = [0x01u8, 0x00, 0x00, 0x55, 0x55];
        // A delta frame first: nothing to decode it against.
        assert!(feed(&mut f, 1, 0, &packetize(&delta, 1)).is_empty());
        let key = keyframe(320, 180, 100);
        assert_eq!(feed(&mut f, 2, 3000, &packetize(&key, 1)).len(), 1);
        assert_eq!(feed(&mut f, 3, 6000, &packetize(&delta, 1)).len(), 1);
        // Seq 4 never comes; later frames wait for it, then give up and
        // resume at a keyframe.
        let mut seq = 5;
        let mut written = 0;
        for i in 0..600 {
            written += feed(&mut f, seq, 9000 + i * 3000, &packetize(&delta, 1)).len();
            seq += 1;
        }
        assert_eq!(written, 0, "no frame that depends on the lost one");
        let out = feed(&mut f, seq, 2_000_000, &packetize(&key, 2));
        assert_eq!(out.len(), 1);
        assert!(out[0].keyframe);
        let after = feed(&mut f, seq + 2, 2_003_000, &packetize(&delta, 1));
        assert_eq!(after.len(), 1, "and on from there");
    }

    #[test]
    fn padding_between_frames_takes_sequence_numbers_without_breaking_the_run() {
        let mut f = Vp8Frames::default();
        let key = keyframe(320, 180, 10);
        assert_eq!(feed(&mut f, 1, 0, &packetize(&key, 1)).len(), 1);
        // Padding (empty payloads) at 2..=4, one of them late.
        assert!(f.push(3, 0, false, Arc::from(&[][..])).is_empty());
        assert!(f.push(2, 0, false, Arc::from(&[][..])).is_empty());
        let delta = [0x01u8, 0x00, 0x00, 0x55];
        assert!(
            feed(&mut f, 5, 3000, &packetize(&delta, 1)).is_empty(),
            "waits for 4"
        );
        let out = f.push(4, 0, false, Arc::from(&[][..]));
        assert_eq!(out.len(), 1, "the delta frame after the padding");
        assert!(!out[0].keyframe);
    }

    #[test]
    fn retransmissions_of_written_packets_are_ignored() {
        let mut f = Vp8Frames::default();
        let key = keyframe(320, 180, 10);
        let p = packetize(&key, 1);
        assert_eq!(feed(&mut f, 7, 0, &p).len(), 1);
        assert!(f.push(7, 0, true, p[0].clone()).is_empty());
    }

    #[test]
    fn hostile_payloads_are_dropped_without_a_panic() {
        let mut f = Vp8Frames::default();
        for p in [
            &[][..],
            &[0x90],
            &[0x90, 0x80],
            &[0x90, 0x80, 0x80],
            &[0xff; 3],
        ] {
            let _ = f.push(1, 0, true, p.into());
        }
    }
}
