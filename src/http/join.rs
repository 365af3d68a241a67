//! Joining a room by name (and password or key), and resuming with a token.

use actix_web::cookie::{time::Duration as CookieAge, Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::Authed;
use super::client_ip::client_ip;
use super::context::AppContext;
use super::json::Body;
use crate::domain::{ParticipantName, Role, RoomPassword, Slug};
use crate::error::ApiError;
use crate::secrets;
use crate::store::models::NewParticipant;
use crate::store::participants::{self, JoinOutcome};
use crate::store::rooms;
use crate::views::{ParticipantView, RoomView};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    name: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    key: Option<String>,
}

const MAX_KEY_LEN: usize = 200;

/// The cookie that marks the browser a participant joined from. It is no
/// credential (it only ever keeps someone out), it is scoped to the room's
/// API path, and scripts cannot read it.
const MARK_COOKIE: &str = "podium_mark";
const MARK_DAYS: i64 = 30;

/// This browser's mark for the room: the one it brings, or a new one to set.
fn browser_mark(req: &HttpRequest) -> (String, bool) {
    match req.cookie(MARK_COOKIE) {
        Some(c)
            if c.value().len() == 43
                && c.value()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            (c.value().to_owned(), false)
        }
        _ => (secrets::new_token(), true),
    }
}

fn mark_cookie(slug: &str, mark: String, secure: bool) -> Cookie<'static> {
    Cookie::build(MARK_COOKIE, mark)
        .path(format!("/api/rooms/{slug}"))
        .max_age(CookieAge::days(MARK_DAYS))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

pub async fn join(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    slug: web::Path<String>,
    body: Body<JoinRequest>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &ctx.trusted_proxies);
    if let Some(ip) = ip {
        ctx.limits.check(&ctx.limits.join_ip, &ip)?;
    }
    let slug = Slug::parse(&slug)?;
    let body = body.into_inner();
    let name = ParticipantName::parse(&body.name)?;
    let key = match body.key.as_deref().map(str::trim) {
        Some(k) if k.is_empty() || k.len() > MAX_KEY_LEN => {
            return Err(ApiError::InvalidInput(
                "This link's key is malformed.".into(),
            ))
        }
        other => other.map(str::to_owned),
    };
    let password = body
        .password
        .as_deref()
        .map(RoomPassword::parse)
        .transpose()?;

    let room = ctx
        .db(move |conn| {
            rooms::find_by_slug(conn, slug.as_str())?.ok_or_else(|| {
                ApiError::NotFound("No such room. Check the link you were given.".into())
            })
        })
        .await?;
    if room.is_ended() {
        return Err(ApiError::RoomEnded);
    }

    let role = match key {
        Some(k) if secrets::matches(&k, &room.host_key_hash) => Role::Presenter,
        Some(k) if secrets::matches(&k, &room.moderator_key_hash) => Role::Moderator,
        Some(_) => {
            return Err(ApiError::Unauthorized(
                "This link's key does not open this room.".into(),
            ))
        }
        None => Role::Attendee,
    };
    if role == Role::Attendee && room.locked {
        return Err(ApiError::Forbidden(
            "This room is locked: no new attendees can join right now.".into(),
        ));
    }
    // A browser someone was removed from stays out (the presenter cannot
    // be removed, so their key always works).
    let (mark, new_mark) = browser_mark(&req);
    let browser_hash = secrets::hash(&mark).to_vec();
    if role != Role::Presenter && !new_mark {
        let (room_id, hash) = (room.id, browser_hash.clone());
        let removed = ctx
            .db(move |conn| Ok(participants::browser_was_removed(conn, room_id, &hash)?))
            .await?;
        if removed {
            tracing::info!(slug = %room.slug, "a removed browser tried to rejoin");
            return Err(ApiError::Forbidden(
                "A moderator removed you from this session, so you cannot rejoin it.".into(),
            ));
        }
    }
    // Keys bypass the password; attendees must know it.
    if role == Role::Attendee {
        if let Some(stored) = room.password_hash.clone() {
            let password = password.ok_or(ApiError::BadPassword)?;
            let brake = &ctx.limits.passwords;
            brake.admit(ip)?;
            // The right password, remembered from an earlier join, is never
            // throttled; any other attempt takes a cell before it is checked.
            if !ctx.passwords.remembered(&password, &stored) {
                brake.attempt(&ctx.limits, ip, room.id)?;
                let ok = ctx
                    .passwords
                    .verify(password, stored)
                    .await
                    .map_err(ApiError::internal)?;
                if !ok {
                    tracing::info!(slug = %room.slug, "wrong room password");
                    return Err(ApiError::BadPassword);
                }
            }
        }
    }

    let token = secrets::new_token();
    let new = NewParticipant {
        room_id: room.id,
        name: name.into_inner(),
        role: role.as_str().to_owned(),
        token_hash: secrets::hash(&token).to_vec(),
        browser_hash: Some(browser_hash),
    };
    let room_id = room.id;
    let (outcome, count) = ctx
        .db(move |conn| {
            let outcome = participants::join(conn, &new)?;
            let count = rooms::active_participants(conn, room_id)?;
            Ok((outcome, count))
        })
        .await?;
    let participant = match outcome {
        JoinOutcome::Joined(p) => p,
        JoinOutcome::Full => return Err(ApiError::RoomFull),
        JoinOutcome::Ended => return Err(ApiError::RoomEnded),
    };
    tracing::info!(slug = %room.slug, participant = participant.id, role = %role, "joined");
    let mut res = HttpResponse::Ok();
    if new_mark {
        res.cookie(mark_cookie(
            &room.slug,
            mark,
            ctx.public_url.starts_with("https://"),
        ));
    }
    Ok(res.json(json!({
        "token": token,
        "participant": ParticipantView::from(&participant),
        "room": RoomView::new(&room, count),
    })))
}

pub async fn me(ctx: web::Data<AppContext>, who: Authed) -> Result<HttpResponse, ApiError> {
    let room_id = who.room.id;
    let count = ctx
        .db(move |conn| Ok(rooms::active_participants(conn, room_id)?))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "participant": ParticipantView::from(&who.participant),
        "room": RoomView::new(&who.room, count),
    })))
}
