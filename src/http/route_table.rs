//! Every API route, with who may call it, what it takes and what it
//! answers. The server registers its routes from this table, the escalation
//! tests attack every entry of it and the OpenAPI document (`openapi.rs`)
//! is made from it, so a route cannot be added without saying who it is
//! for and what its bodies are.

use actix_web::http::Method;
use actix_web::{web, Route};

use super::openapi::{error, json, ok, query, Answer, Body, Out, ParamsFn};
use super::{
    chat, cors, export, health, join, layers, media, moderation, openapi, polls, questions,
    recordings, rooms, stage, ws,
};
use crate::config::CorsOrigins;
use crate::domain::stats::SessionStats;
use crate::live::views::{MessageView, PollView, QuestionView};
use crate::live::{NewPoll, PollPatch, PollVote, QuestionPatch, Reaction, StageInvite};
use crate::views::RoomView;

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
    /// As `Report`; and any participant once the room ended, if its
    /// setting `replay_public` is on.
    Replay,
    /// The presenter's token or the room's host key.
    Presenter,
    /// The presenter's token or the room's host key, or a speaker's token
    /// (their own camera and microphone): WHIP.
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
    /// Its query parameters, if it reads any.
    pub query: Option<ParamsFn>,
    /// What its request body carries.
    pub body: Body,
    /// What the handler answers: its successes and the errors only it
    /// gives (those of the guard, the body and the path are implied, see
    /// `openapi::implied_errors`).
    pub answers: &'static [Answer],
    handler: fn(Route) -> Route,
}

impl ApiRoute {
    pub fn method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).expect("table methods are valid")
    }
}

/// A route still to say what it answers: only `answers` makes an
/// `ApiRoute`, so no entry of the table can leave them out.
struct Draft(ApiRoute);

impl Draft {
    const fn takes(mut self, body: Body) -> Self {
        self.0.body = body;
        self
    }

    const fn query(mut self, query: ParamsFn) -> Self {
        self.0.query = Some(query);
        self
    }

    const fn answers(mut self, answers: &'static [Answer]) -> ApiRoute {
        self.0.answers = answers;
        self.0
    }
}

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    writes: bool,
    handler: fn(Route) -> Route,
) -> Draft {
    Draft(ApiRoute {
        method,
        path,
        access,
        writes,
        cross_origin: CrossOrigin::Named,
        query: None,
        body: Body::Empty,
        answers: &[],
        handler,
    })
}

/// A WHIP/WHEP route, callable from pages on other origins.
const fn media_route(
    method: &'static str,
    path: &'static str,
    access: Access,
    handler: fn(Route) -> Route,
) -> Draft {
    let mut r = route(method, path, access, true, handler);
    r.0.cross_origin = CrossOrigin::Media;
    r
}

/// A GET on a WHIP/WHEP URL that carries its own secret.
const fn media_read(path: &'static str, handler: fn(Route) -> Route) -> Draft {
    let mut r = route("GET", path, Anyone, false, handler);
    r.0.cross_origin = CrossOrigin::Media;
    r
}

/// OPTIONS on a WHIP/WHEP URL: what it accepts. Browsers send no
/// credential with a preflight, so it needs none.
const fn media_options(path: &'static str) -> ApiRoute {
    let mut r = route("OPTIONS", path, Anyone, false, |r| r.to(media::options));
    r.0.cross_origin = CrossOrigin::Media;
    const WHAT_IT_ACCEPTS: &[Answer] = &[ok(204, Out::Options)];
    r.answers(WHAT_IT_ACCEPTS)
}

use Access::*;

pub static API_ROUTES: &[ApiRoute] = &[
    route("GET", "/api/health", Anyone, false, |r| {
        r.to(health::health)
    })
    .answers(&[
        ok(200, Out::Json(json::<health::Health>())),
        ok(503, Out::Json(json::<health::Health>())),
    ]),
    route("GET", "/api/openapi.json", Anyone, false, |r| {
        r.to(openapi::serve)
    })
    .answers(&[ok(200, Out::Json(openapi::any_object))]),
    route("POST", "/api/rooms", Anyone, true, |r| r.to(rooms::create))
        .takes(Body::Json(json::<rooms::CreateRoom>()))
        .answers(&[
            ok(201, Out::Json(json::<rooms::CreatedRoom>())),
            error(429),
            error(503),
        ]),
    route("GET", "/api/rooms/{slug}", Anyone, false, |r| {
        r.to(rooms::card)
    })
    .answers(&[
        ok(200, Out::Json(json::<rooms::RoomCard>())),
        error(404),
        error(503),
    ]),
    route("PATCH", "/api/rooms/{slug}", Moderator, true, |r| {
        r.to(moderation::settings)
    })
    .takes(Body::Json(json::<moderation::Patch>()))
    .answers(&[ok(200, Out::Json(json::<RoomView>()))]),
    route("DELETE", "/api/rooms/{slug}", Presenter, true, |r| {
        r.to(moderation::end)
    })
    .answers(&[ok(200, Out::Json(json::<moderation::Ended>()))]),
    route("POST", "/api/rooms/{slug}/join", Anyone, true, |r| {
        r.to(join::join)
    })
    .takes(Body::Json(json::<join::JoinRequest>()))
    .answers(&[
        ok(200, Out::Json(json::<join::Joined>())),
        // A wrong key or password; a locked room or a removed browser; no
        // seat left; the room ended.
        error(401),
        error(403),
        error(404),
        error(409),
        error(410),
        error(429),
        error(503),
    ]),
    route("GET", "/api/rooms/{slug}/me", Participant, false, |r| {
        r.to(join::me)
    })
    .answers(&[ok(200, Out::Json(json::<join::Me>()))]),
    route("GET", "/api/rooms/{slug}/ws", Socket, false, |r| {
        r.to(ws::ws)
    })
    // Without the upgrade's headers: 400.
    .answers(&[ok(101, Out::Upgrade), error(400), error(404)]),
    route(
        "GET",
        "/api/rooms/{slug}/messages",
        Participant,
        false,
        |r| r.to(chat::list),
    )
    .query(query::<chat::PageQuery>())
    .answers(&[ok(200, Out::Json(json::<chat::MessagePage>()))]),
    route(
        "POST",
        "/api/rooms/{slug}/messages",
        Participant,
        true,
        |r| r.to(chat::send),
    )
    .takes(Body::Json(json::<chat::Send>()))
    // 403: chat switched off, for attendees.
    .answers(&[ok(201, Out::Json(json::<MessageView>())), error(403)]),
    route(
        "DELETE",
        "/api/rooms/{slug}/messages/{id}",
        Moderator,
        true,
        |r| r.to(chat::delete),
    )
    .answers(&[ok(204, Out::Empty)]),
    route(
        "POST",
        "/api/rooms/{slug}/messages/{id}/promote",
        Moderator,
        true,
        |r| r.to(chat::promote),
    )
    .answers(&[ok(201, Out::Json(json::<QuestionView>()))]),
    route(
        "GET",
        "/api/rooms/{slug}/questions",
        Participant,
        false,
        |r| r.to(questions::list),
    )
    .query(query::<questions::ListQuery>())
    .answers(&[ok(200, Out::Json(json::<questions::QuestionList>()))]),
    route(
        "POST",
        "/api/rooms/{slug}/questions",
        Participant,
        true,
        |r| r.to(questions::ask),
    )
    .takes(Body::Json(json::<questions::Ask>()))
    // 403: Q&A switched off, or anonymous questions not allowed.
    .answers(&[ok(201, Out::Json(json::<QuestionView>())), error(403)]),
    route(
        "PATCH",
        "/api/rooms/{slug}/questions/{id}",
        Moderator,
        true,
        |r| r.to(questions::update),
    )
    .takes(Body::Json(json::<QuestionPatch>()))
    .answers(&[ok(200, Out::Json(json::<QuestionView>()))]),
    route(
        "PUT",
        "/api/rooms/{slug}/questions/{id}/vote",
        Participant,
        true,
        |r| r.to(questions::vote_on),
    )
    .answers(&[ok(200, Out::Json(json::<questions::Votes>())), error(403)]),
    route(
        "DELETE",
        "/api/rooms/{slug}/questions/{id}/vote",
        Participant,
        true,
        |r| r.to(questions::vote_off),
    )
    .answers(&[ok(200, Out::Json(json::<questions::Votes>())), error(403)]),
    route(
        "POST",
        "/api/rooms/{slug}/participants/{id}/kick",
        Moderator,
        true,
        |r| r.to(moderation::kick),
    )
    .answers(&[ok(204, Out::Empty)]),
    // Allowed only after the end, so not a "write" the end closes: 409
    // while the room runs.
    route("DELETE", "/api/rooms/{slug}/data", Presenter, false, |r| {
        r.to(moderation::erase)
    })
    .answers(&[ok(204, Out::Empty), error(409)]),
    route("GET", "/api/rooms/{slug}/recordings", Replay, false, |r| {
        r.to(recordings::list)
    })
    .answers(&[ok(200, Out::Json(json::<recordings::RecordingList>()))]),
    // The key in the URL is the credential (a <video> sends no token).
    route(
        "GET",
        "/api/rooms/{slug}/recordings/{id}/file",
        Anyone,
        false,
        |r| r.to(recordings::file),
    )
    .query(query::<recordings::FileQuery>())
    .answers(&[
        ok(200, Out::Media),
        ok(206, Out::Media),
        error(404),
        error(416),
    ]),
    // Allowed after the end (the point of it), so not a "write" the end
    // closes; 409 while the file is still being written.
    route(
        "DELETE",
        "/api/rooms/{slug}/recordings/{id}",
        Presenter,
        false,
        |r| r.to(recordings::delete),
    )
    .answers(&[ok(204, Out::Empty), error(404), error(409)]),
    route("GET", "/api/rooms/{slug}/replay", Replay, false, |r| {
        r.to(recordings::replay)
    })
    .answers(&[ok(200, Out::Json(json::<recordings::Replay>()))]),
    route("GET", "/api/rooms/{slug}/stats", Report, false, |r| {
        r.to(moderation::stats)
    })
    .answers(&[ok(200, Out::Json(json::<SessionStats>()))]),
    route("GET", "/api/rooms/{slug}/stats.csv", Report, false, |r| {
        r.to(export::attendance)
    })
    .answers(&[ok(200, Out::Csv)]),
    route(
        "GET",
        "/api/rooms/{slug}/questions.csv",
        Report,
        false,
        |r| r.to(export::questions),
    )
    .answers(&[ok(200, Out::Csv)]),
    route(
        "GET",
        "/api/rooms/{slug}/participants.csv",
        Report,
        false,
        |r| r.to(export::participants),
    )
    .answers(&[ok(200, Out::Csv)]),
    route("GET", "/api/rooms/{slug}/chat.csv", Report, false, |r| {
        r.to(export::chat)
    })
    .answers(&[ok(200, Out::Csv)]),
    route("GET", "/api/rooms/{slug}/polls", Participant, false, |r| {
        r.to(polls::list)
    })
    .answers(&[ok(200, Out::Json(json::<polls::PollList>()))]),
    route("POST", "/api/rooms/{slug}/polls", Moderator, true, |r| {
        r.to(polls::create)
    })
    .takes(Body::Json(json::<NewPoll>()))
    .answers(&[ok(201, Out::Json(json::<PollView>()))]),
    route(
        "PATCH",
        "/api/rooms/{slug}/polls/{id}",
        Moderator,
        true,
        |r| r.to(polls::update),
    )
    .takes(Body::Json(json::<PollPatch>()))
    // 409: a poll goes draft -> open -> closed, never back.
    .answers(&[ok(200, Out::Json(json::<PollView>())), error(409)]),
    route(
        "DELETE",
        "/api/rooms/{slug}/polls/{id}",
        Moderator,
        true,
        |r| r.to(polls::delete),
    )
    .answers(&[ok(204, Out::Empty)]),
    route(
        "PUT",
        "/api/rooms/{slug}/polls/{id}/vote",
        Participant,
        true,
        |r| r.to(polls::vote),
    )
    .takes(Body::Json(json::<PollVote>()))
    // 409: the poll is not open.
    .answers(&[ok(200, Out::Json(json::<PollView>())), error(409)]),
    route("GET", "/api/rooms/{slug}/polls.csv", Report, false, |r| {
        r.to(export::polls)
    })
    .answers(&[ok(200, Out::Csv)]),
    route(
        "POST",
        "/api/rooms/{slug}/reactions",
        Participant,
        true,
        |r| r.to(polls::react),
    )
    .takes(Body::Json(json::<Reaction>()))
    // 429: more than 5 a second (a burst of 10) from one participant.
    .answers(&[ok(202, Out::Empty), error(429)]),
    // The stage. Hands are the attendees' own (403 for others); staff see
    // and lower them.
    route("POST", "/api/rooms/{slug}/hand", Participant, true, |r| {
        r.to(stage::raise)
    })
    .answers(&[ok(200, Out::Json(json::<stage::HandState>())), error(403)]),
    route("DELETE", "/api/rooms/{slug}/hand", Participant, true, |r| {
        r.to(stage::lower)
    })
    .answers(&[ok(200, Out::Json(json::<stage::HandState>())), error(403)]),
    route("GET", "/api/rooms/{slug}/hands", Moderator, false, |r| {
        r.to(stage::hands)
    })
    .answers(&[ok(200, Out::Json(json::<stage::HandList>()))]),
    route(
        "DELETE",
        "/api/rooms/{slug}/hands/{id}",
        Moderator,
        true,
        |r| r.to(stage::lower_someones),
    )
    .answers(&[ok(204, Out::Empty)]),
    route("GET", "/api/rooms/{slug}/stage", Participant, false, |r| {
        r.to(stage::lineup)
    })
    .answers(&[ok(200, Out::Json(json::<stage::Lineup>()))]),
    route("POST", "/api/rooms/{slug}/stage", Moderator, true, |r| {
        r.to(stage::invite)
    })
    .takes(Body::Json(json::<StageInvite>()))
    // 409: on stage already.
    .answers(&[ok(200, Out::Json(json::<stage::OnStage>())), error(409)]),
    // The invited attendee answers (403 for anyone not invited).
    route(
        "POST",
        "/api/rooms/{slug}/stage/accept",
        Participant,
        true,
        |r| r.to(stage::accept),
    )
    // 409: the stage is full.
    .answers(&[
        ok(200, Out::Json(json::<stage::OnStage>())),
        error(403),
        error(409),
    ]),
    route(
        "POST",
        "/api/rooms/{slug}/stage/decline",
        Participant,
        true,
        |r| r.to(stage::decline),
    )
    .answers(&[ok(204, Out::Empty), error(403)]),
    // Staff take anyone off stage; a speaker steps down (403 for others).
    route(
        "DELETE",
        "/api/rooms/{slug}/stage/{id}",
        Participant,
        true,
        |r| r.to(stage::remove),
    )
    .answers(&[ok(204, Out::Empty), error(403)]),
    media_route("POST", "/api/rooms/{slug}/whip", Publisher, |r| {
        r.to(media::whip)
    })
    .query(query::<media::WhipQuery>())
    .takes(Body::Sdp)
    .answers(&[ok(201, Out::Sdp)]),
    media_options("/api/rooms/{slug}/whip"),
    media_route("POST", "/api/rooms/{slug}/whep", Participant, |r| {
        r.to(media::whep)
    })
    .takes(Body::Sdp)
    .answers(&[ok(201, Out::Sdp)]),
    media_options("/api/rooms/{slug}/whep"),
    media_route("PATCH", "/api/rooms/{slug}/media/{id}", SessionOwner, |r| {
        r.to(media::trickle)
    })
    .takes(Body::Trickle)
    .answers(&[ok(204, Out::Empty)]),
    media_route(
        "DELETE",
        "/api/rooms/{slug}/media/{id}",
        SessionOwner,
        |r| r.to(media::stop),
    )
    .answers(&[ok(200, Out::Empty)]),
    media_options("/api/rooms/{slug}/media/{id}"),
    media_route(
        "POST",
        "/api/rooms/{slug}/media/{id}/layer",
        SessionOwner,
        |r| r.to(layers::select),
    )
    .takes(Body::Json(json::<layers::LayerRequest>()))
    .answers(&[ok(200, Out::Json(layers::layers_schema))]),
    media_options("/api/rooms/{slug}/media/{id}/layer"),
    media_route(
        "POST",
        "/api/rooms/{slug}/media/{id}/events",
        SessionOwner,
        |r| r.to(layers::open_events),
    )
    .takes(Body::Json(json::<layers::EventNames>()))
    .answers(&[ok(201, Out::Located)]),
    media_options("/api/rooms/{slug}/media/{id}/events"),
    // The stream's URL is its credential (EventSource sends no token).
    media_read("/api/rooms/{slug}/media/{id}/events/{secret}", |r| {
        r.to(layers::events)
    })
    .answers(&[ok(200, Out::EventStream), error(400), error(404)]),
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
        let methods: Vec<&str> = routes_of(first.path).map(|r| r.method).collect();
        let mut resource = super::resource(first.path, &methods);
        for r in routes_of(first.path) {
            // The guard wraps the handler, so it must come after it.
            let handled = (r.handler)(web::route().method(r.method()));
            let guarded = handled.wrap(actix_web::middleware::from_fn(super::guard::guard(r)));
            // WHIP and the session URLs are served by the room's home
            // node (WHEP by the node it reached, from its own copy of the
            // room's media; event streams, long-lived, are not forwarded).
            let routed = if r.cross_origin == CrossOrigin::Media
                && matches!(r.method, "POST" | "PATCH" | "DELETE")
                && !r.path.ends_with("/whep")
            {
                guarded.wrap(actix_web::middleware::from_fn(super::forward::to_home))
            } else {
                guarded
            };
            resource = resource.route(routed);
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
