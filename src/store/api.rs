//! The store as the HTTP side uses it: one async method per question it
//! asks, each run on the blocking pool. Handlers hold this handle, never a
//! database connection.

use std::collections::{HashMap, HashSet};

use super::messages::{self, MessageRow};
use super::models::{NewParticipant, NewRoom, Participant, Room};
use super::participants::{self, JoinOutcome};
use super::polls::{self, PollTally};
use super::questions::{self, QuestionRow};
use super::stage::{self, HandRow, Lineup};
use super::stats::{self, PersonRow};
use super::{blocking, rooms, PgPool, StoreError};
use crate::domain::stats::{RawStats, Stretch};

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut diesel::PgConnection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        blocking(&self.pool, work).await
    }

    /// Whether PostgreSQL answers within `within` (health checks wait no
    /// longer, whatever the pool's own timeout).
    pub async fn answers_within(&self, within: std::time::Duration) -> bool {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get_timeout(within).ok()?;
            super::ping(&mut conn).ok()
        })
        .await
        .ok()
        .flatten()
        .is_some()
    }

    /// Connections in use and idle, now.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (
            state.connections - state.idle_connections,
            state.idle_connections,
        )
    }

    /// A new room; `None` when its slug is taken.
    pub async fn create_room(&self, new: NewRoom) -> Result<Option<Room>, StoreError> {
        self.run(move |c| Ok(rooms::insert(c, &new)?)).await
    }

    pub async fn room(&self, slug: &str) -> Result<Option<Room>, StoreError> {
        let slug = slug.to_owned();
        self.run(move |c| Ok(rooms::find_by_slug(c, &slug)?)).await
    }

    /// A room with the number of participants holding a live token.
    pub async fn room_card(&self, slug: &str) -> Result<Option<(Room, i64)>, StoreError> {
        let slug = slug.to_owned();
        self.run(move |c| {
            let Some(room) = rooms::find_by_slug(c, &slug)? else {
                return Ok(None);
            };
            let count = rooms::active_participants(c, room.id)?;
            Ok(Some((room, count)))
        })
        .await
    }

    pub async fn participant_count(&self, room: i64) -> Result<i64, StoreError> {
        self.run(move |c| Ok(rooms::active_participants(c, room)?))
            .await
    }

    pub async fn raise_peak_viewers(&self, room: i64, viewers: i32) -> Result<(), StoreError> {
        self.run(move |c| Ok(rooms::raise_peak_viewers(c, room, viewers)?))
            .await
    }

    /// With several nodes: this node's viewers of the room now, towards
    /// the room's peak over all nodes.
    pub async fn note_node_viewers(
        &self,
        room: i64,
        node: &str,
        viewers: i32,
    ) -> Result<(), StoreError> {
        let node = node.to_owned();
        self.run(move |c| Ok(rooms::note_node_viewers(c, room, &node, viewers)?))
            .await
    }

    /// The participant a token hash was issued to, with its room.
    pub async fn by_token(
        &self,
        hash: [u8; 32],
    ) -> Result<Option<(Participant, Room)>, StoreError> {
        self.run(move |c| Ok(participants::find_by_token(c, &hash)?))
            .await
    }

    pub async fn browser_was_removed(&self, room: i64, hash: Vec<u8>) -> Result<bool, StoreError> {
        self.run(move |c| Ok(participants::browser_was_removed(c, room, &hash)?))
            .await
    }

    /// Joins, and the room's participant count after it.
    pub async fn join(&self, new: NewParticipant) -> Result<(JoinOutcome, i64), StoreError> {
        self.run(move |c| {
            let outcome = participants::join(c, &new)?;
            let count = rooms::active_participants(c, new.room_id)?;
            Ok((outcome, count))
        })
        .await
    }

    pub async fn messages_page(
        &self,
        room: i64,
        limit: i64,
        before: Option<i64>,
    ) -> Result<(Vec<MessageRow>, bool), StoreError> {
        self.run(move |c| Ok(messages::page(c, room, limit, before)?))
            .await
    }

    pub async fn all_messages(&self, room: i64) -> Result<Vec<MessageRow>, StoreError> {
        self.run(move |c| Ok(messages::all_in_room(c, room)?)).await
    }

    /// Every question of the room and which of them `participant` voted for.
    pub async fn questions_for(
        &self,
        room: i64,
        participant: i64,
    ) -> Result<(Vec<QuestionRow>, HashSet<i64>), StoreError> {
        self.run(move |c| {
            Ok((
                questions::all_in_room(c, room)?,
                questions::voted_by(c, room, participant)?,
            ))
        })
        .await
    }

    pub async fn all_questions(&self, room: i64) -> Result<Vec<QuestionRow>, StoreError> {
        self.run(move |c| Ok(questions::all_in_room(c, room)?))
            .await
    }

    pub async fn stats(&self, room: Room) -> Result<RawStats, StoreError> {
        self.run(move |c| Ok(stats::load(c, &room)?)).await
    }

    /// Everyone who joined, and every connection of theirs.
    pub async fn people(&self, room: i64) -> Result<(Vec<PersonRow>, Vec<Stretch>), StoreError> {
        self.run(move |c| Ok((stats::people(c, room)?, stats::stretches(c, room)?)))
            .await
    }

    /// Every poll of the room with its counts, and `participant`'s own
    /// choices.
    pub async fn polls_for(
        &self,
        room: i64,
        participant: i64,
    ) -> Result<(Vec<PollTally>, HashMap<i64, Vec<i16>>), StoreError> {
        self.run(move |c| {
            Ok((
                polls::all_in_room(c, room)?,
                polls::choices_of(c, room, participant)?,
            ))
        })
        .await
    }

    pub async fn all_polls(&self, room: i64) -> Result<Vec<PollTally>, StoreError> {
        self.run(move |c| Ok(polls::all_in_room(c, room)?)).await
    }

    pub async fn hands(&self, room: i64) -> Result<Vec<HandRow>, StoreError> {
        self.run(move |c| Ok(stage::hands(c, room)?)).await
    }

    pub async fn lineup(&self, room: i64) -> Result<Lineup, StoreError> {
        self.run(move |c| Ok(stage::lineup(c, room)?)).await
    }

    /// The statistics an erased room kept (its numbers only).
    pub async fn frozen_stats(
        &self,
        room: i64,
    ) -> Result<Option<crate::domain::stats::SessionStats>, StoreError> {
        self.run(move |c| Ok(super::retention::frozen(c, room)?))
            .await
    }

    pub async fn recordings(
        &self,
        room: i64,
    ) -> Result<Vec<super::recordings::Recording>, StoreError> {
        self.run(move |c| Ok(super::recordings::of_room(c, room)?))
            .await
    }

    pub async fn recording(
        &self,
        room: i64,
        id: i64,
    ) -> Result<Option<super::recordings::Recording>, StoreError> {
        self.run(move |c| Ok(super::recordings::find(c, room, id)?))
            .await
    }

    pub async fn delete_recording(&self, id: i64) -> Result<usize, StoreError> {
        self.run(move |c| Ok(super::recordings::delete(c, id)?))
            .await
    }

    pub async fn erase(&self, room: i64) -> Result<super::retention::Outcome, StoreError> {
        self.run(move |c| Ok(super::retention::erase(c, room, chrono::Utc::now())?))
            .await
    }

    /// A participant of the room as stored now.
    pub async fn participant(&self, room: i64, id: i64) -> Result<Option<Participant>, StoreError> {
        self.run(move |c| Ok(participants::find_by_id(c, room, id)?))
            .await
    }
}
