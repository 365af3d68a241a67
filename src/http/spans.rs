//! One tracing span per request: method, route pattern, room slug, the
//! participant once known, status, and the client IP (host part zeroed in
//! privacy mode). Tokens, keys and passwords never reach a span: tokens
//! travel in headers, keys in URL fragments, passwords in bodies.

use std::net::IpAddr;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, Error};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

use super::client_ip::client_ip;
use super::AppContext;

pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(req: &ServiceRequest) -> Span {
        let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
        let ctx = req.app_data::<web::Data<AppContext>>();
        let ip = ctx
            .and_then(|ctx| {
                client_ip(req.request(), &ctx.trusted_proxies).map(|ip| shown_ip(ip, ctx.privacy))
            })
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %req.method(),
            route = %route,
            slug = room_slug(req.path()).unwrap_or_default(),
            client = %ip,
            participant = tracing::field::Empty,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(res) => res.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
        // One line per request, with the span's fields: an access log.
        span.in_scope(|| {
            if status.is_server_error() {
                tracing::warn!(status = status.as_u16(), "request failed");
            } else {
                tracing::info!(status = status.as_u16(), "request");
            }
        });
    }
}

/// Notes who is asking on the current request's (or socket's) span.
pub fn record_participant(id: i64) {
    Span::current().record("participant", id);
}

/// The slug in `/api/rooms/{slug}/…` or `/r/{slug}/…`.
fn room_slug(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("/api/rooms/")
        .or_else(|| path.strip_prefix("/r/"))?;
    rest.split('/').next().filter(|s| !s.is_empty())
}

/// The IP as logged: whole, or with the host part zeroed in privacy mode.
pub fn shown_ip(ip: IpAddr, privacy: bool) -> String {
    if !privacy {
        return ip.to_string();
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privacy_mode_keeps_only_the_network() {
        let v4: IpAddr = "203.0.113.77".parse().unwrap();
        let v6: IpAddr = "2001:db8:abcd:12::1".parse().unwrap();
        assert_eq!(shown_ip(v4, false), "203.0.113.77");
        assert_eq!(shown_ip(v4, true), "203.0.113.0/24");
        assert_eq!(shown_ip(v6, true), "2001:db8:abcd::/48");
    }

    #[test]
    fn slugs_come_from_room_paths_only() {
        assert_eq!(room_slug("/api/rooms/talk-abc/ws"), Some("talk-abc"));
        assert_eq!(room_slug("/r/talk-abc/present"), Some("talk-abc"));
        assert_eq!(room_slug("/api/rooms"), None);
        assert_eq!(room_slug("/api/health"), None);
    }
}
