//! The one place with sockets and a clock. One UDP socket serves every
//! peer: a receive thread reads it and routes each datagram to the shard
//! that owns its peer; each shard is a thread of its own that runs one
//! [`SfuCore`] and sends on the same socket. Peers without UDP come over
//! the media TCP port ([`super::tcp`]), routed the same way. Shards talk
//! through bounded channels: commands from HTTP, datagrams from the
//! routers, relays from each other.

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use str0m::ice::StunMessage;
use tokio::sync::oneshot;

use super::batch::Batch;
use super::core::{Counters, Relay, SectionLayers, SfuCore};
use super::layers::Want;
use super::tcp::{self, Links};
use super::{shard_of, MediaError, MediaState, PeerId, Protocol, Source};
use crate::recording::Taps;
use str0m::media::Mid;

/// Per shard; a full queue drops datagrams, as a full socket buffer would.
const QUEUE: usize = 8192;
/// The longest a shard or the router waits before checking it is wanted.
const IDLE: Duration = Duration::from_secs(1);
/// How often a shard adds its counts to the metrics (not per packet).
const REPORT_EVERY: Duration = Duration::from_secs(1);
/// Ended sessions remembered, so that a DELETE arriving after the peer
/// closed (clients close first, then DELETE) still finds its own session.
/// Peer ids are never reused, so an old entry cannot be mistaken for a new
/// session; a DELETE older than this many ends gets 404.
const ENDED_KEPT: usize = 4096;

enum Command {
    Publish {
        room: i64,
        owner: i64,
        source: Source,
        offer: String,
        reply: oneshot::Sender<Result<(PeerId, String), MediaError>>,
    },
    View {
        room: i64,
        owner: i64,
        offer: String,
        reply: oneshot::Sender<Result<(PeerId, String), MediaError>>,
    },
    Remove {
        peer: PeerId,
        room: i64,
        reply: oneshot::Sender<bool>,
    },
    EndRoom {
        room: i64,
    },
    State {
        room: i64,
        reply: oneshot::Sender<MediaState>,
    },
    SelectLayer {
        peer: PeerId,
        mid: Option<Mid>,
        want: Want,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Layers {
        peer: PeerId,
        reply: oneshot::Sender<Option<Vec<SectionLayers>>>,
    },
    /// Record a room's publishers, or stop.
    Record {
        room: i64,
        on: bool,
    },
    /// A keyframe from a publisher (for its recording).
    Keyframe {
        peer: PeerId,
    },
    /// A session taking the room's media from its home node.
    Upstream {
        room: i64,
        reply: oneshot::Sender<Result<(PeerId, String), MediaError>>,
    },
    UpstreamAnswer {
        peer: PeerId,
        answer: String,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    /// End every session and stop the shard.
    Stop {
        done: oneshot::Sender<()>,
    },
}

enum Msg {
    /// When it was read, how, from whom, what.
    Datagram(Instant, Protocol, SocketAddr, Vec<u8>),
    Command(Command),
    Relay(Relay),
}

/// Which shard owns which ICE username and peer address.
#[derive(Default)]
struct Routes {
    ufrags: HashMap<String, usize>,
    addrs: HashMap<SocketAddr, usize>,
}

struct Shared {
    shards: Vec<SyncSender<Msg>>,
    /// Peers per shard, to place new viewers on the least busy one.
    load: Vec<AtomicUsize>,
    routes: Mutex<Routes>,
    /// Every live session over all shards, until it is gone for any reason.
    sessions: Mutex<HashMap<PeerId, Session>>,
    /// The last ENDED_KEPT sessions that were live.
    ended: Mutex<Ended>,
    /// Open media TCP connections.
    tcp: Arc<Links>,
    /// The shards' threads, joined on stop: a shard drops its sessions
    /// (and their crypto state) after it acknowledges, and that must be
    /// over before the process exits.
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Live upstream sessions (rooms homed on another node) and their rooms.
    upstreams: Mutex<HashMap<PeerId, i64>>,
}

/// Recently ended sessions' rooms and owners, oldest first.
#[derive(Default)]
struct Ended {
    order: VecDeque<PeerId>,
    owners: HashMap<PeerId, (i64, i64)>,
}

impl Ended {
    fn note(&mut self, peer: PeerId, session: Session) {
        if self.order.len() == ENDED_KEPT {
            if let Some(oldest) = self.order.pop_front() {
                self.owners.remove(&oldest);
            }
        }
        self.order.push_back(peer);
        self.owners.insert(peer, (session.room, session.owner));
    }
}

#[derive(Clone)]
struct Session {
    room: i64,
    /// The participant who opened it (0: the host key).
    owner: i64,
    viewer: bool,
    /// The secret part of its event stream's URL (browsers' EventSource
    /// cannot send a bearer token, so the URL is the credential).
    events: Arc<str>,
}

impl Shared {
    fn routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        // The maps stay consistent under a panic elsewhere: use them.
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<PeerId, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ended(&self) -> std::sync::MutexGuard<'_, Ended> {
        self.ended.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A session is gone. It is noted as ended before it leaves the live
    /// map, so a reader that looks in the live map first and then in the
    /// ended record always finds it in one of them.
    fn end_session(&self, peer: PeerId) {
        let session = self.sessions().get(&peer).cloned();
        if let Some(session) = session {
            self.ended().note(peer, session);
            self.sessions().remove(&peer);
        }
    }
}

/// What the engine listens on, and the addresses peers are told.
pub struct Sockets {
    pub udp: UdpSocket,
    pub announce: SocketAddr,
    /// The media TCP port and its announced address.
    pub tcp: Option<(TcpListener, SocketAddr)>,
}

/// The HTTP side's handle on the media engine. The engine stops when the
/// last handle is dropped.
#[derive(Clone)]
pub struct MediaHandle {
    shared: Arc<Shared>,
    local: SocketAddr,
    local_tcp: Option<SocketAddr>,
}

fn stopped() -> MediaError {
    MediaError::Unsupported("the media engine is not running".into())
}

impl MediaHandle {
    /// Starts the engine on `sockets` with `shards` threads, and calls
    /// `on_state` (from a shard's thread) when a room's media state
    /// changes.
    pub fn spawn(
        sockets: Sockets,
        shards: usize,
        on_state: impl Fn(MediaState) + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        Self::spawn_recording(sockets, shards, on_state, None)
    }

    /// As [`spawn`](Self::spawn), with what recording rooms publish going
    /// to `taps`.
    pub fn spawn_recording(
        sockets: Sockets,
        shards: usize,
        on_state: impl Fn(MediaState) + Send + Sync + 'static,
        taps: Option<Taps>,
    ) -> std::io::Result<Self> {
        let Sockets {
            udp: socket,
            announce,
            tcp,
        } = sockets;
        let local_tcp = tcp.as_ref().map(|(_, a)| *a);
        let shards = shards.max(1);
        // Non-blocking for sending: a full buffer drops, never stalls a
        // shard. The router waits with poll(2) and then reads until empty.
        socket.set_nonblocking(true)?;
        let on_state = Arc::new(on_state);
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        for _ in 0..shards {
            let (tx, rx) = sync_channel(QUEUE);
            senders.push(tx);
            receivers.push(rx);
        }
        let shared = Arc::new(Shared {
            shards: senders,
            load: (0..shards).map(|_| AtomicUsize::new(0)).collect(),
            routes: Mutex::new(Routes::default()),
            sessions: Mutex::default(),
            ended: Mutex::default(),
            tcp: Arc::default(),
            threads: Mutex::default(),
            upstreams: Mutex::default(),
        });
        for (index, rx) in receivers.into_iter().enumerate() {
            let mut core = SfuCore::shard(announce, index, shards);
            if let Some(addr) = local_tcp {
                core = core.with_tcp(addr);
            }
            let shard = Shard {
                core,
                index,
                socket: socket.try_clone()?,
                tcp: shared.tcp.clone(),
                shared: Arc::downgrade(&shared),
                dropped: 0,
                reported: (Counters::default(), 0, Instant::now()),
                taps: taps.clone(),
            };
            let on_state = on_state.clone();
            let thread = std::thread::Builder::new()
                .name(format!("podium-media-{index}"))
                .spawn(move || shard.run(rx, &*on_state))?;
            shared
                .threads
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(thread);
        }
        if let Some((listener, _)) = tcp {
            let weak = Arc::downgrade(&shared);
            let deliver = move |known: Option<usize>, at, from, data: Vec<u8>| {
                let shared = weak.upgrade()?;
                let shard = known.or_else(|| shard_by_ufrag(&shared, &data))?;
                let msg = Msg::Datagram(at, Protocol::Tcp, from, data);
                let _ = shared.shards[shard].try_send(msg);
                Some(shard)
            };
            let alive = Arc::downgrade(&shared);
            tcp::spawn(listener, shared.tcp.clone(), alive, Arc::new(deliver))?;
        }
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("podium-media-rx".into())
            .spawn(move || route(socket, weak))?;
        Ok(Self {
            shared,
            local: announce,
            local_tcp,
        })
    }

    /// The announced media TCP address, if there is one.
    pub fn local_tcp_addr(&self) -> Option<SocketAddr> {
        self.local_tcp
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn shards(&self) -> usize {
        self.shared.shards.len()
    }

    fn home(&self, room: i64) -> usize {
        room.rem_euclid(self.shards() as i64) as usize
    }

    fn least_loaded(&self) -> usize {
        (0..self.shards())
            .min_by_key(|i| self.shared.load[*i].load(Ordering::Relaxed))
            .unwrap_or(0)
    }

    fn send(&self, shard: usize, cmd: Command) -> bool {
        self.shared.shards[shard]
            .try_send(Msg::Command(cmd))
            .is_ok()
    }

    async fn ask<T>(
        &self,
        shard: usize,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Option<T> {
        let (reply, rx) = oneshot::channel();
        if !self.send(shard, make(reply)) {
            return None;
        }
        rx.await.ok()
    }

    /// Publishes for participant `owner` (0: the host key).
    pub async fn publish(
        &self,
        room: i64,
        owner: i64,
        source: Source,
        offer: String,
    ) -> Result<(PeerId, String), MediaError> {
        // A room's publishers share its home shard, which decides its state.
        self.ask(self.home(room), |reply| Command::Publish {
            room,
            owner,
            source,
            offer,
            reply,
        })
        .await
        .unwrap_or_else(|| Err(stopped()))
    }

    pub async fn view(
        &self,
        room: i64,
        owner: i64,
        offer: String,
    ) -> Result<(PeerId, String), MediaError> {
        self.ask(self.least_loaded(), |reply| Command::View {
            room,
            owner,
            offer,
            reply,
        })
        .await
        .unwrap_or_else(|| Err(stopped()))
    }

    /// A session that takes the room's media from its home node (on the
    /// room's home shard, which then has its sources): its id and the offer
    /// for the home.
    pub async fn upstream(&self, room: i64) -> Result<(PeerId, String), MediaError> {
        self.ask(self.home(room), |reply| Command::Upstream { room, reply })
            .await
            .unwrap_or_else(|| Err(stopped()))
    }

    /// The home's answer for an upstream session.
    pub async fn upstream_answer(&self, peer: PeerId, answer: String) -> Result<(), MediaError> {
        self.ask(shard_of(peer, self.shards()), |reply| {
            Command::UpstreamAnswer {
                peer,
                answer,
                reply,
            }
        })
        .await
        .unwrap_or_else(|| Err(stopped()))
    }

    /// Whether an upstream session is still live.
    pub fn upstream_alive(&self, peer: PeerId) -> bool {
        self.shared
            .upstreams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&peer)
    }

    /// Upstream sessions now.
    pub fn upstream_count(&self) -> usize {
        self.shared
            .upstreams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Ends a session if it belongs to `room`; whether it did.
    pub async fn remove(&self, peer: PeerId, room: i64) -> bool {
        self.ask(shard_of(peer, self.shards()), |reply| Command::Remove {
            peer,
            room,
            reply,
        })
        .await
        .unwrap_or(false)
    }

    /// A live session's room and the participant who opened it.
    pub fn owner(&self, peer: PeerId) -> Option<(i64, i64)> {
        self.shared.sessions().get(&peer).map(|s| (s.room, s.owner))
    }

    /// The secret of a live session's event stream URL.
    pub fn events_secret(&self, peer: PeerId) -> Option<Arc<str>> {
        self.shared.sessions().get(&peer).map(|s| s.events.clone())
    }

    /// The room and owner of a session that is no longer live, if it was
    /// among the last ENDED_KEPT to end.
    pub fn ended_owner(&self, peer: PeerId) -> Option<(i64, i64)> {
        self.shared.ended().owners.get(&peer).copied()
    }

    /// The live sessions a participant opened in a room.
    pub fn sessions_of(&self, room: i64, participant: i64) -> Vec<PeerId> {
        let sessions = self.shared.sessions();
        sessions
            .iter()
            .filter(|(_, s)| (s.room, s.owner) == (room, participant))
            .map(|(p, _)| *p)
            .collect()
    }

    /// The live publishing sessions a participant opened in a room.
    pub fn publishing_sessions_of(&self, room: i64, participant: i64) -> Vec<PeerId> {
        let sessions = self.shared.sessions();
        sessions
            .iter()
            .filter(|(_, s)| (s.room, s.owner) == (room, participant) && !s.viewer)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Media sessions now: (publishers, viewers).
    pub fn peer_counts(&self) -> (usize, usize) {
        let sessions = self.shared.sessions();
        let viewers = sessions.values().filter(|s| s.viewer).count();
        (sessions.len() - viewers, viewers)
    }

    /// Rooms with viewers here now (other nodes' sessions aside), and how
    /// many each, in one pass.
    pub fn viewers_by_room(&self) -> HashMap<i64, usize> {
        let sessions = self.shared.sessions();
        let mut rooms = HashMap::new();
        for s in sessions
            .values()
            .filter(|s| s.viewer && s.owner != super::NODE)
        {
            *rooms.entry(s.room).or_insert(0) += 1;
        }
        rooms
    }

    /// Viewers of a room right now, over all shards (another node's
    /// session for its own viewers is not one).
    pub fn viewers(&self, room: i64) -> usize {
        let sessions = self.shared.sessions();
        sessions
            .values()
            .filter(|s| s.viewer && s.room == room && s.owner != super::NODE)
            .count()
    }

    /// Records a room's publishers from now on, or stops (their home
    /// shard has them).
    pub fn set_recording(&self, room: i64, on: bool) {
        self.send(self.home(room), Command::Record { room, on });
    }

    /// Asks a publisher of a room for a keyframe.
    pub fn keyframe(&self, room: i64, peer: PeerId) {
        self.send(self.home(room), Command::Keyframe { peer });
    }

    pub async fn end_room(&self, room: i64) {
        for shard in 0..self.shards() {
            self.send(shard, Command::EndRoom { room });
        }
    }

    /// Ends every session (peers get a DTLS close) and stops the shards.
    pub async fn stop(&self) {
        let mut waiting = Vec::new();
        for shard in 0..self.shards() {
            let (done, rx) = oneshot::channel();
            if self.send(shard, Command::Stop { done }) {
                waiting.push(rx);
            }
        }
        for rx in waiting {
            let _ = rx.await;
        }
        let threads = std::mem::take(
            &mut *self
                .shared
                .threads
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }

    /// The WHEP layer extension: what a viewer's video sections receive.
    pub async fn select_layer(
        &self,
        peer: PeerId,
        mid: Option<Mid>,
        want: Want,
    ) -> Result<(), MediaError> {
        self.ask(shard_of(peer, self.shards()), |reply| {
            Command::SelectLayer {
                peer,
                mid,
                want,
                reply,
            }
        })
        .await
        .unwrap_or_else(|| Err(stopped()))
    }

    /// A viewer's video sections and their layers (`None`: no such viewer).
    pub async fn layers(&self, peer: PeerId) -> Option<Vec<SectionLayers>> {
        self.ask(shard_of(peer, self.shards()), |reply| Command::Layers {
            peer,
            reply,
        })
        .await
        .flatten()
    }

    pub async fn state(&self, room: i64) -> MediaState {
        self.ask(self.home(room), |reply| Command::State { room, reply })
            .await
            .unwrap_or(MediaState {
                room_id: room,
                ..MediaState::default()
            })
    }
}

/// Reads the socket and hands each datagram to the shard of its peer:
/// STUN requests by the ICE username they carry (which also learns the
/// sender's address), everything else by address.
fn route(socket: UdpSocket, shared: Weak<Shared>) {
    let mut buf = vec![0u8; 2048];
    loop {
        // Waits for readable only: the shards send on this same socket, and
        // a wait that also took writable would wake this thread after
        // every packet they send (tens of thousands of needless context
        // switches a second under load).
        let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
        let ready = poll(
            &mut fds,
            PollTimeout::try_from(IDLE).unwrap_or(PollTimeout::MAX),
        );
        let Some(shared) = shared.upgrade() else {
            break;
        };
        if !matches!(ready, Ok(n) if n > 0) {
            continue;
        }
        // Everything queued, before waiting again.
        loop {
            match socket.recv_from(&mut buf) {
                Ok((n, from)) => dispatch(&shared, from, &buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::debug!(error = %e, "media recv failed");
                    break;
                }
            }
        }
    }
}

fn dispatch(shared: &Shared, from: SocketAddr, data: &[u8]) {
    let shard = if shared.shards.len() == 1 {
        Some(0)
    } else {
        shard_for(shared, from, data)
    };
    if let Some(shard) = shard {
        let msg = Msg::Datagram(Instant::now(), Protocol::Udp, from, data.to_vec());
        let _ = shared.shards[shard].try_send(msg);
    }
}

/// The ICE username of ours a STUN request names.
fn our_ufrag(data: &[u8]) -> Option<String> {
    // STUN starts with two zero bits (RFC 7983); requests name our user.
    let stun = data.first().is_some_and(|b| *b < 2);
    stun.then(|| StunMessage::parse(data).ok())
        .flatten()
        .and_then(|m| m.split_username().map(|(ours, _)| ours.to_owned()))
}

/// A TCP connection's shard, from the STUN request that opens it.
fn shard_by_ufrag(shared: &Shared, data: &[u8]) -> Option<usize> {
    let ufrag = our_ufrag(data)?;
    shared.routes().ufrags.get(&ufrag).copied()
}

fn shard_for(shared: &Shared, from: SocketAddr, data: &[u8]) -> Option<usize> {
    let ufrag = our_ufrag(data);
    let mut routes = shared.routes();
    match ufrag.and_then(|u| routes.ufrags.get(&u).copied()) {
        Some(shard) => {
            routes.addrs.insert(from, shard);
            Some(shard)
        }
        None => routes.addrs.get(&from).copied(),
    }
}

struct Shard {
    core: SfuCore,
    index: usize,
    socket: UdpSocket,
    tcp: Arc<Links>,
    shared: Weak<Shared>,
    dropped: u64,
    /// Counts and drops last added to the metrics, and when.
    reported: (Counters, u64, Instant),
    /// The recorder, if there is one.
    taps: Option<Taps>,
}

impl Shard {
    fn run(mut self, rx: Receiver<Msg>, on_state: &dyn Fn(MediaState)) {
        // UDP packets of a turn, sent together (made here: its headers
        // stay on this thread).
        let mut batch = Batch::default();
        loop {
            let now = Instant::now();
            let wait = self
                .core
                .next_deadline()
                .map_or(IDLE, |d| d.saturating_duration_since(now).min(IDLE));
            let msg = match rx.recv_timeout(wait) {
                Ok(Msg::Command(Command::Stop { done })) => {
                    let mut send = sender(&self.socket, &self.tcp, &mut batch, &mut self.dropped);
                    self.core.remove_all(Instant::now(), &mut send);
                    drop(send);
                    self.dropped += batch.flush(&self.socket);
                    let _ = done.send(());
                    break;
                }
                Ok(msg) => Some(msg),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let Some(shared) = self.shared.upgrade() else {
                break;
            };
            let now = Instant::now();
            let before = self.core.forwarded();
            let mut send = sender(&self.socket, &self.tcp, &mut batch, &mut self.dropped);
            // A publisher packet's delay runs from its arrival on the socket
            // (queueing included) to its last send on this shard.
            let arrived = match msg {
                Some(Msg::Datagram(at, proto, from, data)) => {
                    self.core.receive(now, proto, from, &data, &mut send);
                    Some(at)
                }
                Some(Msg::Relay(r)) => {
                    let at = match &r {
                        Relay::Packet(p) => Some(p.arrival()),
                        _ => None,
                    };
                    self.core.handle_relay(now, r, &mut send);
                    at
                }
                Some(Msg::Command(cmd)) => {
                    command(&mut self.core, self.index, cmd, now, &shared, &mut send);
                    None
                }
                None => None,
            };
            drop(send);
            // What the message made leaves together, before the timers'
            // work.
            self.dropped += batch.flush(&self.socket);
            if let Some(at) = arrived.filter(|_| self.core.forwarded() > before) {
                crate::metrics::media_delay(at.elapsed());
            }
            // Timers are due whether or not messages keep arriving.
            let mut send = sender(&self.socket, &self.tcp, &mut batch, &mut self.dropped);
            self.core.handle_timeout(now, &mut send);
            drop(send);
            self.dropped += batch.flush(&self.socket);
            self.hand_over(&shared, on_state);
            self.report(now);
        }
        tracing::info!(
            shard = self.index,
            dropped = self.dropped,
            "media shard stopped"
        );
    }

    fn report(&mut self, now: Instant) {
        let (counts, dropped, at) = self.reported;
        if now.saturating_duration_since(at) < REPORT_EVERY {
            return;
        }
        let c = self.core.counters();
        let delta = Counters {
            packets: c.packets - counts.packets,
            bytes: c.bytes - counts.bytes,
            keyframe_requests: c.keyframe_requests - counts.keyframe_requests,
            nacks: c.nacks - counts.nacks,
        };
        crate::metrics::media(delta, self.dropped - dropped);
        self.reported = (c, self.dropped, now);
    }

    /// Passes on what the core produced for others: relays to the other
    /// shards, state changes to the live room, removed peers to the router.
    fn hand_over(&mut self, shared: &Shared, on_state: &dyn Fn(MediaState)) {
        match &self.taps {
            Some(taps) => self.core.drain_taps(|e| taps.send(e)),
            None => self.core.drain_taps(drop),
        }
        let index = self.index;
        let count = shared.shards.len();
        let post = |shard: usize, relay: Relay| {
            if let Err(TrySendError::Full(_)) = shared.shards[shard].try_send(Msg::Relay(relay)) {
                tracing::warn!(shard, "media shard queue full: relay dropped");
            }
        };
        self.core.drain_relays(|relay| match relay {
            Relay::Keyframe(publisher, _) => post(shard_of(publisher, count), relay),
            _ => {
                for shard in (0..count).filter(|s| *s != index) {
                    post(shard, relay.clone());
                }
            }
        });
        for event in self.core.take_events() {
            on_state(event);
        }
        let mut gone = 0;
        self.core.drain_gone(|peer| {
            shared.end_session(peer.id);
            shared
                .upstreams
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&peer.id);
            let mut routes = shared.routes();
            routes.ufrags.remove(&peer.ufrag);
            if let Some(addr) = peer.addr {
                if routes.addrs.get(&addr) == Some(&index) {
                    routes.addrs.remove(&addr);
                }
            }
            gone += 1;
        });
        if gone > 0 {
            shared.load[index].fetch_sub(gone, Ordering::Relaxed);
        }
    }
}

/// The core's sink: UDP packets gather in `batch` (sent when it fills and
/// at the end of the turn), TCP goes at once; a full socket buffer (or TCP
/// queue) drops the packet, as the network would, and counts it.
fn sender<'a>(
    socket: &'a UdpSocket,
    tcp: &'a Links,
    batch: &'a mut Batch,
    dropped: &'a mut u64,
) -> impl FnMut(Protocol, SocketAddr, &[u8]) + 'a {
    move |proto, to, data| match proto {
        Protocol::Udp => *dropped += batch.push(socket, to, data),
        _ => {
            if !tcp.send(to, data) {
                *dropped += 1;
            }
        }
    }
}

fn command(
    core: &mut SfuCore,
    index: usize,
    cmd: Command,
    now: Instant,
    shared: &Shared,
    send: &mut dyn FnMut(Protocol, SocketAddr, &[u8]),
) {
    // A new peer: the router learns its ICE username, placement its load,
    // the HTTP side its owner.
    let added = |core: &SfuCore, r: &Result<(PeerId, String), MediaError>, room, owner, viewer| {
        if let Ok((id, _)) = r {
            if let Some(ufrag) = core.ufrag(*id) {
                shared.routes().ufrags.insert(ufrag.to_owned(), index);
            }
            shared.load[index].fetch_add(1, Ordering::Relaxed);
            let session = Session {
                room,
                owner,
                viewer,
                events: crate::secrets::new_token().into(),
            };
            shared.sessions().insert(*id, session);
        }
    };
    match cmd {
        Command::Publish {
            room,
            owner,
            source,
            offer,
            reply,
        } => {
            let r = core.add_publisher(now, room, owner, source, &offer, send);
            added(core, &r, room, owner, false);
            let _ = reply.send(r);
        }
        Command::View {
            room,
            owner,
            offer,
            reply,
        } => {
            let r = core.add_viewer(now, room, &offer, send);
            added(core, &r, room, owner, true);
            let _ = reply.send(r);
        }
        Command::Remove { peer, room, reply } => {
            let ours = core.room_of(peer) == Some(room);
            if ours {
                core.remove(peer, now);
            }
            let _ = reply.send(ours);
        }
        Command::EndRoom { room } => core.remove_room(room, now),
        Command::Record { room, on } => core.set_recording(room, on, now, send),
        Command::Keyframe { peer } => core.ask_keyframe(peer, now, send),
        Command::Stop { done } => drop(done.send(())),
        Command::Upstream { room, reply } => {
            let r = core.add_upstream(now, room);
            if let Ok((id, _)) = &r {
                shared.load[index].fetch_add(1, Ordering::Relaxed);
                shared
                    .upstreams
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(*id, room);
            }
            let _ = reply.send(r);
        }
        Command::UpstreamAnswer {
            peer,
            answer,
            reply,
        } => {
            // The home's media answers this node's checks from the
            // addresses in its answer: they are this shard's.
            let mut routes = shared.routes();
            for addr in super::upstream::candidates(&answer) {
                routes.addrs.insert(addr, index);
            }
            drop(routes);
            let _ = reply.send(core.upstream_answer(now, peer, &answer, send));
        }
        Command::State { room, reply } => {
            let _ = reply.send(core.media_state(room));
        }
        Command::SelectLayer {
            peer,
            mid,
            want,
            reply,
        } => {
            let _ = reply.send(core.select_layer(peer, mid, want, now, send));
        }
        Command::Layers { peer, reply } => {
            let _ = reply.send(core.layers_of(peer, now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ended_record_keeps_the_latest_ends_only() {
        let mut ended = Ended::default();
        let session = Session {
            room: 7,
            owner: 3,
            viewer: true,
            events: "e".into(),
        };
        for id in 0..ENDED_KEPT as u64 + 10 {
            ended.note(PeerId(id), session.clone());
        }
        assert_eq!(ended.order.len(), ENDED_KEPT);
        assert_eq!(ended.owners.len(), ENDED_KEPT);
        assert_eq!(
            ended.owners.get(&PeerId(9)),
            None,
            "the oldest are forgotten"
        );
        assert_eq!(ended.owners.get(&PeerId(10)), Some(&(7, 3)));
    }
}
