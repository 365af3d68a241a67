//! Creating, showing and ending rooms.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::client_ip::client_ip;
use super::context::AppContext;
use super::json::Body;
use crate::domain::{MaxParticipants, ParticipantName, RoomPassword, RoomTitle, Slug};
use crate::http::error::ApiError;
use crate::secrets;
use crate::store::models::NewRoom;
use crate::views::RoomView;

/// Text is trimmed, then counted in characters; control characters are
/// refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    #[schema(min_length = 1, max_length = 60)]
    presenter_name: String,
    /// Attendees must give it to join.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    password: Option<String>,
    /// Attendees admitted at once (staff are not counted); the server's
    /// default when left out.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100_000)]
    max_participants: Option<i64>,
}

/// A new room, with the only copy of its keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedRoom {
    pub slug: String,
    pub title: String,
    /// Joins as the presenter, publishes (WHIP) and reads the report.
    pub host_key: String,
    /// Joins as a moderator and reads the report.
    pub moderator_key: String,
    pub urls: RoomUrls,
    pub room: RoomView,
}

/// The room's pages; keys ride in the fragment, which browsers never send.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomUrls {
    pub attend: String,
    pub present: String,
    pub moderate: String,
}

/// Slug collisions need ~2^30 rooms to become likely; a few retries make
/// them irrelevant.
const SLUG_ATTEMPTS: usize = 4;

pub async fn create(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    body: Body<CreateRoom>,
) -> Result<HttpResponse, ApiError> {
    if let Some(ip) = client_ip(&req, &ctx.trusted_proxies) {
        ctx.limits.check(&ctx.limits.create_ip, &ip)?;
    }
    let body = body.into_inner();
    let title = RoomTitle::parse(&body.title)?;
    let presenter_name = ParticipantName::parse(&body.presenter_name)?;
    let password = body
        .password
        .as_deref()
        .map(RoomPassword::parse)
        .transpose()?;
    let max = match body.max_participants {
        Some(n) => MaxParticipants::parse(n).map_err(ApiError::InvalidInput)?,
        None => MaxParticipants::parse(i64::from(ctx.default_max_participants))
            .map_err(ApiError::InvalidInput)?,
    };
    let password_hash = match password {
        Some(p) => Some(ctx.passwords.hash(p).await.map_err(ApiError::internal)?),
        None => None,
    };
    let host_key = secrets::new_key();
    let moderator_key = secrets::new_key();
    let mut new = NewRoom {
        slug: String::new(),
        title: title.into_inner(),
        presenter_name: presenter_name.into_inner(),
        password_hash,
        host_key_hash: secrets::hash(&host_key).to_vec(),
        moderator_key_hash: secrets::hash(&moderator_key).to_vec(),
        max_participants: i32::try_from(max.get()).unwrap_or(i32::MAX),
    };
    let mut created = None;
    for _ in 0..SLUG_ATTEMPTS {
        new.slug = Slug::generate(&new.title, &secrets::slug_random_part()).to_string();
        if let Some(room) = ctx.store.create_room(new.clone()).await? {
            created = Some(room);
            break;
        }
    }
    let room = created.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no free slug")))?;
    tracing::info!(slug = %room.slug, "room created");
    let base = format!("{}/r/{}", ctx.public_url, room.slug);
    // Keys travel in the URL fragment, which browsers never send to servers,
    // so they stay out of access logs and Referer headers.
    Ok(HttpResponse::Created().json(CreatedRoom {
        urls: RoomUrls {
            present: format!("{base}/present#key={host_key}"),
            moderate: format!("{base}/moderate#key={moderator_key}"),
            attend: base,
        },
        room: RoomView::new(&room, 0),
        slug: room.slug,
        title: room.title,
        host_key,
        moderator_key,
    }))
}

pub async fn card(
    ctx: web::Data<AppContext>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = Slug::parse(&slug)?;
    let (room, count) =
        ctx.store.room_card(slug.as_str()).await?.ok_or_else(|| {
            ApiError::NotFound("No such room. Check the link you were given.".into())
        })?;
    Ok(HttpResponse::Ok().json(RoomCard {
        retention_days: ctx.retention_days,
        erased: room.is_erased(),
        room: RoomView::new(&room, count),
    }))
}

/// The public card: the room, and what it keeps about its participants.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomCard {
    #[serde(flatten)]
    pub room: RoomView,
    /// Days after the end before names, chat, questions and polls are
    /// erased (the numbers stay).
    pub retention_days: u32,
    /// Its personal data was erased: only its numbers are left.
    pub erased: bool,
}
