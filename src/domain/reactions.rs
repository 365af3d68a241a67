//! Reactions: the six emoji a participant may send, and the per-person
//! rate (5 a second, a burst of 10) on the room's own clock.

use std::fmt;
use std::time::{Duration, Instant};

/// One of the contract's six reactions.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub enum Emoji {
    ThumbsUp,
    Clap,
    Heart,
    Laugh,
    Wow,
    Party,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("A reaction is one of 👍 👏 ❤️ 😂 😮 🎉.")]
pub struct UnknownEmoji;

impl Emoji {
    pub const ALL: [Emoji; 6] = [
        Emoji::ThumbsUp,
        Emoji::Clap,
        Emoji::Heart,
        Emoji::Laugh,
        Emoji::Wow,
        Emoji::Party,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Emoji::ThumbsUp => "👍",
            Emoji::Clap => "👏",
            Emoji::Heart => "❤️",
            Emoji::Laugh => "😂",
            Emoji::Wow => "😮",
            Emoji::Party => "🎉",
        }
    }

    /// The emoji as sent; a heart without its variation selector (as some
    /// keyboards type it) is the same heart.
    pub fn parse(s: &str) -> Result<Self, UnknownEmoji> {
        if s == "\u{2764}" {
            return Ok(Emoji::Heart);
        }
        Emoji::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or(UnknownEmoji)
    }
}

impl TryFrom<String> for Emoji {
    type Error = UnknownEmoji;
    fn try_from(s: String) -> Result<Self, UnknownEmoji> {
        Self::parse(&s)
    }
}

impl From<Emoji> for String {
    fn from(e: Emoji) -> String {
        e.as_str().to_owned()
    }
}

impl fmt::Display for Emoji {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reactions a participant may send each second, and at once.
pub const PER_SECOND: f64 = 5.0;
pub const BURST: f64 = 10.0;

/// A participant's allowance: a token bucket that refills at
/// `PER_SECOND` up to `BURST`.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    tokens: f64,
    at: Instant,
}

impl Allowance {
    pub fn new(now: Instant) -> Self {
        Self {
            tokens: BURST,
            at: now,
        }
    }

    /// Takes one reaction's worth, or says how long until one is there.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * PER_SECOND).min(BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / PER_SECOND))
        }
    }

    /// Full again: nothing to remember.
    pub fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens + elapsed * PER_SECOND >= BURST
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_six_and_nothing_else() {
        for e in Emoji::ALL {
            assert_eq!(Emoji::parse(e.as_str()), Ok(e));
        }
        assert_eq!(Emoji::parse("❤"), Ok(Emoji::Heart));
        for bad in ["", "👎", "thumbs_up", "👍👍", " 👍"] {
            assert_eq!(Emoji::parse(bad), Err(UnknownEmoji), "{bad:?}");
        }
    }

    #[test]
    fn a_burst_of_ten_then_five_a_second() {
        let t0 = Instant::now();
        let mut a = Allowance::new(t0);
        for _ in 0..10 {
            assert!(a.take(t0).is_ok());
        }
        let wait = a.take(t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(200));
        // A second later: five more, not six.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!((0..6).filter(|_| a.take(t1).is_ok()).count(), 5);
        assert!(!a.is_full(t1));
        assert!(a.is_full(t1 + Duration::from_secs(2)));
    }
}
