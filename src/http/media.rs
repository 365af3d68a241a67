//! WHIP (publish) and WHEP (watch): SDP offer in, answer out, a Location
//! for trickle ICE and teardown.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::context::AppContext;
use super::guard::Caller;
use crate::domain::Role;
use crate::http::error::ApiError;
use crate::media::{MediaError, PeerId, Source};

/// SDP offers are a few KiB; anything this big is not one.
const MAX_SDP: usize = 64 * 1024;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WhipQuery {
    /// What is published, `camera` when left out. A new camera replaces
    /// the previous one.
    #[param(schema_with = source_kind)]
    kind: Option<String>,
}

fn source_kind() -> utoipa::openapi::Object {
    crate::views::one_of(["camera", "screen"])
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

/// The 201 of WHIP and WHEP: the answer, the session URL, TURN servers
/// with fresh credentials and, for a viewer, the WHEP extensions.
fn created(
    ctx: &AppContext,
    who: &Caller,
    peer: PeerId,
    answer: String,
    viewer: bool,
) -> HttpResponse {
    let session = format!("/api/rooms/{}/media/{peer}", who.room.slug);
    let mut res = HttpResponse::Created();
    res.insert_header((header::LOCATION, session.clone()))
        .insert_header((header::CONTENT_TYPE, "application/sdp"));
    for link in ice_links(ctx, who) {
        res.append_header((header::LINK, link));
    }
    if viewer {
        res.append_header((
            header::LINK,
            format!("<{session}/layer>; rel=\"urn:ietf:params:whep:ext:core:layer\""),
        ))
        .append_header((
            header::LINK,
            format!(
                "<{session}/events>; rel=\"urn:ietf:params:whep:ext:core:server-sent-events\"; events=\"layers\""
            ),
        ));
    }
    res.body(answer)
}

/// `Link: <turn:…>; rel="ice-server"` headers (RFC 9725), with
/// credentials made for this caller.
fn ice_links(ctx: &AppContext, who: &Caller) -> Vec<String> {
    let Some(turn) = &ctx.turn else {
        return Vec::new();
    };
    let label = format!("{}-{}", who.room.id, who.participant_id());
    turn.for_session(&label).iter().map(|s| s.link()).collect()
}

pub async fn whip(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    who: Caller,
    q: web::Query<WhipQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let source = match q.kind.as_deref() {
        None => Source::Camera,
        Some(k) => Source::parse(k)
            .ok_or_else(|| ApiError::InvalidInput("kind must be camera or screen".into()))?,
    };
    // A speaker publishes their own camera and microphone, never the
    // screen; the guard let only publishers this far.
    let source =
        match (who.role(), source) {
            (Role::Speaker, Source::Camera) => Source::Speaker,
            (Role::Speaker, _) => return Err(ApiError::Forbidden(
                "A speaker shares their camera and microphone; the presenter shares the screen."
                    .into(),
            )),
            (_, s) => s,
        };
    let offer = sdp_body(&req, body).await?;
    // What it publishes is recorded if the room says so (as it said when
    // the setting last changed).
    ctx.media.set_recording(who.room.id, who.room.recording);
    let (peer, answer) = ctx
        .media
        .publish(who.room.id, who.participant_id(), source, offer)
        .await
        .map_err(media_error)?;
    // Taken off stage (or removed) while this offer was on its way: the
    // sessions ended then did not include this one, so it ends here.
    if source == Source::Speaker {
        let now = ctx
            .store
            .participant(who.room.id, who.participant_id())
            .await;
        let still =
            matches!(&now, Ok(Some(p)) if p.role() == Role::Speaker && p.kicked_at.is_none());
        if !still {
            ctx.media.remove(peer, who.room.id).await;
            now?;
            return Err(ApiError::Forbidden("You are no longer on stage.".into()));
        }
    }
    tracing::info!(room = %who.room.slug, %peer, ?source, "publishing");
    Ok(created(&ctx, &who, peer, answer, false))
}

pub async fn whep(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    who: Caller,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let offer = sdp_body(&req, body).await?;
    // A room homed on another node: this node takes its media from there
    // once, and serves its own viewers.
    if let Some(cluster) = ctx.hub.cluster() {
        if let Some(home) = ctx.hub.home_elsewhere(who.room.id).await? {
            cluster.take_media(&home, who.room.id).await?;
        }
    }
    let (peer, answer) = ctx
        .media
        .view(who.room.id, who.participant_id(), offer)
        .await
        .map_err(media_error)?;
    // The peak only rises when a viewer arrives. Failing to note it must
    // not cost the viewer its session.
    let viewers = i32::try_from(ctx.media.viewers(who.room.id)).unwrap_or(i32::MAX);
    // With several nodes the peak is over all of them.
    let noted = match ctx.hub.cluster() {
        Some(_) => {
            ctx.store
                .note_node_viewers(who.room.id, &ctx.node, viewers)
                .await
        }
        None => ctx.store.raise_peak_viewers(who.room.id, viewers).await,
    };
    if let Err(e) = noted {
        tracing::warn!(error = %e, "peak viewers not recorded");
    }
    Ok(created(&ctx, &who, peer, answer, true))
}

fn no_session() -> ApiError {
    ApiError::NotFound("no such media session".into())
}

/// The live session in the path (`{slug}/media/{id}`), if the caller may
/// touch it: its owner's, or any of the room's for the presenter (and the
/// host key).
pub(super) fn live_session(
    ctx: &AppContext,
    who: &Caller,
    peer: PeerId,
) -> Result<PeerId, ApiError> {
    let presenter = who.role() == Role::Presenter;
    match ctx.media.owner(peer) {
        Some((r, p)) if r == who.room.id && (p == who.participant_id() || presenter) => Ok(peer),
        _ => Err(no_session()),
    }
}

pub async fn trickle(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, u64)>,
) -> Result<HttpResponse, ApiError> {
    live_session(&ctx, &who, PeerId(path.into_inner().1))?;
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
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, u64)>,
) -> Result<HttpResponse, ApiError> {
    let peer = PeerId(path.into_inner().1);
    match live_session(&ctx, &who, peer) {
        Ok(peer) => {
            ctx.media.remove(peer, who.room.id).await;
        }
        Err(e) => {
            if ctx.media.ended_owner(peer) != Some((who.room.id, who.participant_id())) {
                return Err(e);
            }
        }
    }
    Ok(HttpResponse::Ok().finish())
}

/// OPTIONS on the WHIP/WHEP endpoints and session URLs (a CORS preflight
/// never reaches here: the CORS middleware answers it with the same
/// headers, see `cors`).
///
/// With a credential that may POST there, WHIP's and WHEP's OPTIONS also
/// carry the TURN servers (RFC 9725 §4.6): a client that must relay needs
/// them before it can make its offer.
pub async fn options(req: HttpRequest, ctx: web::Data<AppContext>) -> HttpResponse {
    let pattern = req.match_pattern().unwrap_or_default();
    let mut res = HttpResponse::NoContent().finish();
    super::cors::describe(&pattern, res.headers_mut());
    let endpoint = pattern.ends_with("/whip") || pattern.ends_with("/whep");
    if endpoint && ctx.turn.is_some() && req.headers().contains_key(header::AUTHORIZATION) {
        if let Some(who) = super::guard::caller_for_post(&pattern, &req).await {
            for link in ice_links(&ctx, &who) {
                if let Ok(v) = header::HeaderValue::from_str(&link) {
                    res.headers_mut().append(header::LINK, v);
                }
            }
        }
    }
    res
}
