//! Who is here: connections and their welcome, the roster staff see,
//! presence counts and attendance samples, the media state, going idle and
//! shutting down.

use std::time::Duration;

use super::{
    At, Audience, Conn, ConnId, Effect, Member, Pending, Record, RoomCore, RoomError, Write,
    Written,
};
use crate::domain::Action;
use crate::live::protocol::{Close, ServerFrame};
use crate::live::views::facts;
use crate::live::views::{MediaView, MessageView, PresenceView, QuestionView, StageView, Welcome};
use crate::media::MediaState;
use crate::store::StoreError;

/// Presence counts at most this often.
pub const PRESENCE_EVERY: Duration = Duration::from_millis(500);
/// An attendance sample at least this often while anyone is here.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// A room with nobody connected stops its task after this long.
pub const IDLE_FOR: Duration = Duration::from_secs(60);

impl RoomCore {
    pub(super) fn connect(&mut self, conn: ConnId, member: Member) {
        if self.room.is_ended() {
            self.effects.push(Effect::Refuse {
                conn,
                error: RoomError::Ended,
            });
            return;
        }
        let participant = member.participant_id;
        self.connecting.insert(conn, member);
        self.idle_since = None;
        self.write(Write::Snapshot { participant }, Pending::Connect { conn });
    }

    /// The snapshot is read: the connection is in, with everything it may
    /// see in its welcome.
    pub(super) fn connected(
        &mut self,
        at: At,
        conn: ConnId,
        result: Result<super::Written, StoreError>,
    ) {
        let Some(member) = self.connecting.remove(&conn) else {
            return;
        };
        let (messages, voted, choices, session) = match result {
            Ok(Written::Snapshot {
                messages,
                voted,
                choices,
                session,
            }) => (messages, voted, choices, session),
            Ok(_) => {
                let error = RoomError::Internal("unexpected result for a snapshot".into());
                return self.refuse(at, conn, error);
            }
            Err(e) => return self.refuse(at, conn, e.into()),
        };
        if self.room.is_ended() {
            self.effects
                .push(Effect::Record(Record::CloseSession(session)));
            return self.refuse(at, conn, RoomError::Ended);
        }
        let pid = member.participant_id;
        // A room made before its presenter joined learns who leads its stage.
        if member.role == crate::domain::Role::Presenter && self.presenter.is_none() {
            self.presenter = Some(member.clone());
        }
        let first = {
            let entry = self.online.entry(pid).or_insert((0, member.clone()));
            entry.0 += 1;
            entry.0 == 1
        };
        if first {
            self.presence_dirty = true;
            self.roster_dirty.insert(pid);
        }
        let mut questions: Vec<_> = self
            .questions
            .values()
            .filter(|q| facts(q).visible_to(pid, member.role))
            .collect();
        questions.sort_by_key(|q| facts(q).top_key());
        let welcome = Welcome {
            participant: member.view(),
            room: self.room_view(),
            messages: messages.iter().map(MessageView::from).collect(),
            questions: questions
                .iter()
                .map(|q| QuestionView::new(q, Some(voted.contains(&q.id))))
                .collect(),
            presence: PresenceView {
                count: self.count(),
            },
            media: MediaView {
                live: self.media.live,
                screen: self.media.screen,
                seats: seats_of(&self.media),
                speaker: self.media.speaker,
            },
            participants: member
                .role
                .can(Action::SeeParticipants)
                .then(|| self.online.values().map(|(_, m)| m.view()).collect()),
            polls: self.polls_for(&member, &choices),
            stage: StageView {
                speakers: self.lineup(),
                hand_raised: self.hands.iter().any(|h| h.participant_id == pid),
                invited: self.invitations.contains(&pid),
                hands: member.staff().then(|| self.hand_views()),
            },
        };
        crate::metrics::participants(member.role.as_str(), 1.0);
        self.conns.insert(
            conn,
            Conn {
                member,
                session_row: session,
            },
        );
        self.effects.push(Effect::Welcome {
            conn,
            frame: ServerFrame::Welcome(Box::new(welcome)),
        });
    }

    fn refuse(&mut self, at: At, conn: ConnId, error: RoomError) {
        self.effects.push(Effect::Refuse { conn, error });
        if self.conns.is_empty() && self.connecting.is_empty() {
            self.idle_since = Some(at.mono);
        }
    }

    /// A socket went (closed, too slow, removed, the room ended).
    pub(super) fn disconnect(&mut self, at: At, conn: ConnId) {
        self.connecting.remove(&conn);
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        crate::metrics::participants(c.member.role.as_str(), -1.0);
        self.effects
            .push(Effect::Record(Record::CloseSession(c.session_row)));
        let pid = c.member.participant_id;
        let last = match self.online.get_mut(&pid) {
            Some(entry) => {
                entry.0 -= 1;
                entry.0 == 0
            }
            None => false,
        };
        if last {
            self.online.remove(&pid);
            self.presence_dirty = true;
            self.roster_dirty.insert(pid);
        }
        if self.conns.is_empty() && self.connecting.is_empty() {
            self.idle_since = Some(at.mono);
        }
    }

    /// Every flush: vote counts, the roster, presence, a sample; and
    /// whether the room may stop.
    pub(super) fn tick(&mut self, at: At) {
        if self.stopped {
            return;
        }
        self.flush_questions();
        self.flush_polls(at);
        self.flush_reactions(at);
        self.flush_hands();
        self.flush_roster();
        self.flush_presence(at);
        let idle = self
            .idle_since
            .is_some_and(|t| at.mono.duration_since(t) > IDLE_FOR);
        let ended_and_empty = self.room.is_ended() && self.conns.is_empty();
        let quiet = self.pending.is_empty() && !self.batches_busy() && self.connecting.is_empty();
        if (idle || ended_and_empty) && quiet {
            self.stopped = true;
            self.effects.push(Effect::Stop);
        }
    }

    fn flush_presence(&mut self, at: At) {
        let now = at.mono;
        let due = self
            .last_presence
            .is_none_or(|t| now.duration_since(t) >= PRESENCE_EVERY);
        if self.presence_dirty && due {
            self.presence_dirty = false;
            self.last_presence = Some(now);
            let count = self.count();
            self.deliver(Audience::All, ServerFrame::Presence { count });
        }
        let count = self.count();
        let sample_due = match self.last_sample {
            None => count > 0,
            Some((t, last)) => {
                last != count || (count > 0 && now.duration_since(t) >= SAMPLE_EVERY)
            }
        };
        if sample_due && !self.presence_dirty {
            self.last_sample = Some((now, count));
            self.effects.push(Effect::Record(Record::Sample {
                at: at.wall,
                concurrent: count,
            }));
        }
    }

    /// Tells staff who came and went: `participant.joined` or
    /// `participant.left` for one change, `participants.updated` for more.
    fn flush_roster(&mut self) {
        if self.roster_dirty.is_empty() {
            return;
        }
        let (mut joined, mut left) = (Vec::new(), Vec::new());
        for pid in std::mem::take(&mut self.roster_dirty) {
            match self.online.get(&pid) {
                Some((_, m)) => joined.push(m.view()),
                None => left.push(pid),
            }
        }
        match (joined.len(), left.len()) {
            // Whoever's only news is their own arrival has it in their welcome.
            (1, 0) => {
                let participant = joined.remove(0);
                let newcomer = participant.id;
                self.deliver(
                    Audience::StaffExcept(newcomer),
                    ServerFrame::ParticipantJoined { participant },
                );
            }
            (0, 1) => self.deliver(
                Audience::Staff,
                ServerFrame::ParticipantLeft { id: left[0] },
            ),
            _ => self.deliver(
                Audience::Staff,
                ServerFrame::ParticipantsUpdated { joined, left },
            ),
        }
    }

    /// The engine's word on the room's media. States come in order; one
    /// older than what the room knows (it asked the engine as it started)
    /// is ignored.
    pub(super) fn media_changed(&mut self, state: MediaState) {
        let known = self.media;
        if state.seq <= known.seq || self.room.is_ended() {
            return;
        }
        self.media = state;
        if known.speaker != state.speaker {
            let participant_id = state.speaker;
            self.deliver(Audience::All, ServerFrame::MediaSpeaker { participant_id });
        }
        let same = (known.live, known.screen, known.reconnecting, known.seats)
            == (state.live, state.screen, state.reconnecting, state.seats);
        if same {
            return;
        }
        self.deliver(
            Audience::All,
            ServerFrame::MediaState {
                live: state.live,
                screen: state.screen,
                reconnecting: state.reconnecting,
                seats: seats_of(&state),
            },
        );
        // The stored status (the card's `live`) follows the camera.
        if self.room.is_live() != state.live {
            self.write(Write::SetLive { live: state.live }, Pending::SetLive);
        }
    }

    pub(super) fn live_stored(&mut self, result: Result<Written, StoreError>) {
        match result {
            Ok(Written::Room(room)) => {
                self.room = room;
                let room = self.room_view();
                self.deliver(Audience::All, ServerFrame::RoomUpdated { room });
            }
            // The room ended meanwhile: nothing to say.
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "room status not stored"),
        }
    }

    /// The server stops: once every received vote is stored, every socket
    /// hears `server.restarting` and closes with 1012, and open sessions
    /// and a running live stretch are stored.
    pub(super) fn settle_then_shut_down(&mut self) {
        if self.batches_busy() || self.stopped {
            return;
        }
        self.stopped = true;
        self.flush_questions();
        self.send_all_polls();
        self.send_reactions();
        self.flush_hands();
        self.flush_roster();
        self.deliver(Audience::All, ServerFrame::ServerRestarting);
        let sessions: Vec<i64> = self.conns.values().map(|c| c.session_row).collect();
        let all: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in all {
            self.effects.push(Effect::Close {
                conn,
                close: Close::Restarting,
            });
            if let Some(c) = self.conns.remove(&conn) {
                crate::metrics::participants(c.member.role.as_str(), -1.0);
            }
        }
        self.online.clear();
        self.write(
            Write::Shutdown {
                sessions,
                live: self.room.is_live(),
            },
            Pending::Shutdown,
        );
    }
}

/// The speakers by seat, as sent: the seats up to the last one taken.
fn seats_of(state: &MediaState) -> Vec<Option<i64>> {
    let used = state
        .seats
        .iter()
        .rposition(Option::is_some)
        .map_or(0, |i| i + 1);
    state.seats[..used].to_vec()
}
