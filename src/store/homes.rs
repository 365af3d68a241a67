//! Room homes: which node runs each active room's core. A node holds a
//! room for as long as it renews before `expires_at`; an expired or
//! released room goes to the first node that asks for it.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};

#[derive(QueryableByName)]
struct Holder {
    #[diesel(sql_type = Text)]
    node_id: String,
}

/// Takes the room for `node` unless another node holds a live lease;
/// gives the node that holds it now (`node` itself when taken).
pub fn acquire(
    conn: &mut PgConnection,
    room: i64,
    node: &str,
    ttl_secs: f64,
) -> QueryResult<String> {
    let taken: Option<Holder> = diesel::sql_query(
        "INSERT INTO room_homes (room_id, node_id, expires_at) \
         VALUES ($1, $2, now() + make_interval(secs => $3)) \
         ON CONFLICT (room_id) DO UPDATE SET node_id = EXCLUDED.node_id, \
         expires_at = EXCLUDED.expires_at \
         WHERE room_homes.node_id = EXCLUDED.node_id OR room_homes.expires_at < now() \
         RETURNING node_id",
    )
    .bind::<BigInt, _>(room)
    .bind::<Text, _>(node)
    .bind::<Double, _>(ttl_secs)
    .get_result(conn)
    .optional()?;
    if let Some(h) = taken {
        return Ok(h.node_id);
    }
    let holder: Holder = diesel::sql_query("SELECT node_id FROM room_homes WHERE room_id = $1")
        .bind::<BigInt, _>(room)
        .get_result(conn)?;
    Ok(holder.node_id)
}

/// The node holding a live lease on the room, if any (takes nothing).
pub fn holder(conn: &mut PgConnection, room: i64) -> QueryResult<Option<String>> {
    let holder: Option<Holder> = diesel::sql_query(
        "SELECT node_id FROM room_homes WHERE room_id = $1 AND expires_at > now()",
    )
    .bind::<BigInt, _>(room)
    .get_result(conn)
    .optional()?;
    Ok(holder.map(|h| h.node_id))
}

/// Extends `node`'s lease; false when it no longer holds the room.
pub fn renew(conn: &mut PgConnection, room: i64, node: &str, ttl_secs: f64) -> QueryResult<bool> {
    let n = diesel::sql_query(
        "UPDATE room_homes SET expires_at = now() + make_interval(secs => $3) \
         WHERE room_id = $1 AND node_id = $2",
    )
    .bind::<BigInt, _>(room)
    .bind::<Text, _>(node)
    .bind::<Double, _>(ttl_secs)
    .execute(conn)?;
    Ok(n == 1)
}

/// Lets the room go, if `node` holds it.
pub fn release(conn: &mut PgConnection, room: i64, node: &str) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM room_homes WHERE room_id = $1 AND node_id = $2")
        .bind::<BigInt, _>(room)
        .bind::<Text, _>(node)
        .execute(conn)?;
    Ok(())
}

/// Rooms each node is home to now (live leases only).
pub fn count_by_node(conn: &mut PgConnection) -> QueryResult<Vec<(String, i64)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        node_id: String,
        #[diesel(sql_type = BigInt)]
        rooms: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT node_id, count(*) AS rooms FROM room_homes WHERE expires_at > now() \
         GROUP BY node_id ORDER BY node_id",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.node_id, r.rooms)).collect())
}
