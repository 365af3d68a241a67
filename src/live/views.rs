//! JSON of chat messages and questions, shared by broadcasts and REST.

use serde_json::{json, Value};

use crate::domain::qa::QuestionFacts;
use crate::store::messages::MessageRow;
use crate::store::questions::QuestionRow;

pub fn message(m: &MessageRow) -> Value {
    json!({
        "id": m.id,
        "participant_id": m.participant_id,
        "name": m.name,
        "role": m.role,
        "body": m.body,
        "created_at": m.created_at,
    })
}

pub fn facts(q: &QuestionRow) -> QuestionFacts {
    QuestionFacts {
        id: q.id,
        author_id: q.participant_id,
        votes: q.votes,
        pinned: q.pinned,
        hidden: q.hidden,
        approved: q.approved,
        answered: q.answered,
    }
}

/// A question as shown. An anonymous author's name is shown to nobody, not
/// even moderators. `voted_by_me` is left out of broadcasts (one payload
/// serves every receiver) and filled in for REST and snapshots.
pub fn question(q: &QuestionRow, voted_by_me: Option<bool>) -> Value {
    let mut v = json!({
        "id": q.id,
        "body": q.body,
        "author_name": if q.anonymous { None } else { Some(&q.author_name) },
        "anonymous": q.anonymous,
        "votes": q.votes,
        "pinned": q.pinned,
        "hidden": q.hidden,
        "answered": q.answered,
        "answer": q.answer,
        "status": facts(q).status().as_str(),
        "created_at": q.created_at,
        "answered_at": q.answered_at,
        "source_message_id": q.source_message_id,
    });
    if let Some(mine) = voted_by_me {
        v["voted_by_me"] = Value::Bool(mine);
    }
    v
}
