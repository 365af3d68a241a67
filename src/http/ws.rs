//! GET /api/rooms/{slug}/ws: one task per socket. It authenticates the
//! `hello`, then pumps frames between the socket and the room's task.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use futures_util::StreamExt;
use governor::{Quota, RateLimiter};
use serde_json::Value;

use super::auth::authenticate;
use super::context::AppContext;
use crate::domain::Slug;
use crate::http::error::ApiError;
use crate::live::protocol::{self, ClientFrame, Close, ServerFrame};
use crate::live::{Act, Done, Member, RoomError};
use tracing::Instrument;

const HELLO_WITHIN: Duration = Duration::from_secs(5);
/// A socket silent for this many ping intervals (no pong, no frame) is dead.
const DEAD_AFTER_PINGS: u32 = 3;
/// Largest text frame we read; the contract's longest text fits with room.
pub const MAX_FRAME: usize = 32 * 1024;

pub async fn ws(
    req: HttpRequest,
    body: web::Payload,
    ctx: web::Data<AppContext>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = Slug::parse(&slug)?;
    let (res, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::InvalidInput(format!("expected a WebSocket upgrade: {e}")))?;
    // Frames up to 1 MiB are read so an oversize one can be answered with
    // an error instead of a broken connection; MAX_FRAME is enforced below.
    let stream = stream
        .max_frame_size(1 << 20)
        .aggregate_continuations()
        .max_continuation_size(1 << 20);
    // One span per socket: its events carry the room and, after hello,
    // the participant (set by `authenticate`).
    let span = tracing::info_span!(
        "ws",
        slug = %slug.as_str(),
        participant = tracing::field::Empty
    );
    actix_web::rt::spawn(run(ctx.into_inner(), slug, session, stream).instrument(span));
    Ok(res)
}

async fn close(session: Session, code: u16, why: &str) {
    tracing::info!(code, why, "socket closed");
    let _ = session
        .close(Some(CloseReason {
            code: CloseCode::Other(code),
            description: Some(why.to_owned()),
        }))
        .await;
}

/// The answer to a frame over MAX_FRAME, before and after hello alike.
fn too_large() -> String {
    error_frame(
        "too_large",
        &format!("frames are at most {MAX_FRAME} bytes"),
        None,
    )
}

fn error_frame(code: &'static str, message: &str, reference: Option<Value>) -> String {
    ServerFrame::error(code, message, reference)
        .text()
        .to_string()
}

async fn run(
    ctx: Arc<AppContext>,
    slug: Slug,
    mut session: Session,
    mut stream: AggregatedMessageStream,
) {
    let Some((member, room_id)) = await_hello(&ctx, &slug, &mut session, &mut stream).await else {
        return;
    };
    // Join the room's fan-out and get the snapshot.
    let connected = match ctx.hub.connect(room_id, member.clone()).await {
        Ok(c) => c,
        Err(e) => {
            // A room moving between nodes, or out of reach for a moment:
            // the client comes back (1012); anything else is final.
            let again = matches!(e, RoomError::Moved | RoomError::Unavailable);
            let e = ApiError::from(e);
            let _ = session
                .text(error_frame(e.code(), &e.to_string(), None))
                .await;
            let code = if again {
                Close::Restarting
            } else {
                Close::Normal
            };
            close(session, code.code(), "room unavailable").await;
            return;
        }
    };
    let conn_id = connected.conn_id;
    if session.text(&*connected.welcome).await.is_err() {
        ctx.hub.disconnect(room_id, conn_id);
        return;
    }
    // The socket's span (made in `ws`) already carries the room and the
    // participant. Never hold an entered span across an await here: the
    // worker thread would log other requests inside it.
    let session_open = pump(
        &ctx,
        room_id,
        &member,
        &mut session,
        stream,
        connected.outlet,
    )
    .await;
    ctx.hub.disconnect(room_id, conn_id);
    if session_open {
        close(session, Close::Normal.code(), "bye").await;
    }
}

/// The first frame must be a hello with a live token, within 5 s: gives
/// the member and their room, or `None` once the socket is closed.
async fn await_hello(
    ctx: &AppContext,
    slug: &Slug,
    session: &mut Session,
    stream: &mut AggregatedMessageStream,
) -> Option<(Member, i64)> {
    let deadline = tokio::time::sleep(HELLO_WITHIN);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => {
                close(session.clone(), Close::NoHello.code(), Close::NoHello.reason()).await;
                return None;
            }
            msg = stream.next() => match msg {
                Some(Ok(AggregatedMessage::Text(t))) if t.len() > MAX_FRAME => {
                    session.text(too_large()).await.ok()?;
                }
                Some(Ok(AggregatedMessage::Text(t))) => match protocol::parse(&t) {
                    Ok(p) => match p.frame {
                        ClientFrame::Hello { token } => match hello(ctx, slug, &token).await {
                            Ok(a) => {
                                tracing::info!("socket joined");
                                let member = Member {
                                    participant_id: a.participant.id,
                                    name: a.participant.name.clone(),
                                    role: a.participant.role(),
                                };
                                return Some((member, a.room.id));
                            }
                            Err(e) => {
                                let _ = session.text(error_frame(e.code(), &e.to_string(), p.reference)).await;
                                close(session.clone(), Close::NoHello.code(), "unauthorized").await;
                                return None;
                            }
                        },
                        _ => {
                            let m = error_frame("unauthorized", "say hello with your token first", p.reference);
                            session.text(m).await.ok()?;
                        }
                    },
                    Err((why, reference)) => {
                        session.text(error_frame("invalid_input", &why, reference)).await.ok()?;
                    }
                },
                Some(Ok(AggregatedMessage::Ping(b))) => { let _ = session.pong(&b).await; }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// Frames both ways until either side ends; whether the session is still
/// open (to be closed by the caller).
async fn pump(
    ctx: &AppContext,
    room_id: i64,
    member: &Member,
    session: &mut Session,
    mut stream: AggregatedMessageStream,
    mut outlet: crate::live::Outlet,
) -> bool {
    let per_second = NonZeroU32::new(ctx.ws_sends_per_second).unwrap_or(NonZeroU32::MIN);
    let sends = RateLimiter::direct(
        Quota::per_second(per_second)
            .allow_burst(per_second.saturating_mul(NonZeroU32::new(3).unwrap())),
    );
    let mut heartbeat = tokio::time::interval(ctx.ws_ping);
    heartbeat.tick().await;
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            out = outlet.rx.recv() => match out {
                Some(t) => if session.text(&*t).await.is_err() { return true },
                None => {
                    let code = outlet.close_code();
                    close(session.clone(), code, reason(code)).await;
                    return false;
                }
            },
            msg = stream.next() => match msg {
                Some(Ok(AggregatedMessage::Text(t))) => {
                    last_heard = Instant::now();
                    let reply = on_frame(ctx, room_id, member, &sends, &t).await;
                    for frame in reply {
                        crate::metrics::ws_out(frame.kind(), 1);
                        if session.text(&*frame.text()).await.is_err() { break; }
                    }
                }
                Some(Ok(AggregatedMessage::Binary(_))) => {
                    let _ = session.text(error_frame("invalid_input", "send JSON text frames", None)).await;
                }
                Some(Ok(AggregatedMessage::Ping(b))) => {
                    last_heard = Instant::now();
                    let _ = session.pong(&b).await;
                }
                Some(Ok(AggregatedMessage::Pong(_))) => last_heard = Instant::now(),
                Some(Ok(AggregatedMessage::Close(_))) | Some(Err(_)) | None => return true,
            },
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > ctx.ws_ping * DEAD_AFTER_PINGS {
                    return true;
                }
                if session.ping(b"").await.is_err() { return true; }
            }
        }
    }
}

fn reason(code: u16) -> &'static str {
    [Close::Kicked, Close::TooSlow, Close::Restarting]
        .into_iter()
        .find(|c| c.code() == code)
        .unwrap_or(Close::Normal)
        .reason()
}

async fn hello(
    ctx: &AppContext,
    slug: &Slug,
    token: &str,
) -> Result<crate::http::auth::Authed, ApiError> {
    crate::metrics::ws_in("hello");
    authenticate(ctx, slug, token).await
}

/// Handles one text frame; returns what to send back to this socket only.
async fn on_frame(
    ctx: &AppContext,
    room_id: i64,
    member: &Member,
    sends: &governor::DefaultDirectRateLimiter,
    text: &str,
) -> Vec<ServerFrame> {
    if text.len() > MAX_FRAME {
        let why = format!("frames are at most {MAX_FRAME} bytes");
        return vec![ServerFrame::error("too_large", why, None)];
    }
    let parsed = match protocol::parse(text) {
        Ok(p) => p,
        Err((why, reference)) => {
            crate::metrics::ws_in("invalid");
            return vec![ServerFrame::error("invalid_input", why, reference)];
        }
    };
    crate::metrics::ws_in(parsed.frame.kind());
    let reference = parsed.reference;
    let act = match parsed.frame {
        ClientFrame::Ping {} => return vec![ServerFrame::Pong],
        ClientFrame::Hello { .. } => {
            let why = "already said hello";
            return vec![ServerFrame::error("invalid_input", why, reference)];
        }
        frame => match frame.into_act() {
            Ok(Some(act)) => act,
            Ok(None) => return vec![],
            Err(e) => {
                return vec![ServerFrame::error(
                    "invalid_input",
                    e.to_string(),
                    reference,
                )]
            }
        },
    };
    if sends.check().is_err() {
        crate::metrics::rate_limited("ws");
        return vec![ServerFrame::error("rate_limited", "slow down", reference)];
    }
    let poll_vote = matches!(act, Act::VotePoll { .. });
    match ctx.act(room_id, member.clone(), act).await {
        Ok(done) => {
            let mut out = Vec::new();
            // The voter learns the exact count at once; the room's
            // broadcast of it is coalesced.
            match &done {
                Done::Vote(v) => out.push(ServerFrame::QuestionVoted(*v)),
                Done::Poll(poll) if poll_vote => {
                    out.push(ServerFrame::PollVoted { poll: poll.clone() })
                }
                _ => {}
            }
            if let Some(r) = reference {
                let result = serde_json::to_value(&done).unwrap_or(Value::Null);
                out.push(ServerFrame::Ack {
                    reference: r,
                    result,
                });
            }
            out
        }
        Err(e) => vec![ServerFrame::error(e.code(), e.to_string(), reference)],
    }
}
