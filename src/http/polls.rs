//! Polls over REST: the twin of the WebSocket's poll frames, and the
//! reactions route.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::context::AppContext;
use super::guard::Caller;
use super::json::Body;
use crate::domain::polls::PollStatus;
use crate::http::error::ApiError;
use crate::live::views::PollView;
use crate::live::{Act, Done, NewPoll, PollPatch, PollVote, Reaction};

/// The polls this participant may see (drafts for staff only), oldest
/// first, each with their own choice.
#[derive(Debug, Serialize, ToSchema)]
pub struct PollList {
    pub polls: Vec<PollView>,
}

pub async fn list(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    let staff = who.role().is_moderator_or_above();
    let (polls, choices) = ctx
        .store
        .polls_for(who.room.id, who.participant_id())
        .await?;
    let polls = polls
        .into_iter()
        .filter(|p| staff || p.status() != PollStatus::Draft)
        .map(|p| {
            let mine = choices.get(&p.row.id).cloned();
            PollView::mine(p.result(), mine)
        })
        .collect();
    Ok(HttpResponse::Ok().json(PollList { polls }))
}

fn poll_of(done: Done) -> Result<PollView, ApiError> {
    match done {
        Done::Poll(p) => Ok(p),
        other => Err(ApiError::internal(anyhow::anyhow!(
            "a poll action answered {other:?}"
        ))),
    }
}

pub async fn create(
    ctx: web::Data<AppContext>,
    who: Caller,
    body: Body<NewPoll>,
) -> Result<HttpResponse, ApiError> {
    let act = body
        .into_inner()
        .parse()
        .map_err(|e| ApiError::InvalidInput(e.to_string()))?;
    let done = ctx.act(who.room.id, who.member()?, act).await?;
    Ok(HttpResponse::Created().json(poll_of(done)?))
}

pub async fn update(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
    body: Body<PollPatch>,
) -> Result<HttpResponse, ApiError> {
    let act = body
        .into_inner()
        .parse(path.into_inner().1)
        .map_err(ApiError::InvalidInput)?;
    let done = ctx.act(who.room.id, who.member()?, act).await?;
    Ok(HttpResponse::Ok().json(poll_of(done)?))
}

pub async fn vote(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
    body: Body<PollVote>,
) -> Result<HttpResponse, ApiError> {
    let act = Act::VotePoll {
        id: path.into_inner().1,
        options: body.into_inner().options,
    };
    let done = ctx.act(who.room.id, who.member()?, act).await?;
    Ok(HttpResponse::Ok().json(poll_of(done)?))
}

pub async fn delete(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let act = Act::DeletePoll {
        id: path.into_inner().1,
    };
    ctx.act(who.room.id, who.member()?, act).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// POST /api/rooms/{slug}/reactions: 202 once counted.
pub async fn react(
    ctx: web::Data<AppContext>,
    who: Caller,
    body: Body<Reaction>,
) -> Result<HttpResponse, ApiError> {
    let act = body
        .into_inner()
        .parse()
        .map_err(|e| ApiError::InvalidInput(e.to_string()))?;
    ctx.act(who.room.id, who.member()?, act).await?;
    Ok(HttpResponse::Accepted().finish())
}
