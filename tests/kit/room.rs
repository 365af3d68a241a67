//! Rooms and the people in them, as a test meets them:
//! `let room = app.room().await;` then `room.presenter()`,
//! `room.moderator()` or `room.attendee("Bob")`, each a participant whose
//! token goes with its REST calls (paths relative to the room) and its
//! socket.

use awc::http::Method;
use podium::domain::Role;
use serde_json::{json, Value};

use super::ws::Ws;
use super::{sdp, Api, Resp};

/// A room as its creator got it: the slug and both keys.
pub struct Room {
    api: Api,
    pub slug: String,
    pub host_key: String,
    pub moderator_key: String,
}

impl Room {
    pub(super) fn created(api: &Api, body: &Value) -> Room {
        Room {
            api: api.clone(),
            slug: body["slug"].as_str().unwrap().to_owned(),
            host_key: body["host_key"].as_str().unwrap().to_owned(),
            moderator_key: body["moderator_key"].as_str().unwrap().to_owned(),
        }
    }

    /// `/api/rooms/{slug}` followed by `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/api/rooms/{}{rest}", self.slug)
    }

    /// The same room through another server (a node of a cluster).
    pub fn on(&self, api: &Api) -> Room {
        Room {
            api: api.clone(),
            slug: self.slug.clone(),
            host_key: self.host_key.clone(),
            moderator_key: self.moderator_key.clone(),
        }
    }

    /// The public card, as anyone gets it.
    pub async fn card(&self) -> Resp {
        self.api.get(&self.path(""), None).await
    }

    /// A join with `body`, whatever the server answers.
    pub async fn join(&self, body: Value) -> Resp {
        self.api.post(&self.path("/join"), None, &body).await
    }

    /// A join with `body` that must succeed: the participant it made.
    pub async fn joined(&self, body: Value) -> Participant {
        let r = self.join(body).await;
        assert_eq!(r.status, 200, "join: {}", r.body);
        let p = &r.body["participant"];
        Participant {
            api: self.api.clone(),
            slug: self.slug.clone(),
            token: r.body["token"].as_str().unwrap().to_owned(),
            id: p["id"].as_i64().unwrap(),
            name: p["name"].as_str().unwrap().to_owned(),
            role: p["role"].as_str().unwrap().parse().unwrap(),
        }
    }

    /// Ada, with the host key.
    pub async fn presenter(&self) -> Participant {
        self.joined(json!({"name": "Ada", "key": self.host_key}))
            .await
    }

    /// Mo, with the moderator key.
    pub async fn moderator(&self) -> Participant {
        self.joined(json!({"name": "Mo", "key": self.moderator_key}))
            .await
    }

    /// `name`, with no key (and no password).
    pub async fn attendee(&self, name: &str) -> Participant {
        self.joined(json!({"name": name})).await
    }
}

/// Someone who joined a room: who the server says they are, and their
/// token.
#[derive(Clone)]
pub struct Participant {
    api: Api,
    slug: String,
    pub token: String,
    pub id: i64,
    pub name: String,
    pub role: Role,
}

impl Participant {
    /// The same participant, token and all, on another server on the same
    /// database (a restart).
    pub fn on(&self, api: &Api) -> Participant {
        Participant {
            api: api.clone(),
            slug: self.slug.clone(),
            token: self.token.clone(),
            id: self.id,
            name: self.name.clone(),
            role: self.role,
        }
    }

    /// `/api/rooms/{slug}` followed by `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/api/rooms/{}{rest}", self.slug)
    }

    /// `method` on the room's `rest` with this participant's token.
    pub async fn call(&self, method: Method, rest: &str, body: Option<&Value>) -> Resp {
        let req = self
            .api
            .request(method, &self.path(rest), Some(&self.token));
        self.api.send(req, body).await
    }

    pub async fn get(&self, rest: &str) -> Resp {
        self.call(Method::GET, rest, None).await
    }

    pub async fn post(&self, rest: &str, body: Value) -> Resp {
        self.call(Method::POST, rest, Some(&body)).await
    }

    pub async fn patch(&self, rest: &str, body: Value) -> Resp {
        self.call(Method::PATCH, rest, Some(&body)).await
    }

    pub async fn put(&self, rest: &str) -> Resp {
        self.call(Method::PUT, rest, None).await
    }

    pub async fn put_json(&self, rest: &str, body: Value) -> Resp {
        self.call(Method::PUT, rest, Some(&body)).await
    }

    pub async fn delete(&self, rest: &str) -> Resp {
        self.call(Method::DELETE, rest, None).await
    }

    /// Connects as a client does after its socket closed: again and again
    /// (every 200 ms, for up to `within`) until a welcome arrives.
    pub async fn reconnect(&self, within: std::time::Duration) -> (Ws, Value) {
        let until = std::time::Instant::now() + within;
        loop {
            let mut ws = Ws::open(&self.api, &self.slug).await;
            ws.send(json!({"type": "hello", "token": self.token})).await;
            while let Ok(frame) = ws.next().await {
                if frame["type"] == "welcome" {
                    return (ws, frame);
                }
            }
            assert!(
                std::time::Instant::now() < until,
                "no welcome within {within:?}"
            );
            actix_rt::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// A socket that said hello with this token, and its welcome, which
    /// must greet this very participant.
    pub async fn ws(&self) -> (Ws, Value) {
        let (ws, welcome) = Ws::join(&self.api, &self.slug, &self.token).await;
        let me = &welcome["participant"];
        assert_eq!(
            (&me["id"], &me["name"], &me["role"]),
            (
                &json!(self.id),
                &json!(self.name),
                &json!(self.role.as_str())
            ),
            "the welcome is for this participant"
        );
        (ws, welcome)
    }

    /// POSTs `sdp` to the room's `rest` (WHIP or WHEP) with this token:
    /// status, Location and body.
    pub async fn post_sdp(&self, rest: &str, sdp: String) -> (u16, Option<String>, String) {
        sdp::post(&self.api, &self.path(rest), Some(&self.token), sdp).await
    }

    /// A WHEP session from a peer that never answers (enough for
    /// signalling): its Location.
    pub async fn whep(&self) -> String {
        let (status, location, body) = self.post_sdp("/whep", sdp::offer(&sdp::AV_RECV)).await;
        assert_eq!(status, 201, "whep: {body}");
        location.expect("WHEP gives a Location")
    }
}
