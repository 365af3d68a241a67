//! `Authorization: Bearer <token>` (or a socket's hello) becomes the
//! participant it was issued to, for the room named in the path. Who may
//! then do what is the guard's and the room's business.

use actix_web::{http::header, HttpRequest};

use super::context::AppContext;
use crate::domain::Slug;
use crate::http::error::ApiError;
use crate::secrets;
use crate::store::models::{Participant, Room};

/// Tokens we issue are 43 characters; anything far longer is not ours.
const MAX_TOKEN_LEN: usize = 128;

/// A participant who proved their token, with their room.
pub struct Authed {
    pub participant: Participant,
    pub room: Room,
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

/// The participant `token` was issued to, if it is live and of room `slug`.
pub async fn authenticate(ctx: &AppContext, slug: &Slug, token: &str) -> Result<Authed, ApiError> {
    let unknown =
        || ApiError::Unauthorized("Your session is no longer valid: please join again.".into());
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(unknown());
    }
    let hash = secrets::hash(token);
    ctx.limits.check(&ctx.limits.token, &hash)?;
    let (participant, room) = ctx.store.by_token(hash).await?.ok_or_else(unknown)?;
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
