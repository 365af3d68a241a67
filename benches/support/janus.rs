//! Janus (Debian's `janus`, its streaming plugin) as a peer of the media
//! bench: a configuration of its own in a temporary folder, one RTP
//! mountpoint fed plain RTP on two UDP ports, viewers over its HTTP API
//! (create a session, attach the plugin, `watch`, the offer on the long
//! poll, the answer with `start`, keepalives). Janus gathers candidates on
//! the namespace's test interface only (`ice_enforce_list`), so the bench
//! runs it inside a network namespace (see media_server.rs).

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The interface and address the namespace gives (tests/browser/netns.sh).
pub const INTERFACE: &str = "podium0";
pub const ADDRESS: &str = "198.51.100.1";
/// The mountpoint's payload types, as its configuration names them.
pub const VIDEO_PT: u8 = 100;
pub const AUDIO_PT: u8 = 111;
const LIBS: &str = "/usr/lib/x86_64-linux-gnu/janus";

pub struct Janus {
    child: Child,
    dir: PathBuf,
    pub base: String,
    /// Where the feed's video and audio RTP go.
    pub video: SocketAddr,
    pub audio: SocketAddr,
}

impl Janus {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free TCP port")
}

/// Whether this machine has Janus; the bench fails without it, saying how
/// to get it.
pub fn installed() -> bool {
    // `janus --version` prints its version but exits with 1.
    Command::new("janus")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("Janus version"))
}

/// Janus with its streaming plugin and HTTP transport only, every thread
/// on `cpu`; ready once its HTTP API answers.
pub fn start(cpu: usize) -> Janus {
    let dir = std::env::temp_dir().join(format!("podium-bench-janus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Folders holding only the libraries used: nothing else loads.
    for (folder, libs) in [
        ("plugins", &["libjanus_streaming.so"][..]),
        ("transports", &["libjanus_http.so"][..]),
        ("events", &[][..]),
        ("loggers", &[][..]),
    ] {
        let d = dir.join(folder);
        std::fs::create_dir_all(&d).unwrap();
        for lib in libs {
            std::os::unix::fs::symlink(format!("{LIBS}/{folder}/{lib}"), d.join(lib)).unwrap();
        }
    }
    let http = free_tcp_port();
    let (video, audio) = (free_udp_port(), free_udp_port());
    let d = dir.display();
    std::fs::write(
        dir.join("janus.jcfg"),
        format!(
            r#"general: {{
  configs_folder = "{d}"
  plugins_folder = "{d}/plugins"
  transports_folder = "{d}/transports"
  events_folder = "{d}/events"
  loggers_folder = "{d}/loggers"
  debug_level = 3
  session_timeout = 60
}}
media: {{
  ipv6 = false
  rtp_port_range = "20000-29999"
}}
nat: {{
  ice_enforce_list = "{INTERFACE}"
}}
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("janus.transport.http.jcfg"),
        format!(
            r#"general: {{
  base_path = "/janus"
  http = true
  port = {http}
  https = false
}}
admin: {{
  admin_http = false
}}
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("janus.plugin.streaming.jcfg"),
        format!(
            r#"bench: {{
  type = "rtp"
  id = 1
  description = "bench"
  audio = true
  video = true
  audioport = {audio}
  audiopt = {AUDIO_PT}
  audiocodec = "opus"
  audiortpmap = "opus/48000/2"
  videoport = {video}
  videopt = {VIDEO_PT}
  videocodec = "vp8"
  videortpmap = "VP8/90000"
  videobufferkf = true
}}
"#
        ),
    )
    .unwrap();
    let mut cmd = Command::new("janus");
    cmd.arg("-C")
        .arg(dir.join("janus.jcfg"))
        .arg("-F")
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if std::env::var("PODIUM_BENCH_DEBUG").is_ok() {
        cmd.stdout(Stdio::inherit());
    }
    unsafe {
        cmd.pre_exec(move || {
            crate::support::pin_to(cpu);
            Ok(())
        });
    }
    let child = cmd.spawn().expect("janus starts");
    let base = format!("http://127.0.0.1:{http}/janus");
    let janus = Janus {
        child,
        dir,
        base,
        video: ([127, 0, 0, 1], video).into(),
        audio: ([127, 0, 0, 1], audio).into(),
    };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", http)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "janus did not open its HTTP API within 15 s (PODIUM_BENCH_DEBUG=1 shows its log)"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    janus
}

async fn post(http: &awc::Client, url: &str, body: Value) -> Option<Value> {
    let mut r = http.post(url).send_json(&body).await.ok()?;
    r.json::<Value>().limit(1 << 20).await.ok()
}

/// A viewer's session on the mountpoint, up to Janus's offer.
pub struct Watching {
    pub session: u64,
    pub handle: u64,
    pub offer: String,
}

/// Creates a session, attaches the streaming plugin, asks to watch the
/// mountpoint and waits on the long poll for the offer.
pub async fn watch(http: &awc::Client, base: &str) -> Option<Watching> {
    let created = post(http, base, json!({"janus": "create", "transaction": "c"})).await?;
    let session = created["data"]["id"].as_u64()?;
    let attached = post(
        http,
        &format!("{base}/{session}"),
        json!({"janus": "attach", "plugin": "janus.plugin.streaming", "transaction": "a"}),
    )
    .await?;
    let handle = attached["data"]["id"].as_u64()?;
    post(
        http,
        &format!("{base}/{session}/{handle}"),
        json!({"janus": "message", "body": {"request": "watch", "id": 1}, "transaction": "w"}),
    )
    .await?;
    for _ in 0..20 {
        let mut r = http
            .get(format!("{base}/{session}?maxev=10"))
            .send()
            .await
            .ok()?;
        let events: Value = r.json().limit(1 << 20).await.ok()?;
        let events = match events {
            Value::Array(v) => v,
            one => vec![one],
        };
        for e in events {
            if e["jsep"]["type"] == "offer" {
                let offer = e["jsep"]["sdp"].as_str()?.to_owned();
                return Some(Watching {
                    session,
                    handle,
                    offer,
                });
            }
        }
    }
    None
}

/// Sends the viewer's answer (`start`).
pub async fn start_watching(http: &awc::Client, base: &str, w: &Watching, answer: String) -> bool {
    let started = post(
        http,
        &format!("{base}/{}/{}", w.session, w.handle),
        json!({
            "janus": "message",
            "body": {"request": "start"},
            "jsep": {"type": "answer", "sdp": answer, "trickle": false},
            "transaction": "s"
        }),
    )
    .await;
    started.is_some_and(|v| v["janus"] == "ack" || v["janus"] == "success")
}

/// Keeps a session alive (Janus ends one silent for 60 s).
pub async fn keepalive(http: awc::Client, base: String, session: u64) {
    loop {
        tokio::time::sleep(Duration::from_secs(20)).await;
        let _ = post(
            &http,
            &format!("{base}/{session}"),
            json!({"janus": "keepalive", "transaction": "k"}),
        )
        .await;
    }
}

/// The mountpoint's feed: plain RTP of the bench presenter's stream (the
/// same VP8-like frames, in packets of at most `chunk` bytes of payload,
/// and the same 80-byte audio), to Janus's two ports.
pub struct Feed {
    sock: UdpSocket,
    video: SocketAddr,
    audio: SocketAddr,
    video_seq: u16,
    audio_seq: u16,
}

const VIDEO_SSRC: u32 = 0x5ca1_ab1e;
const AUDIO_SSRC: u32 = 0x00dd_ba11;

fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + payload.len());
    p.push(0x80);
    p.push(pt | if marker { 0x80 } else { 0 });
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

impl Feed {
    pub fn new(video: SocketAddr, audio: SocketAddr) -> Feed {
        Feed {
            sock: UdpSocket::bind("127.0.0.1:0").unwrap(),
            video,
            audio,
            video_seq: 0,
            audio_seq: 0,
        }
    }

    /// One VP8 frame at `ts` (90 kHz), split as a packetizer would (RFC
    /// 7741: a one-byte descriptor, S set on the first packet); its packets.
    pub fn video(&mut self, ts: u32, frame: &[u8], chunk: usize) -> usize {
        let pieces: Vec<&[u8]> = frame.chunks(chunk).collect();
        for (i, piece) in pieces.iter().enumerate() {
            let mut payload = Vec::with_capacity(1 + piece.len());
            payload.push(if i == 0 { 0x10 } else { 0x00 });
            payload.extend_from_slice(piece);
            let last = i + 1 == pieces.len();
            let p = rtp(VIDEO_PT, last, self.video_seq, ts, VIDEO_SSRC, &payload);
            self.video_seq = self.video_seq.wrapping_add(1);
            let _ = self.sock.send_to(&p, self.video);
        }
        pieces.len()
    }

    pub fn audio(&mut self, ts: u32, payload: &[u8]) {
        let p = rtp(AUDIO_PT, false, self.audio_seq, ts, AUDIO_SSRC, payload);
        self.audio_seq = self.audio_seq.wrapping_add(1);
        let _ = self.sock.send_to(&p, self.audio);
    }
}
