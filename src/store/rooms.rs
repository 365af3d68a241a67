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
    diesel::update(rooms::table.find(room_id).filter(rooms::status.ne("ended")))
        .set((rooms::status.eq("ended"), rooms::ended_at.eq(now)))
        .returning(Room::as_returning())
        .get_result(conn)
        .optional()
}

#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = rooms)]
pub struct SettingsChange {
    pub chat_enabled: Option<bool>,
    pub questions_enabled: Option<bool>,
    pub anonymous_questions: Option<bool>,
    pub questions_need_approval: Option<bool>,
}

pub fn update_settings(
    conn: &mut PgConnection,
    room_id: i64,
    change: &SettingsChange,
) -> QueryResult<Room> {
    let empty = change.chat_enabled.is_none()
        && change.questions_enabled.is_none()
        && change.anonymous_questions.is_none()
        && change.questions_need_approval.is_none();
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
    if live {
        diesel::update(target)
            .set((
                rooms::status.eq(status),
                rooms::started_at.eq(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                >("coalesce(started_at, now())")),
            ))
            .returning(Room::as_returning())
            .get_result(conn)
            .optional()
    } else {
        diesel::update(target)
            .set(rooms::status.eq(status))
            .returning(Room::as_returning())
            .get_result(conn)
            .optional()
    }
}

/// Media sessions live in memory only: after a restart no room is live.
pub fn reset_live(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::update(rooms::table.filter(rooms::status.eq("live")))
        .set(rooms::status.eq("open"))
        .execute(conn)
}
