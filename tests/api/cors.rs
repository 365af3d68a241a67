//! WHIP/WHEP from pages on other origins, against the real server: every
//! media route of the route table answers the CORS preflight and `OPTIONS`,
//! its responses name the allowed origin and expose Location, Link and
//! ETag; `--cors-origin` narrows who is allowed and then opens the rest of
//! the API to them, which otherwise stays same-origin.

use awc::http::Method;
use podium::config::{Config, CorsOrigin};
use podium::http::route_table::{ApiRoute, CrossOrigin, API_ROUTES};
use serde_json::json;

use crate::kit;
use crate::kit::{Resp, TestApp};

const PLAYER: &str = "https://player.example";
const STRANGER: &str = "https://stranger.example";

/// The media routes a browser calls (OPTIONS is what it calls first).
fn media_routes() -> impl Iterator<Item = &'static ApiRoute> {
    API_ROUTES
        .iter()
        .filter(|r| r.cross_origin == CrossOrigin::Media && r.method != "OPTIONS")
}

/// A room with a presenter, an attendee, the attendee's WHEP session and
/// its event stream.
struct Scene {
    slug: String,
    host_key: String,
    attendee: String,
    session: String,
    events: String,
}

async fn scene(app: &TestApp) -> Scene {
    let room = app.room().await;
    let attendee = room.attendee("Bea").await;
    let session = attendee.whep().await;
    let r = app
        .post(
            &format!("{session}/events"),
            Some(&attendee.token),
            &json!(["layers"]),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    Scene {
        slug: room.slug,
        host_key: room.host_key,
        attendee: attendee.token,
        session,
        events: r.header("location").unwrap().to_owned(),
    }
}

fn path_of(route: &ApiRoute, s: &Scene) -> String {
    if route.path.contains("{secret}") {
        return s.events.clone();
    }
    let id = s.session.rsplit('/').next().unwrap();
    route.path.replace("{slug}", &s.slug).replace("{id}", id)
}

/// What a URL's POST takes: an offer on WHIP and WHEP, JSON on the WHEP
/// extensions' URLs.
fn accepts_post(route: &ApiRoute) -> Option<&'static str> {
    if route.method != "POST" {
        return None;
    }
    let sdp = route.path.ends_with("/whip") || route.path.ends_with("/whep");
    Some(if sdp {
        "application/sdp"
    } else {
        "application/json"
    })
}

/// The preflight Chromium sends before `method` with a bearer token and a
/// body type.
async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> Resp {
    let req = app
        .request(Method::OPTIONS, path, None)
        .insert_header(("Origin", origin))
        .insert_header(("Access-Control-Request-Method", method))
        .insert_header((
            "Access-Control-Request-Headers",
            "authorization,content-type,if-match",
        ));
    app.send(req, None).await
}

/// A comma-separated header as lower-case items.
fn list(r: &Resp, name: &str) -> Vec<String> {
    r.header(name)
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn assert_lists(r: &Resp, name: &str, expected: &[&str], what: &str) {
    let got = list(r, name);
    for e in expected {
        assert!(
            got.iter().any(|g| g == e),
            "{what}: {name} lacks {e}: {got:?}"
        );
    }
}

/// The request a player makes on `route`, from `origin`.
async fn call(app: &TestApp, route: &ApiRoute, s: &Scene, origin: &str) -> Resp {
    let path = path_of(route, s);
    let req = app
        .request(route.method(), &path, None)
        .insert_header(("Origin", origin));
    let token = ("Authorization", format!("Bearer {}", s.attendee));
    if route.path.ends_with("/layer") {
        return app.send(req.insert_header(token), Some(&json!({}))).await;
    }
    if route.path.ends_with("/events") {
        return app
            .send_body(req.insert_header(token), "application/json", "[\"layers\"]")
            .await;
    }
    if route.method == "GET" {
        // An EventSource: no token, and the stream goes on; its head is
        // what this checks.
        let res = req.send().await.expect("the stream answers");
        return Resp {
            status: res.status(),
            headers: res.headers().clone(),
            body: serde_json::Value::Null,
            text: String::new(),
            raw: Vec::new(),
        };
    }
    match (route.method, route.path.ends_with("/whip")) {
        ("POST", true) => {
            let req = req.insert_header(("Authorization", format!("Bearer {}", s.host_key)));
            app.send_body(req, "application/sdp", kit::sdp::offer(&kit::sdp::AV_SEND))
                .await
        }
        ("POST", false) => {
            let req = req.insert_header(("Authorization", format!("Bearer {}", s.attendee)));
            app.send_body(req, "application/sdp", kit::sdp::offer(&kit::sdp::AV_RECV))
                .await
        }
        ("PATCH", _) => {
            let req = req.insert_header(("Authorization", format!("Bearer {}", s.attendee)));
            app.send_body(
                req,
                "application/trickle-ice-sdpfrag",
                "a=end-of-candidates\r\n",
            )
            .await
        }
        ("DELETE", _) => {
            let req = req.insert_header(("Authorization", format!("Bearer {}", s.attendee)));
            app.send(req, None).await
        }
        (m, p) => panic!("{m} {p}: teach tests/api/cors.rs how a player calls this route"),
    }
}

#[actix_rt::test]
async fn every_media_url_answers_the_preflight_of_any_origin_by_default() {
    let app = kit::spawn_app().await;
    let s = scene(&app).await;
    let mut seen = 0;
    for route in media_routes() {
        seen += 1;
        let path = path_of(route, &s);
        let what = format!("preflight of {} {}", route.method, route.path);
        let r = preflight(&app, &path, PLAYER, route.method).await;
        assert_eq!(r.status, 204, "{what}: {}", r.body);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{what}");
        assert_lists(
            &r,
            "access-control-allow-methods",
            &["post", "patch", "delete"],
            &what,
        );
        assert_lists(
            &r,
            "access-control-allow-headers",
            &["authorization", "content-type", "if-match"],
            &what,
        );
        // Bearer tokens, never cookies: nothing asks the browser to send any.
        assert_eq!(r.header("access-control-allow-credentials"), None, "{what}");
        assert_lists(
            &r,
            "allow",
            &[&route.method.to_ascii_lowercase(), "options"],
            &what,
        );
        assert_eq!(r.header("accept-post"), accepts_post(route), "{what}");

        // A plain OPTIONS (a client probing what the URL takes).
        let r = app
            .send(app.request(Method::OPTIONS, &path, None), None)
            .await;
        assert_eq!(r.status, 204, "OPTIONS {}: {}", route.path, r.body);
        assert_eq!(
            r.header("accept-post"),
            accepts_post(route),
            "OPTIONS {}",
            route.path
        );
        if route.path.ends_with("/media/{id}") {
            assert_eq!(
                r.header("accept-patch"),
                Some("application/trickle-ice-sdpfrag")
            );
        }
    }
    assert_eq!(
        seen, 7,
        "WHIP, WHEP, the session's PATCH and DELETE, its layer URL, its events URL and stream"
    );

    // What the preflight does not allow is refused in the contract's shape.
    let whep = format!("/api/rooms/{}/whep", s.slug);
    let r = preflight(&app, &whep, PLAYER, "PUT").await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (403, "forbidden"),
        "{}",
        r.body
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
    let req = app
        .request(Method::OPTIONS, &whep, None)
        .insert_header(("Origin", PLAYER))
        .insert_header(("Access-Control-Request-Method", "POST"))
        .insert_header((
            "Access-Control-Request-Headers",
            "authorization,x-tracking-id",
        ));
    let r = app.send(req, None).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (403, "forbidden"),
        "{}",
        r.body
    );
}

#[actix_rt::test]
async fn media_responses_name_the_origin_and_expose_location_link_and_etag() {
    let app = kit::spawn_app().await;
    let s = scene(&app).await;
    // The session's DELETE last: the other calls need it.
    let mut routes: Vec<_> = media_routes().collect();
    routes.sort_by_key(|r| r.method == "DELETE");
    for route in routes {
        let what = format!("{} {}", route.method, route.path);
        let r = call(&app, route, &s, PLAYER).await;
        assert!(r.status.is_success(), "{what}: {} {}", r.status, r.body);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{what}");
        assert_lists(
            &r,
            "access-control-expose-headers",
            &["location", "link", "etag"],
            &what,
        );
        if r.status == 201 {
            assert!(r.header("location").is_some(), "{what}: a Location to read");
        }
    }
    // Errors too, so a player can tell the viewer why.
    let r = app
        .send_body(
            app.request(Method::POST, &format!("/api/rooms/{}/whep", s.slug), None)
                .insert_header(("Origin", PLAYER)),
            "application/sdp",
            kit::sdp::offer(&kit::sdp::AV_RECV),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "unauthorized"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[actix_rt::test]
async fn the_rest_of_the_api_stays_same_origin_under_the_default() {
    let app = kit::spawn_app().await;
    let s = scene(&app).await;
    let chat = format!("/api/rooms/{}/messages", s.slug);
    let r = preflight(&app, &chat, PLAYER, "POST").await;
    assert!(!r.status.is_success(), "{}: {}", r.status, r.body);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = app
        .send(
            app.request(Method::GET, &chat, Some(&s.attendee))
                .insert_header(("Origin", PLAYER)),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        None,
        "the browser keeps the chat from the other page"
    );
    // The server's own pages send their Origin too, and need no CORS.
    let own = app
        .send(
            app.request(Method::POST, &chat, Some(&s.attendee))
                .insert_header(("Origin", app.base.as_str())),
            Some(&json!({"body": "hi"})),
        )
        .await;
    assert_eq!(own.status, 201, "{}", own.body);
}

#[actix_rt::test]
async fn named_origins_alone_are_allowed_and_reach_the_whole_api() {
    let app = kit::spawn_app_with(|c| {
        c.cors_origin = vec![CorsOrigin::Named(PLAYER.into())];
    })
    .await;
    let s = scene(&app).await;
    for route in media_routes() {
        let path = path_of(route, &s);
        let what = format!("preflight of {} {}", route.method, route.path);
        let r = preflight(&app, &path, PLAYER, route.method).await;
        assert_eq!(r.status, 204, "{what}: {}", r.body);
        // The origin itself, and Vary so no cache hands it to another.
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some(PLAYER),
            "{what}"
        );
        assert_lists(&r, "vary", &["origin"], &what);
        let r = preflight(&app, &path, STRANGER, route.method).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (403, "forbidden"),
            "{what} from a stranger"
        );
        assert_eq!(r.header("access-control-allow-origin"), None);
    }
    let whep = API_ROUTES
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/whep"))
        .unwrap();
    let r = call(&app, whep, &s, PLAYER).await;
    assert_eq!(r.header("access-control-allow-origin"), Some(PLAYER));
    let r = call(&app, whep, &s, STRANGER).await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        None,
        "the browser keeps the answer from a page on a stranger's origin"
    );

    // The rest of the API opens to the named origin, and to it alone.
    let chat = format!("/api/rooms/{}/messages", s.slug);
    let r = preflight(&app, &chat, PLAYER, "POST").await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(PLAYER));
    assert_lists(
        &r,
        "access-control-allow-methods",
        &["get", "post", "put", "patch", "delete"],
        "API",
    );
    let r = preflight(&app, &chat, STRANGER, "POST").await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"));
    let r = app
        .send(
            app.request(Method::GET, &chat, Some(&s.attendee))
                .insert_header(("Origin", PLAYER)),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(PLAYER));
    let own = app
        .send(
            app.request(Method::POST, &chat, Some(&s.attendee))
                .insert_header(("Origin", app.base.as_str())),
            Some(&json!({"body": "hi"})),
        )
        .await;
    assert_eq!(
        own.status, 201,
        "the server's own pages still work: {}",
        own.body
    );
}

#[actix_rt::test]
async fn any_origin_and_named_ones_together_are_refused_at_start() {
    let mut config = kit::test_config();
    config.cors_origin = Config::from_args(["--cors-origin", "*,https://player.example"])
        .unwrap()
        .cors_origin;
    let error = match podium::startup::Application::build(config).await {
        Ok(_) => panic!("the server started"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("--cors-origin"), "{error}");
}
