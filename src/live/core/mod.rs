//! The room core: one room's decisions, synchronous and without I/O, like
//! the SFU core. Inputs (a connection, an action, a write's result, the
//! media state, a tick) go in; effects come out: the writes to make, the
//! frames to send and to whom, sockets to close, answers to give. The room
//! task (`task.rs`) performs them and feeds write results back, so nothing
//! is announced or acknowledged before it is stored.
//!
//! The handlers are split by area: `chat`, `qa` (questions and votes),
//! `moderation` (settings, removal, the end) and `presence` (connections,
//! the roster, attendance, media state). Every fan-out goes through
//! [`RoomCore::deliver`].

mod chat;
mod moderation;
mod polls;
mod presence;
mod qa;
mod reactions;
mod stage;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::act::Act;
use super::protocol::{Close, ServerFrame};
use super::views::{MessageView, PollView, QuestionView, VoteView};
use crate::domain::polls::PollStatus;
use crate::domain::qa::QuestionFacts;
use crate::domain::reactions::{Allowance, Emoji};
use crate::domain::stats::{RawStats, SessionStats};
use crate::domain::{Action, Role};
use crate::media::MediaState;
use crate::store::messages::MessageRow;
use crate::store::models::{Participant, Room};
use crate::store::polls::PollTally;
use crate::store::questions::{QuestionChange, QuestionRow};
use crate::store::rooms::SettingsChange;
use crate::store::stage::{HandRow, Lineup};
use crate::store::StoreError;
use crate::views::{ParticipantView, RoomView};

pub use presence::{IDLE_FOR, PRESENCE_EVERY, SAMPLE_EVERY};
pub use reactions::REACTIONS_EVERY;

/// Vote counts are broadcast at most this often (every changed question
/// of the room in one frame); the task ticks the core at this pace.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

pub type ConnId = u64;
pub type ReplyId = u64;
pub type WriteId = u64;

/// Who is acting or connecting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Member {
    pub participant_id: i64,
    pub name: String,
    pub role: Role,
}

impl Member {
    /// The server itself, for what it does to a room on its own (a
    /// recording that stopped).
    pub fn system() -> Self {
        Member {
            participant_id: 0,
            name: String::new(),
            role: Role::Presenter,
        }
    }

    pub fn view(&self) -> ParticipantView {
        ParticipantView {
            id: self.participant_id,
            name: self.name.clone(),
            role: self.role.as_str(),
        }
    }

    fn staff(&self) -> bool {
        self.role.is_moderator_or_above()
    }
}

/// When an input happens: the monotonic clock for the room's pacing, the
/// wall clock for what is stored.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub mono: Instant,
    pub wall: DateTime<Utc>,
}

impl At {
    pub fn now() -> Self {
        Self {
            mono: Instant::now(),
            wall: Utc::now(),
        }
    }
}

pub enum Input {
    Connect {
        conn: ConnId,
        member: Member,
    },
    Disconnect {
        conn: ConnId,
    },
    Act {
        member: Member,
        act: Act,
        reply: ReplyId,
    },
    Media(MediaState),
    Written {
        id: WriteId,
        result: Result<Written, StoreError>,
    },
    Tick,
    /// The server stops: tell everyone, store what is pending, stop.
    Shutdown,
}

/// Why the room refused an action or a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    InvalidInput(String),
    #[error("This session has ended.")]
    Ended,
    /// The thing is not in a state that allows it: a code of its own.
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("Too many at once: please wait a moment.")]
    RateLimited(Duration),
    #[error("The server cannot reach its database: please try again shortly.")]
    Unavailable,
    /// The room's core runs on another node than the one asked (a
    /// cluster): ask where it is now.
    #[error("This room is moving to another server: please try again shortly.")]
    Moved,
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for RoomError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable => RoomError::Unavailable,
            StoreError::Internal(cause) => RoomError::Internal(cause),
        }
    }
}

/// What an action gives back: what REST returns and a socket's `ack`
/// carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Done {
    Message(MessageView),
    Question(QuestionView),
    Vote(VoteView),
    Room(RoomView),
    Ended {
        stats: Box<SessionStats>,
    },
    Poll(PollView),
    Hand {
        raised: bool,
    },
    Participant(ParticipantView),
    /// A speaker went off stage: their media is to end (the answer says
    /// nothing more).
    Unstaged,
    Nothing,
}

/// A store operation for the task to perform; its result comes back as
/// `Input::Written` with the same id.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// What a new connection's welcome needs, and its session row.
    Snapshot {
        participant: i64,
    },
    InsertMessage {
        participant: i64,
        body: String,
        client_id: Option<String>,
    },
    DeleteMessage {
        id: i64,
    },
    InsertQuestion {
        participant: i64,
        body: String,
        anonymous: bool,
        approved: bool,
        client_id: Option<String>,
        source_message_id: Option<i64>,
    },
    /// A live chat message (to promote).
    FindMessage {
        id: i64,
    },
    UpdateQuestion {
        id: i64,
        change: QuestionChange,
        viewer: i64,
    },
    Votes {
        ops: Vec<(i64, i64, bool)>,
    },
    Settings(SettingsChange),
    FindParticipant {
        id: i64,
    },
    Kick {
        id: i64,
    },
    End,
    SetLive {
        live: bool,
    },
    CreatePoll {
        question: String,
        options: Vec<String>,
        multiple: bool,
    },
    UpdatePoll {
        id: i64,
        status: &'static str,
    },
    DeletePoll {
        id: i64,
    },
    /// Poll votes, a batch: (poll, participant, choice).
    PollVotes {
        ops: Vec<(i64, i64, Vec<i16>)>,
    },
    SetHand {
        participant: i64,
        at: Option<DateTime<Utc>>,
    },
    Invite {
        participant: i64,
        at: DateTime<Utc>,
    },
    Uninvite {
        participant: i64,
    },
    MakeSpeaker {
        participant: i64,
    },
    MakeAttendee {
        participant: i64,
    },
    /// Reactions, a batch: counts per emoji for their minute.
    Reactions {
        minute: DateTime<Utc>,
        counts: Vec<(String, i64)>,
    },
    /// Sessions to close and the live stretch to end as the server stops.
    Shutdown {
        sessions: Vec<i64>,
        live: bool,
    },
}

impl Write {
    /// Written beside the room's loop, in batches (group commit): what
    /// arrives meanwhile goes in the next batch.
    pub fn is_batch(&self) -> bool {
        matches!(
            self,
            Write::Votes { .. } | Write::PollVotes { .. } | Write::Reactions { .. }
        )
    }
}

/// What a write gave back.
#[derive(Debug, Clone)]
pub enum Written {
    Snapshot {
        messages: Vec<MessageRow>,
        voted: HashSet<i64>,
        choices: HashMap<i64, Vec<i16>>,
        session: i64,
    },
    Message {
        row: MessageRow,
        created: bool,
    },
    Found(Option<MessageRow>),
    /// Whether something was there to delete or kick.
    Done(bool),
    /// A question, whether it is new, and whether the actor voted for it.
    Question {
        row: QuestionRow,
        created: bool,
        voted: bool,
    },
    Votes(Vec<i32>),
    Room(Room),
    Participant(Option<Participant>),
    Ended {
        room: Room,
        raw: Box<RawStats>,
    },
    Poll(Option<PollTally>),
    /// Whether each vote was stored, and the counts of the polls touched.
    PollVotes {
        stored: Vec<bool>,
        tallies: Vec<PollTally>,
    },
}

/// Bookkeeping the room never waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    CloseSession(i64),
    Sample { at: DateTime<Utc>, concurrent: i32 },
}

#[derive(Debug)]
pub enum Effect {
    Write {
        id: WriteId,
        write: Write,
    },
    Record(Record),
    Send {
        to: Vec<ConnId>,
        frame: ServerFrame,
    },
    /// The connection is in: its first frame.
    Welcome {
        conn: ConnId,
        frame: ServerFrame,
    },
    /// The connection could not be made.
    Refuse {
        conn: ConnId,
        error: RoomError,
    },
    Close {
        conn: ConnId,
        close: Close,
    },
    Reply {
        to: ReplyId,
        result: Result<Done, RoomError>,
    },
    /// The room's task may end: idle, ended and empty, or shut down.
    Stop,
}

/// Who a frame goes to; [`RoomCore::deliver`] resolves it.
#[derive(Debug, Clone, Copy)]
pub enum Audience {
    All,
    Staff,
    /// Staff but one (who learnt the news another way).
    StaffExcept(i64),
    NotStaff,
    Participant(i64),
    Conn(ConnId),
    /// Those who may see the question.
    Sees(QuestionFacts),
    /// Those who may see the question, staff left out (who hear of it
    /// with everything else).
    NotStaffSeeing(QuestionFacts),
    /// Those who may not see `before` but may see `after` (it appeared to
    /// them), and so on for the other changes.
    Gained {
        before: QuestionFacts,
        after: QuestionFacts,
    },
    Kept {
        before: QuestionFacts,
        after: QuestionFacts,
    },
    Lost {
        before: QuestionFacts,
        after: QuestionFacts,
    },
}

impl Audience {
    pub fn includes(&self, conn: ConnId, m: &Member) -> bool {
        let sees = |f: &QuestionFacts| f.visible_to(m.participant_id, m.role);
        match self {
            Audience::All => true,
            Audience::Staff => m.staff(),
            Audience::StaffExcept(p) => m.staff() && m.participant_id != *p,
            Audience::NotStaff => !m.staff(),
            Audience::Participant(p) => m.participant_id == *p,
            Audience::Conn(c) => *c == conn,
            Audience::Sees(f) => sees(f),
            Audience::NotStaffSeeing(f) => !m.staff() && sees(f),
            Audience::Gained { before, after } => !sees(before) && sees(after),
            Audience::Kept { before, after } => sees(before) && sees(after),
            Audience::Lost { before, after } => sees(before) && !sees(after),
        }
    }
}

/// A continuation: what a write's result completes.
enum Pending {
    Connect {
        conn: ConnId,
    },
    Chat {
        reply: ReplyId,
    },
    DeleteMessage {
        reply: ReplyId,
        id: i64,
    },
    Question {
        reply: ReplyId,
    },
    Promote {
        reply: ReplyId,
    },
    Update {
        reply: ReplyId,
        before: QuestionFacts,
    },
    Votes,
    Settings {
        reply: ReplyId,
        /// The recording stopped by itself: staff hear why.
        stopped: Option<(&'static str, &'static str)>,
    },
    FindForKick {
        reply: ReplyId,
        actor: Member,
    },
    Kick {
        reply: ReplyId,
        target: i64,
    },
    End {
        reply: ReplyId,
    },
    SetLive,
    Shutdown,
    CreatePoll {
        reply: ReplyId,
    },
    UpdatePoll {
        reply: ReplyId,
        before: PollStatus,
    },
    DeletePoll {
        reply: ReplyId,
        id: i64,
    },
    PollVotes,
    Reactions,
    Hand {
        reply: ReplyId,
        hand: HandRow,
        raised: bool,
        own: bool,
    },
    Invite {
        reply: ReplyId,
    },
    Accept {
        reply: ReplyId,
        participant: i64,
    },
    Decline {
        reply: ReplyId,
        participant: i64,
    },
    Unstage {
        reply: ReplyId,
        participant: i64,
    },
}

/// A vote that was checked and waits to be written with others.
struct PendingVote {
    question: i64,
    participant: i64,
    on: bool,
    reply: ReplyId,
}

/// A poll vote that was checked and waits to be written with others.
struct PendingPollVote {
    poll: i64,
    participant: i64,
    choice: Vec<i16>,
    reply: ReplyId,
}

struct Conn {
    member: Member,
    session_row: i64,
}

pub struct RoomCore {
    room: Room,
    conns: BTreeMap<ConnId, Conn>,
    /// Connecting participants, waiting for their snapshot.
    connecting: HashMap<ConnId, Member>,
    /// Connected participants and how many sockets each has open.
    online: BTreeMap<i64, (usize, Member)>,
    questions: BTreeMap<i64, QuestionRow>,
    dirty_questions: BTreeSet<i64>,
    /// Votes are written in batches (group commit): those that arrive
    /// while one batch is being written go in the next.
    votes_waiting: Vec<PendingVote>,
    votes_writing: Option<Vec<PendingVote>>,
    /// Actions that wait for every vote received before them to be stored
    /// (the end, whose statistics count them; the shutdown).
    after_votes: Vec<(Member, Act, ReplyId)>,
    shutting_down: bool,
    pending: HashMap<WriteId, Pending>,
    next_write: WriteId,
    presence_dirty: bool,
    last_presence: Option<Instant>,
    /// Participants who came or went since the last flush, told to staff
    /// once per flush.
    roster_dirty: BTreeSet<i64>,
    last_sample: Option<(Instant, i32)>,
    idle_since: Option<Instant>,
    /// The media engine's word on this room, newest first seen.
    media: MediaState,
    polls: BTreeMap<i64, PollTally>,
    /// Polls whose counts changed, in the order they are to be told.
    dirty_polls: VecDeque<i64>,
    last_poll_frame: Option<Instant>,
    poll_votes_waiting: Vec<PendingPollVote>,
    poll_votes_writing: Option<Vec<PendingPollVote>>,
    reactions_waiting: Vec<(Emoji, ReplyId)>,
    reactions_writing: Option<Vec<(Emoji, ReplyId)>>,
    /// Stored reactions not yet told to the room.
    reactions_unsent: BTreeMap<Emoji, u64>,
    last_reactions: Option<Instant>,
    /// Participants' reaction allowances (those not full).
    allowances: HashMap<i64, Allowance>,
    /// Raised hands, oldest first; told to staff once per flush.
    hands: Vec<HandRow>,
    hands_dirty: bool,
    /// Attendees invited on stage who have not answered.
    invitations: BTreeSet<i64>,
    /// Invitations being accepted (they count against the stage's seats).
    accepting: BTreeSet<i64>,
    presenter: Option<Member>,
    speakers: Vec<Member>,
    stopped: bool,
    effects: Vec<Effect>,
}

fn forbidden(what: impl Into<String>) -> RoomError {
    RoomError::Forbidden(what.into())
}

/// The action each act asks of the actor's role (`None`: its handler
/// decides, as it depends on whom it is done to).
fn action_of(act: &Act) -> Option<Action> {
    Some(match act {
        Act::Chat { .. } => Action::Chat,
        Act::Ask { .. } => Action::AskQuestion,
        Act::Vote { .. } => Action::Vote,
        Act::DeleteMessage { .. } | Act::UpdateQuestion { .. } | Act::Promote { .. } => {
            Action::Moderate
        }
        Act::Settings(_) | Act::RecordingStopped { .. } => Action::ChangeSettings,
        Act::Kick { .. } => Action::Kick,
        Act::End => Action::EndRoom,
        Act::CreatePoll { .. } | Act::UpdatePoll { .. } | Act::DeletePoll { .. } => {
            Action::Moderate
        }
        Act::VotePoll { .. } => Action::Vote,
        Act::React { .. } => Action::React,
        Act::RaiseHand => Action::RaiseHand,
        Act::Invite { .. } => Action::RunStage,
        Act::AcceptStage | Act::DeclineStage => Action::JoinStage,
        Act::LowerHand { .. } | Act::RemoveFromStage { .. } => return None,
    })
}

fn member_of(p: &Participant) -> Member {
    Member {
        participant_id: p.id,
        name: p.name.clone(),
        role: p.role(),
    }
}

impl RoomCore {
    /// A room as stored, with its questions and polls and the media state
    /// the engine reports.
    pub fn new(
        room: Room,
        questions: Vec<QuestionRow>,
        polls: Vec<PollTally>,
        stage: Lineup,
        media: MediaState,
        at: At,
    ) -> Self {
        let mut core = Self {
            room,
            conns: BTreeMap::new(),
            connecting: HashMap::new(),
            online: BTreeMap::new(),
            questions: questions.into_iter().map(|q| (q.id, q)).collect(),
            dirty_questions: BTreeSet::new(),
            votes_waiting: Vec::new(),
            votes_writing: None,
            after_votes: Vec::new(),
            shutting_down: false,
            pending: HashMap::new(),
            next_write: 1,
            presence_dirty: false,
            last_presence: None,
            roster_dirty: BTreeSet::new(),
            last_sample: None,
            idle_since: Some(at.mono),
            media,
            polls: polls.into_iter().map(|p| (p.row.id, p)).collect(),
            dirty_polls: VecDeque::new(),
            last_poll_frame: None,
            poll_votes_waiting: Vec::new(),
            poll_votes_writing: None,
            reactions_waiting: Vec::new(),
            reactions_writing: None,
            reactions_unsent: BTreeMap::new(),
            last_reactions: None,
            allowances: HashMap::new(),
            hands: stage.hands,
            hands_dirty: false,
            invitations: stage.invited.into_iter().collect(),
            accepting: BTreeSet::new(),
            presenter: stage.presenter.as_ref().map(member_of),
            speakers: stage.speakers.iter().map(member_of).collect(),
            stopped: false,
            effects: Vec::new(),
        };
        // The stored status follows the engine's word, also for a change
        // made while the room had no task (its effects go out with the
        // first input).
        if core.media.live != core.room.is_live() && !core.room.is_ended() {
            let live = core.media.live;
            core.write(Write::SetLive { live }, Pending::SetLive);
        }
        core
    }

    pub fn room_id(&self) -> i64 {
        self.room.id
    }

    /// Takes one input; gives what to do about it.
    pub fn handle(&mut self, at: At, input: Input) -> Vec<Effect> {
        match input {
            Input::Connect { conn, member } => self.connect(conn, member),
            Input::Disconnect { conn } => self.disconnect(at, conn),
            Input::Act { member, act, reply } => self.act(at, member, act, reply),
            Input::Media(state) => self.media_changed(state),
            Input::Written { id, result } => self.written(at, id, result),
            Input::Tick => self.tick(at),
            Input::Shutdown => {
                self.shutting_down = true;
                self.settle_then_shut_down();
            }
        }
        std::mem::take(&mut self.effects)
    }

    // ---- the effects every handler uses ---------------------------------

    /// Sends `frame` to everyone in `to`: the one place that decides who
    /// receives what.
    fn deliver(&mut self, to: Audience, frame: ServerFrame) {
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(id, c)| to.includes(**id, &c.member))
            .map(|(id, _)| *id)
            .collect();
        if !conns.is_empty() {
            self.effects.push(Effect::Send { to: conns, frame });
        }
    }

    fn write(&mut self, write: Write, then: Pending) {
        let id = self.next_write;
        self.next_write += 1;
        self.pending.insert(id, then);
        self.effects.push(Effect::Write { id, write });
    }

    fn reply(&mut self, to: ReplyId, result: Result<Done, RoomError>) {
        self.effects.push(Effect::Reply { to, result });
    }

    fn room_view(&self) -> RoomView {
        RoomView::new(&self.room, i64::from(self.count()))
    }

    fn count(&self) -> i32 {
        i32::try_from(self.online.len()).unwrap_or(i32::MAX)
    }

    // ---- actions ------------------------------------------------------

    fn act(&mut self, at: At, member: Member, act: Act, reply: ReplyId) {
        if self.room.is_ended() {
            return self.reply(reply, Err(RoomError::Ended));
        }
        let member = Member {
            role: self.current_role(&member),
            ..member
        };
        if action_of(&act).is_some_and(|a| !member.role.can(a)) {
            let why = forbidden(format!("A {} may not do this.", member.role));
            return self.reply(reply, Err(why));
        }
        if self.shutting_down {
            return self.reply(reply, Err(RoomError::Unavailable));
        }
        // The end's statistics count every vote and reaction acknowledged
        // before it, and a poll closes (or goes) after the votes cast in
        // time are stored. What arrives after a parked act waits behind
        // it, so a storm cannot keep it waiting.
        let waits = matches!(
            act,
            Act::End | Act::UpdatePoll { .. } | Act::DeletePoll { .. }
        );
        let batched = matches!(
            act,
            Act::Vote { .. } | Act::VotePoll { .. } | Act::React { .. }
        );
        if (waits && self.batches_busy()) || (batched && !self.after_votes.is_empty()) {
            self.after_votes.push((member, act, reply));
            return;
        }
        match act {
            Act::Chat { body, client_id } => self.chat(&member, body, client_id, reply),
            Act::DeleteMessage { id } => self.delete_message(id, reply),
            Act::Ask {
                body,
                anonymous,
                client_id,
            } => self.ask(&member, body, anonymous, client_id, reply),
            Act::Promote { message_id } => self.promote(message_id, reply),
            Act::Vote { id, on } => self.vote(&member, id, on, reply),
            Act::UpdateQuestion { id, change } => {
                self.update_question(at, &member, id, change, reply)
            }
            Act::Settings(patch) => self.settings(patch, reply),
            Act::RecordingStopped { why } => {
                self.recording_stopped(why.code(), why.message(), reply)
            }
            Act::Kick { participant_id } => self.kick(member, participant_id, reply),
            Act::End => self.end(reply),
            Act::CreatePoll {
                question,
                options,
                multiple,
            } => self.create_poll(question, options, multiple, reply),
            Act::UpdatePoll { id, status } => self.update_poll(id, status, reply),
            Act::DeletePoll { id } => self.delete_poll(id, reply),
            Act::VotePoll { id, options } => self.vote_poll(&member, id, options, reply),
            Act::React { emoji } => self.react(at, &member, emoji, reply),
            Act::RaiseHand => self.raise_hand(at, &member, reply),
            Act::LowerHand { id } => self.lower_hand(&member, id, reply),
            Act::Invite { participant_id } => self.invite(at, participant_id, reply),
            Act::AcceptStage => self.accept_stage(&member, reply),
            Act::DeclineStage => self.decline_stage(&member, reply),
            Act::RemoveFromStage { participant_id } => {
                self.remove_from_stage(&member, participant_id, reply)
            }
        }
    }

    fn written(&mut self, at: At, id: WriteId, result: Result<Written, StoreError>) {
        let Some(then) = self.pending.remove(&id) else {
            return;
        };
        match then {
            Pending::Connect { conn } => self.connected(at, conn, result),
            Pending::Chat { reply } => self.chat_written(reply, result),
            Pending::DeleteMessage { reply, id } => self.message_deleted(reply, id, result),
            Pending::Question { reply } => self.question_written(reply, result),
            Pending::Promote { reply } => self.promote_found(reply, result),
            Pending::Update { reply, before } => self.question_updated(reply, before, result),
            Pending::Votes => self.votes_written(at, result),
            Pending::Settings { reply, stopped } => self.settings_written(reply, stopped, result),
            Pending::FindForKick { reply, actor } => self.kick_target_found(actor, reply, result),
            Pending::Kick { reply, target } => self.kicked(at, reply, target, result),
            Pending::End { reply } => self.ended(at, reply, result),
            Pending::SetLive => self.live_stored(result),
            Pending::Shutdown => self.effects.push(Effect::Stop),
            Pending::CreatePoll { reply } => self.poll_created(reply, result),
            Pending::UpdatePoll { reply, before } => self.poll_updated(reply, before, result),
            Pending::DeletePoll { reply, id } => self.poll_deleted(reply, id, result),
            Pending::PollVotes => self.poll_votes_written(at, result),
            Pending::Reactions => self.reactions_written(at, result),
            Pending::Hand {
                reply,
                hand,
                raised,
                own,
            } => self.hand_written(reply, hand, raised, own, result),
            Pending::Invite { reply } => self.invited(reply, result),
            Pending::Accept { reply, participant } => self.accepted(reply, participant, result),
            Pending::Decline { reply, participant } => self.declined(reply, participant, result),
            Pending::Unstage { reply, participant } => self.unstaged(reply, participant, result),
        }
    }

    /// Whether a batch (question votes, poll votes, reactions) is being
    /// written or waits to be.
    fn batches_busy(&self) -> bool {
        self.votes_busy() || self.poll_votes_busy() || self.reactions_busy()
    }

    /// A result of an unexpected kind: a bug in the task, told as one.
    fn unexpected(&mut self, reply: ReplyId, what: &str) {
        self.reply(
            reply,
            Err(RoomError::Internal(format!("unexpected result for {what}"))),
        );
    }
}
