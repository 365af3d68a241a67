//! Room settings, kicks, ending and statistics.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::{Authed, ReportReader};
use super::context::AppContext;
use super::json::Body;
use crate::domain::{stats, Action};
use crate::error::ApiError;
use crate::live::{Act, SettingsPatch};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    settings: SettingsPatch,
}

pub async fn settings(
    ctx: web::Data<AppContext>,
    who: Authed,
    body: Body<Patch>,
) -> Result<HttpResponse, ApiError> {
    who.require(Action::ChangeSettings)?;
    let v = ctx
        .act(
            who.room.id,
            who.member(),
            Act::Settings(body.into_inner().settings),
        )
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

pub async fn kick(
    ctx: web::Data<AppContext>,
    who: Authed,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let participant_id = path.into_inner().1;
    ctx.act(who.room.id, who.member(), Act::Kick { participant_id })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn end(ctx: web::Data<AppContext>, who: Authed) -> Result<HttpResponse, ApiError> {
    who.require(Action::EndRoom)?;
    if who.room.is_ended() {
        return Err(ApiError::RoomEnded);
    }
    let v = ctx.act(who.room.id, who.member(), Act::End).await?;
    tracing::info!(slug = %who.room.slug, "room ended");
    Ok(HttpResponse::Ok().json(v))
}

pub async fn stats(
    ctx: web::Data<AppContext>,
    who: ReportReader,
) -> Result<HttpResponse, ApiError> {
    let room = who.room.clone();
    let raw = ctx
        .db(move |c| Ok(crate::store::stats::load(c, &room)?))
        .await?;
    Ok(HttpResponse::Ok().json(stats::summarise(raw, chrono::Utc::now())))
}
