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
use std::time::Instant;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};

use super::core::{
    At, ConnId, Done, Effect, Input, Record, ReplyId, RoomCore, RoomError, Write, WriteId, Written,
    FLUSH_EVERY,
};
use super::protocol::{Close, ServerFrame};
use super::{Command, Connected, Hub, Joiner, Kept, Outlet, SESSION_QUEUE};
use crate::cluster::wire::{Delivery, Item};
use crate::cluster::{Cluster, RENEW_EVERY, SILENCE};
use crate::media::driver::MediaHandle;
use crate::store::questions::NewQuestion;
use crate::store::{self, PgPool, StoreError};

/// Messages in the snapshot of a new connection.
const SNAPSHOT_MESSAGES: i64 = 50;

/// A batch written beside the loop (question votes, poll votes,
/// reactions): the loop goes on taking inputs meanwhile.
type BatchWrite = Pin<Box<dyn Future<Output = (WriteId, Result<Written, StoreError>)> + Send>>;

/// A socket as the task holds it: where its frames go and the code it
/// closes with once the channel is let go; or a member on another node.
enum Socket {
    Local {
        tx: mpsc::Sender<Arc<str>>,
        close: Arc<AtomicU16>,
    },
    Remote {
        node: Arc<str>,
    },
}

/// A connection waiting for its welcome: a local one's socket, the
/// session's end of it and who waits for the answer; or a member on
/// another node.
enum Joining {
    Local(
        Socket,
        Outlet,
        oneshot::Sender<Result<Connected, RoomError>>,
    ),
    Remote {
        node: Arc<str>,
        token: u64,
        reply: oneshot::Sender<Result<(), RoomError>>,
    },
}

/// What this core sends the other nodes: its number among the room's
/// cores, and per node its stream (the subject, made once, and the last
/// delivery's number), its members here and when it last said they are
/// there.
struct Peers {
    cluster: Arc<Cluster>,
    epoch: u64,
    streams: HashMap<Arc<str>, (String, u64)>,
    members: HashMap<Arc<str>, usize>,
    heard: HashMap<Arc<str>, Instant>,
}

impl Peers {
    fn send(&mut self, room: i64, node: &Arc<str>, item: Item<'_>) {
        let cluster = &self.cluster;
        let (subject, seq) = self
            .streams
            .entry(node.clone())
            .or_insert_with(|| (cluster.delivery_subject(room, node), 0));
        *seq += 1;
        let delivery = Delivery {
            epoch: self.epoch,
            seq: *seq,
            item,
        };
        cluster.deliver(subject, &delivery);
    }
}

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
    /// The other nodes with members here, in a cluster.
    peers: Option<Peers>,
}

pub(super) fn spawn(
    runtime: &tokio::runtime::Handle,
    room_id: i64,
    pool: PgPool,
    media: MediaHandle,
    (tx, mut rx): (mpsc::Sender<Command>, mpsc::Receiver<Command>),
    hub: Hub,
) {
    runtime.spawn(async move {
        let cluster = hub.cluster.clone();
        let home = match &cluster {
            Some(c) => c.home_of(room_id).await.map(|h| h == c.node()),
            None => Ok(true),
        };
        match home {
            Ok(true) => match start(room_id, &pool, &media).await {
                Ok(core) => {
                    let renewing = cluster
                        .clone()
                        .map(|c| tokio::spawn(renew(c, room_id, tx.clone())));
                    drop(tx);
                    let peers = cluster.clone().map(|cluster| Peers {
                        cluster,
                        epoch: epoch(),
                        streams: HashMap::new(),
                        members: HashMap::new(),
                        heard: HashMap::new(),
                    });
                    RoomTask::new(core, pool, room_id, peers).run(&mut rx).await;
                    if let Some(r) = renewing {
                        r.abort();
                    }
                    if let Some(c) = &cluster {
                        c.release(room_id).await;
                    }
                }
                Err(e) => tracing::warn!(room_id, error = %e, "room could not start"),
            },
            // Another node is the room's home: whoever asked, asks there.
            Ok(false) => {
                rx.close();
                while let Ok(cmd) = rx.try_recv() {
                    refuse(cmd, RoomError::Moved);
                }
            }
            Err(e) => tracing::warn!(room_id, error = %e, "room's home not known"),
        }
        // Unanswered commands are dropped: their callers try again, which
        // starts a new task.
        rx.close();
        hub.forget_closed(room_id);
    });
}

/// A number for this core among the room's cores over time, so another
/// node can tell a delivery from a new one.
fn epoch() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    })
}

/// Answers a command the room will not take.
fn refuse(cmd: Command, error: RoomError) {
    match cmd {
        Command::Connect {
            joiner: Joiner::Local(reply),
            ..
        } => drop(reply.send(Err(error))),
        Command::Connect {
            joiner: Joiner::Remote { reply, .. },
            ..
        } => drop(reply.send(Err(error))),
        Command::Act { reply, .. } => drop(reply.send(Err(error))),
        Command::Shutdown { done } => drop(done.send(())),
        _ => {}
    }
}

/// Keeps the room's lease while its core runs here; tells the core when
/// it is lost (another node took the room, or the database was away for
/// as long as the lease lasts).
async fn renew(cluster: Arc<Cluster>, room_id: i64, tx: mpsc::Sender<Command>) {
    let mut renewed = Instant::now();
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        if tx.is_closed() {
            return;
        }
        match cluster.renew(room_id).await {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => break,
            Err(_) if renewed.elapsed() + RENEW_EVERY >= crate::cluster::LEASE => break,
            Err(_) => {}
        }
    }
    tracing::warn!(room_id, "room lease lost: its core stops here");
    let _ = tx.send(Command::LostHome).await;
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
    fn new(core: RoomCore, pool: PgPool, room_id: i64, peers: Option<Peers>) -> Self {
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
            peers,
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
            Command::Connect { member, joiner } => {
                let conn = self.next_conn;
                self.next_conn += 1;
                let joining = match joiner {
                    Joiner::Local(reply) => {
                        let (tx, rx) = mpsc::channel(SESSION_QUEUE);
                        let close = Arc::new(AtomicU16::new(Close::Normal.code()));
                        let outlet = Outlet {
                            rx,
                            close: close.clone(),
                        };
                        Joining::Local(Socket::Local { tx, close }, outlet, reply)
                    }
                    Joiner::Remote { node, token, reply } => {
                        if let Some(peers) = &mut self.peers {
                            peers.heard.insert(node.clone(), Instant::now());
                        }
                        Joining::Remote { node, token, reply }
                    }
                };
                self.connecting.insert(conn, joining);
                self.input(Input::Connect { conn, member }).await;
            }
            Command::Disconnect { conn_id } => {
                self.input(Input::Disconnect { conn: conn_id }).await
            }
            Command::DisconnectFrom { epoch, conn } => {
                let ours = self.peers.as_ref().is_some_and(|p| p.epoch == epoch);
                if ours && self.remove_socket(conn).is_some() {
                    self.input(Input::Disconnect { conn }).await
                }
            }
            Command::Keep { node, conns, reply } => {
                let _ = reply.send(self.keep(node, conns));
            }
            Command::LostHome => {
                // Everyone here reconnects, and reaches the new home.
                self.input(Input::Shutdown).await;
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
                    match self.connecting.remove(&conn) {
                        Some(Joining::Local(_, _, reply)) => drop(reply.send(Err(error))),
                        Some(Joining::Remote { reply, .. }) => drop(reply.send(Err(error))),
                        None => {}
                    }
                    Vec::new()
                }
                Effect::Close { conn, close } => {
                    match self.remove_socket(conn) {
                        // Dropping the sender ends the session, with this code.
                        Some(Socket::Local { close: code, .. }) => {
                            code.store(close.code(), Ordering::Relaxed)
                        }
                        Some(Socket::Remote { node }) => {
                            let code = close.code();
                            self.send_to(&node, Item::Close { conn, code });
                        }
                        None => {}
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

    /// Queues a frame for every socket it is addressed to, and once for
    /// each other node with recipients. A socket whose queue is full is
    /// stuck: it is cut off (4008) and comes back to a fresh snapshot, so
    /// it never slows the others.
    fn deliver(&mut self, to: &[ConnId], frame: &ServerFrame) -> Vec<Effect> {
        let text = frame.text();
        let mut sent = 0;
        let mut gone = Vec::new();
        let mut elsewhere: HashMap<Arc<str>, Vec<ConnId>> = HashMap::new();
        for conn in to {
            match self.sockets.get(conn) {
                None => {}
                Some(Socket::Local { tx, close }) => match tx.try_send(text.clone()) {
                    Ok(()) => sent += 1,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        close.store(Close::TooSlow.code(), Ordering::Relaxed);
                        gone.push(*conn);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => gone.push(*conn),
                },
                Some(Socket::Remote { node }) => {
                    elsewhere.entry(node.clone()).or_default().push(*conn)
                }
            }
        }
        if let Some(peers) = &mut self.peers {
            for (node, conns) in elsewhere {
                sent += conns.len();
                // A frame for all of a node's members names none of them.
                let all = peers.members.get(&node) == Some(&conns.len());
                let item = Item::Frames {
                    conns: (!all).then_some(conns),
                    text: std::borrow::Cow::Borrowed(&text),
                };
                peers.send(self.room_id, &node, item);
            }
        }
        if sent > 0 {
            crate::metrics::ws_out(frame.kind(), sent as u64);
        }
        self.let_go(gone)
    }

    fn send_to(&mut self, node: &Arc<str>, item: Item<'_>) {
        if let Some(peers) = &mut self.peers {
            peers.send(self.room_id, node, item);
        }
    }

    fn add_socket(&mut self, conn: ConnId, socket: Socket) {
        if let (Socket::Remote { node }, Some(peers)) = (&socket, &mut self.peers) {
            *peers.members.entry(node.clone()).or_insert(0) += 1;
        }
        self.sockets.insert(conn, socket);
    }

    fn remove_socket(&mut self, conn: ConnId) -> Option<Socket> {
        let socket = self.sockets.remove(&conn)?;
        if let (Socket::Remote { node }, Some(peers)) = (&socket, &mut self.peers) {
            if let Some(n) = peers.members.get_mut(node) {
                *n = n.saturating_sub(1);
            }
        }
        Some(socket)
    }

    /// A node's keep-alive: it is still there, with these members.
    fn keep(&mut self, node: Arc<str>, conns: Vec<u64>) -> Kept {
        let unknown = conns
            .into_iter()
            .filter(
                |c| !matches!(self.sockets.get(c), Some(Socket::Remote { node: n }) if *n == node),
            )
            .collect();
        let Some(peers) = &mut self.peers else {
            return Kept {
                epoch: 0,
                seq: 0,
                unknown,
            };
        };
        peers.heard.insert(node.clone(), Instant::now());
        Kept {
            epoch: peers.epoch,
            seq: peers.streams.get(&node).map_or(0, |(_, seq)| *seq),
            unknown,
        }
    }

    /// Sockets the task stops writing to: the core hears they went.
    fn let_go(&mut self, conns: Vec<ConnId>) -> Vec<Effect> {
        let mut effects = Vec::new();
        for conn in conns {
            self.remove_socket(conn);
            effects.extend(self.core.handle(At::now(), Input::Disconnect { conn }));
        }
        effects
    }

    fn welcome(&mut self, conn: ConnId, frame: &ServerFrame) -> Vec<Effect> {
        match self.connecting.remove(&conn) {
            None => Vec::new(),
            Some(Joining::Local(socket, outlet, reply)) => {
                crate::metrics::ws_out(frame.kind(), 1);
                self.add_socket(conn, socket);
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
            Some(Joining::Remote { node, token, reply }) => {
                crate::metrics::ws_out(frame.kind(), 1);
                self.add_socket(conn, Socket::Remote { node: node.clone() });
                let text = frame.text();
                let item = Item::Welcome {
                    token,
                    conn,
                    text: std::borrow::Cow::Borrowed(&text),
                };
                self.send_to(&node, item);
                let _ = reply.send(Ok(()));
                Vec::new()
            }
        }
    }

    /// Sessions that ended on their side since the last tick, and the
    /// members of nodes not heard from for a while.
    async fn closed_sockets(&mut self) {
        self.leave_where(|s| matches!(s, Socket::Local { tx, .. } if tx.is_closed()))
            .await;
        let Some(peers) = &mut self.peers else {
            return;
        };
        let silent: Vec<Arc<str>> = peers
            .heard
            .iter()
            .filter(|(_, at)| at.elapsed() > SILENCE)
            .map(|(node, _)| node.clone())
            .collect();
        for node in &silent {
            peers.heard.remove(node);
        }
        for node in silent {
            tracing::info!(room = self.room_id, %node, "cluster: node silent, its members leave");
            self.leave_where(|s| matches!(s, Socket::Remote { node: n } if *n == node))
                .await;
            let Some(peers) = &mut self.peers else {
                return;
            };
            peers.members.remove(&node);
        }
    }

    /// The sockets `gone` picks leave the room.
    async fn leave_where(&mut self, gone: impl Fn(&Socket) -> bool) {
        let conns: Vec<ConnId> = self
            .sockets
            .iter()
            .filter(|(_, s)| gone(s))
            .map(|(id, _)| *id)
            .collect();
        for conn in conns {
            self.remove_socket(conn);
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
