//! Media fan-out through the real server, measured from outside: the
//! `podium` binary (one media shard, pinned to one CPU) serves a synthetic
//! presenter publishing over WHIP (VP8-like video at 1.5 Mbit/s and 30 fps,
//! Opus-like audio at 50 packets/s) to N viewers watching over WHEP, for N
//! stepping up until packets are lost or the core saturates. Viewers are
//! str0m peers (ICE, DTLS, SRTP keys) on a second CPU; once connected they
//! only count the RTP packets they get (sequence numbers are in the clear),
//! so the clients stay cheap and the server does its whole job. Then the
//! same steps against the baseline, a webrtc-rs forwarder
//! (support/baseline.rs) in a process of its own on the same CPU.
//!
//! Per step it prints the server's CPU time per forwarded packet (the
//! server's threads' own CPU time, from /proc), packets lost per viewer,
//! p50/p99 forwarding delay (Podium's histogram), and the server's memory
//! per viewer; first the limit (SRTP protect + one sendto), at the end the
//! viewers one core feeds, the Podium/baseline ratio, and an SVG plot
//! (docs/benchmarks/media_server.svg for full runs).
//!
//! `cargo bench --bench media_server -- --steps 100,200,400,600,800,1000`
//! (`PODIUM_BENCH_DEBUG=1` also names each viewer stream that lost packets).
//! Without `--bench` (as `cargo test --all-targets` runs it): one small step.

#[path = "support/baseline.rs"]
mod baseline;
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
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

const VIDEO_FRAME: usize = 6250; // 1.5 Mbit/s at 30 fps
const MEASURE: Duration = Duration::from_secs(8);
/// Viewers of one step must connect within this.
const CONNECT: Duration = Duration::from_secs(30);

struct Args {
    steps: Vec<usize>,
    bench: bool,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let bench = argv.iter().any(|a| a == "--bench");
    let steps = argv
        .iter()
        .position(|a| a == "--steps")
        .and_then(|i| argv.get(i + 1))
        .map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| {
            if bench {
                vec![100, 200, 300, 400, 600, 800, 1000]
            } else {
                vec![5]
            }
        });
    Args { steps, bench }
}

/// A counter's value, and a histogram's cumulative buckets, from /metrics.
struct Scrape {
    forwarded: f64,
    dropped: f64,
    delay: Vec<(f64, f64)>,
}

async fn scrape(http: &awc::Client, base: &str) -> Scrape {
    let mut r = http.get(format!("{base}/metrics")).send().await.unwrap();
    let text = String::from_utf8(r.body().limit(1 << 22).await.unwrap().to_vec()).unwrap();
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let mut s = Scrape {
        forwarded: 0.0,
        dropped: 0.0,
        delay: Vec::new(),
    };
    for sample in parsed.samples {
        match (sample.metric.as_str(), sample.value) {
            ("podium_media_packets_forwarded_total", prometheus_parse::Value::Counter(v)) => {
                s.forwarded = v
            }
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
}

fn offer_for(
    rtc: &mut Rtc,
    media: &[(MediaKind, Direction)],
) -> (String, SdpPendingOffer, Vec<Mid>) {
    let mut api = rtc.sdp_api();
    let mids = media
        .iter()
        .map(|(k, d)| api.add_media(*k, *d, None, None, None))
        .collect();
    let (offer, pending) = api.apply().unwrap();
    (offer.to_sdp_string(), pending, mids)
}

/// The answer, or None when the server refused or did not answer in time
/// (a saturated server: the step then reports viewers that never connect).
async fn post_sdp(http: &awc::Client, url: String, token: &str, sdp: String) -> Option<String> {
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
    String::from_utf8(r.body().await.ok()?.to_vec()).ok()
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
            Ok(Output::Event(_)) => {}
            Err(_) => return Instant::now() + Duration::from_secs(3600),
        }
    }
}

/// A viewer: str0m for ICE and DTLS; RTP is counted, never decrypted.
async fn viewer(
    http: awc::Client,
    base: String,
    slug: String,
    token: String,
    tally: Rc<RefCell<Tally>>,
) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = sock.local_addr().unwrap();
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let (offer, pending, _) = offer_for(
        &mut rtc,
        &[
            (MediaKind::Audio, Direction::RecvOnly),
            (MediaKind::Video, Direction::RecvOnly),
        ],
    );
    let answer = post_sdp(
        &http,
        format!("{base}/api/rooms/{slug}/whep"),
        &token,
        offer,
    )
    .await;
    let Some(answer) = answer else { return };
    rtc.sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();
    let mut buf = vec![0u8; 2048];
    loop {
        let deadline = drain(&mut rtc, &sock, &tally).await;
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
                        tally.borrow_mut().tracks.entry(ssrc).or_default().saw(seq);
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

/// The presenter: VP8-like frames of VIDEO_FRAME bytes at 30 fps and 80-byte
/// audio frames at 50 per second, through WHIP.
async fn presenter(
    http: awc::Client,
    base: String,
    slug: String,
    token: String,
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
    let (offer, pending, mids) = offer_for(
        &mut rtc,
        &[
            (MediaKind::Audio, Direction::SendOnly),
            (MediaKind::Video, Direction::SendOnly),
        ],
    );
    let answer = post_sdp(
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
    let mut buf = vec![0u8; 2048];
    loop {
        let deadline = drain(&mut rtc, &sock, &tally).await;
        let now = Instant::now();
        let next_video = start + Duration::from_micros(33_333 * video_n);
        let next_audio = start + Duration::from_millis(20 * audio_n);
        if tally.borrow().connected && now >= next_video.min(next_audio) {
            let (mid, codec, time, data) = if next_video <= next_audio {
                video_n += 1;
                let mut frame = vec![0u8; VIDEO_FRAME];
                frame[0] = 0x10; // a VP8 payload descriptor-ish first byte
                frame[1..9].copy_from_slice(&video_n.to_be_bytes());
                (
                    mids[1],
                    Codec::Vp8,
                    MediaTime::from_90khz(video_n * 3000),
                    frame,
                )
            } else {
                audio_n += 1;
                (
                    mids[0],
                    Codec::Opus,
                    MediaTime::new(audio_n * 960, Frequency::FORTY_EIGHT_KHZ),
                    vec![0xA5; 80],
                )
            };
            let pt = rtc.writer(mid).and_then(|w| {
                let pt = w
                    .payload_params()
                    .find(|p| p.spec().codec == codec)
                    .map(|p| p.pt());
                pt
            });
            if let (Some(pt), Some(w)) = (pt, rtc.writer(mid)) {
                let _ = w.write(pt, now, time, data);
                *sent.borrow_mut() += 1;
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

impl Step {
    /// Served: no packet lost and the core not saturated (past about 90%
    /// busy the queues, and so the delay, only grow).
    fn served(&self) -> bool {
        self.lost_per_viewer == 0.0 && self.busy <= SATURATED
    }
}

const SATURATED: f64 = 0.9;

/// What forwards the presenter's packets.
#[derive(Clone, Copy, PartialEq)]
enum Forwarder {
    Podium,
    /// webrtc-rs, the way its broadcast example forwards (support/baseline.rs).
    Baseline,
}

impl Forwarder {
    fn name(self) -> &'static str {
        match self {
            Forwarder::Podium => "podium",
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
}

async fn run(a: &Args, who: Forwarder, db_url: &str) -> Vec<Step> {
    let server = match who {
        Forwarder::Podium => support::start_server(db_url, &["--media-shards", "1"], Some(0)),
        Forwarder::Baseline => {
            let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
            cmd.arg("--baseline-server");
            support::start(cmd, Some(0))
        }
    };
    let pid = server.child.id();
    let base = server.base();
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
            let host = room.presenter().await.token;
            let watcher = room.attendee("Viewers").await.token;
            (room.slug, host, watcher)
        }
        // The baseline has one room and no auth.
        Forwarder::Baseline => ("bench".into(), "-".into(), "-".into()),
    };

    let sent = Rc::new(RefCell::new(0u64));
    actix_rt::spawn(presenter(
        http.clone(),
        base.clone(),
        slug.clone(),
        host,
        sent.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = server.resident_kib();

    let mut tallies: Vec<Rc<RefCell<Tally>>> = Vec::new();
    let mut steps = Vec::new();
    for &n in &a.steps {
        while tallies.len() < n {
            let t = Rc::new(RefCell::new(Tally::default()));
            tallies.push(t.clone());
            actix_rt::spawn(viewer(
                http.clone(),
                base.clone(),
                slug.clone(),
                watcher.clone(),
                t,
            ));
            if tallies.len().is_multiple_of(50) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let settle = Instant::now();
        while tallies.iter().any(|t| !t.borrow().connected) && settle.elapsed() < CONNECT {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let waiting = tallies.iter().filter(|t| !t.borrow().connected).count();
        if waiting > 0 {
            // A saturated forwarder cannot even finish the handshakes: the
            // end of the steps, as loss would be (the smoke run must not
            // get here).
            assert!(a.bench, "{waiting} viewers did not connect");
            println!(
                "media_server: {}: viewers={n}: {waiting} viewers could not connect within {} s (saturated)",
                who.name(),
                CONNECT.as_secs()
            );
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;

        let snap = |t: &Rc<RefCell<Tally>>| -> Vec<(u32, Track)> {
            t.borrow().tracks.iter().map(|(k, v)| (*k, *v)).collect()
        };
        let before: Vec<Vec<(u32, Track)>> = tallies.iter().map(snap).collect();
        let m0 = scrape(&http, &base).await;
        let cpu0 = support::cpu_time(pid);
        let measure = if a.bench {
            MEASURE
        } else {
            Duration::from_secs(2)
        };
        tokio::time::sleep(measure).await;
        let cpu1 = support::cpu_time(pid);
        // Shards add their counts once a second: wait for the last report.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let m1 = scrape(&http, &base).await;
        let after: Vec<Vec<(u32, Track)>> = tallies.iter().map(snap).collect();

        let mut lost = 0.0;
        for (b, a_) in before.iter().zip(&after) {
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
            }
        }
        let forwarded = (m1.forwarded - m0.forwarded).max(1.0);
        let step = Step {
            viewers: n,
            us_per_packet: (cpu1 - cpu0).as_secs_f64() * 1e6 / forwarded,
            lost_per_viewer: lost / n as f64,
            p50_us: quantile(&m0.delay, &m1.delay, 0.5) * 1e6,
            p99_us: quantile(&m0.delay, &m1.delay, 0.99) * 1e6,
            kib_per_viewer: server.resident_kib().saturating_sub(rss0) as f64 / n as f64,
            dropped: m1.dropped - m0.dropped,
            busy: (cpu1 - cpu0).as_secs_f64() / measure.as_secs_f64(),
        };
        println!(
            "media_server: {}: viewers={} server CPU per forwarded packet={:.2} us, lost per viewer={:.1} (send drops {}), \
             forwarding delay p50={:.0} us p99={:.0} us, memory per viewer={:.0} KiB, CPU busy={:.0}%",
            who.name(),
            step.viewers,
            step.us_per_packet,
            step.lost_per_viewer,
            step.dropped,
            step.p50_us,
            step.p99_us,
            step.kib_per_viewer,
            step.busy * 100.0,
        );
        let lossy = !step.served();
        steps.push(step);
        if lossy {
            break;
        }
    }
    println!(
        "media_server: {}: presenter wrote {} frames",
        who.name(),
        sent.borrow()
    );
    drop(server);
    steps
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
    println!(
        "media_server: the limit: SRTP AES-256-GCM protect of 1200 bytes {seal:.2} us + one sendto {send:.2} us = {:.2} us per packet per viewer \
         (a loopback sendto that wakes a reader on the other CPU: {waking:.2} us)",
        seal + send
    );
    seal + send
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

/// Packets a second each viewer gets: 6 video packets per frame at 30 fps,
/// and 50 audio packets.
fn packets_per_viewer() -> f64 {
    30.0 * VIDEO_FRAME.div_ceil(1100) as f64 + 50.0
}

fn summary(who: Forwarder, steps: &[Step], floor: f64) -> Option<f64> {
    let best = steps.iter().rfind(|s| s.served());
    match best {
        Some(best) => {
            println!(
                "media_server: {}: {} viewers served (0 loss, under 90% of the core) on one core; at {:.2} us per packet ({:.1}x the limit) and {:.0} packets/s per viewer, one core feeds {:.0} viewers",
                who.name(),
                best.viewers,
                best.us_per_packet,
                best.us_per_packet / floor,
                packets_per_viewer(),
                1e6 / (best.us_per_packet * packets_per_viewer())
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
        2.0 * H + GAP + 64.0
    );
    svg.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    let colours = |who: Forwarder| match who {
        Forwarder::Podium => "#1f6feb",
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
                r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#888" stroke-dasharray="4 3"/><text x="{1}" y="{2:.1}" text-anchor="end" fill="#555">the limit: SRTP + sendto</text>"##,
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
    for (i, (who, _)) in runs.iter().enumerate() {
        svg.push_str(&format!(
            r#"<text x="{}" y="{}" fill="{}">{} (viewers along the x axis)</text>"#,
            LEFT + 10.0 + 240.0 * i as f64,
            2.0 * H + GAP + 56.0,
            colours(*who),
            who.name()
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

fn main() {
    if std::env::args().any(|a| a == "--baseline-server") {
        return baseline::serve();
    }
    let a = args();
    assert!(
        support::cpus() >= 2,
        "the media bench needs two CPUs: one for the server, one for the clients"
    );
    support::raise_open_files();
    support::pin_to(1);
    let floor = limit(a.bench);
    let db = kit::TestDb::new();
    let mut runs = Vec::new();
    for who in [Forwarder::Podium, Forwarder::Baseline] {
        let steps = actix_rt::System::new().block_on(run(&a, who, &db.url));
        runs.push((who, steps));
    }
    drop(db);
    let podium = summary(Forwarder::Podium, &runs[0].1, floor);
    let baseline = summary(Forwarder::Baseline, &runs[1].1, floor);
    // The headline: CPU per packet at the largest viewer count both served
    // without loss.
    let mut both = runs[0].1.iter().filter(|p| p.served()).filter_map(|p| {
        runs[1]
            .1
            .iter()
            .find(|b| b.viewers == p.viewers && b.served())
            .map(|b| (p.viewers, p.us_per_packet, b.us_per_packet))
    });
    if let Some((n, p, b)) = both.next_back() {
        println!(
            "media_server: headline: at {n} viewers the baseline spends {:.1}x Podium's CPU per packet ({b:.2} vs {p:.2} us)",
            b / p
        );
    }
    if let (Some(p), Some(b)) = (podium, baseline) {
        println!(
            "media_server: at each one's largest served step: Podium {p:.2} us, baseline {b:.2} us per packet"
        );
    }
    let out = if a.bench {
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
