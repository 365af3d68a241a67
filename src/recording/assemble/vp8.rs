//! VP8 frames from their RTP payloads (RFC 7741).

use std::sync::Arc;

use super::{Depacketizer, Frame};

#[derive(Default)]
pub struct Vp8;

/// What an RTP payload's VP8 descriptor says: where the VP8 data starts,
/// and whether the packet starts a frame.
fn descriptor(payload: &[u8]) -> Option<(usize, bool)> {
    let first = *payload.first()?;
    let start = first & 0x10 != 0 && first & 0x07 == 0;
    let mut at = 1;
    if first & 0x80 != 0 {
        let ext = *payload.get(at)?;
        at += 1;
        if ext & 0x80 != 0 {
            // A picture id of 7 or 15 bits.
            at += if payload.get(at)? & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1;
        }
        if ext & 0x30 != 0 {
            at += 1;
        }
    }
    (at < payload.len()).then_some((at, start))
}

/// A VP8 frame's keyframe flag and, for a keyframe, its size (RFC 6386
/// section 9.1).
fn header(frame: &[u8]) -> (bool, Option<(u32, u32)>) {
    let keyframe = frame.first().is_some_and(|b| b & 0x01 == 0);
    let size = (keyframe && frame.len() >= 10 && frame[3..6] == [0x9d, 0x01, 0x2a]).then(|| {
        let w = u32::from(u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff);
        let h = u32::from(u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff);
        (w, h)
    });
    (keyframe, size.filter(|(w, h)| *w > 0 && *h > 0))
}

impl Depacketizer for Vp8 {
    fn starts(payload: &[u8]) -> Option<bool> {
        descriptor(payload).map(|(_, start)| start)
    }

    fn frame(&mut self, ts: u32, payloads: &[Arc<[u8]>]) -> Option<Frame> {
        let mut data = Vec::new();
        for p in payloads {
            let (at, _) = descriptor(p)?;
            data.extend_from_slice(&p[at..]);
        }
        let (keyframe, size) = header(&data);
        Some(Frame {
            ts,
            data,
            keyframe,
            size,
            params: None,
        })
    }
}
