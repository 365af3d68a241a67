//! `GET /metrics`: Prometheus text. Open, or behind `--metrics-token`;
//! served on `--bind`, or only on `--metrics-bind` when that is set.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::auth::bearer;
use super::AppContext;
use crate::http::error::ApiError;
use crate::secrets;

pub async fn metrics(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    if let Some(want) = &ctx.metrics_token {
        let given = bearer(&req).unwrap_or_default();
        if !secrets::matches(&given, &secrets::hash(want)) {
            return Err(ApiError::Unauthorized(
                "metrics need the operator's bearer token".into(),
            ));
        }
    }
    // Read now rather than tracked: cheaper, and always exact.
    let (in_use, idle) = ctx.store.pool_state();
    crate::metrics::db_pool(in_use, idle);
    let (publishers, viewers) = ctx.media.peer_counts();
    crate::metrics::media_peers(publishers, viewers);
    if let Some(cluster) = ctx.hub.cluster() {
        crate::metrics::cluster_home_rooms(ctx.hub.running_rooms());
        crate::metrics::cluster_members(cluster.members_here());
        crate::metrics::cluster_upstreams(ctx.media.upstream_count());
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(ctx.metrics.render()))
}
