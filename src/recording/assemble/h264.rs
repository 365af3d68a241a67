//! H.264 access units from their RTP payloads (RFC 6184, packetization
//! mode 1: single NAL units, STAP-A and FU-A, which WebRTC senders use).
//! The parameter sets are kept aside for the file's track description; a
//! keyframe carries the ones it decodes with.

use std::sync::Arc;

use shiguredo_mp4::bitstream::h264::parse_sps;

use super::{Depacketizer, Frame, ParamSets};

const STAP_A: u8 = 24;
const FU_A: u8 = 28;
const NON_IDR: u8 = 1;
const IDR: u8 = 5;
const SPS: u8 = 7;
const PPS: u8 = 8;
const AUD: u8 = 9;

#[derive(Default)]
pub struct H264 {
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    /// The current parameter sets and the picture size their SPS gives.
    params: Option<(Arc<ParamSets>, (u32, u32))>,
}

/// The NAL units of one access unit's payloads, whole.
fn nal_units(payloads: &[Arc<[u8]>]) -> Option<Vec<Vec<u8>>> {
    let mut nals = Vec::new();
    let mut fragment: Option<Vec<u8>> = None;
    for p in payloads {
        let first = *p.first()?;
        match first & 0x1f {
            1..=23 => {
                if fragment.is_some() {
                    return None;
                }
                nals.push(p.to_vec());
            }
            STAP_A => {
                if fragment.is_some() {
                    return None;
                }
                let mut at = 1;
                while at < p.len() {
                    let len = usize::from(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]));
                    at += 2;
                    if len == 0 {
                        return None;
                    }
                    nals.push(p.get(at..at + len)?.to_vec());
                    at += len;
                }
            }
            FU_A => {
                let header = *p.get(1)?;
                let body = p.get(2..)?;
                if header & 0x80 != 0 {
                    if fragment.is_some() {
                        return None;
                    }
                    let mut nal = vec![(first & 0xe0) | (header & 0x1f)];
                    nal.extend_from_slice(body);
                    fragment = Some(nal);
                } else {
                    fragment.as_mut()?.extend_from_slice(body);
                }
                if header & 0x40 != 0 {
                    nals.push(fragment.take()?);
                }
            }
            _ => return None,
        }
    }
    // A fragmented unit that never ended is not whole.
    fragment.is_none().then_some(nals)
}

impl H264 {
    /// The parameter sets and size for a keyframe, from the latest SPS and
    /// PPS; `None` when there are none, or the SPS does not parse.
    fn current(&mut self) -> Option<(Arc<ParamSets>, (u32, u32))> {
        let (sps, pps) = (self.sps.as_ref()?, self.pps.as_ref()?);
        if let Some((p, size)) = &self.params {
            if p.sps == *sps && p.pps == *pps {
                return Some((p.clone(), *size));
            }
        }
        let parsed = parse_sps(sps).ok()?;
        let size = (u32::from(parsed.width), u32::from(parsed.height));
        let params = Arc::new(ParamSets {
            sps: sps.clone(),
            pps: pps.clone(),
        });
        self.params = Some((params.clone(), size));
        Some((params, size))
    }
}

impl Depacketizer for H264 {
    fn starts(payload: &[u8]) -> Option<bool> {
        let first = *payload.first()?;
        if first & 0x80 != 0 {
            return None;
        }
        match first & 0x1f {
            1..=23 | STAP_A => Some(true),
            FU_A => payload.get(1).map(|h| h & 0x80 != 0),
            _ => None,
        }
    }

    fn frame(&mut self, ts: u32, payloads: &[Arc<[u8]>]) -> Option<Frame> {
        let nals = nal_units(payloads)?;
        let mut data = Vec::new();
        let mut keyframe = false;
        let mut first_slice = None;
        for nal in nals {
            let kind = nal.first()? & 0x1f;
            match kind {
                SPS => self.sps = Some(nal),
                PPS => self.pps = Some(nal),
                AUD => {}
                _ => {
                    if kind == IDR || kind == NON_IDR {
                        keyframe |= kind == IDR;
                        // first_mb_in_slice, ue(v): a leading 1 bit is 0.
                        first_slice.get_or_insert(nal.get(1).is_some_and(|b| b & 0x80 != 0));
                    }
                    data.extend_from_slice(&u32::try_from(nal.len()).ok()?.to_be_bytes());
                    data.extend_from_slice(&nal);
                }
            }
        }
        // No picture, or not from its first macroblock (the packets
        // before were lost): nothing to write.
        if first_slice != Some(true) {
            return None;
        }
        let (params, size) = if keyframe {
            let (params, size) = self.current()?;
            (Some(params), Some(size))
        } else {
            (None, None)
        };
        Some(Frame {
            ts,
            data,
            keyframe,
            size,
            params,
        })
    }
}

/// A 320x240 constrained-baseline SPS and its PPS, as x264 writes them
/// (for the tests here and the MP4 writer's).
#[cfg(test)]
pub(crate) mod fixtures {
    pub const SPS_320: &[u8] = &[
        0x67, 0x42, 0xc0, 0x0d, 0xdc, 0x14, 0x1f, 0xb0, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00,
        0x00, 0x03, 0x00, 0x3c, 0x0f, 0x14, 0x2b, 0x80,
    ];
    pub const PPS: &[u8] = &[0x68, 0xce, 0x0f, 0x2c, 0x80];
}

#[cfg(test)]
mod tests {
    use super::super::H264Frames;
    use super::fixtures::{PPS, SPS_320};
    use super::*;

    fn stap_a(nals: &[&[u8]]) -> Arc<[u8]> {
        let mut p = vec![0x78];
        for n in nals {
            p.extend_from_slice(&(n.len() as u16).to_be_bytes());
            p.extend_from_slice(n);
        }
        p.into()
    }

    /// FU-A payloads for `nal` in `n` pieces.
    fn fu_a(nal: &[u8], n: usize) -> Vec<Arc<[u8]>> {
        let body = &nal[1..];
        let chunk = body.len().div_ceil(n);
        let pieces: Vec<_> = body.chunks(chunk).collect();
        pieces
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let s = if i == 0 { 0x80 } else { 0 };
                let e = if i + 1 == pieces.len() { 0x40 } else { 0 };
                let mut p = vec![(nal[0] & 0xe0) | FU_A, s | e | (nal[0] & 0x1f)];
                p.extend_from_slice(c);
                p.into()
            })
            .collect()
    }

    /// A slice NAL unit from macroblock 0 (`first_mb_in_slice` = 0).
    fn slice(kind: u8, len: usize) -> Vec<u8> {
        let mut n = vec![0x60 | kind, 0x88];
        n.extend(std::iter::repeat_n(0x5a, len));
        n
    }

    fn feed(f: &mut H264Frames, seq0: u64, ts: u32, payloads: &[Arc<[u8]>]) -> Vec<Frame> {
        let mut out = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            out.extend(f.push(seq0 + i as u64, ts, i + 1 == payloads.len(), p.clone()));
        }
        out
    }

    fn length_prefixed(nal: &[u8]) -> Vec<u8> {
        let mut v = (nal.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(nal);
        v
    }

    #[test]
    fn an_idr_after_its_parameter_sets_is_a_keyframe_with_its_size_and_params() {
        let mut f = H264Frames::default();
        let idr = slice(IDR, 3000);
        let mut packets = vec![stap_a(&[SPS_320, PPS])];
        packets.extend(fu_a(&idr, 3));
        let out = feed(&mut f, 1, 90_000, &packets);
        assert_eq!(out.len(), 1);
        let frame = &out[0];
        assert!(frame.keyframe);
        assert_eq!(frame.size, Some((320, 240)));
        assert_eq!(
            frame.data,
            length_prefixed(&idr),
            "the slice, without SPS and PPS"
        );
        let params = frame.params.as_ref().unwrap();
        assert_eq!(
            (params.sps.as_slice(), params.pps.as_slice()),
            (SPS_320, PPS)
        );
        // A delta frame after it: no params, no size.
        let p = slice(NON_IDR, 40);
        let next = feed(&mut f, 5, 93_000, &[p.clone().into()]);
        assert_eq!(next.len(), 1);
        assert!(!next[0].keyframe);
        assert_eq!(next[0].params, None);
        assert_eq!(next[0].data, length_prefixed(&p));
    }

    #[test]
    fn no_keyframe_without_parameter_sets_and_no_picture_missing_its_start() {
        let mut f = H264Frames::default();
        assert!(
            feed(&mut f, 1, 0, &[slice(IDR, 10).into()]).is_empty(),
            "an IDR with no SPS"
        );
        // Starting in the middle of a picture: its second slice.
        let mut second = slice(IDR, 10);
        second[1] = 0x40;
        let out = feed(&mut f, 2, 3000, &[stap_a(&[SPS_320, PPS]), second.into()]);
        assert!(out.is_empty(), "a picture not from its first macroblock");
        let whole = feed(
            &mut f,
            4,
            6000,
            &[stap_a(&[SPS_320, PPS]), slice(IDR, 10).into()],
        );
        assert_eq!(whole.len(), 1);
    }

    #[test]
    fn hostile_payloads_are_dropped_without_a_panic() {
        let mut f = H264Frames::default();
        let bad: [&[u8]; 8] = [
            &[],
            &[0x80],
            &[0x78, 0x00],
            &[0x78, 0x00, 0x09, 0x67],
            &[0x78, 0x00, 0x00],
            &[0x7c],
            &[0x7c, 0x05],
            &[0x7c, 0x45, 0x00],
        ];
        for (i, p) in bad.iter().enumerate() {
            let _ = f.push(i as u64, 0, true, (*p).into());
        }
        // A fragment that never ends, then one that ends without a start.
        let _ = f.push(20, 9, false, vec![0x7c, 0x85, 1].into());
        let _ = f.push(21, 9, true, vec![0x7c, 0x05, 1].into());
        let _ = f.push(22, 10, true, vec![0x7c, 0x45, 1].into());
    }
}
