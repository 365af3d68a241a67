//! The live room: one task per active room owns its state and decides, one
//! command at a time, everything said and done in it. Sessions are channel
//! ends; nothing here knows about WebSockets or HTTP.

pub mod protocol;
mod room;
pub mod views;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::domain::Role;
use crate::error::ApiError;
use crate::store::PgPool;

pub use room::{frame_type, Act, QuestionPatch, SettingsPatch};

/// Messages a session may queue before it counts as stuck and is cut off.
pub const SESSION_QUEUE: usize = 512;

/// Who is acting or connecting.
#[derive(Debug, Clone)]
pub struct Member {
    pub participant_id: i64,
    pub name: String,
    pub role: Role,
}

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

/// WebSocket close codes the room decides.
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const KICKED: u16 = 4003;
    pub const TOO_SLOW: u16 = 4008;
    /// The server is restarting: reconnect (RFC 6455 "service restart").
    pub const RESTARTING: u16 = 1012;
}

pub struct Connected {
    pub conn_id: u64,
    pub welcome: Arc<str>,
    pub outlet: Outlet,
}

enum Command {
    Connect {
        member: Member,
        reply: oneshot::Sender<Result<Connected, ApiError>>,
    },
    Disconnect {
        conn_id: u64,
    },
    Act {
        member: Member,
        act: Act,
        reply: oneshot::Sender<Result<Value, ApiError>>,
    },
    Media {
        live: bool,
        screen: bool,
        reconnecting: bool,
    },
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
    rooms: Arc<Mutex<HashMap<i64, mpsc::Sender<Command>>>>,
    /// Rooms with media now: (live, screen shared). The screen flag is for
    /// room tasks (re)starting, the live count for the metrics; a room's
    /// live status itself is stored with the room.
    media: Arc<Mutex<HashMap<i64, (bool, bool)>>>,
    /// Room tasks run here, whoever first asks for them.
    runtime: tokio::runtime::Handle,
}

impl Hub {
    /// Must be called inside the tokio runtime that will run the rooms.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            rooms: Arc::default(),
            media: Arc::default(),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// The media engine says a room went live, stopped, or shared a screen.
    pub async fn media_state(&self, s: crate::media::MediaState) {
        let (room_id, live, screen) = (s.room_id, s.live, s.screen);
        {
            let mut media = self.media.lock().unwrap_or_else(|p| p.into_inner());
            if live || screen {
                media.insert(room_id, (live, screen));
            } else {
                media.remove(&room_id);
            }
            crate::metrics::rooms_live(media.values().filter(|(live, _)| *live).count());
        }
        let reconnecting = s.reconnecting;
        let _ = self
            .send(
                room_id,
                Command::Media {
                    live,
                    screen,
                    reconnecting,
                },
            )
            .await;
    }

    fn screen_of(&self, room_id: i64) -> bool {
        self.media
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&room_id)
            .is_some_and(|(_, screen)| *screen)
    }

    fn sender(&self, room_id: i64) -> mpsc::Sender<Command> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = rooms.get(&room_id).filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(1024);
        rooms.insert(room_id, tx.clone());
        room::spawn(
            &self.runtime,
            room_id,
            self.pool.clone(),
            rx,
            self.clone(),
            self.screen_of(room_id),
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

    fn forget_closed(&self, room_id: i64) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if rooms.get(&room_id).is_some_and(|t| t.is_closed()) {
            rooms.remove(&room_id);
        }
    }

    /// Sends to the room's task; a task that just went idle is replaced.
    async fn send(&self, room_id: i64, mut cmd: Command) -> Result<(), ApiError> {
        for _ in 0..3 {
            let tx = self.sender(room_id);
            match tx.send(cmd).await {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(back)) => {
                    self.forget(room_id, &tx);
                    cmd = back;
                }
            }
        }
        Err(ApiError::Unavailable(
            "The room is restarting: please try again.".into(),
        ))
    }

    pub async fn connect(&self, room_id: i64, member: Member) -> Result<Connected, ApiError> {
        let (reply, rx) = oneshot::channel();
        self.send(room_id, Command::Connect { member, reply })
            .await?;
        rx.await.map_err(|_| gone())?
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

    pub async fn act(&self, room_id: i64, member: Member, act: Act) -> Result<Value, ApiError> {
        let (reply, rx) = oneshot::channel();
        self.send(room_id, Command::Act { member, act, reply })
            .await?;
        rx.await.map_err(|_| gone())?
    }
}

fn gone() -> ApiError {
    ApiError::Unavailable("The room restarted: please try again.".into())
}
