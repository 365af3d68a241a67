//! Chat fan-out on the real server (the `podium` binary on CPU 0, the
//! clients on CPU 1): S WebSocket sockets in one room, M chat messages a
//! second from the presenter's socket; every receiver notes how long each
//! message took to reach it. Prints p50/p99/max delivery latency and the
//! deliveries per server CPU-second (the server's own scheduler accounting).
//!
//! `cargo bench --bench chat_fanout -- --sockets 5000 --readers 500 --rate 20 --seconds 10`
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

/// Sockets joining at once while the room fills.
const CONNECTING: usize = 100;

struct Args {
    sockets: usize,
    /// Sockets that read and time each message as it arrives.
    readers: usize,
    rate: f64,
    seconds: f64,
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
        readers: get("--readers", 500.0) as usize,
        rate: get("--rate", 20.0),
        seconds: get("--seconds", secs),
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
    let server = support::start_server(&db.url, &[], pinned.then_some(0));
    let result = actix_rt::System::new().block_on(run(&a, &server));
    drop(server);
    drop(db);
    if let Err(e) = result {
        eprintln!("chat_fanout failed: {e}");
        std::process::exit(1);
    }
}

type Socket = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

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

async fn run(a: &Args, server: &Server) -> Result<(), String> {
    let api = kit::Api::new(server.base());
    let pid = server.child.id();
    let room = api
        .create_room(json!({"title": "Bench", "presenter_name": "Ada", "max_participants": 100000}))
        .await;
    let ws_url = format!(
        "{}/api/rooms/{}/ws",
        api.base.replace("http://", "ws://"),
        room.slug
    );
    let presenter = room.presenter().await.token;

    let start = Instant::now();
    let latencies: Rc<RefCell<Vec<u64>>> = Rc::default();
    // Sockets that read as messages arrive and time them, and sockets left
    // unread until the end (their kernel buffers hold the messages) and
    // then counted: one client core cannot read 100,000 frames a second
    // as fast as the server sends them, and a reader that falls behind
    // would time itself, not the server.
    let mut readers = 0;
    let mut idle: Vec<Socket> = Vec::new();
    let mut next = 0;
    while next < a.sockets {
        let batch = (next..a.sockets.min(next + CONNECTING)).map(|i| {
            let (room, ws_url) = (&room, &ws_url);
            async move {
                let viewer = room.attendee(&format!("viewer {i}")).await;
                connect(ws_url, &viewer.token).await
            }
        });
        for framed in futures_util::future::join_all(batch).await {
            let mut framed = framed?;
            if idle.len() + readers < a.sockets && readers >= a.readers {
                idle.push(framed);
                continue;
            }
            readers += 1;
            let lat = latencies.clone();
            actix_rt::spawn(async move {
                while let Some(Ok(frame)) = framed.next().await {
                    match frame {
                        Frame::Text(t) => {
                            if let Some(sent) = sent_at(&t) {
                                let now = start.elapsed().as_micros() as u64;
                                lat.borrow_mut().push(now.saturating_sub(sent));
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
    println!(
        "chat_fanout: {} sockets connected in {:.1} s",
        a.sockets,
        start.elapsed().as_secs_f64()
    );

    let mut sender = connect(&ws_url, &presenter).await?;
    let messages = (a.rate * a.seconds).round().max(1.0) as usize;
    let gap = Duration::from_secs_f64(1.0 / a.rate.max(0.1));
    let cpu_before = support::cpu_time(pid);
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
    let cpu = (support::cpu_time(pid) - cpu_before).as_secs_f64();
    let elapsed = sending.elapsed().as_secs_f64();
    let mut l = latencies.borrow().clone();
    if l.len() < expected {
        return Err(format!("only {} of {expected} deliveries arrived", l.len()));
    }
    // Every unread socket got every message too.
    for mut framed in idle.drain(..) {
        let mut got = 0;
        while got < messages {
            match tokio::time::timeout(Duration::from_secs(10), framed.next()).await {
                Ok(Some(Ok(Frame::Text(t)))) if sent_at(&t).is_some() => got += 1,
                Ok(Some(Ok(_))) => {}
                _ => return Err(format!("an unread socket got {got} of {messages} messages")),
            }
        }
    }
    let deliveries = a.sockets * messages;
    l.sort_unstable();
    let pct = |p: f64| l[((l.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0;
    println!(
        "chat_fanout: sockets={} rate={}/s messages={messages} deliveries={deliveries} (all checked) in {elapsed:.1} s; \
         delivery latency over {readers} timing sockets p50={:.2} ms p99={:.2} ms max={:.2} ms; \
         server CPU {cpu:.2} s ({:.0}% of one core), {:.0} deliveries per server CPU-second",
        a.sockets,
        a.rate,
        pct(0.50),
        pct(0.99),
        pct(1.0),
        100.0 * cpu / elapsed,
        deliveries as f64 / cpu.max(1e-9),
    );
    Ok(())
}
