//! The web app: the files under `web/`, built into the binary (read from
//! disk in debug builds, so pages can be edited without rebuilding). Pages
//! are plain ES modules: nothing to build. Every response of the server
//! gets the security headers here.

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse};
use rust_embed::Embed;

use crate::http::error::ApiError;

#[derive(Embed)]
#[folder = "web/"]
struct Assets;

/// No inline scripts or styles, no plugins, no framing; media and
/// WebSocket traffic go to this origin only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
}

/// The pages of a room besides its attend page (`/r/{slug}`).
const ROOM_PAGES: [&str; 4] = ["present", "moderate", "report", "replay"];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(landing))
        .route("/favicon.svg", web::get().to(favicon))
        .route("/favicon.ico", web::get().to(favicon))
        .route("/r/{slug}", web::get().to(room_page))
        .route("/r/{slug}/{page}", web::get().to(room_page))
        .route("/{file:(css|js)/.+}", web::get().to(asset));
}

async fn landing(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    serve(&req, "index.html")
}

/// Browsers ask for /favicon.ico whatever the page says; both get the SVG.
async fn favicon(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    serve(&req, "favicon.svg")
}

/// Every room page is one shell; its script picks the view from the path.
/// A link that names no possible room or page gets the 404 page at once.
async fn room_page(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let slug_ok = req
        .match_info()
        .get("slug")
        .is_some_and(|s| crate::domain::Slug::parse(s).is_ok());
    let page_ok = req
        .match_info()
        .get("page")
        .is_none_or(|p| ROOM_PAGES.contains(&p));
    if !(slug_ok && page_ok) {
        return Ok(not_found_page());
    }
    serve(&req, "room.html")
}

/// The 404 page, for a person's browser that followed a wrong link.
pub fn not_found_page() -> HttpResponse {
    match Assets::get("404.html") {
        Some(file) => HttpResponse::NotFound()
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(file.data.into_owned()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Whether the request is a browser navigating to a page (not a script or
/// API client): those get HTML errors, everyone else JSON.
pub fn wants_html(req: &HttpRequest) -> bool {
    !req.path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

async fn asset(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    serve(&req, &path)
}

fn serve(req: &HttpRequest, path: &str) -> Result<HttpResponse, ApiError> {
    let file =
        Assets::get(path).ok_or_else(|| ApiError::NotFound(format!("no such file: /{path}")))?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    // Names are not content-hashed, so browsers revalidate every time: a
    // deploy is seen at once, and an unchanged file costs a 304.
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if fresh {
        return Ok(res.finish());
    }
    let mime = file.metadata.mimetype();
    let mime = if mime.starts_with("text/") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    let mime = HeaderValue::from_str(&mime)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok(res
        .insert_header((header::CONTENT_TYPE, mime))
        .body(file.data.into_owned()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
