//! Every API route, with who may call it. The server registers its routes
//! from this table and the escalation tests attack every entry of it, so a
//! route cannot be added without saying who it is for.

use actix_web::http::Method;
use actix_web::{web, Route};

use super::{chat, export, health, join, media, moderation, questions, rooms, ws};

/// The weakest credential a route accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// Any live token of the room in the path.
    Participant,
    /// A moderator's or the presenter's token.
    Moderator,
    /// The presenter's token (for WHIP also the room's host key).
    Presenter,
    /// The participant who opened the media session in the path.
    SessionOwner,
}

pub struct ApiRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    /// Whether success changes something. Reads stay open after the room
    /// ended (the report needs them); writes then get 410.
    pub writes: bool,
    handler: fn(Route) -> Route,
}

impl ApiRoute {
    pub fn method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).expect("table methods are valid")
    }
}

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    writes: bool,
    handler: fn(Route) -> Route,
) -> ApiRoute {
    ApiRoute {
        method,
        path,
        access,
        writes,
        handler,
    }
}

use Access::*;

pub static API_ROUTES: &[ApiRoute] = &[
    route("GET", "/api/health", Anyone, false, |r| {
        r.to(health::health)
    }),
    route("POST", "/api/rooms", Anyone, true, |r| r.to(rooms::create)),
    route("GET", "/api/rooms/{slug}", Anyone, false, |r| {
        r.to(rooms::card)
    }),
    route("PATCH", "/api/rooms/{slug}", Moderator, true, |r| {
        r.to(moderation::settings)
    }),
    route("DELETE", "/api/rooms/{slug}", Presenter, true, |r| {
        r.to(moderation::end)
    }),
    route("POST", "/api/rooms/{slug}/join", Anyone, true, |r| {
        r.to(join::join)
    }),
    route("GET", "/api/rooms/{slug}/me", Participant, false, |r| {
        r.to(join::me)
    }),
    route("GET", "/api/rooms/{slug}/ws", Participant, false, |r| {
        r.to(ws::ws)
    }),
    route(
        "GET",
        "/api/rooms/{slug}/messages",
        Participant,
        false,
        |r| r.to(chat::list),
    ),
    route(
        "POST",
        "/api/rooms/{slug}/messages",
        Participant,
        true,
        |r| r.to(chat::send),
    ),
    route(
        "DELETE",
        "/api/rooms/{slug}/messages/{id}",
        Moderator,
        true,
        |r| r.to(chat::delete),
    ),
    route(
        "POST",
        "/api/rooms/{slug}/messages/{id}/promote",
        Moderator,
        true,
        |r| r.to(chat::promote),
    ),
    route(
        "GET",
        "/api/rooms/{slug}/questions",
        Participant,
        false,
        |r| r.to(questions::list),
    ),
    route(
        "POST",
        "/api/rooms/{slug}/questions",
        Participant,
        true,
        |r| r.to(questions::ask),
    ),
    route(
        "PATCH",
        "/api/rooms/{slug}/questions/{id}",
        Moderator,
        true,
        |r| r.to(questions::update),
    ),
    route(
        "PUT",
        "/api/rooms/{slug}/questions/{id}/vote",
        Participant,
        true,
        |r| r.to(questions::vote_on),
    ),
    route(
        "DELETE",
        "/api/rooms/{slug}/questions/{id}/vote",
        Participant,
        true,
        |r| r.to(questions::vote_off),
    ),
    route(
        "POST",
        "/api/rooms/{slug}/participants/{id}/kick",
        Moderator,
        true,
        |r| r.to(moderation::kick),
    ),
    route("GET", "/api/rooms/{slug}/stats", Moderator, false, |r| {
        r.to(moderation::stats)
    }),
    route(
        "GET",
        "/api/rooms/{slug}/stats.csv",
        Moderator,
        false,
        |r| r.to(export::attendance),
    ),
    route(
        "GET",
        "/api/rooms/{slug}/questions.csv",
        Moderator,
        false,
        |r| r.to(export::questions),
    ),
    route(
        "GET",
        "/api/rooms/{slug}/participants.csv",
        Moderator,
        false,
        |r| r.to(export::participants),
    ),
    route("GET", "/api/rooms/{slug}/chat.csv", Moderator, false, |r| {
        r.to(export::chat)
    }),
    route("POST", "/api/rooms/{slug}/whip", Presenter, true, |r| {
        r.to(media::whip)
    }),
    route("POST", "/api/rooms/{slug}/whep", Participant, true, |r| {
        r.to(media::whep)
    }),
    route(
        "PATCH",
        "/api/rooms/{slug}/media/{id}",
        SessionOwner,
        true,
        |r| r.to(media::trickle),
    ),
    route(
        "DELETE",
        "/api/rooms/{slug}/media/{id}",
        SessionOwner,
        true,
        |r| r.to(media::stop),
    ),
];

/// Registers the table, one resource per path in table order.
pub fn register(cfg: &mut web::ServiceConfig) {
    let mut done: Vec<&str> = Vec::new();
    for first in API_ROUTES {
        if done.contains(&first.path) {
            continue;
        }
        done.push(first.path);
        let mut resource = super::resource(first.path);
        for r in API_ROUTES.iter().filter(|r| r.path == first.path) {
            resource = resource.route((r.handler)(web::route().method(r.method())));
        }
        cfg.service(resource);
    }
}
