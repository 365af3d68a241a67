//! Room queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use super::models::{NewRoom, Room};
use super::schema::{participants, room_stats, rooms};

/// Inserts a room and its statistics row. `Ok(None)` when the slug is taken.
pub fn insert(conn: &mut PgConnection, new: &NewRoom) -> QueryResult<Option<Room>> {
    let result = conn.transaction(|conn| {
        let room: Room = diesel::insert_into(rooms::table)
            .values(new)
            .returning(Room::as_returning())
            .get_result(conn)?;
        diesel::insert_into(room_stats::table)
            .values(room_stats::room_id.eq(room.id))
            .execute(conn)?;
        Ok(room)
    });
    match result {
        Ok(room) => Ok(Some(room)),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn find_by_slug(conn: &mut PgConnection, slug: &str) -> QueryResult<Option<Room>> {
    rooms::table
        .filter(rooms::slug.eq(slug))
        .select(Room::as_select())
        .first(conn)
        .optional()
}

/// Locks the room row until the transaction ends: joins into one room are
/// decided one at a time, so the attendee limit holds under a storm.
pub fn lock(conn: &mut PgConnection, room_id: i64) -> QueryResult<Room> {
    rooms::table
        .find(room_id)
        .select(Room::as_select())
        .for_update()
        .first(conn)
}

/// Participants holding a live token (not kicked).
pub fn active_participants(conn: &mut PgConnection, room_id: i64) -> QueryResult<i64> {
    participants::table
        .filter(participants::room_id.eq(room_id))
        .filter(participants::kicked_at.is_null())
        .count()
        .get_result(conn)
}

/// Marks the room ended; `None` if it already was.
pub fn end(conn: &mut PgConnection, room_id: i64, now: DateTime<Utc>) -> QueryResult<Option<Room>> {
    conn.transaction(|conn| {
        close_live_stretch(conn, room_id)?;
        diesel::update(rooms::table.find(room_id).filter(rooms::status.ne("ended")))
            .set((rooms::status.eq("ended"), rooms::ended_at.eq(now)))
            .returning(Room::as_returning())
            .get_result(conn)
            .optional()
    })
}

/// Adds the room's running live stretch, if any, to its media time.
fn close_live_stretch(conn: &mut PgConnection, room_id: i64) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE room_stats s SET media_live_seconds = s.media_live_seconds \
         + GREATEST(0, EXTRACT(EPOCH FROM now() - r.live_since))::bigint, updated_at = now() \
         FROM rooms r WHERE r.id = $1 AND s.room_id = r.id AND r.live_since IS NOT NULL",
    )
    .bind::<diesel::sql_types::BigInt, _>(room_id)
    .execute(conn)?;
    diesel::update(rooms::table.find(room_id))
        .set(rooms::live_since.eq(None::<DateTime<Utc>>))
        .execute(conn)?;
    Ok(())
}

/// Raises the room's peak of media viewers to `viewers` if that is higher.
pub fn raise_peak_viewers(conn: &mut PgConnection, room_id: i64, viewers: i32) -> QueryResult<()> {
    diesel::update(
        room_stats::table
            .find(room_id)
            .filter(room_stats::peak_viewers.lt(viewers)),
    )
    .set(room_stats::peak_viewers.eq(viewers))
    .execute(conn)?;
    Ok(())
}

/// With several nodes: `node` has `viewers` of the room now; the room's
/// peak rises to the sum over its nodes if that is higher.
pub fn note_node_viewers(
    conn: &mut PgConnection,
    room_id: i64,
    node: &str,
    viewers: i32,
) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Integer, Text};
    diesel::sql_query(
        "INSERT INTO room_node_viewers (room_id, node_id, viewers) VALUES ($1, $2, $3) \
         ON CONFLICT (room_id, node_id) DO UPDATE SET viewers = EXCLUDED.viewers",
    )
    .bind::<BigInt, _>(room_id)
    .bind::<Text, _>(node)
    .bind::<Integer, _>(viewers)
    .execute(conn)?;
    diesel::sql_query(
        "UPDATE room_stats SET peak_viewers = t.total FROM \
         (SELECT sum(viewers)::int AS total FROM room_node_viewers WHERE room_id = $1) t \
         WHERE room_stats.room_id = $1 AND room_stats.peak_viewers < t.total",
    )
    .bind::<BigInt, _>(room_id)
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Default, Clone, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = rooms)]
pub struct SettingsChange {
    pub chat_enabled: Option<bool>,
    pub questions_enabled: Option<bool>,
    pub anonymous_questions: Option<bool>,
    pub questions_need_approval: Option<bool>,
    pub locked: Option<bool>,
    pub max_speakers: Option<i32>,
    pub recording: Option<bool>,
    pub replay_public: Option<bool>,
}

pub fn update_settings(
    conn: &mut PgConnection,
    room_id: i64,
    change: &SettingsChange,
) -> QueryResult<Room> {
    let empty = change.chat_enabled.is_none()
        && change.questions_enabled.is_none()
        && change.anonymous_questions.is_none()
        && change.questions_need_approval.is_none()
        && change.locked.is_none()
        && change.max_speakers.is_none()
        && change.recording.is_none()
        && change.replay_public.is_none();
    if !empty {
        diesel::update(rooms::table.find(room_id))
            .set(change)
            .execute(conn)?;
    }
    rooms::table
        .find(room_id)
        .select(Room::as_select())
        .first(conn)
}

pub fn find_by_id(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Room>> {
    rooms::table
        .find(id)
        .select(Room::as_select())
        .first(conn)
        .optional()
}

/// Follows the media: `live` while the presenter publishes, else `open`.
/// The first time a room goes live is when its session started.
pub fn set_live(conn: &mut PgConnection, room_id: i64, live: bool) -> QueryResult<Option<Room>> {
    let status = if live { "live" } else { "open" };
    let target = rooms::table.find(room_id).filter(rooms::status.ne("ended"));
    let now_if_unset = |column: &str| {
        diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>(&format!(
            "coalesce({column}, now())"
        ))
    };
    if live {
        diesel::update(target)
            .set((
                rooms::status.eq(status),
                rooms::started_at.eq(now_if_unset("started_at")),
                rooms::live_since.eq(now_if_unset("live_since")),
            ))
            .returning(Room::as_returning())
            .get_result(conn)
            .optional()
    } else {
        conn.transaction(|conn| {
            close_live_stretch(conn, room_id)?;
            diesel::update(target)
                .set(rooms::status.eq(status))
                .returning(Room::as_returning())
                .get_result(conn)
                .optional()
        })
    }
}

/// Media sessions live in memory only: after a restart no room is live.
/// A stretch cut short by a crash is not counted: when it ended is unknown.
pub fn reset_live(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::update(rooms::table.filter(rooms::live_since.is_not_null()))
        .set(rooms::live_since.eq(None::<DateTime<Utc>>))
        .execute(conn)?;
    diesel::update(rooms::table.filter(rooms::status.eq("live")))
        .set(rooms::status.eq("open"))
        .execute(conn)
}
