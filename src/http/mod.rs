//! The HTTP surface: routes, extractors, limits. Handlers parse, check
//! permissions and call the store; rules live in `domain`.

pub mod auth;
pub mod chat;
pub mod client_ip;
pub mod context;
pub mod export;
pub mod health;
pub mod join;
pub mod json;
pub mod media;
pub mod moderation;
pub mod questions;
pub mod rate_limit;
pub mod rooms;
pub mod scrape;
pub mod site;
pub mod spans;
pub mod ws;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;

pub use context::AppContext;

/// The metrics route alone, for `--metrics-bind`.
pub fn metrics_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/metrics").route(web::get().to(scrape::metrics)))
        .default_service(web::to(not_found));
}

/// Everything, with `/metrics` unless it is served elsewhere.
pub fn routes_with_metrics(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/metrics").route(web::get().to(scrape::metrics)));
    routes(cfg);
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json::config())
        .app_data(json::path_config())
        .app_data(json::query_config())
        .service(
            web::scope("/api")
                .service(resource("/health").route(web::get().to(health::health)))
                .service(resource("/rooms").route(web::post().to(rooms::create)))
                .service(
                    resource("/rooms/{slug}")
                        .route(web::get().to(rooms::card))
                        .route(web::patch().to(moderation::settings))
                        .route(web::delete().to(moderation::end)),
                )
                .service(resource("/rooms/{slug}/join").route(web::post().to(join::join)))
                .service(resource("/rooms/{slug}/me").route(web::get().to(join::me)))
                .service(resource("/rooms/{slug}/ws").route(web::get().to(ws::ws)))
                .service(
                    resource("/rooms/{slug}/messages")
                        .route(web::get().to(chat::list))
                        .route(web::post().to(chat::send)),
                )
                .service(
                    resource("/rooms/{slug}/messages/{id}").route(web::delete().to(chat::delete)),
                )
                .service(
                    resource("/rooms/{slug}/messages/{id}/promote")
                        .route(web::post().to(chat::promote)),
                )
                .service(
                    resource("/rooms/{slug}/questions")
                        .route(web::get().to(questions::list))
                        .route(web::post().to(questions::ask)),
                )
                .service(
                    resource("/rooms/{slug}/questions/{id}")
                        .route(web::patch().to(questions::update)),
                )
                .service(
                    resource("/rooms/{slug}/questions/{id}/vote")
                        .route(web::put().to(questions::vote_on))
                        .route(web::delete().to(questions::vote_off)),
                )
                .service(
                    resource("/rooms/{slug}/participants/{id}/kick")
                        .route(web::post().to(moderation::kick)),
                )
                .service(resource("/rooms/{slug}/stats").route(web::get().to(moderation::stats)))
                .service(
                    resource("/rooms/{slug}/stats.csv").route(web::get().to(export::attendance)),
                )
                .service(
                    resource("/rooms/{slug}/questions.csv").route(web::get().to(export::questions)),
                )
                .service(resource("/rooms/{slug}/whip").route(web::post().to(media::whip)))
                .service(resource("/rooms/{slug}/whep").route(web::post().to(media::whep)))
                .service(
                    resource("/rooms/{slug}/media/{id}")
                        .route(web::patch().to(media::trickle))
                        .route(web::delete().to(media::stop)),
                ),
        )
        .configure(site::routes)
        .default_service(web::to(not_found));
}

/// A resource whose unknown methods get 405 in the contract's error shape.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no such endpoint: {}",
        req.path()
    )))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        req.method(),
        req.path()
    )))
}
