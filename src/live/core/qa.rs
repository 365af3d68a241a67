//! Questions: ask, promote from chat, moderate, and votes written in
//! batches (group commit) with their counts broadcast at most once per
//! flush.

use super::{
    forbidden, At, Audience, Done, Member, Pending, PendingVote, ReplyId, RoomCore, RoomError,
    Write, Written,
};
use crate::domain::qa::{ClientId, QuestionBody, QuestionFacts};
use crate::live::act::QuestionEdit;
use crate::live::protocol::ServerFrame;
use crate::live::views::{facts, QuestionView, VoteView};
use crate::store::questions::QuestionChange;
use crate::store::StoreError;

/// `question.updated` for one question, `questions.updated` for several.
fn questions_frame(mut list: Vec<QuestionView>) -> Option<ServerFrame> {
    match list.len() {
        0 => None,
        1 => list
            .pop()
            .map(|question| ServerFrame::QuestionUpdated { question }),
        _ => Some(ServerFrame::QuestionsUpdated { questions: list }),
    }
}

impl RoomCore {
    pub(super) fn ask(
        &mut self,
        member: &Member,
        body: QuestionBody,
        anonymous: bool,
        client_id: Option<ClientId>,
        reply: ReplyId,
    ) {
        let staff = member.staff();
        if !self.room.questions_enabled && !staff {
            return self.reply(
                reply,
                Err(forbidden("Questions are turned off in this room.")),
            );
        }
        if anonymous && !self.room.anonymous_questions {
            let why = forbidden("Anonymous questions are turned off in this room.");
            return self.reply(reply, Err(why));
        }
        self.write(
            Write::InsertQuestion {
                participant: member.participant_id,
                body: body.into_inner(),
                anonymous,
                approved: !self.room.questions_need_approval || staff,
                client_id: client_id.map(ClientId::into_inner),
                source_message_id: None,
            },
            Pending::Question { reply },
        );
    }

    pub(super) fn promote(&mut self, message_id: i64, reply: ReplyId) {
        self.write(
            Write::FindMessage { id: message_id },
            Pending::Promote { reply },
        );
    }

    /// A chat message becomes a question credited to its author, once
    /// however often it is promoted.
    pub(super) fn promote_found(&mut self, reply: ReplyId, result: Result<Written, StoreError>) {
        let message = match result {
            Ok(Written::Found(Some(m))) => m,
            Ok(Written::Found(None)) => {
                return self.reply(reply, Err(RoomError::NotFound("No such message.")))
            }
            Ok(_) => return self.unexpected(reply, "promote"),
            Err(e) => return self.reply(reply, Err(e.into())),
        };
        let body = match QuestionBody::parse(&message.body) {
            Ok(body) => body,
            Err(e) => return self.reply(reply, Err(RoomError::InvalidInput(e.to_string()))),
        };
        self.write(
            Write::InsertQuestion {
                participant: message.participant_id,
                body: body.into_inner(),
                anonymous: false,
                approved: true,
                client_id: Some(format!("promoted:{}", message.id)),
                source_message_id: Some(message.id),
            },
            Pending::Question { reply },
        );
    }

    /// A new (or retried) question is stored: those who may see it hear.
    pub(super) fn question_written(&mut self, reply: ReplyId, result: Result<Written, StoreError>) {
        match result {
            Ok(Written::Question {
                row,
                created,
                voted,
            }) => {
                let view = QuestionView::new(&row, Some(voted));
                if created {
                    self.deliver(
                        Audience::Sees(facts(&row)),
                        ServerFrame::QuestionCreated {
                            question: QuestionView::new(&row, None),
                        },
                    );
                    self.questions.insert(row.id, row);
                }
                self.reply(reply, Ok(Done::Question(view)));
            }
            Ok(_) => self.unexpected(reply, "question"),
            Err(e) => self.reply(reply, Err(e.into())),
        }
    }

    pub(super) fn update_question(
        &mut self,
        at: At,
        member: &Member,
        id: i64,
        edit: QuestionEdit,
        reply: ReplyId,
    ) {
        let Some(before) = self.questions.get(&id).map(facts) else {
            return self.reply(reply, Err(RoomError::NotFound("No such question.")));
        };
        let change = question_change(edit, before.answered, at);
        self.write(
            Write::UpdateQuestion {
                id,
                change,
                viewer: member.participant_id,
            },
            Pending::Update { reply, before },
        );
    }

    /// Each receiver hears what the change means to them: the question
    /// changed, appeared (approved, unhidden) or went (hidden).
    pub(super) fn question_updated(
        &mut self,
        reply: ReplyId,
        before: QuestionFacts,
        result: Result<Written, StoreError>,
    ) {
        let (row, voted) = match result {
            Ok(Written::Question { row, voted, .. }) => (row, voted),
            Ok(_) => return self.unexpected(reply, "question update"),
            Err(e) => return self.reply(reply, Err(e.into())),
        };
        let after = facts(&row);
        let shown = QuestionView::new(&row, None);
        self.deliver(
            Audience::Kept { before, after },
            ServerFrame::QuestionUpdated {
                question: shown.clone(),
            },
        );
        self.deliver(
            Audience::Gained { before, after },
            ServerFrame::QuestionCreated { question: shown },
        );
        self.deliver(
            Audience::Lost { before, after },
            ServerFrame::QuestionRemoved { id: row.id },
        );
        self.dirty_questions.remove(&row.id);
        let view = QuestionView::new(&row, Some(voted));
        self.questions.insert(row.id, row);
        self.reply(reply, Ok(Done::Question(view)));
    }

    // ---- votes --------------------------------------------------------

    pub(super) fn vote(&mut self, member: &Member, id: i64, on: bool, reply: ReplyId) {
        let pid = member.participant_id;
        let visible = self
            .questions
            .get(&id)
            .is_some_and(|q| facts(q).visible_to(pid, member.role));
        if !visible {
            return self.reply(reply, Err(RoomError::NotFound("No such question.")));
        }
        self.votes_waiting.push(PendingVote {
            question: id,
            participant: pid,
            on,
            reply,
        });
        self.start_votes();
    }

    /// Writes the waiting votes unless a write is under way (its end
    /// starts the next).
    fn start_votes(&mut self) {
        if self.votes_writing.is_some() || self.votes_waiting.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.votes_waiting);
        let ops = batch
            .iter()
            .map(|v| (v.question, v.participant, v.on))
            .collect();
        self.votes_writing = Some(batch);
        self.write(Write::Votes { ops }, Pending::Votes);
    }

    pub(super) fn votes_busy(&self) -> bool {
        self.votes_writing.is_some() || !self.votes_waiting.is_empty()
    }

    /// Answers each vote of a written batch: its exact count once stored,
    /// or why not (nothing of a failed batch was stored).
    pub(super) fn votes_written(&mut self, at: At, result: Result<Written, StoreError>) {
        let batch = self.votes_writing.take().unwrap_or_default();
        match result {
            Ok(Written::Votes(counts)) => {
                for (v, votes) in batch.into_iter().zip(counts) {
                    if let Some(q) = self.questions.get_mut(&v.question) {
                        if q.votes != votes {
                            q.votes = votes;
                            self.dirty_questions.insert(v.question);
                        }
                    }
                    let view = VoteView {
                        id: v.question,
                        votes,
                        voted_by_me: v.on,
                    };
                    self.reply(v.reply, Ok(Done::Vote(view)));
                }
            }
            other => {
                let err = match other {
                    Err(e) => RoomError::from(e),
                    Ok(_) => RoomError::Internal("unexpected result for votes".into()),
                };
                for v in batch {
                    self.reply(v.reply, Err(err.clone()));
                }
            }
        }
        self.start_votes();
        if !self.batches_busy() {
            self.batches_settled(at);
        }
    }

    /// What waited for the batches goes on.
    pub(super) fn batches_settled(&mut self, at: At) {
        for (member, act, reply) in std::mem::take(&mut self.after_votes) {
            self.act(at, member, act, reply);
        }
        if self.shutting_down {
            self.settle_then_shut_down();
        }
    }

    /// Changed vote counts, one frame per receiver per flush: staff get
    /// every changed question, others those everyone may see, and the
    /// author of a question still awaiting approval gets it on its own.
    pub(super) fn flush_questions(&mut self) {
        let dirty: Vec<(QuestionFacts, QuestionView)> = std::mem::take(&mut self.dirty_questions)
            .iter()
            .filter_map(|id| self.questions.get(id))
            .map(|q| (facts(q), QuestionView::new(q, None)))
            .collect();
        if let Some(all) = questions_frame(dirty.iter().map(|(_, v)| v.clone()).collect()) {
            self.deliver(Audience::Staff, all);
        }
        let public = dirty
            .iter()
            .filter(|(f, _)| f.visible_to_all())
            .map(|(_, v)| v.clone())
            .collect();
        if let Some(frame) = questions_frame(public) {
            self.deliver(Audience::NotStaff, frame);
        }
        // A question not everyone sees (awaiting approval): its author.
        for (f, v) in dirty.into_iter().filter(|(f, _)| !f.visible_to_all()) {
            if let Some(frame) = questions_frame(vec![v]) {
                self.deliver(Audience::NotStaffSeeing(f), frame);
            }
        }
    }
}

fn question_change(edit: QuestionEdit, was_answered: bool, at: At) -> QuestionChange {
    let mut change = QuestionChange {
        pinned: edit.pinned,
        hidden: edit.hidden,
        approved: edit.approved,
        answered: edit.answered,
        ..Default::default()
    };
    if let Some(answer) = edit.answer {
        let answer = answer.into_inner();
        if answer.is_empty() {
            change.answer = Some(None);
        } else {
            change.answer = Some(Some(answer));
            // Writing an answer answers the question, unless told otherwise.
            change.answered = change.answered.or(Some(true));
        }
    }
    match change.answered {
        Some(true) if !was_answered => change.answered_at = Some(Some(at.wall)),
        Some(false) => change.answered_at = Some(None),
        _ => {}
    }
    change
}
