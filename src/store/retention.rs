//! Erasing a room's personal data: its participants (names, tokens,
//! browser marks) and with them every chat message, question, answer,
//! vote, poll vote and connection, its polls, the presenter's name and the
//! password hash. What stays is numbers: the statistics as they stood,
//! frozen in `room_stats.frozen`, the attendance samples and the
//! reactions counted per minute (which never named anyone).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::models::Room;
use super::schema::{messages, participants, polls, questions, room_stats, rooms};
use super::{rooms as room_rows, stats};
use crate::domain::stats::{summarise, SessionStats};

/// What one erasure removed, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Erased {
    pub participants: i64,
    pub messages: i64,
    pub questions: i64,
    pub polls: i64,
    /// Recording rows; their files are under the room's own directory,
    /// which the caller removes.
    pub recordings: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Erased(Erased),
    /// Erased before: nothing left to do.
    Already,
    /// Still running: a live room is never erased.
    NotEnded,
}

/// Erases one room's personal data at `now`, in one transaction.
pub fn erase(conn: &mut PgConnection, room_id: i64, now: DateTime<Utc>) -> QueryResult<Outcome> {
    conn.transaction(|conn| {
        let room = room_rows::lock(conn, room_id)?;
        if room.is_erased() {
            return Ok(Outcome::Already);
        }
        if !room.is_ended() {
            return Ok(Outcome::NotEnded);
        }
        let mut figures: SessionStats = summarise(stats::load(conn, &room)?, now);
        // Texts are personal data; the numbers are not.
        figures.top_questions.clear();
        figures.polls.clear();
        figures.erased_at = Some(now);
        let frozen = serde_json::to_value(&figures)
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        let counted = Erased {
            participants: participants::table
                .filter(participants::room_id.eq(room_id))
                .count()
                .get_result(conn)?,
            messages: messages::table
                .filter(messages::room_id.eq(room_id))
                .count()
                .get_result(conn)?,
            questions: questions::table
                .filter(questions::room_id.eq(room_id))
                .count()
                .get_result(conn)?,
            polls: polls::table
                .filter(polls::room_id.eq(room_id))
                .count()
                .get_result(conn)?,
            recordings: super::recordings::delete_room(conn, room_id)? as i64,
        };
        diesel::insert_into(room_stats::table)
            .values((
                room_stats::room_id.eq(room_id),
                room_stats::frozen.eq(&frozen),
            ))
            .on_conflict(room_stats::room_id)
            .do_update()
            .set(room_stats::frozen.eq(&frozen))
            .execute(conn)?;
        // Messages, questions, votes, poll votes, sessions go with them.
        diesel::delete(participants::table.filter(participants::room_id.eq(room_id)))
            .execute(conn)?;
        diesel::delete(polls::table.filter(polls::room_id.eq(room_id))).execute(conn)?;
        diesel::update(rooms::table.find(room_id))
            .set((
                rooms::presenter_name.eq(""),
                rooms::password_hash.eq(None::<String>),
                rooms::erased_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Outcome::Erased(counted))
    })
}

/// The statistics an erased room kept.
pub fn frozen(conn: &mut PgConnection, room_id: i64) -> QueryResult<Option<SessionStats>> {
    let value: Option<serde_json::Value> = room_stats::table
        .find(room_id)
        .select(room_stats::frozen)
        .first::<Option<serde_json::Value>>(conn)
        .optional()?
        .flatten();
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

/// Rooms that ended more than `days` days before `now` and still hold
/// personal data, oldest first.
pub fn expired(conn: &mut PgConnection, now: DateTime<Utc>, days: u32) -> QueryResult<Vec<Room>> {
    // Beyond the calendar's range, nothing is old enough.
    let Some(before) = now.checked_sub_signed(Duration::days(i64::from(days))) else {
        return Ok(Vec::new());
    };
    rooms::table
        .filter(rooms::erased_at.is_null())
        .filter(rooms::ended_at.lt(before))
        .order(rooms::ended_at.asc())
        .select(Room::as_select())
        .load(conn)
}

/// One run of the retention job: erases every expired room; what each
/// gave up.
pub fn run(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    days: u32,
) -> QueryResult<Vec<(Room, Erased)>> {
    let mut done = Vec::new();
    for room in expired(conn, now, days)? {
        if let Outcome::Erased(e) = erase(conn, room.id, now)? {
            done.push((room, e));
        }
    }
    Ok(done)
}
