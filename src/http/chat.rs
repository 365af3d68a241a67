//! Chat over REST: the twin of the WebSocket's chat frames.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::context::AppContext;
use super::guard::Caller;
use super::json::Body;
use crate::domain::qa::{ChatBody, ClientId};
use crate::http::error::ApiError;
use crate::live::views::MessageView;
use crate::live::Act;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    limit: Option<i64>,
    before: Option<i64>,
}

pub async fn list(
    ctx: web::Data<AppContext>,
    who: Caller,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::InvalidInput(
            "limit must be between 1 and 200".into(),
        ));
    }
    let (rows, has_more) = ctx
        .store
        .messages_page(who.room.id, limit, q.before)
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "messages": rows.iter().map(MessageView::from).collect::<Vec<_>>(),
        "has_more": has_more,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Send {
    body: String,
    #[serde(default)]
    client_id: Option<String>,
}

pub async fn send(
    ctx: web::Data<AppContext>,
    who: Caller,
    body: Body<Send>,
) -> Result<HttpResponse, ApiError> {
    let Send { body, client_id } = body.into_inner();
    let act = Act::Chat {
        body: ChatBody::parse(&body)?,
        client_id: client_id.as_deref().map(ClientId::parse).transpose()?,
    };
    let done = ctx.act(who.room.id, who.member()?, act).await?;
    Ok(HttpResponse::Created().json(done))
}

pub async fn delete(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner().1;
    ctx.act(who.room.id, who.member()?, Act::DeleteMessage { id })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn promote(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let message_id = path.into_inner().1;
    let done = ctx
        .act(who.room.id, who.member()?, Act::Promote { message_id })
        .await?;
    Ok(HttpResponse::Created().json(done))
}
