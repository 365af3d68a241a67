//! Reads the figures a session's statistics are computed from.

use diesel::prelude::*;

use super::models::Room;
use super::schema::{
    attendance_samples, messages, participants, question_votes, questions, room_stats,
};
use crate::domain::stats::{RawStats, Sample};

pub fn load(conn: &mut PgConnection, room: &Room) -> QueryResult<RawStats> {
    let recorded_peak: i32 = room_stats::table
        .find(room.id)
        .select(room_stats::peak_concurrent)
        .first(conn)
        .optional()?
        .unwrap_or(0);
    let total_participants = participants::table
        .filter(participants::room_id.eq(room.id))
        .count()
        .get_result(conn)?;
    let total_messages = messages::table
        .filter(messages::room_id.eq(room.id))
        .filter(messages::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    let total_questions = questions::table
        .filter(questions::room_id.eq(room.id))
        .count()
        .get_result(conn)?;
    let total_votes = question_votes::table
        .inner_join(questions::table)
        .filter(questions::room_id.eq(room.id))
        .count()
        .get_result(conn)?;
    let timeline = attendance_samples::table
        .filter(attendance_samples::room_id.eq(room.id))
        .order((attendance_samples::at.asc(), attendance_samples::id.asc()))
        .select((attendance_samples::at, attendance_samples::concurrent))
        .load::<(chrono::DateTime<chrono::Utc>, i32)>(conn)?
        .into_iter()
        .map(|(at, concurrent)| Sample { at, concurrent })
        .collect();
    Ok(RawStats {
        recorded_peak,
        total_participants,
        total_messages,
        total_questions,
        total_votes,
        created_at: room.created_at,
        started_at: room.started_at,
        ended_at: room.ended_at,
        timeline,
    })
}
