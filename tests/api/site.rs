//! The web app's files as the server hands them out: the right page for
//! each address, security headers on everything, revalidation by ETag.

use serde_json::Value;

use crate::kit;

#[actix_rt::test]
async fn pages_and_modules_are_served_with_security_headers() {
    let app = kit::spawn_app().await;
    let landing = app.get("/", None).await;
    assert_eq!(landing.status, 200);
    assert!(landing
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let Value::String(html) = &landing.body else {
        panic!("HTML expected")
    };
    assert!(html.contains("/js/landing.js"));

    for page in ["", "/present", "/moderate", "/report"] {
        let r = app
            .get(&format!("/r/some-room-abc1234567{page}"), None)
            .await;
        assert_eq!(r.status, 200, "/r/…{page}");
        let Value::String(html) = &r.body else {
            panic!("HTML expected")
        };
        assert!(html.contains("/js/app.js"), "the room shell for {page}");
    }

    let js = app.get("/js/live.js", None).await;
    assert_eq!(js.status, 200);
    assert!(js
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    for r in [&landing, &js] {
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(r.header("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(r.header("referrer-policy").unwrap(), "no-referrer");
        assert_eq!(r.header("cache-control").unwrap(), "no-cache");
    }
    // API answers carry the same headers.
    let health = app.get("/api/health", None).await;
    assert_eq!(health.header("x-content-type-options").unwrap(), "nosniff");

    let missing = app.get("/js/nothing-here.js", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "not_found");
    let outside = app.get("/js/../Cargo.toml", None).await;
    assert_eq!(outside.status, 404, "nothing outside web/ is served");
}

#[actix_rt::test]
async fn an_unchanged_file_is_revalidated_with_304() {
    let app = kit::spawn_app().await;
    let first = app.get("/css/app.css", None).await;
    let etag = first.header("etag").unwrap().to_owned();
    let again = app
        .send(
            app.request(awc::http::Method::GET, "/css/app.css", None)
                .insert_header(("If-None-Match", etag.clone())),
            None,
        )
        .await;
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag").unwrap(), etag);
    let stale = app
        .send(
            app.request(awc::http::Method::GET, "/css/app.css", None)
                .insert_header(("If-None-Match", "\"something-else\"")),
            None,
        )
        .await;
    assert_eq!(stale.status, 200);
}

/// A browser following a wrong link gets a page that says so, with a 404;
/// scripts and API clients get the contract's JSON error.
#[actix_rt::test]
async fn wrong_links_get_a_404_page_in_browsers_and_json_elsewhere() {
    let app = kit::spawn_app().await;
    let browse = |path: &str| {
        app.request(awc::http::Method::GET, path, None)
            .insert_header(("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"))
    };
    for path in [
        "/r/some-room-abc1234567/nope",
        "/r/some-room-abc1234567/present/extra",
        "/r/trunc",
        "/no/such/page",
    ] {
        let r = app.send(browse(path), None).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(
            r.header("content-type").unwrap().starts_with("text/html"),
            "{path}"
        );
        let Value::String(html) = &r.body else {
            panic!("HTML expected for {path}")
        };
        assert!(html.contains("<h1>Not found</h1>"), "{path}: {html}");
        assert!(r
            .header("content-security-policy")
            .unwrap()
            .contains("script-src 'self'"));
    }
    let r = app.get("/no/such/page", None).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
    let r = app.send(browse("/api/nothing"), None).await;
    assert_eq!(
        r.code(),
        "not_found",
        "the API answers JSON even to a browser"
    );

    for path in ["/favicon.ico", "/favicon.svg"] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type").unwrap(), "image/svg+xml");
    }
    let r = app.get("/", None).await;
    let Value::String(html) = &r.body else {
        panic!("HTML expected")
    };
    assert!(html.contains(r#"rel="icon" href="/favicon.svg""#));
}
