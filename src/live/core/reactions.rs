//! Reactions: each participant within their allowance, counted once
//! stored (per minute, never who), and told to the room as the counts
//! since the last frame, at most four frames a second.

use std::time::Duration;

use super::{At, Member, Pending, ReplyId, RoomCore, RoomError, Write, Written};
use crate::domain::reactions::{Allowance, Emoji};
use crate::live::core::{Audience, Done};
use crate::live::protocol::ServerFrame;
use crate::store::StoreError;
use chrono::{DurationRound, TimeDelta};

/// The least time between two `reactions` frames: five frames span more
/// than a second, so no second holds more than four, with room to spare
/// for the tick's jitter.
pub const REACTIONS_EVERY: Duration = Duration::from_millis(300);

impl RoomCore {
    pub(super) fn react(&mut self, at: At, member: &Member, emoji: Emoji, reply: ReplyId) {
        let allowance = self
            .allowances
            .entry(member.participant_id)
            .or_insert_with(|| Allowance::new(at.mono));
        if let Err(wait) = allowance.take(at.mono) {
            crate::metrics::rate_limited("reaction");
            return self.reply(reply, Err(RoomError::RateLimited(wait)));
        }
        self.reactions_waiting.push((emoji, reply));
        self.start_reactions(at);
    }

    fn start_reactions(&mut self, at: At) {
        if self.reactions_writing.is_some() || self.reactions_waiting.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.reactions_waiting);
        let mut counts: Vec<(String, i64)> = Vec::new();
        for (emoji, _) in &batch {
            match counts.iter_mut().find(|(e, _)| e == emoji.as_str()) {
                Some((_, n)) => *n += 1,
                None => counts.push((emoji.as_str().to_owned(), 1)),
            }
        }
        let minute = at
            .wall
            .duration_trunc(TimeDelta::minutes(1))
            .unwrap_or(at.wall);
        self.reactions_writing = Some(batch);
        self.write(Write::Reactions { minute, counts }, Pending::Reactions);
    }

    pub(super) fn reactions_busy(&self) -> bool {
        self.reactions_writing.is_some() || !self.reactions_waiting.is_empty()
    }

    /// A stored batch is accepted: each sender hears so, and the room
    /// hears the counts with the next frame.
    pub(super) fn reactions_written(&mut self, at: At, result: Result<Written, StoreError>) {
        let batch = self.reactions_writing.take().unwrap_or_default();
        match result {
            Ok(Written::Done(_)) => {
                for (emoji, reply) in batch {
                    *self.reactions_unsent.entry(emoji).or_insert(0) += 1;
                    self.reply(reply, Ok(Done::Nothing));
                }
            }
            other => {
                let err = match other {
                    Err(e) => RoomError::from(e),
                    Ok(_) => RoomError::Internal("unexpected result for reactions".into()),
                };
                for (_, reply) in batch {
                    self.reply(reply, Err(err.clone()));
                }
            }
        }
        self.start_reactions(at);
        if !self.batches_busy() {
            self.batches_settled(at);
        }
    }

    pub(super) fn flush_reactions(&mut self, at: At) {
        let due = self
            .last_reactions
            .is_none_or(|t| at.mono.duration_since(t) >= REACTIONS_EVERY);
        if self.reactions_unsent.is_empty() || !due {
            return;
        }
        self.last_reactions = Some(at.mono);
        self.send_reactions();
        // Allowances that are full again need not be kept.
        self.allowances.retain(|_, a| !a.is_full(at.mono));
    }

    /// Tells the room the stored reactions not yet told.
    pub(super) fn send_reactions(&mut self) {
        if self.reactions_unsent.is_empty() {
            return;
        }
        let counts = std::mem::take(&mut self.reactions_unsent)
            .into_iter()
            .map(|(e, n)| (e.as_str(), n))
            .collect();
        self.deliver(Audience::All, ServerFrame::Reactions { counts });
    }
}
