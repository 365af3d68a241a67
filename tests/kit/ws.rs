//! A WebSocket client for tests, on awc.

use std::time::Duration;

use actix_web::web::Bytes;
use awc::ws::{Codec, Frame, Message};
use awc::BoxedSocket;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

use super::Api;

pub struct Ws {
    framed: actix_codec::Framed<BoxedSocket, Codec>,
}

const WAIT: Duration = Duration::from_secs(10);

impl Ws {
    pub async fn open(app: &Api, slug: &str) -> Ws {
        let url = format!(
            "{}/api/rooms/{slug}/ws",
            app.base.replace("http://", "ws://")
        );
        let (_, framed) = awc::Client::new()
            .ws(url)
            .max_frame_size(1 << 20)
            .connect()
            .await
            .expect("websocket connects");
        Ws { framed }
    }

    /// Opens, says hello and returns the welcome.
    pub async fn join(app: &Api, slug: &str, token: &str) -> (Ws, Value) {
        let mut ws = Ws::open(app, slug).await;
        ws.send(json!({"type": "hello", "token": token})).await;
        let welcome = ws.recv_type("welcome").await;
        (ws, welcome)
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(v.to_string()).await;
    }

    pub async fn send_text(&mut self, t: String) {
        self.framed
            .send(Message::Text(t.into()))
            .await
            .expect("send frame");
    }

    /// The next JSON frame, or `None` when the server closed (code in `Err`).
    pub async fn next(&mut self) -> Result<Value, Option<u16>> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.framed.next())
                .await
                .expect("a frame within 10 s");
            match frame {
                Some(Ok(Frame::Text(b))) => {
                    return Ok(serde_json::from_slice(&b).expect("JSON frame"))
                }
                Some(Ok(Frame::Ping(p))) => {
                    let _ = self.framed.send(Message::Pong(p)).await;
                }
                Some(Ok(Frame::Close(reason))) => return Err(reason.map(|r| u16::from(r.code))),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Err(None),
            }
        }
    }

    pub async fn recv(&mut self) -> Value {
        match self.next().await {
            Ok(v) => v,
            Err(code) => panic!("socket closed ({code:?}) while a frame was expected"),
        }
    }

    /// Skips frames until one of type `ty` arrives.
    pub async fn recv_type(&mut self, ty: &str) -> Value {
        loop {
            let v = self.recv().await;
            if v["type"] == ty {
                return v;
            }
        }
    }

    /// Reads until the server closes; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Err(code) = self.next().await {
                return code;
            }
        }
    }

    /// Whether a frame of type `ty` arrives within `within` (others skipped).
    pub async fn gets_within(&mut self, ty: &str, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.framed.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Frame::Text(b)))) => {
                    let v: Value = serde_json::from_slice(&b).unwrap();
                    if v["type"] == ty {
                        return Some(v);
                    }
                }
                Ok(Some(Ok(Frame::Ping(p)))) => {
                    let _ = self.framed.send(Message::Pong(p)).await;
                }
                Ok(Some(Ok(_))) => {}
                Ok(_) => return None,
            }
        }
    }

    /// Every frame that arrives within `within` of the last one.
    pub async fn drain(&mut self, within: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(within, self.framed.next()).await {
            if let Frame::Text(b) = frame {
                out.push(serde_json::from_slice(&b).unwrap());
            }
        }
        out
    }

    /// Says goodbye with a close frame.
    pub async fn close(&mut self) {
        let _ = self
            .framed
            .send(Message::Close(Some(awc::ws::CloseCode::Normal.into())))
            .await;
    }

    pub async fn send_binary(&mut self, b: &'static [u8]) {
        self.framed
            .send(Message::Binary(Bytes::from_static(b)))
            .await
            .unwrap();
    }
}

/// The six reactions, in the order the storms count them.
pub const EMOJI: [&str; 6] = ["👍", "👏", "❤️", "😂", "😮", "🎉"];

/// A reaction storm: from `start`, every socket sends a reaction each
/// quarter second for `rounds` quarters (four a second, within a
/// participant's allowance), the sockets spread over the quarter; what
/// was acknowledged, per emoji, over all of them.
pub async fn reaction_storm(sockets: Vec<Ws>, start: std::time::Instant, rounds: u64) -> [u64; 6] {
    let n = sockets.len().max(1) as f64;
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, mut ws)| {
            let offset = Duration::from_secs_f64(i as f64 / n / 4.0);
            actix_rt::spawn(async move {
                let mut accepted = [0u64; 6];
                for k in 0..rounds {
                    let at = start + offset + Duration::from_millis(250 * k);
                    tokio::time::sleep_until(at.into()).await;
                    let e = (i + k as usize) % 6;
                    ws.send(json!({"type": "reaction", "emoji": EMOJI[e], "ref": k}))
                        .await;
                    loop {
                        let v = ws.recv().await;
                        if v["ref"] == k {
                            if v["type"] == "ack" {
                                accepted[e] += 1;
                            }
                            break;
                        }
                    }
                }
                accepted
            })
        })
        .collect();
    let mut accepted = [0u64; 6];
    for t in tasks {
        for (a, n) in accepted.iter_mut().zip(t.await.unwrap()) {
            *a += n;
        }
    }
    accepted
}

/// What `reactions` frames told, per emoji, added up.
pub fn reactions_told<'a>(frames: impl IntoIterator<Item = &'a Value>) -> [u64; 6] {
    let mut told = [0u64; 6];
    for f in frames {
        for (k, n) in f["counts"].as_object().expect("counts") {
            let i = EMOJI.iter().position(|e| e == k).expect("one of the six");
            told[i] += n.as_u64().unwrap();
        }
    }
    told
}

/// The most of these instants within any one second.
pub fn busiest_second(at: &[std::time::Instant]) -> usize {
    at.iter()
        .map(|t| {
            at.iter()
                .filter(|u| **u >= *t && **u < *t + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}
