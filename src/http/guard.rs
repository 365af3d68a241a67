//! The one place a route's access is enforced: every route of the table
//! is wrapped in this guard, which reads the route's `Access` and `writes`
//! and lets the handler run only for a caller who may call it. What the
//! caller proved (a participant's token, or one of the room's keys) is left
//! in the request as a [`Caller`] for the handler.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::auth::{authenticate, bearer};
use super::context::AppContext;
use super::error::ApiError;
use super::route_table::{Access, ApiRoute};
use crate::domain::{Action, Role, Slug};
use crate::live::Member;
use crate::secrets;
use crate::store::models::{Participant, Room};

/// What the caller proved.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A live participant token of the room.
    Token(Participant),
    /// The room's host key itself (a WHIP tool, a presenter link after the
    /// end).
    HostKey,
    /// The room's moderator key itself (the moderator link after the end).
    ModeratorKey,
}

/// The caller of a guarded route, and the room in its path.
#[derive(Debug, Clone)]
pub struct Caller {
    pub room: Room,
    pub credential: Credential,
}

impl Caller {
    pub fn participant(&self) -> Option<&Participant> {
        match &self.credential {
            Credential::Token(p) => Some(p),
            _ => None,
        }
    }

    /// The participant id, 0 for a key (which is nobody in particular).
    pub fn participant_id(&self) -> i64 {
        self.participant().map_or(0, |p| p.id)
    }

    pub fn role(&self) -> Role {
        match &self.credential {
            Credential::Token(p) => p.role(),
            Credential::HostKey => Role::Presenter,
            Credential::ModeratorKey => Role::Moderator,
        }
    }

    /// The room member acting, for routes that take only tokens.
    pub fn member(&self) -> Result<Member, ApiError> {
        let p = self
            .participant()
            .ok_or_else(|| ApiError::Unauthorized("send a participant token".into()))?;
        Ok(Member {
            participant_id: p.id,
            name: p.name.clone(),
            role: p.role(),
        })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Only a guarded route has one; asking elsewhere is a bug.
        std::future::ready(req.extensions().get::<Caller>().cloned().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "a handler asked for a caller without a guard"
            ))
        }))
    }
}

type Guarded<B> = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, actix_web::Error>>>>;

/// The guard of `route`.
pub fn guard<B: MessageBody + 'static>(
    route: &'static ApiRoute,
) -> impl Fn(ServiceRequest, Next<B>) -> Guarded<B> {
    move |req, next| {
        Box::pin(async move {
            if let Some(caller) = check(route, req.request()).await? {
                req.extensions_mut().insert(caller);
            }
            next.call(req).await
        })
    }
}

fn forbidden(role: Role) -> ApiError {
    ApiError::Forbidden(format!("A {role} may not do this."))
}

/// Who may POST to `pattern` (WHIP, WHEP), if the request's credential
/// may: for the answers that hand out something only they should get.
pub async fn caller_for_post(pattern: &str, req: &HttpRequest) -> Option<Caller> {
    let route = super::route_table::routes_of(pattern).find(|r| r.method == "POST")?;
    check(route, req).await.ok().flatten()
}

async fn check(route: &'static ApiRoute, req: &HttpRequest) -> Result<Option<Caller>, ApiError> {
    // A socket proves itself in its hello frame, not in a header.
    if matches!(route.access, Access::Anyone | Access::Socket) {
        return Ok(None);
    }
    let ctx = req
        .app_data::<web::Data<AppContext>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app context")))?;
    let slug = Slug::parse(req.match_info().get("slug").unwrap_or_default())?;
    let token = bearer(req)?;
    let caller = match authenticate(&ctx, &slug, &token).await {
        Ok(who) => Caller {
            room: who.room,
            credential: Credential::Token(who.participant),
        },
        // Some routes also take the room's keys as bearer tokens.
        Err(ApiError::Unauthorized(why)) => {
            let s = slug.as_str().to_owned();
            let room = ctx
                .store
                .room(&s)
                .await?
                .ok_or_else(|| ApiError::Unauthorized(why.clone()))?;
            let credential = if !keys_open(route.access) {
                None
            } else if secrets::matches(&token, &room.host_key_hash) {
                Some(Credential::HostKey)
            } else if matches!(route.access, Access::Report | Access::Replay)
                && secrets::matches(&token, &room.moderator_key_hash)
            {
                Some(Credential::ModeratorKey)
            } else {
                None
            };
            match credential {
                Some(credential) => Caller { room, credential },
                // An erased room has no participants left to hold a
                // token: what it answers is that it is over.
                None if room.is_erased() => return Err(ApiError::RoomEnded),
                None => return Err(ApiError::Unauthorized(why)),
            }
        }
        Err(e) => return Err(e),
    };
    // Erased, a room keeps its numbers only: its card and its statistics.
    if caller.room.is_erased() && !keeps_numbers(route) {
        return Err(ApiError::RoomEnded);
    }
    let role = caller.role();
    let allowed = match route.access {
        Access::Anyone | Access::Socket | Access::Participant | Access::SessionOwner => true,
        Access::Moderator | Access::Report => role.is_moderator_or_above(),
        Access::Replay => {
            role.is_moderator_or_above() || (caller.room.replay_public && caller.room.is_ended())
        }
        Access::Presenter => role == Role::Presenter,
        // The presenter, and a speaker for their own camera (media.rs).
        Access::Publisher => role.can(Action::Publish),
    };
    if !allowed {
        return Err(forbidden(role));
    }
    // Reads stay open after the end (the report is made of them); writes
    // do not. Media sessions end with the room and answer for themselves.
    if route.writes && caller.room.is_ended() && route.access != Access::SessionOwner {
        return Err(ApiError::RoomEnded);
    }
    Ok(Some(caller))
}

/// What an erased room still answers: its statistics (numbers only), the
/// attendance CSV, and erasing again (done already: 204).
fn keeps_numbers(route: &ApiRoute) -> bool {
    let numbers = route.path.ends_with("/stats") || route.path.ends_with("/stats.csv");
    (route.method == "GET" && numbers) || route.path.ends_with("/data")
}

/// Whether a route takes the room's keys too: the presenter's routes (the
/// host key is the presenter's: after the end, when no token can be had,
/// it still erases the room's data), WHIP (the host key, for tools such
/// as OBS), session URLs (what the host key opened), the
/// report's reads (both keys, from any browser, also after the end).
fn keys_open(access: Access) -> bool {
    matches!(
        access,
        Access::Presenter
            | Access::Publisher
            | Access::SessionOwner
            | Access::Report
            | Access::Replay
    )
}
