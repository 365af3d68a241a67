//! GET /api/health: is the server up, and can it reach its database?

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::context::AppContext;
use crate::store;

pub async fn health(ctx: web::Data<AppContext>) -> HttpResponse {
    let pool = ctx.pool.clone();
    let ok = web::block(move || {
        let mut conn = pool.get_timeout(Duration::from_secs(2)).ok()?;
        store::ping(&mut conn).ok()
    })
    .await
    .ok()
    .flatten()
    .is_some();
    if ok {
        HttpResponse::Ok().json(json!({"status": "ok", "database": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "status": "degraded",
            "database": "unavailable",
            "error": {"code": "unavailable", "message": "the database is unreachable"},
        }))
    }
}
