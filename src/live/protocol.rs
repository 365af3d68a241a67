//! Client frames of the WebSocket protocol, parsed into room actions.

use serde::Deserialize;
use serde_json::Value;

use super::room::{QuestionPatch, SettingsPatch};
use super::Act;
use crate::domain::Action;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum ClientFrame {
    #[serde(rename = "hello")]
    Hello { token: String },
    #[serde(rename = "ping")]
    Ping {},
    #[serde(rename = "chat.send")]
    ChatSend {
        body: String,
        client_id: Option<String>,
    },
    #[serde(rename = "chat.delete")]
    ChatDelete { id: i64 },
    #[serde(rename = "chat.promote")]
    ChatPromote { id: i64 },
    #[serde(rename = "question.ask")]
    QuestionAsk {
        body: String,
        #[serde(default)]
        anonymous: bool,
        client_id: Option<String>,
    },
    #[serde(rename = "question.vote")]
    QuestionVote { id: i64 },
    #[serde(rename = "question.unvote")]
    QuestionUnvote { id: i64 },
    #[serde(rename = "question.update")]
    QuestionUpdate {
        id: i64,
        #[serde(flatten)]
        patch: QuestionPatchFields,
    },
    #[serde(rename = "room.update")]
    RoomUpdate { settings: SettingsPatch },
    #[serde(rename = "participant.kick")]
    ParticipantKick { id: i64 },
    #[serde(rename = "room.end")]
    RoomEnd {},
}

/// Every client frame `type` with what it asks of the sender's role
/// (`None`: any participant). The escalation tests attack every entry; a
/// unit test below keeps the list equal to the enum's.
pub const KINDS: &[(&str, Option<Action>)] = &[
    ("hello", None),
    ("ping", None),
    ("chat.send", Some(Action::Chat)),
    ("chat.delete", Some(Action::Moderate)),
    ("chat.promote", Some(Action::Moderate)),
    ("question.ask", Some(Action::AskQuestion)),
    ("question.vote", Some(Action::Vote)),
    ("question.unvote", Some(Action::Vote)),
    ("question.update", Some(Action::Moderate)),
    ("room.update", Some(Action::ChangeSettings)),
    ("participant.kick", Some(Action::Kick)),
    ("room.end", Some(Action::EndRoom)),
];

impl ClientFrame {
    /// The frame's `type`, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientFrame::Hello { .. } => "hello",
            ClientFrame::Ping {} => "ping",
            ClientFrame::ChatSend { .. } => "chat.send",
            ClientFrame::ChatDelete { .. } => "chat.delete",
            ClientFrame::ChatPromote { .. } => "chat.promote",
            ClientFrame::QuestionAsk { .. } => "question.ask",
            ClientFrame::QuestionVote { .. } => "question.vote",
            ClientFrame::QuestionUnvote { .. } => "question.unvote",
            ClientFrame::QuestionUpdate { .. } => "question.update",
            ClientFrame::RoomUpdate { .. } => "room.update",
            ClientFrame::ParticipantKick { .. } => "participant.kick",
            ClientFrame::RoomEnd {} => "room.end",
        }
    }
}

/// `question.update` carries the patch fields beside `id` (flatten cannot
/// be combined with deny_unknown_fields, so unknown ones are checked here).
#[derive(Debug, Deserialize)]
pub struct QuestionPatchFields {
    pinned: Option<bool>,
    hidden: Option<bool>,
    answered: Option<bool>,
    answer: Option<String>,
    approved: Option<bool>,
}

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
    if let Some(Value::String(t)) = obj.get("type") {
        if t == "question.update" {
            const KNOWN: [&str; 7] = [
                "type", "id", "pinned", "hidden", "answered", "answer", "approved",
            ];
            if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
                return Err((format!("unknown field `{k}` in question.update"), reference));
            }
        }
    }
    let frame = serde_json::from_value(value)
        .map_err(|e| (format!("bad frame: {e}"), reference.clone()))?;
    Ok(Parsed { frame, reference })
}

impl ClientFrame {
    /// The room action this frame asks for; `None` for hello and ping.
    pub fn into_act(self) -> Option<Act> {
        Some(match self {
            ClientFrame::Hello { .. } | ClientFrame::Ping {} => return None,
            ClientFrame::ChatSend { body, client_id } => Act::Chat { body, client_id },
            ClientFrame::ChatDelete { id } => Act::DeleteMessage { id },
            ClientFrame::ChatPromote { id } => Act::Promote { message_id: id },
            ClientFrame::QuestionAsk {
                body,
                anonymous,
                client_id,
            } => Act::Ask {
                body,
                anonymous,
                client_id,
            },
            ClientFrame::QuestionVote { id } => Act::Vote { id, on: true },
            ClientFrame::QuestionUnvote { id } => Act::Vote { id, on: false },
            ClientFrame::QuestionUpdate { id, patch: p } => Act::UpdateQuestion {
                id,
                patch: QuestionPatch {
                    pinned: p.pinned,
                    hidden: p.hidden,
                    answered: p.answered,
                    answer: p.answer,
                    approved: p.approved,
                },
            },
            ClientFrame::RoomUpdate { settings } => Act::Settings(settings),
            ClientFrame::ParticipantKick { id } => Act::Kick { participant_id: id },
            ClientFrame::RoomEnd {} => Act::End,
        })
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
            Some(Act::UpdateQuestion { id: 3, patch }) => assert_eq!(patch.pinned, Some(true)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(r#"{"type":"ping"}"#).unwrap().frame,
            ClientFrame::Ping {}
        ));
    }

    #[test]
    fn kinds_lists_every_frame_type() {
        // serde names every variant when it meets an unknown one.
        let (why, _) = parse(r#"{"type":"?"}"#).err().unwrap();
        let listed: Vec<&str> = why.split('`').skip(3).step_by(2).collect();
        let kinds: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
        assert_eq!(listed, kinds, "{why}");
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
}
