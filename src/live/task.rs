//! One room's task: it feeds the room core its inputs in arrival order,
//! performs the writes the core asks for (one at a time, so what is stored
//! and announced keeps that order; vote batches beside the loop, as a
//! group commit) and delivers the frames the core addresses. It decides
//! nothing itself.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};

use super::core::{
    At, ConnId, Done, Effect, Input, Record, ReplyId, RoomCore, RoomError, Write, WriteId, Written,
    FLUSH_EVERY,
};
use super::protocol::{Close, ServerFrame};
use super::{Command, Connected, Hub, Outlet, SESSION_QUEUE};
use crate::media::driver::MediaHandle;
use crate::store::questions::NewQuestion;
use crate::store::{self, PgPool, StoreError};

/// Messages in the snapshot of a new connection.
const SNAPSHOT_MESSAGES: i64 = 50;

/// A batch written beside the loop (question votes, poll votes,
/// reactions): the loop goes on taking inputs meanwhile.
type BatchWrite = Pin<Box<dyn Future<Output = (WriteId, Result<Written, StoreError>)> + Send>>;

/// A socket as the task holds it: where its frames go and the code it
/// closes with once the channel is let go.
struct Socket {
    tx: mpsc::Sender<Arc<str>>,
    close: Arc<AtomicU16>,
}

/// A connection waiting for its welcome: its socket, the session's end of
/// it, and who waits for the answer.
type Joining = (
    Socket,
    Outlet,
    oneshot::Sender<Result<Connected, RoomError>>,
);

struct RoomTask {
    core: RoomCore,
    pool: PgPool,
    room_id: i64,
    sockets: HashMap<ConnId, Socket>,
    /// Connections waiting for their welcome.
    connecting: HashMap<ConnId, Joining>,
    replies: HashMap<ReplyId, oneshot::Sender<Result<Done, RoomError>>>,
    batches: FuturesUnordered<BatchWrite>,
    next_conn: ConnId,
    next_reply: ReplyId,
    stop: bool,
    shutdown_done: Vec<oneshot::Sender<()>>,
}

pub(super) fn spawn(
    runtime: &tokio::runtime::Handle,
    room_id: i64,
    pool: PgPool,
    media: MediaHandle,
    mut rx: mpsc::Receiver<Command>,
    hub: Hub,
) {
    runtime.spawn(async move {
        match start(room_id, &pool, &media).await {
            Ok(core) => RoomTask::new(core, pool, room_id).run(&mut rx).await,
            Err(e) => tracing::warn!(room_id, error = %e, "room could not start"),
        }
        // Unanswered commands are dropped: their callers try again, which
        // starts a new task.
        rx.close();
        hub.forget_closed(room_id);
    });
}

async fn start(room_id: i64, pool: &PgPool, media: &MediaHandle) -> Result<RoomCore, StoreError> {
    let (room, questions, polls, stage) = store::blocking(pool, move |c| {
        let room = store::rooms::find_by_id(c, room_id)?
            .ok_or_else(|| StoreError::Internal(format!("room {room_id} is gone")))?;
        // Connections a crash left open end now, not never.
        store::presence::close_stale_sessions(c, room_id)?;
        let questions = store::questions::all_in_room(c, room_id)?;
        let polls = store::polls::all_in_room(c, room_id)?;
        let stage = store::stage::lineup(c, room_id)?;
        Ok((room, questions, polls, stage))
    })
    .await?;
    // The engine owns the media state; the room asks it as it starts and
    // hears every change after, in order.
    let state = media.state(room_id).await;
    Ok(RoomCore::new(
        room,
        questions,
        polls,
        stage,
        state,
        At::now(),
    ))
}

impl RoomTask {
    fn new(core: RoomCore, pool: PgPool, room_id: i64) -> Self {
        Self {
            core,
            pool,
            room_id,
            sockets: HashMap::new(),
            connecting: HashMap::new(),
            replies: HashMap::new(),
            batches: FuturesUnordered::new(),
            next_conn: 1,
            next_reply: 1,
            stop: false,
            shutdown_done: Vec::new(),
        }
    }

    async fn run(mut self, rx: &mut mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while !self.stop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.command(cmd).await,
                    None => break,
                },
                Some((id, result)) = self.batches.next(), if !self.batches.is_empty() => {
                    self.input(Input::Written { id, result }).await;
                }
                _ = tick.tick() => {
                    self.closed_sockets().await;
                    self.input(Input::Tick).await;
                }
            }
        }
        for done in self.shutdown_done.drain(..) {
            let _ = done.send(());
        }
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Connect { member, reply } => {
                let conn = self.next_conn;
                self.next_conn += 1;
                let (tx, rx) = mpsc::channel(SESSION_QUEUE);
                let close = Arc::new(AtomicU16::new(Close::Normal.code()));
                let outlet = Outlet {
                    rx,
                    close: close.clone(),
                };
                self.connecting
                    .insert(conn, (Socket { tx, close }, outlet, reply));
                self.input(Input::Connect { conn, member }).await;
            }
            Command::Disconnect { conn_id } => {
                self.input(Input::Disconnect { conn: conn_id }).await
            }
            Command::Act { member, act, reply } => {
                let id = self.next_reply;
                self.next_reply += 1;
                self.replies.insert(id, reply);
                let chat = matches!(act, super::Act::Chat { .. });
                let t0 = std::time::Instant::now();
                self.input(Input::Act {
                    member,
                    act,
                    reply: id,
                })
                .await;
                if chat && !self.replies.contains_key(&id) {
                    crate::metrics::chat_delivered(t0.elapsed());
                }
            }
            Command::Media(state) => self.input(Input::Media(state)).await,
            Command::Shutdown { done } => {
                self.shutdown_done.push(done);
                self.input(Input::Shutdown).await;
            }
        }
    }

    /// Feeds the core one input and performs everything that follows from
    /// it, writes included, before the next input.
    async fn input(&mut self, input: Input) {
        let mut queue: VecDeque<Effect> = self.core.handle(At::now(), input).into();
        while let Some(effect) = queue.pop_front() {
            let more = match effect {
                Effect::Write { id, write } if write.is_batch() => {
                    let (pool, room) = (self.pool.clone(), self.room_id);
                    self.batches.push(Box::pin(
                        async move { (id, perform(&pool, room, write).await) },
                    ));
                    Vec::new()
                }
                Effect::Write { id, write } => {
                    let result = perform(&self.pool, self.room_id, write).await;
                    self.core.handle(At::now(), Input::Written { id, result })
                }
                Effect::Record(record) => {
                    self.record(record);
                    Vec::new()
                }
                Effect::Send { to, frame } => self.deliver(&to, &frame),
                Effect::Welcome { conn, frame } => self.welcome(conn, &frame),
                Effect::Refuse { conn, error } => {
                    if let Some((_, _, reply)) = self.connecting.remove(&conn) {
                        let _ = reply.send(Err(error));
                    }
                    Vec::new()
                }
                Effect::Close { conn, close } => {
                    if let Some(s) = self.sockets.remove(&conn) {
                        // Dropping the sender ends the session, with this code.
                        s.close.store(close.code(), Ordering::Relaxed);
                    }
                    Vec::new()
                }
                Effect::Reply { to, result } => {
                    if let Some(reply) = self.replies.remove(&to) {
                        let _ = reply.send(result);
                    }
                    Vec::new()
                }
                Effect::Stop => {
                    self.stop = true;
                    Vec::new()
                }
            };
            for e in more.into_iter().rev() {
                queue.push_front(e);
            }
        }
    }

    /// Queues a frame for every socket it is addressed to. A socket whose
    /// queue is full is stuck: it is cut off (4008) and comes back to a
    /// fresh snapshot, so it never slows the others.
    fn deliver(&mut self, to: &[ConnId], frame: &ServerFrame) -> Vec<Effect> {
        let text = frame.text();
        let mut sent = 0;
        let mut gone = Vec::new();
        for conn in to {
            let Some(s) = self.sockets.get(conn) else {
                continue;
            };
            match s.tx.try_send(text.clone()) {
                Ok(()) => sent += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    s.close.store(Close::TooSlow.code(), Ordering::Relaxed);
                    gone.push(*conn);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => gone.push(*conn),
            }
        }
        if sent > 0 {
            crate::metrics::ws_out(frame.kind(), sent);
        }
        self.let_go(gone)
    }

    /// Sockets the task stops writing to: the core hears they went.
    fn let_go(&mut self, conns: Vec<ConnId>) -> Vec<Effect> {
        let mut effects = Vec::new();
        for conn in conns {
            self.sockets.remove(&conn);
            effects.extend(self.core.handle(At::now(), Input::Disconnect { conn }));
        }
        effects
    }

    fn welcome(&mut self, conn: ConnId, frame: &ServerFrame) -> Vec<Effect> {
        let Some((socket, outlet, reply)) = self.connecting.remove(&conn) else {
            return Vec::new();
        };
        crate::metrics::ws_out(frame.kind(), 1);
        self.sockets.insert(conn, socket);
        let connected = Connected {
            conn_id: conn,
            welcome: frame.text(),
            outlet,
        };
        if reply.send(Ok(connected)).is_err() {
            // The session gave up waiting: undo.
            return self.let_go(vec![conn]);
        }
        Vec::new()
    }

    /// Sessions that ended on their side since the last tick.
    async fn closed_sockets(&mut self) {
        let closed: Vec<ConnId> = self
            .sockets
            .iter()
            .filter(|(_, s)| s.tx.is_closed())
            .map(|(id, _)| *id)
            .collect();
        for conn in closed {
            self.sockets.remove(&conn);
            self.input(Input::Disconnect { conn }).await;
        }
    }

    /// Bookkeeping off the room's path: the room never waits for it.
    fn record(&self, record: Record) {
        let (pool, room_id) = (self.pool.clone(), self.room_id);
        tokio::task::spawn_blocking(move || {
            let Ok(mut c) = pool.get() else { return };
            let result = match record {
                Record::CloseSession(row) => store::presence::close_session(&mut c, row),
                Record::Sample { at, concurrent } => {
                    store::presence::sample(&mut c, room_id, at, concurrent)
                }
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "room bookkeeping not stored");
            }
        });
    }
}

/// Performs one write of the core's on the blocking pool.
async fn perform(pool: &PgPool, room: i64, write: Write) -> Result<Written, StoreError> {
    use crate::store::{
        messages, participants, polls, presence, questions, reactions, rooms, stage, stats,
    };
    store::blocking(pool, move |c| {
        Ok(match write {
            Write::Snapshot { participant } => {
                let (messages, _) = messages::page(c, room, SNAPSHOT_MESSAGES, None)?;
                let voted = questions::voted_by(c, room, participant)?;
                let choices = polls::choices_of(c, room, participant)?;
                let session = presence::open_session(c, room, participant)?;
                Written::Snapshot {
                    messages,
                    voted,
                    choices,
                    session,
                }
            }
            Write::InsertMessage {
                participant,
                body,
                client_id,
            } => {
                let (row, created) =
                    messages::insert(c, room, participant, &body, client_id.as_deref())?;
                Written::Message { row, created }
            }
            Write::DeleteMessage { id } => Written::Done(messages::delete(c, room, id)?),
            Write::FindMessage { id } => Written::Found(messages::find(c, room, id)?),
            Write::InsertQuestion {
                participant,
                body,
                anonymous,
                approved,
                client_id,
                source_message_id,
            } => {
                let (row, created) = questions::insert(
                    c,
                    &NewQuestion {
                        room_id: room,
                        participant_id: participant,
                        body: &body,
                        anonymous,
                        approved,
                        client_id: client_id.as_deref(),
                        source_message_id,
                    },
                )?;
                // A retried send is answered with the votes of today.
                let voted =
                    !created && questions::voted_by(c, room, participant)?.contains(&row.id);
                Written::Question {
                    row,
                    created,
                    voted,
                }
            }
            Write::UpdateQuestion { id, change, viewer } => {
                let row = questions::update(c, id, &change)?;
                let voted = questions::voted_by(c, room, viewer)?.contains(&id);
                Written::Question {
                    row,
                    created: false,
                    voted,
                }
            }
            Write::Votes { ops } => Written::Votes(questions::set_votes(c, room, &ops)?),
            Write::Settings(change) => Written::Room(rooms::update_settings(c, room, &change)?),
            Write::FindParticipant { id } => {
                Written::Participant(participants::find_by_id(c, room, id)?)
            }
            Write::Kick { id } => Written::Done(participants::kick(c, room, id)?.is_some()),
            Write::End => match rooms::end(c, room, chrono::Utc::now())? {
                Some(ended) => {
                    let raw = Box::new(stats::load(c, &ended)?);
                    Written::Ended { room: ended, raw }
                }
                None => Written::Done(false),
            },
            Write::SetLive { live } => match rooms::set_live(c, room, live)? {
                Some(r) => Written::Room(r),
                None => Written::Done(false),
            },
            Write::CreatePoll {
                question,
                options,
                multiple,
            } => Written::Poll(Some(polls::insert(c, room, &question, &options, multiple)?)),
            Write::UpdatePoll { id, status } => {
                Written::Poll(polls::set_status(c, room, id, status, chrono::Utc::now())?)
            }
            Write::DeletePoll { id } => Written::Done(polls::delete(c, room, id)?),
            Write::PollVotes { ops } => {
                let (stored, tallies) = polls::set_votes(c, room, &ops)?;
                Written::PollVotes { stored, tallies }
            }
            Write::Reactions { minute, counts } => {
                reactions::add(c, room, minute, &counts)?;
                Written::Done(true)
            }
            Write::SetHand { participant, at } => {
                Written::Done(stage::set_hand(c, room, participant, at)?)
            }
            Write::Invite { participant, at } => {
                Written::Participant(stage::invite(c, room, participant, at)?)
            }
            Write::Uninvite { participant } => {
                Written::Done(stage::uninvite(c, room, participant)?)
            }
            Write::MakeSpeaker { participant } => {
                Written::Participant(stage::make_speaker(c, room, participant)?)
            }
            Write::MakeAttendee { participant } => {
                Written::Participant(stage::make_attendee(c, room, participant)?)
            }
            Write::Shutdown { sessions, live } => {
                for row in sessions {
                    presence::close_session(c, row)?;
                }
                if live {
                    rooms::set_live(c, room, false)?;
                }
                Written::Done(true)
            }
        })
    })
    .await
}
