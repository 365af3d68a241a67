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
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

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

enum Command {
    Connect {
        member: Member,
        reply: oneshot::Sender<Result<Connected, RoomError>>,
    },
    Disconnect {
        conn_id: u64,
    },
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
        }
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
                for _ in 0..ATTEMPTS {
                    let tx = hub.sender(state.room_id);
                    if tx.send(Command::Media(state)).await.is_ok() {
                        break;
                    }
                }
            }
        });
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
            rx,
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
        self.ask(room_id, |reply| Command::Connect {
            member: member.clone(),
            reply,
        })
        .await
    }

    pub fn disconnect(&self, room_id: i64, conn_id: u64) {
        if let Some(tx) = self
            .rooms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&room_id)
        {
            // If the queue is full the room is busy; it also notices closed
            // channels when it next writes to them.
            let _ = tx.try_send(Command::Disconnect { conn_id });
        }
    }

    pub async fn act(&self, room_id: i64, member: Member, act: Act) -> Result<Done, RoomError> {
        self.ask(room_id, |reply| Command::Act {
            member: member.clone(),
            act: act.clone(),
            reply,
        })
        .await
    }
}
