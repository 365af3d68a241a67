//! The live room: a synchronous core per room (`core`) that decides
//! everything said and done in it, run by one task per active room
//! (`task`), found through the `Hub`. Sessions are channel ends: nothing
//! here knows about WebSockets or HTTP. `protocol` is the wire format,
//! `act` what participants ask for, `views` what they are shown.

pub mod act;
pub mod core;
pub mod protocol;
mod task;
pub mod views;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::cluster::{Cluster, REMOTE_CONN};
use crate::media::driver::MediaHandle;
use crate::media::MediaState;
use crate::store::PgPool;

pub use self::act::{
    Act, NewPoll, PollPatch, PollVote, QuestionEdit, QuestionPatch, Reaction, SettingsPatch,
    StageInvite,
};
pub use self::core::{Done, Member, RoomError};

/// Messages a session may queue before it counts as stuck and is cut off.
pub const SESSION_QUEUE: usize = 512;

/// The room's side of a session: pre-serialised text frames, and the close
/// code to use once the room lets go of the channel.
pub struct Outlet {
    pub rx: mpsc::Receiver<Arc<str>>,
    pub close: Arc<AtomicU16>,
}

impl Outlet {
    pub fn close_code(&self) -> u16 {
        self.close.load(Ordering::Relaxed)
    }
}

pub struct Connected {
    pub conn_id: u64,
    pub welcome: Arc<str>,
    pub outlet: Outlet,
}

/// Who waits for a connection's welcome.
enum Joiner {
    /// A session on this node.
    Local(oneshot::Sender<Result<Connected, RoomError>>),
    /// A member on another node: the welcome goes on that node's stream,
    /// and `reply` says whether the room took it.
    Remote {
        node: Arc<str>,
        token: u64,
        reply: oneshot::Sender<Result<(), RoomError>>,
    },
}

/// A home's answer to a node's keep-alive.
pub struct Kept {
    pub epoch: u64,
    pub seq: u64,
    pub unknown: Vec<u64>,
}

enum Command {
    Connect {
        member: Member,
        joiner: Joiner,
    },
    Disconnect {
        conn_id: u64,
    },
    /// A member on another node left; `epoch` names the core it joined.
    DisconnectFrom {
        epoch: u64,
        conn: u64,
    },
    /// Another node still has these members.
    Keep {
        node: Arc<str>,
        conns: Vec<u64>,
        reply: oneshot::Sender<Kept>,
    },
    /// The room's lease went to another node: this core stops.
    LostHome,
    Act {
        member: Member,
        act: Act,
        reply: oneshot::Sender<Result<Done, RoomError>>,
    },
    Media(MediaState),
    /// The server stops: tell everyone, store what is pending, stop.
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// Where rooms are found: one task per room id, started on first use and
/// gone when idle.
#[derive(Clone)]
pub struct Hub {
    pool: PgPool,
    media: MediaHandle,
    rooms: Arc<Mutex<HashMap<i64, mpsc::Sender<Command>>>>,
    /// Room tasks run here, whoever first asks for them.
    runtime: tokio::runtime::Handle,
    /// Other nodes, when there are any: rooms homed elsewhere are reached
    /// through it.
    cluster: Option<Arc<Cluster>>,
}

/// Where a room's core runs.
enum Route {
    Here,
    At(String),
}

/// How often a command is offered to a room whose task was stopping.
const ATTEMPTS: usize = 3;

impl Hub {
    /// Must be called inside the tokio runtime that will run the rooms.
    pub fn new(pool: PgPool, media: MediaHandle) -> Self {
        Self {
            pool,
            media,
            rooms: Arc::default(),
            runtime: tokio::runtime::Handle::current(),
            cluster: None,
        }
    }

    /// Rooms are run on whichever node of the cluster is their home.
    pub fn with_cluster(mut self, cluster: Arc<Cluster>) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// The room's task here, if one runs.
    fn running(&self, room_id: i64) -> Option<mpsc::Sender<Command>> {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms.get(&room_id).filter(|tx| !tx.is_closed()).cloned()
    }

    /// Where the room's core runs: here without a cluster, or when this
    /// node runs it or takes it (then its task starts, which keeps the
    /// lease). `known`: the home this node's members of the room are with
    /// is taken as it is, without asking the database (a retry after
    /// `Moved` asks).
    async fn route(&self, room_id: i64, known: bool) -> Result<Route, RoomError> {
        let Some(cluster) = &self.cluster else {
            return Ok(Route::Here);
        };
        if self.running(room_id).is_some() {
            return Ok(Route::Here);
        }
        if let Some(home) = known.then(|| cluster.remotes().home(room_id)).flatten() {
            return Ok(Route::At(home));
        }
        let home = cluster.home_of(room_id).await?;
        if home == cluster.node() {
            let _ = self.sender(room_id);
            return Ok(Route::Here);
        }
        Ok(Route::At(home))
    }

    /// `here` when the room's core runs on this node, else `there` with
    /// the node it runs on; again where the room is now when it moved.
    async fn routed<T, H, A>(
        &self,
        room_id: i64,
        here: impl Fn() -> H,
        there: impl Fn(Arc<Cluster>, String) -> A,
    ) -> Result<T, RoomError>
    where
        H: Future<Output = Result<T, RoomError>>,
        A: Future<Output = Result<T, RoomError>>,
    {
        for attempt in 0..ATTEMPTS {
            let result = match self.route(room_id, attempt == 0).await? {
                Route::Here => here().await,
                Route::At(home) => {
                    let cluster = self.cluster.clone().expect("routed by the cluster");
                    there(cluster, home).await
                }
            };
            match result {
                Err(RoomError::Moved) => continue,
                other => return other,
            }
        }
        Err(RoomError::Unavailable)
    }

    /// Hands the media engine's state changes to their rooms, one at a
    /// time in the order the engine made them, and keeps the count of live
    /// rooms for the metrics.
    pub fn follow_media(&self, mut events: mpsc::UnboundedReceiver<MediaState>) {
        let hub = self.clone();
        self.runtime.spawn(async move {
            let mut live = std::collections::HashSet::new();
            while let Some(state) = events.recv().await {
                if state.live {
                    live.insert(state.room_id);
                } else {
                    live.remove(&state.room_id);
                }
                crate::metrics::rooms_live(live.len());
                // A room with nobody connected gets a task too: it stores
                // the status the room's card shows.
                if let Err(e) = hub.media(state).await {
                    tracing::warn!(room = state.room_id, error = %e, "media state not delivered");
                }
            }
        });
    }

    /// Hands a media state change to the room's core, wherever it runs.
    async fn media(&self, state: MediaState) -> Result<(), RoomError> {
        self.routed(
            state.room_id,
            || self.media_here(state),
            |cluster, home| async move { cluster.remotes().media(&cluster, &home, state).await },
        )
        .await
    }

    /// A media state change for a room whose core runs here.
    pub(crate) async fn media_here(&self, state: MediaState) -> Result<(), RoomError> {
        for _ in 0..ATTEMPTS {
            let tx = self.sender(state.room_id);
            if tx.send(Command::Media(state)).await.is_ok() {
                return Ok(());
            }
        }
        Err(RoomError::Unavailable)
    }

    fn sender(&self, room_id: i64) -> mpsc::Sender<Command> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = rooms.get(&room_id).filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(1024);
        rooms.insert(room_id, tx.clone());
        task::spawn(
            &self.runtime,
            room_id,
            self.pool.clone(),
            self.media.clone(),
            (tx.clone(), rx),
            self.clone(),
        );
        tx
    }

    fn forget(&self, room_id: i64, tx: &mpsc::Sender<Command>) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if rooms.get(&room_id).is_some_and(|t| t.same_channel(tx)) {
            rooms.remove(&room_id);
        }
    }

    /// Called by a room task as it stops.
    fn forget_closed(&self, room_id: i64) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if rooms.get(&room_id).is_some_and(|t| t.is_closed()) {
            rooms.remove(&room_id);
        }
    }

    /// Tells every running room the server is restarting and waits until
    /// each has stored its sessions and statistics and stopped.
    pub async fn shutdown(&self) {
        let rooms: Vec<mpsc::Sender<Command>> = self
            .rooms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        let mut waiting = Vec::new();
        for tx in rooms {
            let (done, rx) = oneshot::channel();
            if tx.send(Command::Shutdown { done }).await.is_ok() {
                waiting.push(rx);
            }
        }
        for rx in waiting {
            let _ = rx.await;
        }
        if let Some(cluster) = &self.cluster {
            cluster.shutdown();
        }
    }

    /// Asks the room's task, and the next one if that task was stopping
    /// (a stopping task drops what it did not take, unanswered).
    async fn ask<T>(
        &self,
        room_id: i64,
        make: impl Fn(oneshot::Sender<Result<T, RoomError>>) -> Command,
    ) -> Result<T, RoomError> {
        for _ in 0..ATTEMPTS {
            let tx = self.sender(room_id);
            let (reply, rx) = oneshot::channel();
            if tx.send(make(reply)).await.is_err() {
                self.forget(room_id, &tx);
                continue;
            }
            match rx.await {
                Ok(result) => return result,
                Err(_) => self.forget(room_id, &tx),
            }
        }
        Err(RoomError::Unavailable)
    }

    pub async fn connect(&self, room_id: i64, member: Member) -> Result<Connected, RoomError> {
        self.routed(
            room_id,
            || {
                self.ask(room_id, |reply| Command::Connect {
                    member: member.clone(),
                    joiner: Joiner::Local(reply),
                })
            },
            |cluster, home| {
                let member = member.clone();
                async move {
                    let remotes = cluster.remotes();
                    remotes.connect(&cluster, &home, room_id, member).await
                }
            },
        )
        .await
    }

    /// A member on another node joins a room whose core runs here.
    pub(crate) async fn connect_from(
        &self,
        room_id: i64,
        member: Member,
        node: String,
        token: u64,
    ) -> Result<(), RoomError> {
        let node: Arc<str> = node.into();
        self.ask(room_id, |reply| Command::Connect {
            member: member.clone(),
            joiner: Joiner::Remote {
                node: node.clone(),
                token,
                reply,
            },
        })
        .await
    }

    pub fn disconnect(&self, room_id: i64, conn_id: u64) {
        if conn_id & REMOTE_CONN != 0 {
            if let Some(cluster) = &self.cluster {
                cluster.remotes().disconnect(cluster, room_id, conn_id);
            }
            return;
        }
        if let Some(tx) = self.running(room_id) {
            // If the queue is full the room is busy; it also notices closed
            // channels when it next writes to them.
            let _ = tx.try_send(Command::Disconnect { conn_id });
        }
    }

    /// A member on another node left a room whose core runs here.
    pub(crate) fn disconnect_from(&self, room_id: i64, epoch: u64, conn: u64) {
        if let Some(tx) = self.running(room_id) {
            // A full queue: the node's next keep-alive settles it.
            let _ = tx.try_send(Command::DisconnectFrom { epoch, conn });
        }
    }

    /// Another node's keep-alive for a room whose core runs here (`None`:
    /// it does not run here).
    pub(crate) async fn keep(&self, room_id: i64, node: String, conns: Vec<u64>) -> Option<Kept> {
        let tx = self.running(room_id)?;
        let (reply, rx) = oneshot::channel();
        let node = node.into();
        tx.send(Command::Keep { node, conns, reply }).await.ok()?;
        rx.await.ok()
    }

    pub async fn act(&self, room_id: i64, member: Member, act: Act) -> Result<Done, RoomError> {
        self.routed(
            room_id,
            || self.act_here(room_id, member.clone(), act.clone()),
            |cluster, home| {
                let (member, act) = (member.clone(), act.clone());
                async move {
                    let remotes = cluster.remotes();
                    remotes.act(&cluster, &home, room_id, member, act).await
                }
            },
        )
        .await
    }

    /// An action in a room whose core runs here.
    pub(crate) async fn act_here(
        &self,
        room_id: i64,
        member: Member,
        act: Act,
    ) -> Result<Done, RoomError> {
        self.ask(room_id, |reply| Command::Act {
            member: member.clone(),
            act: act.clone(),
            reply,
        })
        .await
    }

    /// The node that runs the room's core when it is not this one (its
    /// media sessions live there too).
    pub async fn home_elsewhere(&self, room_id: i64) -> Result<Option<String>, RoomError> {
        Ok(match self.route(room_id, false).await? {
            Route::Here => None,
            Route::At(home) => Some(home),
        })
    }

    /// Another node's session for the room's media (its viewers' source),
    /// when the room is homed here: the SDP answer.
    pub(crate) async fn upstream_here(
        &self,
        room_id: i64,
        offer: String,
    ) -> Result<String, RoomError> {
        if let Route::At(_) = self.route(room_id, false).await? {
            return Err(RoomError::Moved);
        }
        self.media
            .view(room_id, crate::media::NODE, offer)
            .await
            .map(|(_, answer)| answer)
            .map_err(|e| RoomError::InvalidInput(e.to_string()))
    }

    /// Rooms whose core runs here now.
    pub fn running_rooms(&self) -> usize {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms.values().filter(|tx| !tx.is_closed()).count()
    }

    /// The cluster this hub is part of, if any.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }
}
