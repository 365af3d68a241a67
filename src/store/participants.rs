//! Participant queries.

use diesel::prelude::*;

use super::models::{NewParticipant, Participant, Room};
use super::rooms;
use super::schema::{participants, rooms as rooms_table};
use crate::domain::Role;

pub enum JoinOutcome {
    Joined(Participant),
    Full,
    Ended,
}

/// Adds a participant. Attendees count against the room's limit; the room
/// row is locked meanwhile so concurrent joins cannot overshoot it.
pub fn join(conn: &mut PgConnection, new: &NewParticipant) -> QueryResult<JoinOutcome> {
    conn.transaction(|conn| {
        let room = rooms::lock(conn, new.room_id)?;
        if room.is_ended() {
            return Ok(JoinOutcome::Ended);
        }
        if new.role == Role::Attendee.as_str() {
            let attendees: i64 = participants::table
                .filter(participants::room_id.eq(room.id))
                // A speaker is an attendee on stage: still a seat.
                .filter(
                    participants::role.eq_any([Role::Attendee.as_str(), Role::Speaker.as_str()]),
                )
                .filter(participants::kicked_at.is_null())
                .count()
                .get_result(conn)?;
            if attendees >= i64::from(room.max_participants) {
                return Ok(JoinOutcome::Full);
            }
        }
        let p = diesel::insert_into(participants::table)
            .values(new)
            .returning(Participant::as_returning())
            .get_result(conn)?;
        Ok(JoinOutcome::Joined(p))
    })
}

/// Whether a participant who joined from this browser was removed from
/// the room.
pub fn browser_was_removed(
    conn: &mut PgConnection,
    room_id: i64,
    browser_hash: &[u8],
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        participants::table
            .filter(participants::room_id.eq(room_id))
            .filter(participants::browser_hash.eq(browser_hash))
            .filter(participants::kicked_at.is_not_null()),
    ))
    .get_result(conn)
}

/// The participant a token hash belongs to, with its room.
pub fn find_by_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<(Participant, Room)>> {
    participants::table
        .inner_join(rooms_table::table)
        .filter(participants::token_hash.eq(token_hash))
        .select((Participant::as_select(), Room::as_select()))
        .first(conn)
        .optional()
}

/// Revokes a participant's token; `None` if no such live participant.
pub fn kick(
    conn: &mut PgConnection,
    room_id: i64,
    participant_id: i64,
) -> QueryResult<Option<Participant>> {
    diesel::update(
        participants::table
            .filter(participants::room_id.eq(room_id))
            .filter(participants::id.eq(participant_id))
            .filter(participants::kicked_at.is_null()),
    )
    .set(participants::kicked_at.eq(chrono::Utc::now()))
    .returning(Participant::as_returning())
    .get_result(conn)
    .optional()
}

pub fn find_by_id(
    conn: &mut PgConnection,
    room_id: i64,
    id: i64,
) -> QueryResult<Option<Participant>> {
    participants::table
        .filter(participants::room_id.eq(room_id))
        .filter(participants::id.eq(id))
        .select(Participant::as_select())
        .first(conn)
        .optional()
}
