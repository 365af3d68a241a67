//! Every API route, with who may call it. The server registers its routes
//! from this table and the escalation tests attack every entry of it, so a
//! route cannot be added without saying who it is for.

use actix_web::http::Method;
use actix_web::{web, Route};

use super::{chat, cors, export, health, join, layers, media, moderation, questions, rooms, ws};
use crate::config::CorsOrigins;

/// The weakest credential a route accepts; `guard.rs` enforces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// Any live token of the room in the path.
    Participant,
    /// Any live token of the room, in the socket's `hello` frame.
    Socket,
    /// A moderator's or the presenter's token.
    Moderator,
    /// A moderator's or the presenter's token, or the room's host or
    /// moderator key (the report's reads, from any browser, after the end).
    Report,
    /// The presenter's token.
    Presenter,
    /// The presenter's token or the room's host key (WHIP).
    Publisher,
    /// The participant who opened the media session in the path (the
    /// presenter and the host key: any of the room's); the guard checks
    /// the credential, the media handler the session.
    SessionOwner,
}

/// Which pages on other origins may call a route from a browser (CORS).
/// Every route of a path has the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrossOrigin {
    /// WHIP/WHEP, for players and publishing pages hosted elsewhere: the
    /// `--cors-origin` list, by default any origin.
    Media,
    /// The rest of the API: only origins `--cors-origin` names; with the
    /// default `*` it stays same-origin.
    Named,
}

pub struct ApiRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    /// Whether success changes something. Reads stay open after the room
    /// ended (the report needs them); writes then get 410.
    pub writes: bool,
    pub cross_origin: CrossOrigin,
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
        cross_origin: CrossOrigin::Named,
        handler,
    }
}

/// A WHIP/WHEP route, callable from pages on other origins.
const fn media_route(
    method: &'static str,
    path: &'static str,
    access: Access,
    handler: fn(Route) -> Route,
) -> ApiRoute {
    let mut r = route(method, path, access, true, handler);
    r.cross_origin = CrossOrigin::Media;
    r
}

/// A GET on a WHIP/WHEP URL that carries its own secret.
const fn media_read(path: &'static str, handler: fn(Route) -> Route) -> ApiRoute {
    let mut r = route("GET", path, Anyone, false, handler);
    r.cross_origin = CrossOrigin::Media;
    r
}

/// OPTIONS on a WHIP/WHEP URL: what it accepts. Browsers send no
/// credential with a preflight, so it needs none.
const fn media_options(path: &'static str) -> ApiRoute {
    let mut r = route("OPTIONS", path, Anyone, false, |r| r.to(media::options));
    r.cross_origin = CrossOrigin::Media;
    r
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
    route("GET", "/api/rooms/{slug}/ws", Socket, false, |r| {
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
    route("GET", "/api/rooms/{slug}/stats", Report, false, |r| {
        r.to(moderation::stats)
    }),
    route("GET", "/api/rooms/{slug}/stats.csv", Report, false, |r| {
        r.to(export::attendance)
    }),
    route(
        "GET",
        "/api/rooms/{slug}/questions.csv",
        Report,
        false,
        |r| r.to(export::questions),
    ),
    route(
        "GET",
        "/api/rooms/{slug}/participants.csv",
        Report,
        false,
        |r| r.to(export::participants),
    ),
    route("GET", "/api/rooms/{slug}/chat.csv", Report, false, |r| {
        r.to(export::chat)
    }),
    media_route("POST", "/api/rooms/{slug}/whip", Publisher, |r| {
        r.to(media::whip)
    }),
    media_options("/api/rooms/{slug}/whip"),
    media_route("POST", "/api/rooms/{slug}/whep", Participant, |r| {
        r.to(media::whep)
    }),
    media_options("/api/rooms/{slug}/whep"),
    media_route("PATCH", "/api/rooms/{slug}/media/{id}", SessionOwner, |r| {
        r.to(media::trickle)
    }),
    media_route(
        "DELETE",
        "/api/rooms/{slug}/media/{id}",
        SessionOwner,
        |r| r.to(media::stop),
    ),
    media_options("/api/rooms/{slug}/media/{id}"),
    media_route(
        "POST",
        "/api/rooms/{slug}/media/{id}/layer",
        SessionOwner,
        |r| r.to(layers::select),
    ),
    media_options("/api/rooms/{slug}/media/{id}/layer"),
    media_route(
        "POST",
        "/api/rooms/{slug}/media/{id}/events",
        SessionOwner,
        |r| r.to(layers::open_events),
    ),
    media_options("/api/rooms/{slug}/media/{id}/events"),
    // The stream's URL is its credential (EventSource sends no token).
    media_read("/api/rooms/{slug}/media/{id}/events/{secret}", |r| {
        r.to(layers::events)
    }),
    media_options("/api/rooms/{slug}/media/{id}/events/{secret}"),
];

/// Registers the table, one resource per path in table order, each route
/// behind the guard of its access, each resource behind the CORS policy
/// its routes ask for (none: same-origin only).
pub fn register(cfg: &mut web::ServiceConfig, origins: &CorsOrigins) {
    let mut done: Vec<&str> = Vec::new();
    for first in API_ROUTES {
        if done.contains(&first.path) {
            continue;
        }
        done.push(first.path);
        let mut resource = super::resource(first.path);
        for r in routes_of(first.path) {
            // The guard wraps the handler, so it must come after it.
            let handled = (r.handler)(web::route().method(r.method()));
            resource = resource
                .route(handled.wrap(actix_web::middleware::from_fn(super::guard::guard(r))));
        }
        match cors::policy(first.cross_origin, origins) {
            Some(policy) => cfg.service(
                resource
                    .wrap(policy)
                    .wrap(actix_web::middleware::from_fn(cors::contract_shape)),
            ),
            None => cfg.service(resource),
        };
    }
}

/// The routes the table has for a path, in table order.
pub fn routes_of(path: &str) -> impl Iterator<Item = &'static ApiRoute> + '_ {
    API_ROUTES.iter().filter(move |r| r.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_has_one_cross_origin_policy() {
        for r in API_ROUTES {
            assert!(
                routes_of(r.path).all(|o| o.cross_origin == r.cross_origin),
                "{}: routes disagree on who may call them from other origins",
                r.path
            );
        }
    }

    #[test]
    fn every_media_url_answers_options_to_anyone() {
        for r in API_ROUTES
            .iter()
            .filter(|r| r.cross_origin == CrossOrigin::Media)
        {
            assert!(
                routes_of(r.path).any(|o| o.method == "OPTIONS" && o.access == Anyone),
                "{} has no OPTIONS route",
                r.path
            );
        }
    }
}
