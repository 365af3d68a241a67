//! Recordings: one row per file, written by the recorder as the file grows
//! (so a crash leaves a row saying how far it got) and read by the report
//! and the replay.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;

use super::schema::recordings;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = recordings)]
pub struct Recording {
    pub id: i64,
    pub room_id: i64,
    pub participant_id: Option<i64>,
    pub source: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_ms: i64,
    pub bytes: i64,
    pub content_type: String,
    pub file: String,
    pub url_key: String,
    pub state: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = recordings)]
pub struct NewRecording<'a> {
    pub room_id: i64,
    pub participant_id: Option<i64>,
    pub source: &'a str,
    pub started_at: DateTime<Utc>,
    pub content_type: &'a str,
    pub file: &'a str,
    pub url_key: &'a str,
}

/// A new row; its file is named after its id, so the name is set after.
pub fn insert(conn: &mut PgConnection, new: &NewRecording) -> QueryResult<i64> {
    diesel::insert_into(recordings::table)
        .values(new)
        .returning(recordings::id)
        .get_result(conn)
}

pub fn set_file(conn: &mut PgConnection, id: i64, file: &str) -> QueryResult<()> {
    diesel::update(recordings::table.find(id))
        .set(recordings::file.eq(file))
        .execute(conn)
        .map(drop)
}

/// How far a file being written has got.
pub fn progress(conn: &mut PgConnection, id: i64, duration_ms: i64, bytes: i64) -> QueryResult<()> {
    diesel::update(recordings::table.find(id))
        .set((
            recordings::duration_ms.eq(duration_ms),
            recordings::bytes.eq(bytes),
        ))
        .execute(conn)
        .map(drop)
}

/// A file is closed: `complete`, or `failed` (a write error stopped it;
/// it plays up to there).
pub fn finish(
    conn: &mut PgConnection,
    id: i64,
    state: &str,
    ended_at: DateTime<Utc>,
    duration_ms: i64,
    bytes: i64,
) -> QueryResult<()> {
    diesel::update(recordings::table.find(id))
        .set((
            recordings::state.eq(state),
            recordings::ended_at.eq(ended_at),
            recordings::duration_ms.eq(duration_ms),
            recordings::bytes.eq(bytes),
        ))
        .execute(conn)
        .map(drop)
}

/// Files a crash left open: they end where their last progress said.
pub fn unfinished(conn: &mut PgConnection) -> QueryResult<Vec<Recording>> {
    recordings::table
        .filter(recordings::state.eq("recording"))
        .select(Recording::as_select())
        .load(conn)
}

pub fn of_room(conn: &mut PgConnection, room_id: i64) -> QueryResult<Vec<Recording>> {
    recordings::table
        .filter(recordings::room_id.eq(room_id))
        .order((recordings::started_at.asc(), recordings::id.asc()))
        .select(Recording::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, room_id: i64, id: i64) -> QueryResult<Option<Recording>> {
    recordings::table
        .filter(recordings::room_id.eq(room_id))
        .find(id)
        .select(Recording::as_select())
        .first(conn)
        .optional()
}

/// The bytes a room's recordings hold (for its limit).
pub fn bytes_of_room(conn: &mut PgConnection, room_id: i64) -> QueryResult<i64> {
    recordings::table
        .filter(recordings::room_id.eq(room_id))
        .select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "COALESCE(SUM(bytes), 0)::bigint",
        ))
        .first(conn)
}

pub fn delete(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(recordings::table.find(id)).execute(conn)
}

/// Deletes every row of a room; how many. Their files are the caller's to
/// remove (`recording::remove_room_files`).
pub fn delete_room(conn: &mut PgConnection, room_id: i64) -> QueryResult<usize> {
    diesel::delete(recordings::table.filter(recordings::room_id.eq(room_id))).execute(conn)
}
