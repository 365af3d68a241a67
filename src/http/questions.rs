//! Q&A over REST: the twin of the WebSocket's question frames.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::context::AppContext;
use super::guard::Caller;
use super::json::Body;
use crate::domain::qa::{ClientId, QuestionBody};
use crate::http::error::ApiError;
use crate::live::views::{facts, QuestionView};
use crate::live::{Act, Done, QuestionPatch};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `top` (the default): pinned first, then by votes; `new`: newest
    /// first.
    #[param(schema_with = sort_order)]
    sort: Option<String>,
}

fn sort_order() -> utoipa::openapi::Object {
    crate::views::one_of(["top", "new"])
}

/// The questions this participant may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionList {
    pub questions: Vec<QuestionView>,
}

/// A question's count once the vote is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Votes {
    pub votes: i32,
    pub voted_by_me: bool,
}

pub async fn list(
    ctx: web::Data<AppContext>,
    who: Caller,
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
    let (pid, role) = (who.participant_id(), who.role());
    let (rows, voted) = ctx.store.questions_for(who.room.id, pid).await?;
    let mut rows: Vec<_> = rows
        .into_iter()
        .filter(|q| facts(q).visible_to(pid, role))
        .collect();
    if top {
        rows.sort_by_key(|q| facts(q).top_key());
    } else {
        rows.sort_by_key(|q| std::cmp::Reverse(q.id));
    }
    let list: Vec<_> = rows
        .iter()
        .map(|q| QuestionView::new(q, Some(voted.contains(&q.id))))
        .collect();
    Ok(HttpResponse::Ok().json(QuestionList { questions: list }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    /// Line breaks and tabs allowed.
    #[schema(min_length = 1, max_length = 1000)]
    body: String,
    /// Shown to nobody with a name, moderators included (if the room
    /// allows anonymous questions).
    #[serde(default)]
    anonymous: bool,
    /// As for chat: a repeated key gets the first question back.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    client_id: Option<String>,
}

pub async fn ask(
    ctx: web::Data<AppContext>,
    who: Caller,
    body: Body<Ask>,
) -> Result<HttpResponse, ApiError> {
    let Ask {
        body,
        anonymous,
        client_id,
    } = body.into_inner();
    let act = Act::Ask {
        body: QuestionBody::parse(&body)?,
        anonymous,
        client_id: client_id.as_deref().map(ClientId::parse).transpose()?,
    };
    let done = ctx.act(who.room.id, who.member()?, act).await?;
    Ok(HttpResponse::Created().json(done))
}

async fn vote(
    ctx: web::Data<AppContext>,
    who: Caller,
    id: i64,
    on: bool,
) -> Result<HttpResponse, ApiError> {
    let done = ctx
        .act(who.room.id, who.member()?, Act::Vote { id, on })
        .await?;
    let Done::Vote(v) = done else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "a vote answered {done:?}"
        )));
    };
    Ok(HttpResponse::Ok().json(Votes {
        votes: v.votes,
        voted_by_me: v.voted_by_me,
    }))
}

pub async fn vote_on(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    vote(ctx, who, path.into_inner().1, true).await
}

pub async fn vote_off(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    vote(ctx, who, path.into_inner().1, false).await
}

pub async fn update(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
    body: Body<QuestionPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner().1;
    let change = body.into_inner().parse()?;
    let done = ctx
        .act(
            who.room.id,
            who.member()?,
            Act::UpdateQuestion { id, change },
        )
        .await?;
    Ok(HttpResponse::Ok().json(done))
}
