//! Chat messages.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{messages, participants};

/// A message with its author's name and role, as shown.
#[derive(Debug, Clone, Queryable)]
pub struct MessageRow {
    pub id: i64,
    pub participant_id: i64,
    pub name: String,
    pub role: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

type Columns = (
    messages::id,
    messages::participant_id,
    participants::name,
    participants::role,
    messages::body,
    messages::created_at,
);
const COLUMNS: Columns = (
    messages::id,
    messages::participant_id,
    participants::name,
    participants::role,
    messages::body,
    messages::created_at,
);

/// Stores a message. With a `client_id` already used by this participant,
/// returns the first message instead (`false`: nothing new was stored).
pub fn insert(
    conn: &mut PgConnection,
    room_id: i64,
    participant_id: i64,
    body: &str,
    client_id: Option<&str>,
) -> QueryResult<(MessageRow, bool)> {
    let inserted: Option<i64> = diesel::insert_into(messages::table)
        .values((
            messages::room_id.eq(room_id),
            messages::participant_id.eq(participant_id),
            messages::body.eq(body),
            messages::client_id.eq(client_id),
        ))
        .on_conflict((messages::participant_id, messages::client_id))
        .do_nothing()
        .returning(messages::id)
        .get_result(conn)
        .optional()?;
    let (id, created) = match inserted {
        Some(id) => (id, true),
        None => (
            messages::table
                .filter(messages::participant_id.eq(participant_id))
                .filter(messages::client_id.eq(client_id))
                .select(messages::id)
                .first(conn)?,
            false,
        ),
    };
    let row = messages::table
        .inner_join(participants::table)
        .filter(messages::id.eq(id))
        .select(COLUMNS)
        .first(conn)?;
    Ok((row, created))
}

/// A page of live messages, newest last, and whether older ones exist.
pub fn page(
    conn: &mut PgConnection,
    room_id: i64,
    limit: i64,
    before: Option<i64>,
) -> QueryResult<(Vec<MessageRow>, bool)> {
    let mut q = messages::table
        .inner_join(participants::table)
        .filter(messages::room_id.eq(room_id))
        .filter(messages::deleted_at.is_null())
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(messages::id.lt(before));
    }
    let mut rows: Vec<MessageRow> = q
        .order(messages::id.desc())
        .limit(limit + 1)
        .select(COLUMNS)
        .load(conn)?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    rows.reverse();
    Ok((rows, has_more))
}

/// Every live message of the room, oldest first (the chat export).
pub fn all_in_room(conn: &mut PgConnection, room_id: i64) -> QueryResult<Vec<MessageRow>> {
    messages::table
        .inner_join(participants::table)
        .filter(messages::room_id.eq(room_id))
        .filter(messages::deleted_at.is_null())
        .order(messages::id.asc())
        .select(COLUMNS)
        .load(conn)
}

pub fn find(conn: &mut PgConnection, room_id: i64, id: i64) -> QueryResult<Option<MessageRow>> {
    messages::table
        .inner_join(participants::table)
        .filter(messages::room_id.eq(room_id))
        .filter(messages::id.eq(id))
        .filter(messages::deleted_at.is_null())
        .select(COLUMNS)
        .first(conn)
        .optional()
}

/// Soft-deletes a message; `false` if there was no live message `id`.
pub fn delete(conn: &mut PgConnection, room_id: i64, id: i64) -> QueryResult<bool> {
    let n = diesel::update(
        messages::table
            .filter(messages::room_id.eq(room_id))
            .filter(messages::id.eq(id))
            .filter(messages::deleted_at.is_null()),
    )
    .set(messages::deleted_at.eq(Utc::now()))
    .execute(conn)?;
    Ok(n == 1)
}
