//! In a cluster, a WHIP request for a room whose home is another node is
//! served there (over NATS) and its answer comes back as it is: the home
//! runs the room's publishers, so the SDP answer names the home's media
//! address and the media goes straight to it over UDP. The session URL in
//! `Location` may then be used on any node: it is forwarded the same way.
//! WHEP is served where it lands, from that node's own copy of the room's
//! media (`cluster::upstream`), and so are its session URLs.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use futures_util::StreamExt;

use super::context::AppContext;
use super::error::ApiError;
use crate::cluster::wire::HttpAsk;
use crate::domain::Slug;

/// A forwarded body's limit: SDP offers are a few KiB.
const MAX_BODY: usize = 64 * 1024;

/// Headers that belong to one hop, or that this node's own layers set on
/// the way out (CORS).
fn hop_by_hop(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "host"
            | "content-length"
            | "connection"
            | "transfer-encoding"
            | "keep-alive"
            | "vary"
            | "date"
    ) || name.starts_with("access-control-")
}

pub async fn to_home(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let here = |req| async { next.call(req).await.map(|r| r.map_into_boxed_body()) };
    let Some(ctx) = req.app_data::<web::Data<AppContext>>().cloned() else {
        return here(req).await;
    };
    let Some(cluster) = ctx.hub.cluster().cloned() else {
        return here(req).await;
    };
    // A bad slug or an unknown room is answered here, by the guard.
    let Ok(slug) = Slug::parse(req.match_info().get("slug").unwrap_or_default()) else {
        return here(req).await;
    };
    let room = match ctx.store.room(slug.as_str()).await {
        Ok(Some(room)) => room,
        _ => return here(req).await,
    };
    // A session of this node's in this room (a viewer here) is answered
    // here too (session ids are a node's own).
    let local = req
        .match_info()
        .get("id")
        .and_then(|id| id.parse::<u64>().ok())
        .map(crate::media::PeerId)
        .is_some_and(|p| {
            let mine = |o: Option<(i64, i64)>| o.is_some_and(|(r, _)| r == room.id);
            mine(ctx.media.owner(p)) || mine(ctx.media.ended_owner(p))
        });
    if local {
        return here(req).await;
    }
    let home = match ctx.hub.home_elsewhere(room.id).await {
        Ok(None) => return here(req).await,
        Ok(Some(home)) => home,
        Err(e) => return Err(ApiError::from(e).into()),
    };
    let mut body = Vec::new();
    let mut payload = req.take_payload();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ApiError::TooLarge(MAX_BODY).into());
        }
        body.extend_from_slice(&chunk);
    }
    let body = String::from_utf8(body)
        .map_err(|_| ApiError::InvalidInput("the body is not UTF-8".into()))?;
    let ask = HttpAsk {
        method: req.method().to_string(),
        path: req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path().to_owned(), |p| p.to_string()),
        headers: req
            .headers()
            .iter()
            .filter(|(k, _)| !hop_by_hop(k.as_str()))
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
            .collect(),
        body,
    };
    let Some(answer) = cluster.forward(&home, room.id, ask).await else {
        return Err(ApiError::Unavailable(
            "This room is moving to another server: please try again shortly.".into(),
        )
        .into());
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = HttpResponse::build(status);
    for (name, value) in answer.headers {
        if !hop_by_hop(&name) {
            response.append_header((name, value));
        }
    }
    let response = response
        .insert_header(("X-Served-By", home))
        .body(answer.body);
    Ok(req.into_response(response))
}
