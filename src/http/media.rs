//! WHIP (publish) and WHEP (watch): SDP offer in, answer out, a Location
//! for trickle ICE and teardown.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::auth::{authenticate, bearer, Authed};
use super::context::AppContext;
use crate::domain::{Action, Role, Slug};
use crate::error::ApiError;
use crate::media::{MediaError, PeerId, Source};
use crate::secrets;
use crate::store::rooms;

/// SDP offers are a few KiB; anything this big is not one.
const MAX_SDP: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhipQuery {
    kind: Option<String>,
}

fn content_type_is(req: &HttpRequest, expected: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// The offer: `application/sdp`, at most MAX_SDP bytes (read only after
/// the caller is known), UTF-8, starting like SDP.
async fn sdp_body(req: &HttpRequest, payload: web::Payload) -> Result<String, ApiError> {
    if !content_type_is(req, "application/sdp") {
        return Err(ApiError::UnsupportedMediaType(
            "send the offer as application/sdp".into(),
        ));
    }
    let body = match payload.to_bytes_limited(MAX_SDP).await {
        Err(_) => return Err(ApiError::TooLarge(MAX_SDP)),
        Ok(Err(_)) => return Err(ApiError::InvalidInput("the offer could not be read".into())),
        Ok(Ok(body)) => body,
    };
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::InvalidInput("the offer is not UTF-8".into()))?;
    if !text.trim_start().starts_with("v=0") {
        return Err(ApiError::InvalidInput(
            "the body is not an SDP offer".into(),
        ));
    }
    Ok(text.to_owned())
}

fn media_error(e: MediaError) -> ApiError {
    match e {
        MediaError::NoSuchPeer => ApiError::NotFound(e.to_string()),
        MediaError::BadOffer(_) | MediaError::Unsupported(_) => {
            ApiError::InvalidInput(e.to_string())
        }
    }
}

fn created(slug: &str, peer: PeerId, answer: String) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/rooms/{slug}/media/{peer}")))
        .insert_header((header::CONTENT_TYPE, "application/sdp"))
        .body(answer)
}

/// The presenter, by participant token or by the room's host key (so a
/// WHIP tool such as OBS needs only the key as its bearer token).
async fn presenter(
    ctx: &AppContext,
    req: &HttpRequest,
    slug: &Slug,
) -> Result<(i64, i64), ApiError> {
    let token = bearer(req)?;
    match authenticate(ctx, slug, &token).await {
        Ok(who) => {
            who.require(Action::Publish)?;
            if who.room.is_ended() {
                return Err(ApiError::RoomEnded);
            }
            Ok((who.room.id, who.participant.id))
        }
        Err(ApiError::Unauthorized(m)) => {
            let s = slug.as_str().to_owned();
            let room = ctx
                .db(move |c| Ok(rooms::find_by_slug(c, &s)?))
                .await?
                .ok_or(ApiError::Unauthorized(m))?;
            if !secrets::matches(&token, &room.host_key_hash) {
                return Err(ApiError::Unauthorized(
                    "Your session is no longer valid: please join again.".into(),
                ));
            }
            if room.is_ended() {
                return Err(ApiError::RoomEnded);
            }
            Ok((room.id, 0))
        }
        Err(e) => Err(e),
    }
}

pub async fn whip(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    slug: web::Path<String>,
    q: web::Query<WhipQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let slug = Slug::parse(&slug)?;
    let source = match q.kind.as_deref() {
        None => Source::Camera,
        Some(k) => Source::parse(k)
            .ok_or_else(|| ApiError::InvalidInput("kind must be camera or screen".into()))?,
    };
    let (room_id, participant) = presenter(&ctx, &req, &slug).await?;
    let offer = sdp_body(&req, body).await?;
    let (peer, answer) = ctx
        .media
        .publish(room_id, participant, source, offer)
        .await
        .map_err(media_error)?;
    tracing::info!(room = %slug, %peer, ?source, "publishing");
    Ok(created(slug.as_str(), peer, answer))
}

pub async fn whep(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    who: Authed,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if who.room.is_ended() {
        return Err(ApiError::RoomEnded);
    }
    let offer = sdp_body(&req, body).await?;
    let (peer, answer) = ctx
        .media
        .view(who.room.id, who.participant.id, offer)
        .await
        .map_err(media_error)?;
    // The peak only rises when a viewer arrives. Failing to note it must
    // not cost the viewer its session.
    let (room, viewers) = (who.room.id, ctx.media.viewers(who.room.id));
    let viewers = i32::try_from(viewers).unwrap_or(i32::MAX);
    if let Err(e) = ctx
        .db(move |conn| {
            Ok(crate::store::rooms::raise_peak_viewers(
                conn, room, viewers,
            )?)
        })
        .await
    {
        tracing::warn!(error = %e, "peak viewers not recorded");
    }
    Ok(created(&who.room.slug, peer, answer))
}

/// Who calls a session URL: the room, the participant (0: the host key)
/// and whether it is the presenter, who may touch any session of the room.
struct Caller {
    room: i64,
    participant: i64,
    presenter: bool,
}

async fn caller(ctx: &AppContext, req: &HttpRequest, slug: &Slug) -> Result<Caller, ApiError> {
    let token = bearer(req)?;
    match authenticate(ctx, slug, &token).await {
        Ok(who) => Ok(Caller {
            room: who.room.id,
            participant: who.participant.id,
            presenter: who.role() == Role::Presenter,
        }),
        Err(_) => {
            let (room, _) = presenter(ctx, req, slug).await?;
            Ok(Caller {
                room,
                participant: 0,
                presenter: true,
            })
        }
    }
}

fn no_session() -> ApiError {
    ApiError::NotFound("no such media session".into())
}

/// The live session in the path (`{slug}/media/{id}`), if the caller may
/// touch it.
fn live_session(ctx: &AppContext, caller: &Caller, peer: PeerId) -> Result<PeerId, ApiError> {
    match ctx.media.owner(peer) {
        Some((r, p)) if r == caller.room && (p == caller.participant || caller.presenter) => {
            Ok(peer)
        }
        _ => Err(no_session()),
    }
}

pub async fn trickle(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    path: web::Path<(String, u64)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let caller = caller(&ctx, &req, &Slug::parse(&slug)?).await?;
    live_session(&ctx, &caller, PeerId(id))?;
    if !content_type_is(&req, "application/trickle-ice-sdpfrag") {
        return Err(ApiError::UnsupportedMediaType(
            "send application/trickle-ice-sdpfrag".into(),
        ));
    }
    // The server is ICE-lite: it learns the peer's address from the peer's
    // own connectivity checks, so trickled candidates need no action.
    Ok(HttpResponse::NoContent().finish())
}

/// Ends a session. One that already ended (clients commonly close their
/// peer connection first, and the server sees the close before the DELETE)
/// is answered 200 too, but only to its owner: to anyone else it is as
/// unknown as a session that never was.
pub async fn stop(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    path: web::Path<(String, u64)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let caller = caller(&ctx, &req, &Slug::parse(&slug)?).await?;
    let peer = PeerId(id);
    match live_session(&ctx, &caller, peer) {
        Ok(peer) => {
            ctx.media.remove(peer, caller.room).await;
        }
        Err(e) => {
            if ctx.media.ended_owner(peer) != Some((caller.room, caller.participant)) {
                return Err(e);
            }
        }
    }
    Ok(HttpResponse::Ok().finish())
}

/// OPTIONS on the WHIP/WHEP endpoints and session URLs (a CORS preflight
/// never reaches here: the CORS middleware answers it with the same
/// headers, see `cors`).
pub async fn options(req: HttpRequest) -> HttpResponse {
    let mut res = HttpResponse::NoContent().finish();
    super::cors::describe(&req.match_pattern().unwrap_or_default(), res.headers_mut());
    res
}
