//! Chat fan-out on the real server (the `podium` binary on CPU 0, the
//! clients on CPU 1): S WebSocket sockets in one room, M chat messages a
//! second from the presenter's socket; every receiver notes how long each
//! message took to reach it. Prints p50/p99/max delivery latency and the
//! deliveries per server CPU-second (the server's own scheduler accounting).
//! Most sockets are not timed: they are raw WebSocket connections that,
//! every two seconds, take what their kernel buffer holds, answer the
//! server's pings and count the chat frames by their headers, as a busy
//! real client stays alive; at the end each must have every message.
//!
//! `cargo bench --bench chat_fanout -- --sockets 5000 --readers 500 --rate 20 --seconds 10`
//! `--nodes 3` runs three nodes on one database and a nats-server of its
//! own, the sockets spread over them in turn (the sender and the room's
//! home on the first), and gives the latencies of the home's sockets and
//! the other nodes' apart.
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a small
//! smoke run of the same path. Needs PostgreSQL as the tests do
//! (PODIUM_TEST_DATABASE_URL or 127.0.0.1:5432, user postgres).

// The tests' kit (a database, the server as a child process, rooms and
// participants); this bench uses part of it.
#[allow(dead_code, unused_imports)]
#[path = "../tests/kit/mod.rs"]
mod kit;
#[path = "support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;

use kit::process::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sockets joining at once while the room fills.
const CONNECTING: usize = 100;
/// How often an untimed socket reads what waits for it.
const IDLE_READS: Duration = Duration::from_secs(2);

struct Args {
    sockets: usize,
    /// Sockets that read and time each message as it arrives.
    readers: usize,
    rate: f64,
    seconds: f64,
    nodes: usize,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let bench = argv.iter().any(|a| a == "--bench");
    let get = |name: &str, default: f64| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (s, secs) = if bench { (5000.0, 10.0) } else { (20.0, 1.0) };
    Args {
        sockets: get("--sockets", s) as usize,
        // The smoke run has untimed sockets too.
        readers: get("--readers", if bench { 500.0 } else { 10.0 }) as usize,
        rate: get("--rate", 20.0),
        seconds: get("--seconds", secs),
        nodes: get("--nodes", 1.0).max(1.0) as usize,
    }
}

fn main() {
    let a = args();
    support::raise_open_files();
    let pinned = support::cpus() >= 2;
    if pinned {
        support::pin_to(1);
    }
    let db = kit::TestDb::new();
    let nats = (a.nodes > 1).then(kit::nodes::Nats::start);
    let servers: Vec<Server> = (0..a.nodes)
        .map(|i| {
            let (url, name) = (nats.as_ref().map(|n| n.url()), kit::nodes::name(i));
            let cluster: Vec<&str> = match &url {
                Some(url) => vec!["--nats-url", url, "--node-id", &name],
                None => Vec::new(),
            };
            support::start_server(&db.url, &cluster, pinned.then_some(0))
        })
        .collect();
    let result = actix_rt::System::new().block_on(run(&a, &servers));
    drop(servers);
    drop(nats);
    drop(db);
    if let Err(e) = result {
        eprintln!("chat_fanout failed: {e}");
        std::process::exit(1);
    }
}

type Socket = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

/// A socket of the room: timed as it reads, or untimed (its chat frames
/// counted).
enum Conn {
    Timed(Socket),
    Untimed(Rc<std::cell::Cell<usize>>),
}

/// A socket that said hello and got its welcome.
async fn connect(ws_url: &str, token: &str) -> Result<Socket, String> {
    let (_, mut framed) = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish()
        .ws(ws_url)
        // A staff welcome lists every participant: large in a big room.
        .max_frame_size(1 << 24)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    framed
        .send(Message::Text(
            json!({"type": "hello", "token": token}).to_string().into(),
        ))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match framed.next().await {
            Some(Ok(Frame::Text(t))) if find(&t, b"\"welcome\"").is_some() => return Ok(framed),
            Some(Ok(_)) => {}
            _ => return Err("no welcome".to_string()),
        }
    }
}

/// A client frame (masked, as RFC 6455 asks of clients; the mask is zero,
/// which changes nothing).
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(payload);
    f
}

/// An untimed socket: the upgrade and the hello by hand, then frames
/// counted by their headers. Chat frames counted so far go to `got`.
async fn connect_untimed(
    addr: &str,
    path: &str,
    token: &str,
    got: Rc<std::cell::Cell<usize>>,
) -> Result<(), String> {
    let e = |e: std::io::Error| e.to_string();
    let mut stream = TcpStream::connect(addr).await.map_err(e)?;
    let upgrade = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: cG9kaXVtLWJlbmNoLWtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(upgrade.as_bytes()).await.map_err(e)?;
    let mut buf = Vec::with_capacity(1 << 16);
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.map_err(e)?;
        if n == 0 {
            return Err("the server closed the upgrade".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = find(&buf, b"\r\n\r\n") {
            break at + 4;
        }
    };
    if !buf.starts_with(b"HTTP/1.1 101") {
        return Err(format!(
            "no upgrade: {}",
            String::from_utf8_lossy(&buf[..head_end.min(80)])
        ));
    }
    buf.drain(..head_end);
    let hello = json!({"type": "hello", "token": token}).to_string();
    stream
        .write_all(&client_frame(0x1, hello.as_bytes()))
        .await
        .map_err(e)?;
    let mut welcomed = false;
    while !welcomed {
        let mut chunk = [0u8; 1 << 16];
        let n = stream.read(&mut chunk).await.map_err(e)?;
        if n == 0 {
            return Err("no welcome".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        welcomed = scan(&mut buf, &mut stream, &got).await?;
    }
    actix_rt::spawn(async move {
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            tokio::time::sleep(IDLE_READS).await;
            // What the kernel holds, without waiting for more.
            loop {
                match stream.try_read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => return,
                }
            }
            if scan(&mut buf, &mut stream, &got).await.is_err() {
                return;
            }
        }
    });
    Ok(())
}

/// Takes the whole frames at the head of `buf`: pings answered, chat
/// frames counted; whether a welcome was among them.
async fn scan(
    buf: &mut Vec<u8>,
    stream: &mut TcpStream,
    got: &std::cell::Cell<usize>,
) -> Result<bool, String> {
    let mut at = 0;
    let mut welcome = false;
    while buf.len() >= at + 2 {
        let (opcode, short) = (buf[at] & 0x0f, usize::from(buf[at + 1] & 0x7f));
        let (len, header) = match short {
            126 if buf.len() >= at + 4 => (
                usize::from(u16::from_be_bytes([buf[at + 2], buf[at + 3]])),
                4,
            ),
            127 if buf.len() >= at + 10 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&buf[at + 2..at + 10]);
                (u64::from_be_bytes(n) as usize, 10)
            }
            126 | 127 => break,
            n => (n, 2),
        };
        if buf.len() < at + header + len {
            break;
        }
        let payload = &buf[at + header..at + header + len];
        match opcode {
            0x1 if find(payload, b"chat.message").is_some() => got.set(got.get() + 1),
            0x1 => welcome |= find(payload, b"\"welcome\"").is_some(),
            0x9 => {
                let pong = client_frame(0xA, payload);
                stream.write_all(&pong).await.map_err(|e| e.to_string())?;
            }
            0x8 => return Err("closed by the server".into()),
            _ => {}
        }
        at += header + len;
    }
    buf.drain(..at);
    Ok(welcome)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The send time a chat frame carries as its body (microseconds since the
/// bench started), read without parsing the whole frame: with thousands of
/// sockets on one client core, the clients must stay cheaper than the
/// server.
fn sent_at(frame: &[u8]) -> Option<u64> {
    find(frame, b"chat.message")?;
    let at = find(frame, b"\"body\":\"")? + 8;
    let digits = &frame[at..];
    let end = digits.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

async fn run(a: &Args, servers: &[Server]) -> Result<(), String> {
    let apis: Vec<kit::Api> = servers.iter().map(|s| kit::Api::new(s.base())).collect();
    let api = &apis[0];
    let room = api
        .create_room(json!({"title": "Bench", "presenter_name": "Ada", "max_participants": 100000}))
        .await;
    let ws_urls: Vec<String> = apis
        .iter()
        .map(|api| {
            format!(
                "{}/api/rooms/{}/ws",
                api.base.replace("http://", "ws://"),
                room.slug
            )
        })
        .collect();
    let ws_url = &ws_urls[0];
    let presenter = room.presenter().await.token;

    let start = Instant::now();
    // Each timed delivery's latency, with the node its socket is on.
    let latencies: Rc<RefCell<Vec<(usize, u64)>>> = Rc::default();
    // Sockets that read as messages arrive and time them, and untimed
    // sockets that read in bursts and only count: one client core cannot
    // decode 100,000 frames a second as fast as the server sends them,
    // and a reader that falls behind would time itself, not the server.
    let readers = a.readers.min(a.sockets);
    let addrs: Vec<String> = apis
        .iter()
        .map(|api| api.base.trim_start_matches("http://").to_owned())
        .collect();
    let path = format!("/api/rooms/{}/ws", room.slug);
    let mut idle: Vec<Rc<std::cell::Cell<usize>>> = Vec::new();
    let mut next = 0;
    while next < a.sockets {
        let batch = (next..a.sockets.min(next + CONNECTING)).map(|i| {
            // In turn over the nodes: the first socket makes the first
            // node the room's home.
            let node = i % servers.len();
            let (room, ws_url, addr, path) = (&room, &ws_urls[node], &addrs[node], &path);
            async move {
                let viewer = room.attendee(&format!("viewer {i}")).await;
                if i < readers {
                    connect(ws_url, &viewer.token)
                        .await
                        .map(|s| (node, Conn::Timed(s)))
                } else {
                    let got = Rc::new(std::cell::Cell::new(0));
                    connect_untimed(addr, path, &viewer.token, got.clone()).await?;
                    Ok((node, Conn::Untimed(got)))
                }
            }
        });
        for conn in futures_util::future::join_all(batch).await {
            let (node, conn) = conn?;
            let mut framed = match conn {
                Conn::Timed(framed) => framed,
                Conn::Untimed(got) => {
                    idle.push(got);
                    continue;
                }
            };
            let lat = latencies.clone();
            actix_rt::spawn(async move {
                while let Some(Ok(frame)) = framed.next().await {
                    match frame {
                        Frame::Text(t) => {
                            if let Some(sent) = sent_at(&t) {
                                let now = start.elapsed().as_micros() as u64;
                                lat.borrow_mut().push((node, now.saturating_sub(sent)));
                            }
                        }
                        Frame::Ping(p) => {
                            let _ = framed.send(Message::Pong(p)).await;
                        }
                        _ => {}
                    }
                }
            });
        }
        next = a.sockets.min(next + CONNECTING);
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "chat_fanout: {} sockets ({readers} timed) joined and connected in {took:.1} s ({:.0} a second)",
        a.sockets,
        a.sockets as f64 / took.max(1e-9)
    );

    let mut sender = connect(ws_url, &presenter).await?;
    let pids: Vec<u32> = servers.iter().map(|s| s.child.id()).collect();
    let cpu_of = |pids: &[u32]| -> Duration { pids.iter().map(|p| support::cpu_time(*p)).sum() };
    let messages = (a.rate * a.seconds).round().max(1.0) as usize;
    let gap = Duration::from_secs_f64(1.0 / a.rate.max(0.1));
    let cpu_before = cpu_of(&pids);
    let sending = Instant::now();
    for i in 0..messages {
        tokio::time::sleep_until((sending + gap * i as u32).into()).await;
        let body = start.elapsed().as_micros().to_string();
        sender
            .send(Message::Text(
                json!({"type": "chat.send", "body": body})
                    .to_string()
                    .into(),
            ))
            .await
            .map_err(|e| e.to_string())?;
    }
    let expected = readers * messages;
    let deadline = Instant::now() + Duration::from_secs(60);
    while latencies.borrow().len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = (cpu_of(&pids) - cpu_before).as_secs_f64();
    let elapsed = sending.elapsed().as_secs_f64();
    let timed = latencies.borrow().clone();
    let mut l: Vec<u64> = timed.iter().map(|(_, l)| *l).collect();
    if l.len() < expected {
        return Err(format!("only {} of {expected} deliveries arrived", l.len()));
    }
    // Every untimed socket got every message too.
    let counting = Instant::now();
    while idle.iter().any(|g| g.get() < messages) && counting.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some(short) = idle.iter().find(|g| g.get() < messages) {
        return Err(format!(
            "an untimed socket got {} of {messages} messages",
            short.get()
        ));
    }
    let deliveries = a.sockets * messages;
    l.sort_unstable();
    let pct = |l: &[u64], p: f64| l[((l.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0;
    println!(
        "chat_fanout: nodes={} sockets={} rate={}/s messages={messages} deliveries={deliveries} (all checked) in {elapsed:.1} s; \
         delivery latency over {readers} timing sockets p50={:.2} ms p99={:.2} ms max={:.2} ms; \
         server CPU {cpu:.2} s ({:.0}% of one core), {:.0} deliveries per server CPU-second",
        servers.len(),
        a.sockets,
        a.rate,
        pct(&l, 0.50),
        pct(&l, 0.99),
        pct(&l, 1.0),
        100.0 * cpu / elapsed,
        deliveries as f64 / cpu.max(1e-9),
    );
    if servers.len() > 1 {
        for (what, home) in [
            ("the home node's sockets", true),
            ("other nodes' sockets", false),
        ] {
            let mut part: Vec<u64> = timed
                .iter()
                .filter(|(node, _)| (*node == 0) == home)
                .map(|(_, l)| *l)
                .collect();
            part.sort_unstable();
            if !part.is_empty() {
                println!(
                    "chat_fanout: {what}: {} deliveries, p50={:.2} ms p99={:.2} ms max={:.2} ms",
                    part.len(),
                    pct(&part, 0.50),
                    pct(&part, 0.99),
                    pct(&part, 1.0),
                );
            }
        }
    }
    Ok(())
}
