//! Chat fan-out: one presenter sends chat messages over WebSocket to a room
//! of S sockets; every receiver notes how long each message took to reach
//! it. Prints p50/p99/max delivery latency.
//!
//! `cargo bench --bench chat_fanout -- --sockets 500 --messages 200 --rate 20`
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a small
//! smoke run of the same path. Needs PostgreSQL as the tests do
//! (PODIUM_TEST_DATABASE_URL or 127.0.0.1:5432, user postgres).

#[path = "support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use podium::config::Config;
use podium::startup::Application;
use serde_json::{json, Value};

struct Args {
    sockets: usize,
    messages: usize,
    rate: f64,
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
    let (s, m) = if bench { (500.0, 200.0) } else { (20.0, 5.0) };
    Args {
        sockets: get("--sockets", s) as usize,
        messages: get("--messages", m) as usize,
        rate: get("--rate", 20.0),
    }
}

fn main() {
    let a = args();
    support::raise_open_files();
    let db = support::BenchDb::new();
    let result = actix_rt::System::new().block_on(run(&a, db.url.clone()));
    drop(db);
    if let Err(e) = result {
        eprintln!("chat_fanout failed: {e}");
        std::process::exit(1);
    }
}

async fn run(a: &Args, db_url: String) -> Result<(), String> {
    let mut config = Config::from_args([
        "--bind",
        "127.0.0.1:0",
        "--media-bind",
        "127.0.0.1:0",
        "--join-per-minute",
        "1000000",
        "--create-per-minute",
        "1000",
        "--token-per-second",
        "1000000",
        "--ws-sends-per-second",
        "100000",
    ])
    .map_err(|e| e.to_string())?;
    config.database_url = Some(db_url);
    config.data_dir = std::env::temp_dir().join("podium-bench");
    let app = Application::build(config)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let base = format!("http://{}", app.http_addr());
    actix_rt::spawn(app.run_until_stopped());
    let http = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();

    let mut r = http
        .post(format!("{base}/api/rooms"))
        .send_json(&json!({"title": "Bench", "presenter_name": "Ada", "max_participants": 100000}))
        .await
        .map_err(|e| e.to_string())?;
    let room: Value = r.json().await.map_err(|e| e.to_string())?;
    let slug = room["slug"].as_str().ok_or("no slug")?.to_owned();
    let join = |body: Value| {
        let http = http.clone();
        let url = format!("{base}/api/rooms/{slug}/join");
        async move {
            let mut r = http
                .post(url)
                .send_json(&body)
                .await
                .map_err(|e| e.to_string())?;
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            v["token"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("join failed: {v}"))
        }
    };
    let presenter = join(json!({"name": "Ada", "key": room["host_key"]})).await?;
    let ws_url = format!("{}/api/rooms/{slug}/ws", base.replace("http://", "ws://"));

    let connect = |token: String| {
        let ws_url = ws_url.clone();
        async move {
            let (_, mut framed) = awc::Client::new()
                .ws(ws_url)
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
                    Some(Ok(Frame::Text(t)))
                        if t.starts_with(b"{\"type\":\"welcome\"")
                            || serde_json::from_slice::<Value>(&t)
                                .map(|v| v["type"] == "welcome")
                                .unwrap_or(false) =>
                    {
                        break
                    }
                    Some(Ok(_)) => {}
                    _ => return Err("no welcome".to_string()),
                }
            }
            Ok::<_, String>(framed)
        }
    };

    let start = Instant::now();
    let latencies: Rc<RefCell<Vec<u64>>> = Rc::default();
    for i in 0..a.sockets {
        let token = join(json!({"name": format!("viewer {i}")})).await?;
        let mut framed = connect(token).await?;
        let lat = latencies.clone();
        actix_rt::spawn(async move {
            while let Some(Ok(frame)) = framed.next().await {
                match frame {
                    Frame::Text(t) => {
                        let Ok(v) = serde_json::from_slice::<Value>(&t) else {
                            continue;
                        };
                        if v["type"] == "chat.message" {
                            if let Some(sent) = v["message"]["body"]
                                .as_str()
                                .and_then(|b| b.parse::<u64>().ok())
                            {
                                let now = start.elapsed().as_micros() as u64;
                                lat.borrow_mut().push(now.saturating_sub(sent));
                            }
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
    println!(
        "chat_fanout: {} sockets connected in {:.1} s",
        a.sockets,
        start.elapsed().as_secs_f64()
    );

    let mut sender = connect(presenter).await?;
    let gap = Duration::from_secs_f64(1.0 / a.rate.max(0.1));
    let sending = Instant::now();
    for _ in 0..a.messages {
        let body = start.elapsed().as_micros().to_string();
        sender
            .send(Message::Text(
                json!({"type": "chat.send", "body": body})
                    .to_string()
                    .into(),
            ))
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::sleep(gap).await;
    }
    let expected = a.sockets * a.messages;
    let deadline = Instant::now() + Duration::from_secs(60);
    while latencies.borrow().len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut l = latencies.borrow().clone();
    let elapsed = sending.elapsed().as_secs_f64();
    if l.len() < expected {
        return Err(format!("only {} of {expected} deliveries arrived", l.len()));
    }
    l.sort_unstable();
    let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)] as f64 / 1000.0;
    println!(
        "chat_fanout: sockets={} messages={} rate={}/s deliveries={} in {:.1} s",
        a.sockets,
        a.messages,
        a.rate,
        l.len(),
        elapsed
    );
    println!(
        "chat_fanout: delivery latency p50={:.2} ms p99={:.2} ms max={:.2} ms",
        pct(0.50),
        pct(0.99),
        *l.last().unwrap() as f64 / 1000.0
    );
    Ok(())
}
