//! What a participant asks the room to do, from the WebSocket or REST
//! alike, with its text already parsed: the room core never sees a raw
//! string from a client.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::polls::{PollError, PollOptions, PollQuestion, PollStatus};
use crate::domain::qa::{AnswerText, ChatBody, ClientId, QuestionBody};
use crate::domain::reactions::{Emoji, UnknownEmoji};
use crate::domain::TextError;

/// Serde is its form between nodes (what a client sends is parsed
/// elsewhere, from the contract's frames and bodies).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Act {
    Chat {
        body: ChatBody,
        client_id: Option<ClientId>,
    },
    DeleteMessage {
        id: i64,
    },
    Ask {
        body: QuestionBody,
        anonymous: bool,
        client_id: Option<ClientId>,
    },
    Vote {
        id: i64,
        on: bool,
    },
    UpdateQuestion {
        id: i64,
        change: QuestionEdit,
    },
    Promote {
        message_id: i64,
    },
    Settings(SettingsPatch),
    /// The server's own: recording stopped by itself (a full disk, the
    /// room's limit); the setting goes off and staff hear why.
    RecordingStopped {
        why: crate::recording::Stopped,
    },
    Kick {
        participant_id: i64,
    },
    End,
    CreatePoll {
        question: PollQuestion,
        options: PollOptions,
        multiple: bool,
    },
    UpdatePoll {
        id: i64,
        status: PollStatus,
    },
    VotePoll {
        id: i64,
        options: Vec<usize>,
    },
    DeletePoll {
        id: i64,
    },
    React {
        emoji: Emoji,
    },
    RaiseHand,
    /// One's own hand (`None`), or for staff anyone's.
    LowerHand {
        id: Option<i64>,
    },
    Invite {
        participant_id: i64,
    },
    AcceptStage,
    DeclineStage,
    /// Staff take anyone off stage; a speaker steps down.
    RemoveFromStage {
        participant_id: i64,
    },
}

impl Act {
    /// Its name in logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Act::Chat { .. } => "chat",
            Act::DeleteMessage { .. } => "delete_message",
            Act::Ask { .. } => "ask",
            Act::Vote { .. } => "vote",
            Act::UpdateQuestion { .. } => "update_question",
            Act::Promote { .. } => "promote",
            Act::Settings(_) => "settings",
            Act::RecordingStopped { .. } => "recording_stopped",
            Act::Kick { .. } => "kick",
            Act::End => "end",
            Act::CreatePoll { .. } => "create_poll",
            Act::UpdatePoll { .. } => "update_poll",
            Act::VotePoll { .. } => "vote_poll",
            Act::DeletePoll { .. } => "delete_poll",
            Act::React { .. } => "react",
            Act::RaiseHand => "raise_hand",
            Act::LowerHand { .. } => "lower_hand",
            Act::Invite { .. } => "invite",
            Act::AcceptStage => "accept_stage",
            Act::DeclineStage => "decline_stage",
            Act::RemoveFromStage { .. } => "remove_from_stage",
        }
    }
}

/// A moderator's change to a question, as sent (REST body); absent
/// fields stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionPatch {
    pub pinned: Option<bool>,
    pub hidden: Option<bool>,
    pub answered: Option<bool>,
    /// A non-empty answer also marks the question answered; empty clears
    /// it.
    #[schema(max_length = 5000)]
    pub answer: Option<String>,
    pub approved: Option<bool>,
}

/// The same change, parsed: an answer within its limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionEdit {
    pub pinned: Option<bool>,
    pub hidden: Option<bool>,
    pub answered: Option<bool>,
    pub answer: Option<AnswerText>,
    pub approved: Option<bool>,
}

impl QuestionPatch {
    pub fn parse(self) -> Result<QuestionEdit, TextError> {
        Ok(QuestionEdit {
            pinned: self.pinned,
            hidden: self.hidden,
            answered: self.answered,
            answer: self.answer.as_deref().map(AnswerText::parse).transpose()?,
            approved: self.approved,
        })
    }
}

/// Room settings to change; absent ones stay.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub chat_enabled: Option<bool>,
    pub questions_enabled: Option<bool>,
    pub anonymous_questions: Option<bool>,
    pub questions_need_approval: Option<bool>,
    pub locked: Option<bool>,
    /// Speakers on stage besides the presenter, 0 to 10.
    #[schema(minimum = 0, maximum = 10)]
    pub max_speakers: Option<i32>,
    /// Record the published sources while the room is live.
    pub recording: Option<bool>,
    /// Let attendees watch the replay after the end.
    pub replay_public: Option<bool>,
}

/// A new poll, as sent (REST body and `poll.create`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPoll {
    #[schema(min_length = 1, max_length = 300)]
    pub question: String,
    /// 2 to 10 options of 1 to 100 characters, all different.
    #[schema(min_items = 2, max_items = 10)]
    pub options: Vec<String>,
    /// Whether a voter may choose several options.
    #[serde(default)]
    pub multiple: bool,
}

impl NewPoll {
    pub fn parse(self) -> Result<Act, PollError> {
        Ok(Act::CreatePoll {
            question: PollQuestion::parse(&self.question)?,
            options: PollOptions::parse(&self.options)?,
            multiple: self.multiple,
        })
    }
}

/// A poll's next status.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollPatch {
    #[schema(schema_with = next_status)]
    pub status: String,
}

fn next_status() -> utoipa::openapi::Object {
    crate::views::one_of(["open", "closed"])
}

impl PollPatch {
    pub fn parse(self, id: i64) -> Result<Act, String> {
        match self.status.parse::<PollStatus>()? {
            PollStatus::Draft => Err("a poll cannot go back to being a draft".into()),
            status => Ok(Act::UpdatePoll { id, status }),
        }
    }
}

/// A vote: the chosen options' indices (one unless the poll is multiple
/// choice).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollVote {
    #[schema(min_items = 1, max_items = 10)]
    pub options: Vec<usize>,
}

/// A reaction: one of 👍 👏 ❤️ 😂 😮 🎉.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reaction {
    #[schema(schema_with = emoji)]
    pub emoji: String,
}

fn emoji() -> utoipa::openapi::Object {
    crate::views::one_of(Emoji::ALL.map(Emoji::as_str))
}

impl Reaction {
    pub fn parse(self) -> Result<Act, UnknownEmoji> {
        Ok(Act::React {
            emoji: Emoji::parse(&self.emoji)?,
        })
    }
}

/// Whom to invite on stage.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageInvite {
    pub participant_id: i64,
}
