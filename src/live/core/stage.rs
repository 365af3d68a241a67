//! The stage: raised hands in the order raised (told to staff, coalesced),
//! invitations, speakers (at most `max_speakers` besides the presenter),
//! taking anyone off. Every change is stored before it is told.

use super::{
    forbidden, At, Audience, Done, Member, Pending, ReplyId, RoomCore, RoomError, Write, Written,
};
use crate::domain::{Action, Role};
use crate::live::protocol::ServerFrame;
use crate::live::views::HandView;
use crate::store::stage::HandRow;
use crate::store::StoreError;
use crate::views::ParticipantView;

impl RoomCore {
    /// The stage as everyone sees it: the presenter first, then the
    /// speakers in the order they came on.
    pub(super) fn lineup(&self) -> Vec<ParticipantView> {
        self.presenter
            .iter()
            .chain(&self.speakers)
            .map(Member::view)
            .collect()
    }

    pub(super) fn hand_views(&self) -> Vec<HandView> {
        self.hands.iter().map(HandView::from).collect()
    }

    /// What the core knows of a member's role beats what a socket was
    /// told at hello: a speaker who came on or went off since.
    pub(super) fn current_role(&self, member: &Member) -> Role {
        let on = self
            .speakers
            .iter()
            .any(|s| s.participant_id == member.participant_id);
        match member.role {
            Role::Attendee | Role::Speaker if on => Role::Speaker,
            Role::Speaker => Role::Attendee,
            r => r,
        }
    }

    pub(super) fn raise_hand(&mut self, at: At, member: &Member, reply: ReplyId) {
        let pid = member.participant_id;
        if self.hands.iter().any(|h| h.participant_id == pid) {
            return self.reply(reply, Ok(Done::Hand { raised: true }));
        }
        self.write(
            Write::SetHand {
                participant: pid,
                at: Some(at.wall),
            },
            Pending::Hand {
                reply,
                hand: HandRow {
                    participant_id: pid,
                    name: member.name.clone(),
                    raised_at: at.wall,
                },
                raised: true,
                own: true,
            },
        );
    }

    /// Lowers one's own hand (`id` none or one's own), or, for staff,
    /// anyone's.
    pub(super) fn lower_hand(&mut self, member: &Member, id: Option<i64>, reply: ReplyId) {
        let own = id.is_none_or(|id| id == member.participant_id);
        if !own && !member.role.can(Action::RunStage) {
            return self.reply(reply, Err(forbidden("Only staff lower others' hands.")));
        }
        let pid = id.unwrap_or(member.participant_id);
        let Some(hand) = self.hands.iter().find(|h| h.participant_id == pid).cloned() else {
            return self.reply(
                reply,
                if own {
                    Ok(Done::Hand { raised: false })
                } else {
                    Err(RoomError::NotFound("No such raised hand."))
                },
            );
        };
        self.write(
            Write::SetHand {
                participant: pid,
                at: None,
            },
            Pending::Hand {
                reply,
                hand,
                raised: false,
                own,
            },
        );
    }

    pub(super) fn hand_written(
        &mut self,
        reply: ReplyId,
        hand: HandRow,
        raised: bool,
        own: bool,
        result: Result<Written, StoreError>,
    ) {
        match result {
            Ok(Written::Done(_)) => {}
            Ok(_) => return self.unexpected(reply, "hand"),
            Err(e) => return self.reply(reply, Err(e.into())),
        }
        let pid = hand.participant_id;
        self.hands.retain(|h| h.participant_id != pid);
        if raised {
            self.hands.push(hand);
        }
        self.hands_dirty = true;
        self.deliver(
            Audience::Participant(pid),
            ServerFrame::HandState { raised },
        );
        self.reply(
            reply,
            Ok(if own {
                Done::Hand { raised }
            } else {
                Done::Nothing
            }),
        );
    }

    pub(super) fn flush_hands(&mut self) {
        if std::mem::take(&mut self.hands_dirty) {
            let hands = self.hand_views();
            self.deliver(Audience::Staff, ServerFrame::Hands { hands });
        }
    }

    pub(super) fn invite(&mut self, at: At, target: i64, reply: ReplyId) {
        if self.speakers.iter().any(|s| s.participant_id == target) {
            let why = RoomError::Conflict("already_on_stage", "They are on stage already.".into());
            return self.reply(reply, Err(why));
        }
        self.write(
            Write::Invite {
                participant: target,
                at: at.wall,
            },
            Pending::Invite { reply },
        );
    }

    pub(super) fn invited(&mut self, reply: ReplyId, result: Result<Written, StoreError>) {
        let p = match result {
            Ok(Written::Participant(Some(p))) => p,
            Ok(Written::Participant(None)) => {
                return self.reply(reply, Err(RoomError::NotFound("No such attendee.")))
            }
            Ok(_) => return self.unexpected(reply, "invitation"),
            Err(e) => return self.reply(reply, Err(e.into())),
        };
        self.invitations.insert(p.id);
        self.deliver(Audience::Participant(p.id), ServerFrame::StageInvited);
        self.reply(reply, Ok(Done::Participant((&p).into())));
    }

    fn stage_full(&self) -> bool {
        let taken = self.speakers.len() + self.accepting.len();
        taken >= usize::try_from(self.room.max_speakers).unwrap_or(0)
    }

    pub(super) fn accept_stage(&mut self, member: &Member, reply: ReplyId) {
        let pid = member.participant_id;
        if !self.invitations.contains(&pid) || self.accepting.contains(&pid) {
            return self.reply(reply, Err(forbidden("You have not been invited on stage.")));
        }
        if self.stage_full() {
            let why = format!(
                "The stage is full: at most {} speakers besides the presenter.",
                self.room.max_speakers
            );
            return self.reply(reply, Err(RoomError::Conflict("stage_full", why)));
        }
        self.accepting.insert(pid);
        self.write(
            Write::MakeSpeaker { participant: pid },
            Pending::Accept {
                reply,
                participant: pid,
            },
        );
    }

    pub(super) fn accepted(
        &mut self,
        reply: ReplyId,
        participant: i64,
        result: Result<Written, StoreError>,
    ) {
        self.accepting.remove(&participant);
        let p = match result {
            Ok(Written::Participant(Some(p))) => p,
            Ok(Written::Participant(None)) => {
                self.invitations.remove(&participant);
                return self.reply(reply, Err(forbidden("You have not been invited on stage.")));
            }
            Ok(_) => return self.unexpected(reply, "acceptance"),
            Err(e) => return self.reply(reply, Err(e.into())),
        };
        self.invitations.remove(&participant);
        if self.hands.iter().any(|h| h.participant_id == participant) {
            self.hands.retain(|h| h.participant_id != participant);
            self.hands_dirty = true;
        }
        let speaker = Member {
            participant_id: p.id,
            name: p.name.clone(),
            role: Role::Speaker,
        };
        self.set_role(participant, Role::Speaker);
        self.speakers.push(speaker);
        let speakers = self.lineup();
        self.deliver(Audience::All, ServerFrame::StageUpdated { speakers });
        self.reply(reply, Ok(Done::Participant((&p).into())));
    }

    pub(super) fn decline_stage(&mut self, member: &Member, reply: ReplyId) {
        let pid = member.participant_id;
        if !self.invitations.contains(&pid) {
            return self.reply(reply, Err(forbidden("You have not been invited on stage.")));
        }
        self.write(
            Write::Uninvite { participant: pid },
            Pending::Decline {
                reply,
                participant: pid,
            },
        );
    }

    pub(super) fn declined(
        &mut self,
        reply: ReplyId,
        participant: i64,
        result: Result<Written, StoreError>,
    ) {
        match result {
            Ok(Written::Done(_)) => {
                self.invitations.remove(&participant);
                self.reply(reply, Ok(Done::Nothing));
            }
            Ok(_) => self.unexpected(reply, "decline"),
            Err(e) => self.reply(reply, Err(e.into())),
        }
    }

    /// Staff take anyone off stage; a speaker may step down. Someone not
    /// on stage is already off it.
    pub(super) fn remove_from_stage(&mut self, member: &Member, target: i64, reply: ReplyId) {
        if target != member.participant_id && !member.role.can(Action::RunStage) {
            return self.reply(reply, Err(forbidden("Only staff take others off stage.")));
        }
        if !self.speakers.iter().any(|s| s.participant_id == target) {
            return self.reply(reply, Ok(Done::Nothing));
        }
        self.write(
            Write::MakeAttendee {
                participant: target,
            },
            Pending::Unstage {
                reply,
                participant: target,
            },
        );
    }

    pub(super) fn unstaged(
        &mut self,
        reply: ReplyId,
        participant: i64,
        result: Result<Written, StoreError>,
    ) {
        match result {
            Ok(Written::Participant(_)) => {}
            Ok(_) => return self.unexpected(reply, "stage removal"),
            Err(e) => return self.reply(reply, Err(e.into())),
        }
        self.left_stage(participant);
        self.reply(reply, Ok(Done::Unstaged));
    }

    /// Someone went from the stage (taken off, stepped down, removed from
    /// the room): everyone hears the new line-up.
    pub(super) fn left_stage(&mut self, participant: i64) {
        self.invitations.remove(&participant);
        if self.hands.iter().any(|h| h.participant_id == participant) {
            self.hands.retain(|h| h.participant_id != participant);
            self.hands_dirty = true;
        }
        let before = self.speakers.len();
        self.speakers.retain(|s| s.participant_id != participant);
        if self.speakers.len() != before {
            self.set_role(participant, Role::Attendee);
            let speakers = self.lineup();
            self.deliver(Audience::All, ServerFrame::StageUpdated { speakers });
        }
    }

    /// The role a participant's sockets and presence entry carry.
    fn set_role(&mut self, participant: i64, role: Role) {
        for c in self.conns.values_mut() {
            if c.member.participant_id == participant {
                c.member.role = role;
            }
        }
        if let Some((_, m)) = self.online.get_mut(&participant) {
            m.role = role;
        }
    }
}
