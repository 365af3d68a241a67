//! The WHEP draft's two extensions on a viewer's session: layer selection
//! (POST the layer URL to pin a simulcast layer, turn video off, or return
//! to the automatic choice) and server-sent events (`layers`: what each
//! video section can get and gets now).

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use futures_util::stream;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::context::AppContext;
use super::error::ApiError;
use super::guard::Caller;
use super::json::Body;
use super::media::live_session;
use crate::media::core::SectionLayers;
use crate::media::layers::Want;
use crate::media::PeerId;

/// How often an event stream looks for a change in its session's layers.
const LAYERS_EVERY: Duration = Duration::from_millis(500);
/// A comment line this often keeps proxies from closing a quiet stream.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(15);
/// The events a stream can carry.
const EVENTS: [&str; 1] = ["layers"];

/// The layer URL's body (the WHEP draft's, plus `video`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LayerRequest {
    /// The video section (its mid); every video section when absent.
    media_id: Option<String>,
    /// The simulcast layer (its rid); the automatic choice when absent.
    #[serde(alias = "rid")]
    encoding_id: Option<String>,
    /// `false`: no video at all (audio only).
    video: Option<bool>,
}

/// The events URL's body: the events the stream should carry.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EventNames(pub Vec<String>);

/// The schema of [`layers_json`]'s object, for the API's description.
pub fn layers_schema(
    _: &mut super::openapi::Schemas,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Object))
        .description(Some(
            "Per video section (by mid): `layers` (encodingId, bitrate; lowest first), \
             `inactive`, `current` (the encodingId received now, or null), `mode` \
             (auto, pinned or off) and `paused`.",
        ))
        .into()
}

/// The `layers` event's data: per video section (by mid), the layers its
/// source sends now (lowest first, with bits per second), those it stopped
/// sending, and what the section receives.
pub fn layers_json(sections: &[SectionLayers]) -> Value {
    let mut out = Map::new();
    for s in sections {
        let id = |rid: Option<str0m::media::Rid>| rid.map(|r| r.to_string());
        let layers: Vec<Value> = s
            .active
            .iter()
            .map(|(rid, bps)| json!({"encodingId": id(*rid), "bitrate": bps}))
            .collect();
        let inactive: Vec<Value> = s
            .inactive
            .iter()
            .map(|rid| json!({"encodingId": id(*rid)}))
            .collect();
        out.insert(
            s.mid.to_string(),
            json!({
                "layers": layers,
                "inactive": inactive,
                "current": s.current.map(id),
                "mode": if s.off { "off" } else if s.pinned { "pinned" } else { "auto" },
                "paused": s.paused,
            }),
        );
    }
    Value::Object(out)
}

async fn viewer_layers(ctx: &AppContext, peer: PeerId) -> Result<Vec<SectionLayers>, ApiError> {
    ctx.media.layers(peer).await.ok_or_else(|| {
        ApiError::InvalidInput("layers are chosen on a viewer's (WHEP) session".into())
    })
}

pub async fn select(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, u64)>,
    body: Body<LayerRequest>,
) -> Result<HttpResponse, ApiError> {
    let peer = live_session(&ctx, &who, PeerId(path.into_inner().1))?;
    let req = body.into_inner();
    let sections = viewer_layers(&ctx, peer).await?;
    let chosen: Vec<&SectionLayers> = match &req.media_id {
        None => sections.iter().collect(),
        Some(m) => {
            let found: Vec<_> = sections
                .iter()
                .filter(|s| s.mid.to_string() == *m)
                .collect();
            if found.is_empty() {
                return Err(ApiError::InvalidInput(format!(
                    "mediaId {m:?} is not a video section of this session"
                )));
            }
            found
        }
    };
    let want = match (req.video, &req.encoding_id) {
        (Some(false), None) => Want::Off,
        (Some(false), Some(_)) => {
            return Err(ApiError::InvalidInput(
                "give encodingId or \"video\": false, not both".into(),
            ))
        }
        (_, None) => Want::Auto,
        (_, Some(e)) => {
            let rid = chosen
                .iter()
                .flat_map(|s| {
                    s.active
                        .iter()
                        .map(|(r, _)| *r)
                        .chain(s.inactive.iter().copied())
                })
                .flatten()
                .find(|r| r.to_string() == *e)
                .ok_or_else(|| {
                    ApiError::InvalidInput(format!(
                        "encodingId {e:?} is not a layer of this video (see the layers event)"
                    ))
                })?;
            Want::Pinned(rid)
        }
    };
    let mid = match (&req.media_id, chosen.as_slice()) {
        (Some(_), [one, ..]) => Some(one.mid),
        _ => None,
    };
    ctx.media
        .select_layer(peer, mid, want)
        .await
        .map_err(|e| ApiError::InvalidInput(e.to_string()))?;
    let now = viewer_layers(&ctx, peer).await?;
    Ok(HttpResponse::Ok().json(layers_json(&now)))
}

/// POST to the events URL (an optional JSON array of event names): 201
/// with the stream's URL, which carries its own secret, since a browser's
/// EventSource cannot send a bearer token.
pub async fn open_events(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, u64)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let peer = live_session(&ctx, &who, PeerId(path.into_inner().1))?;
    viewer_layers(&ctx, peer).await?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        let EventNames(asked) = serde_json::from_slice(&body).map_err(|_| {
            ApiError::InvalidInput("send a JSON array of event names, or nothing".into())
        })?;
        if let Some(other) = asked.iter().find(|e| !EVENTS.contains(&e.as_str())) {
            return Err(ApiError::InvalidInput(format!(
                "event {other:?} is not offered: only \"layers\""
            )));
        }
    }
    let secret = ctx.media.events_secret(peer).ok_or_else(no_stream)?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/rooms/{}/media/{peer}/events/{secret}", who.room.slug),
        ))
        .finish())
}

fn no_stream() -> ApiError {
    ApiError::NotFound("no such event stream".into())
}

/// The event stream: `layers` at once and whenever they change, until the
/// session ends.
pub async fn events(
    ctx: web::Data<AppContext>,
    path: web::Path<(String, u64, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id, given) = path.into_inner();
    let peer = PeerId(id);
    let secret = ctx.media.events_secret(peer).ok_or_else(no_stream)?;
    if !bool::from(secret.as_bytes().ct_eq(given.as_bytes())) {
        return Err(no_stream());
    }
    // The room in the path is the session's.
    let room = match crate::domain::Slug::parse(&slug) {
        Ok(s) => ctx.store.room(s.as_str()).await?,
        Err(_) => None,
    };
    if room.map(|r| r.id) != ctx.media.owner(peer).map(|(room, _)| room) {
        return Err(no_stream());
    }
    let first = viewer_layers(&ctx, peer).await?;
    let state = (
        ctx.clone(),
        Some(first),
        String::new(),
        tokio::time::Instant::now(),
    );
    let body = stream::unfold(
        state,
        move |(ctx, mut pending, mut last, mut quiet)| async move {
            loop {
                if let Some(sections) = pending.take() {
                    let data = layers_json(&sections).to_string();
                    if data != last {
                        last = data.clone();
                        quiet = tokio::time::Instant::now();
                        let event = format!("event: layers\ndata: {data}\n\n");
                        return Some((
                            Ok::<_, actix_web::Error>(web::Bytes::from(event)),
                            (ctx, None, last, quiet),
                        ));
                    }
                }
                if quiet.elapsed() >= KEEPALIVE_EVERY {
                    quiet = tokio::time::Instant::now();
                    return Some((
                        Ok(web::Bytes::from_static(b": keep-alive\n\n")),
                        (ctx, None, last, quiet),
                    ));
                }
                tokio::time::sleep(LAYERS_EVERY).await;
                // The session ended: so does its stream.
                pending = Some(ctx.media.layers(peer).await?);
            }
        },
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // nginx would otherwise hold the events back in its buffer.
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
