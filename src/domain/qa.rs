//! Chat and Q&A rules: text limits, who sees which question, and the order
//! of the "top" list.

use std::cmp::Reverse;

use serde::{Deserialize, Serialize};

use super::role::Role;
use super::text::{bounded, Lines, TextError};

/// A chat message body, 1..=2000 characters; line breaks allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChatBody(String);

impl ChatBody {
    pub fn parse(input: &str) -> Result<Self, TextError> {
        bounded("message", input, 1, 2000, Lines::Multi).map(Self)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A question, 1..=1000 characters; line breaks allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QuestionBody(String);

impl QuestionBody {
    pub fn parse(input: &str) -> Result<Self, TextError> {
        bounded("question", input, 1, 1000, Lines::Multi).map(Self)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A moderator's written answer, 0..=5000 characters (empty clears it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AnswerText(String);

impl AnswerText {
    pub fn parse(input: &str) -> Result<Self, TextError> {
        bounded("answer", input, 0, 5000, Lines::Multi).map(Self)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The client's idempotency key for a send: 1..=64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(input: &str) -> Result<Self, TextError> {
        bounded("client_id", input, 1, 64, Lines::Single).map(Self)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

super::text::read_back!(ChatBody, QuestionBody, AnswerText, ClientId);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionStatus {
    /// Waiting for a moderator's approval: seen by its author and moderators.
    Pending,
    Open,
    Answered,
}

impl QuestionStatus {
    pub const ALL: [QuestionStatus; 3] = [
        QuestionStatus::Pending,
        QuestionStatus::Open,
        QuestionStatus::Answered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QuestionStatus::Pending => "pending",
            QuestionStatus::Open => "open",
            QuestionStatus::Answered => "answered",
        }
    }
}

/// The facts about a question that visibility and ordering depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuestionFacts {
    pub id: i64,
    pub author_id: i64,
    pub votes: i32,
    pub pinned: bool,
    pub hidden: bool,
    pub approved: bool,
    pub answered: bool,
}

impl QuestionFacts {
    pub fn status(&self) -> QuestionStatus {
        if !self.approved {
            QuestionStatus::Pending
        } else if self.answered {
            QuestionStatus::Answered
        } else {
            QuestionStatus::Open
        }
    }

    /// Moderators see everything; others never see hidden questions, and see
    /// pending ones only when they asked them.
    pub fn visible_to(&self, viewer_id: i64, role: Role) -> bool {
        if role.is_moderator_or_above() {
            return true;
        }
        self.visible_to_all() || (!self.hidden && self.author_id == viewer_id)
    }

    /// Seen by every participant, attendees included.
    pub fn visible_to_all(&self) -> bool {
        !self.hidden && self.approved
    }

    /// Sort key of the `top` order: pinned first, open before answered,
    /// then most votes, then oldest (ids grow with time).
    pub fn top_key(&self) -> impl Ord {
        (!self.pinned, self.answered, Reverse(self.votes), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: i64, votes: i32) -> QuestionFacts {
        QuestionFacts {
            id,
            author_id: 100,
            votes,
            pinned: false,
            hidden: false,
            approved: true,
            answered: false,
        }
    }

    #[test]
    fn top_order_pinned_then_open_by_votes_then_oldest_then_answered() {
        let mut qs = [
            QuestionFacts {
                answered: true,
                ..q(1, 50)
            },
            q(2, 3),
            q(3, 7),
            q(4, 7),
            QuestionFacts {
                pinned: true,
                ..q(5, 0)
            },
        ];
        qs.sort_by_key(|x| x.top_key());
        let ids: Vec<i64> = qs.iter().map(|x| x.id).collect();
        assert_eq!(ids, [5, 3, 4, 2, 1]);
    }

    #[test]
    fn visibility_by_role_and_authorship() {
        let hidden = QuestionFacts {
            hidden: true,
            ..q(1, 0)
        };
        let pending = QuestionFacts {
            approved: false,
            ..q(2, 0)
        };
        assert!(!hidden.visible_to(7, Role::Attendee));
        assert!(
            !hidden.visible_to(100, Role::Attendee),
            "hidden even from its author"
        );
        assert!(hidden.visible_to(7, Role::Moderator));
        assert!(!pending.visible_to(7, Role::Attendee));
        assert!(
            pending.visible_to(100, Role::Attendee),
            "authors see their pending question"
        );
        assert!(pending.visible_to(7, Role::Presenter));
        assert_eq!(pending.status(), QuestionStatus::Pending);
    }

    #[test]
    fn text_limits() {
        assert!(ChatBody::parse(&"c".repeat(2000)).is_ok());
        assert!(ChatBody::parse(&"c".repeat(2001)).is_err());
        assert!(ChatBody::parse("line one\nline two").is_ok());
        assert!(QuestionBody::parse(&"q".repeat(1001)).is_err());
        assert_eq!(AnswerText::parse("").unwrap().into_inner(), "");
        assert!(AnswerText::parse(&"a".repeat(5001)).is_err());
        assert!(ClientId::parse(&"i".repeat(65)).is_err());
        assert!(ClientId::parse("").is_err());
    }
}
