//! Questions and their votes. A question's `votes` column moves with its
//! `question_votes` rows in one transaction, so the two always agree.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{participants, question_votes, questions, room_stats};

#[derive(Debug, Clone, Queryable)]
pub struct QuestionRow {
    pub id: i64,
    pub participant_id: i64,
    pub author_name: String,
    pub body: String,
    pub anonymous: bool,
    pub votes: i32,
    pub pinned: bool,
    pub hidden: bool,
    pub approved: bool,
    pub answered: bool,
    pub answer: Option<String>,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    /// The chat message it was promoted from, if any.
    pub source_message_id: Option<i64>,
}

type Columns = (
    questions::id,
    questions::participant_id,
    participants::name,
    questions::body,
    questions::anonymous,
    questions::votes,
    questions::pinned,
    questions::hidden,
    questions::approved,
    questions::answered,
    questions::answer,
    questions::created_at,
    questions::answered_at,
    questions::source_message_id,
);
const COLUMNS: Columns = (
    questions::id,
    questions::participant_id,
    participants::name,
    questions::body,
    questions::anonymous,
    questions::votes,
    questions::pinned,
    questions::hidden,
    questions::approved,
    questions::answered,
    questions::answer,
    questions::created_at,
    questions::answered_at,
    questions::source_message_id,
);

pub fn all_in_room(conn: &mut PgConnection, room_id: i64) -> QueryResult<Vec<QuestionRow>> {
    questions::table
        .inner_join(participants::table)
        .filter(questions::room_id.eq(room_id))
        .order(questions::id.asc())
        .select(COLUMNS)
        .load(conn)
}

pub fn get(conn: &mut PgConnection, id: i64) -> QueryResult<QuestionRow> {
    questions::table
        .inner_join(participants::table)
        .filter(questions::id.eq(id))
        .select(COLUMNS)
        .first(conn)
}

pub struct NewQuestion<'a> {
    pub room_id: i64,
    pub participant_id: i64,
    pub body: &'a str,
    pub anonymous: bool,
    pub approved: bool,
    pub client_id: Option<&'a str>,
    pub source_message_id: Option<i64>,
}

/// Stores a question; a repeated `client_id` returns the first one (`false`).
pub fn insert(conn: &mut PgConnection, new: &NewQuestion) -> QueryResult<(QuestionRow, bool)> {
    let inserted: Option<i64> = diesel::insert_into(questions::table)
        .values((
            questions::room_id.eq(new.room_id),
            questions::participant_id.eq(new.participant_id),
            questions::body.eq(new.body),
            questions::anonymous.eq(new.anonymous),
            questions::approved.eq(new.approved),
            questions::client_id.eq(new.client_id),
            questions::source_message_id.eq(new.source_message_id),
        ))
        .on_conflict((questions::participant_id, questions::client_id))
        .do_nothing()
        .returning(questions::id)
        .get_result(conn)
        .optional()?;
    match inserted {
        Some(id) => Ok((get(conn, id)?, true)),
        None => {
            let id = questions::table
                .filter(questions::participant_id.eq(new.participant_id))
                .filter(questions::client_id.eq(new.client_id))
                .select(questions::id)
                .first(conn)?;
            Ok((get(conn, id)?, false))
        }
    }
}

/// Adds or removes votes `(question, participant, on)` in order, all in one
/// transaction (one commit for a burst of votes); returns each vote's count
/// right after it.
pub fn set_votes(
    conn: &mut PgConnection,
    room_id: i64,
    votes: &[(i64, i64, bool)],
) -> QueryResult<Vec<i32>> {
    conn.transaction(|conn| {
        votes
            .iter()
            .map(|&(question_id, participant_id, on)| {
                apply_vote(conn, room_id, question_id, participant_id, on)
            })
            .collect()
    })
}

fn apply_vote(
    conn: &mut PgConnection,
    room_id: i64,
    question_id: i64,
    participant_id: i64,
    on: bool,
) -> QueryResult<i32> {
    let changed = if on {
        diesel::insert_into(question_votes::table)
            .values((
                question_votes::question_id.eq(question_id),
                question_votes::participant_id.eq(participant_id),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?
    } else {
        diesel::delete(
            question_votes::table
                .filter(question_votes::question_id.eq(question_id))
                .filter(question_votes::participant_id.eq(participant_id)),
        )
        .execute(conn)?
    };
    if changed == 0 {
        return questions::table
            .find(question_id)
            .select(questions::votes)
            .first(conn);
    }
    let delta = if on { 1 } else { -1 };
    if on {
        diesel::update(room_stats::table.find(room_id))
            .set(room_stats::votes_cast.eq(room_stats::votes_cast + 1))
            .execute(conn)?;
    }
    diesel::update(questions::table.find(question_id))
        .set(questions::votes.eq(questions::votes + delta))
        .returning(questions::votes)
        .get_result(conn)
}

pub fn voted_by(
    conn: &mut PgConnection,
    room_id: i64,
    participant_id: i64,
) -> QueryResult<HashSet<i64>> {
    Ok(question_votes::table
        .inner_join(questions::table)
        .filter(questions::room_id.eq(room_id))
        .filter(question_votes::participant_id.eq(participant_id))
        .select(question_votes::question_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect())
}

#[derive(Debug, Default, Clone, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = questions)]
pub struct QuestionChange {
    pub pinned: Option<bool>,
    pub hidden: Option<bool>,
    pub approved: Option<bool>,
    pub answered: Option<bool>,
    pub answer: Option<Option<String>>,
    pub answered_at: Option<Option<DateTime<Utc>>>,
}

pub fn update(
    conn: &mut PgConnection,
    id: i64,
    change: &QuestionChange,
) -> QueryResult<QuestionRow> {
    let empty = change.pinned.is_none()
        && change.hidden.is_none()
        && change.approved.is_none()
        && change.answered.is_none()
        && change.answer.is_none()
        && change.answered_at.is_none();
    // Diesel refuses an UPDATE with nothing to set; an empty patch is a no-op.
    if !empty {
        diesel::update(questions::table.find(id))
            .set(change)
            .execute(conn)?;
    }
    get(conn, id)
}
