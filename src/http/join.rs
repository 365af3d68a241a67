//! Joining a room by name (and password or key), and resuming with a token.

use actix_web::cookie::{time::Duration as CookieAge, Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::client_ip::client_ip;
use super::context::AppContext;
use super::guard::Caller;
use super::json::Body;
use std::net::IpAddr;

use crate::domain::{role, ParticipantName, Role, RoomPassword, Slug};
use crate::http::error::ApiError;
use crate::secrets;
use crate::store::models::NewParticipant;
use crate::store::models::Room;
use crate::store::participants::JoinOutcome;
use crate::views::{ParticipantView, RoomView};

/// Without a key: an attendee, who needs the password if the room has
/// one. The host key makes a presenter, the moderator key a moderator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    #[schema(min_length = 1, max_length = 60)]
    name: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    password: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    key: Option<String>,
}

/// A participant's token (the only copy) and who they are in which room.
#[derive(Debug, Serialize, ToSchema)]
pub struct Joined {
    pub token: String,
    pub participant: ParticipantView,
    pub room: RoomView,
}

/// Who a token belongs to, and the room as it is now.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub participant: ParticipantView,
    pub room: RoomView,
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
        other => other,
    };
    let password = body
        .password
        .as_deref()
        .map(RoomPassword::parse)
        .transpose()?;
    let room =
        ctx.store.room(slug.as_str()).await?.ok_or_else(|| {
            ApiError::NotFound("No such room. Check the link you were given.".into())
        })?;
    if room.is_ended() {
        return Err(ApiError::RoomEnded);
    }
    let role = role_of(key, &room)?;
    if let Some(why) = role::refuses_join(role, room.locked) {
        return Err(ApiError::Forbidden(why.into()));
    }
    let (mark, new_mark) = browser_mark(&req);
    let browser_hash = secrets::hash(&mark).to_vec();
    // A browser someone was removed from stays out.
    if role::removal_binds(role)
        && !new_mark
        && ctx
            .store
            .browser_was_removed(room.id, browser_hash.clone())
            .await?
    {
        tracing::info!(slug = %room.slug, "a removed browser tried to rejoin");
        return Err(ApiError::Forbidden(
            "A moderator removed you from this session, so you cannot rejoin it.".into(),
        ));
    }
    if role == Role::Attendee {
        check_password(&ctx, ip, &room, password).await?;
    }
    let token = secrets::new_token();
    let new = NewParticipant {
        room_id: room.id,
        name: name.into_inner(),
        role: role.as_str().to_owned(),
        token_hash: secrets::hash(&token).to_vec(),
        browser_hash: Some(browser_hash),
    };
    let participant = match ctx.store.join(new).await? {
        (JoinOutcome::Joined(p), count) => (p, count),
        (JoinOutcome::Full, _) => return Err(ApiError::RoomFull),
        (JoinOutcome::Ended, _) => return Err(ApiError::RoomEnded),
    };
    let (participant, count) = participant;
    tracing::info!(slug = %room.slug, participant = participant.id, role = %role, "joined");
    let mut res = HttpResponse::Ok();
    if new_mark {
        let secure = ctx.public_url.starts_with("https://");
        res.cookie(mark_cookie(&room.slug, mark, secure));
    }
    Ok(res.json(Joined {
        token,
        participant: ParticipantView::from(&participant),
        room: RoomView::new(&room, count),
    }))
}

/// The role a join's key gives: presenter, moderator, or (no key) attendee.
fn role_of(key: Option<&str>, room: &Room) -> Result<Role, ApiError> {
    match key {
        Some(k) if secrets::matches(k, &room.host_key_hash) => Ok(Role::Presenter),
        Some(k) if secrets::matches(k, &room.moderator_key_hash) => Ok(Role::Moderator),
        Some(_) => Err(ApiError::Unauthorized(
            "This link's key does not open this room.".into(),
        )),
        None => Ok(Role::Attendee),
    }
}

/// An attendee of a room with a password must know it. The right one,
/// remembered from an earlier join, is never throttled; any other attempt
/// takes a cell of the guessing brake before it is checked.
async fn check_password(
    ctx: &AppContext,
    ip: Option<IpAddr>,
    room: &Room,
    password: Option<RoomPassword>,
) -> Result<(), ApiError> {
    let Some(stored) = room.password_hash.clone() else {
        return Ok(());
    };
    let password = password.ok_or(ApiError::BadPassword)?;
    let brake = &ctx.limits.passwords;
    brake.admit(ip)?;
    if ctx.passwords.remembered(&password, &stored) {
        return Ok(());
    }
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
    Ok(())
}

pub async fn me(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    let participant = who
        .participant()
        .ok_or_else(|| ApiError::Unauthorized("send a participant token".into()))?;
    let count = ctx.store.participant_count(who.room.id).await?;
    Ok(HttpResponse::Ok().json(Me {
        participant: ParticipantView::from(participant),
        room: RoomView::new(&who.room, count),
    }))
}
