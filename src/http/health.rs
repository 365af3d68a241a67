//! GET /api/health: is the server up, and can it reach its database?

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::context::AppContext;

pub async fn health(ctx: web::Data<AppContext>) -> HttpResponse {
    if ctx.store.answers_within(Duration::from_secs(2)).await {
        HttpResponse::Ok().json(json!({"status": "ok", "database": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "status": "degraded",
            "database": "unavailable",
            "error": {"code": "unavailable", "message": "the database is unreachable"},
        }))
    }
}
