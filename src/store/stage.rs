//! The stage as stored: raised hands and invitations stamped on the
//! participant, speakers by role.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::models::Participant;
use super::schema::participants;
use crate::domain::Role;

/// A raised hand: who and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandRow {
    pub participant_id: i64,
    pub name: String,
    pub raised_at: DateTime<Utc>,
}

/// The room's raised hands, oldest first.
pub fn hands(conn: &mut PgConnection, room_id: i64) -> QueryResult<Vec<HandRow>> {
    Ok(participants::table
        .filter(participants::room_id.eq(room_id))
        .filter(participants::kicked_at.is_null())
        .filter(participants::hand_raised_at.is_not_null())
        .order((participants::hand_raised_at.asc(), participants::id.asc()))
        .select((
            participants::id,
            participants::name,
            participants::hand_raised_at,
        ))
        .load::<(i64, String, Option<DateTime<Utc>>)>(conn)?
        .into_iter()
        .filter_map(|(participant_id, name, at)| {
            at.map(|raised_at| HandRow {
                participant_id,
                name,
                raised_at,
            })
        })
        .collect())
}

/// Raises (`Some`) or lowers (`None`) an attendee's hand; whether the
/// participant is one.
pub fn set_hand(
    conn: &mut PgConnection,
    room_id: i64,
    participant: i64,
    at: Option<DateTime<Utc>>,
) -> QueryResult<bool> {
    let n = diesel::update(
        participants::table
            .filter(participants::id.eq(participant))
            .filter(participants::room_id.eq(room_id)),
    )
    .set(participants::hand_raised_at.eq(at))
    .execute(conn)?;
    Ok(n > 0)
}

/// Invitations not yet answered.
pub fn invited(conn: &mut PgConnection, room_id: i64) -> QueryResult<Vec<i64>> {
    participants::table
        .filter(participants::room_id.eq(room_id))
        .filter(participants::kicked_at.is_null())
        .filter(participants::invited_at.is_not_null())
        .filter(participants::role.eq(Role::Attendee.as_str()))
        .select(participants::id)
        .load(conn)
}

/// Invites an attendee of the room who is still in it; `None` when there
/// is no such attendee.
pub fn invite(
    conn: &mut PgConnection,
    room_id: i64,
    participant: i64,
    at: DateTime<Utc>,
) -> QueryResult<Option<Participant>> {
    diesel::update(
        participants::table
            .filter(participants::id.eq(participant))
            .filter(participants::room_id.eq(room_id))
            .filter(participants::role.eq(Role::Attendee.as_str()))
            .filter(participants::kicked_at.is_null()),
    )
    .set(participants::invited_at.eq(at))
    .returning(Participant::as_returning())
    .get_result(conn)
    .optional()
}

/// An invitation declined (or withdrawn).
pub fn uninvite(conn: &mut PgConnection, room_id: i64, participant: i64) -> QueryResult<bool> {
    let n = diesel::update(
        participants::table
            .filter(participants::id.eq(participant))
            .filter(participants::room_id.eq(room_id)),
    )
    .set(participants::invited_at.eq(None::<DateTime<Utc>>))
    .execute(conn)?;
    Ok(n > 0)
}

/// An invited attendee accepts: a speaker, the invitation and the hand
/// gone; `None` unless invited and still in the room.
pub fn make_speaker(
    conn: &mut PgConnection,
    room_id: i64,
    participant: i64,
) -> QueryResult<Option<Participant>> {
    diesel::update(
        participants::table
            .filter(participants::id.eq(participant))
            .filter(participants::room_id.eq(room_id))
            .filter(participants::role.eq(Role::Attendee.as_str()))
            .filter(participants::invited_at.is_not_null())
            .filter(participants::kicked_at.is_null()),
    )
    .set((
        participants::role.eq(Role::Speaker.as_str()),
        participants::invited_at.eq(None::<DateTime<Utc>>),
        participants::hand_raised_at.eq(None::<DateTime<Utc>>),
    ))
    .returning(Participant::as_returning())
    .get_result(conn)
    .optional()
}

/// A speaker off stage: an attendee again; `None` when not a speaker.
pub fn make_attendee(
    conn: &mut PgConnection,
    room_id: i64,
    participant: i64,
) -> QueryResult<Option<Participant>> {
    diesel::update(
        participants::table
            .filter(participants::id.eq(participant))
            .filter(participants::room_id.eq(room_id))
            .filter(participants::role.eq(Role::Speaker.as_str())),
    )
    .set(participants::role.eq(Role::Attendee.as_str()))
    .returning(Participant::as_returning())
    .get_result(conn)
    .optional()
}

/// The room's speakers, in order of joining.
pub fn speakers(conn: &mut PgConnection, room_id: i64) -> QueryResult<Vec<Participant>> {
    participants::table
        .filter(participants::room_id.eq(room_id))
        .filter(participants::role.eq(Role::Speaker.as_str()))
        .filter(participants::kicked_at.is_null())
        .order(participants::id.asc())
        .select(Participant::as_select())
        .load(conn)
}

/// What a starting room needs of its stage.
#[derive(Debug, Clone, Default)]
pub struct Lineup {
    /// The first presenter to have joined, if any.
    pub presenter: Option<Participant>,
    pub speakers: Vec<Participant>,
    pub hands: Vec<HandRow>,
    pub invited: Vec<i64>,
}

pub fn lineup(conn: &mut PgConnection, room_id: i64) -> QueryResult<Lineup> {
    let presenter = participants::table
        .filter(participants::room_id.eq(room_id))
        .filter(participants::role.eq(Role::Presenter.as_str()))
        .order(participants::id.asc())
        .select(Participant::as_select())
        .first(conn)
        .optional()?;
    Ok(Lineup {
        presenter,
        speakers: speakers(conn, room_id)?,
        hands: hands(conn, room_id)?,
        invited: invited(conn, room_id)?,
    })
}
