//! Calls from pages on other origins (an embedded WHEP player, a publishing
//! page on a CDN): the CORS checks and headers are actix-cors's, set up per
//! resource from the route table; this module picks its settings and keeps
//! the contract's shapes around it: a preflight is answered 204 with what
//! the URL accepts, a refused one with the contract's JSON error.
//!
//! Credentials are bearer tokens in `Authorization`, never cookies, so
//! allowing an origin lets its pages send requests only with a token they
//! already hold: it grants nothing by itself.

use actix_cors::{Cors, CorsError};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::ResponseError;

use super::route_table::{routes_of, CrossOrigin, API_ROUTES};
use crate::config::CorsOrigins;
use crate::http::error::ApiError;

/// Response headers pages on other origins may read: the session URL,
/// ICE servers and extensions, the session's entity tag, and (for a 429)
/// how long to wait.
const EXPOSED: [header::HeaderName; 4] = [
    header::LOCATION,
    header::LINK,
    header::ETAG,
    header::RETRY_AFTER,
];

/// Request headers they may send: the bearer token, the body's type, and
/// the WHIP/WHEP ICE restart's `If-Match` (some clients send the session's
/// tag as `ETag` instead, on their trickle PATCH).
const ALLOWED_HEADERS: [header::HeaderName; 4] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::IF_MATCH,
    header::ETAG,
];

/// How long a browser may reuse a preflight's answer (Chromium caps it at
/// two hours).
const MAX_AGE_SECS: usize = 3600;

/// The CORS middleware for a resource of `reach`, or `None` when pages on
/// other origins get no access to it (the browser then keeps the response
/// from them).
pub fn policy(reach: CrossOrigin, origins: &CorsOrigins) -> Option<Cors> {
    let cors = match (reach, origins) {
        (CrossOrigin::Named, CorsOrigins::Any) => return None,
        // `*`, not the caller's origin echoed: it says plainly that no
        // credential rides along, and shared caches can keep one copy.
        (CrossOrigin::Media, CorsOrigins::Any) => {
            Cors::default().allow_any_origin().send_wildcard()
        }
        (_, CorsOrigins::Named(list)) => list
            .iter()
            .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin)),
    };
    Some(
        cors.allowed_methods(methods(reach))
            .allowed_headers(ALLOWED_HEADERS)
            .expose_headers(EXPOSED)
            .max_age(MAX_AGE_SECS),
    )
}

/// The methods a preflight may ask for: on WHIP/WHEP those the contract
/// names, and OPTIONS for clients that probe with it (to learn whether the
/// server takes trickle ICE); on the rest of the API every method it has.
fn methods(reach: CrossOrigin) -> Vec<Method> {
    match reach {
        CrossOrigin::Media => vec![
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ],
        CrossOrigin::Named => {
            let mut all: Vec<Method> = Vec::new();
            for r in API_ROUTES {
                if !all.contains(&r.method()) {
                    all.push(r.method());
                }
            }
            all
        }
    }
}

/// What a URL accepts, for its OPTIONS: the methods the route table has
/// for it and, on WHIP/WHEP, the body types of its POST (an SDP offer) and
/// PATCH (trickle ICE).
pub fn describe(pattern: &str, headers: &mut HeaderMap) {
    let routes: Vec<_> = routes_of(pattern).collect();
    if routes.is_empty() {
        return;
    }
    let allow = routes
        .iter()
        .map(|r| r.method)
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(allow) = HeaderValue::from_str(&allow) {
        headers.insert(header::ALLOW, allow);
    }
    if routes.iter().any(|r| r.cross_origin != CrossOrigin::Media) {
        return;
    }
    if routes.iter().any(|r| r.method == "POST") {
        // WHIP and WHEP take an offer; the WHEP extensions' URLs JSON.
        let sdp = pattern.ends_with("/whip") || pattern.ends_with("/whep");
        headers.insert(
            header::HeaderName::from_static("accept-post"),
            HeaderValue::from_static(if sdp {
                "application/sdp"
            } else {
                "application/json"
            }),
        );
    }
    if routes.iter().any(|r| r.method == "PATCH") {
        headers.insert(
            header::HeaderName::from_static("accept-patch"),
            HeaderValue::from_static("application/trickle-ice-sdpfrag"),
        );
    }
}

/// Wraps the CORS middleware: a preflight it allowed is answered 204 with
/// what the URL accepts (as a plain OPTIONS is), one it refused with the
/// contract's error instead of actix-cors's plain text.
pub async fn contract_shape(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut res = next.call(req).await?;
    if !preflight {
        return Ok(res.map_into_left_body());
    }
    let refused = res
        .response()
        .error()
        .and_then(|e| e.as_error::<CorsError>())
        .map(|e| refusal(e, &origin));
    if let Some(error) = refused {
        let (req, _) = res.into_parts();
        return Ok(ServiceResponse::new(req, error.error_response()).map_into_right_body());
    }
    if res.status() == StatusCode::OK {
        *res.response_mut().status_mut() = StatusCode::NO_CONTENT;
        let pattern = res.request().match_pattern().unwrap_or_default();
        describe(&pattern, res.headers_mut());
    }
    Ok(res.map_into_left_body())
}

fn refusal(e: &CorsError, origin: &str) -> ApiError {
    match e {
        CorsError::OriginNotAllowed => ApiError::Forbidden(format!(
            "pages on {origin} may not call this URL (the server's --cors-origin does not list it)"
        )),
        CorsError::MethodNotAllowed => {
            ApiError::Forbidden("that method may not be called from another origin".into())
        }
        CorsError::HeadersNotAllowed => ApiError::Forbidden(
            "pages on other origins may send only Authorization, Content-Type, If-Match and ETag"
                .into(),
        ),
        other => ApiError::InvalidInput(format!("bad CORS preflight: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::dev::{Service, Transform};
    use actix_web::test::{ok_service, TestRequest};

    use super::*;
    use crate::config::Config;

    #[actix_web::test]
    async fn every_origin_the_flag_accepts_makes_a_working_policy() {
        let config = Config::from_args([
            "--cors-origin",
            "https://Bücher.example,http://[::1]:8080,http://127.0.0.1:8081",
        ])
        .unwrap();
        let origins = config.cors_origins().unwrap();
        let CorsOrigins::Named(list) = &origins else {
            panic!("named origins: {origins:?}")
        };
        assert_eq!(
            list[0], "https://xn--bcher-kva.example",
            "as browsers send it"
        );
        for reach in [CrossOrigin::Media, CrossOrigin::Named] {
            let cors = policy(reach, &origins)
                .unwrap()
                .new_transform(ok_service())
                .await
                .expect("the policy builds");
            for origin in list {
                let req = TestRequest::default()
                    .method(Method::OPTIONS)
                    .insert_header((header::ORIGIN, origin.as_str()))
                    .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "POST"))
                    .to_srv_request();
                let res = cors.call(req).await.unwrap();
                assert_eq!(
                    res.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN),
                    Some(&HeaderValue::from_str(origin).unwrap()),
                    "{reach:?} {origin}"
                );
            }
        }
    }
}
