//! This node's members of rooms whose home is another node: their
//! connections are proxies of the home core's, fed from the ordered
//! stream the home sends this node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use super::wire::{Answer, Ask, Delivery, Item};
use super::{AskFailed, Cluster, KEEP_EVERY};
use crate::live::core::{Done, Member};
use crate::live::protocol::Close;
use crate::live::{Act, Connected, Outlet, RoomError, SESSION_QUEUE};

/// Set in the connection ids this node gives its members of rooms homed
/// elsewhere, so they never meet the ids of a core running here.
pub const REMOTE_CONN: u64 = 1 << 62;

/// Keep-alives a home may miss before its members here resync.
const MISSES: u32 = 3;
/// How long a member waits for its welcome once the home took it.
const WELCOME_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Default)]
pub(crate) struct Remotes {
    rooms: Mutex<HashMap<i64, Proxy>>,
    next_local: AtomicU64,
    next_token: AtomicU64,
}

/// One room homed elsewhere, as this node holds it.
struct Proxy {
    home: String,
    /// The home core the connections below belong to.
    epoch: Option<u64>,
    /// The last delivery's number.
    seq: u64,
    /// What the home said it had sent by the previous keep-alive: it must
    /// have arrived by the next one.
    owed: u64,
    misses: u32,
    sockets: HashMap<u64, Socket>,
    /// This node's connection ids and the home core's.
    locals: HashMap<u64, u64>,
    joining: HashMap<u64, oneshot::Sender<Connected>>,
}

struct Socket {
    tx: mpsc::Sender<Arc<str>>,
    close: Arc<AtomicU16>,
    local: u64,
}

impl Proxy {
    fn new(home: &str) -> Self {
        Self {
            home: home.to_owned(),
            epoch: None,
            seq: 0,
            owed: 0,
            misses: 0,
            sockets: HashMap::new(),
            locals: HashMap::new(),
            joining: HashMap::new(),
        }
    }

    /// Closes every socket with 1012: the clients come back to a fresh
    /// snapshot. Gives the home's ids of those connections.
    fn resync(&mut self) -> Vec<u64> {
        if !self.sockets.is_empty() {
            crate::metrics::cluster_resync(self.sockets.len());
        }
        self.locals.clear();
        self.sockets
            .drain()
            .map(|(conn, s)| {
                s.close.store(Close::Restarting.code(), Ordering::Relaxed);
                conn
            })
            .collect()
    }

    fn drop_socket(&mut self, conn: u64, code: Option<Close>) {
        if let Some(s) = self.sockets.remove(&conn) {
            if let Some(code) = code {
                s.close.store(code.code(), Ordering::Relaxed);
            }
            self.locals.remove(&s.local);
        }
    }

    fn idle(&self) -> bool {
        self.sockets.is_empty() && self.joining.is_empty()
    }
}

impl Remotes {
    fn rooms(&self) -> MutexGuard<'_, HashMap<i64, Proxy>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connects a member here to the room's core at `home`.
    pub(crate) async fn connect(
        &self,
        cluster: &Cluster,
        home: &str,
        room: i64,
        member: Member,
    ) -> Result<Connected, RoomError> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut rooms = self.rooms();
            let proxy = rooms.entry(room).or_insert_with(|| Proxy::new(home));
            if proxy.home != home {
                // The room moved: what this node held of the old home goes.
                let gone = proxy.resync();
                tell_gone(cluster, &proxy.home, room, proxy.epoch, gone);
                *proxy = Proxy::new(home);
            }
            proxy.joining.insert(token, tx);
        }
        let answer = cluster
            .ask(home, room, Ask::Connect { token, member })
            .await;
        let result = match answer {
            Ok(Answer::Taken) => match tokio::time::timeout(WELCOME_WITHIN, rx).await {
                Ok(Ok(connected)) => return Ok(connected),
                _ => Err(RoomError::Unavailable),
            },
            other => Err(refusal(other)),
        };
        let mut rooms = self.rooms();
        if let Some(p) = rooms.get_mut(&room) {
            p.joining.remove(&token);
            if p.idle() {
                rooms.remove(&room);
            }
        }
        result
    }

    pub(crate) async fn act(
        &self,
        cluster: &Cluster,
        home: &str,
        room: i64,
        member: Member,
        act: Act,
    ) -> Result<Done, RoomError> {
        match cluster.ask(home, room, Ask::Act { member, act }).await {
            Ok(Answer::Done(done)) => Ok(done.into()),
            other => Err(refusal(other)),
        }
    }

    pub(crate) async fn media(
        &self,
        cluster: &Cluster,
        home: &str,
        state: crate::media::MediaState,
    ) -> Result<(), RoomError> {
        match cluster.ask(home, state.room_id, Ask::Media(state)).await {
            Ok(Answer::Taken) => Ok(()),
            other => Err(refusal(other)),
        }
    }

    /// A member's session here ended.
    pub(crate) fn disconnect(&self, cluster: &Cluster, room: i64, local: u64) {
        let mut rooms = self.rooms();
        let Some(p) = rooms.get_mut(&room) else {
            return;
        };
        if let Some(conn) = p.locals.get(&local).copied() {
            p.drop_socket(conn, None);
            tell_gone(cluster, &p.home, room, p.epoch, vec![conn]);
        }
        if p.idle() {
            rooms.remove(&room);
        }
    }

    /// One delivery from a home, in the order it sent them.
    fn take(&self, cluster: &Cluster, room: i64, d: Delivery<'_>) {
        let mut rooms = self.rooms();
        let Some(p) = rooms.get_mut(&room) else {
            // Nobody here any more: a late welcome is undone at the home.
            if let Item::Welcome { conn, .. } = d.item {
                tracing::debug!(room, conn, "welcome for a member who left");
            }
            return;
        };
        match p.epoch {
            Some(e) if e != d.epoch => {
                // A new core for the room (it moved, or restarted there):
                // the old connections mean nothing to it.
                p.resync();
                p.owed = 0;
            }
            Some(_) if d.seq != p.seq + 1 => {
                tracing::info!(room, after = p.seq, got = d.seq, "cluster: gap, resync");
                let gone = p.resync();
                tell_gone(cluster, &p.home, room, p.epoch, gone);
            }
            _ => {}
        }
        p.epoch = Some(d.epoch);
        p.seq = d.seq;
        let mut gone = Vec::new();
        match d.item {
            Item::Frames { conns, text } => {
                let text: Arc<str> = Arc::from(text.as_ref());
                let mut sent = 0;
                // Sockets that could not take it: stuck (4008) or gone.
                let mut failed: Vec<(u64, Option<Close>)> = Vec::new();
                let mut offer = |conn: u64, s: &Socket| match s.tx.try_send(text.clone()) {
                    Ok(()) => sent += 1,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        failed.push((conn, Some(Close::TooSlow)))
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => failed.push((conn, None)),
                };
                match &conns {
                    Some(list) => {
                        for conn in list {
                            if let Some(s) = p.sockets.get(conn) {
                                offer(*conn, s);
                            }
                        }
                    }
                    None => p.sockets.iter().for_each(|(conn, s)| offer(*conn, s)),
                }
                for (conn, code) in failed {
                    p.drop_socket(conn, code);
                    gone.push(conn);
                }
                crate::metrics::cluster_frames_in(sent);
            }
            Item::Welcome { token, conn, text } => match p.joining.remove(&token) {
                Some(waiting) => {
                    let (tx, rx) = mpsc::channel(SESSION_QUEUE);
                    let close = Arc::new(AtomicU16::new(Close::Normal.code()));
                    let local = REMOTE_CONN | self.next_local.fetch_add(1, Ordering::Relaxed);
                    let connected = Connected {
                        conn_id: local,
                        welcome: Arc::from(text.as_ref()),
                        outlet: Outlet {
                            rx,
                            close: close.clone(),
                        },
                    };
                    if waiting.send(connected).is_ok() {
                        p.sockets.insert(conn, Socket { tx, close, local });
                        p.locals.insert(local, conn);
                    } else {
                        gone.push(conn);
                    }
                }
                None => gone.push(conn),
            },
            Item::Close { conn, code } => {
                if let Some(s) = p.sockets.remove(&conn) {
                    s.close.store(code, Ordering::Relaxed);
                    p.locals.remove(&s.local);
                }
            }
        }
        tell_gone(cluster, &p.home, room, p.epoch, gone);
        if p.idle() {
            rooms.remove(&room);
        }
    }

    /// Asks each home whether it still knows this node's members, and
    /// resyncs those it does not, or all of a room whose home is gone or
    /// whose deliveries fell behind.
    async fn keep(&self, cluster: &Cluster) {
        let held: Vec<(i64, String, Vec<u64>)> = self
            .rooms()
            .iter()
            .filter(|(_, p)| !p.sockets.is_empty())
            .map(|(room, p)| (*room, p.home.clone(), p.sockets.keys().copied().collect()))
            .collect();
        for (room, home, conns) in held {
            let answer = cluster.ask(&home, room, Ask::Keep { conns }).await;
            let mut rooms = self.rooms();
            let Some(p) = rooms.get_mut(&room).filter(|p| p.home == home) else {
                continue;
            };
            match answer {
                Ok(Answer::Kept {
                    epoch,
                    seq,
                    unknown,
                }) => {
                    p.misses = 0;
                    if p.epoch != Some(epoch) || p.seq < p.owed {
                        tracing::info!(room, "cluster: behind the home, resync");
                        let gone = p.resync();
                        tell_gone(cluster, &home, room, p.epoch, gone);
                        p.owed = 0;
                    } else {
                        if !unknown.is_empty() {
                            crate::metrics::cluster_resync(unknown.len());
                        }
                        for conn in unknown {
                            p.drop_socket(conn, Some(Close::Restarting));
                        }
                        p.owed = seq;
                    }
                }
                Ok(Answer::NotHome) | Err(AskFailed::Gone) => {
                    tracing::info!(room, home, "cluster: home gone, resync");
                    p.resync();
                    rooms.remove(&room);
                }
                _ => {
                    p.misses += 1;
                    if p.misses >= MISSES {
                        tracing::info!(room, home, "cluster: home silent, resync");
                        p.resync();
                        rooms.remove(&room);
                    }
                }
            }
        }
    }

    pub(crate) fn shutdown(&self, cluster: &Cluster) {
        let mut rooms = self.rooms();
        for (room, mut p) in rooms.drain() {
            let gone = p.resync();
            tell_gone(cluster, &p.home, room, p.epoch, gone);
        }
    }

    /// The home this node's members of the room are with, if it has any.
    pub(crate) fn home(&self, room: i64) -> Option<String> {
        self.rooms().get(&room).map(|p| p.home.clone())
    }

    /// Members here, for the metrics.
    pub(crate) fn members(&self) -> usize {
        self.rooms().values().map(|p| p.sockets.len()).sum()
    }
}

/// Tells a home that these of its connections ended here.
fn tell_gone(cluster: &Cluster, home: &str, room: i64, epoch: Option<u64>, conns: Vec<u64>) {
    let Some(epoch) = epoch else { return };
    for conn in conns {
        cluster.tell(home, room, Ask::Disconnect { epoch, conn });
    }
}

/// What an answer other than the one hoped for means to the caller.
pub(super) fn refusal(answer: Result<Answer, AskFailed>) -> RoomError {
    match answer {
        Ok(Answer::Refused(e)) => e.into(),
        // Ask again where the room is now.
        Ok(Answer::NotHome) | Err(AskFailed::Gone) => RoomError::Moved,
        Ok(other) => RoomError::Internal(format!("unexpected answer {other:?}")),
        Err(AskFailed::Silent) => RoomError::Unavailable,
    }
}

/// Takes the deliveries homes send this node, one at a time in arrival
/// order (NATS keeps one publisher's order).
pub(super) async fn deliveries(cluster: Arc<Cluster>) {
    let subject = format!("podium.room.*.to.{}", cluster.token);
    let Some(mut sub) = cluster.subscribe(subject).await else {
        return;
    };
    while let Some(msg) = sub.next().await {
        let Some(room) = msg
            .subject
            .as_str()
            .split('.')
            .nth(2)
            .and_then(|r| r.parse::<i64>().ok())
        else {
            continue;
        };
        match serde_json::from_slice::<Delivery<'_>>(&msg.payload) {
            Ok(d) => cluster.remotes.take(&cluster, room, d),
            Err(e) => tracing::warn!(error = %e, room, "cluster: unreadable delivery"),
        }
    }
}

pub(super) async fn keep_alive(cluster: Arc<Cluster>) {
    let mut every = tokio::time::interval(KEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        cluster.remotes.keep(&cluster).await;
    }
}
