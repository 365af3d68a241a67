//! The live room's wire protocol (docs/PROTOCOL.md): the frames clients
//! send, each with the action it asks of the sender's role; the frames the
//! server sends; the close codes. Each list is written once: the macros
//! make the enum, its `kind()` and (for clients) the table the escalation
//! tests attack from the same lines.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::collections::BTreeMap;

use super::act::{self, Act, NewPoll, PollPatch, QuestionPatch, SettingsPatch};
use super::views::{HandView, MessageView, PollView, QuestionView, VoteView, Welcome};
use crate::domain::qa::{ChatBody, ClientId, QuestionBody};
use crate::domain::stats::SessionStats;
use crate::domain::{Action, TextError};
use crate::views::{ParticipantView, RoomView};

macro_rules! client_frames {
    ($(
        $(#[$doc:meta])*
        $name:literal => $variant:ident { $( $(#[$fattr:meta])* $field:ident : $fty:ty ),* $(,)? }
            needs $action:expr;
    )*) => {
        #[derive(Debug, Deserialize)]
        #[serde(tag = "type", deny_unknown_fields)]
        pub enum ClientFrame {
            $( $(#[$doc])* #[serde(rename = $name)] $variant { $( $(#[$fattr])* $field: $fty ),* }, )*
        }

        /// Every client frame `type` with what it asks of the sender's role
        /// (`None`: any participant). The escalation tests attack each.
        pub const KINDS: &[(&str, Option<Action>)] = &[ $( ($name, $action) ),* ];

        impl ClientFrame {
            /// The frame's `type`.
            pub fn kind(&self) -> &'static str {
                match self { $( ClientFrame::$variant { .. } => $name, )* }
            }
        }
    };
}

client_frames! {
    "hello" => Hello { token: String } needs None;
    "ping" => Ping {} needs None;
    "chat.send" => ChatSend { body: String, client_id: Option<String> } needs Some(Action::Chat);
    "chat.delete" => ChatDelete { id: i64 } needs Some(Action::Moderate);
    "chat.promote" => ChatPromote { id: i64 } needs Some(Action::Moderate);
    "question.ask" => QuestionAsk {
        body: String,
        #[serde(default)]
        anonymous: bool,
        client_id: Option<String>,
    } needs Some(Action::AskQuestion);
    "question.vote" => QuestionVote { id: i64 } needs Some(Action::Vote);
    "question.unvote" => QuestionUnvote { id: i64 } needs Some(Action::Vote);
    // The patch fields beside `id` (flatten cannot be combined with
    // deny_unknown_fields, so `parse` checks unknown ones).
    "question.update" => QuestionUpdate {
        id: i64,
        #[serde(flatten)]
        patch: QuestionPatchFields,
    } needs Some(Action::Moderate);
    "room.update" => RoomUpdate { settings: SettingsPatch } needs Some(Action::ChangeSettings);
    "participant.kick" => ParticipantKick { id: i64 } needs Some(Action::Kick);
    "room.end" => RoomEnd {} needs Some(Action::EndRoom);
    "poll.create" => PollCreate {
        question: String,
        options: Vec<String>,
        #[serde(default)]
        multiple: bool,
    } needs Some(Action::Moderate);
    "poll.update" => PollUpdate { id: i64, status: String } needs Some(Action::Moderate);
    "poll.vote" => PollVote { id: i64, options: Vec<usize> } needs Some(Action::Vote);
    "poll.delete" => PollDelete { id: i64 } needs Some(Action::Moderate);
    "reaction" => Reaction { emoji: String } needs Some(Action::React);
    "hand.raise" => HandRaise {} needs Some(Action::RaiseHand);
    // One's own hand, or (staff) anyone's: the room decides.
    "hand.lower" => HandLower { id: Option<i64> } needs None;
    "stage.invite" => StageInvite { id: i64 } needs Some(Action::RunStage);
    "stage.accept" => StageAccept {} needs Some(Action::JoinStage);
    "stage.decline" => StageDecline {} needs Some(Action::JoinStage);
    // Staff take anyone off; a speaker steps down: the room decides.
    "stage.remove" => StageRemove { id: i64 } needs None;
}

/// `question.update`'s patch, beside its `id`.
#[derive(Debug, Deserialize)]
pub struct QuestionPatchFields {
    pinned: Option<bool>,
    hidden: Option<bool>,
    answered: Option<bool>,
    answer: Option<String>,
    approved: Option<bool>,
}

impl From<QuestionPatchFields> for QuestionPatch {
    fn from(p: QuestionPatchFields) -> Self {
        QuestionPatch {
            pinned: p.pinned,
            hidden: p.hidden,
            answered: p.answered,
            answer: p.answer,
            approved: p.approved,
        }
    }
}

/// The fields `question.update` may carry.
const QUESTION_UPDATE_FIELDS: [&str; 7] = [
    "type", "id", "pinned", "hidden", "answered", "answer", "approved",
];

/// A parsed frame and the client's `ref`, echoed in errors and acks.
pub struct Parsed {
    pub frame: ClientFrame,
    pub reference: Option<Value>,
}

pub fn parse(text: &str) -> Result<Parsed, (String, Option<Value>)> {
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| (format!("not JSON: {e}"), None))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| ("a frame must be a JSON object".to_owned(), None))?;
    let reference = obj.remove("ref");
    if obj.get("type").and_then(Value::as_str) == Some("question.update") {
        if let Some(k) = obj
            .keys()
            .find(|k| !QUESTION_UPDATE_FIELDS.contains(&k.as_str()))
        {
            return Err((format!("unknown field `{k}` in question.update"), reference));
        }
    }
    let frame = serde_json::from_value(value)
        .map_err(|e| (format!("bad frame: {e}"), reference.clone()))?;
    Ok(Parsed { frame, reference })
}

fn client_id(c: Option<String>) -> Result<Option<ClientId>, TextError> {
    c.as_deref().map(ClientId::parse).transpose()
}

fn text<T>(r: Result<T, TextError>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

impl ClientFrame {
    /// The room action this frame asks for, its text parsed; `None` for
    /// hello and ping. The error says what is wrong, for the sender.
    pub fn into_act(self) -> Result<Option<Act>, String> {
        Ok(Some(match self {
            ClientFrame::Hello { .. } | ClientFrame::Ping {} => return Ok(None),
            ClientFrame::ChatSend { body, client_id: c } => Act::Chat {
                body: text(ChatBody::parse(&body))?,
                client_id: text(client_id(c))?,
            },
            ClientFrame::ChatDelete { id } => Act::DeleteMessage { id },
            ClientFrame::ChatPromote { id } => Act::Promote { message_id: id },
            ClientFrame::QuestionAsk {
                body,
                anonymous,
                client_id: c,
            } => Act::Ask {
                body: text(QuestionBody::parse(&body))?,
                anonymous,
                client_id: text(client_id(c))?,
            },
            ClientFrame::QuestionVote { id } => Act::Vote { id, on: true },
            ClientFrame::QuestionUnvote { id } => Act::Vote { id, on: false },
            ClientFrame::QuestionUpdate { id, patch } => Act::UpdateQuestion {
                id,
                change: text(QuestionPatch::from(patch).parse())?,
            },
            ClientFrame::RoomUpdate { settings } => Act::Settings(settings),
            ClientFrame::ParticipantKick { id } => Act::Kick { participant_id: id },
            ClientFrame::RoomEnd {} => Act::End,
            ClientFrame::PollCreate {
                question,
                options,
                multiple,
            } => NewPoll {
                question,
                options,
                multiple,
            }
            .parse()
            .map_err(|e| e.to_string())?,
            ClientFrame::PollUpdate { id, status } => PollPatch { status }.parse(id)?,
            ClientFrame::PollVote { id, options } => Act::VotePoll { id, options },
            ClientFrame::PollDelete { id } => Act::DeletePoll { id },
            ClientFrame::Reaction { emoji } => {
                act::Reaction { emoji }.parse().map_err(|e| e.to_string())?
            }
            ClientFrame::HandRaise {} => Act::RaiseHand,
            ClientFrame::HandLower { id } => Act::LowerHand { id },
            ClientFrame::StageInvite { id } => Act::Invite { participant_id: id },
            ClientFrame::StageAccept {} => Act::AcceptStage,
            ClientFrame::StageDecline {} => Act::DeclineStage,
            ClientFrame::StageRemove { id } => Act::RemoveFromStage { participant_id: id },
        }))
    }
}

macro_rules! server_frames {
    ($(
        $(#[$doc:meta])*
        $name:literal => $variant:ident $( ( $inner:ty ) )? $( { $( $(#[$fattr:meta])* $field:ident : $fty:ty ),* $(,)? } )?;
    )*) => {
        /// Everything the server sends on a room's socket.
        #[derive(Debug, Clone, Serialize)]
        #[serde(tag = "type")]
        pub enum ServerFrame {
            $( $(#[$doc])* #[serde(rename = $name)] $variant $( ($inner) )? $( { $( $(#[$fattr])* $field: $fty ),* } )?, )*
        }

        impl ServerFrame {
            /// The frame's `type`, for metrics and logs.
            pub fn kind(&self) -> &'static str {
                match self { $( ServerFrame::$variant { .. } => $name, )* }
            }
        }
    };
}

server_frames! {
    /// A full snapshot: on connecting and after every reconnect.
    "welcome" => Welcome(Box<Welcome>);
    "chat.message" => ChatMessage { message: MessageView };
    "chat.deleted" => ChatDeleted { id: i64 };
    "question.created" => QuestionCreated { question: QuestionView };
    "question.updated" => QuestionUpdated { question: QuestionView };
    /// Several questions changed in one flush (their vote counts).
    "questions.updated" => QuestionsUpdated { questions: Vec<QuestionView> };
    "question.removed" => QuestionRemoved { id: i64 };
    /// The voter's own exact count, to the voter alone.
    "question.voted" => QuestionVoted(VoteView);
    "room.updated" => RoomUpdated { room: RoomView };
    "presence" => Presence { count: i32 };
    "media.state" => MediaState {
        live: bool,
        screen: bool,
        reconnecting: bool,
        /// The speaker (participant) in each seat.
        seats: Vec<Option<i64>>,
    };
    /// The active speaker, from the audio levels (at most two a second).
    "media.speaker" => MediaSpeaker { participant_id: Option<i64> };
    "room.ended" => RoomEnded { stats: Box<SessionStats> };
    "kicked" => Kicked;
    "participant.joined" => ParticipantJoined { participant: ParticipantView };
    "participant.left" => ParticipantLeft { id: i64 };
    /// Several came or went in one flush.
    "participants.updated" => ParticipantsUpdated { joined: Vec<ParticipantView>, left: Vec<i64> };
    /// A new poll: to staff while it is a draft, to everyone as it opens.
    "poll.created" => PollCreated { poll: PollView };
    /// A poll's status or counts (counts coalesced, at most ten a second).
    "poll.updated" => PollUpdated { poll: PollView };
    "poll.removed" => PollRemoved { id: i64 };
    /// The voter's own choice with the counts it made, to the voter alone.
    "poll.voted" => PollVoted { poll: PollView };
    /// The raised hands, oldest first, to staff (coalesced).
    "hands" => Hands { hands: Vec<HandView> };
    /// The raiser's own hand, to them.
    "hand.state" => HandState { raised: bool };
    /// An invitation on stage, to the invitee.
    "stage.invited" => StageInvited;
    /// Who is on stage: the presenter first.
    "stage.updated" => StageUpdated { speakers: Vec<ParticipantView> };
    /// Recording stopped by itself (a full disk, the room's limit), to staff.
    "recording.stopped" => RecordingStopped { reason: &'static str, message: String };
    /// The reactions since the previous such frame, at most four a second.
    "reactions" => Reactions { counts: BTreeMap<&'static str, u64> };
    /// The server stops; the socket closes with 1012 and the client reconnects.
    "server.restarting" => ServerRestarting;
    "pong" => Pong;
    "ack" => Ack {
        #[serde(rename = "ref")]
        reference: Value,
        result: Value,
    };
    "error" => Error {
        code: &'static str,
        message: String,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    };
}

impl ServerFrame {
    pub fn error(code: &'static str, message: impl Into<String>, reference: Option<Value>) -> Self {
        ServerFrame::Error {
            code,
            message: message.into(),
            reference,
        }
    }

    /// The frame as sent: serialised once, shared by every receiver.
    pub fn text(&self) -> std::sync::Arc<str> {
        // Every field is plain data: serialising cannot fail.
        std::sync::Arc::from(serde_json::to_string(self).unwrap_or_default())
    }
}

/// WebSocket close codes, each with the reason sent with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// Normal, or the room ended.
    Normal,
    /// The server is restarting: reconnect (RFC 6455 "service restart").
    Restarting,
    /// No valid hello within 5 s.
    NoHello,
    /// Kicked: the token is revoked.
    Kicked,
    /// The socket's queue overflowed: reconnect for a fresh snapshot.
    TooSlow,
}

impl Close {
    pub fn code(self) -> u16 {
        match self {
            Close::Normal => 1000,
            Close::Restarting => 1012,
            Close::NoHello => 4001,
            Close::Kicked => 4003,
            Close::TooSlow => 4008,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Close::Normal => "room closed",
            Close::Restarting => "the server is restarting",
            Close::NoHello => "expected hello with a live token within 5 s",
            Close::Kicked => "kicked",
            Close::TooSlow => "too slow: reconnect for a fresh snapshot",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_with_their_ref() {
        let p = parse(r#"{"type":"chat.send","body":"hi","ref":7}"#).unwrap();
        assert!(matches!(p.frame, ClientFrame::ChatSend { .. }));
        assert_eq!(p.reference, Some(Value::from(7)));
        let p = parse(r#"{"type":"question.update","id":3,"pinned":true}"#).unwrap();
        match p.frame.into_act() {
            Ok(Some(Act::UpdateQuestion { id: 3, change })) => {
                assert_eq!(change.pinned, Some(true))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(r#"{"type":"ping"}"#).unwrap().frame,
            ClientFrame::Ping {}
        ));
    }

    #[test]
    fn every_listed_kind_is_a_frame_of_that_kind() {
        // The smallest valid frame of each kind parses to that kind.
        for (kind, _) in KINDS {
            let fields = match *kind {
                "hello" => r#","token":"t""#,
                "chat.send" | "question.ask" => r#","body":"b""#,
                "room.update" => r#","settings":{}"#,
                "poll.create" => r#","question":"q","options":["a","b"]"#,
                "poll.update" => r#","id":1,"status":"open""#,
                "poll.vote" => r#","id":1,"options":[0]"#,
                "reaction" => r#","emoji":"👍""#,
                "ping" | "room.end" | "hand.raise" | "stage.accept" | "stage.decline" => "",
                "hand.lower" => r#","id":null"#,
                _ => r#","id":1"#,
            };
            let frame = parse(&format!(r#"{{"type":"{kind}"{fields}}}"#))
                .unwrap_or_else(|(e, _)| panic!("{kind}: {e}"))
                .frame;
            assert_eq!(frame.kind(), *kind);
        }
    }

    #[test]
    fn bad_frames_are_refused_with_a_reason() {
        for bad in [
            "not json",
            "[1,2]",
            r#"{"type":"nope"}"#,
            r#"{"type":"chat.send","body":5}"#,
            r#"{"type":"chat.send"}"#,
            r#"{"type":"chat.send","body":"x","extra":1}"#,
            r#"{"type":"question.vote","id":"1"}"#,
            r#"{"type":"question.update","id":1,"pinned":true,"evil":1}"#,
            r#"{"body":"no type"}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let (_, reference) = parse(r#"{"type":"nope","ref":"a1"}"#).err().unwrap();
        assert_eq!(reference, Some(Value::from("a1")));
    }

    #[test]
    fn text_over_its_limit_is_refused_when_the_act_is_made() {
        let long = "x".repeat(2001);
        let p = parse(&format!(r#"{{"type":"chat.send","body":"{long}"}}"#)).unwrap();
        assert!(p.frame.into_act().is_err());
    }

    #[test]
    fn server_frames_carry_their_type() {
        let f = ServerFrame::Presence { count: 3 };
        assert_eq!(&*f.text(), r#"{"type":"presence","count":3}"#);
        assert_eq!(f.kind(), "presence");
        assert_eq!(&*ServerFrame::Kicked.text(), r#"{"type":"kicked"}"#);
        let e = ServerFrame::error("invalid_input", "no", None);
        assert_eq!(
            &*e.text(),
            r#"{"type":"error","code":"invalid_input","message":"no"}"#
        );
    }
}
