//! Moderation: settings, removing someone, ending the room.

use super::{
    forbidden, At, Audience, Done, Effect, Member, Pending, ReplyId, RoomCore, RoomError, Write,
    Written,
};
use crate::domain::role;
use crate::domain::stats;
use crate::live::act::SettingsPatch;
use crate::live::protocol::{Close, ServerFrame};
use crate::store::rooms::SettingsChange;
use crate::store::StoreError;

impl RoomCore {
    pub(super) fn settings(&mut self, patch: SettingsPatch, reply: ReplyId) {
        let change = SettingsChange {
            chat_enabled: patch.chat_enabled,
            questions_enabled: patch.questions_enabled,
            anonymous_questions: patch.anonymous_questions,
            questions_need_approval: patch.questions_need_approval,
            locked: patch.locked,
            max_speakers: patch.max_speakers,
            recording: patch.recording,
            replay_public: patch.replay_public,
        };
        let max = crate::domain::room::MAX_SPEAKERS;
        if change.max_speakers.is_some_and(|n| !(0..=max).contains(&n)) {
            let why = format!("max_speakers is between 0 and {max}.");
            return self.reply(reply, Err(RoomError::InvalidInput(why)));
        }
        self.write(
            Write::Settings(change),
            Pending::Settings {
                reply,
                stopped: None,
            },
        );
    }

    pub(super) fn recording_stopped(
        &mut self,
        reason: &'static str,
        message: &'static str,
        reply: ReplyId,
    ) {
        let change = SettingsChange {
            recording: Some(false),
            ..Default::default()
        };
        self.write(
            Write::Settings(change),
            Pending::Settings {
                reply,
                stopped: Some((reason, message)),
            },
        );
    }

    pub(super) fn settings_written(
        &mut self,
        reply: ReplyId,
        stopped: Option<(&'static str, &'static str)>,
        result: Result<Written, StoreError>,
    ) {
        match result {
            Ok(Written::Room(room)) => {
                self.room = room;
                let view = self.room_view();
                self.deliver(
                    Audience::All,
                    ServerFrame::RoomUpdated { room: view.clone() },
                );
                if let Some((reason, message)) = stopped {
                    self.deliver(
                        Audience::Staff,
                        ServerFrame::RecordingStopped {
                            reason,
                            message: message.into(),
                        },
                    );
                }
                self.reply(reply, Ok(Done::Room(view)));
            }
            Ok(_) => self.unexpected(reply, "settings"),
            Err(e) => self.reply(reply, Err(e.into())),
        }
    }

    pub(super) fn kick(&mut self, actor: Member, target: i64, reply: ReplyId) {
        if target == actor.participant_id {
            let why = RoomError::InvalidInput("You cannot remove yourself.".into());
            return self.reply(reply, Err(why));
        }
        self.write(
            Write::FindParticipant { id: target },
            Pending::FindForKick { reply, actor },
        );
    }

    /// Who may remove whom is the domain's rule.
    pub(super) fn kick_target_found(
        &mut self,
        actor: Member,
        reply: ReplyId,
        result: Result<Written, StoreError>,
    ) {
        let target = match result {
            Ok(Written::Participant(Some(p))) => p,
            Ok(Written::Participant(None)) => {
                return self.reply(reply, Err(RoomError::NotFound("No such participant.")))
            }
            Ok(_) => return self.unexpected(reply, "participant"),
            Err(e) => return self.reply(reply, Err(e.into())),
        };
        if !role::may_remove(actor.role, target.role()) {
            let why = forbidden(format!(
                "A {} may not remove a {}.",
                actor.role,
                target.role()
            ));
            return self.reply(reply, Err(why));
        }
        self.write(
            Write::Kick { id: target.id },
            Pending::Kick {
                reply,
                target: target.id,
            },
        );
    }

    /// The removed person's sockets hear why, then close with 4003.
    pub(super) fn kicked(
        &mut self,
        at: At,
        reply: ReplyId,
        target: i64,
        result: Result<Written, StoreError>,
    ) {
        if let Err(e) = result {
            return self.reply(reply, Err(e.into()));
        }
        self.deliver(Audience::Participant(target), ServerFrame::Kicked);
        self.left_stage(target);
        let theirs: Vec<_> = self
            .conns
            .iter()
            .filter(|(_, c)| c.member.participant_id == target)
            .map(|(id, _)| *id)
            .collect();
        for conn in theirs {
            self.close(at, conn, Close::Kicked);
        }
        self.reply(reply, Ok(Done::Nothing));
    }

    pub(super) fn end(&mut self, reply: ReplyId) {
        self.write(Write::End, Pending::End { reply });
    }

    /// Everyone hears the end with the final statistics; every socket
    /// closes normally.
    pub(super) fn ended(&mut self, at: At, reply: ReplyId, result: Result<Written, StoreError>) {
        let (room, raw) = match result {
            Ok(Written::Ended { room, raw }) => (room, raw),
            // Ended meanwhile by another request.
            Ok(Written::Done(false)) => return self.reply(reply, Err(RoomError::Ended)),
            Ok(_) => return self.unexpected(reply, "end"),
            Err(e) => return self.reply(reply, Err(e.into())),
        };
        self.room = room;
        let stats = Box::new(stats::summarise(*raw, at.wall));
        self.deliver(
            Audience::All,
            ServerFrame::RoomEnded {
                stats: stats.clone(),
            },
        );
        let all: Vec<_> = self.conns.keys().copied().collect();
        for conn in all {
            self.close(at, conn, Close::Normal);
        }
        self.reply(reply, Ok(Done::Ended { stats }));
    }

    /// Closes a socket the room lets go of, as a departure.
    pub(super) fn close(&mut self, at: At, conn: super::ConnId, close: Close) {
        self.effects.push(Effect::Close { conn, close });
        self.disconnect(at, conn);
    }
}
