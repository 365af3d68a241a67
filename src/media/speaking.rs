//! Who is speaking: each publisher's loudness from the RTP audio-level
//! header extension (RFC 6464: 0 is the loudest, 127 silence, in -dBov),
//! smoothed, and the active speaker chosen from it with hysteresis, at
//! most twice a second. Pure arithmetic on the caller's clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::PeerId;

/// Decisions are at least this far apart: `media.speaker` at most twice
/// a second.
pub const DECIDE_EVERY: Duration = Duration::from_millis(500);
/// Louder than this (in dB above silence, 127 - level) counts as speech.
const SPEECH: f64 = 40.0;
/// The smoothing's time constant: a syllable does not make a speaker,
/// a sentence does.
const SMOOTH: Duration = Duration::from_millis(400);
/// To take over, the newcomer must be this much louder than the one
/// speaking, or the one speaking fell silent.
const MARGIN: f64 = 6.0;
/// And it must have led for this many decisions in a row.
const LEADS_TO_SWITCH: u32 = 2;

#[derive(Debug, Clone, Copy)]
struct Loudness {
    /// Smoothed, in dB above silence (0 silence, 127 the loudest).
    level: f64,
    at: Instant,
}

#[derive(Debug, Default)]
pub struct Speaking {
    loudness: HashMap<PeerId, Loudness>,
    active: Option<PeerId>,
    last_decision: Option<Instant>,
    /// The one leading the others, and for how many decisions.
    leader: Option<(PeerId, u32)>,
}

impl Speaking {
    /// One audio packet's level (`0..=127`, as the extension carries it).
    pub fn heard(&mut self, from: PeerId, level: u8, now: Instant) {
        let loud = f64::from(127 - level.min(127));
        let entry = self.loudness.entry(from).or_insert(Loudness {
            level: 0.0,
            at: now,
        });
        let dt = now.saturating_duration_since(entry.at).as_secs_f64();
        let keep = (-dt / SMOOTH.as_secs_f64()).exp();
        entry.level = entry.level * keep + loud * (1.0 - keep);
        entry.at = now;
    }

    /// A publisher went: it no longer speaks.
    pub fn forget(&mut self, from: PeerId) {
        self.loudness.remove(&from);
        if self.active == Some(from) {
            self.active = None;
        }
        if self.leader.is_some_and(|(p, _)| p == from) {
            self.leader = None;
        }
    }

    pub fn active(&self) -> Option<PeerId> {
        self.active
    }

    /// Whether a decision is due (the caller gathers the candidates only
    /// then: levels arrive with every audio packet).
    pub fn due(&self, now: Instant) -> bool {
        self.last_decision
            .is_none_or(|t| now.saturating_duration_since(t) >= DECIDE_EVERY)
    }

    /// Decides, if one is due, among `candidates` (who may speak now);
    /// gives the new active speaker when it changed.
    pub fn decide(&mut self, candidates: &[PeerId], now: Instant) -> Option<PeerId> {
        if !self.due(now) {
            return None;
        }
        self.last_decision = Some(now);
        let level = |p: &PeerId| {
            self.loudness.get(p).map_or(0.0, |l| {
                // Silence since its last packet (DTX sends none) decays too.
                let dt = now.saturating_duration_since(l.at).as_secs_f64();
                l.level * (-dt / SMOOTH.as_secs_f64()).exp()
            })
        };
        let loudest = candidates
            .iter()
            .map(|p| (*p, level(p)))
            .filter(|(_, l)| *l >= SPEECH)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let current = self.active.filter(|p| candidates.contains(p));
        if current.is_none() && self.active.is_some() {
            self.active = None;
        }
        let Some((lead, lead_level)) = loudest else {
            self.leader = None;
            return None;
        };
        if Some(lead) == current {
            self.leader = None;
            return None;
        }
        let speaking = current.map_or(0.0, |c| level(&c));
        let takes_over = speaking < SPEECH || lead_level >= speaking + MARGIN;
        if !takes_over {
            self.leader = None;
            return None;
        }
        let count = match self.leader {
            Some((p, n)) if p == lead => n + 1,
            _ => 1,
        };
        self.leader = Some((lead, count));
        // Nobody is speaking yet: the first voice takes the stage at once.
        if count >= LEADS_TO_SWITCH || current.is_none() {
            self.active = Some(lead);
            self.leader = None;
            return Some(lead);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: PeerId = PeerId(1);
    const B: PeerId = PeerId(2);

    /// `who` speak at these levels (0 loudest) for `ms`, a packet each
    /// 20 ms; decisions as they come due.
    fn talk(s: &mut Speaking, t: &mut Instant, who: &[(PeerId, u8)], ms: u64) -> Vec<PeerId> {
        let mut changes = Vec::new();
        for _ in 0..ms / 20 {
            *t += Duration::from_millis(20);
            for (p, level) in who {
                s.heard(*p, *level, *t);
            }
            changes.extend(s.decide(&[A, B], *t));
        }
        changes
    }

    #[test]
    fn the_first_voice_takes_the_stage_and_keeps_it_through_a_cough() {
        let mut s = Speaking::default();
        let mut t = Instant::now();
        assert_eq!(talk(&mut s, &mut t, &[(A, 30), (B, 127)], 1500), [A]);
        // B coughs for 200 ms while A goes on: A stays.
        assert!(talk(&mut s, &mut t, &[(A, 30), (B, 20)], 200).is_empty());
        assert!(talk(&mut s, &mut t, &[(A, 30), (B, 127)], 1000).is_empty());
        assert_eq!(s.active(), Some(A));
    }

    #[test]
    fn another_speaker_takes_over_within_two_seconds_and_changes_are_spaced() {
        let mut s = Speaking::default();
        let mut t = Instant::now();
        talk(&mut s, &mut t, &[(A, 30), (B, 127)], 1500);
        let start = t;
        let mut switched = None;
        for _ in 0..100 {
            if !talk(&mut s, &mut t, &[(A, 127), (B, 30)], 20).is_empty() {
                switched = Some(t - start);
                break;
            }
        }
        let after = switched.expect("B took over");
        assert!(after <= Duration::from_secs(2), "{after:?}");
        assert!(
            after >= Duration::from_millis(500),
            "not on one syllable: {after:?}"
        );
        assert_eq!(s.active(), Some(B));
        // However the voices alternate, at most two changes a second.
        let mut changes = 0;
        for round in 0..20 {
            let (a, b) = if round % 2 == 0 { (20, 127) } else { (127, 20) };
            changes += talk(&mut s, &mut t, &[(A, a), (B, b)], 250).len();
        }
        assert!(changes <= 10, "{changes} changes in 5 s");
    }

    #[test]
    fn silence_keeps_the_last_speaker_and_a_gone_one_is_forgotten() {
        let mut s = Speaking::default();
        let mut t = Instant::now();
        talk(&mut s, &mut t, &[(A, 30)], 1000);
        assert!(talk(&mut s, &mut t, &[(A, 127), (B, 127)], 3000).is_empty());
        assert_eq!(s.active(), Some(A));
        s.forget(A);
        assert_eq!(s.active(), None);
        assert_eq!(talk(&mut s, &mut t, &[(B, 40)], 1500), [B]);
    }
}
