//! Media fan-out through the real server, measured from outside: the
//! `podium` binary (one media shard, pinned to one CPU) serves a synthetic
//! presenter publishing over WHIP (VP8-like video at 1.5 Mbit/s and 30 fps,
//! Opus-like audio at 50 packets/s) to N viewers watching over WHEP, for N
//! stepping up until packets are lost or the core saturates. Viewers are
//! str0m peers (ICE, DTLS, SRTP keys) on a second CPU; once connected they
//! only count the RTP packets they get (sequence numbers are in the clear),
//! so the clients stay cheap and the server does its whole job; since they
//! send no congestion feedback, each tells the server once a second (REMB)
//! that its link takes 10 Mbit/s, as a good link's browser would estimate. Then the
//! same steps against Janus (Debian's `janus`, its streaming plugin fed the
//! same stream as plain RTP; the same str0m viewers, here answering Janus's
//! offer; support/janus.rs) and against the baseline, a webrtc-rs
//! forwarder (support/baseline.rs), each in a process of its own on the
//! same CPU. Janus only gathers candidates on a real interface, so the
//! bench runs itself in a network namespace of its own (`unshare -n`, as
//! the browser tests do) with the test address 198.51.100.1.
//!
//! Per step it prints the server's CPU time per forwarded packet (the
//! server's threads' own CPU time, from /proc, over the audio and video
//! packets the viewers got in the same window), packets lost per viewer,
//! p50/p99 forwarding delay (Podium's histogram), and the server's memory
//! per viewer; first the limit (SRTP protect + one sendto), at the end the
//! viewers one core feeds, the ratios, an SVG plot
//! (docs/benchmarks/media_server.svg for full runs) and the closing line
//! `served: podium P janus J baseline B` (viewers served at 0 loss).
//!
//! With `--simulcast` the presenter sends its video as three VP8-like
//! simulcast layers instead (rids h, m and l at 1.2 Mbit/s, 400 kbit/s and
//! 120 kbit/s, 30 fps each) and each viewer pins one through the WHEP layer
//! extension, a third on each (`--simulcast l`, or any list of rids: the
//! viewers spread over those, round robin); every step then also reports
//! what each layer's viewers got. In both modes the presenter sends a
//! keyframe when asked for one (per layer) and every 3 s, as encoders do.
//!
//! `cargo bench --bench media_server -- --steps 50,100,200,400` (the default
//! steps are 50, 100, 150, 200, 300, 400, 600, 800 and 1000)
//! (`--no-baseline` skips the baseline, `--no-janus` Janus; `--recording` runs Podium again
//! with the room recording and prints what that adds per packet;
//! `PODIUM_BENCH_DEBUG=1` also names
//! each viewer stream that lost packets). Without `--bench` (as
//! `cargo test --all-targets` runs it): one small step, in both modes.

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/janus.rs"]
mod janus;
// The tests' kit (a database, the server as a child process, rooms and
// participants); this bench uses part of it.
#[allow(dead_code, unused_imports)]
#[path = "../tests/kit/mod.rs"]
mod kit;
#[path = "support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::json;
use str0m::bwe::Bitrate;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{
    Direction, Frequency, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer,
};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

const VIDEO_FRAME: usize = 6250; // 1.5 Mbit/s at 30 fps
/// The simulcast layers: rid and bytes per frame at 30 fps (1.2 Mbit/s,
/// 400 kbit/s, 120 kbit/s), highest first.
const LAYERS: [(&str, usize); 3] = [("h", 5000), ("m", 1667), ("l", 500)];
/// The bandwidth viewers report (REMB), in Mbit/s: room for the best layer.
const REMB_MBPS: u64 = 10;
/// A keyframe at least this often (in frames), as encoders send anyway.
const KEYFRAME_EVERY: u64 = 90;
const MEASURE: Duration = Duration::from_secs(8);
/// Viewers of one step must connect within this.
const CONNECT: Duration = Duration::from_secs(30);

struct Args {
    steps: Vec<usize>,
    bench: bool,
    /// The layers the viewers pin, round robin; empty: one layer, no
    /// simulcast.
    simulcast: Vec<&'static str>,
    baseline: bool,
    janus: bool,
    /// The steps are the default ones (a full run: its plot goes to docs/).
    full: bool,
    /// Podium once more with the room recording: what recording adds to
    /// the CPU per forwarded packet.
    recording: bool,
}

impl Args {
    fn parse(argv: &[String]) -> Args {
        let bench = argv.iter().any(|a| a == "--bench");
        let value = |flag: &str| {
            argv.iter()
                .position(|a| a == flag)
                .and_then(|i| argv.get(i + 1))
                .filter(|v| !v.starts_with("--"))
        };
        let given = value("--steps").map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect());
        let full = given.is_none();
        let steps = given.unwrap_or_else(|| {
            if bench {
                vec![50, 100, 150, 200, 300, 400, 600, 800, 1000]
            } else {
                vec![5]
            }
        });
        let simulcast = if argv.iter().any(|a| a == "--simulcast") {
            let rids = value("--simulcast").map_or("h,m,l", String::as_str);
            rids.split(',')
                .map(|r| {
                    LAYERS
                        .iter()
                        .find(|(rid, _)| *rid == r)
                        .unwrap_or_else(|| {
                            panic!("--simulcast takes rids of h, m and l, not {r:?}")
                        })
                        .0
                })
                .collect()
        } else {
            Vec::new()
        };
        let baseline = !argv.iter().any(|a| a == "--no-baseline") && simulcast.is_empty();
        let janus = !argv.iter().any(|a| a == "--no-janus") && simulcast.is_empty();
        Args {
            steps,
            bench,
            simulcast,
            baseline,
            janus,
            full,
            recording: argv.iter().any(|a| a == "--recording"),
        }
    }

    /// The layer viewer `i` pins, in simulcast mode.
    fn layer_of(&self, i: usize) -> Option<&'static str> {
        (!self.simulcast.is_empty()).then(|| self.simulcast[i % self.simulcast.len()])
    }

    /// What the presenter sends: per layer its rid and bytes per frame.
    fn layers(&self) -> Vec<(Option<&'static str>, usize)> {
        if self.simulcast.is_empty() {
            vec![(None, VIDEO_FRAME)]
        } else {
            LAYERS.iter().map(|(r, b)| (Some(*r), *b)).collect()
        }
    }
}

/// A counter's value, and a histogram's cumulative buckets, from /metrics.
#[derive(Default)]
struct Scrape {
    dropped: f64,
    delay: Vec<(f64, f64)>,
}

async fn scrape(http: &awc::Client, base: &str) -> Scrape {
    let mut r = http.get(format!("{base}/metrics")).send().await.unwrap();
    let text = String::from_utf8(r.body().limit(1 << 22).await.unwrap().to_vec()).unwrap();
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let mut s = Scrape {
        dropped: 0.0,
        delay: Vec::new(),
    };
    for sample in parsed.samples {
        match (sample.metric.as_str(), sample.value) {
            ("podium_media_send_dropped_total", prometheus_parse::Value::Counter(v)) => {
                s.dropped = v
            }
            ("podium_media_forward_delay_seconds", prometheus_parse::Value::Histogram(h)) => {
                s.delay = h.iter().map(|b| (b.less_than, b.count)).collect();
            }
            _ => {}
        }
    }
    s
}

/// The q-quantile of the observations between two scrapes (linear within a
/// bucket, like Prometheus's histogram_quantile).
fn quantile(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> f64 {
    let counts: Vec<(f64, f64)> = after
        .iter()
        .map(|(le, c)| {
            let b = before
                .iter()
                .find(|(l, _)| l == le)
                .map_or(0.0, |(_, c)| *c);
            (*le, c - b)
        })
        .collect();
    let total = counts.last().map_or(0.0, |(_, c)| *c);
    if total <= 0.0 {
        return f64::NAN;
    }
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for (le, c) in counts {
        if c >= rank {
            if le.is_infinite() {
                return prev.0;
            }
            let span = (c - prev.1).max(1e-9);
            return prev.0 + (le - prev.0) * (rank - prev.1) / span;
        }
        prev = (le, c);
    }
    prev.0
}

/// Received packets per SSRC: count and the highest extended sequence.
#[derive(Default, Clone, Copy)]
struct Track {
    count: u64,
    highest: Option<u64>,
}

impl Track {
    fn saw(&mut self, seq: u16) {
        self.count += 1;
        let ext = match self.highest {
            None => u64::from(seq),
            Some(h) => {
                // Extend across 16-bit wrap-around relative to the highest.
                let base = h & !0xffff;
                let mut e = base | u64::from(seq);
                if e + 0x8000 < h {
                    e += 0x1_0000;
                } else if e > h + 0x8000 && e >= 0x1_0000 {
                    e -= 0x1_0000;
                }
                e
            }
        };
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
    }
}

#[derive(Default)]
struct Tally {
    connected: bool,
    tracks: HashMap<u32, Track>,
    /// A viewer: its layer is pinned (or it pins none).
    pinned: bool,
    /// A viewer's RTP packets by what they carry.
    got: Got,
    /// The presenter: layers asked for a keyframe (`None`: the only one).
    keyframes: Vec<Option<Rid>>,
}

/// A viewer's packets: audio, video (and its payload bytes), and the rest
/// (retransmissions and padding, on the RTX payload type or with the P bit).
#[derive(Default, Clone, Copy)]
struct Got {
    audio: u64,
    video: u64,
    video_bytes: u64,
    other: u64,
}

impl Got {
    fn since(self, before: Got) -> Got {
        Got {
            audio: self.audio - before.audio,
            video: self.video - before.video,
            video_bytes: self.video_bytes - before.video_bytes,
            other: self.other - before.other,
        }
    }

    fn add(&mut self, o: Got) {
        self.audio += o.audio;
        self.video += o.video;
        self.video_bytes += o.video_bytes;
        self.other += o.other;
    }
}

/// What a payload type carries, for a viewer's counts.
#[derive(Clone, Copy, PartialEq)]
enum Class {
    Audio,
    Video,
    Other,
}

/// Payload type -> what it carries, from a peer's negotiated codecs.
fn classes(rtc: &Rtc) -> [Class; 128] {
    let mut class = [Class::Other; 128];
    for p in rtc.codec_config().params() {
        let c = match p.spec().codec {
            Codec::Opus => Class::Audio,
            Codec::Vp8 | Codec::Vp9 | Codec::H264 | Codec::Av1 | Codec::H265 => Class::Video,
            _ => Class::Other,
        };
        class[usize::from(*p.pt() & 0x7f)] = c;
    }
    for p in rtc.codec_config().params() {
        if let Some(rtx) = p.resend() {
            class[usize::from(*rtx & 0x7f)] = Class::Other;
        }
    }
    class
}

/// An offer of these sections; video sends `simulcast` layers when given.
fn offer_for(
    rtc: &mut Rtc,
    media: &[(MediaKind, Direction)],
    simulcast: &[&str],
) -> (String, SdpPendingOffer, Vec<Mid>) {
    let mut api = rtc.sdp_api();
    let mids = media
        .iter()
        .map(|(k, d)| {
            let layers = (*k == MediaKind::Video && !simulcast.is_empty()).then(|| {
                let mut s = Simulcast::new();
                for rid in simulcast {
                    s.add_send_layer(SimulcastLayer::new(rid));
                }
                s
            });
            api.add_media(*k, *d, None, None, layers)
        })
        .collect();
    let (offer, pending) = api.apply().unwrap();
    (offer.to_sdp_string(), pending, mids)
}

/// The session's URL and the answer, or None when the server refused or
/// did not answer in time (a saturated server: the step then reports
/// viewers that never connect).
async fn post_sdp(
    http: &awc::Client,
    url: String,
    token: &str,
    sdp: String,
) -> Option<(String, String)> {
    let mut r = http
        .post(url)
        .insert_header(("authorization", format!("Bearer {token}")))
        .content_type("application/sdp")
        .send_body(sdp)
        .await
        .ok()?;
    if r.status() != 201 {
        return None;
    }
    let session = r.headers().get("location")?.to_str().ok()?.to_owned();
    let answer = String::from_utf8(r.body().await.ok()?.to_vec()).ok()?;
    Some((session, answer))
}

/// Pins a viewer's video to a simulcast layer (the WHEP layer extension);
/// a few tries, as the server may not have metered that layer yet.
async fn pin(http: &awc::Client, url: String, token: &str, rid: &str) -> bool {
    for _ in 0..20 {
        let r = http
            .post(&url)
            .insert_header(("authorization", format!("Bearer {token}")))
            .send_json(&json!({ "encodingId": rid }))
            .await;
        match r {
            Ok(r) if r.status() == 200 => return true,
            Ok(mut r) => {
                if std::env::var("PODIUM_BENCH_DEBUG").is_ok() {
                    let body = r.body().await.unwrap_or_default();
                    eprintln!(
                        "pin {rid}: {} {}",
                        r.status(),
                        String::from_utf8_lossy(&body)
                    );
                    let mut r = http
                        .post(&url)
                        .insert_header(("authorization", format!("Bearer {token}")))
                        .send_json(&json!({}))
                        .await
                        .unwrap();
                    let body = r.body().await.unwrap_or_default();
                    eprintln!(
                        "back to auto: {} {}",
                        r.status(),
                        String::from_utf8_lossy(&body)
                    );
                }
            }
            Err(e) => eprintln!("pin {rid}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

/// Sends what the peer wants sent; returns its next deadline.
async fn drain(rtc: &mut Rtc, sock: &UdpSocket, tally: &RefCell<Tally>) -> Instant {
    loop {
        match rtc.poll_output() {
            Ok(Output::Timeout(t)) => return t,
            Ok(Output::Transmit(t)) => {
                let _ = sock.send_to(&t.contents, t.destination).await;
            }
            Ok(Output::Event(Event::Connected)) => tally.borrow_mut().connected = true,
            Ok(Output::Event(Event::KeyframeRequest(r))) => {
                tally.borrow_mut().keyframes.push(r.rid)
            }
            Ok(Output::Event(_)) => {}
            Err(_) => return Instant::now() + Duration::from_secs(3600),
        }
    }
}

/// How a viewer gets its session.
#[derive(Clone)]
enum Via {
    /// Podium's or the baseline's WHEP: the viewer offers. With a `layer`,
    /// it pins its video to that simulcast layer.
    Whep {
        base: String,
        slug: String,
        token: String,
        layer: Option<&'static str>,
    },
    /// Janus's HTTP API: Janus offers, the viewer answers.
    Janus { base: String },
}

/// A viewer: str0m for ICE and DTLS; RTP is counted, never decrypted.
async fn viewer(http: awc::Client, via: Via, tally: Rc<RefCell<Tally>>) {
    let ip = match via {
        Via::Whep { .. } => "127.0.0.1",
        Via::Janus { .. } => janus::ADDRESS,
    };
    let sock = UdpSocket::bind((ip, 0)).await.unwrap();
    let local = sock.local_addr().unwrap();
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let (layer_url, token, layer, remb_mid, class) = match &via {
        Via::Whep {
            base,
            slug,
            token,
            layer,
        } => {
            let (offer, pending, mids) = offer_for(
                &mut rtc,
                &[
                    (MediaKind::Audio, Direction::RecvOnly),
                    (MediaKind::Video, Direction::RecvOnly),
                ],
                &[],
            );
            let answer =
                post_sdp(&http, format!("{base}/api/rooms/{slug}/whep"), token, offer).await;
            let Some((session, answer)) = answer else {
                return;
            };
            rtc.sdp_api()
                .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
                .unwrap();
            let class = classes(&rtc);
            (
                format!("{base}{session}/layer"),
                token.clone(),
                *layer,
                Some(mids[1]),
                class,
            )
        }
        Via::Janus { base } => {
            let Some(watching) = janus::watch(&http, base).await else {
                return;
            };
            let Ok(offer) = SdpOffer::from_sdp_string(&watching.offer) else {
                eprintln!("media_server: janus's offer does not parse");
                return;
            };
            let Ok(answer) = rtc.sdp_api().accept_offer(offer) else {
                eprintln!("media_server: janus's offer is not accepted");
                return;
            };
            if !janus::start_watching(&http, base, &watching, answer.to_sdp_string()).await {
                return;
            }
            actix_rt::spawn(janus::keepalive(
                http.clone(),
                base.clone(),
                watching.session,
            ));
            // Janus forwards with the mountpoint's payload types. It does
            // not adapt to a viewer's bandwidth: no REMB is needed.
            let mut class = [Class::Other; 128];
            class[usize::from(janus::VIDEO_PT)] = Class::Video;
            class[usize::from(janus::AUDIO_PT)] = Class::Audio;
            (String::new(), String::new(), None, None, class)
        }
    };
    // Pinned once connected (its video section is known by then); one that
    // cannot pin is never ready, and the step says so.
    let mut to_pin = layer;
    tally.borrow_mut().pinned = layer.is_none();
    let mut buf = vec![0u8; 2048];
    let mut next_remb = Instant::now();
    loop {
        // What the link takes, as a browser tells it (REMB): these viewers
        // send no TWCC feedback, so without it the server's estimate for
        // them stays at its cautious first one and pauses 1.5 Mbit/s video.
        let now = Instant::now();
        if let Some(rid) = to_pin.filter(|_| tally.borrow().connected) {
            to_pin = None;
            let (http, token, tally) = (http.clone(), token.clone(), tally.clone());
            let url = layer_url.clone();
            actix_rt::spawn(async move {
                if pin(&http, url, &token, rid).await {
                    tally.borrow_mut().pinned = true;
                } else {
                    eprintln!("media_server: a viewer could not pin layer {rid}");
                }
            });
        }
        if let Some(mid) = remb_mid.filter(|_| tally.borrow().connected && now >= next_remb) {
            if let Some(rx) = rtc.direct_api().stream_rx_by_mid(mid, None) {
                rx.request_remb(Bitrate::mbps(REMB_MBPS));
            }
            next_remb = now + Duration::from_secs(1);
        }
        let mut deadline = drain(&mut rtc, &sock, &tally).await;
        if remb_mid.is_some() && tally.borrow().connected {
            deadline = deadline.min(next_remb);
        }
        let sleep = tokio::time::sleep_until(deadline.into());
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                r = sock.recv_from(&mut buf) => {
                    let Ok((n, from)) = r else { continue };
                    let d = &buf[..n];
                    // RFC 7983: 128..=191 is RTP or RTCP; RTCP types are 192..=223.
                    let rtp = (128..=191).contains(&d[0]) && n >= 12 && !(192..=223).contains(&d[1]);
                    if rtp && tally.borrow().connected {
                        let seq = u16::from_be_bytes([d[2], d[3]]);
                        let ssrc = u32::from_be_bytes([d[8], d[9], d[10], d[11]]);
                        let mut t = tally.borrow_mut();
                        t.tracks.entry(ssrc).or_default().saw(seq);
                        match class[usize::from(d[1] & 0x7f)] {
                            _ if d[0] & 0x20 != 0 => t.got.other += 1,
                            Class::Audio => t.got.audio += 1,
                            Class::Video => {
                                t.got.video += 1;
                                t.got.video_bytes += n as u64;
                            }
                            Class::Other => t.got.other += 1,
                        }
                        continue;
                    }
                    if (128..=191).contains(&d[0]) {
                        continue; // RTCP: not needed to stay connected
                    }
                    if let Ok(rcv) = Receive::new(Protocol::Udp, from, local, d) {
                        let _ = rtc.handle_input(Input::Receive(Instant::now(), rcv));
                    }
                    break;
                }
                () = &mut sleep => {
                    let _ = rtc.handle_input(Input::Timeout(Instant::now()));
                    break;
                }
            }
        }
    }
}

/// The presenter, through WHIP: VP8-like video at 30 fps, each of `layers`
/// (rid, bytes per frame; one layer without a rid: no simulcast) a frame
/// each time, and 80-byte audio frames at 50 per second. A frame is a
/// keyframe (the VP8 frame header's lowest bit 0) when its layer was asked
/// for one, and every `KEYFRAME_EVERY` frames.
async fn presenter(
    http: awc::Client,
    base: String,
    slug: String,
    token: String,
    layers: Vec<(Option<&'static str>, usize)>,
    sent: Rc<RefCell<u64>>,
) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = sock.local_addr().unwrap();
    let mut rtc = Rtc::builder()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let rids: Vec<&str> = layers.iter().filter_map(|(r, _)| *r).collect();
    let (offer, pending, mids) = offer_for(
        &mut rtc,
        &[
            (MediaKind::Audio, Direction::SendOnly),
            (MediaKind::Video, Direction::SendOnly),
        ],
        &rids,
    );
    let (_, answer) = post_sdp(
        &http,
        format!("{base}/api/rooms/{slug}/whip?kind=camera"),
        &token,
        offer,
    )
    .await
    .expect("the presenter's WHIP offer is answered");
    rtc.sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();
    let tally = RefCell::new(Tally::default());
    let start = Instant::now();
    let (mut video_n, mut audio_n) = (0u64, 0u64);
    let layers: Vec<(Option<Rid>, usize)> =
        layers.iter().map(|(r, b)| (r.map(Rid::from), *b)).collect();
    // Every layer starts with a keyframe.
    let mut key_due: Vec<Option<Rid>> = layers.iter().map(|(r, _)| *r).collect();
    let mut buf = vec![0u8; 2048];
    loop {
        let deadline = drain(&mut rtc, &sock, &tally).await;
        for rid in std::mem::take(&mut tally.borrow_mut().keyframes) {
            if !key_due.contains(&rid) {
                key_due.push(rid);
            }
        }
        let now = Instant::now();
        let next_video = start + Duration::from_micros(33_333 * video_n);
        let next_audio = start + Duration::from_millis(20 * audio_n);
        if tally.borrow().connected && now >= next_video.min(next_audio) {
            let pt_of = |rtc: &mut Rtc, mid: Mid, codec: Codec| {
                rtc.writer(mid).and_then(|w| {
                    let pt = w
                        .payload_params()
                        .find(|p| p.spec().codec == codec)
                        .map(|p| p.pt());
                    pt
                })
            };
            if next_video <= next_audio {
                video_n += 1;
                let periodic = video_n.is_multiple_of(KEYFRAME_EVERY);
                let Some(pt) = pt_of(&mut rtc, mids[1], Codec::Vp8) else {
                    continue;
                };
                for (rid, bytes) in &layers {
                    // A request for no layer in particular (a single
                    // layer's) asks for every one.
                    let key = periodic || key_due.contains(rid) || key_due.contains(&None);
                    let frame = vp8_frame(*bytes, video_n, key);
                    let Some(w) = rtc.writer(mids[1]) else { break };
                    let w = match rid {
                        Some(r) => w.rid(*r),
                        None => w,
                    };
                    match w.write(pt, now, MediaTime::from_90khz(video_n * 3000), frame) {
                        Ok(()) => *sent.borrow_mut() += 1,
                        Err(e) => eprintln!("media_server: presenter write of layer {rid:?}: {e}"),
                    }
                }
                key_due.clear();
            } else {
                audio_n += 1;
                let Some(pt) = pt_of(&mut rtc, mids[0], Codec::Opus) else {
                    continue;
                };
                if let Some(w) = rtc.writer(mids[0]) {
                    let time = MediaTime::new(audio_n * 960, Frequency::FORTY_EIGHT_KHZ);
                    if w.write(pt, now, time, vec![0xA5; 80]).is_ok() {
                        *sent.borrow_mut() += 1;
                    }
                }
            }
            continue;
        }
        let wake = deadline.min(next_video).min(next_audio).max(now);
        tokio::select! {
            r = sock.recv_from(&mut buf) => {
                if let Ok((n, from)) = r {
                    if let Ok(rcv) = Receive::new(Protocol::Udp, from, local, &buf[..n]) {
                        let _ = rtc.handle_input(Input::Receive(Instant::now(), rcv));
                    }
                }
            }
            () = tokio::time::sleep_until(wake.into()) => {
                let _ = rtc.handle_input(Input::Timeout(Instant::now()));
            }
        }
    }
}

/// A VP8-like frame of `bytes`, the `n`th: the VP8 frame header
/// (show_frame, and key frame when the lowest bit is 0), a keyframe's start
/// code and picture size (RFC 6386 9.1), which a recorder and Janus's
/// keyframe buffer read, and its number.
fn vp8_frame(bytes: usize, n: u64, key: bool) -> Vec<u8> {
    let mut frame = vec![0u8; bytes];
    frame[0] = 0x10 | u8::from(!key);
    if key {
        frame[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        frame[6..8].copy_from_slice(&1280u16.to_le_bytes());
        frame[8..10].copy_from_slice(&720u16.to_le_bytes());
    }
    frame[10..18].copy_from_slice(&n.to_be_bytes());
    frame
}

/// The bytes of a video frame per packet, as str0m's packetizer splits
/// the presenter's frames (so Janus forwards as many packets per frame).
const FEED_CHUNK: usize = 1250;

/// Janus's feed: the presenter's stream (the same frames, keyframes every
/// `KEYFRAME_EVERY` frames, and audio) as plain RTP into the mountpoint.
/// Janus asks no keyframes of a plain RTP feed; it keeps the last one for
/// viewers who join (`videobufferkf`).
async fn janus_feed(
    video: std::net::SocketAddr,
    audio: std::net::SocketAddr,
    sent: Rc<RefCell<u64>>,
) {
    let mut feed = janus::Feed::new(video, audio);
    let start = Instant::now();
    let (mut video_n, mut audio_n) = (0u64, 0u64);
    loop {
        let next_video = start + Duration::from_micros(33_333 * video_n);
        let next_audio = start + Duration::from_millis(20 * audio_n);
        if Instant::now() < next_video.min(next_audio) {
            tokio::time::sleep_until(next_video.min(next_audio).into()).await;
            continue;
        }
        if next_video <= next_audio {
            video_n += 1;
            let key = video_n == 1 || video_n.is_multiple_of(KEYFRAME_EVERY);
            let frame = vp8_frame(VIDEO_FRAME, video_n, key);
            feed.video((video_n * 3000) as u32, &frame, FEED_CHUNK);
        } else {
            audio_n += 1;
            feed.audio((audio_n * 960) as u32, &[0xA5; 80]);
        }
        *sent.borrow_mut() += 1;
    }
}

impl Step {
    /// Served: no packet lost and the core not saturated (past about 90%
    /// busy the queues, and so the delay, only grow).
    fn served(&self) -> bool {
        self.lost_per_viewer == 0.0 && self.busy <= SATURATED
    }
}

const SATURATED: f64 = 0.9;

/// What forwards the presenter's packets.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Forwarder {
    Podium,
    /// Janus's streaming plugin (support/janus.rs).
    Janus,
    /// webrtc-rs, the way its broadcast example forwards (support/baseline.rs).
    Baseline,
}

impl Forwarder {
    fn name(self) -> &'static str {
        match self {
            Forwarder::Podium => "podium",
            Forwarder::Janus => "janus (streaming plugin)",
            Forwarder::Baseline => "baseline (webrtc-rs)",
        }
    }
}

struct Step {
    viewers: usize,
    us_per_packet: f64,
    lost_per_viewer: f64,
    p50_us: f64,
    p99_us: f64,
    kib_per_viewer: f64,
    dropped: f64,
    /// Share of one core the server used.
    busy: f64,
    /// Packets forwarded per viewer per second.
    pps_per_viewer: f64,
}

async fn run(a: &Args, who: Forwarder, db_url: &str, recording: bool) -> Vec<Step> {
    let name = match who {
        Forwarder::Podium if !a.simulcast.is_empty() => {
            format!("podium (simulcast, viewers on {})", a.simulcast.join(","))
        }
        Forwarder::Podium if recording => "podium (recording)".to_owned(),
        _ => who.name().to_owned(),
    };
    let recordings = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-recordings-{}", std::process::id()));
    let dir = recordings.display().to_string();
    // The forwarder, kept until the end of the run.
    enum Running {
        Server(kit::process::Server),
        Janus(janus::Janus),
    }
    let running = match who {
        Forwarder::Podium => Running::Server(support::start_server(
            db_url,
            &["--media-shards", "1", "--recordings-dir", &dir],
            Some(0),
        )),
        Forwarder::Janus => Running::Janus(janus::start(0)),
        Forwarder::Baseline => {
            let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
            cmd.arg("--baseline-server");
            Running::Server(support::start(cmd, Some(0)))
        }
    };
    let (pid, base) = match &running {
        Running::Server(s) => (s.child.id(), s.base()),
        Running::Janus(j) => (j.pid(), j.base.clone()),
    };
    let http = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let (slug, host, watcher) = match who {
        Forwarder::Podium => {
            let room = kit::Api::new(base.clone())
                .create_room(
                    json!({"title": "Bench", "presenter_name": "Ada", "max_participants": 100000}),
                )
                .await;
            let presenter = room.presenter().await;
            if recording {
                let on = presenter
                    .patch("", json!({"settings": {"recording": true}}))
                    .await;
                assert_eq!(on.status, 200, "recording on: {}", on.body);
            }
            let watcher = room.attendee("Viewers").await.token;
            (room.slug, presenter.token, watcher)
        }
        // The baseline has one room and no auth; Janus one mountpoint.
        Forwarder::Baseline | Forwarder::Janus => ("bench".into(), "-".into(), "-".into()),
    };

    let sent = Rc::new(RefCell::new(0u64));
    let host_token = host.clone();
    match &running {
        Running::Janus(j) => {
            actix_rt::spawn(janus_feed(j.video, j.audio, sent.clone()));
        }
        Running::Server(_) => {
            actix_rt::spawn(presenter(
                http.clone(),
                base.clone(),
                slug.clone(),
                host,
                a.layers(),
                sent.clone(),
            ));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = resident_kib(pid);

    let mut tallies: Vec<Rc<RefCell<Tally>>> = Vec::new();
    let layer_of = |i: usize| {
        if who == Forwarder::Podium {
            a.layer_of(i)
        } else {
            None
        }
    };
    let mut steps = Vec::new();
    for &n in &a.steps {
        while tallies.len() < n {
            let t = Rc::new(RefCell::new(Tally::default()));
            let via = match who {
                Forwarder::Janus => Via::Janus { base: base.clone() },
                _ => Via::Whep {
                    base: base.clone(),
                    slug: slug.clone(),
                    token: watcher.clone(),
                    layer: layer_of(tallies.len()),
                },
            };
            actix_rt::spawn(viewer(http.clone(), via, t.clone()));
            tallies.push(t);
            if tallies.len().is_multiple_of(50) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let settle = Instant::now();
        let ready = |t: &Rc<RefCell<Tally>>| t.borrow().connected && t.borrow().pinned;
        while tallies.iter().any(|t| !ready(t)) && settle.elapsed() < CONNECT {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let waiting = tallies.iter().filter(|t| !ready(t)).count();
        if waiting > 0 {
            // A saturated forwarder cannot even finish the handshakes: the
            // end of the steps, as loss would be (the smoke run must not
            // get here).
            assert!(a.bench, "{waiting} viewers did not connect");
            println!(
                "media_server: {}: viewers={n}: {waiting} viewers could not connect within {} s (saturated)",
                name,
                CONNECT.as_secs()
            );
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;

        type Snap = (Vec<(u32, Track)>, Got);
        let snap = |t: &Rc<RefCell<Tally>>| -> Snap {
            let t = t.borrow();
            (t.tracks.iter().map(|(k, v)| (*k, *v)).collect(), t.got)
        };
        // Janus has no such metrics: its delay and drops are not known.
        let metrics = who != Forwarder::Janus;
        let m0 = if metrics {
            scrape(&http, &base).await
        } else {
            Scrape::default()
        };
        // The viewers' counts and the server's CPU time, read together at
        // both ends of the window: the packets forwarded are those the
        // viewers got in it. (The server's own counter moves once a second,
        // so a window of it is up to a second longer or shorter.)
        let before: Vec<Snap> = tallies.iter().map(snap).collect();
        let cpu0 = support::cpu_time(pid);
        let measure = if a.bench {
            MEASURE
        } else {
            Duration::from_secs(2)
        };
        tokio::time::sleep(measure).await;
        let cpu1 = support::cpu_time(pid);
        let after: Vec<Snap> = tallies.iter().map(snap).collect();
        // Shards add their counts once a second: wait for the last report.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let m1 = if metrics {
            scrape(&http, &base).await
        } else {
            Scrape::default()
        };

        // Per layer the viewers pinned (one group without simulcast): how
        // many, what they got, what they lost.
        let mut groups: Vec<(Option<&str>, usize, Got, f64)> = Vec::new();
        let mut lost = 0.0;
        for (i, ((b, got0), (a_, got1))) in before.iter().zip(&after).enumerate() {
            let layer = layer_of(i);
            let g = match groups.iter().position(|g| g.0 == layer) {
                Some(g) => g,
                None => {
                    groups.push((layer, 0, Got::default(), 0.0));
                    groups.len() - 1
                }
            };
            groups[g].1 += 1;
            groups[g].2.add(got1.since(*got0));
            for (ssrc, t1) in a_ {
                let t0 = b
                    .iter()
                    .find(|(s, _)| s == ssrc)
                    .map(|(_, t)| *t)
                    .unwrap_or_default();
                let expected = t1
                    .highest
                    .unwrap_or(0)
                    .saturating_sub(t0.highest.unwrap_or(0));
                let got = t1.count - t0.count;
                if std::env::var("PODIUM_BENCH_DEBUG").is_ok() && expected != got {
                    eprintln!("viewer ssrc {ssrc:08x}: expected {expected} got {got}");
                }
                lost += expected.saturating_sub(got) as f64;
                groups[g].3 += expected.saturating_sub(got) as f64;
            }
        }
        let forwarded = groups
            .iter()
            .map(|g| (g.2.audio + g.2.video) as f64)
            .sum::<f64>()
            .max(1.0);
        let step = Step {
            viewers: n,
            us_per_packet: (cpu1 - cpu0).as_secs_f64() * 1e6 / forwarded,
            lost_per_viewer: lost / n as f64,
            p50_us: quantile(&m0.delay, &m1.delay, 0.5) * 1e6,
            p99_us: quantile(&m0.delay, &m1.delay, 0.99) * 1e6,
            kib_per_viewer: resident_kib(pid).saturating_sub(rss0) as f64 / n as f64,
            dropped: m1.dropped - m0.dropped,
            busy: (cpu1 - cpu0).as_secs_f64() / measure.as_secs_f64(),
            pps_per_viewer: forwarded / n as f64 / measure.as_secs_f64(),
        };
        println!(
            "media_server: {}: viewers={} server CPU per forwarded packet={:.2} us, lost per viewer={:.1} (send drops {}), \
             forwarding delay p50={:.0} us p99={:.0} us, memory per viewer={:.0} KiB, CPU busy={:.0}%",
            name,
            step.viewers,
            step.us_per_packet,
            step.lost_per_viewer,
            step.dropped,
            step.p50_us,
            step.p99_us,
            step.kib_per_viewer,
            step.busy * 100.0,
        );
        let secs = measure.as_secs_f64();
        for (layer, viewers, got, lost) in &groups {
            let per = |v: u64| v as f64 / *viewers as f64 / secs;
            println!(
                "media_server: {}: viewers={n}: {}: {viewers} viewers, each got video {:.1} packets/s ({:.0} kbit/s on the wire), \
                 audio {:.1} packets/s, RTX and padding {:.1} packets/s; lost per viewer={:.1}",
                name,
                layer.map_or_else(|| "one layer".to_owned(), |l| format!("layer {l}")),
                per(got.video),
                per(got.video_bytes) * 8.0 / 1000.0,
                per(got.audio),
                per(got.other),
                lost / *viewers as f64,
            );
            // The smoke run checks that every viewer gets its video.
            assert!(
                a.bench || got.video > 0,
                "viewers of {layer:?} got no video"
            );
        }
        let lossy = !step.served();
        steps.push(step);
        if lossy {
            break;
        }
    }
    println!(
        "media_server: {}: presenter wrote {} frames",
        name,
        sent.borrow()
    );
    if recording {
        // What was recorded meanwhile: the file is there and growing.
        let list = kit::Api::new(base.clone())
            .get(&format!("/api/rooms/{slug}/recordings"), Some(&host_token))
            .await;
        let bytes = list.body["recordings"][0]["bytes"].as_i64().unwrap_or(0);
        println!("media_server: {name}: recorded {bytes} bytes meanwhile");
        assert!(bytes > 0, "the room recorded nothing: {}", list.body);
    }
    drop(running);
    let _ = std::fs::remove_dir_all(&recordings);
    steps
}

/// A process's resident memory.
fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The floor any forwarder pays per packet per viewer: SRTP-protecting it
/// with the profile str0m prefers (AEAD_AES_256_GCM, same aws-lc crypto)
/// and one `sendto` on loopback.
fn limit(bench: bool) -> f64 {
    use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
    let n: u32 = if bench { 200_000 } else { 2_000 };
    let mut packet = vec![0u8; 1200];
    let t0 = Instant::now();
    for i in 0..n {
        let mut nonce = [0u8; 12];
        nonce[8..].copy_from_slice(&i.to_be_bytes());
        let (header, body) = packet.split_at_mut(12);
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&header[..]),
                body,
            )
            .unwrap();
        let _ = std::hint::black_box(tag);
    }
    let seal = t0.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let send = sendto_cost(&packet, n, false);
    // On loopback the sender also pays for waking the receiving process; a
    // real network card spares the server that, so the limit leaves it out,
    // and it is printed to read the figures against.
    let waking = sendto_cost(&packet, n / 4, true);
    // The server sends with sendmmsg(2): its share of one call is the
    // cheapest send here, so the limit takes the cheaper of the two.
    let batched = sendmmsg_cost(&packet, n);
    let cheapest = send.min(batched);
    println!(
        "media_server: the limit: SRTP AES-256-GCM protect of 1200 bytes {seal:.2} us + the cheapest send {cheapest:.2} us = {:.2} us per packet per viewer \
         (one sendto {send:.2} us; sendmmsg, per packet of 64: {batched:.2} us; a loopback sendto that wakes a reader on the other CPU: {waking:.2} us)",
        seal + cheapest
    );
    seal + cheapest
}

/// Microseconds per packet sent with sendmmsg(2), 64 to a call (as the
/// server's shards batch them), from CPU 0 to a socket nobody reads.
fn sendmmsg_cost(packet: &[u8], n: u32) -> f64 {
    use nix::sys::socket::{sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
    use std::os::fd::AsRawFd;
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = SockaddrStorage::from(sink.local_addr().unwrap());
    let packet = packet.to_vec();
    std::thread::spawn(move || {
        support::pin_to(0);
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(64, None);
        let slices: Vec<[std::io::IoSlice<'_>; 1]> =
            (0..64).map(|_| [std::io::IoSlice::new(&packet)]).collect();
        let addrs = vec![Some(to); 64];
        let t0 = Instant::now();
        let mut sent = 0;
        while sent < n {
            let r = sendmmsg(
                sock.as_raw_fd(),
                &mut headers,
                &slices,
                &addrs,
                [],
                MsgFlags::empty(),
            );
            sent += r.map_or(1, |r| r.count().max(1)) as u32;
        }
        let took = t0.elapsed().as_secs_f64() * 1e6 / f64::from(sent);
        drop(sink);
        took
    })
    .join()
    .unwrap()
}

/// Microseconds per `sendto` of `packet` from CPU 0, to a socket nobody
/// reads or to one a thread on CPU 1 waits on.
fn sendto_cost(packet: &[u8], n: u32, reader: bool) -> f64 {
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = sink.local_addr().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reading = reader.then(|| {
        let stop = stop.clone();
        sink.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        std::thread::spawn(move || {
            support::pin_to(1);
            let mut buf = [0u8; 2048];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = sink.recv(&mut buf);
            }
        })
    });
    let packet = packet.to_vec();
    let took = std::thread::spawn(move || {
        support::pin_to(0);
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let t0 = Instant::now();
        for _ in 0..n {
            let _ = sock.send_to(&packet, to);
            if reader {
                // Paced like a fan-out to many viewers: the reader sleeps
                // between packets, so each send wakes it.
                let t = Instant::now();
                while t.elapsed() < Duration::from_micros(20) {}
            }
        }
        t0.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    })
    .join()
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(r) = reading {
        r.join().unwrap();
    }
    // The pacing spin is not the send's cost.
    if reader {
        took - 20.0
    } else {
        took
    }
}

fn summary(who: Forwarder, steps: &[Step], floor: f64) -> Option<f64> {
    let best = steps.iter().rfind(|s| s.served());
    match best {
        Some(best) => {
            println!(
                "media_server: {}: {} viewers served (0 loss, under 90% of the core) on one core; at {:.2} us per packet ({:.1}x the limit) and {:.0} packets/s forwarded per viewer, one core feeds {:.0} viewers",
                who.name(),
                best.viewers,
                best.us_per_packet,
                best.us_per_packet / floor,
                best.pps_per_viewer,
                1e6 / (best.us_per_packet * best.pps_per_viewer)
            );
            Some(best.us_per_packet)
        }
        None => {
            println!(
                "media_server: {}: loss or saturation at every step",
                who.name()
            );
            None
        }
    }
}

/// CPU per packet (top) and loss (bottom) against viewers, for both
/// forwarders and the limit, as a small self-contained SVG.
fn plot(runs: &[(Forwarder, Vec<Step>)], floor: f64) -> String {
    const W: f64 = 640.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 60.0;
    const GAP: f64 = 70.0;
    let max_n = runs
        .iter()
        .flat_map(|(_, s)| s.iter().map(|s| s.viewers))
        .max()
        .unwrap_or(1) as f64;
    let x = |n: f64| LEFT + n / max_n * (W - LEFT - 20.0);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{}" font-family="sans-serif" font-size="12">"#,
        2.0 * H + GAP + 48.0 + 16.0 * runs.len() as f64
    );
    svg.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    let colours = |who: Forwarder| match who {
        Forwarder::Podium => "#1f6feb",
        Forwarder::Janus => "#2da44e",
        Forwarder::Baseline => "#d9822b",
    };
    type Value = Box<dyn Fn(&Step) -> f64>;
    let panels: [(&str, f64, Value); 2] = [
        (
            "server CPU per packet (us)",
            20.0,
            Box::new(|s: &Step| s.us_per_packet),
        ),
        (
            "packets lost per viewer",
            20.0 + H + GAP,
            Box::new(|s: &Step| s.lost_per_viewer),
        ),
    ];
    for (i, (title, top, value)) in panels.iter().enumerate() {
        let mut max_y = runs
            .iter()
            .flat_map(|(_, s)| s.iter().map(value))
            .fold(if i == 0 { floor } else { 1.0 }, f64::max);
        max_y *= 1.1;
        let y = |v: f64| top + H - v / max_y * H;
        svg.push_str(&format!(
            r#"<text x="{LEFT}" y="{}">{title}</text><line x1="{LEFT}" y1="{}" x2="{LEFT}" y2="{}" stroke="black"/><line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
            top - 6.0, top, top + H, top + H, W - 20.0, top + H
        ));
        for t in 0..=4 {
            let v = max_y * f64::from(t) / 4.0;
            svg.push_str(&format!(
                r#"<text x="{}" y="{:.1}" text-anchor="end">{v:.1}</text>"#,
                LEFT - 4.0,
                y(v) + 4.0
            ));
        }
        if i == 0 {
            svg.push_str(&format!(
                r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#888" stroke-dasharray="4 3"/><text x="{1}" y="{2:.1}" text-anchor="end" fill="#555">the limit: SRTP + the cheapest send</text>"##,
                y(floor),
                W - 20.0,
                y(floor) - 4.0
            ));
        }
        for (who, steps) in runs {
            let points: Vec<String> = steps
                .iter()
                .map(|s| format!("{:.1},{:.1}", x(s.viewers as f64), y(value(s))))
                .collect();
            svg.push_str(&format!(
                r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
                colours(*who),
                points.join(" ")
            ));
            for s in steps {
                svg.push_str(&format!(
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"#,
                    x(s.viewers as f64),
                    y(value(s)),
                    colours(*who)
                ));
            }
        }
        for s in runs.iter().flat_map(|(_, s)| s).map(|s| s.viewers) {
            svg.push_str(&format!(
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{s}</text>"#,
                x(s as f64),
                top + H + 14.0
            ));
        }
    }
    // The legend, a line each.
    for (i, (who, _)) in runs.iter().enumerate() {
        svg.push_str(&format!(
            r#"<text x="{}" y="{}" fill="{}">{} (viewers along the x axis)</text>"#,
            LEFT + 10.0,
            2.0 * H + GAP + 56.0 + 16.0 * i as f64,
            colours(*who),
            who.name()
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

/// Runs the bench again inside a network namespace of its own (Janus needs
/// the test interface; see tests/browser/netns.sh), with PostgreSQL over
/// its socket (the namespace has no route to the host's 127.0.0.1); its
/// exit status.
fn in_namespace(argv: &[String]) -> std::process::ExitStatus {
    let netns = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/netns.sh");
    let socket = std::env::var("PODIUM_PG_SOCKET").unwrap_or_else(|_| "/var/run/postgresql".into());
    std::process::Command::new("unshare")
        .arg("-n")
        .arg(netns)
        .arg(std::env::current_exe().unwrap())
        .args(&argv[1..])
        .env(
            "PODIUM_TEST_DATABASE_URL",
            format!("postgres://postgres@localhost/postgres?host={socket}"),
        )
        .status()
        .expect("unshare runs (util-linux; the bench runs as root to make a network namespace)")
}

fn main() {
    if std::env::args().any(|a| a == "--baseline-server") {
        return baseline::serve();
    }
    let argv: Vec<String> = std::env::args().collect();
    let a = Args::parse(&argv);
    if a.janus {
        assert!(
            janus::installed(),
            "the media bench runs Janus beside Podium: apt-get install -y janus (or pass --no-janus)"
        );
        if std::net::UdpSocket::bind((janus::ADDRESS, 0)).is_err() {
            let status = in_namespace(&argv);
            std::process::exit(status.code().unwrap_or(1));
        }
    }
    assert!(
        support::cpus() >= 2,
        "the media bench needs two CPUs: one for the server, one for the clients"
    );
    support::raise_open_files();
    support::pin_to(1);
    let floor = limit(a.bench);
    let db = kit::TestDb::new();
    let mut runs = Vec::new();
    let mut who = vec![Forwarder::Podium];
    if a.janus {
        who.push(Forwarder::Janus);
    }
    if a.baseline {
        who.push(Forwarder::Baseline);
    }
    for who in who {
        let steps = actix_rt::System::new().block_on(run(&a, who, &db.url, false));
        runs.push((who, steps));
    }
    if !a.bench && a.simulcast.is_empty() {
        // The smoke run also keeps the simulcast and recording modes from
        // rotting.
        let mut argv = argv.clone();
        argv.push("--simulcast".into());
        let s = Args::parse(&argv);
        actix_rt::System::new().block_on(run(&s, Forwarder::Podium, &db.url, false));
    }
    if a.recording || !a.bench {
        let recorded = actix_rt::System::new().block_on(run(&a, Forwarder::Podium, &db.url, true));
        for r in &recorded {
            if let Some(p) = runs[0].1.iter().find(|p| p.viewers == r.viewers) {
                println!(
                    "media_server: recording: at {} viewers {:.2} us per packet against {:.2} without ({:+.1} %)",
                    r.viewers,
                    r.us_per_packet,
                    p.us_per_packet,
                    (r.us_per_packet / p.us_per_packet - 1.0) * 100.0
                );
            }
        }
    }
    drop(db);
    let steps_of = |who: Forwarder| runs.iter().find(|(w, _)| *w == who).map(|(_, s)| s);
    let mut best = HashMap::new();
    for (who, steps) in &runs {
        summary(*who, steps, floor);
        let served = steps.iter().rfind(|s| s.served());
        best.insert(*who, served.map(|s| (s.viewers, s.us_per_packet)));
    }
    let podium = &runs[0].1;
    // Against each other forwarder: CPU per packet at the largest viewer
    // count both served without loss, and the viewers each served.
    for other in [Forwarder::Janus, Forwarder::Baseline] {
        let Some(theirs) = steps_of(other) else {
            continue;
        };
        let mut both = podium.iter().filter(|p| p.served()).filter_map(|p| {
            theirs
                .iter()
                .find(|b| b.viewers == p.viewers && b.served())
                .map(|b| (p.viewers, p.us_per_packet, b.us_per_packet))
        });
        if let Some((n, p, b)) = both.next_back() {
            println!(
                "media_server: headline: at {n} viewers {} spends {:.1}x Podium's CPU per packet ({b:.2} vs {p:.2} us)",
                other.name(),
                b / p
            );
        }
        if let (Some(Some((pn, p))), Some(Some((bn, b)))) =
            (best.get(&Forwarder::Podium), best.get(&other))
        {
            println!(
                "media_server: Podium serves {:.2}x the viewers of {} at 0 loss ({pn} against {bn}); at each one's largest served step, {p:.2} against {b:.2} us per packet",
                *pn as f64 / *bn as f64,
                other.name(),
            );
        }
    }
    let served = |who: Forwarder| best.get(&who).copied().flatten().map_or(0, |(n, _)| n);
    if a.janus && a.baseline {
        println!(
            "served: podium {} janus {} baseline {}",
            served(Forwarder::Podium),
            served(Forwarder::Janus),
            served(Forwarder::Baseline)
        );
    }
    if runs.len() < 2 {
        return;
    }
    // Only a full run (the default steps) replaces the committed plot.
    let out = if a.bench && a.full {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/benchmarks/media_server.svg"
        )
    } else {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench/media_server.svg")
    };
    let out = std::path::Path::new(out);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(out, plot(&runs, floor)).unwrap();
    println!("media_server: plot written to {}", out.display());
}
