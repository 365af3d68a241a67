//! Q&A over REST: the twin of the WebSocket's question frames.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::Authed;
use super::context::AppContext;
use super::json::Body;
use crate::error::ApiError;
use crate::live::{views, Act, QuestionPatch};
use crate::store::questions;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    sort: Option<String>,
}

pub async fn list(
    ctx: web::Data<AppContext>,
    who: Authed,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let top = match q.sort.as_deref() {
        None | Some("top") => true,
        Some("new") => false,
        Some(other) => {
            return Err(ApiError::InvalidInput(format!(
                "sort must be top or new, not {other:?}"
            )))
        }
    };
    let (room_id, pid, role) = (who.room.id, who.participant.id, who.role());
    let (rows, voted) = ctx
        .db(move |c| {
            Ok((
                questions::all_in_room(c, room_id)?,
                questions::voted_by(c, room_id, pid)?,
            ))
        })
        .await?;
    let mut rows: Vec<_> = rows
        .into_iter()
        .filter(|q| views::facts(q).visible_to(pid, role))
        .collect();
    if top {
        rows.sort_by_key(|q| views::facts(q).top_key());
    } else {
        rows.sort_by_key(|q| std::cmp::Reverse(q.id));
    }
    let list: Vec<_> = rows
        .iter()
        .map(|q| views::question(q, Some(voted.contains(&q.id))))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "questions": list })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    body: String,
    #[serde(default)]
    anonymous: bool,
    #[serde(default)]
    client_id: Option<String>,
}

pub async fn ask(
    ctx: web::Data<AppContext>,
    who: Authed,
    body: Body<Ask>,
) -> Result<HttpResponse, ApiError> {
    let Ask {
        body,
        anonymous,
        client_id,
    } = body.into_inner();
    let v = ctx
        .act(
            who.room.id,
            who.member(),
            Act::Ask {
                body,
                anonymous,
                client_id,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(v))
}

async fn vote(
    ctx: web::Data<AppContext>,
    who: Authed,
    id: i64,
    on: bool,
) -> Result<HttpResponse, ApiError> {
    let v = ctx
        .act(who.room.id, who.member(), Act::Vote { id, on })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"votes": v["votes"], "voted_by_me": on})))
}

pub async fn vote_on(
    ctx: web::Data<AppContext>,
    who: Authed,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    vote(ctx, who, path.into_inner().1, true).await
}

pub async fn vote_off(
    ctx: web::Data<AppContext>,
    who: Authed,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    vote(ctx, who, path.into_inner().1, false).await
}

pub async fn update(
    ctx: web::Data<AppContext>,
    who: Authed,
    path: web::Path<(String, i64)>,
    body: Body<QuestionPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner().1;
    let v = ctx
        .act(
            who.room.id,
            who.member(),
            Act::UpdateQuestion {
                id,
                patch: body.into_inner(),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(v))
}
