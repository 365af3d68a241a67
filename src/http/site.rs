//! The web app: the files under `web/`, built into the binary (read from
//! disk in debug builds, so pages can be edited without rebuilding). Pages
//! are plain ES modules: nothing to build. Every response of the server
//! gets the security headers here.

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse};
use rust_embed::Embed;

use crate::error::ApiError;

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

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(landing))
        .route("/r/{slug}", web::get().to(room_page))
        .route("/r/{slug}/{page}", web::get().to(room_page))
        .route("/{file:(css|js)/.+}", web::get().to(asset));
}

async fn landing(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    serve(&req, "index.html")
}

/// Every room page is one shell; its script picks the view from the path.
async fn room_page(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    serve(&req, "room.html")
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
