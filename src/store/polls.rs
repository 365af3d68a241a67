//! Polls and their votes. Counts are always computed from the vote rows,
//! so what is shown is what is stored. No query here returns who chose
//! what, except a participant's own choice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Int2, Int4};

use super::schema::{poll_votes, polls};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = polls)]
pub struct PollRow {
    pub id: i64,
    pub question: String,
    pub options: Vec<String>,
    pub multiple: bool,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A poll with its counts: votes per option and how many voted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollTally {
    pub row: PollRow,
    pub counts: Vec<i32>,
    pub voters: i32,
}

/// The room's polls, oldest first, with their counts.
pub fn all_in_room(conn: &mut PgConnection, room_id: i64) -> QueryResult<Vec<PollTally>> {
    let rows: Vec<PollRow> = polls::table
        .filter(polls::room_id.eq(room_id))
        .order(polls::id.asc())
        .select(PollRow::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut tallies = tallies(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (counts, voters) = tallies.remove(&row.id).unwrap_or_default();
            tally(row, counts, voters)
        })
        .collect())
}

fn tally(row: PollRow, by_index: HashMap<usize, i32>, voters: i32) -> PollTally {
    let counts = (0..row.options.len())
        .map(|i| by_index.get(&i).copied().unwrap_or(0))
        .collect();
    PollTally {
        row,
        counts,
        voters,
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    poll_id: i64,
    #[diesel(sql_type = Int4)]
    option: i32,
    #[diesel(sql_type = BigInt)]
    votes: i64,
}

/// A poll's votes per option index, and its voters.
type Counts = (HashMap<usize, i32>, i32);

/// Per poll: votes per option index, and voters (option -1 below).
fn tallies(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<HashMap<i64, Counts>> {
    let rows: Vec<Count> = diesel::sql_query(
        "SELECT poll_id, c::int AS option, count(*) AS votes
           FROM poll_votes, unnest(choice) AS c
          WHERE poll_id = ANY($1) GROUP BY poll_id, c
         UNION ALL
         SELECT poll_id, -1 AS option, count(*) AS votes
           FROM poll_votes WHERE poll_id = ANY($1) GROUP BY poll_id",
    )
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)?;
    let mut out: HashMap<i64, Counts> = HashMap::new();
    for r in rows {
        let entry = out.entry(r.poll_id).or_default();
        let n = i32::try_from(r.votes).unwrap_or(i32::MAX);
        match usize::try_from(r.option) {
            Ok(i) => {
                entry.0.insert(i, n);
            }
            Err(_) => entry.1 = n,
        }
    }
    Ok(out)
}

/// A participant's own choices, by poll.
pub fn choices_of(
    conn: &mut PgConnection,
    room_id: i64,
    participant_id: i64,
) -> QueryResult<HashMap<i64, Vec<i16>>> {
    Ok(poll_votes::table
        .inner_join(polls::table)
        .filter(polls::room_id.eq(room_id))
        .filter(poll_votes::participant_id.eq(participant_id))
        .select((poll_votes::poll_id, poll_votes::choice))
        .load::<(i64, Vec<i16>)>(conn)?
        .into_iter()
        .collect())
}

pub fn insert(
    conn: &mut PgConnection,
    room_id: i64,
    question: &str,
    options: &[String],
    multiple: bool,
) -> QueryResult<PollTally> {
    let row = diesel::insert_into(polls::table)
        .values((
            polls::room_id.eq(room_id),
            polls::question.eq(question),
            polls::options.eq(options),
            polls::multiple.eq(multiple),
        ))
        .returning(PollRow::as_returning())
        .get_result(conn)?;
    Ok(tally(row, HashMap::new(), 0))
}

/// Moves a poll to `status` (checked by the caller), stamping when it
/// opened or closed; `None` when the room has no such poll.
pub fn set_status(
    conn: &mut PgConnection,
    room_id: i64,
    id: i64,
    status: &str,
    at: DateTime<Utc>,
) -> QueryResult<Option<PollTally>> {
    let target = polls::table
        .filter(polls::id.eq(id))
        .filter(polls::room_id.eq(room_id));
    let row: Option<PollRow> = match status {
        "open" => diesel::update(target)
            .set((polls::status.eq(status), polls::opened_at.eq(at)))
            .returning(PollRow::as_returning())
            .get_result(conn)
            .optional()?,
        "closed" => diesel::update(target)
            .set((polls::status.eq(status), polls::closed_at.eq(at)))
            .returning(PollRow::as_returning())
            .get_result(conn)
            .optional()?,
        _ => target.select(PollRow::as_select()).first(conn).optional()?,
    };
    let Some(row) = row else { return Ok(None) };
    let (counts, voters) = tallies(conn, &[row.id])?
        .remove(&row.id)
        .unwrap_or_default();
    Ok(Some(tally(row, counts, voters)))
}

pub fn delete(conn: &mut PgConnection, room_id: i64, id: i64) -> QueryResult<bool> {
    let n = diesel::delete(
        polls::table
            .filter(polls::id.eq(id))
            .filter(polls::room_id.eq(room_id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// Stores a batch of votes in one transaction, each replacing that
/// participant's earlier choice; a vote for a poll that is not open (it
/// closed meanwhile) is not stored. Gives back whether each was stored
/// and the new counts of every poll the batch touched.
pub fn set_votes(
    conn: &mut PgConnection,
    room_id: i64,
    votes: &[(i64, i64, Vec<i16>)],
) -> QueryResult<(Vec<bool>, Vec<PollTally>)> {
    conn.transaction(|conn| {
        let mut stored = Vec::with_capacity(votes.len());
        for (poll, participant, choice) in votes {
            let n = diesel::sql_query(
                "INSERT INTO poll_votes (poll_id, participant_id, choice)
                 SELECT id, $2, $3 FROM polls
                  WHERE id = $1 AND room_id = $4 AND status = 'open'
                 ON CONFLICT (poll_id, participant_id) DO UPDATE SET choice = excluded.choice",
            )
            .bind::<BigInt, _>(poll)
            .bind::<BigInt, _>(participant)
            .bind::<Array<Int2>, _>(choice)
            .bind::<BigInt, _>(room_id)
            .execute(conn)?;
            stored.push(n > 0);
        }
        let mut ids: Vec<i64> = votes.iter().map(|v| v.0).collect();
        ids.sort_unstable();
        ids.dedup();
        let rows: Vec<PollRow> = polls::table
            .filter(polls::id.eq_any(&ids))
            .filter(polls::room_id.eq(room_id))
            .select(PollRow::as_select())
            .load(conn)?;
        let mut counts = tallies(conn, &ids)?;
        let tallies = rows
            .into_iter()
            .map(|row| {
                let (c, v) = counts.remove(&row.id).unwrap_or_default();
                tally(row, c, v)
            })
            .collect();
        Ok((stored, tallies))
    })
}

impl PollTally {
    /// The poll as everyone may read it.
    pub fn result(&self) -> crate::domain::stats::PollResult {
        use crate::domain::stats::{PollOption, PollResult};
        let status = match self.row.status.as_str() {
            "open" => "open",
            "closed" => "closed",
            _ => "draft",
        };
        PollResult {
            id: self.row.id,
            question: self.row.question.clone(),
            options: self
                .row
                .options
                .iter()
                .zip(&self.counts)
                .map(|(text, votes)| PollOption {
                    text: text.clone(),
                    votes: *votes,
                })
                .collect(),
            multiple: self.row.multiple,
            status: status.to_owned(),
            total_voters: self.voters,
            created_at: self.row.created_at,
            opened_at: self.row.opened_at,
            closed_at: self.row.closed_at,
        }
    }

    pub fn status(&self) -> crate::domain::polls::PollStatus {
        self.row
            .status
            .parse()
            .unwrap_or(crate::domain::polls::PollStatus::Draft)
    }
}
