//! Reads the figures a session's statistics are computed from.

use diesel::prelude::*;

use super::models::Room;
use super::schema::{
    attendance_samples, messages, participant_sessions, participants, question_votes, questions,
    room_stats, rooms,
};
use crate::domain::stats::{RawStats, ReactionMinute, Sample, Stretch, TopQuestion};

/// How many questions the report lists.
const TOP_QUESTIONS: i64 = 10;

pub fn load(conn: &mut PgConnection, room: &Room) -> QueryResult<RawStats> {
    let (recorded_peak, media_live_seconds, peak_viewers): (i32, i64, i32) = room_stats::table
        .find(room.id)
        .select((
            room_stats::peak_concurrent,
            room_stats::media_live_seconds,
            room_stats::peak_viewers,
        ))
        .first(conn)
        .optional()?
        .unwrap_or_default();
    let live_since = rooms::table
        .find(room.id)
        .select(rooms::live_since)
        .first(conn)?;
    let attendee = participants::role.eq("attendee");
    let attendees = participants::table
        .filter(participants::room_id.eq(room.id))
        .filter(attendee)
        .count()
        .get_result(conn)?;
    let askers = questions::table
        .inner_join(participants::table)
        .filter(questions::room_id.eq(room.id))
        .filter(attendee)
        .select(diesel::dsl::count(questions::participant_id).aggregate_distinct())
        .get_result(conn)?;
    let voters = question_votes::table
        .inner_join(participants::table)
        .filter(participants::room_id.eq(room.id))
        .filter(attendee)
        .select(diesel::dsl::count(question_votes::participant_id).aggregate_distinct())
        .get_result(conn)?;
    let chatters = messages::table
        .inner_join(participants::table)
        .filter(messages::room_id.eq(room.id))
        .filter(attendee)
        .select(diesel::dsl::count(messages::participant_id).aggregate_distinct())
        .get_result(conn)?;
    let attendee_stretches = participant_sessions::table
        .inner_join(participants::table)
        .filter(participant_sessions::room_id.eq(room.id))
        .filter(attendee)
        .select((
            participant_sessions::participant_id,
            participant_sessions::connected_at,
            participant_sessions::disconnected_at,
        ))
        .load::<(
            i64,
            chrono::DateTime<chrono::Utc>,
            Option<chrono::DateTime<chrono::Utc>>,
        )>(conn)?
        .into_iter()
        .map(|(participant, from, to)| Stretch {
            participant,
            from,
            to,
        })
        .collect();
    // Hidden questions stay out of the report, as they were out of the room.
    let top_questions = questions::table
        .inner_join(participants::table)
        .filter(questions::room_id.eq(room.id))
        .filter(questions::hidden.eq(false))
        .order((questions::votes.desc(), questions::id.asc()))
        .limit(TOP_QUESTIONS)
        .select((
            questions::id,
            questions::body,
            questions::anonymous,
            participants::name,
            questions::votes,
            questions::answered,
            questions::answer,
        ))
        .load::<(i64, String, bool, String, i32, bool, Option<String>)>(conn)?
        .into_iter()
        .map(
            |(id, body, anonymous, name, votes, answered, answer)| TopQuestion {
                id,
                body,
                author_name: (!anonymous).then_some(name),
                votes,
                answered,
                answer,
            },
        )
        .collect();
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
        attendees,
        askers,
        voters,
        chatters,
        attendee_stretches,
        top_questions,
        media_live_seconds,
        live_since,
        peak_viewers,
        reactions_timeline: super::reactions::timeline(conn, room.id)?
            .into_iter()
            .map(|(at, counts)| ReactionMinute { at, counts })
            .collect(),
        polls: super::polls::all_in_room(conn, room.id)?
            .into_iter()
            .filter(|p| p.row.status != "draft")
            .map(|p| p.result())
            .collect(),
    })
}

/// One participant as the participants export lists them.
#[derive(Debug, Clone, QueryableByName)]
pub struct PersonRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub role: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub joined_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub last_left: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub removed_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub messages: i64,
    /// Questions asked under their name: anonymous ones are not counted,
    /// or the export would tell who asked them.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub questions: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub votes: i64,
}

/// Everyone who joined the room, in order of joining, with their counts.
pub fn people(conn: &mut PgConnection, room_id: i64) -> QueryResult<Vec<PersonRow>> {
    diesel::sql_query(
        "SELECT p.id, p.name, p.role, p.joined_at, p.kicked_at AS removed_at,
           (SELECT max(s.disconnected_at) FROM participant_sessions s
             WHERE s.participant_id = p.id) AS last_left,
           (SELECT count(*) FROM messages m
             WHERE m.participant_id = p.id AND m.deleted_at IS NULL) AS messages,
           (SELECT count(*) FROM questions q
             WHERE q.participant_id = p.id AND NOT q.anonymous) AS questions,
           (SELECT count(*) FROM question_votes v WHERE v.participant_id = p.id) AS votes
         FROM participants p WHERE p.room_id = $1 ORDER BY p.id",
    )
    .bind::<diesel::sql_types::BigInt, _>(room_id)
    .load(conn)
}

/// Every connection of everyone to the room.
pub fn stretches(conn: &mut PgConnection, room_id: i64) -> QueryResult<Vec<Stretch>> {
    Ok(participant_sessions::table
        .filter(participant_sessions::room_id.eq(room_id))
        .select((
            participant_sessions::participant_id,
            participant_sessions::connected_at,
            participant_sessions::disconnected_at,
        ))
        .load::<(
            i64,
            chrono::DateTime<chrono::Utc>,
            Option<chrono::DateTime<chrono::Utc>>,
        )>(conn)?
        .into_iter()
        .map(|(participant, from, to)| Stretch {
            participant,
            from,
            to,
        })
        .collect())
}
