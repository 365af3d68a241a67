//! The SFU core on a fake clock: str0m peers on both ends, packets carried
//! by a simulated network with latency and loss, no sockets.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use podium::media::core::SfuCore;
use podium::media::{PeerId, Source};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

const SERVER: &str = "10.9.0.1:7100";
const LATENCY: Duration = Duration::from_millis(10);

struct Client {
    addr: SocketAddr,
    rtc: Rtc,
    deadline: Instant,
    /// Received RTP: (mid, ssrc, sequence number, first payload byte).
    rtp: Vec<(Mid, u32, u16, u8)>,
    keyframe_requests: usize,
    connected: bool,
    /// Presenter: mids to send on, and what fills its video frames.
    send: Vec<(Mid, MediaKind)>,
    fill: u8,
    sent_at: Option<Instant>,
    frame: u64,
    silent: bool,
}

struct Net {
    now: Instant,
    core: SfuCore,
    server: SocketAddr,
    clients: Vec<Client>,
    /// (deliver at, from, to, bytes)
    wire: VecDeque<(Instant, SocketAddr, SocketAddr, Vec<u8>)>,
    loss_percent: u64,
    rng: u64,
}

impl Net {
    fn new(loss_percent: u64) -> Net {
        let server: SocketAddr = SERVER.parse().unwrap();
        Net {
            now: Instant::now(),
            core: SfuCore::new(server),
            server,
            clients: Vec::new(),
            wire: VecDeque::new(),
            loss_percent,
            rng: 0x2545_f491_4f6c_dd1d,
        }
    }

    fn lose(&mut self) -> bool {
        // xorshift: deterministic loss pattern for a repeatable test.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % 100 < self.loss_percent
    }

    fn client_rtc(&self, rtp_mode: bool) -> Rtc {
        Rtc::builder()
            .set_rtp_mode(rtp_mode)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(self.now)
    }

    /// Adds a client that offers `media`; returns its index and peer id.
    fn join(
        &mut self,
        media: &[(MediaKind, Direction)],
        publish: Option<Source>,
        fill: u8,
    ) -> (usize, PeerId) {
        let idx = self.clients.len();
        let addr: SocketAddr = format!("10.9.1.{}:5000", idx + 1).parse().unwrap();
        let mut rtc = self.client_rtc(publish.is_none());
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut api = rtc.sdp_api();
        let mut mids = Vec::new();
        for (kind, dir) in media {
            mids.push((api.add_media(*kind, *dir, None, None, None), *kind));
        }
        let (offer, pending) = api.apply().unwrap();
        let offer = SdpOffer::from_sdp_string(&offer.to_sdp_string()).unwrap();
        let mut out = Vec::new();
        let server = self.server;
        let mut sink = |to: SocketAddr, d: &[u8]| out.push((to, d.to_vec()));
        let (peer, answer) = match publish {
            Some(source) => {
                self.core
                    .add_publisher(self.now, 1, source, &offer.to_sdp_string(), &mut sink)
            }
            None => self
                .core
                .add_viewer(self.now, 1, &offer.to_sdp_string(), &mut sink),
        }
        .expect("the core accepts the offer");
        for (to, d) in out {
            self.wire.push_back((self.now + LATENCY, server, to, d));
        }
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .unwrap();
        self.clients.push(Client {
            addr,
            rtc,
            deadline: self.now,
            rtp: Vec::new(),
            keyframe_requests: 0,
            connected: false,
            send: if publish.is_some() { mids } else { Vec::new() },
            fill,
            sent_at: None,
            frame: 0,
            silent: false,
        });
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
                        self.wire.push_back((at, from, server, t.contents.to_vec()));
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
                        let first = p.payload.last().copied().unwrap_or(0);
                        c.rtp
                            .push((mid, *p.header.ssrc, p.header.sequence_number, first));
                    }
                    Event::KeyframeRequest(_) => c.keyframe_requests += 1,
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
        let (frame, fill) = (c.frame, c.fill);
        for (mid, kind) in c.send.clone() {
            let c = &mut self.clients[i];
            let writer = c.rtc.writer(mid).unwrap();
            let codec = if kind == MediaKind::Video {
                Codec::Vp8
            } else {
                Codec::Opus
            };
            let pt = writer
                .payload_params()
                .find(|p| p.spec().codec == codec)
                .unwrap()
                .pt();
            let (time, data) = if kind == MediaKind::Video {
                (MediaTime::from_90khz(frame * 3000), vec![fill; 1000])
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

    fn step(&mut self, dt: Duration) {
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
            if to == self.server {
                let mut out = Vec::new();
                self.core
                    .handle_datagram(now, from, &data, &mut |to, d| out.push((to, d.to_vec())));
                for (to, d) in out {
                    later.push_back((now + LATENCY, self.server, to, d));
                }
            } else if let Some(i) = self.clients.iter().position(|c| c.addr == to) {
                let c = &mut self.clients[i];
                let input =
                    Input::Receive(now, Receive::new(Protocol::Udp, from, to, &data).unwrap());
                if !c.silent {
                    c.rtc.handle_input(input).unwrap();
                    self.poll_client(i);
                }
            }
        }
        self.wire = later;
        let mut out = Vec::new();
        self.core
            .handle_timeout(now, &mut |to, d| out.push((to, d.to_vec())));
        for (to, d) in out {
            self.wire.push_back((now + LATENCY, self.server, to, d));
        }
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

    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.step(Duration::from_millis(5));
        }
    }
}

const AV_SEND: [(MediaKind, Direction); 2] = [
    (MediaKind::Audio, Direction::SendOnly),
    (MediaKind::Video, Direction::SendOnly),
];
const AV_RECV: [(MediaKind, Direction); 2] = [
    (MediaKind::Audio, Direction::RecvOnly),
    (MediaKind::Video, Direction::RecvOnly),
];

fn video(c: &Client) -> Vec<(Mid, u32, u16, u8)> {
    let mid = c.rtp.iter().map(|r| r.0).max();
    c.rtp.iter().filter(|r| Some(r.0) == mid).copied().collect()
}

#[test]
fn presenter_reaches_three_viewers_through_loss() {
    let mut net = Net::new(2);
    let (p, _) = net.join(&AV_SEND, Some(Source::Camera), 0xCA);
    let viewers: Vec<usize> = (0..3).map(|_| net.join(&AV_RECV, None, 0).0).collect();
    net.run(Duration::from_secs(5));
    assert!(net.clients[p].connected);
    for v in viewers {
        let c = &net.clients[v];
        assert!(c.connected, "viewer {v} connected");
        let mids: std::collections::BTreeSet<Mid> = c.rtp.iter().map(|r| r.0).collect();
        assert_eq!(mids.len(), 2, "viewer {v} gets audio and video");
        // ~4 s of media at 30 fps video (1 packet a frame) + 30 pps audio.
        assert!(
            c.rtp.len() > 150,
            "viewer {v} got only {} packets",
            c.rtp.len()
        );
        assert!(c.rtp.iter().all(|r| r.3 == 0xCA), "the presenter's media");
    }
    assert!(net.core.forwarded() > 400);
}

#[test]
fn presenter_reconnect_keeps_viewer_sequence_continuous() {
    let mut net = Net::new(0);
    let (p1, _) = net.join(&AV_SEND, Some(Source::Camera), 0x11);
    let (v, _) = net.join(&AV_RECV, None, 0);
    net.run(Duration::from_secs(3));
    let before = video(&net.clients[v]).len();
    assert!(before > 30);
    // The presenter's network drops; a new session publishes the camera.
    net.clients[p1].silent = true;
    net.run(Duration::from_millis(500));
    let (_p2, _) = net.join(&AV_SEND, Some(Source::Camera), 0x22);
    net.run(Duration::from_secs(3));
    let vid = video(&net.clients[v]);
    assert!(
        vid.iter().any(|r| r.3 == 0x22),
        "media resumed from the new session"
    );
    let ssrcs: std::collections::BTreeSet<u32> = vid.iter().map(|r| r.1).collect();
    assert_eq!(ssrcs.len(), 1, "the viewer sees one stream");
    for w in vid.windows(2) {
        assert_eq!(
            w[1].2,
            w[0].2.wrapping_add(1),
            "sequence numbers run on without a jump"
        );
    }
}

#[test]
fn a_joining_viewer_triggers_one_keyframe_request() {
    let mut net = Net::new(0);
    let (p, _) = net.join(&AV_SEND, Some(Source::Camera), 0x33);
    net.run(Duration::from_secs(2));
    let before = net.clients[p].keyframe_requests;
    for _ in 0..5 {
        net.join(&AV_RECV, None, 0);
    }
    net.run(Duration::from_secs(1));
    let asked = net.clients[p].keyframe_requests - before;
    assert!(asked >= 1, "the presenter was asked for a keyframe");
    assert!(
        asked <= 3,
        "five joins at once are coalesced, got {asked} requests"
    );
}

#[test]
fn single_video_viewers_see_the_screen_while_it_is_shared() {
    let mut net = Net::new(0);
    net.join(&AV_SEND, Some(Source::Camera), 0xCA);
    let (one, _) = net.join(&AV_RECV, None, 0);
    let (two, _) = net.join(
        &[
            (MediaKind::Audio, Direction::RecvOnly),
            (MediaKind::Video, Direction::RecvOnly),
            (MediaKind::Video, Direction::RecvOnly),
        ],
        None,
        0,
    );
    net.run(Duration::from_secs(2));
    assert!(video(&net.clients[one]).iter().all(|r| r.3 == 0xCA));
    let (screen, screen_peer) = net.join(
        &[(MediaKind::Video, Direction::SendOnly)],
        Some(Source::Screen),
        0x5C,
    );
    net.run(Duration::from_secs(2));
    assert!(net.clients[screen].connected);
    let last = *video(&net.clients[one]).last().unwrap();
    assert_eq!(last.3, 0x5C, "one video section: the screen takes it");
    let two_mids: std::collections::BTreeSet<Mid> =
        net.clients[two].rtp.iter().map(|r| r.0).collect();
    assert_eq!(
        two_mids.len(),
        3,
        "two video sections: camera and screen both flow"
    );
    // Screen sharing stops: back to the camera, on the same stream.
    net.core.remove(screen_peer, net.now);
    net.run(Duration::from_secs(1));
    let vid = video(&net.clients[one]);
    assert_eq!(vid.last().unwrap().3, 0xCA);
    let ssrcs: std::collections::BTreeSet<u32> = vid.iter().map(|r| r.1).collect();
    assert_eq!(ssrcs.len(), 1, "switching sources never renegotiates");
}

#[test]
fn vanished_peers_are_freed() {
    let mut net = Net::new(0);
    net.join(&AV_SEND, Some(Source::Camera), 0x44);
    let (v, _) = net.join(&AV_RECV, None, 0);
    net.run(Duration::from_secs(2));
    assert_eq!(net.core.peer_count(), 2);
    net.clients[v].silent = true;
    net.run(Duration::from_secs(10));
    assert_eq!(
        net.core.peer_count(),
        1,
        "the silent viewer is gone within 10 s"
    );
}
