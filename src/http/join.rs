//! Joining a room by name (and password or key), and resuming with a token.

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
            return Err(ApiError::InvalidInput("key is malformed".into()))
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
            rooms::find_by_slug(conn, slug.as_str())?
                .ok_or_else(|| ApiError::NotFound("no such room".into()))
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
                "this key does not open this room".into(),
            ))
        }
        None => Role::Attendee,
    };
    // Keys bypass the password; attendees must know it.
    if role == Role::Attendee {
        if let Some(stored) = room.password_hash.clone() {
            let password = password.ok_or(ApiError::BadPassword)?;
            if let Some(ip) = ip {
                ctx.limits.check(&ctx.limits.password_ip, &ip)?;
            }
            ctx.limits.check(&ctx.limits.password_room, &room.id)?;
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

    let token = secrets::new_token();
    let new = NewParticipant {
        room_id: room.id,
        name: name.into_inner(),
        role: role.as_str().to_owned(),
        token_hash: secrets::hash(&token).to_vec(),
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
    Ok(HttpResponse::Ok().json(json!({
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
