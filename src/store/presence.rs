//! Connections and attendance, written as the room runs so statistics
//! survive a restart.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{attendance_samples, participant_sessions, room_stats};

pub fn open_session(
    conn: &mut PgConnection,
    room_id: i64,
    participant_id: i64,
) -> QueryResult<i64> {
    diesel::insert_into(participant_sessions::table)
        .values((
            participant_sessions::room_id.eq(room_id),
            participant_sessions::participant_id.eq(participant_id),
        ))
        .returning(participant_sessions::id)
        .get_result(conn)
}

pub fn close_session(conn: &mut PgConnection, session_id: i64) -> QueryResult<()> {
    diesel::update(participant_sessions::table.find(session_id))
        .set(participant_sessions::disconnected_at.eq(Utc::now()))
        .execute(conn)
        .map(|_| ())
}

/// Sessions a crash left open are closed at their room's next start.
pub fn close_stale_sessions(conn: &mut PgConnection, room_id: i64) -> QueryResult<usize> {
    diesel::update(
        participant_sessions::table
            .filter(participant_sessions::room_id.eq(room_id))
            .filter(participant_sessions::disconnected_at.is_null()),
    )
    .set(participant_sessions::disconnected_at.eq(Utc::now()))
    .execute(conn)
}

/// Records a sample and raises the peak if it is higher.
pub fn sample(
    conn: &mut PgConnection,
    room_id: i64,
    at: DateTime<Utc>,
    concurrent: i32,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::insert_into(attendance_samples::table)
            .values((
                attendance_samples::room_id.eq(room_id),
                attendance_samples::at.eq(at),
                attendance_samples::concurrent.eq(concurrent),
            ))
            .execute(conn)?;
        diesel::update(
            room_stats::table
                .find(room_id)
                .filter(room_stats::peak_concurrent.lt(concurrent)),
        )
        .set((
            room_stats::peak_concurrent.eq(concurrent),
            room_stats::updated_at.eq(at),
        ))
        .execute(conn)?;
        Ok(())
    })
}
