//! The SFU core: synchronous, no locks, no sockets, no clock of its own.
//! Inputs are datagrams, timeouts and commands; outputs are datagrams (to a
//! sink the caller gives) and media-state events. Tests drive it with a
//! fake clock, the driver with the real one.
//!
//! A core can be one shard of several (one per CPU core). A room's
//! publishers live on its home shard; viewers live on any shard. The home
//! shard hands each publisher packet, once, to the other shards as a
//! [`Relay`], and they fan it out to their own viewers; keyframe requests
//! travel back the same way. Encrypting and sending, the per-viewer work,
//! is thus spread over every core.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::config::DtlsCert;
use str0m::format::{Codec, CodecSpec};
use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, SeqNo};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use super::rewrite::Rewriter;
use super::{shard_of, MediaError, MediaState, PeerId, Source};

/// A peer we have not heard from for this long is gone (ICE-lite has no
/// checks of its own; browsers send STUN consent checks every few seconds).
const SILENCE_LIMIT: Duration = Duration::from_secs(8);
/// How often each session reports its RTP statistics (for NACK counts).
const STATS_EVERY: Duration = Duration::from_secs(5);
/// Keyframe requests to one publisher are coalesced to one per this period,
/// so 500 viewers joining at once cost one PLI, not 500.
const PLI_EVERY: Duration = Duration::from_millis(300);

/// Where datagrams go: the driver sends them, tests route them.
pub type Sink<'a> = dyn FnMut(SocketAddr, &[u8]) + 'a;

struct Publisher {
    video_mid: Option<Mid>,
    last_pli: Option<Instant>,
}

/// What a viewer's media section shows, fixed when its sections are known:
/// the first audio is the microphone, the first video the camera and a
/// second video the screen; a lone video section is the stage (the screen
/// while one is shared, else the camera).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Microphone,
    Camera,
    Screen,
    Stage,
    Unused,
}

struct Slot {
    mid: Mid,
    kind: MediaKind,
    role: Role,
    rewriter: Rewriter,
    /// Publisher and its payload type -> our payload type for the same codec.
    pts: Vec<((PeerId, Pt), Option<Pt>)>,
    current: Option<PeerId>,
    /// NACKs this section had received at its last statistics report.
    nacks_seen: u64,
}

struct Viewer {
    slots: Vec<Slot>,
}

enum Kind {
    Publisher(Publisher),
    Viewer(Viewer),
}

struct Peer {
    room: i64,
    kind: Kind,
    rtc: Rtc,
    deadline: Instant,
    last_heard: Instant,
    connected: bool,
    dead: bool,
    addr: Option<SocketAddr>,
    /// Our ICE username for this peer: how a shard router finds it.
    ufrag: String,
}

#[derive(Default)]
struct RoomMedia {
    camera: Option<PeerId>,
    screen: Option<PeerId>,
    viewers: Vec<PeerId>,
    state: (bool, bool),
    /// The camera publisher went silent (no deliberate stop) and none has
    /// come back yet.
    camera_lost: bool,
    /// What the last event said of `reconnecting`.
    reconnecting: bool,
    /// The room's publishers are on this shard: it decides the state.
    home: bool,
    /// What the other shards were last told (home shard only).
    announced: Option<Sources>,
}

/// Who publishes in a room and what is live, as the home shard tells the
/// other shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    pub room: i64,
    pub camera: Option<PeerId>,
    pub screen: Option<PeerId>,
    pub live: bool,
    pub sharing: bool,
}

/// Work one shard hands to the others.
#[derive(Clone)]
pub enum Relay {
    /// A publisher's packet, for the viewers on other shards.
    Packet(Arc<Forward>),
    /// A room's publishers changed (from its home shard to all others).
    Sources(Sources),
    /// A viewer on another shard needs a keyframe from this publisher.
    Keyframe(PeerId),
}

impl Forward {
    /// When the publisher's datagram was read.
    pub fn arrival(&self) -> Instant {
        self.arrival
    }
}

/// A packet from a publisher, ready to fan out.
pub struct Forward {
    from: PeerId,
    room: i64,
    kind: MediaKind,
    pt: Pt,
    spec: CodecSpec,
    ssrc: u32,
    seq: u64,
    ts: u32,
    marker: bool,
    arrival: Instant,
    payload: Arc<[u8]>,
}

pub struct SfuCore {
    local: SocketAddr,
    peers: HashMap<PeerId, Peer>,
    by_addr: HashMap<SocketAddr, PeerId>,
    rooms: HashMap<i64, RoomMedia>,
    timers: BTreeSet<(Instant, PeerId)>,
    events: Vec<MediaState>,
    /// The `seq` of the latest state change.
    state_seq: u64,
    next_id: u64,
    counters: Counters,
    shard: usize,
    shards: usize,
    relays: Vec<Relay>,
    gone: Vec<Gone>,
    /// One DTLS certificate for every peer of this core, made once: making
    /// one per peer cost each join a key generation. (Peers check it by the
    /// fingerprint in our answer, so sharing it weakens nothing.)
    cert: Option<DtlsCert>,
}

/// What a core has done since it started; monotonic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// RTP packets written to viewers.
    pub packets: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Keyframe requests sent to publishers.
    pub keyframe_requests: u64,
    /// NACKs received from viewers.
    pub nacks: u64,
}

/// A peer that was removed, for whoever routed to it or kept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    pub id: PeerId,
    /// Our ICE username for it.
    pub ufrag: String,
    /// The address it last spoke from.
    pub addr: Option<SocketAddr>,
}

fn new_rtc(now: Instant, cert: Option<&DtlsCert>) -> Rtc {
    let mut config = Rtc::builder();
    if let Some(cert) = cert {
        config = config.set_dtls_cert(cert.clone());
    }
    config
        .set_ice_lite(true)
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .enable_h264(true)
        .set_stats_interval(Some(STATS_EVERY))
        .build(now)
}

impl SfuCore {
    /// `local` is the address announced as our host candidate: the media
    /// socket's port at the public (or bind) IP.
    pub fn new(local: SocketAddr) -> Self {
        Self::shard(local, 0, 1)
    }

    /// Shard `index` of `count`: its peer ids satisfy
    /// `shard_of(id, count) == index`.
    pub fn shard(local: SocketAddr, index: usize, count: usize) -> Self {
        assert!(index < count, "shard {index} of {count}");
        Self {
            local,
            peers: HashMap::new(),
            by_addr: HashMap::new(),
            rooms: HashMap::new(),
            timers: BTreeSet::new(),
            events: Vec::new(),
            state_seq: 0,
            next_id: 1,
            counters: Counters::default(),
            shard: index,
            shards: count,
            relays: Vec::new(),
            gone: Vec::new(),
            cert: str0m::crypto::from_feature_flags()
                .dtls_provider
                .generate_certificate(),
        }
    }

    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Packets written to viewers so far.
    pub fn forwarded(&self) -> u64 {
        self.counters.packets
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    pub fn take_events(&mut self) -> Vec<MediaState> {
        std::mem::take(&mut self.events)
    }

    /// Hands over what the other shards must be told (nothing when this
    /// core is the only one).
    pub fn drain_relays(&mut self, mut deliver: impl FnMut(Relay)) {
        for r in self.relays.drain(..) {
            deliver(r);
        }
    }

    /// Hands over each peer removed since the last call, so a router can
    /// forget it.
    pub fn drain_gone(&mut self, forget: impl FnMut(Gone)) {
        self.gone.drain(..).for_each(forget);
    }

    /// Our ICE username for a peer: the first half of the USERNAME of
    /// every STUN request it sends us.
    pub fn ufrag(&self, id: PeerId) -> Option<&str> {
        self.peers.get(&id).map(|p| p.ufrag.as_str())
    }

    /// Takes what another shard relayed.
    pub fn handle_relay(&mut self, now: Instant, relay: Relay, sink: &mut Sink) {
        match relay {
            Relay::Packet(pkt) => self.fan_out(&pkt, sink),
            Relay::Keyframe(publisher) => self.request_keyframe(publisher, now, sink),
            Relay::Sources(s) => {
                let media = self.rooms.entry(s.room).or_default();
                if media.home {
                    return;
                }
                media.camera = s.camera;
                media.screen = s.screen;
                media.state = (s.live, s.sharing);
                if media.camera.is_none() && media.screen.is_none() && media.viewers.is_empty() {
                    self.rooms.remove(&s.room);
                }
            }
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    pub fn media_state(&self, room: i64) -> MediaState {
        let (live, screen, reconnecting) =
            self.rooms.get(&room).map_or((false, false, false), |r| {
                (r.state.0, r.state.1, r.reconnecting)
            });
        MediaState {
            room_id: room,
            seq: self.state_seq,
            live,
            screen,
            reconnecting,
        }
    }

    pub fn add_publisher(
        &mut self,
        now: Instant,
        room: i64,
        source: Source,
        offer: &str,
        sink: &mut Sink,
    ) -> Result<(PeerId, String), MediaError> {
        let kind = Kind::Publisher(Publisher {
            video_mid: None,
            last_pli: None,
        });
        let (id, answer) = self.add_peer(now, room, kind, offer, sink)?;
        // A new publish of the same source replaces the old one: the
        // presenter reconnected, and viewers carry on from the new one.
        let media = self.rooms.entry(room).or_default();
        media.home = true;
        if source == Source::Camera {
            media.camera_lost = false;
        }
        let slot = match source {
            Source::Camera => &mut media.camera,
            Source::Screen => &mut media.screen,
        };
        if let Some(old) = slot.replace(id) {
            self.remove(old, now);
        }
        self.announce(room);
        Ok((id, answer))
    }

    pub fn add_viewer(
        &mut self,
        now: Instant,
        room: i64,
        offer: &str,
        sink: &mut Sink,
    ) -> Result<(PeerId, String), MediaError> {
        let (id, answer) = self.add_peer(
            now,
            room,
            Kind::Viewer(Viewer { slots: Vec::new() }),
            offer,
            sink,
        )?;
        self.rooms.entry(room).or_default().viewers.push(id);
        Ok((id, answer))
    }

    fn add_peer(
        &mut self,
        now: Instant,
        room: i64,
        kind: Kind,
        offer: &str,
        sink: &mut Sink,
    ) -> Result<(PeerId, String), MediaError> {
        if let Some(pt) = super::offer::conflicting_payload_type(offer) {
            return Err(MediaError::BadOffer(format!(
                "payload type {pt} means different codecs in different sections"
            )));
        }
        let offer =
            SdpOffer::from_sdp_string(offer).map_err(|e| MediaError::BadOffer(e.to_string()))?;
        let mut rtc = new_rtc(now, self.cert.as_ref());
        let candidate = Candidate::host(self.local, "udp")
            .map_err(|e| MediaError::Unsupported(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        // str0m asserts on offers it cannot map; whatever else of that kind
        // a client sends must cost it a 400, not the shard its thread. The
        // new session is dropped, so nothing half-made survives the panic.
        let accepted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rtc.sdp_api().accept_offer(offer)
        }));
        let answer = match accepted {
            Ok(answer) => answer.map_err(|e| MediaError::BadOffer(e.to_string()))?,
            Err(_) => {
                return Err(MediaError::BadOffer(
                    "the offer could not be negotiated".into(),
                ))
            }
        };
        let answer = answer.to_sdp_string();
        if !answer
            .lines()
            .any(|l| l.starts_with("m=") && l.split(' ').nth(1).is_none_or(|p| p != "0"))
        {
            return Err(MediaError::Unsupported(
                "no audio or video with Opus, VP8 or H.264".into(),
            ));
        }
        let id = PeerId(self.next_id * self.shards as u64 + self.shard as u64);
        self.next_id += 1;
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        self.peers.insert(
            id,
            Peer {
                room,
                kind,
                rtc,
                deadline: now,
                last_heard: now,
                connected: false,
                dead: false,
                addr: None,
                ufrag,
            },
        );
        self.timers.insert((now, id));
        self.drive(id, now, sink);
        Ok((id, answer))
    }

    /// Ends a peer's session and frees everything it held.
    pub fn remove(&mut self, id: PeerId, now: Instant) {
        let Some(mut peer) = self.peers.remove(&id) else {
            return;
        };
        peer.rtc.disconnect();
        self.timers.remove(&(peer.deadline, id));
        self.gone.push(Gone {
            id,
            ufrag: peer.ufrag,
            addr: peer.addr,
        });
        if let Some(addr) = peer.addr {
            if self.by_addr.get(&addr) == Some(&id) {
                self.by_addr.remove(&addr);
            }
        }
        if let Some(media) = self.rooms.get_mut(&peer.room) {
            if media.camera == Some(id) {
                media.camera = None;
            }
            if media.screen == Some(id) {
                media.screen = None;
            }
            media.viewers.retain(|v| *v != id);
            let empty =
                media.camera.is_none() && media.screen.is_none() && media.viewers.is_empty();
            self.update_state(peer.room, now);
            self.announce(peer.room);
            if empty {
                self.rooms.remove(&peer.room);
            }
        }
    }

    /// Removes a peer whose connection ended without a goodbye through us
    /// (silence, ICE failure, a closed tab): a presenter's camera lost this
    /// way is expected back, so the room hears "reconnecting".
    fn lose(&mut self, id: PeerId, now: Instant) {
        if let Some(room) = self.peers.get(&id).map(|p| p.room) {
            if let Some(media) = self.rooms.get_mut(&room) {
                if media.camera == Some(id) {
                    media.camera_lost = true;
                }
            }
        }
        self.remove(id, now);
    }

    /// Ends every session of a room (the room ended).
    pub fn remove_room(&mut self, room: i64, now: Instant) {
        let ids: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.room == room)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.remove(id, now);
        }
        // Other shards' sources of this room are gone with it.
        self.rooms.remove(&room);
    }

    /// Ends every session (the server stops), sending what the peers'
    /// connections say on closing.
    pub fn remove_all(&mut self, now: Instant, sink: &mut Sink) {
        let ids: Vec<PeerId> = self.peers.keys().copied().collect();
        for id in ids {
            if let Some(peer) = self.peers.get_mut(&id) {
                peer.rtc.disconnect();
                drain_transmits(&mut peer.rtc, sink);
            }
            self.remove(id, now);
        }
    }

    pub fn room_of(&self, id: PeerId) -> Option<i64> {
        self.peers.get(&id).map(|p| p.room)
    }

    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        data: &[u8],
        sink: &mut Sink,
    ) {
        let Ok(receive) = Receive::new(Protocol::Udp, source, self.local, data) else {
            return;
        };
        let input = Input::Receive(now, receive);
        let id = match self.by_addr.get(&source) {
            Some(id) => *id,
            // Only a new address (its first STUN request) asks the peers.
            None => match self
                .peers
                .iter()
                .find(|(_, p)| p.rtc.accepts(&input))
                .map(|(id, _)| *id)
            {
                Some(id) => {
                    self.by_addr.insert(source, id);
                    if let Some(p) = self.peers.get_mut(&id) {
                        if let Some(old) = p.addr.replace(source) {
                            self.by_addr.remove(&old);
                        }
                    }
                    id
                }
                None => return,
            },
        };
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        peer.last_heard = now;
        if peer.rtc.handle_input(input).is_err() {
            peer.dead = true;
        }
        self.drive(id, now, sink);
    }

    pub fn handle_timeout(&mut self, now: Instant, sink: &mut Sink) {
        while let Some(&(at, id)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            if now.duration_since(peer.last_heard) > SILENCE_LIMIT {
                tracing::info!(peer = %id, "media peer went silent");
                self.lose(id, now);
                continue;
            }
            if peer.rtc.handle_input(Input::Timeout(now)).is_err() {
                peer.dead = true;
            }
            self.drive(id, now, sink);
        }
    }

    /// Drains a peer's output until its next timeout, then acts on what it
    /// said: forwards media, asks for keyframes, notes state changes.
    fn drive(&mut self, id: PeerId, now: Instant, sink: &mut Sink) {
        let mut incoming = Vec::new();
        let mut keyframe_for: Vec<Mid> = Vec::new();
        let mut became_connected = false;
        let mut nacks = 0;
        {
            let Some(peer) = self.peers.get_mut(&id) else {
                return;
            };
            let deadline = loop {
                match peer.rtc.poll_output() {
                    Ok(Output::Timeout(t)) => break t,
                    Ok(Output::Transmit(t)) => sink(t.destination, &t.contents),
                    Ok(Output::Event(e)) => match e {
                        Event::Connected => {
                            peer.connected = true;
                            became_connected = true;
                        }
                        Event::IceConnectionStateChange(IceConnectionState::Disconnected)
                        | Event::Closed => peer.dead = true,
                        Event::MediaAdded(m) => match &mut peer.kind {
                            Kind::Viewer(v) => {
                                v.slots.push(Slot {
                                    mid: m.mid,
                                    kind: m.kind,
                                    role: Role::Unused,
                                    rewriter: Rewriter::default(),
                                    pts: Vec::new(),
                                    current: None,
                                    nacks_seen: 0,
                                });
                                assign_roles(&mut v.slots);
                            }
                            Kind::Publisher(p) => {
                                if m.kind == MediaKind::Video {
                                    p.video_mid = Some(m.mid);
                                }
                            }
                        },
                        Event::RtpPacket(pkt) => {
                            if let Kind::Publisher(_) = &peer.kind {
                                let mid = peer
                                    .rtc
                                    .direct_api()
                                    .stream_rx(&pkt.header.ssrc)
                                    .map(|s| s.mid());
                                let kind = mid.and_then(|m| peer.rtc.media(m)).map(|m| m.kind());
                                let spec = peer
                                    .rtc
                                    .codec_config()
                                    .find(|c| c.pt() == pkt.header.payload_type)
                                    .map(|c| c.spec());
                                if let (Some(kind), Some(spec)) = (kind, spec) {
                                    incoming.push(Forward {
                                        from: id,
                                        room: peer.room,
                                        kind,
                                        pt: pkt.header.payload_type,
                                        spec,
                                        ssrc: *pkt.header.ssrc,
                                        seq: *pkt.seq_no,
                                        ts: pkt.header.timestamp,
                                        marker: pkt.header.marker,
                                        arrival: pkt.timestamp,
                                        payload: pkt.payload.clone(),
                                    });
                                }
                            }
                        }
                        Event::KeyframeRequest(req) => keyframe_for.push(req.mid),
                        Event::MediaEgressStats(stats) => {
                            if let Kind::Viewer(v) = &mut peer.kind {
                                if let Some(slot) = v.slots.iter_mut().find(|s| s.mid == stats.mid)
                                {
                                    nacks += stats.nacks.saturating_sub(slot.nacks_seen);
                                    slot.nacks_seen = stats.nacks;
                                }
                            }
                        }
                        _ => {}
                    },
                    Err(e) => {
                        tracing::debug!(peer = %id, error = %e, "media peer failed");
                        peer.dead = true;
                        break now;
                    }
                }
            };
            self.timers.remove(&(peer.deadline, id));
            peer.deadline = deadline.max(now);
            self.timers.insert((peer.deadline, id));
        }
        self.counters.nacks += nacks;
        let (room, dead) = match self.peers.get(&id) {
            Some(p) => (p.room, p.dead || !p.rtc.is_alive()),
            None => return,
        };
        if dead {
            self.lose(id, now);
            return;
        }
        if became_connected {
            match self
                .peers
                .get(&id)
                .map(|p| matches!(p.kind, Kind::Publisher(_)))
            {
                Some(true) => self.update_state(room, now),
                // A new viewer needs a keyframe to start decoding.
                _ => self.request_room_keyframes(room, now, sink),
            }
        }
        for mid in keyframe_for {
            self.viewer_wants_keyframe(id, mid, now, sink);
        }
        for pkt in incoming {
            self.fan_out(&pkt, sink);
            if self.shards > 1 {
                self.relays.push(Relay::Packet(Arc::new(pkt)));
            }
        }
    }

    fn update_state(&mut self, room: i64, _now: Instant) {
        let Some(media) = self.rooms.get_mut(&room) else {
            return;
        };
        // Only the home shard sees the publishers; the others are told.
        if !media.home {
            return;
        }
        let connected = |id: Option<PeerId>| {
            id.and_then(|id| self.peers.get(&id))
                .is_some_and(|p| p.connected)
        };
        let state = (connected(media.camera), connected(media.screen));
        let reconnecting = !state.0 && (media.camera.is_some() || media.camera_lost);
        if state != media.state || reconnecting != media.reconnecting {
            media.state = state;
            media.reconnecting = reconnecting;
            self.state_seq += 1;
            self.events.push(MediaState {
                room_id: room,
                seq: self.state_seq,
                live: state.0,
                screen: state.1,
                reconnecting,
            });
        }
        self.announce(room);
    }

    /// Tells the other shards a room's sources, when they changed.
    fn announce(&mut self, room: i64) {
        if self.shards == 1 {
            return;
        }
        let Some(media) = self.rooms.get_mut(&room) else {
            return;
        };
        if !media.home {
            return;
        }
        let now = Sources {
            room,
            camera: media.camera,
            screen: media.screen,
            live: media.state.0,
            sharing: media.state.1,
        };
        if media.announced != Some(now) {
            media.announced = Some(now);
            self.relays.push(Relay::Sources(now));
        }
    }

    fn fan_out(&mut self, pkt: &Forward, sink: &mut Sink) {
        // Split borrows: the room is read while its viewers are written.
        let Self {
            rooms,
            peers,
            counters,
            timers,
            ..
        } = self;
        let Some(media) = rooms.get(&pkt.room) else {
            return;
        };
        let mut keyframe = false;
        for vid in &media.viewers {
            let Some(viewer) = peers.get_mut(vid) else {
                continue;
            };
            if !viewer.connected {
                continue;
            }
            let Kind::Viewer(v) = &mut viewer.kind else {
                continue;
            };
            for slot in v.slots.iter_mut() {
                if slot.kind != pkt.kind || source_of(slot.role, media) != Some(pkt.from) {
                    continue;
                }
                if slot.current != Some(pkt.from) {
                    slot.current = Some(pkt.from);
                    keyframe |= pkt.kind == MediaKind::Video;
                }
                let key = (pkt.from, pkt.pt);
                let pt = match slot.pts.iter().find(|(k, _)| *k == key) {
                    Some((_, pt)) => *pt,
                    None => {
                        let pt = matching_pt(&viewer.rtc, slot.mid, &pkt.spec);
                        slot.pts.push((key, pt));
                        pt
                    }
                };
                let Some(pt) = pt else { continue };
                let Some(out) = slot.rewriter.rewrite(
                    pkt.ssrc,
                    pkt.seq,
                    pkt.ts,
                    pkt.arrival,
                    pkt.spec.clock_rate.get(),
                ) else {
                    continue;
                };
                let mut api = viewer.rtc.direct_api();
                let Some(tx) = api.stream_tx_by_mid(slot.mid, None) else {
                    continue;
                };
                tx.write_rtp(
                    RtpWrite::new(
                        pt,
                        SeqNo::from(out.seq),
                        out.ts,
                        pkt.arrival,
                        pkt.payload.clone(),
                    )
                    .marker(pkt.marker)
                    .nackable(pkt.kind == MediaKind::Video),
                );
                counters.packets += 1;
                counters.bytes += pkt.payload.len() as u64;
                // One mutation, then drain: str0m's contract.
                let next = drain_transmits(&mut viewer.rtc, sink);
                sooner(timers, *vid, &mut viewer.deadline, next);
            }
        }
        // A slot that started showing this publisher needs a keyframe.
        if keyframe {
            self.request_keyframe(pkt.from, pkt.arrival, sink);
        }
    }

    fn viewer_wants_keyframe(&mut self, viewer: PeerId, mid: Mid, now: Instant, sink: &mut Sink) {
        let source = self.peers.get(&viewer).and_then(|p| match &p.kind {
            Kind::Viewer(v) => v
                .slots
                .iter()
                .find(|s| s.mid == mid)
                .and_then(|s| s.current),
            Kind::Publisher(_) => None,
        });
        if let Some(p) = source {
            self.request_keyframe(p, now, sink);
        }
    }

    fn request_room_keyframes(&mut self, room: i64, now: Instant, sink: &mut Sink) {
        let pubs: Vec<PeerId> = self
            .rooms
            .get(&room)
            .map_or(vec![], |m| m.camera.into_iter().chain(m.screen).collect());
        for p in pubs {
            self.request_keyframe(p, now, sink);
        }
    }

    /// Asks a publisher for a keyframe, at most once per `PLI_EVERY`.
    fn request_keyframe(&mut self, publisher: PeerId, now: Instant, sink: &mut Sink) {
        let Some(peer) = self.peers.get_mut(&publisher) else {
            if self.shards > 1 && shard_of(publisher, self.shards) != self.shard {
                self.relays.push(Relay::Keyframe(publisher));
            }
            return;
        };
        let Kind::Publisher(p) = &mut peer.kind else {
            return;
        };
        if p.last_pli
            .is_some_and(|t| now.saturating_duration_since(t) < PLI_EVERY)
        {
            return;
        }
        let Some(mid) = p.video_mid else { return };
        let mut api = peer.rtc.direct_api();
        let Some(rx) = api.stream_rx_by_mid(mid, None) else {
            return;
        };
        rx.request_keyframe(KeyframeRequestKind::Pli);
        p.last_pli = Some(now);
        self.counters.keyframe_requests += 1;
        let next = drain_transmits(&mut peer.rtc, sink);
        sooner(&mut self.timers, publisher, &mut peer.deadline, next);
    }
}

/// Gives a viewer's sections their roles (see [`Role`]).
fn assign_roles(slots: &mut [Slot]) {
    let videos = slots.iter().filter(|s| s.kind == MediaKind::Video).count();
    let (mut audio_seen, mut video_seen) = (0, 0);
    for slot in slots.iter_mut() {
        slot.role = if slot.kind == MediaKind::Audio {
            audio_seen += 1;
            if audio_seen == 1 {
                Role::Microphone
            } else {
                Role::Unused
            }
        } else {
            video_seen += 1;
            match (videos, video_seen) {
                (1, _) => Role::Stage,
                (_, 1) => Role::Camera,
                (_, 2) => Role::Screen,
                _ => Role::Unused,
            }
        };
    }
}

/// The publisher a section of that role shows in this room right now.
fn source_of(role: Role, media: &RoomMedia) -> Option<PeerId> {
    match role {
        Role::Microphone | Role::Camera => media.camera,
        Role::Screen => media.screen,
        Role::Stage if media.state.1 => media.screen,
        Role::Stage => media.camera,
        Role::Unused => None,
    }
}

/// Drains output after a mutation made outside `drive`; events there are
/// not expected (media writes and keyframe requests raise none we use).
fn drain_transmits(rtc: &mut Rtc, sink: &mut Sink) -> Option<Instant> {
    while let Ok(out) = rtc.poll_output() {
        match out {
            Output::Transmit(t) => sink(t.destination, &t.contents),
            Output::Timeout(t) => return Some(t),
            Output::Event(_) => {}
        }
    }
    None
}

/// A mutation may want the peer woken sooner (str0m sends queued media on
/// its next timeout): move the peer's timer earlier if so, or its packets
/// wait for whatever timer it had, up to a second away.
fn sooner(
    timers: &mut BTreeSet<(Instant, PeerId)>,
    id: PeerId,
    deadline: &mut Instant,
    next: Option<Instant>,
) {
    if let Some(t) = next.filter(|t| *t < *deadline) {
        timers.remove(&(*deadline, id));
        *deadline = t;
        timers.insert((t, id));
    }
}

/// The viewer's payload type for the publisher's codec on `mid`, if the
/// viewer accepted that codec at all.
fn matching_pt(rtc: &Rtc, mid: Mid, spec: &CodecSpec) -> Option<Pt> {
    let media = rtc.media(mid)?;
    media.remote_pts().iter().copied().find(|pt| {
        rtc.codec_config().find(|c| c.pt() == *pt).is_some_and(|c| {
            let s = c.spec();
            s.codec == spec.codec
                && (spec.codec != Codec::H264
                    || (s.format.profile_level_id == spec.format.profile_level_id
                        && s.format.packetization_mode == spec.format.packetization_mode))
        })
    })
}
