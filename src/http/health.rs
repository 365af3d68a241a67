//! GET /api/health: is the server up, and can it reach its database?

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::context::AppContext;
use super::error::ErrorDetail;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(schema_with = status)]
    pub status: &'static str,
    #[schema(schema_with = database)]
    pub database: &'static str,
    /// Only when degraded: the contract's error, so clients that read
    /// errors alone understand it too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
    /// Days an ended room keeps its personal data (for the pages that say
    /// so).
    pub retention_days: u32,
    /// Which node answered (`--node-id`, or hostname:port).
    pub node: String,
}

fn status() -> utoipa::openapi::Object {
    crate::views::one_of(["ok", "degraded"])
}

fn database() -> utoipa::openapi::Object {
    crate::views::one_of(["ok", "unavailable"])
}

pub async fn health(ctx: web::Data<AppContext>) -> HttpResponse {
    if ctx.store.answers_within(Duration::from_secs(2)).await {
        HttpResponse::Ok().json(Health {
            status: "ok",
            database: "ok",
            error: None,
            retention_days: ctx.retention_days,
            node: ctx.node.clone(),
        })
    } else {
        HttpResponse::ServiceUnavailable().json(Health {
            status: "degraded",
            database: "unavailable",
            error: Some(ErrorDetail {
                code: "unavailable",
                message: "the database is unreachable".into(),
            }),
            retention_days: ctx.retention_days,
            node: ctx.node.clone(),
        })
    }
}
