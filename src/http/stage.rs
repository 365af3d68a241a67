//! The stage over REST: the twins of the WebSocket's hand and stage
//! frames.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::context::AppContext;
use super::guard::Caller;
use super::json::Body;
use crate::http::error::ApiError;
use crate::live::views::HandView;
use crate::live::{Act, Done, StageInvite};
use crate::views::ParticipantView;

/// The caller's own hand.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandState {
    pub raised: bool,
}

/// Raised hands, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandList {
    pub hands: Vec<HandView>,
}

/// Who is on stage: the presenter first, then the speakers in the order
/// they came on.
#[derive(Debug, Serialize, ToSchema)]
pub struct Lineup {
    pub speakers: Vec<ParticipantView>,
}

/// The participant an invitation or an acceptance is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnStage {
    pub participant: ParticipantView,
}

async fn hand(ctx: &AppContext, who: &Caller, act: Act) -> Result<HttpResponse, ApiError> {
    match ctx.act(who.room.id, who.member()?, act).await? {
        Done::Hand { raised } => Ok(HttpResponse::Ok().json(HandState { raised })),
        other => Err(ApiError::internal(anyhow::anyhow!(
            "a hand answered {other:?}"
        ))),
    }
}

pub async fn raise(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    hand(&ctx, &who, Act::RaiseHand).await
}

pub async fn lower(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    hand(&ctx, &who, Act::LowerHand { id: None }).await
}

pub async fn lower_someones(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let id = Some(path.into_inner().1);
    ctx.act(who.room.id, who.member()?, Act::LowerHand { id })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn hands(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    let hands = ctx.store.hands(who.room.id).await?;
    Ok(HttpResponse::Ok().json(HandList {
        hands: hands.iter().map(HandView::from).collect(),
    }))
}

pub async fn lineup(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    let lineup = ctx.store.lineup(who.room.id).await?;
    let speakers = lineup
        .presenter
        .iter()
        .chain(&lineup.speakers)
        .map(ParticipantView::from)
        .collect();
    Ok(HttpResponse::Ok().json(Lineup { speakers }))
}

fn participant_of(done: Done) -> Result<HttpResponse, ApiError> {
    match done {
        Done::Participant(participant) => Ok(HttpResponse::Ok().json(OnStage { participant })),
        other => Err(ApiError::internal(anyhow::anyhow!(
            "a stage action answered {other:?}"
        ))),
    }
}

pub async fn invite(
    ctx: web::Data<AppContext>,
    who: Caller,
    body: Body<StageInvite>,
) -> Result<HttpResponse, ApiError> {
    let act = Act::Invite {
        participant_id: body.into_inner().participant_id,
    };
    participant_of(ctx.act(who.room.id, who.member()?, act).await?)
}

pub async fn accept(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    participant_of(
        ctx.act(who.room.id, who.member()?, Act::AcceptStage)
            .await?,
    )
}

pub async fn decline(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    ctx.act(who.room.id, who.member()?, Act::DeclineStage)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn remove(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let act = Act::RemoveFromStage {
        participant_id: path.into_inner().1,
    };
    ctx.act(who.room.id, who.member()?, act).await?;
    Ok(HttpResponse::NoContent().finish())
}
