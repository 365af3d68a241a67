//! What nodes say to each other over NATS, as JSON: asks to a room's home
//! node and its answers, and the ordered stream a home sends each node.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::stats::SessionStats;
use crate::live::core::{Done, Member, RoomError};
use crate::live::views::{MessageView, PollView, QuestionView, VoteView};
use crate::live::Act;
use crate::media::MediaState;
use crate::views::{ParticipantView, RoomView};

/// To a room's home node, on `podium.node.{home}.rooms`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ToHome {
    pub room: i64,
    /// The asking node's id.
    pub from: String,
    pub ask: Ask,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Ask {
    /// A member on the asking node joins: the welcome comes on its stream.
    Connect {
        token: u64,
        member: Member,
    },
    Act {
        member: Member,
        act: Act,
    },
    /// A member's socket closed (no answer). `epoch` names the room core
    /// the connection belongs to.
    Disconnect {
        epoch: u64,
        conn: u64,
    },
    /// The asking node still has these members: any the home does not
    /// know are answered `unknown`.
    Keep {
        conns: Vec<u64>,
    },
    /// The asking node's media engine changed the room's state.
    Media(MediaState),
    /// A WHIP/WHEP request that reached the asking node: the home, which
    /// runs the room's media, serves it as if it had come to it.
    Http(HttpAsk),
    /// The asking node takes the room's media for its own viewers: its
    /// offer, for a session of the home's like a viewer's.
    Upstream {
        offer: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct HttpAsk {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// SDP, trickle fragments and JSON are text.
    pub body: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Answer {
    /// Taken; what follows arrives on the node's stream.
    Taken,
    Done(DoneWire),
    /// The home's room core (`epoch`), the last sequence number it sent
    /// the asking node, and the asker's members it does not know.
    Kept {
        epoch: u64,
        seq: u64,
        unknown: Vec<u64>,
    },
    Refused(ErrorWire),
    /// This node is not the room's home (any more).
    NotHome,
    Http(HttpAnswer),
    /// The home's SDP answer to an upstream offer.
    Sdp(String),
}

/// What an action does to a room's media, told to every node on
/// `podium.media` (each has sessions of the room: the home its publishers,
/// the others their viewers).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum MediaEffect {
    /// The room ended: every session of it ends.
    EndRoom,
    /// Removed: every session this participant opened ends.
    EndSessionsOf(i64),
    /// Off stage: what this participant publishes ends.
    EndPublishingOf(i64),
    /// The room's recording setting.
    Record(bool),
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ToAll {
    pub room: i64,
    pub from: String,
    pub effect: MediaEffect,
}

/// From a room's home to one node, on `podium.room.{room}.to.{node}`:
/// numbered from 1 per room core (`epoch`), so a gap shows.
#[derive(Debug, Serialize, Deserialize)]
pub struct Delivery<'a> {
    pub epoch: u64,
    pub seq: u64,
    pub item: Item<'a>,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Item<'a> {
    /// A frame for these members of the node (`None`: all of them).
    Frames {
        conns: Option<Vec<u64>>,
        text: Cow<'a, str>,
    },
    /// The answer to `Ask::Connect { token }`: the member's connection in
    /// the core and its snapshot.
    Welcome {
        token: u64,
        conn: u64,
        text: Cow<'a, str>,
    },
    /// The core closes a member's socket with this code.
    Close { conn: u64, code: u16 },
}

/// [`Done`] between nodes (its own serialisation is the contract's,
/// untagged, and cannot be read back).
#[derive(Debug, Serialize, Deserialize)]
pub enum DoneWire {
    Message(MessageView),
    Question(QuestionView),
    Vote(VoteView),
    Room(RoomView),
    Ended(Box<SessionStats>),
    Poll(PollView),
    Hand(bool),
    Participant(ParticipantView),
    Unstaged,
    Nothing,
}

impl From<Done> for DoneWire {
    fn from(d: Done) -> Self {
        match d {
            Done::Message(m) => Self::Message(m),
            Done::Question(q) => Self::Question(q),
            Done::Vote(v) => Self::Vote(v),
            Done::Room(r) => Self::Room(r),
            Done::Ended { stats } => Self::Ended(stats),
            Done::Poll(p) => Self::Poll(p),
            Done::Hand { raised } => Self::Hand(raised),
            Done::Participant(p) => Self::Participant(p),
            Done::Unstaged => Self::Unstaged,
            Done::Nothing => Self::Nothing,
        }
    }
}

impl From<DoneWire> for Done {
    fn from(d: DoneWire) -> Self {
        match d {
            DoneWire::Message(m) => Self::Message(m),
            DoneWire::Question(q) => Self::Question(q),
            DoneWire::Vote(v) => Self::Vote(v),
            DoneWire::Room(r) => Self::Room(r),
            DoneWire::Ended(stats) => Self::Ended { stats },
            DoneWire::Poll(p) => Self::Poll(p),
            DoneWire::Hand(raised) => Self::Hand { raised },
            DoneWire::Participant(p) => Self::Participant(p),
            DoneWire::Unstaged => Self::Unstaged,
            DoneWire::Nothing => Self::Nothing,
        }
    }
}

/// [`RoomError`] between nodes.
#[derive(Debug, Serialize, Deserialize)]
pub enum ErrorWire {
    Forbidden(String),
    NotFound(String),
    InvalidInput(String),
    Ended,
    Conflict(String, String),
    RateLimited { millis: u64 },
    Unavailable,
    Moved,
    Internal(String),
}

/// The core's "not found" answers, read back as the same static text.
const NOT_FOUND: [&str; 6] = [
    "No such attendee.",
    "No such message.",
    "No such participant.",
    "No such poll.",
    "No such question.",
    "No such raised hand.",
];

/// The core's conflict codes, read back as the same static names.
const CONFLICTS: [&str; 5] = [
    "already_on_stage",
    "poll_not_open",
    "poll_status",
    "room_live",
    "stage_full",
];

fn known(list: &[&'static str], s: &str, otherwise: &'static str) -> &'static str {
    list.iter().copied().find(|k| *k == s).unwrap_or(otherwise)
}

impl From<RoomError> for ErrorWire {
    fn from(e: RoomError) -> Self {
        match e {
            RoomError::Forbidden(s) => Self::Forbidden(s),
            RoomError::NotFound(s) => Self::NotFound(s.to_owned()),
            RoomError::InvalidInput(s) => Self::InvalidInput(s),
            RoomError::Ended => Self::Ended,
            RoomError::Conflict(code, s) => Self::Conflict(code.to_owned(), s),
            RoomError::RateLimited(d) => Self::RateLimited {
                millis: d.as_millis() as u64,
            },
            RoomError::Unavailable => Self::Unavailable,
            RoomError::Moved => Self::Moved,
            RoomError::Internal(s) => Self::Internal(s),
        }
    }
}

impl From<ErrorWire> for RoomError {
    fn from(e: ErrorWire) -> Self {
        match e {
            ErrorWire::Forbidden(s) => Self::Forbidden(s),
            ErrorWire::NotFound(s) => Self::NotFound(known(&NOT_FOUND, &s, "Not found.")),
            ErrorWire::InvalidInput(s) => Self::InvalidInput(s),
            ErrorWire::Ended => Self::Ended,
            ErrorWire::Conflict(code, s) => Self::Conflict(known(&CONFLICTS, &code, "conflict"), s),
            ErrorWire::RateLimited { millis } => Self::RateLimited(Duration::from_millis(millis)),
            ErrorWire::Unavailable => Self::Unavailable,
            ErrorWire::Moved => Self::Moved,
            ErrorWire::Internal(s) => Self::Internal(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_static_text_of_the_core_comes_back_as_itself() {
        for s in NOT_FOUND {
            let back: RoomError = ErrorWire::from(RoomError::NotFound(s)).into();
            assert_eq!(back, RoomError::NotFound(s));
        }
        for code in CONFLICTS {
            let e = RoomError::Conflict(code, "why".into());
            let json = serde_json::to_vec(&ErrorWire::from(e.clone())).unwrap();
            let back: ErrorWire = serde_json::from_slice(&json).unwrap();
            assert_eq!(RoomError::from(back), e);
        }
    }

    #[test]
    fn the_core_texts_listed_here_are_the_ones_it_uses() {
        // A new "not found" or conflict in the core must be listed above,
        // or another node would show a vaguer text.
        let sources = [
            include_str!("../live/core/mod.rs"),
            include_str!("../live/core/chat.rs"),
            include_str!("../live/core/qa.rs"),
            include_str!("../live/core/moderation.rs"),
            include_str!("../live/core/polls.rs"),
            include_str!("../live/core/stage.rs"),
            include_str!("../live/core/presence.rs"),
            include_str!("../live/core/reactions.rs"),
        ];
        for src in sources {
            for part in src.split("NotFound(\"").skip(1) {
                let text = part.split('"').next().unwrap();
                assert!(NOT_FOUND.contains(&text), "{text:?} is not in NOT_FOUND");
            }
            for part in src.split("Conflict(").skip(1) {
                let part = part.trim_start();
                if let Some(code) = part.strip_prefix('"') {
                    let code = code.split('"').next().unwrap();
                    assert!(CONFLICTS.contains(&code), "{code:?} is not in CONFLICTS");
                }
            }
        }
    }

    #[test]
    fn an_act_and_its_answer_cross_as_they_left() {
        let act = Act::Ask {
            body: crate::domain::qa::QuestionBody::parse("Will it scale?").unwrap(),
            anonymous: true,
            client_id: Some(crate::domain::qa::ClientId::parse("c-1").unwrap()),
        };
        let json = serde_json::to_string(&act).unwrap();
        let back: Act = serde_json::from_str(&json).unwrap();
        assert_eq!(format!("{back:?}"), format!("{act:?}"));
        // What a client could never send is refused here too.
        let long = json.replace("Will it scale?", &"x".repeat(1001));
        assert!(serde_json::from_str::<Act>(&long).is_err());
    }
}
