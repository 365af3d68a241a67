//! Chat over REST: the twin of the WebSocket's chat frames.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::context::AppContext;
use super::guard::Caller;
use super::json::Body;
use crate::domain::qa::{ChatBody, ClientId};
use crate::http::error::ApiError;
use crate::live::views::MessageView;
use crate::live::Act;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many messages, 50 when left out.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Only messages older than this message id.
    before: Option<i64>,
}

/// A page of the chat, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    /// Whether older messages remain (ask with `before`).
    pub has_more: bool,
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
    Ok(HttpResponse::Ok().json(MessagePage {
        messages: rows.iter().map(MessageView::from).collect(),
        has_more,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Send {
    /// Line breaks and tabs allowed.
    #[schema(min_length = 1, max_length = 2000)]
    body: String,
    /// The client's key for this send: repeated, it gets the first message
    /// back instead of a second one.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
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
