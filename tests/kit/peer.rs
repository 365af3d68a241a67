//! A str0m WebRTC peer on real sockets, for tests against the real server:
//! it publishes synthetic VP8 (one layer or simulcast) and Opus, or
//! watches and notes what it gets. It reaches the server over UDP, or
//! over TCP alone (RFC 4571 framing), as a client on a network that drops
//! UDP would.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{
    Direction, Frequency, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer,
};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// How the peer reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Udp,
    /// TCP only: the peer offers an active TCP candidate and nothing else.
    Tcp,
}

/// A simulcast layer the peer sends: rid, resolution, bytes per frame.
#[derive(Clone, Copy, Debug)]
pub struct Layer {
    pub rid: &'static str,
    pub width: u16,
    pub height: u16,
    pub bytes: usize,
}

/// The three layers a browser's studio sends, at test sizes.
pub const THREE_LAYERS: [Layer; 3] = [
    Layer {
        rid: "h",
        width: 1280,
        height: 720,
        bytes: 2400,
    },
    Layer {
        rid: "m",
        width: 640,
        height: 360,
        bytes: 900,
    },
    Layer {
        rid: "l",
        width: 320,
        height: 180,
        bytes: 300,
    },
];

/// A video frame a watching peer received.
#[derive(Clone, Debug)]
pub struct Frame {
    pub at: Instant,
    /// A keyframe's width, from its VP8 header.
    pub width: Option<u16>,
}

/// Every this many frames is a keyframe.
const KEYFRAME_EVERY: u64 = 30;

enum Transport {
    Udp(UdpSocket),
    Tcp {
        /// Our active candidate's address (the connection's real port is
        /// the kernel's choice; ICE only needs the candidate).
        local: SocketAddr,
        stream: Option<(SocketAddr, TcpStream)>,
        inbox: Vec<u8>,
    },
}

pub struct Peer {
    pub rtc: Rtc,
    transport: Transport,
    send: Vec<(Mid, MediaKind)>,
    layers: Vec<Layer>,
    pub connected: bool,
    pub connected_at: Option<Instant>,
    /// RTP packets received (RTP mode), or media frames (frame mode).
    pub packets: usize,
    /// Video frames received (frame mode).
    pub frames: Vec<Frame>,
    frame: u64,
    last_frame: Option<Instant>,
}

/// A peer with `media` and its offer. `rtp_mode` viewers count packets,
/// others frames.
pub fn peer(media: &[(MediaKind, Direction)], rtp_mode: bool) -> (Peer, String, SdpPendingOffer) {
    build(media, rtp_mode, &[], Via::Udp)
}

/// A presenter sending its camera as the simulcast `layers`, with audio.
pub fn simulcast_publisher(layers: &[Layer]) -> (Peer, String, SdpPendingOffer) {
    build(
        &[
            (MediaKind::Audio, Direction::SendOnly),
            (MediaKind::Video, Direction::SendOnly),
        ],
        false,
        layers,
        Via::Udp,
    )
}

/// A frame-mode viewer of audio and one video, reaching the server `via`.
pub fn viewer(via: Via) -> (Peer, String, SdpPendingOffer) {
    build(
        &[
            (MediaKind::Audio, Direction::RecvOnly),
            (MediaKind::Video, Direction::RecvOnly),
        ],
        false,
        &[],
        via,
    )
}

fn build(
    media: &[(MediaKind, Direction)],
    rtp_mode: bool,
    layers: &[Layer],
    via: Via,
) -> (Peer, String, SdpPendingOffer) {
    let mut rtc = Rtc::builder().set_rtp_mode(rtp_mode).build(Instant::now());
    let transport = match via {
        Via::Udp => {
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            sock.set_nonblocking(true).unwrap();
            rtc.add_local_candidate(Candidate::host(sock.local_addr().unwrap(), "udp").unwrap());
            Transport::Udp(sock)
        }
        Via::Tcp => {
            // RFC 6544: an active candidate's port is 9, the discard port.
            let local: SocketAddr = "127.0.0.1:9".parse().unwrap();
            let c = Candidate::builder()
                .tcp()
                .host(local)
                .tcptype(TcpType::Active)
                .build()
                .unwrap();
            rtc.add_local_candidate(c);
            Transport::Tcp {
                local,
                stream: None,
                inbox: Vec::new(),
            }
        }
    };
    let mut api = rtc.sdp_api();
    let mids: Vec<(Mid, MediaKind)> = media
        .iter()
        .map(|(k, d)| {
            let simulcast = (*k == MediaKind::Video && !layers.is_empty()).then(|| {
                let mut s = Simulcast::new();
                for l in layers {
                    s.add_send_layer(SimulcastLayer::new(l.rid));
                }
                s
            });
            (api.add_media(*k, *d, None, None, simulcast), *k)
        })
        .collect();
    let (offer, pending) = api.apply().unwrap();
    let sending = media.iter().any(|(_, d)| *d == Direction::SendOnly);
    let send = if rtp_mode || !sending { vec![] } else { mids };
    let p = Peer {
        rtc,
        transport,
        send,
        layers: layers.to_vec(),
        connected: false,
        connected_at: None,
        packets: 0,
        frames: Vec::new(),
        frame: 0,
        last_frame: None,
    };
    (p, offer.to_sdp_string(), pending)
}

/// A synthetic VP8 frame: a keyframe carries the start code and the
/// resolution (RFC 6386 §9.1), a delta frame only its tag.
fn vp8_frame(keyframe: bool, width: u16, height: u16, len: usize) -> Vec<u8> {
    let mut f = vec![0x55; len.max(10)];
    if keyframe {
        f[0] = 0x10; // show_frame, key frame (bit 0 clear)
        f[1..3].copy_from_slice(&[0, 0]);
        f[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        f[6..8].copy_from_slice(&width.to_le_bytes());
        f[8..10].copy_from_slice(&height.to_le_bytes());
    } else {
        f[0] = 0x11;
    }
    f
}

fn parse_frame(data: &[u8], at: Instant) -> Frame {
    let keyframe = data.first().is_some_and(|b| b & 1 == 0);
    let width = (keyframe && data.len() >= 10 && data[3..6] == [0x9d, 0x01, 0x2a])
        .then(|| u16::from_le_bytes([data[6], data[7]]) & 0x3fff);
    Frame { at, width }
}

impl Peer {
    pub fn accept(&mut self, pending: SdpPendingOffer, answer: &str) {
        self.rtc
            .sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(answer).unwrap())
            .unwrap();
    }

    /// The video widths of the keyframes received since frame `from`.
    pub fn widths_since(&self, from: usize) -> Vec<u16> {
        self.frames[from.min(self.frames.len())..]
            .iter()
            .filter_map(|f| f.width)
            .collect()
    }

    /// Checks that since frame `from` a keyframe `width` wide came and
    /// every keyframe after it is that wide (a switch to one layer).
    pub fn settled_on_width(&self, from: usize, width: u16) {
        let widths = self.widths_since(from);
        let switch = widths
            .iter()
            .position(|w| *w == width)
            .unwrap_or_else(|| panic!("no keyframe {width} wide came: {widths:?}"));
        assert!(
            widths[switch..].iter().all(|w| *w == width),
            "only {width} wide after the switch: {widths:?}"
        );
    }

    /// Video frames received within `d` before the last one.
    pub fn frames_in_last(&self, d: Duration) -> usize {
        let Some(last) = self.frames.last() else {
            return 0;
        };
        self.frames.iter().filter(|f| last.at - f.at <= d).count()
    }

    fn receive(&mut self, proto: Protocol, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        if let Ok(r) = Receive::new(proto, from, to, data) {
            let _ = self.rtc.handle_input(Input::Receive(Instant::now(), r));
        }
        self.drain();
    }

    /// One turn of the run loop: read what arrived, fire timers, write media.
    pub fn turn(&mut self) {
        let mut buf = [0u8; 2000];
        loop {
            let got = match &mut self.transport {
                Transport::Udp(sock) => match sock.recv_from(&mut buf) {
                    Ok((n, from)) => Some((
                        Protocol::Udp,
                        from,
                        sock.local_addr().unwrap(),
                        buf[..n].to_vec(),
                    )),
                    Err(_) => None,
                },
                Transport::Tcp {
                    local,
                    stream,
                    inbox,
                } => {
                    let mut got = None;
                    let mut closed = false;
                    if let Some((remote, s)) = stream.as_mut() {
                        match s.read(&mut buf) {
                            Ok(n) if n > 0 => inbox.extend_from_slice(&buf[..n]),
                            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                            _ => closed = true,
                        }
                        if inbox.len() >= 2 {
                            let len = usize::from(u16::from_be_bytes([inbox[0], inbox[1]]));
                            if inbox.len() >= 2 + len {
                                let frame: Vec<u8> = inbox.drain(..2 + len).skip(2).collect();
                                got = Some((Protocol::Tcp, *remote, *local, frame));
                            }
                        }
                    }
                    if closed {
                        *stream = None;
                    }
                    got
                }
            };
            let Some((proto, from, to, data)) = got else {
                break;
            };
            self.receive(proto, from, to, &data);
        }
        let now = Instant::now();
        let _ = self.rtc.handle_input(Input::Timeout(now));
        self.drain();
        if self.connected
            && !self.send.is_empty()
            && self
                .last_frame
                .is_none_or(|t| now - t >= Duration::from_millis(33))
        {
            self.last_frame = Some(now);
            self.frame += 1;
            self.write_media(now);
        }
    }

    fn write_media(&mut self, now: Instant) {
        let keyframe = self.frame % KEYFRAME_EVERY == 1;
        for (mid, kind) in self.send.clone() {
            let codec = if kind == MediaKind::Video {
                Codec::Vp8
            } else {
                Codec::Opus
            };
            let writes: Vec<(Option<Rid>, MediaTime, Vec<u8>)> = match kind {
                MediaKind::Audio => vec![(
                    None,
                    MediaTime::new(self.frame * 1600, Frequency::FORTY_EIGHT_KHZ),
                    vec![0x20; 80],
                )],
                MediaKind::Video if self.layers.is_empty() => vec![(
                    None,
                    MediaTime::from_90khz(self.frame * 3000),
                    vec![0x10; 1200],
                )],
                MediaKind::Video => self
                    .layers
                    .iter()
                    .map(|l| {
                        (
                            Some(l.rid.into()),
                            MediaTime::from_90khz(self.frame * 3000),
                            vp8_frame(keyframe, l.width, l.height, l.bytes),
                        )
                    })
                    .collect(),
            };
            for (rid, t, data) in writes {
                let mut w = self.rtc.writer(mid).unwrap();
                if let Some(rid) = rid {
                    w = w.rid(rid);
                }
                let pt = w
                    .payload_params()
                    .find(|p| p.spec().codec == codec)
                    .unwrap()
                    .pt();
                w.write(pt, now, t, data).unwrap();
                self.drain();
            }
        }
    }

    fn transmit(&mut self, to: SocketAddr, data: &[u8]) {
        match &mut self.transport {
            Transport::Udp(sock) => {
                let _ = sock.send_to(data, to);
            }
            Transport::Tcp { stream, .. } => {
                if stream.as_ref().is_none_or(|(r, _)| *r != to) {
                    let Ok(s) = TcpStream::connect_timeout(&to, Duration::from_secs(1)) else {
                        return;
                    };
                    s.set_nonblocking(true).unwrap();
                    s.set_nodelay(true).unwrap();
                    *stream = Some((to, s));
                }
                let (_, s) = stream.as_mut().unwrap();
                let mut framed = (data.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(data);
                // A test link: a short blocking write is fine.
                s.set_nonblocking(false).unwrap();
                let _ = s.write_all(&framed);
                s.set_nonblocking(true).unwrap();
            }
        }
    }

    fn drain(&mut self) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(_)) | Err(_) => break,
                Ok(Output::Transmit(t)) => self.transmit(t.destination, &t.contents),
                Ok(Output::Event(Event::Connected)) => {
                    self.connected = true;
                    self.connected_at = Some(Instant::now());
                }
                Ok(Output::Event(Event::RtpPacket(_))) => self.packets += 1,
                Ok(Output::Event(Event::MediaData(d))) => {
                    self.packets += 1;
                    let video = self
                        .rtc
                        .media(d.mid)
                        .is_some_and(|m| m.kind() == MediaKind::Video);
                    if video {
                        self.frames.push(parse_frame(&d.data, Instant::now()));
                    }
                }
                Ok(Output::Event(_)) => {}
            }
        }
    }
}

/// Runs the peers' loops on a thread for `d` and gives them back.
pub async fn run(mut peers: Vec<Peer>, d: Duration) -> Vec<Peer> {
    let handle = std::thread::spawn(move || {
        let end = Instant::now() + d;
        while Instant::now() < end {
            for p in peers.iter_mut() {
                p.turn();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        peers
    });
    loop {
        if handle.is_finished() {
            return handle.join().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
