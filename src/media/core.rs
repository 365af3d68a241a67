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

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::config::DtlsCert;
use str0m::format::{Codec, CodecSpec, FormatParams};
use str0m::media::{Frequency, KeyframeRequestKind, MediaKind, Mid, Pt, Rid};
use str0m::net::TcpType;
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpWrite, SeqNo};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use super::layers::{self, Choice, LayerMeter, Selector, Want};
use super::rewrite::Rewriter;
use super::speaking::Speaking;
use super::tap::{Tap, TapEvent};
use super::upstream::Upstream;
use super::{shard_of, MediaError, MediaState, PeerId, Source, SEATS};

/// A peer we have not heard from for this long is gone (ICE-lite has no
/// checks of its own; browsers send STUN consent checks every few seconds).
const SILENCE_LIMIT: Duration = Duration::from_secs(8);
/// How often each session reports its RTP statistics (for NACK counts).
const STATS_EVERY: Duration = Duration::from_secs(5);
/// Keyframe requests to one publisher's layer are coalesced to one per this
/// period, so 500 viewers joining at once cost one PLI, not 500.
const PLI_EVERY: Duration = Duration::from_millis(300);
/// How often each viewer's layers are reconsidered (besides on every new
/// bandwidth estimate).
const LAYERS_EVERY: Duration = Duration::from_millis(500);
/// The bandwidth estimate a viewer starts with: enough for a middle layer.
/// A high one would start every viewer on the best layer, and flood the
/// poor links for the seconds the estimate takes to fall; a good link
/// shows itself at the first probe instead.
const INITIAL_ESTIMATE: Bitrate = Bitrate::kbps(600);
/// The first probe comes this soon after a viewer connects.
const FIRST_PROBE_AFTER: Duration = Duration::from_secs(3);
/// A viewer below the best layer probes for the next one up: for
/// `PROBE_FOR` its session pads up to what going up needs, so the estimate
/// can find out whether the link carries it (an estimate grows only so far
/// beyond what is sent, and beyond that it is a guess). Probes come every
/// `PROBE_EVERY`, later after each that found no room (up to
/// `PROBE_EVERY_AT_MOST`: a probe costs a full link a moment of
/// congestion), and again soon after one led up.
const PROBE_EVERY: Duration = Duration::from_secs(6);
const PROBE_FOR: Duration = Duration::from_secs(4);
const PROBE_EVERY_AT_MOST: Duration = Duration::from_secs(9);
const PROBE_AGAIN_AFTER_UP: Duration = Duration::from_secs(1);
/// A probe whose estimate is still rising into the next layer goes on, up
/// to this long.
const PROBE_AT_MOST: Duration = Duration::from_secs(10);
/// A probe ends early when its estimate falls this far below where it
/// started (and below the next layer): the link is full.
const PROBE_GIVES_UP_BELOW: f64 = 0.88;
/// Audio's share of a viewer's session, in bits per second.
const AUDIO_BPS: u64 = 40_000;

/// Where datagrams go (over UDP, or framed on the peer's TCP connection):
/// the driver sends them, tests route them.
pub type Sink<'a> = dyn FnMut(Protocol, SocketAddr, &[u8]) + 'a;

struct Publisher {
    /// The participant publishing.
    owner: i64,
    video_mid: Option<Mid>,
    /// The last keyframe request to each layer (`None`: a single layer).
    last_pli: Vec<(Option<Rid>, Instant)>,
}

/// What a viewer's media section shows, fixed when its sections are known:
/// the first audio is the presenter's microphone, the first video the
/// camera and a second video the screen, further ones the speakers' seats;
/// a lone video section is the stage (the screen while one is shared, else
/// whoever speaks) and a lone audio section whoever speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Microphone,
    Camera,
    Screen,
    Stage,
    /// A lone audio section: whoever speaks (the presenter until a speaker
    /// does).
    ProgrammeAudio,
    /// Further sections: the speaker in that seat.
    SpeakerAudio(usize),
    SpeakerVideo(usize),
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
    /// Video: which layer of the source this section should get, and the
    /// one it forwards now (`None` until a keyframe of the wanted layer
    /// came; the old layer goes on until then).
    selector: Selector,
    sending: Option<Option<Rid>>,
    /// A section of another node's upstream session (it offered to
    /// receive simulcast): every layer of the source goes out, each on the
    /// section's rid of the same rank, and that node chooses per viewer.
    relay: Option<RelayOut>,
}

/// What a relay section sends: its rids, lowest first; which of the
/// source's layers goes on which (by rate, the top on the top); and each
/// rid's continuity.
struct RelayOut {
    rids: Vec<Rid>,
    map: Vec<((PeerId, Option<Rid>), Rid)>,
    rewriters: Vec<(Rid, Rewriter)>,
}

impl RelayOut {
    /// The rid a layer of `from` goes out on, mapping the source's layers
    /// again when one appears that was not mapped.
    fn rid_for(
        &mut self,
        from: PeerId,
        rid: Option<Rid>,
        media: &RoomMedia,
        now: Instant,
    ) -> Option<Rid> {
        if let Some((_, out)) = self.map.iter().find(|(k, _)| *k == (from, rid)) {
            return Some(*out);
        }
        let mut layers: Vec<Option<Rid>> = media
            .layers
            .get(&from)
            .map_or_else(Vec::new, |m| layers::by_rate(m, now))
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        if !layers.contains(&rid) {
            layers.push(rid);
        }
        self.map.retain(|((f, _), _)| *f != from);
        let skip = self.rids.len().saturating_sub(layers.len());
        for (i, layer) in layers.iter().enumerate() {
            if let Some(out) = self.rids.get(skip + i).or(self.rids.last()) {
                self.map.push(((from, *layer), *out));
            }
        }
        self.map
            .iter()
            .find(|(k, _)| *k == (from, rid))
            .map(|(_, out)| *out)
    }

    /// The source's layer that goes out on `out` now.
    fn layer_on(&self, from: PeerId, out: Rid) -> Option<Option<Rid>> {
        self.map
            .iter()
            .find(|((f, _), o)| *f == from && *o == out)
            .map(|((_, layer), _)| *layer)
    }

    fn rewriter(&mut self, out: Rid) -> &mut Rewriter {
        if let Some(i) = self.rewriters.iter().position(|(r, _)| *r == out) {
            return &mut self.rewriters[i].1;
        }
        self.rewriters.push((out, Rewriter::default()));
        &mut self.rewriters.last_mut().expect("just pushed").1
    }
}

struct Viewer {
    slots: Vec<Slot>,
    /// The viewer's bandwidth estimate in bits per second, once str0m has
    /// one.
    estimate: Option<f64>,
    next_layer_check: Instant,
    /// The probe towards the next layer up: until when it runs, and when
    /// the next may start.
    probe_until: Option<Instant>,
    next_probe: Instant,
    /// The time between probes now (longer after each that found no room).
    probe_every: Duration,
    probe_started: Option<Instant>,
    /// The estimate the probe running now started from, and the rate of
    /// the layer it is for.
    probe_base: f64,
    probe_needs: f64,
    /// What a choice for every section asked, for sections still to come
    /// (a page may choose before its session connects).
    want: Want,
}

enum Kind {
    Publisher(Publisher),
    Viewer(Viewer),
    /// The room's media from its home node (several nodes).
    Upstream(Box<Upstream>),
}

struct Peer {
    room: i64,
    kind: Kind,
    rtc: Rtc,
    deadline: Instant,
    last_heard: Instant,
    connected: bool,
    dead: bool,
    /// Where it last spoke from, and how.
    addr: Option<(Protocol, SocketAddr)>,
    /// Our ICE username for this peer: how a shard router finds it.
    ufrag: String,
}

#[derive(Default)]
struct RoomMedia {
    camera: Option<PeerId>,
    screen: Option<PeerId>,
    /// Speakers' sessions by seat (a seat is kept while its speaker
    /// publishes, so a viewer's sections do not change hands).
    seats: [Option<PeerId>; SEATS],
    /// Who speaks now (the home shard decides, the others are told).
    active: Option<PeerId>,
    speaking: Speaking,
    /// What the last event said of the seats and the speaker.
    told: ([Option<i64>; SEATS], Option<i64>),
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
    /// Each video publisher's layers as they arrive here (every shard meters
    /// the packets it fans out, relayed ones too).
    layers: HashMap<PeerId, Vec<LayerMeter>>,
    /// The session that takes the room's media from its home node, when
    /// the room is homed elsewhere: its sources stand for the publishers,
    /// and the room's state is the home's to tell, not this core's.
    upstream: Option<PeerId>,
}

/// Who publishes in a room and what is live, as the home shard tells the
/// other shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    pub room: i64,
    pub camera: Option<PeerId>,
    pub screen: Option<PeerId>,
    pub seats: [Option<PeerId>; SEATS],
    pub active: Option<PeerId>,
    pub live: bool,
    pub sharing: bool,
}

/// Work one shard hands to the others.
#[derive(Clone)]
pub enum Relay {
    /// A publisher's packet, for the viewers on other shards.
    Packet(Arc<Forward>),
    /// A room's publishers changed (from its home shard to all others).
    Sources(Box<Sources>),
    /// A viewer on another shard needs a keyframe from this publisher's
    /// layer (`None`: every layer).
    Keyframe(PeerId, Option<Rid>),
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
    /// The simulcast layer (`None`: the source's only one).
    rid: Option<Rid>,
    /// Video: the packet starts a keyframe.
    keyframe: bool,
    pt: Pt,
    spec: CodecSpec,
    ssrc: u32,
    seq: u64,
    ts: u32,
    marker: bool,
    arrival: Instant,
    /// Audio: the RFC 6464 level (0 the loudest, 127 silence), if sent.
    audio_level: Option<u8>,
    /// The sender's last report (wall clock, RTP time), for recordings.
    sender: Option<(SystemTime, u32)>,
    payload: Arc<[u8]>,
}

pub struct SfuCore {
    local: SocketAddr,
    /// The media TCP port's address (a passive candidate in every answer).
    local_tcp: Option<SocketAddr>,
    peers: HashMap<PeerId, Peer>,
    by_addr: HashMap<(Protocol, SocketAddr), PeerId>,
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
    /// Rooms whose publishers' packets go to the recorder, and what is
    /// waiting for it.
    recording: HashSet<i64>,
    taps: Vec<TapEvent>,
    /// Each source an upstream session carries, and that session.
    upstream_of: HashMap<PeerId, PeerId>,
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

fn new_rtc(now: Instant, cert: Option<&DtlsCert>, viewer: bool) -> Rtc {
    new_rtc_as(now, cert, viewer, true)
}

/// `lite`: ICE-lite, as the server side of every session is; the upstream
/// session is the one where this core makes the offer and the checks.
fn new_rtc_as(now: Instant, cert: Option<&DtlsCert>, viewer: bool, lite: bool) -> Rtc {
    let mut config = Rtc::builder();
    if let Some(cert) = cert {
        config = config.set_dtls_cert(cert.clone());
    }
    // Viewers' sessions estimate their bandwidth: it picks their layers.
    if viewer {
        config = config.enable_bwe(Some(INITIAL_ESTIMATE));
    }
    let mut config = config
        .set_ice_lite(lite)
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_vp8(true)
        .enable_h264(true)
        .set_stats_interval(Some(STATS_EVERY));
    // Opus with in-band FEC (a lost packet is rebuilt from the next) and
    // DTX (silence costs almost nothing): the answer asks the presenter's
    // browser for both.
    config.codec_config().add_config(
        Pt::new_with_value(111),
        None,
        Codec::Opus,
        Frequency::FORTY_EIGHT_KHZ,
        Some(2),
        FormatParams {
            min_p_time: Some(10),
            use_inband_fec: Some(true),
            use_dtx: Some(true),
            ..Default::default()
        },
    );
    config.build(now)
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
            local_tcp: None,
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
            recording: HashSet::new(),
            taps: Vec::new(),
            upstream_of: HashMap::new(),
        }
    }

    /// Whether a room's publishers are recorded from now on. A recording
    /// starts at a keyframe: each publisher is asked for one.
    pub fn set_recording(&mut self, room: i64, on: bool, now: Instant, sink: &mut Sink) {
        if on {
            if self.recording.insert(room) {
                self.taps.push(TapEvent::Started(room));
                let publishers = self
                    .rooms
                    .get(&room)
                    .map_or_else(Vec::new, RoomMedia::publishers);
                for p in publishers {
                    self.request_keyframe(p, None, now, sink);
                }
            }
        } else if self.recording.remove(&room) {
            // What was recorded ends here.
            let ended = self
                .rooms
                .get(&room)
                .map_or_else(Vec::new, RoomMedia::publishers);
            self.taps.extend(ended.into_iter().map(TapEvent::Ended));
        }
    }

    /// A keyframe of every layer of a publisher's video (the recorder's
    /// files need them to start and to seek).
    pub fn ask_keyframe(&mut self, publisher: PeerId, now: Instant, sink: &mut Sink) {
        self.request_keyframe(publisher, None, now, sink);
    }

    /// Hands over what the recorder is to write.
    pub fn drain_taps(&mut self, take: impl FnMut(TapEvent)) {
        self.taps.drain(..).for_each(take);
    }

    /// Offers a passive TCP candidate at `addr` in every answer from now
    /// on: peers whose networks drop UDP connect there (RFC 6544), and
    /// their datagrams arrive and leave as [`Protocol::Tcp`].
    pub fn with_tcp(mut self, addr: SocketAddr) -> Self {
        self.local_tcp = Some(addr);
        self
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
            Relay::Keyframe(publisher, rid) => self.request_keyframe(publisher, rid, now, sink),
            Relay::Sources(s) => {
                let media = self.rooms.entry(s.room).or_default();
                if media.home {
                    return;
                }
                media.camera = s.camera;
                media.screen = s.screen;
                media.seats = s.seats;
                media.active = s.active;
                media.state = (s.live, s.sharing);
                if media.unused() {
                    self.rooms.remove(&s.room);
                }
            }
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    pub fn media_state(&self, room: i64) -> MediaState {
        let (live, screen, reconnecting, (seats, speaker)) =
            self.rooms.get(&room).map_or(Default::default(), |r| {
                (r.state.0, r.state.1, r.reconnecting, r.told)
            });
        MediaState {
            room_id: room,
            seq: self.state_seq,
            live,
            screen,
            reconnecting,
            seats,
            speaker,
        }
    }

    /// A publisher: `owner` (the participant) publishes `source`.
    pub fn add_publisher(
        &mut self,
        now: Instant,
        room: i64,
        owner: i64,
        source: Source,
        offer: &str,
        sink: &mut Sink,
    ) -> Result<(PeerId, String), MediaError> {
        // A speaker's publish takes their own seat again, or a free one.
        if source == Source::Speaker {
            let media = self.rooms.entry(room).or_default();
            let owners: Vec<Option<i64>> = media
                .seats
                .iter()
                .map(|s| s.and_then(|p| self.peers.get(&p)).and_then(publisher_owner))
                .collect();
            if !owners.contains(&Some(owner)) && !media.seats.iter().any(Option::is_none) {
                return Err(MediaError::BadOffer("every seat on stage is taken".into()));
            }
        }
        let kind = Kind::Publisher(Publisher {
            owner,
            video_mid: None,
            last_pli: Vec::new(),
        });
        let (id, answer) = self.add_peer(now, room, kind, offer, sink)?;
        // Published here: the room is homed here now, and no longer taken
        // from another node.
        if let Some(up) = self.rooms.get(&room).and_then(|m| m.upstream) {
            self.remove(up, now);
        }
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
            Source::Speaker => {
                let peers = &self.peers;
                let mine = media.seats.iter().position(|s| {
                    s.and_then(|p| peers.get(&p)).and_then(publisher_owner) == Some(owner)
                });
                let seat = mine
                    .or_else(|| media.seats.iter().position(Option::is_none))
                    .expect("a seat was checked free");
                &mut media.seats[seat]
            }
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
            Kind::Viewer(Viewer {
                slots: Vec::new(),
                estimate: None,
                next_layer_check: now,
                probe_until: None,
                next_probe: now + FIRST_PROBE_AFTER,
                probe_every: PROBE_EVERY,
                probe_started: None,
                probe_base: 0.0,
                probe_needs: 0.0,
                want: Want::Auto,
            }),
            offer,
            sink,
        )?;
        self.rooms.entry(room).or_default().viewers.push(id);
        Ok((id, answer))
    }

    /// A session that takes the room's media from its home node: gives
    /// its id and the offer for the home (answered through
    /// [`upstream_answer`](Self::upstream_answer)). Local viewers of the
    /// room are fed from it.
    pub fn add_upstream(
        &mut self,
        now: Instant,
        room: i64,
    ) -> Result<(PeerId, String), MediaError> {
        let mut rtc = new_rtc_as(now, self.cert.as_ref(), false, false);
        let candidate = Candidate::host(self.local, "udp")
            .map_err(|e| MediaError::Unsupported(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let id = self.new_id();
        let (up, offer) = Upstream::offer(&mut rtc, || self.new_id())
            .ok_or_else(|| MediaError::Unsupported("no upstream offer".into()))?;
        let media = self.rooms.entry(room).or_default();
        if let Some(old) = media.upstream.replace(id) {
            self.remove(old, now);
        }
        let media = self.rooms.entry(room).or_default();
        media.upstream = Some(id);
        media.home = true;
        media.camera = Some(up.camera);
        media.screen = Some(up.screen);
        media.seats = up.seats.map(Some);
        for source in up.sources() {
            self.upstream_of.insert(source, id);
        }
        self.insert_peer(id, room, Kind::Upstream(Box::new(up)), rtc, now);
        self.announce(room);
        Ok((id, offer))
    }

    /// The home's answer to an upstream session's offer.
    pub fn upstream_answer(
        &mut self,
        now: Instant,
        id: PeerId,
        answer: &str,
        sink: &mut Sink,
    ) -> Result<(), MediaError> {
        let answer =
            SdpAnswer::from_sdp_string(answer).map_err(|e| MediaError::BadOffer(e.to_string()))?;
        let peer = self.peers.get_mut(&id).ok_or(MediaError::NoSuchPeer)?;
        let Kind::Upstream(up) = &mut peer.kind else {
            return Err(MediaError::NoSuchPeer);
        };
        let pending = up.pending.take().ok_or(MediaError::NoSuchPeer)?;
        peer.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| MediaError::BadOffer(e.to_string()))?;
        self.drive(id, now, sink);
        Ok(())
    }

    /// A new session, due at once.
    fn insert_peer(&mut self, id: PeerId, room: i64, kind: Kind, mut rtc: Rtc, now: Instant) {
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        let peer = Peer {
            room,
            kind,
            rtc,
            deadline: now,
            last_heard: now,
            connected: false,
            dead: false,
            addr: None,
            ufrag,
        };
        self.peers.insert(id, peer);
        self.timers.insert((now, id));
    }

    fn new_id(&mut self) -> PeerId {
        let id = PeerId(self.next_id * self.shards as u64 + self.shard as u64);
        self.next_id += 1;
        id
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
        let viewer = matches!(kind, Kind::Viewer(_));
        let mut rtc = new_rtc(now, self.cert.as_ref(), viewer);
        let candidate = Candidate::host(self.local, "udp")
            .map_err(|e| MediaError::Unsupported(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        if let Some(tcp) = self.local_tcp {
            let candidate = Candidate::builder()
                .tcp()
                .host(tcp)
                .tcptype(TcpType::Passive)
                .build()
                .map_err(|e| MediaError::Unsupported(e.to_string()))?;
            rtc.add_local_candidate(candidate);
        }
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
        let id = self.new_id();
        self.insert_peer(id, room, kind, rtc, now);
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
            addr: peer
                .addr
                .filter(|(p, _)| *p == Protocol::Udp)
                .map(|(_, a)| a),
        });
        if let Some(addr) = peer.addr {
            if self.by_addr.get(&addr) == Some(&id) {
                self.by_addr.remove(&addr);
            }
        }
        if matches!(peer.kind, Kind::Publisher(_)) && self.recording.contains(&peer.room) {
            self.taps.push(TapEvent::Ended(id));
        }
        if let Kind::Upstream(up) = &peer.kind {
            let ours: Vec<PeerId> = up.sources().collect();
            for source in &ours {
                self.upstream_of.remove(source);
            }
            if let Some(media) = self.rooms.get_mut(&peer.room) {
                if media.upstream == Some(id) {
                    media.upstream = None;
                    // A publisher here now (the room moved here) keeps its
                    // place; the home's sources go.
                    let theirs = |s: &mut Option<PeerId>| {
                        if s.is_some_and(|p| ours.contains(&p)) {
                            *s = None;
                        }
                    };
                    theirs(&mut media.camera);
                    theirs(&mut media.screen);
                    media.seats.iter_mut().for_each(theirs);
                    if media.publishers().is_empty() {
                        media.home = false;
                        media.state = (false, false);
                    }
                }
            }
        }
        if let Some(media) = self.rooms.get_mut(&peer.room) {
            if media.camera == Some(id) {
                media.camera = None;
            }
            if media.screen == Some(id) {
                media.screen = None;
            }
            for seat in media.seats.iter_mut().filter(|s| **s == Some(id)) {
                *seat = None;
            }
            media.speaking.forget(id);
            if media.active == Some(id) {
                media.active = None;
            }
            media.viewers.retain(|v| *v != id);
            let empty = media.unused();
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
        self.recording.remove(&room);
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

    /// A UDP datagram from `source`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        data: &[u8],
        sink: &mut Sink,
    ) {
        self.receive(now, Protocol::Udp, source, data, sink);
    }

    /// A datagram from `source` over `proto` (one RFC 4571 frame, for TCP).
    pub fn receive(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        data: &[u8],
        sink: &mut Sink,
    ) {
        let destination = match proto {
            Protocol::Udp => self.local,
            _ => match self.local_tcp {
                Some(tcp) => tcp,
                None => return,
            },
        };
        let Ok(receive) = Receive::new(proto, source, destination, data) else {
            return;
        };
        let input = Input::Receive(now, receive);
        let from = (proto, source);
        let id = match self.by_addr.get(&from) {
            Some(id) => *id,
            // Only a new address (its first STUN request) asks the peers.
            None => match self
                .peers
                .iter()
                .find(|(_, p)| p.rtc.accepts(&input))
                .map(|(id, _)| *id)
            {
                Some(id) => {
                    self.by_addr.insert(from, id);
                    if let Some(p) = self.peers.get_mut(&id) {
                        if let Some(old) = p.addr.replace(from) {
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
        let mut keyframe_for: Vec<(Mid, Option<Rid>)> = Vec::new();
        let mut became_connected = false;
        let mut nacks = 0;
        {
            let Some(peer) = self.peers.get_mut(&id) else {
                return;
            };
            let deadline = loop {
                match peer.rtc.poll_output() {
                    Ok(Output::Timeout(t)) => break t,
                    Ok(Output::Transmit(t)) => sink(t.proto, t.destination, &t.contents),
                    Ok(Output::Event(e)) => match e {
                        Event::Connected => {
                            peer.connected = true;
                            became_connected = true;
                        }
                        Event::IceConnectionStateChange(IceConnectionState::Disconnected)
                        | Event::Closed => peer.dead = true,
                        Event::MediaAdded(m) => match &mut peer.kind {
                            Kind::Viewer(v) => {
                                let relay = m
                                    .simulcast
                                    .as_ref()
                                    .filter(|s| m.kind == MediaKind::Video && !s.send.is_empty())
                                    .map(|s| RelayOut {
                                        rids: s.send.iter().map(|l| l.rid).collect(),
                                        map: Vec::new(),
                                        rewriters: Vec::new(),
                                    });
                                v.slots.push(Slot {
                                    mid: m.mid,
                                    kind: m.kind,
                                    role: Role::Unused,
                                    rewriter: Rewriter::default(),
                                    pts: Vec::new(),
                                    current: None,
                                    nacks_seen: 0,
                                    selector: Selector::wanting(v.want),
                                    sending: None,
                                    relay,
                                });
                                assign_roles(&mut v.slots);
                            }
                            Kind::Publisher(p) => {
                                if m.kind == MediaKind::Video {
                                    p.video_mid = Some(m.mid);
                                }
                            }
                            Kind::Upstream(_) => {}
                        },
                        Event::RtpPacket(pkt) if !matches!(peer.kind, Kind::Viewer(_)) => {
                            let (mid, rid) = peer
                                .rtc
                                .direct_api()
                                .stream_rx(&pkt.header.ssrc)
                                .map_or((None, None), |s| (Some(s.mid()), s.rid()));
                            // An upstream section carries one of the
                            // room's sources.
                            let from = match &mut peer.kind {
                                Kind::Upstream(up) => {
                                    let source = mid.and_then(|m| up.source(m));
                                    if source.is_some() && source == Some(up.screen) {
                                        up.last_screen = Some(now);
                                    }
                                    source
                                }
                                _ => Some(id),
                            };
                            let kind = mid.and_then(|m| peer.rtc.media(m)).map(|m| m.kind());
                            let spec = peer
                                .rtc
                                .codec_config()
                                .find(|c| c.pt() == pkt.header.payload_type)
                                .map(|c| c.spec());
                            if let (Some(kind), Some(spec), Some(from)) = (kind, spec, from) {
                                let keyframe = kind == MediaKind::Video
                                    && layers::starts_keyframe(spec.codec, &pkt.payload);
                                incoming.push(Forward {
                                    from,
                                    room: peer.room,
                                    kind,
                                    rid,
                                    keyframe,
                                    pt: pkt.header.payload_type,
                                    spec,
                                    ssrc: *pkt.header.ssrc,
                                    seq: *pkt.seq_no,
                                    ts: pkt.header.timestamp,
                                    marker: pkt.header.marker,
                                    arrival: pkt.timestamp,
                                    audio_level: pkt
                                        .header
                                        .ext_vals
                                        .audio_level
                                        .map(|l| l.unsigned_abs().min(127)),
                                    sender: pkt
                                        .last_sender_info
                                        .map(|i| (i.ntp_time, i.rtp_time.numer() as u32)),
                                    payload: pkt.payload.clone(),
                                });
                            }
                        }
                        Event::KeyframeRequest(req) => keyframe_for.push((req.mid, req.rid)),
                        Event::EgressBitrateEstimate(
                            BweKind::Twcc { estimate, .. } | BweKind::Remb { estimate, .. },
                        ) => {
                            if let Kind::Viewer(v) = &mut peer.kind {
                                v.estimate = Some(estimate.as_f64());
                                // A new estimate is considered at once.
                                v.next_layer_check = now;
                            }
                        }
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
        // What the rest needs of the peer, read once: an upstream session
        // also says whether the room's screen is being shared.
        let (room, dead, is_viewer, sharing) = match self.peers.get(&id) {
            Some(p) => (
                p.room,
                p.dead || !p.rtc.is_alive(),
                matches!(p.kind, Kind::Viewer(_)),
                match &p.kind {
                    Kind::Upstream(up) => Some(up.sharing(now)),
                    _ => None,
                },
            ),
            None => return,
        };
        if dead {
            self.lose(id, now);
            return;
        }
        if became_connected && !is_viewer {
            self.update_state(room, now);
        }
        if let Some(sharing) = sharing {
            self.follow_upstream(room, sharing);
        }
        // A new viewer's layers are chosen at once, and their keyframes
        // asked for: it needs one to start decoding.
        if is_viewer {
            self.choose_layers(id, now, became_connected, sink);
        }
        for (mid, rid) in keyframe_for {
            self.viewer_wants_keyframe(id, mid, rid, now, sink);
        }
        for pkt in incoming {
            self.hear(&pkt, now);
            self.tap(&pkt);
            self.fan_out(&pkt, sink);
            if self.shards > 1 {
                self.relays.push(Relay::Packet(Arc::new(pkt)));
            }
        }
    }

    /// A room taken from its home node shows a screen while its packets
    /// come (the home tells the room itself what is live).
    fn follow_upstream(&mut self, room: i64, sharing: bool) {
        if let Some(media) = self.rooms.get_mut(&room) {
            if media.state != (true, sharing) {
                media.state = (true, sharing);
                self.announce(room);
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
        if media.upstream.is_some() {
            self.announce(room);
            return;
        }
        let connected = |id: Option<PeerId>| {
            id.and_then(|id| self.peers.get(&id))
                .is_some_and(|p| p.connected)
        };
        let state = (connected(media.camera), connected(media.screen));
        let reconnecting = !state.0 && (media.camera.is_some() || media.camera_lost);
        let owner = |id: Option<PeerId>| {
            id.and_then(|id| self.peers.get(&id))
                .filter(|p| p.connected)
                .and_then(publisher_owner)
        };
        let told = (media.seats.map(owner), owner(media.active));
        if state != media.state || reconnecting != media.reconnecting || told != media.told {
            media.state = state;
            media.reconnecting = reconnecting;
            media.told = told;
            self.state_seq += 1;
            self.events.push(MediaState {
                room_id: room,
                seq: self.state_seq,
                live: state.0,
                screen: state.1,
                reconnecting,
                seats: told.0,
                speaker: told.1,
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
            seats: media.seats,
            active: media.active,
            live: media.state.0,
            sharing: media.state.1,
        };
        if media.announced != Some(now) {
            media.announced = Some(now);
            self.relays.push(Relay::Sources(Box::new(now)));
        }
    }

    /// An audio packet's level counts towards who speaks (the home shard,
    /// which has every publisher, decides; the others are told).
    fn hear(&mut self, pkt: &Forward, now: Instant) {
        let Some(level) = pkt.audio_level.filter(|_| pkt.kind == MediaKind::Audio) else {
            return;
        };
        let Some(media) = self.rooms.get_mut(&pkt.room).filter(|m| m.home) else {
            return;
        };
        media.speaking.heard(pkt.from, level, pkt.arrival);
        if !media.speaking.due(now) {
            return;
        }
        let candidates: Vec<PeerId> = media
            .camera
            .iter()
            .chain(media.seats.iter().flatten())
            .copied()
            .collect();
        if let Some(active) = media.speaking.decide(&candidates, now) {
            media.active = Some(active);
            self.update_state(pkt.room, now);
        }
    }

    fn fan_out(&mut self, pkt: &Forward, sink: &mut Sink) {
        if pkt.kind == MediaKind::Video {
            self.meter(pkt);
        }
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
        // Layers some section now waits for a keyframe of.
        let mut wanted: Vec<Option<Rid>> = Vec::new();
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
            let estimate = v.estimate;
            for slot in v.slots.iter_mut() {
                if slot.kind != pkt.kind || source_of(slot.role, media) != Some(pkt.from) {
                    continue;
                }
                if slot.current != Some(pkt.from) {
                    // Another source: its own layers, from its next keyframe.
                    slot.current = Some(pkt.from);
                    slot.selector = Selector::wanting(slot.selector.want);
                    slot.sending = None;
                }
                // A relay section takes every layer, each on its own rid.
                let out_rid = match &mut slot.relay {
                    Some(relay) if pkt.kind == MediaKind::Video => {
                        match relay.rid_for(pkt.from, pkt.rid, media, pkt.arrival) {
                            Some(rid) => Some(rid),
                            None => continue,
                        }
                    }
                    _ => None,
                };
                if out_rid.is_none()
                    && pkt.kind == MediaKind::Video
                    && !forwards(slot, pkt, media, estimate, &mut wanted)
                {
                    continue;
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
                let rewriter = match (out_rid, &mut slot.relay) {
                    (Some(rid), Some(relay)) => relay.rewriter(rid),
                    _ => &mut slot.rewriter,
                };
                let Some(out) = rewriter.rewrite(
                    pkt.ssrc,
                    pkt.seq,
                    pkt.ts,
                    pkt.arrival,
                    pkt.spec.clock_rate.get(),
                ) else {
                    continue;
                };
                let mut api = viewer.rtc.direct_api();
                let Some(tx) = api.stream_tx_by_mid(slot.mid, out_rid) else {
                    continue;
                };
                let mut write = RtpWrite::new(
                    pt,
                    SeqNo::from(out.seq),
                    out.ts,
                    pkt.arrival,
                    pkt.payload.clone(),
                )
                .marker(pkt.marker)
                .nackable(pkt.kind == MediaKind::Video);
                // The speaker's level goes on (RFC 6464): another node's
                // copy of the room follows who speaks from it. (The voice
                // flag is not kept: set for any level above silence.)
                if let Some(level) = pkt.audio_level {
                    write = write.ext_vals(ExtensionValues {
                        audio_level: Some(-(level.min(127) as i8)),
                        voice_activity: Some(level < 127),
                        ..ExtensionValues::default()
                    });
                }
                tx.write_rtp(write);
                counters.packets += 1;
                counters.bytes += pkt.payload.len() as u64;
                // One mutation, then drain: str0m's contract.
                let next = drain_transmits(&mut viewer.rtc, sink);
                sooner(timers, *vid, &mut viewer.deadline, next);
            }
        }
        wanted.dedup();
        for rid in wanted {
            self.request_keyframe(pkt.from, rid, pkt.arrival, sink);
        }
    }

    /// A packet of a recording room goes to the recorder too.
    fn tap(&mut self, pkt: &Forward) {
        if !self.recording.contains(&pkt.room) {
            return;
        }
        let Some(media) = self.rooms.get(&pkt.room) else {
            return;
        };
        let source = if media.camera == Some(pkt.from) {
            Source::Camera
        } else if media.screen == Some(pkt.from) {
            Source::Screen
        } else if media.seats.contains(&Some(pkt.from)) {
            Source::Speaker
        } else {
            return;
        };
        let Some(owner) = self.peers.get(&pkt.from).and_then(publisher_owner) else {
            return;
        };
        self.taps.push(TapEvent::Packet(Box::new(Tap {
            room: pkt.room,
            publisher: pkt.from,
            owner,
            source,
            kind: pkt.kind,
            codec: pkt.spec.codec,
            clock_rate: pkt.spec.clock_rate.get(),
            rid: pkt.rid,
            seq: pkt.seq,
            ts: pkt.ts,
            marker: pkt.marker,
            arrival: pkt.arrival,
            sender: pkt.sender,
            payload: pkt.payload.clone(),
        })));
    }

    /// Notes a video packet in its layer's meter.
    fn meter(&mut self, pkt: &Forward) {
        let Some(media) = self.rooms.get_mut(&pkt.room) else {
            return;
        };
        let meters = media.layers.entry(pkt.from).or_default();
        match meters.iter_mut().find(|m| m.rid == pkt.rid) {
            Some(m) => m.packet(pkt.payload.len(), pkt.arrival),
            None => {
                let mut m = LayerMeter::new(pkt.rid, pkt.arrival);
                m.packet(pkt.payload.len(), pkt.arrival);
                meters.push(m);
            }
        }
    }

    /// Reconsiders which layer each of a viewer's video sections gets, from
    /// its bandwidth estimate (at most every `LAYERS_EVERY`, unless
    /// `at_once`), and asks the publishers for keyframes of the layers it
    /// moves to. The screen (or the stage) is served first, then the
    /// camera, from one budget.
    fn choose_layers(&mut self, viewer: PeerId, now: Instant, at_once: bool, sink: &mut Sink) {
        let Self { rooms, peers, .. } = self;
        let Some(peer) = peers.get_mut(&viewer) else {
            return;
        };
        let Kind::Viewer(v) = &mut peer.kind else {
            return;
        };
        if !peer.connected || (!at_once && now < v.next_layer_check) {
            return;
        }
        v.next_layer_check = now + LAYERS_EVERY;
        let Some(media) = rooms.get(&peer.room) else {
            return;
        };
        let mut budget = v.estimate.map(layers::video_budget);
        // A probe whose estimate falls below where it started, and below
        // what the next layer needs, has found the link's limit: it ends at
        // once, before its padding costs the viewer's media more.
        if let (Some(_), Some(estimate)) = (v.probe_until, v.estimate) {
            let short = layers::video_budget(estimate) < v.probe_needs;
            if short && estimate < v.probe_base * PROBE_GIVES_UP_BELOW {
                tracing::debug!(%viewer, estimate, base = v.probe_base, "probe ends: the estimate fell");
                v.probe_until = Some(now);
            }
        }
        let probing = v.probe_until.is_some_and(|t| now < t);
        tracing::trace!(%viewer, estimate = ?v.estimate, probing, "layers reconsidered");
        // A probe that ended without a layer up: the link is likely full,
        // so the next comes later (each probe costs the viewer a moment of
        // congestion).
        if let Some(ended) = v.probe_until.filter(|t| now >= *t) {
            v.probe_until = None;
            v.probe_every = (v.probe_every * 3 / 2).min(PROBE_EVERY_AT_MOST);
            v.next_probe = ended + v.probe_every;
        }
        let (mut went_up, mut went_down) = (false, false);
        // The rate of the first layer above the chosen ones (what a probe
        // has to find room for).
        let mut next_layer = 0.0;
        // A relay section sends every layer: the node it goes to chooses.
        let mut order: Vec<usize> = (0..v.slots.len())
            .filter(|i| v.slots[*i].kind == MediaKind::Video && v.slots[*i].relay.is_none())
            .collect();
        order.sort_by_key(|i| !matches!(v.slots[*i].role, Role::Screen | Role::Stage));
        // What the chosen layers need, and one step up from them.
        let (mut wanted, mut desired, mut sending, mut next_up) = (Vec::new(), 0.0, 0.0, 0.0);
        let mut measured = false;
        for i in order {
            let slot = &mut v.slots[i];
            let Some(source) = source_of(slot.role, media) else {
                continue;
            };
            let available = media
                .layers
                .get(&source)
                .map_or_else(Vec::new, |m| layers::by_rate(m, now));
            measured |= !available.is_empty();
            let before = slot.selector.choice;
            let changed = slot.selector.decide(&available, budget, now, probing);
            if let Some(choice) = changed {
                let rank = |c: Option<Choice>| match c {
                    Some(Choice::Layer(rid)) => available
                        .iter()
                        .position(|(r, _)| *r == rid)
                        .map(|i| i as i32),
                    Some(Choice::Paused) => Some(-1),
                    None => None,
                };
                match (rank(before), rank(Some(choice))) {
                    (Some(b), Some(a)) if a > b => went_up = true,
                    (Some(b), Some(a)) if a < b => went_down = true,
                    _ => {}
                }
                tracing::debug!(%viewer, mid = %slot.mid, ?choice, estimate = ?v.estimate, "layer chosen");
            }
            let spent = match slot.selector.choice {
                Some(Choice::Layer(rid)) => available
                    .iter()
                    .find(|(r, _)| *r == rid)
                    .map_or(0.0, |l| l.1),
                _ => 0.0,
            };
            budget = budget.map(|b| (b - spent).max(0.0));
            sending += spent;
            // A section pinned to a layer its source sends, or turned off,
            // does not follow the estimate: nothing to probe for. (Back to
            // automatic, it probes at once.)
            let fixed = match slot.selector.want {
                Want::Auto => false,
                Want::Off => true,
                Want::Pinned(rid) => available.iter().any(|(r, _)| *r == Some(rid)),
            };
            // What the estimate may grow towards: the best layer, or what a
            // fixed section sends (padding beyond it would buy nothing).
            desired += if fixed {
                spent
            } else {
                available.last().map_or(0.0, |(_, bps)| *bps)
            };
            let above = available
                .iter()
                .map(|(_, bps)| *bps)
                .find(|bps| *bps > spent && !fixed)
                .unwrap_or(spent);
            next_up += above;
            if next_layer == 0.0 && above > spent {
                next_layer = above;
            }
            match changed {
                Some(Choice::Layer(rid)) if slot.sending != Some(rid) => wanted.push((source, rid)),
                // Nothing measured yet: any keyframe will do to start.
                None if at_once && slot.selector.choice.is_none() => wanted.push((source, None)),
                _ => {}
            }
        }
        // Pad only while probing towards the next layer up (str0m caps
        // padding at its estimate and stops it on overuse); padding all the
        // time overloads links just below that layer.
        // A probe about to end while a layer up fits: it goes on until the
        // layer has fitted long enough (or stops fitting), within a limit.
        if let (Some(until), Some(started)) = (v.probe_until, v.probe_started) {
            let rising = v.slots.iter().any(|s| s.selector.rising());
            if rising && until <= now + LAYERS_EVERY && now < started + PROBE_AT_MOST {
                v.probe_until = Some(until + LAYERS_EVERY);
            }
        }
        // Another layer: the link is another, and probes start afresh
        // (the probe that led up has done its work).
        if went_up {
            // Up one layer: the next may fit too, and a probe finds out
            // once this one has started.
            v.probe_every = PROBE_EVERY;
            v.probe_until = None;
            v.next_probe = now + PROBE_AGAIN_AFTER_UP;
        } else if went_down {
            v.probe_every = PROBE_EVERY;
            v.probe_until = None;
            v.next_probe = v.next_probe.max(now + PROBE_EVERY);
        }
        if measured {
            let probing = match v.probe_until {
                Some(t) if now < t => true,
                _ if next_up > sending && now >= v.next_probe => {
                    tracing::debug!(%viewer, sending, next_up, estimate = ?v.estimate, "probing");
                    v.probe_until = Some(now + PROBE_FOR);
                    v.probe_started = Some(now);
                    v.probe_base = v.estimate.unwrap_or(0.0);
                    v.probe_needs = next_layer;
                    v.next_probe = now + PROBE_FOR + v.probe_every;
                    true
                }
                _ => false,
            };
            // The desired rate is also the estimate's ceiling: always the
            // best layers'.
            // A probe sends what going up would need the estimate to be,
            // so the estimate can show it (it grows only so far beyond
            // what is sent).
            let minimum = if probing {
                layers::estimate_to_go_up(next_up)
            } else {
                sending + AUDIO_BPS as f64
            };
            let desired = layers::estimate_to_go_up(desired).max(minimum);
            peer.rtc
                .bwe()
                .set_bitrate(Bitrate::bps(minimum as u64), Bitrate::bps(desired as u64));
        }
        for (publisher, rid) in wanted {
            self.request_keyframe(publisher, rid, now, sink);
        }
    }

    /// The WHEP layer extension: pins a viewer's video section to a layer,
    /// turns its video off, or returns it to the automatic choice. `mid`
    /// `None`: every video section.
    pub fn select_layer(
        &mut self,
        viewer: PeerId,
        mid: Option<Mid>,
        want: Want,
        now: Instant,
        sink: &mut Sink,
    ) -> Result<(), MediaError> {
        let Some(Kind::Viewer(v)) = self.peers.get_mut(&viewer).map(|p| &mut p.kind) else {
            return Err(MediaError::NoSuchPeer);
        };
        if mid.is_none() {
            v.want = want;
        }
        let mut found = mid.is_none();
        let mut changed = false;
        for slot in v.slots.iter_mut().filter(|s| s.kind == MediaKind::Video) {
            if mid.is_some_and(|m| m != slot.mid) {
                continue;
            }
            found = true;
            if slot.selector.want != want {
                // A choice of the viewer's starts afresh: no hysteresis
                // holds back what it asked for.
                slot.selector = Selector::wanting(want);
                changed = true;
                if want == Want::Off {
                    slot.sending = None;
                }
            }
        }
        if !found {
            return Err(MediaError::Unsupported("no such video section".into()));
        }
        // Back to automatic after sending little: probe at once, so the
        // estimate learns what the link carries.
        if changed && want == Want::Auto {
            v.next_probe = now;
            v.probe_until = None;
            v.probe_every = PROBE_EVERY;
        }
        self.choose_layers(viewer, now, true, sink);
        Ok(())
    }

    /// A viewer's video sections: for each, the layers its source sends
    /// (lowest first, with bits per second), inactive ones, and what it
    /// gets now.
    pub fn layers_of(&self, viewer: PeerId, now: Instant) -> Option<Vec<SectionLayers>> {
        let peer = self.peers.get(&viewer)?;
        let Kind::Viewer(v) = &peer.kind else {
            return None;
        };
        let media = self.rooms.get(&peer.room);
        let sections = v
            .slots
            .iter()
            .filter(|s| s.kind == MediaKind::Video && s.role != Role::Unused)
            .map(|slot| {
                let meters =
                    media.and_then(|m| source_of(slot.role, m).and_then(|p| m.layers.get(&p)));
                let mut active: Vec<(Option<Rid>, u64)> = Vec::new();
                let mut inactive = Vec::new();
                for l in meters.into_iter().flatten() {
                    if l.active(now) {
                        active.push((l.rid, l.planning_bps(now) as u64));
                    } else {
                        inactive.push(l.rid);
                    }
                }
                active.sort_by_key(|(_, bps)| *bps);
                SectionLayers {
                    mid: slot.mid,
                    active,
                    inactive,
                    current: match slot.selector.choice {
                        Some(Choice::Layer(rid)) if slot.sending == Some(rid) => Some(rid),
                        _ => None,
                    },
                    paused: slot.selector.choice == Some(Choice::Paused),
                    pinned: matches!(slot.selector.want, Want::Pinned(_)),
                    off: slot.selector.want == Want::Off,
                }
            })
            .collect();
        Some(sections)
    }

    fn viewer_wants_keyframe(
        &mut self,
        viewer: PeerId,
        mid: Mid,
        rid: Option<Rid>,
        now: Instant,
        sink: &mut Sink,
    ) {
        let source = self.peers.get(&viewer).and_then(|p| match &p.kind {
            Kind::Viewer(v) => v.slots.iter().find(|s| s.mid == mid).and_then(|s| {
                let from = s.current?;
                match (&s.relay, rid) {
                    // A relay section's rid: the layer that goes out on it.
                    (Some(relay), Some(out)) => Some((from, relay.layer_on(from, out)?)),
                    (Some(_), None) => Some((from, None)),
                    (None, _) => Some((from, s.sending?)),
                }
            }),
            Kind::Publisher(_) | Kind::Upstream(_) => None,
        });
        // Only the layer this viewer receives: viewers of the other layers
        // are not made to decode extra keyframes.
        tracing::debug!(%viewer, %mid, ?source, "viewer asks for a keyframe");
        if let Some((publisher, rid)) = source {
            self.request_keyframe(publisher, rid, now, sink);
        }
    }

    /// Asks a publisher for a keyframe of one layer (`None`: of each), at
    /// most once per `PLI_EVERY` per layer.
    fn request_keyframe(
        &mut self,
        publisher: PeerId,
        rid: Option<Rid>,
        now: Instant,
        sink: &mut Sink,
    ) {
        if let Some(up) = self.upstream_of.get(&publisher).copied() {
            return self.keyframe_upstream(up, publisher, rid, now, sink);
        }
        let Some(peer) = self.peers.get_mut(&publisher) else {
            if self.shards > 1 && shard_of(publisher, self.shards) != self.shard {
                self.relays.push(Relay::Keyframe(publisher, rid));
            }
            return;
        };
        let Kind::Publisher(p) = &mut peer.kind else {
            return;
        };
        let Some(mid) = p.video_mid else { return };
        let simulcast: Vec<Rid> = peer
            .rtc
            .media(mid)
            .and_then(|m| match m.rids_rx() {
                str0m::media::Rids::Specific(rids) => Some(rids.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let rids: Vec<Option<Rid>> = match rid {
            Some(r) => vec![Some(r)],
            None if simulcast.is_empty() => vec![None],
            None => simulcast.into_iter().map(Some).collect(),
        };
        let mut asked = false;
        for rid in rids {
            let recent = p
                .last_pli
                .iter()
                .any(|(r, t)| *r == rid && now.saturating_duration_since(*t) < PLI_EVERY);
            if recent {
                continue;
            }
            let mut api = peer.rtc.direct_api();
            let Some(rx) = api.stream_rx_by_mid(mid, rid) else {
                continue;
            };
            rx.request_keyframe(KeyframeRequestKind::Pli);
            p.last_pli.retain(|(r, _)| *r != rid);
            p.last_pli.push((rid, now));
            self.counters.keyframe_requests += 1;
            asked = true;
        }
        if asked {
            let next = drain_transmits(&mut peer.rtc, sink);
            sooner(&mut self.timers, publisher, &mut peer.deadline, next);
        }
    }
}

impl SfuCore {
    /// A keyframe of an upstream source, asked of the home node (which
    /// asks its publisher): at most once per `PLI_EVERY` per source, however
    /// many viewers here want one.
    fn keyframe_upstream(
        &mut self,
        id: PeerId,
        source: PeerId,
        rid: Option<Rid>,
        now: Instant,
        sink: &mut Sink,
    ) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let Kind::Upstream(up) = &mut peer.kind else {
            return;
        };
        let recent = up.last_pli.iter().any(|(s, r, t)| {
            *s == source && *r == rid && now.saturating_duration_since(*t) < PLI_EVERY
        });
        if recent {
            return;
        }
        let mids: Vec<Mid> = up.video_of(source).collect();
        up.last_pli.retain(|(s, r, _)| (*s, *r) != (source, rid));
        up.last_pli.push((source, rid, now));
        let rids: Vec<Option<Rid>> = match rid {
            Some(r) => vec![Some(r)],
            None => super::upstream::RIDS
                .iter()
                .map(|r| Some(Rid::from(*r)))
                .collect(),
        };
        let mut api = peer.rtc.direct_api();
        for mid in mids {
            for rid in &rids {
                if let Some(rx) = api.stream_rx_by_mid(mid, *rid) {
                    rx.request_keyframe(KeyframeRequestKind::Pli);
                    self.counters.keyframe_requests += 1;
                }
            }
        }
        let next = drain_transmits(&mut peer.rtc, sink);
        sooner(&mut self.timers, id, &mut peer.deadline, next);
    }
}

/// A viewer's video section as the layer extension reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionLayers {
    pub mid: Mid,
    /// Layers the source sends, lowest first, with their bitrates.
    pub active: Vec<(Option<Rid>, u64)>,
    pub inactive: Vec<Option<Rid>>,
    /// What the section receives now.
    pub current: Option<Option<Rid>>,
    pub paused: bool,
    pub pinned: bool,
    /// The viewer turned this video off.
    pub off: bool,
}

/// Whether a section forwards this video packet of its source: the layer
/// it sends, until a keyframe of the layer it wants arrives; nothing while
/// paused. Notes the layers it waits on for a keyframe.
fn forwards(
    slot: &mut Slot,
    pkt: &Forward,
    media: &RoomMedia,
    estimate: Option<f64>,
    wanted: &mut Vec<Option<Rid>>,
) -> bool {
    if slot.selector.choice.is_none() {
        let available = media
            .layers
            .get(&pkt.from)
            .map_or_else(Vec::new, |m| layers::by_rate(m, pkt.arrival));
        slot.selector.decide(
            &available,
            estimate.map(layers::video_budget),
            pkt.arrival,
            false,
        );
    }
    let target = match slot.selector.choice {
        Some(Choice::Layer(rid)) => rid,
        Some(Choice::Paused) | None => return false,
    };
    if pkt.rid == target && slot.sending != Some(target) {
        if pkt.keyframe {
            slot.sending = Some(target);
        } else if !wanted.contains(&target) {
            wanted.push(target);
        }
    }
    slot.sending == Some(pkt.rid)
}

/// Gives a viewer's sections their roles (see [`Role`]).
fn assign_roles(slots: &mut [Slot]) {
    let videos = slots.iter().filter(|s| s.kind == MediaKind::Video).count();
    let audios = slots.iter().filter(|s| s.kind == MediaKind::Audio).count();
    let (mut audio_seen, mut video_seen) = (0, 0);
    for slot in slots.iter_mut() {
        slot.role = if slot.kind == MediaKind::Audio {
            audio_seen += 1;
            match (audios, audio_seen) {
                (1, _) => Role::ProgrammeAudio,
                (_, 1) => Role::Microphone,
                (_, n) if n - 2 < SEATS => Role::SpeakerAudio(n - 2),
                _ => Role::Unused,
            }
        } else {
            video_seen += 1;
            match (videos, video_seen) {
                (1, _) => Role::Stage,
                (_, 1) => Role::Camera,
                (_, 2) => Role::Screen,
                (_, n) if n - 3 < SEATS => Role::SpeakerVideo(n - 3),
                _ => Role::Unused,
            }
        };
    }
}

/// The publisher a section of that role shows in this room right now.
fn source_of(role: Role, media: &RoomMedia) -> Option<PeerId> {
    // A speaker on stage who speaks now (the presenter is the default).
    let speaking = media.active.filter(|a| media.seats.contains(&Some(*a)));
    match role {
        Role::Microphone | Role::Camera => media.camera,
        Role::Screen => media.screen,
        Role::Stage if media.state.1 => media.screen,
        Role::Stage | Role::ProgrammeAudio => speaking.or(media.camera),
        Role::SpeakerAudio(seat) | Role::SpeakerVideo(seat) => media.seats[seat],
        Role::Unused => None,
    }
}

fn publisher_owner(p: &Peer) -> Option<i64> {
    match &p.kind {
        Kind::Publisher(p) => Some(p.owner),
        Kind::Viewer(_) | Kind::Upstream(_) => None,
    }
}

impl RoomMedia {
    fn publishers(&self) -> Vec<PeerId> {
        [self.camera, self.screen]
            .into_iter()
            .chain(self.seats)
            .flatten()
            .collect()
    }

    /// Nothing left of it: no publisher, no viewer.
    fn unused(&self) -> bool {
        self.camera.is_none()
            && self.screen.is_none()
            && self.seats.iter().all(Option::is_none)
            && self.viewers.is_empty()
    }
}

/// Drains output after a mutation made outside `drive`; events there are
/// not expected (media writes and keyframe requests raise none we use).
fn drain_transmits(rtc: &mut Rtc, sink: &mut Sink) -> Option<Instant> {
    while let Ok(out) = rtc.poll_output() {
        match out {
            Output::Transmit(t) => sink(t.proto, t.destination, &t.contents),
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
