//! Simulcast: which layer of a source each viewer gets. A publisher may
//! send its video as several layers (RFC 8853 rids: full, half, quarter
//! resolution); every viewer receives one at a time, the highest that its
//! bandwidth estimate affords, switching only where the new layer starts
//! with a keyframe, so the picture never breaks. Pure arithmetic on rates,
//! estimates and times: the core feeds it and acts on its answers.

use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::Rid;

/// A layer's bitrate is measured over this window, and each window's
/// rate weighs this much in the average.
const RATE_WINDOW: Duration = Duration::from_secs(2);
const RATE_SMOOTHING: f64 = 0.3;
/// A layer that sent nothing for this long is inactive (the publisher's
/// browser dropped it: a small camera, a busy CPU, a poor uplink).
const INACTIVE_AFTER: Duration = Duration::from_secs(2);
/// Share of the estimate video may use; the rest is audio and headroom.
const VIDEO_SHARE: f64 = 0.9;
/// Room left for audio, in bits per second.
const AUDIO_BPS: f64 = 40_000.0;
/// Going up needs this much more than the layer's rate, for this long:
/// an estimate that just touches a layer's rate would bounce.
const UP_MARGIN: f64 = 1.25;
/// A layer is kept while its rate is within this much of the budget.
const STAY_MARGIN: f64 = 1.3;
/// Video pauses only when the lowest layer needs this much more than the
/// budget: a stream that nearly fits is better than none.
const PAUSE_MARGIN: f64 = 1.6;
const UP_AFTER: Duration = Duration::from_secs(3);
/// Going up needs the higher layer to fit this long while the session
/// probes (pads up to that layer's rate): only then does the estimate say
/// what the link carries, not what it might while little is sent.
const UP_WHILE_PROBING: Duration = Duration::from_millis(2500);
/// Going down waits this long for the estimate to come back, unless the
/// layer needs this many times the budget.
const DOWN_AFTER: Duration = Duration::from_millis(1000);
const DOWN_AT_ONCE: f64 = 2.0;
/// After going down, no going up for this long.
const HOLD_AFTER_DOWN: Duration = Duration::from_secs(6);

/// What a publisher's layer is doing, as measured where it arrives.
#[derive(Debug, Clone)]
pub struct LayerMeter {
    pub rid: Option<Rid>,
    window_start: Instant,
    window_bytes: u64,
    /// Bits per second over the last full window.
    pub bps: f64,
    pub last_packet: Instant,
}

impl LayerMeter {
    pub fn new(rid: Option<Rid>, now: Instant) -> Self {
        Self {
            rid,
            window_start: now,
            window_bytes: 0,
            bps: 0.0,
            last_packet: now,
        }
    }

    pub fn packet(&mut self, bytes: usize, now: Instant) {
        self.window_bytes += bytes as u64;
        self.last_packet = now;
        let span = now.saturating_duration_since(self.window_start);
        if span >= RATE_WINDOW {
            let window = self.window_bytes as f64 * 8.0 / span.as_secs_f64();
            // Smoothed over windows: a keyframe makes one window's rate
            // jump, and viewers must not leave a layer for it.
            self.bps = if self.bps > 0.0 {
                self.bps * (1.0 - RATE_SMOOTHING) + window * RATE_SMOOTHING
            } else {
                window
            };
            self.window_start = now;
            self.window_bytes = 0;
        }
    }

    pub fn active(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_packet) < INACTIVE_AFTER
    }

    /// The rate to plan with: before the first window closes, what came so
    /// far scaled to a second (a new layer is not free).
    pub fn planning_bps(&self, now: Instant) -> f64 {
        if self.bps > 0.0 {
            return self.bps;
        }
        let span = now
            .saturating_duration_since(self.window_start)
            .max(Duration::from_millis(250));
        self.window_bytes as f64 * 8.0 / span.as_secs_f64()
    }
}

/// A viewer's wish for one video section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The highest layer the estimate affords.
    Auto,
    /// This layer, whatever the estimate (the WHEP layer extension).
    Pinned(Rid),
    /// No video at all: the viewer chose audio only.
    Off,
}

/// What a viewer's video section should receive next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Layer(Option<Rid>),
    /// Not even the lowest layer fits: video waits, audio goes on.
    Paused,
}

/// A viewer's layer choice for one section, with the history hysteresis
/// needs.
#[derive(Debug, Clone)]
pub struct Selector {
    pub want: Want,
    pub choice: Option<Choice>,
    /// Since when the estimate has afforded a higher layer than the choice.
    up_since: Option<Instant>,
    last_down: Option<Instant>,
    /// A fresh start shows the lowest layer at least until then, even if
    /// the estimate says pause: an estimate made while little was sent
    /// (audio only, a pinned low layer) underrates the link.
    trial_until: Option<Instant>,
    /// Since when the current layer has not fitted.
    down_since: Option<Instant>,
}

impl Default for Selector {
    fn default() -> Self {
        Self {
            want: Want::Auto,
            choice: None,
            up_since: None,
            last_down: None,
            trial_until: None,
            down_since: None,
        }
    }
}

impl Selector {
    /// Whether a higher layer fits now and the choice waits only for it
    /// to go on fitting (a probe should not end then).
    pub fn rising(&self) -> bool {
        self.up_since.is_some()
    }

    /// A fresh choice with the same wish (another source came).
    pub fn wanting(want: Want) -> Self {
        Self {
            want,
            ..Self::default()
        }
    }
}

/// The layers of a source, lowest first, with their planning rates.
pub fn by_rate(layers: &[LayerMeter], now: Instant) -> Vec<(Option<Rid>, f64)> {
    let mut active: Vec<(Option<Rid>, f64)> = layers
        .iter()
        .filter(|l| l.active(now))
        .map(|l| (l.rid, l.planning_bps(now)))
        .collect();
    active.sort_by(|a, b| a.1.total_cmp(&b.1));
    active
}

/// The video budget an estimate leaves, in bits per second.
pub fn video_budget(estimate_bps: f64) -> f64 {
    (estimate_bps * VIDEO_SHARE - AUDIO_BPS).max(0.0)
}

/// The estimate at which video of `video_bps` is gone up to.
pub fn estimate_to_go_up(video_bps: f64) -> f64 {
    (video_bps * UP_MARGIN + AUDIO_BPS) / VIDEO_SHARE
}

impl Selector {
    /// Decides what this section should receive given the source's active
    /// layers (lowest first) and the budget left for it; returns the new
    /// choice when it changes.
    ///
    /// Estimates wander, so: a layer is kept while it stays within
    /// `STAY_MARGIN` of the budget; going down is at once when it does not;
    /// going up needs the higher layer to fit with `UP_MARGIN` for
    /// `UP_WHILE_PROBING` of a probe (`probing`: the session pads to the
    /// next layer's rate now), and not within `HOLD_AFTER_DOWN` of going
    /// down. An estimate rises while a session sends less than the link
    /// carries, with nothing to check it against; while probing it is
    /// checked. Video pauses only when even the lowest layer is far beyond
    /// the budget (`PAUSE_MARGIN`), and resumes as going up does.
    pub fn decide(
        &mut self,
        layers: &[(Option<Rid>, f64)],
        budget: Option<f64>,
        now: Instant,
        probing: bool,
    ) -> Option<Choice> {
        if layers.is_empty() {
            return None;
        }
        if self.want == Want::Off {
            return self.set(Choice::Paused, false, now);
        }
        let index = |rid: Option<Rid>| layers.iter().position(|(r, _)| *r == rid);
        if let Want::Pinned(rid) = self.want {
            if index(Some(rid)).is_some() {
                return self.set(Choice::Layer(Some(rid)), false, now);
            }
        }
        let Some(budget) = budget else {
            // No estimate yet: a middle layer starts quickly and safely.
            return match self.choice {
                Some(Choice::Layer(rid)) if index(rid).is_some() => None,
                _ => self.set(Choice::Layer(layers[layers.len() / 2].0), false, now),
            };
        };
        let fit = |margin: f64| layers.iter().rposition(|(_, bps)| *bps * margin <= budget);
        let lowest = layers[0].1;
        // Where the estimate says to be if starting over.
        let floor = match fit(1.0) {
            Some(i) => Choice::Layer(layers[i].0),
            None if lowest > budget * PAUSE_MARGIN => Choice::Paused,
            None => Choice::Layer(layers[0].0),
        };
        let current = match self.choice {
            None if floor == Choice::Paused => {
                self.trial_until = Some(now + UP_AFTER);
                return self.set(Choice::Layer(layers[0].0), false, now);
            }
            None => return self.set(floor, false, now),
            Some(Choice::Layer(rid)) => match index(rid) {
                Some(i) => Some(i),
                // Its layer went away: start over.
                None => return self.set(floor, true, now),
            },
            Some(Choice::Paused) => None,
        };
        // Down when the current layer no longer fits for `DOWN_AFTER`
        // (an estimate dips for a moment), at once when it is far off.
        // (Paused holds until resuming, which is going up.)
        let (holds, far_off) = match current {
            Some(i) => {
                let trial = self.trial_until.is_some_and(|t| now < t);
                let rate = layers[i].1;
                (
                    rate <= budget * STAY_MARGIN || i == 0 && (floor != Choice::Paused || trial),
                    rate > budget * DOWN_AT_ONCE,
                )
            }
            None => (true, false),
        };
        if holds {
            self.down_since = None;
        } else {
            let since = *self.down_since.get_or_insert(now);
            if far_off || now.saturating_duration_since(since) >= DOWN_AFTER {
                return self.set(floor, true, now);
            }
            return None;
        }
        // Up, when a higher layer fits with room to spare, for a while.
        let above = |i: usize| current.is_none_or(|c| i > c);
        match fit(UP_MARGIN).filter(|i| above(*i) && probing) {
            Some(i) => {
                let since = *self.up_since.get_or_insert(now);
                let held = now.saturating_duration_since(since) >= UP_WHILE_PROBING;
                let settled = self
                    .last_down
                    .is_none_or(|t| now.saturating_duration_since(t) >= HOLD_AFTER_DOWN);
                if held && settled {
                    return self.set(Choice::Layer(layers[i].0), false, now);
                }
                None
            }
            None => {
                self.up_since = None;
                None
            }
        }
    }

    fn set(&mut self, choice: Choice, down: bool, now: Instant) -> Option<Choice> {
        self.up_since = None;
        self.down_since = None;
        if self.choice == Some(choice) {
            return None;
        }
        if down {
            self.last_down = Some(now);
        }
        self.choice = Some(choice);
        Some(choice)
    }
}

/// Whether an RTP payload of `codec` starts a keyframe: where a viewer may
/// switch to this stream (or start on it) and decode at once.
pub fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => vp8_keyframe(payload),
        Codec::Vp9 => vp9_keyframe(payload),
        Codec::H264 => h264_keyframe(payload),
        _ => false,
    }
}

/// RFC 7741: the payload descriptor, then, at the start of partition 0,
/// the VP8 frame header whose lowest bit is 0 for a key frame.
fn vp8_keyframe(p: &[u8]) -> bool {
    let Some(&first) = p.first() else {
        return false;
    };
    let (extended, start, partition) = (first & 0x80 != 0, first & 0x10 != 0, first & 0x07);
    if !start || partition != 0 {
        return false;
    }
    let mut i = 1;
    if extended {
        let Some(&x) = p.get(i) else { return false };
        i += 1;
        if x & 0x80 != 0 {
            // PictureID: one byte, or two when its M bit is set.
            let Some(&pid) = p.get(i) else { return false };
            i += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            i += 1; // TID / KEYIDX
        }
    }
    p.get(i).is_some_and(|h| h & 0x01 == 0)
}

/// RFC 9628: not inter-picture predicted (P = 0) and the start of a frame.
fn vp9_keyframe(p: &[u8]) -> bool {
    p.first().is_some_and(|d| d & 0x40 == 0 && d & 0x08 != 0)
}

/// RFC 6184: an IDR slice or a sequence parameter set, alone, in a STAP-A
/// or at the start of an FU-A.
fn h264_keyframe(p: &[u8]) -> bool {
    let key = |t: u8| t == 5 || t == 7;
    let Some(&header) = p.first() else {
        return false;
    };
    match header & 0x1f {
        24 => {
            let mut i = 1;
            while i + 2 < p.len() {
                let size = usize::from(u16::from_be_bytes([p[i], p[i + 1]]));
                if p.get(i + 2).is_some_and(|n| key(n & 0x1f)) {
                    return true;
                }
                i += 2 + size;
            }
            false
        }
        28 => p.get(1).is_some_and(|fu| fu & 0x80 != 0 && key(fu & 0x1f)),
        t => key(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rid(s: &str) -> Option<Rid> {
        Some(Rid::from(s))
    }

    fn layers() -> Vec<(Option<Rid>, f64)> {
        vec![
            (rid("l"), 150_000.0),
            (rid("m"), 500_000.0),
            (rid("h"), 1_500_000.0),
        ]
    }

    #[test]
    fn the_highest_layer_that_fits_and_a_middle_one_before_any_estimate() {
        let t = Instant::now();
        let mut s = Selector::default();
        assert_eq!(
            s.decide(&layers(), None, t, true),
            Some(Choice::Layer(rid("m")))
        );
        let mut s = Selector::default();
        let budget = video_budget(4_000_000.0);
        assert_eq!(
            s.decide(&layers(), Some(budget), t, true),
            Some(Choice::Layer(rid("h")))
        );
        let mut s = Selector::default();
        let budget = video_budget(700_000.0);
        assert_eq!(
            s.decide(&layers(), Some(budget), t, true),
            Some(Choice::Layer(rid("m")))
        );
        let mut s = Selector::default();
        let budget = video_budget(250_000.0);
        assert_eq!(
            s.decide(&layers(), Some(budget), t, true),
            Some(Choice::Layer(rid("l")))
        );
        // Below the lowest layer but near it: the lowest, not nothing.
        let mut s = Selector::default();
        let budget = video_budget(150_000.0);
        assert_eq!(
            s.decide(&layers(), Some(budget), t, true),
            Some(Choice::Layer(rid("l")))
        );
        // Far below: the lowest on trial first (an estimate made while
        // little was sent underrates the link), then nothing.
        let mut s = Selector::default();
        let budget = Some(video_budget(100_000.0));
        assert_eq!(
            s.decide(&layers(), budget, t, true),
            Some(Choice::Layer(rid("l")))
        );
        assert_eq!(
            s.decide(&layers(), budget, t + Duration::from_secs(2), true),
            None
        );
        assert_eq!(
            s.decide(&layers(), budget, t + UP_AFTER, true),
            Some(Choice::Paused)
        );
    }

    #[test]
    fn no_layer_up_on_an_estimate_alone_only_while_probing() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut s = Selector::default();
        s.decide(&layers(), Some(video_budget(700_000.0)), at(0), false);
        // An estimate that grew while little was sent: not believed.
        let plenty = Some(video_budget(4_000_000.0));
        for sec in 1..30 {
            assert_eq!(
                s.decide(&layers(), plenty, at(sec), false),
                None,
                "at {sec} s"
            );
        }
        // The same estimate while the session pads up to the next layer.
        assert_eq!(s.decide(&layers(), plenty, at(30), true), None);
        assert_eq!(
            s.decide(&layers(), plenty, at(33), true),
            Some(Choice::Layer(rid("h")))
        );
    }

    #[test]
    fn video_off_is_off_whatever_the_estimate() {
        let t = Instant::now();
        let mut s = Selector::wanting(Want::Off);
        let plenty = Some(video_budget(9_000_000.0));
        assert_eq!(s.decide(&layers(), plenty, t, true), Some(Choice::Paused));
        assert_eq!(
            s.decide(&layers(), plenty, t + Duration::from_secs(30), true),
            None
        );
    }

    #[test]
    fn down_at_once_up_only_after_holding_with_a_margin() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut s = Selector::default();
        s.decide(&layers(), Some(video_budget(4_000_000.0)), at(0), true);
        // The link drops: down at once, to what fits.
        assert_eq!(
            s.decide(&layers(), Some(video_budget(700_000.0)), at(1), true),
            Some(Choice::Layer(rid("m")))
        );
        // Back up: not while held down, not at once after.
        let plenty = Some(video_budget(4_000_000.0));
        assert_eq!(s.decide(&layers(), plenty, at(2), true), None);
        assert_eq!(s.decide(&layers(), plenty, at(5), true), None);
        assert_eq!(
            s.decide(&layers(), plenty, at(7), true),
            Some(Choice::Layer(rid("h")))
        );
        // An estimate that only just fits the next layer does not go up.
        let mut s = Selector::default();
        s.decide(&layers(), Some(video_budget(700_000.0)), at(0), true);
        let touching = Some(1_600_000.0);
        for sec in 1..20 {
            assert_eq!(
                s.decide(&layers(), touching, at(sec), true),
                None,
                "at {sec} s"
            );
        }
    }

    #[test]
    fn video_pauses_below_the_lowest_layer_and_resumes_above_it() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut s = Selector::default();
        s.decide(&layers(), Some(video_budget(250_000.0)), at(0), true);
        assert_eq!(
            s.decide(&layers(), Some(50_000.0), at(1), true),
            Some(Choice::Paused)
        );
        let better = Some(video_budget(400_000.0));
        assert_eq!(s.decide(&layers(), better, at(8), true), None, "held first");
        assert_eq!(
            s.decide(&layers(), better, at(11), true),
            Some(Choice::Layer(rid("l")))
        );
    }

    #[test]
    fn a_pinned_layer_holds_whatever_the_estimate_and_auto_returns() {
        let t = Instant::now();
        let mut s = Selector {
            want: Want::Pinned(Rid::from("l")),
            ..Default::default()
        };
        assert_eq!(
            s.decide(&layers(), Some(video_budget(9_000_000.0)), t, true),
            Some(Choice::Layer(rid("l")))
        );
        s.want = Want::Auto;
        let later = t + Duration::from_secs(10);
        assert_eq!(
            s.decide(&layers(), Some(video_budget(9_000_000.0)), later, true),
            None
        );
        assert_eq!(
            s.decide(
                &layers(),
                Some(video_budget(9_000_000.0)),
                later + UP_AFTER,
                true
            ),
            Some(Choice::Layer(rid("h")))
        );
        // A pinned layer the publisher stopped sending falls back to auto.
        let mut s = Selector {
            want: Want::Pinned(Rid::from("x")),
            ..Default::default()
        };
        assert_eq!(
            s.decide(&layers(), Some(video_budget(700_000.0)), t, true),
            Some(Choice::Layer(rid("m")))
        );
    }

    #[test]
    fn a_layer_that_went_away_is_left_at_once() {
        let t = Instant::now();
        let mut s = Selector::default();
        s.decide(&layers(), Some(video_budget(4_000_000.0)), t, true);
        let without_h = &layers()[..2];
        assert_eq!(
            s.decide(without_h, Some(video_budget(4_000_000.0)), t, true),
            Some(Choice::Layer(rid("m")))
        );
    }

    #[test]
    fn keyframes_are_found_in_each_codec() {
        // VP8: S=1, partition 0, frame header P bit 0 / 1.
        assert!(starts_keyframe(Codec::Vp8, &[0x10, 0x00]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x10, 0x01]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x00, 0x00]), "not a start");
        // Extended: I with a 15-bit picture id, L, T.
        assert!(starts_keyframe(
            Codec::Vp8,
            &[0x90, 0xe0, 0x81, 0x23, 0x05, 0x20, 0x9c]
        ));
        assert!(!starts_keyframe(
            Codec::Vp8,
            &[0x90, 0xe0, 0x81, 0x23, 0x05, 0x20, 0x9d]
        ));
        // H.264: IDR, SPS in a STAP-A, FU-A start of an IDR; a P slice.
        assert!(starts_keyframe(Codec::H264, &[0x65, 0x88]));
        assert!(starts_keyframe(
            Codec::H264,
            &[0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce]
        ));
        assert!(starts_keyframe(Codec::H264, &[0x7c, 0x85, 0x00]));
        assert!(
            !starts_keyframe(Codec::H264, &[0x7c, 0x05, 0x00]),
            "FU-A middle"
        );
        assert!(!starts_keyframe(Codec::H264, &[0x41, 0x9a]));
        // VP9: B set and P clear.
        assert!(starts_keyframe(Codec::Vp9, &[0x08]));
        assert!(!starts_keyframe(Codec::Vp9, &[0x48]));
        assert!(!starts_keyframe(Codec::Vp8, &[]));
    }

    #[test]
    fn a_layer_rate_is_measured_and_silence_makes_it_inactive() {
        let t0 = Instant::now();
        let mut m = LayerMeter::new(rid("h"), t0);
        for i in 0..=200u64 {
            m.packet(1000, t0 + Duration::from_millis(i * 10));
        }
        assert!((m.bps - 800_000.0).abs() < 20_000.0, "{}", m.bps);
        assert!(m.active(t0 + Duration::from_secs(3)));
        assert!(!m.active(t0 + Duration::from_secs(5)));
    }
}
