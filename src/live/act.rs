//! What a participant asks the room to do, from the WebSocket or REST
//! alike, with its text already parsed: the room core never sees a raw
//! string from a client.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::qa::{AnswerText, ChatBody, ClientId, QuestionBody};
use crate::domain::TextError;

#[derive(Debug, Clone)]
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
    Kick {
        participant_id: i64,
    },
    End,
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
            Act::Kick { .. } => "kick",
            Act::End => "end",
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub chat_enabled: Option<bool>,
    pub questions_enabled: Option<bool>,
    pub anonymous_questions: Option<bool>,
    pub questions_need_approval: Option<bool>,
    pub locked: Option<bool>,
}
