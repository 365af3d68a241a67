//! One continuous outgoing RTP stream per viewer track, whatever happens to
//! the sources behind it: a presenter who reconnects (new SSRC, new sequence
//! and timestamp bases) or a switch from camera to screen looks to the
//! viewer like the same stream going on, so it never renegotiates.

use std::time::Instant;

/// Where the current source's numbers start, in and out.
#[derive(Debug, Clone, Copy)]
struct Source {
    ssrc: u32,
    seq_in: u64,
    seq_out: u64,
    ts_offset: u32,
}

#[derive(Debug, Default)]
pub struct Rewriter {
    source: Option<Source>,
    last_seq_out: Option<u64>,
    last_ts_out: u32,
    last_sent_at: Option<Instant>,
}

/// The numbers to send an incoming packet with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    pub seq: u64,
    pub ts: u32,
}

impl Rewriter {
    /// Maps an incoming packet (its SSRC, extended sequence number, RTP
    /// timestamp) to outgoing numbers, or `None` for a packet that is older
    /// than the current source's first (a late straggler of a switch).
    pub fn rewrite(
        &mut self,
        ssrc: u32,
        seq: u64,
        ts: u32,
        now: Instant,
        clock_rate: u32,
    ) -> Option<Rewritten> {
        let src = match self.source {
            Some(s) if s.ssrc == ssrc => s,
            _ => {
                // A new source continues right after the last packet sent,
                // its clock advanced by the wall time that passed since.
                let seq_out = self.last_seq_out.map_or(0, |s| s + 1);
                let elapsed = self.last_sent_at.map_or(0, |t| {
                    let ticks =
                        now.saturating_duration_since(t).as_secs_f64() * f64::from(clock_rate);
                    (ticks as u64).max(1) as u32
                });
                let next_ts = self.last_ts_out.wrapping_add(elapsed);
                let s = Source {
                    ssrc,
                    seq_in: seq,
                    seq_out,
                    ts_offset: next_ts.wrapping_sub(ts),
                };
                self.source = Some(s);
                s
            }
        };
        if seq < src.seq_in {
            return None;
        }
        let out = Rewritten {
            seq: src.seq_out + (seq - src.seq_in),
            ts: ts.wrapping_add(src.ts_offset),
        };
        if self.last_seq_out.is_none_or(|l| out.seq > l) {
            self.last_seq_out = Some(out.seq);
            self.last_ts_out = out.ts;
            self.last_sent_at = Some(now);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_source_keeps_its_spacing_and_gaps() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        let a = r.rewrite(1, 1000, 50_000, t0, 90_000).unwrap();
        let b = r.rewrite(1, 1001, 53_000, t0, 90_000).unwrap();
        let c = r.rewrite(1, 1003, 59_000, t0, 90_000).unwrap();
        assert_eq!(
            (a.seq, b.seq, c.seq),
            (0, 1, 3),
            "a lost packet stays a gap for NACK"
        );
        assert_eq!(b.ts.wrapping_sub(a.ts), 3000);
        assert_eq!(c.ts.wrapping_sub(b.ts), 6000);
    }

    #[test]
    fn a_new_source_continues_the_stream() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        r.rewrite(1, 500, 1000, t0, 90_000).unwrap();
        let last = r.rewrite(1, 501, 4000, t0, 90_000).unwrap();
        // The presenter reconnects 2 s later with fresh random bases.
        let t1 = t0 + Duration::from_secs(2);
        let first = r.rewrite(77, 40_000, 3_000_000_000, t1, 90_000).unwrap();
        assert_eq!(first.seq, last.seq + 1, "no jump in sequence numbers");
        assert_eq!(
            first.ts.wrapping_sub(last.ts),
            180_000,
            "time moves on by 2 s of clock"
        );
        let next = r.rewrite(77, 40_001, 3_000_003_000, t1, 90_000).unwrap();
        assert_eq!(
            (next.seq, next.ts.wrapping_sub(first.ts)),
            (first.seq + 1, 3000)
        );
    }

    #[test]
    fn stragglers_from_before_a_switch_are_dropped() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        r.rewrite(1, 10, 0, t0, 48_000).unwrap();
        r.rewrite(2, 100, 0, t0, 48_000).unwrap();
        assert_eq!(r.rewrite(2, 99, 0, t0, 48_000), None);
    }

    #[test]
    fn timestamps_wrap() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        let a = r.rewrite(1, 1, u32::MAX - 100, t0, 90_000).unwrap();
        let b = r.rewrite(1, 2, 200, t0, 90_000).unwrap();
        assert_eq!(b.ts.wrapping_sub(a.ts), 301);
    }
}
