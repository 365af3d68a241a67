//! Room settings, removals, ending and statistics.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::context::AppContext;
use super::guard::Caller;
use super::json::Body;
use crate::domain::stats::{self, SessionStats};
use crate::http::error::ApiError;
use crate::live::{Act, Done, SettingsPatch};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    settings: SettingsPatch,
}

/// The session's figures at its end.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ended {
    pub stats: SessionStats,
}

pub async fn settings(
    ctx: web::Data<AppContext>,
    who: Caller,
    body: Body<Patch>,
) -> Result<HttpResponse, ApiError> {
    let act = Act::Settings(body.into_inner().settings);
    let done = ctx.act(who.room.id, who.member()?, act).await?;
    Ok(HttpResponse::Ok().json(done))
}

pub async fn kick(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let participant_id = path.into_inner().1;
    ctx.act(who.room.id, who.member()?, Act::Kick { participant_id })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn end(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    let done = ctx.act(who.room.id, who.member()?, Act::End).await?;
    tracing::info!(slug = %who.room.slug, "room ended");
    let Done::Ended { stats } = done else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "ending the room answered {done:?}"
        )));
    };
    Ok(HttpResponse::Ok().json(Ended { stats: *stats }))
}

pub async fn stats(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    // An erased room has only the numbers it kept.
    if who.room.is_erased() {
        let kept = ctx.store.frozen_stats(who.room.id).await?;
        return Ok(HttpResponse::Ok().json(kept));
    }
    let raw = ctx.store.stats(who.room.clone()).await?;
    Ok(HttpResponse::Ok().json(stats::summarise(raw, chrono::Utc::now())))
}

/// DELETE /api/rooms/{slug}/data: the presenter erases the room's
/// personal data at once, after the end.
pub async fn erase(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    use crate::store::retention::Outcome;
    match ctx.store.erase(who.room.id).await? {
        Outcome::Erased(e) => {
            crate::metrics::room_erased();
            crate::recording::remove_room_files(&ctx.recordings_dir, who.room.id);
            tracing::info!(
                slug = %who.room.slug,
                participants = e.participants,
                messages = e.messages,
                questions = e.questions,
                polls = e.polls,
                recordings = e.recordings,
                "room data erased by its presenter"
            );
            Ok(HttpResponse::NoContent().finish())
        }
        Outcome::Already => Ok(HttpResponse::NoContent().finish()),
        Outcome::NotEnded => Err(ApiError::Conflict(
            "room_live",
            "The session is still running: end it first, then erase its data.".into(),
        )),
    }
}
