//! Chat messages, questions and snapshots as clients see them, shared by
//! broadcasts and REST.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::domain::qa::{QuestionFacts, QuestionStatus};
use crate::domain::stats::PollResult;
use crate::store::messages::MessageRow;
use crate::store::questions::QuestionRow;
use crate::store::stage::HandRow;
use crate::views::{one_of, role_name, ParticipantView, RoomView};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub participant_id: i64,
    pub name: String,
    #[schema(schema_with = role_name)]
    pub role: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<&MessageRow> for MessageView {
    fn from(m: &MessageRow) -> Self {
        Self {
            id: m.id,
            participant_id: m.participant_id,
            name: m.name.clone(),
            role: m.role.clone(),
            body: m.body.clone(),
            created_at: m.created_at,
        }
    }
}

pub fn facts(q: &QuestionRow) -> QuestionFacts {
    QuestionFacts {
        id: q.id,
        author_id: q.participant_id,
        votes: q.votes,
        pinned: q.pinned,
        hidden: q.hidden,
        approved: q.approved,
        answered: q.answered,
    }
}

/// A question as shown. An anonymous author's name is shown to nobody, not
/// even moderators. `voted_by_me` is left out of broadcasts (one payload
/// serves every receiver) and filled in for REST and snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QuestionView {
    pub id: i64,
    pub body: String,
    pub author_name: Option<String>,
    pub anonymous: bool,
    pub votes: i32,
    pub pinned: bool,
    pub hidden: bool,
    pub answered: bool,
    pub answer: Option<String>,
    #[schema(schema_with = question_status)]
    #[serde(deserialize_with = "read_question_status")]
    pub status: crate::views::Name,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    /// The chat message it was promoted from.
    pub source_message_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voted_by_me: Option<bool>,
}

impl QuestionView {
    pub fn new(q: &QuestionRow, voted_by_me: Option<bool>) -> Self {
        Self {
            id: q.id,
            body: q.body.clone(),
            author_name: (!q.anonymous).then(|| q.author_name.clone()),
            anonymous: q.anonymous,
            votes: q.votes,
            pinned: q.pinned,
            hidden: q.hidden,
            answered: q.answered,
            answer: q.answer.clone(),
            status: facts(q).status().as_str(),
            created_at: q.created_at,
            answered_at: q.answered_at,
            source_message_id: q.source_message_id,
            voted_by_me,
        }
    }
}

fn question_status() -> utoipa::openapi::Object {
    one_of(QuestionStatus::ALL.map(QuestionStatus::as_str))
}

fn read_question_status<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    crate::views::named(d, QuestionStatus::ALL.map(QuestionStatus::as_str))
}

/// A field whose null means something (absent is `None`, null
/// `Some(None)`), read back.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A vote's outcome: the question's exact count once the vote is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteView {
    pub id: i64,
    pub votes: i32,
    pub voted_by_me: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PresenceView {
    pub count: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaView {
    pub live: bool,
    pub screen: bool,
    /// The speaker (participant) in each seat: a viewer's third video
    /// section shows seat 0, and so on.
    pub seats: Vec<Option<i64>>,
    /// Who speaks now.
    pub speaker: Option<i64>,
}

/// The snapshot a socket gets first: everything it may see now.
#[derive(Debug, Clone, Serialize)]
pub struct Welcome {
    pub participant: ParticipantView,
    pub room: RoomView,
    pub messages: Vec<MessageView>,
    pub questions: Vec<QuestionView>,
    pub presence: PresenceView,
    pub media: MediaView,
    /// Who is connected, for staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<ParticipantView>>,
    /// The polls it may see (drafts for staff only), with its own choices.
    pub polls: Vec<PollView>,
    pub stage: StageView,
}

/// The stage in a welcome: who is on it, this participant's hand and
/// invitation, and for staff the raised hands.
#[derive(Debug, Clone, Serialize)]
pub struct StageView {
    /// The presenter first, then the speakers in the order they came on.
    pub speakers: Vec<ParticipantView>,
    pub hand_raised: bool,
    pub invited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hands: Option<Vec<HandView>>,
}

/// A raised hand, as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HandView {
    pub participant_id: i64,
    pub name: String,
    pub raised_at: DateTime<Utc>,
}

impl From<&HandRow> for HandView {
    fn from(h: &HandRow) -> Self {
        Self {
            participant_id: h.participant_id,
            name: h.name.clone(),
            raised_at: h.raised_at,
        }
    }
}

/// A poll as shown: its counts, and the receiver's own choice where it
/// is known (REST, snapshots and the voter's own answer; left out of
/// broadcasts, which serve every receiver alike).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PollView {
    #[serde(flatten)]
    pub poll: PollResult,
    /// The option indices this participant chose; null before voting.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub my_choice: Option<Option<Vec<i16>>>,
}

impl PollView {
    pub fn shared(poll: PollResult) -> Self {
        Self {
            poll,
            my_choice: None,
        }
    }

    pub fn mine(poll: PollResult, choice: Option<Vec<i16>>) -> Self {
        Self {
            poll,
            my_choice: Some(choice),
        }
    }
}
