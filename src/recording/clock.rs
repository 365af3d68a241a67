//! RTP time to wall time, so a sender's tracks (its camera and microphone,
//! its screen) line up in a recording. Each track's RTP clock starts at a
//! random value; the sender's reports (RTCP SR) tie an RTP timestamp to the
//! sender's wall clock, the same clock for all its tracks. Until a track's
//! first report, its first packet's arrival stands in.

use std::time::{Duration, SystemTime};

/// `t` moved by `ticks` of a `rate` Hz clock (either way).
fn shifted(t: SystemTime, ticks: i64, rate: u32) -> SystemTime {
    let d = Duration::from_nanos(
        (ticks.unsigned_abs() as u128 * 1_000_000_000 / rate.max(1) as u128) as u64,
    );
    if ticks >= 0 {
        t + d
    } else {
        t.checked_sub(d).unwrap_or(t)
    }
}

/// Ticks from `from` to `to`, for timestamps less than half the clock's
/// range apart (hours, at media rates).
fn ticks(from: u32, to: u32) -> i64 {
    i64::from(to.wrapping_sub(from) as i32)
}

/// The signed gap `a - b`.
fn gap(a: SystemTime, b: SystemTime) -> (bool, Duration) {
    match a.duration_since(b) {
        Ok(d) => (true, d),
        Err(e) => (false, e.duration()),
    }
}

/// A sender's clock against ours: its wall clock runs some offset from
/// the server's (another machine, and the network's delay); measured once,
/// at its first report, and used for all its tracks.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sender {
    offset: Option<(bool, Duration)>,
}

impl Sender {
    fn on_our_clock(&mut self, theirs: SystemTime, arrival: SystemTime) -> SystemTime {
        let (ahead, by) = *self.offset.get_or_insert_with(|| gap(arrival, theirs));
        if ahead {
            theirs + by
        } else {
            theirs.checked_sub(by).unwrap_or(theirs)
        }
    }
}

/// The most a track's clock moves towards its reports' per sample: the
/// move from the first arrival's guess to the reports is spread over many
/// samples, so no two samples end up close together (players treat two
/// frames within a frame interval as one).
const CATCH_UP: Duration = Duration::from_millis(2);

/// One track's clock.
#[derive(Debug, Clone, Copy)]
pub struct Track {
    rate: u32,
    /// Before any report: the first packet's timestamp and arrival.
    first: Option<(u32, SystemTime)>,
    /// What the first arrival's guess was ahead of the reports (or behind),
    /// still to be caught up.
    bias: Option<(bool, Duration)>,
}

impl Track {
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            first: None,
            bias: None,
        }
    }

    /// When (on our clock) the sample at RTP time `ts` was taken.
    pub fn wall(
        &mut self,
        sender: &mut Sender,
        ts: u32,
        arrival: SystemTime,
        report: Option<(SystemTime, u32)>,
    ) -> SystemTime {
        let guessed = |first: &mut Option<(u32, SystemTime)>| {
            let (t0, at) = *first.get_or_insert((ts, arrival));
            shifted(at, ticks(t0, ts), self.rate)
        };
        let Some((ntp, rtp)) = report else {
            return guessed(&mut self.first);
        };
        let reported = sender.on_our_clock(shifted(ntp, ticks(rtp, ts), self.rate), arrival);
        // The first report: from here the track follows the reports, from
        // where the guess had it, a little closer each sample.
        let (ahead, by) = *self.bias.get_or_insert_with(|| match self.first {
            Some(_) => gap(guessed(&mut self.first), reported),
            None => (true, Duration::ZERO),
        });
        let left = by.saturating_sub(CATCH_UP);
        self.bias = Some((ahead, left));
        if ahead {
            reported + left
        } else {
            reported.checked_sub(left).unwrap_or(reported)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_line_up_two_tracks_with_different_rtp_bases() {
        let ours = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        // The sender's clock is 7 s behind ours.
        let theirs = ours - Duration::from_secs(7);
        let mut sender = Sender::default();
        let mut audio = Track::new(48_000);
        let mut video = Track::new(90_000);
        // Audio's report: RTP 1000 at their `theirs`; video's: RTP
        // 4_000_000_000 at the same moment (near the wrap).
        let a = audio.wall(
            &mut sender,
            1000 + 48_000,
            ours + Duration::from_secs(1),
            Some((theirs, 1000)),
        );
        let v = video.wall(
            &mut sender,
            4_000_000_000u32.wrapping_add(90_000),
            ours + Duration::from_millis(1010),
            Some((theirs, 4_000_000_000)),
        );
        let (_, apart) = gap(a, v);
        assert!(
            apart < Duration::from_millis(1),
            "the same instant, {apart:?} apart"
        );
        assert_eq!(a, ours + Duration::from_secs(1), "on our clock");
    }

    #[test]
    fn a_late_first_report_is_caught_up_with_without_two_frames_close_together() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(500);
        let mut sender = Sender::default();
        // The sender's clock is ours; its audio report comes first and
        // fixes the offset (audio arrives at once).
        let mut audio = Track::new(48_000);
        audio.wall(&mut sender, 0, t, Some((t, 0)));
        // Its video arrives 40 ms after it was taken (encoding): guessed
        // from the first arrival, 40 ms late, until its reports come.
        let mut video = Track::new(90_000);
        let taken = |i: u32| t + Duration::from_millis(50 * u64::from(i));
        let mut walls = Vec::new();
        for i in 0..10u32 {
            let arrival = taken(i) + Duration::from_millis(40);
            walls.push(video.wall(&mut sender, i * 4500, arrival, None));
        }
        let report = Some((t, 0));
        for i in 10..60u32 {
            let arrival = taken(i) + Duration::from_millis(40);
            walls.push(video.wall(&mut sender, i * 4500, arrival, report));
        }
        for w in walls.windows(2) {
            let (forward, step) = gap(w[1], w[0]);
            assert!(
                forward && step >= Duration::from_millis(45),
                "frames {step:?} apart"
            );
        }
        // Caught up: the last frames are where the reports put them.
        let (_, off) = gap(walls[59], taken(59));
        assert!(off <= Duration::from_millis(1), "{off:?} from the reports");
        assert_eq!(
            walls[9],
            taken(9) + Duration::from_millis(40),
            "the guess before"
        );
    }

    #[test]
    fn before_a_report_the_first_arrival_anchors_the_track() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(50);
        let mut sender = Sender::default();
        let mut video = Track::new(90_000);
        assert_eq!(video.wall(&mut sender, 100, t, None), t);
        // Half a second of clock later, whenever it arrives.
        let later = video.wall(&mut sender, 100 + 45_000, t + Duration::from_secs(3), None);
        assert_eq!(later, t + Duration::from_millis(500));
        // A reordered older packet is before the anchor.
        let earlier = video.wall(&mut sender, 100u32.wrapping_sub(9000), t, None);
        assert_eq!(earlier, t - Duration::from_millis(100));
    }
}
