//! Reactions, counted per room, minute and emoji: never who sent them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::reaction_counts;

/// Adds a batch's counts to its minute, in one transaction.
pub fn add(
    conn: &mut PgConnection,
    room_id: i64,
    minute: DateTime<Utc>,
    counts: &[(String, i64)],
) -> QueryResult<()> {
    conn.transaction(|conn| {
        for (emoji, n) in counts {
            diesel::insert_into(reaction_counts::table)
                .values((
                    reaction_counts::room_id.eq(room_id),
                    reaction_counts::minute.eq(minute),
                    reaction_counts::emoji.eq(emoji),
                    reaction_counts::count.eq(n),
                ))
                .on_conflict((
                    reaction_counts::room_id,
                    reaction_counts::minute,
                    reaction_counts::emoji,
                ))
                .do_update()
                .set(reaction_counts::count.eq(reaction_counts::count + n))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// A minute and its counts by emoji.
pub type Minute = (DateTime<Utc>, BTreeMap<String, i64>);

/// The room's reactions by minute, oldest first.
pub fn timeline(conn: &mut PgConnection, room_id: i64) -> QueryResult<Vec<Minute>> {
    let rows: Vec<(DateTime<Utc>, String, i64)> = reaction_counts::table
        .filter(reaction_counts::room_id.eq(room_id))
        .order((reaction_counts::minute.asc(), reaction_counts::emoji.asc()))
        .select((
            reaction_counts::minute,
            reaction_counts::emoji,
            reaction_counts::count,
        ))
        .load(conn)?;
    let mut out: Vec<Minute> = Vec::new();
    for (minute, emoji, n) in rows {
        match out.last_mut() {
            Some((m, counts)) if *m == minute => {
                counts.insert(emoji, n);
            }
            _ => out.push((minute, BTreeMap::from([(emoji, n)]))),
        }
    }
    Ok(out)
}
