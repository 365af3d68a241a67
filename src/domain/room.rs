//! Values that describe a room and the people in it.

use std::fmt;
use std::str::FromStr;

use super::text::{bounded, Lines, TextError};

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(input: &str) -> Result<Self, TextError> {
                bounded($field, input, $min, $max, Lines::Single).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

text_newtype!(
    /// A room's title, shown on its card and page.
    RoomTitle, "title", 1, 200
);
text_newtype!(
    /// The display name a participant joins with.
    ParticipantName, "name", 1, 60
);
text_newtype!(
    /// A room password as typed; only its argon2id hash is ever stored.
    RoomPassword, "password", 1, 200
);

/// The most attendees a room admits; presenter and moderators always get in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxParticipants(u32);

impl MaxParticipants {
    pub const LIMIT: u32 = 100_000;

    pub fn parse(value: i64) -> Result<Self, String> {
        if (1..=i64::from(Self::LIMIT)).contains(&value) {
            Ok(Self(value as u32))
        } else {
            Err(format!(
                "max_participants must be between 1 and {}",
                Self::LIMIT
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomStatus {
    /// Created; people can join and talk, nobody is publishing.
    Open,
    /// The presenter is publishing media.
    Live,
    /// The presenter ended the session: read-only from now on.
    Ended,
}

impl RoomStatus {
    pub const ALL: [RoomStatus; 3] = [RoomStatus::Open, RoomStatus::Live, RoomStatus::Ended];

    pub fn as_str(self) -> &'static str {
        match self {
            RoomStatus::Open => "open",
            RoomStatus::Live => "live",
            RoomStatus::Ended => "ended",
        }
    }
}

impl fmt::Display for RoomStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RoomStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(RoomStatus::Open),
            "live" => Ok(RoomStatus::Live),
            "ended" => Ok(RoomStatus::Ended),
            other => Err(format!("unknown room status {other:?}")),
        }
    }
}

/// What moderators can switch on and off while a room runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomSettings {
    pub chat_enabled: bool,
    pub questions_enabled: bool,
    pub anonymous_questions: bool,
    pub questions_need_approval: bool,
    /// No new attendees may join (keys still open the room).
    pub locked: bool,
    /// Speakers on stage besides the presenter, 0 to 10.
    pub max_speakers: i32,
    /// Published sources are recorded while the room is live.
    pub recording: bool,
    /// Attendees may watch the replay after the end.
    pub replay_public: bool,
}

impl Default for RoomSettings {
    fn default() -> Self {
        Self {
            chat_enabled: true,
            questions_enabled: true,
            anonymous_questions: true,
            questions_need_approval: false,
            locked: false,
            max_speakers: 3,
            recording: false,
            replay_public: false,
        }
    }
}

/// The most speakers a room may allow on stage.
pub const MAX_SPEAKERS: i32 = 10;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::text::TextErrorKind;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ParticipantName::parse(" Grace ").unwrap().as_str(), "Grace");
        assert!(ParticipantName::parse(&"x".repeat(60)).is_ok());
        assert_eq!(
            ParticipantName::parse(&"x".repeat(61)).unwrap_err().kind,
            TextErrorKind::TooLong { max: 60 }
        );
        assert_eq!(
            ParticipantName::parse("").unwrap_err().kind,
            TextErrorKind::Empty
        );
        assert_eq!(
            ParticipantName::parse("Bob\r\n").unwrap().as_str(),
            "Bob",
            "surrounding whitespace, line breaks included, is trimmed"
        );
        assert_eq!(
            ParticipantName::parse("Bo\u{7}b").unwrap_err().kind,
            TextErrorKind::ControlCharacter
        );
    }

    #[test]
    fn titles_allow_two_hundred_characters() {
        assert!(RoomTitle::parse(&"t".repeat(200)).is_ok());
        assert!(RoomTitle::parse(&"t".repeat(201)).is_err());
        assert_eq!(RoomTitle::parse("x").unwrap().as_str(), "x");
    }

    #[test]
    fn passwords_are_bounded_too() {
        assert!(RoomPassword::parse(&"p".repeat(200)).is_ok());
        assert!(RoomPassword::parse(&"p".repeat(201)).is_err());
        assert!(RoomPassword::parse("   ").is_err());
    }

    #[test]
    fn max_participants_range() {
        assert!(MaxParticipants::parse(0).is_err());
        assert!(MaxParticipants::parse(-3).is_err());
        assert_eq!(MaxParticipants::parse(1).unwrap().get(), 1);
        assert_eq!(MaxParticipants::parse(100_000).unwrap().get(), 100_000);
        assert!(MaxParticipants::parse(100_001).is_err());
    }

    #[test]
    fn status_round_trips() {
        for s in [RoomStatus::Open, RoomStatus::Live, RoomStatus::Ended] {
            assert_eq!(s.as_str().parse::<RoomStatus>().unwrap(), s);
        }
        assert!("closed".parse::<RoomStatus>().is_err());
    }

    #[test]
    fn default_settings_are_the_contract_defaults() {
        let s = RoomSettings::default();
        assert!(s.chat_enabled && s.questions_enabled && s.anonymous_questions);
        assert!(!s.questions_need_approval && !s.locked);
    }
}
