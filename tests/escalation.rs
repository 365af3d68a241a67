//! Role escalation, generated from the server's own route table
//! (`podium::http::route_table::API_ROUTES`) and WebSocket frame list
//! (`podium::live::protocol::KINDS`): every route and frame is tried by
//! every caller who must be refused, one test each, and must answer with
//! the right code and change nothing. Each also has a test that the
//! rightful caller succeeds with the same request, so a refusal is the
//! credential's doing and not a malformed call. A route or frame this file
//! does not know how to call fails its tests until it is taught.

// The tests' kit; this binary uses part of it.
#[allow(dead_code, unused_imports)]
#[path = "kit/mod.rs"]
mod kit;

use std::time::Duration;

use awc::http::Method;
use diesel::prelude::*;
use kit::{ws::Ws, Api, Participant, TestDb};
use libtest_mimic::{Arguments, Trial};
use podium::domain::{Action, Role};
use podium::http::route_table::{Access, ApiRoute, API_ROUTES};
use podium::live::protocol::KINDS;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    /// The weakest caller the route is for.
    Rightful,
    Attendee,
    Moderator,
    /// An attendee who does not own the media session in the path.
    OtherAttendee,
    /// The presenter of another room.
    OtherRoom,
    /// An attendee who was kicked.
    Kicked,
    /// The rightful caller, after the room ended.
    Ended,
    /// A token of the right shape that was never issued.
    Forged,
    /// The rightful caller's token, cut short.
    Truncated,
    Missing,
}

const ATTACKERS: [Caller; 9] = [
    Caller::Attendee,
    Caller::Moderator,
    Caller::OtherAttendee,
    Caller::OtherRoom,
    Caller::Kicked,
    Caller::Ended,
    Caller::Forged,
    Caller::Truncated,
    Caller::Missing,
];

impl Caller {
    fn describe(self) -> &'static str {
        match self {
            Caller::Rightful => "succeeds for the rightful caller",
            Caller::Attendee => "refused to an attendee",
            Caller::Moderator => "refused to a moderator",
            Caller::OtherAttendee => "refused to another attendee",
            Caller::OtherRoom => "refused to another room's presenter",
            Caller::Kicked => "refused to a kicked attendee",
            Caller::Ended => "refused after the room ended",
            Caller::Forged => "refused to a forged token",
            Caller::Truncated => "refused to a truncated token",
            Caller::Missing => "refused without a token",
        }
    }
}

/// What `caller` must get from `route`: `None` when the caller is not an
/// attacker of this route (an attendee reading chat, say).
fn refusal(route: &ApiRoute, caller: Caller) -> Option<(u16, &'static str)> {
    use Access::*;
    let access = route.access;
    match caller {
        Caller::Rightful => None,
        Caller::Forged
        | Caller::Truncated
        | Caller::OtherRoom
        | Caller::Kicked
        | Caller::Missing => Some((401, "unauthorized")),
        // Sessions end with the room: a DELETE of one that already ended
        // is its owner's success (clients may close first and DELETE
        // after), while there is nothing left to trickle to.
        Caller::Ended if access == SessionOwner && route.method == "DELETE" => None,
        Caller::Ended if access == SessionOwner => Some((404, "not_found")),
        // Reads stay open after the end: the report is made of them.
        Caller::Ended => route.writes.then_some((410, "room_ended")),
        Caller::Attendee => matches!(access, Moderator | Report | Presenter | Publisher)
            .then_some((403, "forbidden")),
        Caller::Moderator if matches!(access, Presenter | Publisher) => Some((403, "forbidden")),
        // Someone else's media session is not revealed to exist.
        Caller::Moderator | Caller::OtherAttendee if access == SessionOwner => {
            Some((404, "not_found"))
        }
        Caller::Moderator | Caller::OtherAttendee => None,
    }
}

/// Whether `caller` is no attacker of `route` but still gets a test of its
/// own: the owner's DELETE of a session the room's end already ended.
fn succeeds_anyway(route: &ApiRoute, caller: Caller) -> bool {
    caller == Caller::Ended && route.access == Access::SessionOwner && route.method == "DELETE"
}

/// One room with a participant of every kind and something of everything.
struct Scene {
    slug: String,
    room_id: i64,
    presenter: Participant,
    moderator: Participant,
    attendee: Participant,
    other_attendee: Participant,
    kicked: Participant,
    message: i64,
    question: i64,
    /// An open poll.
    poll: i64,
    /// The attendee's WHEP session, as its Location.
    session: String,
    /// A recording of the room (its row; the file is not needed).
    recording: i64,
}

/// A trial's view of the server the trials share: a client of its own
/// (made in the trial's runtime) and the shared database.
struct App {
    api: Api,
    db_url: String,
}

impl std::ops::Deref for App {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl App {
    fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.db_url).expect("connect to the test database")
    }
}

async fn scene(app: &App) -> Scene {
    let room = app.room().await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let attendee = room.attendee("Bea").await;
    let other_attendee = room.attendee("Cy").await;
    let kicked = room.attendee("Dee").await;
    let r = moderator
        .post(&format!("/participants/{}/kick", kicked.id), json!({}))
        .await;
    assert_eq!(r.status, 204, "kick: {}", r.body);
    let r = attendee.post("/messages", json!({"body": "hello"})).await;
    assert_eq!(r.status, 201, "chat: {}", r.body);
    let message = r.body["id"].as_i64().unwrap();
    let r = attendee.post("/questions", json!({"body": "why?"})).await;
    assert_eq!(r.status, 201, "ask: {}", r.body);
    let question = r.body["id"].as_i64().unwrap();
    let r = other_attendee
        .put(&format!("/questions/{question}/vote"))
        .await;
    assert_eq!(r.status, 200, "vote: {}", r.body);
    let r = moderator
        .post(
            "/polls",
            json!({"question": "Which?", "options": ["this", "that"]}),
        )
        .await;
    assert_eq!(r.status, 201, "poll: {}", r.body);
    let poll = r.body["id"].as_i64().unwrap();
    let r = moderator
        .patch(&format!("/polls/{poll}"), json!({"status": "open"}))
        .await;
    assert_eq!(r.status, 200, "open the poll: {}", r.body);
    // The attendee has a hand up and an invitation on stage.
    let r = attendee.post("/hand", json!({})).await;
    assert_eq!(r.status, 200, "hand: {}", r.body);
    let r = moderator
        .post("/stage", json!({"participant_id": attendee.id}))
        .await;
    assert_eq!(r.status, 200, "invite: {}", r.body);
    let session = attendee.whep().await;
    let room_id = room_id(app, &room.slug);
    let recording = podium::store::recordings::insert(
        &mut app.conn(),
        &podium::store::recordings::NewRecording {
            room_id,
            participant_id: Some(presenter.id),
            source: "camera",
            started_at: chrono::Utc::now(),
            content_type: "video/webm",
            file: "none.webm",
            url_key: "key",
        },
    )
    .unwrap();
    podium::store::recordings::finish(
        &mut app.conn(),
        recording,
        "complete",
        chrono::Utc::now(),
        1000,
        10,
    )
    .unwrap();
    Scene {
        slug: room.slug,
        room_id,
        presenter,
        moderator,
        attendee,
        other_attendee,
        kicked,
        message,
        question,
        poll,
        session,
        recording,
    }
}

fn room_id(app: &App, slug: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    diesel::sql_query("SELECT id FROM rooms WHERE slug = $1")
        .bind::<diesel::sql_types::Text, _>(slug)
        .get_result::<Id>(&mut app.conn())
        .unwrap()
        .id
}

/// Everything stored about the room, and whether its media session lives.
async fn fingerprint(app: &App, s: &Scene) -> String {
    #[derive(QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Text)]
        text: String,
    }
    let stored = diesel::sql_query(
        "SELECT concat_ws(' | ',
           (SELECT json_agg(r)::text FROM (SELECT status, title, chat_enabled, questions_enabled,
              anonymous_questions, questions_need_approval, max_participants, ended_at, live_since
              FROM rooms WHERE id = $1) r),
           (SELECT json_agg(p ORDER BY p.id)::text FROM (SELECT id, name, role, token_hash, kicked_at,
              hand_raised_at, invited_at FROM participants WHERE room_id = $1) p),
           (SELECT json_agg(m ORDER BY m.id)::text FROM (SELECT id, participant_id, body, deleted_at
              FROM messages WHERE room_id = $1) m),
           (SELECT json_agg(q ORDER BY q.id)::text FROM (SELECT id, body, votes, pinned, hidden,
              approved, answered, answer FROM questions WHERE room_id = $1) q),
           (SELECT json_agg(v ORDER BY v.question_id, v.participant_id)::text FROM
              (SELECT v.question_id, v.participant_id FROM question_votes v
               JOIN questions q ON q.id = v.question_id WHERE q.room_id = $1) v),
           (SELECT json_agg(p ORDER BY p.id)::text FROM (SELECT id, question, options, status
              FROM polls WHERE room_id = $1) p),
           (SELECT json_agg(v ORDER BY v.poll_id, v.participant_id)::text FROM
              (SELECT v.* FROM poll_votes v JOIN polls p ON p.id = v.poll_id
               WHERE p.room_id = $1) v),
           (SELECT json_agg(r ORDER BY r.minute, r.emoji)::text FROM
              (SELECT * FROM reaction_counts WHERE room_id = $1) r)
         ) AS text",
    )
    .bind::<diesel::sql_types::BigInt, _>(s.room_id)
    .get_result::<Text>(&mut app.conn())
    .unwrap()
    .text;
    let req = app.request(Method::PATCH, &s.session, Some(&s.attendee.token));
    let status = trickle(app, req).await.status;
    format!("{stored} | media session answers {status}")
}

/// A trickle PATCH: what the media session routes answer to.
async fn trickle(app: &App, req: awc::ClientRequest) -> kit::Resp {
    app.send_body(
        req,
        "application/trickle-ice-sdpfrag",
        "a=end-of-candidates\r\n",
    )
    .await
}

/// Ends the scene's room (its media sessions end with it).
async fn end(s: &Scene) {
    let r = s.presenter.delete("").await;
    assert_eq!(r.status, 200, "end: {}", r.body);
}

/// The request that exercises `route` on scene `s`: path and body.
enum Body {
    None,
    Json(Value),
    Sdp(String),
    Trickle,
}

fn call_for(route: &ApiRoute, s: &Scene) -> (String, Body) {
    let session_id = s.session.rsplit('/').next().unwrap().to_owned();
    let path = route
        .path
        .replace("{slug}", &s.slug)
        .replace("messages/{id}", &format!("messages/{}", s.message))
        .replace("questions/{id}", &format!("questions/{}", s.question))
        .replace("polls/{id}", &format!("polls/{}", s.poll))
        .replace("recordings/{id}", &format!("recordings/{}", s.recording))
        .replace("hands/{id}", &format!("hands/{}", s.attendee.id))
        .replace("stage/{id}", &format!("stage/{}", s.attendee.id))
        .replace(
            "participants/{id}",
            &format!("participants/{}", s.other_attendee.id),
        )
        .replace("media/{id}", &format!("media/{session_id}"))
        // Only OPTIONS is tried here (the stream's URL is its own
        // credential: tests/api/media_http.rs tries a wrong one).
        .replace("{secret}", "not-the-secret");
    assert!(
        !path.contains('{'),
        "{} {}: teach tests/escalation.rs what to put in this path",
        route.method,
        route.path
    );
    let body = match (route.method, route.path) {
        ("PATCH", "/api/rooms/{slug}") => Body::Json(json!({"settings": {"chat_enabled": false}})),
        ("POST", "/api/rooms/{slug}/messages") => Body::Json(json!({"body": "let me in"})),
        ("POST", "/api/rooms/{slug}/questions") => Body::Json(json!({"body": "may I?"})),
        ("PATCH", "/api/rooms/{slug}/questions/{id}") => {
            Body::Json(json!({"pinned": true, "hidden": true, "answer": "no"}))
        }
        ("POST", "/api/rooms/{slug}/polls") => {
            Body::Json(json!({"question": "Again?", "options": ["yes", "no"]}))
        }
        ("PATCH", "/api/rooms/{slug}/polls/{id}") => Body::Json(json!({"status": "closed"})),
        ("PUT", "/api/rooms/{slug}/polls/{id}/vote") => Body::Json(json!({"options": [1]})),
        ("POST", "/api/rooms/{slug}/reactions") => Body::Json(json!({"emoji": "👏"})),
        ("POST", "/api/rooms/{slug}/stage") => {
            Body::Json(json!({"participant_id": s.other_attendee.id}))
        }
        ("POST", "/api/rooms/{slug}/whip") => Body::Sdp(kit::sdp::offer(&kit::sdp::AV_SEND)),
        ("POST", "/api/rooms/{slug}/whep") => Body::Sdp(kit::sdp::offer(&kit::sdp::AV_RECV)),
        ("PATCH", "/api/rooms/{slug}/media/{id}") => Body::Trickle,
        ("POST", "/api/rooms/{slug}/media/{id}/layer") => Body::Json(json!({})),
        ("POST", "/api/rooms/{slug}/media/{id}/events") => Body::Json(json!(["layers"])),
        ("DELETE", "/api/rooms/{slug}")
        | ("GET", "/api/rooms/{slug}/me")
        | ("GET", "/api/rooms/{slug}/messages")
        | ("DELETE", "/api/rooms/{slug}/messages/{id}")
        | ("GET", "/api/rooms/{slug}/questions")
        | ("PUT", "/api/rooms/{slug}/questions/{id}/vote")
        | ("DELETE", "/api/rooms/{slug}/questions/{id}/vote")
        | ("GET", "/api/rooms/{slug}/stats")
        | ("GET", "/api/rooms/{slug}/stats.csv")
        | ("GET", "/api/rooms/{slug}/questions.csv")
        | ("GET", "/api/rooms/{slug}/participants.csv")
        | ("GET", "/api/rooms/{slug}/chat.csv")
        | ("GET", "/api/rooms/{slug}/polls")
        | ("GET", "/api/rooms/{slug}/polls.csv")
        | ("DELETE", "/api/rooms/{slug}/polls/{id}")
        | ("DELETE", "/api/rooms/{slug}/data")
        | ("GET", "/api/rooms/{slug}/recordings")
        | ("DELETE", "/api/rooms/{slug}/recordings/{id}")
        | ("GET", "/api/rooms/{slug}/replay")
        | ("POST", "/api/rooms/{slug}/hand")
        | ("DELETE", "/api/rooms/{slug}/hand")
        | ("GET", "/api/rooms/{slug}/hands")
        | ("DELETE", "/api/rooms/{slug}/hands/{id}")
        | ("GET", "/api/rooms/{slug}/stage")
        | ("POST", "/api/rooms/{slug}/stage/accept")
        | ("POST", "/api/rooms/{slug}/stage/decline")
        | ("DELETE", "/api/rooms/{slug}/stage/{id}")
        | ("DELETE", "/api/rooms/{slug}/media/{id}")
        | ("OPTIONS", _) => Body::None,
        ("POST", "/api/rooms/{slug}/messages/{id}/promote")
        | ("POST", "/api/rooms/{slug}/participants/{id}/kick") => Body::Json(json!({})),
        (m, p) => panic!("{m} {p}: teach tests/escalation.rs how to call this route"),
    };
    (path, body)
}

/// The credential `caller` presents to `route` in `s` (`other` is another
/// room's scene).
fn token_for(route: &ApiRoute, caller: Caller, s: &Scene, other: &Scene) -> Option<String> {
    let rightful = match route.access {
        Access::Anyone | Access::Participant | Access::Socket | Access::SessionOwner => &s.attendee,
        Access::Moderator | Access::Report | Access::Replay => &s.moderator,
        Access::Presenter | Access::Publisher => &s.presenter,
    };
    Some(match caller {
        Caller::Rightful | Caller::Ended => rightful.token.clone(),
        Caller::Attendee => s.attendee.token.clone(),
        Caller::Moderator => s.moderator.token.clone(),
        Caller::OtherAttendee => s.other_attendee.token.clone(),
        Caller::OtherRoom => other.presenter.token.clone(),
        Caller::Kicked => s.kicked.token.clone(),
        // Made as tokens are, never issued.
        Caller::Forged => podium::secrets::new_token(),
        Caller::Truncated => rightful.token[..rightful.token.len() - 4].to_owned(),
        Caller::Missing => return None,
    })
}

async fn send(
    app: &App,
    route: &ApiRoute,
    path: &str,
    token: Option<&str>,
    body: Body,
) -> kit::Resp {
    let req = app.request(route.method(), path, token);
    match body {
        Body::None => app.send(req, None).await,
        Body::Json(v) => app.send(req, Some(&v)).await,
        Body::Sdp(sdp) => app.send_body(req, "application/sdp", sdp).await,
        Body::Trickle => trickle(app, req).await,
    }
}

async fn http_case(app: App, route: &'static ApiRoute, caller: Caller) {
    let s = scene(&app).await;
    let other = scene(&app).await;
    if caller == Caller::Ended {
        end(&s).await;
    }
    // Erasing needs a room that ended.
    if caller == Caller::Rightful && route.path.ends_with("/data") {
        end(&s).await;
    }
    if caller == Caller::Rightful && route.method == "DELETE" && route.path.ends_with("/vote") {
        // Take back a vote the caller did cast.
        let r = s
            .attendee
            .put(&format!("/questions/{}/vote", s.question))
            .await;
        assert_eq!(r.status, 200);
    }
    let token = token_for(route, caller, &s, &other);
    let (path, body) = call_for(route, &s);
    let before = fingerprint(&app, &s).await;
    let r = send(&app, route, &path, token.as_deref(), body).await;
    match refusal(route, caller) {
        None => {
            assert!(
                r.status.is_success(),
                "{} {path}: {} {}",
                route.method,
                r.status,
                r.body
            );
        }
        Some((status, code)) => {
            assert_eq!(
                (r.status.as_u16(), r.code()),
                (status, code),
                "{} {path}: {}",
                route.method,
                r.body
            );
            let after = fingerprint(&app, &s).await;
            assert_eq!(before, after, "the refused call changed something");
        }
    }
}

/// OPTIONS says what a URL accepts to anyone (browsers send preflights
/// without credentials) and touches nothing.
async fn options_case(app: App, route: &'static ApiRoute) {
    let s = scene(&app).await;
    let (path, _) = call_for(route, &s);
    let before = fingerprint(&app, &s).await;
    let r = send(&app, route, &path, None, Body::None).await;
    assert_eq!(r.status, 204, "OPTIONS {path}: {}", r.body);
    assert_eq!(
        before,
        fingerprint(&app, &s).await,
        "OPTIONS changed something"
    );
}

/// A `hello` on the room's socket with the caller's token.
async fn hello_case(app: App, caller: Caller) {
    let s = scene(&app).await;
    let other = scene(&app).await;
    if caller == Caller::Ended {
        end(&s).await;
    }
    let ws_route = API_ROUTES.iter().find(|r| r.path.ends_with("/ws")).unwrap();
    let token = token_for(ws_route, caller, &s, &other).unwrap_or_default();
    let before = fingerprint(&app, &s).await;
    let mut ws = Ws::open(&app, &s.slug).await;
    ws.send(json!({"type": "hello", "token": token})).await;
    let first = ws.next().await;
    if caller == Caller::Rightful {
        assert_eq!(first.expect("a welcome")["type"], "welcome");
        return;
    }
    let first = first.expect("an error frame before the close");
    let expected = if caller == Caller::Ended {
        "room_ended"
    } else {
        "unauthorized"
    };
    assert_eq!(
        (first["type"].as_str(), first["code"].as_str()),
        (Some("error"), Some(expected)),
        "{first}"
    );
    assert!(ws.closed().await.is_some(), "the socket is closed");
    assert_eq!(before, fingerprint(&app, &s).await);
}

/// A frame a participant of `role` may not send, or (`rightful`) one the
/// weakest allowed role sends.
async fn frame_case(app: App, kind: &'static str, action: Action, role: Role) {
    let s = scene(&app).await;
    let who = match role {
        Role::Attendee => &s.attendee,
        Role::Moderator => &s.moderator,
        Role::Presenter => &s.presenter,
        Role::Speaker => unreachable!("the frames are tried by attendees, moderators, presenters"),
    };
    let mut frame = match kind {
        "chat.send" => json!({"body": "hi"}),
        "chat.delete" | "chat.promote" => json!({"id": s.message}),
        "question.ask" => json!({"body": "how?"}),
        "question.vote" | "question.unvote" => json!({"id": s.question}),
        "question.update" => json!({"id": s.question, "pinned": true, "hidden": true}),
        "room.update" => json!({"settings": {"questions_enabled": false}}),
        "participant.kick" => json!({"id": s.other_attendee.id}),
        "room.end" => json!({}),
        "poll.create" => json!({"question": "Again?", "options": ["yes", "no"]}),
        "poll.update" => json!({"id": s.poll, "status": "closed"}),
        "poll.vote" => json!({"id": s.poll, "options": [0]}),
        "poll.delete" => json!({"id": s.poll}),
        "reaction" => json!({"emoji": "🎉"}),
        "hand.raise" | "stage.accept" | "stage.decline" => json!({}),
        "stage.invite" => json!({"id": s.other_attendee.id}),
        other => panic!("{other}: teach tests/escalation.rs how to send this frame"),
    };
    frame["type"] = kind.into();
    frame["ref"] = "r1".into();
    let (mut ws, _) = who.ws().await;
    let before = fingerprint(&app, &s).await;
    ws.send(frame).await;
    let reply = loop {
        let v = ws.recv().await;
        if v["ref"] == "r1" {
            break v;
        }
    };
    if role.can(action) {
        assert_eq!(reply["type"], "ack", "{kind} by a {role}: {reply}");
    } else {
        assert_eq!(
            (reply["type"].as_str(), reply["code"].as_str()),
            (Some("error"), Some("forbidden")),
            "{kind} by a {role}: {reply}"
        );
        // Let anything wrongly started land before looking.
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            before,
            fingerprint(&app, &s).await,
            "{kind} by a {role} changed something"
        );
    }
}

fn weakest_allowed(action: Action) -> Role {
    [Role::Attendee, Role::Moderator, Role::Presenter]
        .into_iter()
        .find(|r| r.can(action))
        .expect("someone may do it")
}

fn main() {
    let args = Arguments::from_args();
    let db = TestDb::new();
    let base = kit::serve_in_background(&db);
    let mut trials = Vec::new();
    // Each test makes its client inside its own runtime.
    let app = |db: &TestDb| {
        let (base, db_url) = (base.clone(), db.url.clone());
        move || App {
            api: Api::new(base),
            db_url,
        }
    };
    for route in API_ROUTES {
        if route.access == Access::Anyone {
            if route.method == "OPTIONS" {
                let app = app(&db);
                let name = format!("OPTIONS {} answers without a token", route.path);
                trials.push(Trial::test(name, move || {
                    actix_rt::System::new().block_on(options_case(app(), route));
                    Ok(())
                }));
            }
            continue;
        }
        let is_ws = route.path.ends_with("/ws");
        for caller in std::iter::once(Caller::Rightful).chain(ATTACKERS) {
            if caller != Caller::Rightful
                && !is_ws
                && refusal(route, caller).is_none()
                && !succeeds_anyway(route, caller)
            {
                continue;
            }
            if is_ws
                && matches!(
                    caller,
                    Caller::Attendee | Caller::Moderator | Caller::OtherAttendee
                )
            {
                continue;
            }
            let name = format!(
                "{} {} {}",
                route.method,
                route.path,
                if is_ws && caller != Caller::Rightful {
                    caller.describe().replace("refused", "hello refused")
                } else if succeeds_anyway(route, caller) {
                    "succeeds for its owner after the room ended".to_owned()
                } else {
                    caller.describe().to_owned()
                }
            );
            let app = app(&db);
            trials.push(Trial::test(name, move || {
                actix_rt::System::new().block_on(async move {
                    if is_ws {
                        hello_case(app(), caller).await
                    } else {
                        http_case(app(), route, caller).await
                    }
                });
                Ok(())
            }));
        }
    }
    for &(kind, action) in KINDS {
        let Some(action) = action else { continue };
        let allowed = weakest_allowed(action);
        let mut roles = vec![allowed];
        roles.extend(
            [Role::Attendee, Role::Moderator]
                .into_iter()
                .filter(|r| !r.can(action)),
        );
        for role in roles {
            let what = if role.can(action) {
                "succeeds for".to_owned()
            } else {
                "refused to".to_owned()
            };
            let name = format!("ws {kind} {what} a {role}");
            let app = app(&db);
            trials.push(Trial::test(name, move || {
                actix_rt::System::new().block_on(frame_case(app(), kind, action, role));
                Ok(())
            }));
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    drop(db);
    conclusion.exit();
}
