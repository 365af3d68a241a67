//! A simulated network for the SFU core: str0m peers, a fake clock, packets
//! carried with latency and (deterministic) loss, no sockets. Shared by the
//! core tests and the media fan-out bench. The server may be several
//! shards (cores handing relays to each other, as the driver's threads do):
//! publishers join shard 0, viewers take the shards in turn from shard 1.

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use podium::media::core::{Relay, SfuCore};
use podium::media::{shard_of, PeerId, Source};
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

const SERVER: &str = "10.9.0.1:7100";
/// The second node, when there is one.
const REMOTE: &str = "10.9.0.2:7100";
const LATENCY: Duration = Duration::from_millis(10);

pub struct Client {
    pub addr: SocketAddr,
    /// The server shard that owns this client's session.
    pub shard: usize,
    pub rtc: Rtc,
    pub deadline: Instant,
    /// Received RTP: (mid, ssrc, sequence number, first payload byte).
    pub rtp: Vec<(Mid, u32, u16, u8)>,
    /// Received video: (sequence number, fill byte, starts a keyframe).
    pub video: Vec<(u16, u8, bool)>,
    /// Counting mode: RTP is noted on arrival and not handed to the peer,
    /// which then sends no reports: the quietest a viewer can be.
    pub counting: bool,
    pub rtp_at: Vec<Instant>,
    pub keyframe_requests: usize,
    /// Mids that carried video, in order of their first packet.
    pub video_mids: Vec<Mid>,
    pub connected: bool,
    /// Presenter: mids to send on, and what fills its video frames.
    pub send: Vec<(Mid, MediaKind)>,
    pub fill: u8,
    pub sent_at: Option<Instant>,
    pub frame: u64,
    pub silent: bool,
    /// Presenter: the next video frame is a keyframe (the first, and the
    /// one after a keyframe request, as an encoder does).
    pub key_due: bool,
    /// Keyframes this presenter has sent.
    pub keyframes_sent: usize,
    /// Simulcast presenter: each layer's rid, fill byte and frame size;
    /// layers owing a keyframe; keyframe requests per layer.
    pub layers: Vec<(Rid, u8, usize)>,
    pub layer_keys_due: Vec<Rid>,
    pub layer_requests: Vec<(Rid, usize)>,
    /// Viewer: a bottleneck on the way to it.
    pub link: Option<Link>,
    /// Bytes of every datagram that reached this client.
    pub received_bytes: u64,
    /// Publisher: the RFC 6464 audio level its audio carries (0 loudest,
    /// -127 silence), if any.
    pub audio_level: Option<i8>,
}

impl Client {
    /// A client that has not connected, sent or received anything yet.
    fn new(addr: SocketAddr, shard: usize, rtc: Rtc, now: Instant) -> Self {
        Self {
            addr,
            shard,
            rtc,
            deadline: now,
            rtp: Vec::new(),
            video: Vec::new(),
            counting: false,
            rtp_at: Vec::new(),
            keyframe_requests: 0,
            video_mids: Vec::new(),
            connected: false,
            send: Vec::new(),
            fill: 0,
            sent_at: None,
            frame: 0,
            silent: false,
            key_due: true,
            keyframes_sent: 0,
            layers: Vec::new(),
            layer_keys_due: Vec::new(),
            layer_requests: Vec::new(),
            link: None,
            received_bytes: 0,
            audio_level: None,
        }
    }
}

/// A bottleneck link towards a client: packets queue behind each other at
/// `bps`, and one that would wait more than `max_queue` is dropped, as a
/// router with a short buffer does.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub bps: u64,
    pub max_queue: Duration,
    busy_until: Option<Instant>,
}

impl Link {
    pub fn new(bps: u64) -> Self {
        Self {
            bps,
            max_queue: Duration::from_millis(100),
            busy_until: None,
        }
    }

    /// When a packet of `bytes` sent now leaves the link, if it is not
    /// dropped.
    fn departs(&mut self, now: Instant, bytes: usize) -> Option<Instant> {
        let start = self.busy_until.filter(|t| *t > now).unwrap_or(now);
        if start - now > self.max_queue {
            return None;
        }
        let end = start + Duration::from_secs_f64(bytes as f64 * 8.0 / self.bps as f64);
        self.busy_until = Some(end);
        Some(end)
    }
}

pub struct Net {
    pub now: Instant,
    pub cores: Vec<SfuCore>,
    pub server: SocketAddr,
    next_viewer_shard: usize,
    pub clients: Vec<Client>,
    /// (deliver at, from, to, bytes)
    pub wire: VecDeque<(Instant, SocketAddr, SocketAddr, Vec<u8>)>,
    pub loss_percent: u64,
    pub rng: u64,
    /// Bytes of each synthetic video frame (str0m splits it into packets).
    pub video_bytes: usize,
    /// The video codec clients offer and presenters send.
    pub video_codec: Codec,
    /// Bench mode: the server's datagrams really go out of a UDP socket to
    /// a receiver that never reads, and no simulated client gets them.
    pub blackhole: Option<(UdpSocket, SocketAddr, UdpSocket)>,
    /// Time spent inside the core (and its sends): the server's work.
    pub core_time: Duration,
    /// A second node (several nodes): its core, its address, and the loss
    /// on the link between it and the server, each way.
    pub remote: Option<Remote>,
}

pub struct Remote {
    pub addr: SocketAddr,
    pub core: SfuCore,
    pub loss_percent: u64,
}

impl Net {
    pub fn new(loss_percent: u64) -> Net {
        Self::sharded(loss_percent, 1)
    }

    pub fn sharded(loss_percent: u64, shards: usize) -> Net {
        let server: SocketAddr = SERVER.parse().unwrap();
        Net {
            now: Instant::now(),
            cores: (0..shards)
                .map(|i| SfuCore::shard(server, i, shards))
                .collect(),
            server,
            // The first viewer lands away from the publishers' shard.
            next_viewer_shard: 1 % shards,
            clients: Vec::new(),
            wire: VecDeque::new(),
            loss_percent,
            rng: 0x2545_f491_4f6c_dd1d,
            video_bytes: 1000,
            video_codec: Codec::Vp8,
            blackhole: None,
            core_time: Duration::ZERO,
            remote: None,
        }
    }

    /// Adds a second node whose core takes room 1's media from this one
    /// (an upstream session), over a link losing `loss_percent` each way.
    pub fn with_remote(&mut self, loss_percent: u64) {
        let addr: SocketAddr = REMOTE.parse().unwrap();
        let mut core = SfuCore::new(addr);
        let (up, offer) = core.add_upstream(self.now, 1).expect("an upstream offer");
        let mut answer = None;
        self.on_core(0, |core, now, sink| {
            answer = Some(core.add_viewer(now, 1, &offer, sink));
        });
        let (_, answer) = answer
            .unwrap()
            .expect("the home answers the upstream offer");
        let mut out = Vec::new();
        core.upstream_answer(self.now, up, &answer, &mut |_, to, d| {
            out.push((to, d.to_vec()))
        })
        .expect("the upstream takes the answer");
        self.remote = Some(Remote {
            addr,
            core,
            loss_percent,
        });
        self.emit_from(addr, out);
        self.pump();
    }

    /// A viewer on the second node.
    pub fn join_remote(&mut self, media: &[(MediaKind, Direction)]) -> usize {
        let idx = self.clients.len();
        let addr = SocketAddr::from(([10, 9, 1 + (idx / 250) as u8, 1 + (idx % 250) as u8], 5000));
        let mut rtc = self.client_rtc(true);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut api = rtc.sdp_api();
        for (kind, dir) in media {
            api.add_media(*kind, *dir, None, None, None);
        }
        let (offer, pending) = api.apply().unwrap();
        let now = self.now;
        let remote = self.remote.as_mut().expect("with_remote first");
        let mut out = Vec::new();
        let (_, answer) = remote
            .core
            .add_viewer(now, 1, &offer.to_sdp_string(), &mut |_, to, d| {
                out.push((to, d.to_vec()))
            })
            .expect("the second node takes a viewer");
        let from = remote.addr;
        self.emit_from(from, out);
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .unwrap();
        self.clients.push(Client::new(addr, 0, rtc, self.now));
        idx
    }

    /// Packets written to viewers, over all shards.
    pub fn forwarded(&self) -> u64 {
        self.cores.iter().map(|c| c.forwarded()).sum()
    }

    pub fn peer_count(&self) -> usize {
        self.cores.iter().map(|c| c.peer_count()).sum()
    }

    /// Ends a session on the shard that owns it.
    pub fn remove(&mut self, peer: PeerId) {
        let n = self.cores.len();
        let now = self.now;
        self.cores[shard_of(peer, n)].remove(peer, now);
        self.pump();
    }

    /// Where the server's datagrams go: the wire (through a client's
    /// bottleneck, if it has one), or the bench's socket.
    fn emit(&mut self, out: Vec<(SocketAddr, Vec<u8>)>) {
        let server = self.server;
        self.emit_from(server, out);
    }

    fn emit_from(&mut self, from: SocketAddr, out: Vec<(SocketAddr, Vec<u8>)>) {
        for (to, d) in out {
            let now = self.now;
            let link = self
                .clients
                .iter_mut()
                .find(|c| c.addr == to)
                .and_then(|c| c.link.as_mut());
            let at = match link {
                Some(link) => match link.departs(now, d.len()) {
                    Some(t) => t + LATENCY,
                    None => continue,
                },
                None => now + LATENCY,
            };
            // Each destination's packets keep their order: a link is a
            // queue, and delivery takes each packet once it is due.
            self.wire.push_back((at, from, to, d));
        }
    }

    /// A presenter sending its camera as simulcast layers: `(rid, fill
    /// byte, bytes per frame)`, highest first.
    pub fn join_simulcast(&mut self, layers: &[(&str, u8, usize)]) -> (usize, PeerId) {
        let idx = self.clients.len();
        let addr = SocketAddr::from(([10, 9, 1 + (idx / 250) as u8, 1 + (idx % 250) as u8], 5000));
        let mut rtc = self.client_rtc(false);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let mut simulcast = Simulcast::new();
        for (rid, ..) in layers {
            simulcast.add_send_layer(SimulcastLayer::new(rid));
        }
        let video = api.add_media(
            MediaKind::Video,
            Direction::SendOnly,
            None,
            None,
            Some(simulcast),
        );
        let (offer, pending) = api.apply().unwrap();
        let offer = offer.to_sdp_string();
        let mut added = None;
        self.on_core(0, |core, now, sink| {
            added =
                Some(core.add_publisher(now, 1, 100 + idx as i64, Source::Camera, &offer, sink));
        });
        self.pump();
        let (peer, answer) = added.unwrap().expect("the core accepts a simulcast offer");
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .unwrap();
        let rids: Vec<Rid> = layers.iter().map(|(r, ..)| Rid::from(*r)).collect();
        let mut c = Client::new(addr, 0, rtc, self.now);
        c.send = vec![(audio, MediaKind::Audio), (video, MediaKind::Video)];
        c.fill = layers[0].1;
        c.layers = layers
            .iter()
            .map(|(r, fill, bytes)| (Rid::from(*r), *fill, *bytes))
            .collect();
        c.layer_keys_due = rids.clone();
        c.layer_requests = rids.into_iter().map(|r| (r, 0)).collect();
        self.clients.push(c);
        (idx, peer)
    }

    /// Runs `f` on one shard with a sink, timing it as server work; then
    /// its datagrams go on their way.
    pub fn on_core(
        &mut self,
        shard: usize,
        f: impl FnOnce(&mut SfuCore, Instant, &mut dyn FnMut(Protocol, SocketAddr, &[u8])),
    ) {
        let mut out = Vec::new();
        let blackhole = self.blackhole.as_ref();
        let now = self.now;
        let t0 = Instant::now();
        f(
            &mut self.cores[shard],
            now,
            &mut |_, to, d| match blackhole {
                Some((sock, addr, _)) => {
                    let _ = sock.send_to(d, addr);
                }
                None => out.push((to, d.to_vec())),
            },
        );
        self.core_time += t0.elapsed();
        self.emit(out);
    }

    /// Hands relays between shards until none is left, as the driver's
    /// channels do.
    fn pump(&mut self) {
        let n = self.cores.len();
        loop {
            let mut moved = Vec::new();
            for (i, core) in self.cores.iter_mut().enumerate() {
                core.drain_relays(|r| moved.push((i, r)));
            }
            if moved.is_empty() {
                return;
            }
            for (from, relay) in moved {
                let targets: Vec<usize> = match &relay {
                    Relay::Keyframe(p, _) => vec![shard_of(*p, n)],
                    _ => (0..n).filter(|s| *s != from).collect(),
                };
                for t in targets {
                    let r = relay.clone();
                    self.on_core(t, |core, now, sink| core.handle_relay(now, r, sink));
                }
            }
        }
    }

    fn lose(&mut self) -> bool {
        self.lose_percent(self.loss_percent)
    }

    fn lose_percent(&mut self, percent: u64) -> bool {
        // xorshift: deterministic loss pattern for a repeatable test.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % 100 < percent
    }

    fn client_rtc(&self, rtp_mode: bool) -> Rtc {
        let b = Rtc::builder()
            .set_rtp_mode(rtp_mode)
            .clear_codecs()
            .enable_opus(true, false);
        let b = if self.video_codec == Codec::H264 {
            b.enable_h264(true)
        } else {
            b.enable_vp8(true)
        };
        b.build(self.now)
    }

    /// Adds a client that offers `media`; returns its index and peer id.
    pub fn join(
        &mut self,
        media: &[(MediaKind, Direction)],
        publish: Option<Source>,
        fill: u8,
    ) -> (usize, PeerId) {
        let shard = if publish.is_some() {
            0
        } else {
            let s = self.next_viewer_shard;
            self.next_viewer_shard = (s + 1) % self.cores.len();
            s
        };
        self.join_on(shard, media, publish, fill)
    }

    /// Like [`Net::join`], on a chosen shard.
    pub fn join_on(
        &mut self,
        shard: usize,
        media: &[(MediaKind, Direction)],
        publish: Option<Source>,
        fill: u8,
    ) -> (usize, PeerId) {
        let idx = self.clients.len();
        let addr = SocketAddr::from(([10, 9, 1 + (idx / 250) as u8, 1 + (idx % 250) as u8], 5000));
        let mut rtc = self.client_rtc(publish.is_none());
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut api = rtc.sdp_api();
        let mut mids = Vec::new();
        for (kind, dir) in media {
            mids.push((api.add_media(*kind, *dir, None, None, None), *kind));
        }
        let (offer, pending) = api.apply().unwrap();
        let offer = offer.to_sdp_string();
        let mut added = None;
        self.on_core(shard, |core, now, sink| {
            added = Some(match publish {
                Some(source) => core.add_publisher(now, 1, 100 + idx as i64, source, &offer, sink),
                None => core.add_viewer(now, 1, &offer, sink),
            });
        });
        self.pump();
        let (peer, answer) = added.unwrap().expect("the core accepts the offer");
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .unwrap();
        let mut c = Client::new(addr, shard, rtc, self.now);
        c.send = if publish.is_some() { mids } else { Vec::new() };
        c.fill = fill;
        self.clients.push(c);
        (idx, peer)
    }

    fn poll_client(&mut self, i: usize) {
        let server = self.server;
        loop {
            let c = &mut self.clients[i];
            match c.rtc.poll_output().unwrap() {
                Output::Timeout(t) => {
                    c.deadline = t;
                    break;
                }
                Output::Transmit(t) => {
                    if !c.silent {
                        let at = self.now + LATENCY;
                        let from = c.addr;
                        // The server, or the second node for its viewers.
                        let to = match &self.remote {
                            Some(r) if t.destination == r.addr => r.addr,
                            _ => server,
                        };
                        self.wire.push_back((at, from, to, t.contents.to_vec()));
                    }
                }
                Output::Event(e) => match e {
                    Event::Connected => c.connected = true,
                    Event::RtpPacket(p) => {
                        let mid = c
                            .rtc
                            .direct_api()
                            .stream_rx(&p.header.ssrc)
                            .map(|s| s.mid())
                            .unwrap();
                        let video = c
                            .rtc
                            .media(mid)
                            .is_some_and(|m| m.kind() == MediaKind::Video);
                        if video && !c.video_mids.contains(&mid) {
                            c.video_mids.push(mid);
                        }
                        let first = p.payload.last().copied().unwrap_or(0);
                        if video {
                            let key = podium::media::layers::starts_keyframe(
                                str0m::format::Codec::Vp8,
                                &p.payload,
                            );
                            c.video.push((p.header.sequence_number, first, key));
                        }
                        c.rtp
                            .push((mid, *p.header.ssrc, p.header.sequence_number, first));
                    }
                    Event::KeyframeRequest(req) => {
                        c.keyframe_requests += 1;
                        c.key_due = true;
                        if let Some(rid) = req.rid {
                            if !c.layer_keys_due.contains(&rid) {
                                c.layer_keys_due.push(rid);
                            }
                            if let Some(n) = c.layer_requests.iter_mut().find(|(r, _)| *r == rid) {
                                n.1 += 1;
                            }
                        }
                    }
                    _ => {}
                },
            }
        }
    }

    /// Presenters write 30 fps video (1 KB frames) and 50 pps audio.
    fn send_media(&mut self, i: usize) {
        let now = self.now;
        let c = &mut self.clients[i];
        if !c.connected
            || c.send.is_empty()
            || c.sent_at
                .is_some_and(|t| now - t < Duration::from_millis(33))
        {
            return;
        }
        c.sent_at = Some(now);
        c.frame += 1;
        // A keyframe when asked, and every 3 s as encoders do anyway.
        let key = std::mem::take(&mut c.key_due) || c.frame.is_multiple_of(90);
        c.keyframes_sent += usize::from(key);
        let (frame, fill) = (c.frame, c.fill);
        let video_bytes = self.video_bytes;
        let video_codec = self.video_codec;
        for (mid, kind) in c.send.clone() {
            let c = &mut self.clients[i];
            if kind == MediaKind::Video && !c.layers.is_empty() {
                let periodic = c.frame.is_multiple_of(90);
                for (rid, fill, bytes) in c.layers.clone() {
                    let due = c.layer_keys_due.contains(&rid);
                    c.layer_keys_due.retain(|r| *r != rid);
                    let mut data = vec![fill; bytes];
                    data[0] = u8::from(!(due || periodic));
                    let writer = c.rtc.writer(mid).unwrap().rid(rid);
                    let pt = writer
                        .payload_params()
                        .find(|p| p.spec().codec == video_codec)
                        .unwrap()
                        .pt();
                    writer
                        .write(pt, now, MediaTime::from_90khz(frame * 3000), data)
                        .unwrap();
                }
                self.poll_client(i);
                continue;
            }
            let level = c.audio_level.filter(|_| kind == MediaKind::Audio);
            let mut writer = c.rtc.writer(mid).unwrap();
            if let Some(level) = level {
                writer = writer.audio_level(level, level > -127);
            }
            let codec = if kind == MediaKind::Video {
                video_codec
            } else {
                Codec::Opus
            };
            let pt = writer
                .payload_params()
                .find(|p| p.spec().codec == codec)
                .unwrap()
                .pt();
            let (time, data) = if kind == MediaKind::Video {
                let mut data = vec![fill; video_bytes];
                if video_codec == Codec::H264 {
                    // One NAL unit in Annex B framing: an IDR slice, or a
                    // non-IDR one.
                    data.splice(0..0, [0, 0, 0, 1, if key { 0x65 } else { 0x41 }]);
                } else {
                    // The VP8 frame header's lowest bit: 0 for a keyframe.
                    data[0] = u8::from(!key);
                }
                (MediaTime::from_90khz(frame * 3000), data)
            } else {
                (
                    MediaTime::new(frame * 1600, str0m::media::Frequency::FORTY_EIGHT_KHZ),
                    vec![fill; 80],
                )
            };
            writer.write(pt, now, time, data).unwrap();
            self.poll_client(i);
        }
    }

    pub fn step(&mut self, dt: Duration) {
        self.now += dt;
        let now = self.now;
        // Deliver what is due.
        let mut later = VecDeque::new();
        while let Some((at, from, to, data)) = self.wire.pop_front() {
            if at > now {
                later.push_back((at, from, to, data));
                continue;
            }
            if self.lose() {
                continue;
            }
            let remote = self.remote.as_ref().map(|r| (r.addr, r.loss_percent));
            if let Some((addr, loss)) = remote {
                // The link between the nodes loses on its own.
                let between =
                    (from == addr && to == self.server) || (to == addr && from == self.server);
                if between && self.lose_percent(loss) {
                    continue;
                }
                if to == addr {
                    let wire = std::mem::replace(&mut self.wire, later);
                    let mut out = Vec::new();
                    if let Some(r) = self.remote.as_mut() {
                        r.core.handle_datagram(now, from, &data, &mut |_, to, d| {
                            out.push((to, d.to_vec()))
                        });
                    }
                    self.emit_from(addr, out);
                    later = std::mem::replace(&mut self.wire, wire);
                    continue;
                }
            }
            if to == self.server {
                let shard = self
                    .clients
                    .iter()
                    .find(|c| c.addr == from)
                    .map_or(0, |c| c.shard);
                // Replies join the wire behind what is still in flight.
                let wire = std::mem::replace(&mut self.wire, later);
                self.on_core(shard, |core, now, sink| {
                    core.handle_datagram(now, from, &data, sink)
                });
                self.pump();
                later = std::mem::replace(&mut self.wire, wire);
            } else if let Some(i) = self.clients.iter().position(|c| c.addr == to) {
                let c = &mut self.clients[i];
                c.received_bytes += data.len() as u64;
                // RFC 7983: 128..=191 is RTP or RTCP; RTCP types are 192..=223.
                let rtp = (128..=191).contains(&data[0]) && !(192..=223).contains(&data[1]);
                if c.counting && rtp {
                    c.rtp_at.push(now);
                    continue;
                }
                let input =
                    Input::Receive(now, Receive::new(Protocol::Udp, from, to, &data).unwrap());
                if !c.silent {
                    c.rtc.handle_input(input).unwrap();
                    self.poll_client(i);
                }
            }
        }
        self.wire = later;
        for shard in 0..self.cores.len() {
            self.on_core(shard, |core, now, sink| core.handle_timeout(now, sink));
        }
        if let Some(r) = self.remote.as_mut() {
            let mut out = Vec::new();
            r.core
                .handle_timeout(now, &mut |_, to, d| out.push((to, d.to_vec())));
            let addr = r.addr;
            self.emit_from(addr, out);
        }
        self.pump();
        for i in 0..self.clients.len() {
            if self.clients[i].deadline <= now && !self.clients[i].silent {
                self.clients[i]
                    .rtc
                    .handle_input(Input::Timeout(now))
                    .unwrap();
                self.poll_client(i);
            }
            self.send_media(i);
        }
    }

    /// Sends datagrams a call into a core made (outside the net's own
    /// calls) on their way.
    pub fn run_with(&mut self, out: Vec<(SocketAddr, Vec<u8>)>) {
        self.emit(out);
        self.pump();
    }

    /// The WHEP layer extension, as a viewer's request would make it: on
    /// the viewer's shard, its effects sent on their way.
    pub fn select_layer(&mut self, viewer: PeerId, want: podium::media::layers::Want) {
        let now = self.now;
        let shard = podium::media::shard_of(viewer, self.cores.len());
        let mut out = Vec::new();
        self.cores[shard]
            .select_layer(viewer, None, want, now, &mut |_, to, d| {
                out.push((to, d.to_vec()))
            })
            .unwrap();
        self.run_with(out);
    }

    pub fn run(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.step(Duration::from_millis(5));
        }
    }
}
