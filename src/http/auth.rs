//! `Authorization: Bearer <token>` becomes the participant it was issued to,
//! for the room named in the path.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};

use super::context::AppContext;
use crate::domain::{Action, Role, Slug};
use crate::error::ApiError;
use crate::secrets;
use crate::store::models::{Participant, Room};
use crate::store::participants;

/// Tokens we issue are 43 characters; anything far longer is not ours.
const MAX_TOKEN_LEN: usize = 128;

pub struct Authed {
    pub participant: Participant,
    pub room: Room,
}

impl Authed {
    pub fn role(&self) -> Role {
        self.participant.role()
    }

    pub fn member(&self) -> crate::live::Member {
        crate::live::Member {
            participant_id: self.participant.id,
            name: self.participant.name.clone(),
            role: self.role(),
        }
    }

    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        if self.role().can(action) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "A {} may not do this.",
                self.role().as_str()
            )))
        }
    }
}

pub fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let missing = || ApiError::Unauthorized("send Authorization: Bearer <token>".into());
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN)
        .ok_or_else(missing)?;
    Ok(token.to_owned())
}

impl FromRequest for Authed {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = req.app_data::<web::Data<AppContext>>().cloned();
        let slug = req.match_info().get("slug").map(Slug::parse);
        let token = bearer(req);
        Box::pin(async move {
            let ctx = ctx.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app context")))?;
            let slug = slug.ok_or_else(|| ApiError::NotFound("no room in this path".into()))??;
            authenticate(&ctx, &slug, &token?).await
        })
    }
}

/// Who may read a room's report and exports: a moderator's or the
/// presenter's token, or the room's host or moderator key itself, so the
/// presenter and moderator links open the report from any browser, during
/// and after the session (no token can be had once it ended).
pub struct ReportReader {
    pub room: Room,
}

impl FromRequest for ReportReader {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = req.app_data::<web::Data<AppContext>>().cloned();
        let slug = req.match_info().get("slug").map(Slug::parse);
        let token = bearer(req);
        Box::pin(async move {
            let ctx = ctx.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app context")))?;
            let slug = slug.ok_or_else(|| ApiError::NotFound("no room in this path".into()))??;
            let token = token?;
            match authenticate(&ctx, &slug, &token).await {
                Ok(who) => {
                    who.require(Action::ViewStats)?;
                    Ok(ReportReader { room: who.room })
                }
                Err(ApiError::Unauthorized(why)) => {
                    let room = room_opened_by_key(&ctx, &slug, &token)
                        .await?
                        .ok_or(ApiError::Unauthorized(why))?;
                    Ok(ReportReader { room })
                }
                Err(e) => Err(e),
            }
        })
    }
}

/// The room `slug` if `key` is its host or moderator key.
async fn room_opened_by_key(
    ctx: &AppContext,
    slug: &Slug,
    key: &str,
) -> Result<Option<Room>, ApiError> {
    let s = slug.as_str().to_owned();
    let room = ctx
        .db(move |c| Ok(crate::store::rooms::find_by_slug(c, &s)?))
        .await?;
    Ok(room.filter(|r| {
        secrets::matches(key, &r.host_key_hash) || secrets::matches(key, &r.moderator_key_hash)
    }))
}

/// The participant `token` was issued to, if it is live and of room `slug`.
pub async fn authenticate(ctx: &AppContext, slug: &Slug, token: &str) -> Result<Authed, ApiError> {
    let unknown =
        || ApiError::Unauthorized("Your session is no longer valid: please join again.".into());
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(unknown());
    }
    let hash = secrets::hash(token);
    ctx.limits.check(&ctx.limits.token, &hash)?;
    let found = ctx
        .db(move |conn| Ok(participants::find_by_token(conn, &hash)?))
        .await?;
    let (participant, room) = found.ok_or_else(unknown)?;
    // The lookup was by hash; confirm in constant time all the same.
    if !secrets::matches(token, &participant.token_hash) {
        return Err(unknown());
    }
    if room.slug != slug.as_str() {
        return Err(ApiError::Unauthorized(
            "This session belongs to another room.".into(),
        ));
    }
    if participant.kicked_at.is_some() {
        return Err(ApiError::Unauthorized(
            "A moderator removed you from this session.".into(),
        ));
    }
    super::spans::record_participant(participant.id);
    Ok(Authed { participant, room })
}
