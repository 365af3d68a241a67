//! JSON shapes of the contract.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::stats::SessionStats;
use crate::store::models::{Participant, Room};

#[derive(Debug, Serialize)]
pub struct SettingsView {
    pub chat_enabled: bool,
    pub questions_enabled: bool,
    pub anonymous_questions: bool,
    pub questions_need_approval: bool,
}

/// A room as anyone may see it: never a secret.
#[derive(Debug, Serialize)]
pub struct RoomView {
    pub slug: String,
    pub title: String,
    pub presenter_name: String,
    pub has_password: bool,
    pub status: &'static str,
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
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ParticipantView {
    pub id: i64,
    pub name: String,
    pub role: &'static str,
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

#[derive(Debug, Serialize)]
pub struct SampleView {
    pub at: DateTime<Utc>,
    pub concurrent: i32,
}

#[derive(Debug, Serialize)]
pub struct StatsView {
    pub peak_concurrent: i32,
    pub total_participants: i64,
    pub total_messages: i64,
    pub total_questions: i64,
    pub total_votes: i64,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_seconds: i64,
    pub timeline: Vec<SampleView>,
}

impl From<SessionStats> for StatsView {
    fn from(s: SessionStats) -> Self {
        Self {
            peak_concurrent: s.peak_concurrent,
            total_participants: s.total_participants,
            total_messages: s.total_messages,
            total_questions: s.total_questions,
            total_votes: s.total_votes,
            started_at: s.started_at,
            ended_at: s.ended_at,
            duration_seconds: s.duration_seconds,
            timeline: s
                .timeline
                .into_iter()
                .map(|x| SampleView {
                    at: x.at,
                    concurrent: x.concurrent,
                })
                .collect(),
        }
    }
}
