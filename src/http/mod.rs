//! The HTTP surface: routes, extractors, limits. Handlers parse, check
//! permissions and call the store; rules live in `domain`.

pub mod auth;
pub mod chat;
pub mod client_ip;
pub mod context;
pub mod cors;
pub mod error;
pub mod export;
pub mod forward;
pub mod guard;
pub mod health;
pub mod join;
pub mod json;
pub mod layers;
pub mod media;
pub mod moderation;
pub mod openapi;
pub mod polls;
pub mod questions;
pub mod rate_limit;
pub mod recordings;
pub mod rooms;
pub mod route_table;
pub mod scrape;
pub mod site;
pub mod spans;
pub mod stage;
pub mod ws;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use crate::config::CorsOrigins;
use crate::http::error::ApiError;

pub use context::AppContext;

/// The metrics route alone, for `--metrics-bind`.
pub fn metrics_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/metrics", &["GET"]).route(web::get().to(scrape::metrics)))
        .default_service(web::to(not_found));
}

/// Everything, with `/metrics` unless it is served elsewhere.
pub fn routes_with_metrics(cfg: &mut web::ServiceConfig, origins: &CorsOrigins) {
    cfg.service(resource("/metrics", &["GET"]).route(web::get().to(scrape::metrics)));
    routes(cfg, origins);
}

/// Everything; `origins` are the pages elsewhere that may call the API.
pub fn routes(cfg: &mut web::ServiceConfig, origins: &CorsOrigins) {
    cfg.app_data(json::config())
        .app_data(json::path_config())
        .app_data(json::query_config())
        .configure(|cfg| route_table::register(cfg, origins))
        .configure(site::routes)
        .default_service(web::to(not_found));
}

/// A resource whose other methods get 405 in the contract's error shape,
/// with the `Allow` header (its `methods`) that RFC 9110 asks of a 405.
fn resource(path: &str, methods: &[&str]) -> actix_web::Resource {
    let allow = methods.join(", ");
    web::resource(path).default_service(web::to(move |req: HttpRequest| {
        let allow = allow.clone();
        async move { method_not_allowed(req, allow) }
    }))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if site::wants_html(&req) {
        return Ok(site::not_found_page());
    }
    Err(ApiError::NotFound(format!(
        "no such endpoint: {}",
        req.path()
    )))
}

fn method_not_allowed(req: HttpRequest, allow: String) -> HttpResponse {
    let mut res =
        ApiError::MethodNotAllowed(format!("{} is not allowed on {}", req.method(), req.path()))
            .error_response();
    if let Ok(allow) = header::HeaderValue::try_from(allow) {
        res.headers_mut().insert(header::ALLOW, allow);
    }
    res
}
