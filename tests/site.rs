//! The web app's files as the server hands them out: the right page for
//! each address, security headers on everything, revalidation by ETag.

mod common;

use serde_json::Value;

fn header<'a>(r: &'a common::Resp, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[actix_rt::test]
async fn pages_and_modules_are_served_with_security_headers() {
    let app = common::spawn_app().await;
    let landing = app.get("/", None).await;
    assert_eq!(landing.status, 200);
    assert!(header(&landing, "content-type").starts_with("text/html"));
    let Value::String(html) = &landing.body else {
        panic!("HTML expected")
    };
    assert!(html.contains("/js/landing.js"));

    for page in ["", "/present", "/moderate", "/report"] {
        let r = app.get(&format!("/r/some-room-abc123{page}"), None).await;
        assert_eq!(r.status, 200, "/r/…{page}");
        let Value::String(html) = &r.body else {
            panic!("HTML expected")
        };
        assert!(html.contains("/js/app.js"), "the room shell for {page}");
    }

    let js = app.get("/js/live.js", None).await;
    assert_eq!(js.status, 200);
    assert!(header(&js, "content-type").starts_with("text/javascript"));
    for r in [&landing, &js] {
        let csp = header(r, "content-security-policy");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(header(r, "x-content-type-options"), "nosniff");
        assert_eq!(header(r, "referrer-policy"), "no-referrer");
        assert_eq!(header(r, "cache-control"), "no-cache");
    }
    // API answers carry the same headers.
    let health = app.get("/api/health", None).await;
    assert_eq!(header(&health, "x-content-type-options"), "nosniff");

    let missing = app.get("/js/nothing-here.js", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "not_found");
    let outside = app.get("/js/../Cargo.toml", None).await;
    assert_eq!(outside.status, 404, "nothing outside web/ is served");
}

#[actix_rt::test]
async fn an_unchanged_file_is_revalidated_with_304() {
    let app = common::spawn_app().await;
    let first = app.get("/css/app.css", None).await;
    let etag = header(&first, "etag").to_owned();
    let again = app
        .send(
            app.request(awc::http::Method::GET, "/css/app.css", None)
                .insert_header(("If-None-Match", etag.clone())),
            None,
        )
        .await;
    assert_eq!(again.status, 304);
    assert_eq!(header(&again, "etag"), etag);
    let stale = app
        .send(
            app.request(awc::http::Method::GET, "/css/app.css", None)
                .insert_header(("If-None-Match", "\"something-else\"")),
            None,
        )
        .await;
    assert_eq!(stale.status, 200);
}
