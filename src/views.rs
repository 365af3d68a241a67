//! JSON shapes of the contract.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::{schema::SchemaType, Object, ObjectBuilder, Type};
use utoipa::ToSchema;

use crate::domain::{Role, RoomStatus};
use crate::store::models::{Participant, Room};

/// A string schema that takes only `values` (the schema of a field held as
/// `&'static str`, one of a domain enum's names).
pub fn one_of(values: impl IntoIterator<Item = &'static str>) -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .enum_values(Some(values))
        .build()
}

fn room_status() -> Object {
    one_of(RoomStatus::ALL.map(RoomStatus::as_str))
}

pub(crate) fn role_name() -> Object {
    one_of(Role::ALL.map(Role::as_str))
}

/// A field held as one of a fixed list's `&'static str` names. Named, so
/// serde reads it with [`named`] instead of borrowing from its input.
pub type Name = &'static str;

/// Reads back a field held as `&'static str` (a view that crossed between
/// nodes): it must be one of `names`.
pub(crate) fn named<'de, D: Deserializer<'de>>(
    d: D,
    names: impl IntoIterator<Item = &'static str>,
) -> Result<&'static str, D::Error> {
    let s = String::deserialize(d)?;
    names
        .into_iter()
        .find(|n| *n == s)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown name {s:?}")))
}

fn read_role<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    named(d, Role::ALL.map(Role::as_str))
}

fn read_room_status<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    named(d, RoomStatus::ALL.map(RoomStatus::as_str))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SettingsView {
    pub chat_enabled: bool,
    pub questions_enabled: bool,
    pub anonymous_questions: bool,
    pub questions_need_approval: bool,
    pub locked: bool,
    /// Speakers on stage besides the presenter.
    pub max_speakers: i32,
    /// Published sources are recorded while the room is live.
    pub recording: bool,
    /// Attendees may watch the replay after the end.
    pub replay_public: bool,
}

/// A room as anyone may see it: never a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoomView {
    pub slug: String,
    pub title: String,
    pub presenter_name: String,
    pub has_password: bool,
    #[schema(schema_with = room_status)]
    #[serde(deserialize_with = "read_room_status")]
    pub status: Name,
    pub participant_count: i64,
    pub max_participants: i32,
    pub created_at: DateTime<Utc>,
    pub settings: SettingsView,
}

impl RoomView {
    pub fn new(room: &Room, participant_count: i64) -> Self {
        let s = room.settings();
        Self {
            slug: room.slug.clone(),
            title: room.title.clone(),
            presenter_name: room.presenter_name.clone(),
            has_password: room.password_hash.is_some(),
            status: room.status().as_str(),
            participant_count,
            max_participants: room.max_participants,
            created_at: room.created_at,
            settings: SettingsView {
                chat_enabled: s.chat_enabled,
                questions_enabled: s.questions_enabled,
                anonymous_questions: s.anonymous_questions,
                questions_need_approval: s.questions_need_approval,
                locked: s.locked,
                max_speakers: s.max_speakers,
                recording: s.recording,
                replay_public: s.replay_public,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantView {
    pub id: i64,
    pub name: String,
    #[schema(schema_with = role_name)]
    #[serde(deserialize_with = "read_role")]
    pub role: Name,
}

impl From<&Participant> for ParticipantView {
    fn from(p: &Participant) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            role: p.role().as_str(),
        }
    }
}
