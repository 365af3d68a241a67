//! Polls: drafts for staff, opened and closed once, votes written in
//! batches like question votes, with changed counts broadcast at most
//! once per flush. Nobody is ever sent who chose what.

use std::collections::HashMap;
use std::time::Duration;

use super::{
    At, Audience, Done, Member, Pending, PendingPollVote, ReplyId, RoomCore, RoomError, Write,
    Written,
};
use crate::domain::polls::{self, PollOptions, PollQuestion, PollStatus};
use crate::live::protocol::ServerFrame;
use crate::live::views::PollView;
use crate::store::polls::PollTally;
use crate::store::StoreError;

/// The least time between two frames of poll counts.
pub const POLL_FRAMES_EVERY: Duration = Duration::from_millis(100);

/// Who may see a poll: everyone once it has opened, staff while a draft.
fn audience(status: PollStatus) -> Audience {
    match status {
        PollStatus::Draft => Audience::Staff,
        _ => Audience::All,
    }
}

fn not_open() -> RoomError {
    RoomError::Conflict("poll_not_open", "This poll is not open for votes.".into())
}

impl RoomCore {
    /// The polls `member` may see, with their own choices.
    pub(super) fn polls_for(
        &self,
        member: &Member,
        choices: &HashMap<i64, Vec<i16>>,
    ) -> Vec<PollView> {
        self.polls
            .values()
            .filter(|p| member.staff() || p.status() != PollStatus::Draft)
            .map(|p| PollView::mine(p.result(), choices.get(&p.row.id).cloned()))
            .collect()
    }

    pub(super) fn create_poll(
        &mut self,
        question: PollQuestion,
        options: PollOptions,
        multiple: bool,
        reply: ReplyId,
    ) {
        self.write(
            Write::CreatePoll {
                question: question.into_inner(),
                options: options.into_inner(),
                multiple,
            },
            Pending::CreatePoll { reply },
        );
    }

    pub(super) fn poll_created(&mut self, reply: ReplyId, result: Result<Written, StoreError>) {
        match result {
            Ok(Written::Poll(Some(poll))) => {
                let view = PollView::shared(poll.result());
                self.deliver(
                    Audience::Staff,
                    ServerFrame::PollCreated { poll: view.clone() },
                );
                self.polls.insert(poll.row.id, poll);
                self.reply(
                    reply,
                    Ok(Done::Poll(PollView {
                        my_choice: Some(None),
                        ..view
                    })),
                );
            }
            Ok(_) => self.unexpected(reply, "poll"),
            Err(e) => self.reply(reply, Err(e.into())),
        }
    }

    pub(super) fn update_poll(&mut self, id: i64, status: PollStatus, reply: ReplyId) {
        let Some(before) = self.polls.get(&id).map(PollTally::status) else {
            return self.reply(reply, Err(RoomError::NotFound("No such poll.")));
        };
        if let Err(e) = before.to(status) {
            return self.reply(
                reply,
                Err(RoomError::Conflict("poll_status", e.to_string())),
            );
        }
        // Already so: nothing to store or tell (its times stay).
        if before == status {
            let poll = self
                .polls
                .get(&id)
                .map(|p| Done::Poll(PollView::shared(p.result())));
            return self.reply(reply, poll.ok_or(RoomError::NotFound("No such poll.")));
        }
        self.write(
            Write::UpdatePoll {
                id,
                status: status.as_str(),
            },
            Pending::UpdatePoll { reply, before },
        );
    }

    /// Staff always hear of the change; others as the poll opens (it is
    /// new to them) and after.
    pub(super) fn poll_updated(
        &mut self,
        reply: ReplyId,
        before: PollStatus,
        result: Result<Written, StoreError>,
    ) {
        let poll = match result {
            Ok(Written::Poll(Some(p))) => p,
            Ok(Written::Poll(None)) => {
                return self.reply(reply, Err(RoomError::NotFound("No such poll.")))
            }
            Ok(_) => return self.unexpected(reply, "poll update"),
            Err(e) => return self.reply(reply, Err(e.into())),
        };
        let view = PollView::shared(poll.result());
        if before == PollStatus::Draft && poll.status() != PollStatus::Draft {
            self.deliver(
                Audience::Staff,
                ServerFrame::PollUpdated { poll: view.clone() },
            );
            self.deliver(
                Audience::NotStaff,
                ServerFrame::PollCreated { poll: view.clone() },
            );
        } else {
            self.deliver(
                audience(poll.status()),
                ServerFrame::PollUpdated { poll: view.clone() },
            );
        }
        self.dirty_polls.retain(|d| *d != poll.row.id);
        self.polls.insert(poll.row.id, poll);
        self.reply(reply, Ok(Done::Poll(view)));
    }

    pub(super) fn delete_poll(&mut self, id: i64, reply: ReplyId) {
        if !self.polls.contains_key(&id) {
            return self.reply(reply, Err(RoomError::NotFound("No such poll.")));
        }
        self.write(Write::DeletePoll { id }, Pending::DeletePoll { reply, id });
    }

    pub(super) fn poll_deleted(
        &mut self,
        reply: ReplyId,
        id: i64,
        result: Result<Written, StoreError>,
    ) {
        match result {
            Ok(Written::Done(_)) => {
                if let Some(poll) = self.polls.remove(&id) {
                    self.dirty_polls.retain(|d| *d != id);
                    self.deliver(audience(poll.status()), ServerFrame::PollRemoved { id });
                }
                self.reply(reply, Ok(Done::Nothing));
            }
            Ok(_) => self.unexpected(reply, "poll removal"),
            Err(e) => self.reply(reply, Err(e.into())),
        }
    }

    // ---- votes --------------------------------------------------------

    pub(super) fn vote_poll(
        &mut self,
        member: &Member,
        id: i64,
        options: Vec<usize>,
        reply: ReplyId,
    ) {
        let Some(poll) = self
            .polls
            .get(&id)
            .filter(|p| member.staff() || p.status() != PollStatus::Draft)
        else {
            return self.reply(reply, Err(RoomError::NotFound("No such poll.")));
        };
        if poll.status() != PollStatus::Open {
            return self.reply(reply, Err(not_open()));
        }
        let choice = match polls::choice(&options, poll.row.options.len(), poll.row.multiple) {
            Ok(c) => c,
            Err(e) => return self.reply(reply, Err(RoomError::InvalidInput(e.to_string()))),
        };
        self.poll_votes_waiting.push(PendingPollVote {
            poll: id,
            participant: member.participant_id,
            choice,
            reply,
        });
        self.start_poll_votes();
    }

    fn start_poll_votes(&mut self) {
        if self.poll_votes_writing.is_some() || self.poll_votes_waiting.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.poll_votes_waiting);
        let ops = batch
            .iter()
            .map(|v| (v.poll, v.participant, v.choice.clone()))
            .collect();
        self.poll_votes_writing = Some(batch);
        self.write(Write::PollVotes { ops }, Pending::PollVotes);
    }

    pub(super) fn poll_votes_busy(&self) -> bool {
        self.poll_votes_writing.is_some() || !self.poll_votes_waiting.is_empty()
    }

    /// Answers each vote of a written batch with the poll as stored and
    /// the voter's choice; a poll that closed meanwhile refuses it.
    pub(super) fn poll_votes_written(&mut self, at: At, result: Result<Written, StoreError>) {
        let batch = self.poll_votes_writing.take().unwrap_or_default();
        match result {
            Ok(Written::PollVotes { stored, tallies }) => {
                for poll in tallies {
                    let changed = self.polls.get(&poll.row.id).is_some_and(|p| *p != poll);
                    if changed {
                        if !self.dirty_polls.contains(&poll.row.id) {
                            self.dirty_polls.push_back(poll.row.id);
                        }
                        self.polls.insert(poll.row.id, poll);
                    }
                }
                for (v, ok) in batch.into_iter().zip(stored) {
                    let result = match self.polls.get(&v.poll) {
                        Some(p) if ok => Ok(Done::Poll(PollView::mine(p.result(), Some(v.choice)))),
                        Some(_) => Err(not_open()),
                        None => Err(RoomError::NotFound("No such poll.")),
                    };
                    self.reply(v.reply, result);
                }
            }
            other => {
                let err = match other {
                    Err(e) => RoomError::from(e),
                    Ok(_) => RoomError::Internal("unexpected result for poll votes".into()),
                };
                for v in batch {
                    self.reply(v.reply, Err(err.clone()));
                }
            }
        }
        self.start_poll_votes();
        if !self.batches_busy() {
            self.batches_settled(at);
        }
    }

    /// Changed counts: one poll's frame per flush and at least
    /// `POLL_FRAMES_EVERY` apart (a late tick does not bunch two), so a
    /// room hears at most ten a second however many polls are open (each
    /// waits its turn).
    pub(super) fn flush_polls(&mut self, at: At) {
        let due = self
            .last_poll_frame
            .is_none_or(|t| at.mono.duration_since(t) >= POLL_FRAMES_EVERY);
        if !due {
            return;
        }
        while let Some(id) = self.dirty_polls.pop_front() {
            if self.send_poll(id) {
                self.last_poll_frame = Some(at.mono);
                return;
            }
        }
    }

    /// Every changed count at once: the server stops.
    pub(super) fn send_all_polls(&mut self) {
        while let Some(id) = self.dirty_polls.pop_front() {
            self.send_poll(id);
        }
    }

    fn send_poll(&mut self, id: i64) -> bool {
        let Some(poll) = self.polls.get(&id) else {
            return false;
        };
        let (to, poll) = (audience(poll.status()), PollView::shared(poll.result()));
        self.deliver(to, ServerFrame::PollUpdated { poll });
        true
    }
}
