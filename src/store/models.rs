//! Rows as stored.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{participants, rooms};
use crate::domain::{Role, RoomSettings, RoomStatus};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rooms, check_for_backend(diesel::pg::Pg))]
pub struct Room {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub presenter_name: String,
    pub password_hash: Option<String>,
    pub host_key_hash: Vec<u8>,
    pub moderator_key_hash: Vec<u8>,
    pub max_participants: i32,
    pub status: String,
    pub chat_enabled: bool,
    pub questions_enabled: bool,
    pub anonymous_questions: bool,
    pub questions_need_approval: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub locked: bool,
    pub max_speakers: i32,
    /// When its personal data was erased (retention or the presenter).
    pub erased_at: Option<DateTime<Utc>>,
    pub recording: bool,
    pub replay_public: bool,
}

impl Room {
    pub fn status(&self) -> RoomStatus {
        // The column has a CHECK constraint, so anything else is corruption.
        self.status.parse().unwrap_or(RoomStatus::Ended)
    }

    pub fn is_ended(&self) -> bool {
        self.status() == RoomStatus::Ended
    }

    pub fn is_erased(&self) -> bool {
        self.erased_at.is_some()
    }

    /// The presenter's camera is on air (as last stored).
    pub fn is_live(&self) -> bool {
        self.status() == RoomStatus::Live
    }

    pub fn settings(&self) -> RoomSettings {
        RoomSettings {
            chat_enabled: self.chat_enabled,
            questions_enabled: self.questions_enabled,
            anonymous_questions: self.anonymous_questions,
            questions_need_approval: self.questions_need_approval,
            locked: self.locked,
            max_speakers: self.max_speakers,
            recording: self.recording,
            replay_public: self.replay_public,
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = rooms)]
pub struct NewRoom {
    pub slug: String,
    pub title: String,
    pub presenter_name: String,
    pub password_hash: Option<String>,
    pub host_key_hash: Vec<u8>,
    pub moderator_key_hash: Vec<u8>,
    pub max_participants: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = participants, check_for_backend(diesel::pg::Pg))]
pub struct Participant {
    pub id: i64,
    pub room_id: i64,
    pub name: String,
    pub role: String,
    pub token_hash: Vec<u8>,
    pub joined_at: DateTime<Utc>,
    pub kicked_at: Option<DateTime<Utc>>,
}

impl Participant {
    pub fn role(&self) -> Role {
        // CHECK constraint again; the least privileged role if ever violated.
        self.role.parse().unwrap_or(Role::Attendee)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = participants)]
pub struct NewParticipant {
    pub room_id: i64,
    pub name: String,
    pub role: String,
    pub token_hash: Vec<u8>,
    /// The joining browser's mark, hashed (see the migration).
    pub browser_hash: Option<Vec<u8>>,
}
