//! GET /api/health, and what the API does when the database goes away.

use serde_json::json;

use crate::kit;

#[actix_rt::test]
async fn health_reports_the_database() {
    let app = kit::spawn_app().await;
    let r = app.get("/api/health", None).await;
    assert_eq!(r.status, 200);
    // Without --node-id a node is named by its host and HTTP port.
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    let port = app.api.base.rsplit(':').next().unwrap().to_owned();
    assert_eq!(
        r.body,
        json!({"status": "ok", "database": "ok", "retention_days": 30, "node": format!("{host}:{port}")})
    );
}

#[actix_rt::test]
async fn database_outage_gives_503_unavailable() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    app.db.drop_now();

    let r = app.get("/api/health", None).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body["database"], "unavailable");
    assert_eq!(r.code(), "unavailable");

    let r = app
        .post(
            "/api/rooms",
            None,
            &json!({"title": "T", "presenter_name": "P"}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code(), "unavailable");

    let r = room.join(json!({"name": "Bob"})).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code(), "unavailable");
}

#[actix_rt::test]
async fn unknown_paths_and_methods_answer_in_the_error_shape() {
    let app = kit::spawn_app().await;
    let r = app.get("/api/nothing-here", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "not_found");
    let r = app.get("/api/rooms", None).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.code(), "method_not_allowed");
    // RFC 9110: a 405 says which methods the path has.
    assert_eq!(r.headers.get("allow").unwrap(), "POST");
    let r = app.delete("/api/rooms/some-room-abcdefghij/me", None).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers.get("allow").unwrap(), "GET");
    let r = app.get("/api/rooms/some-room-abcdefghij/whip", None).await;
    assert_eq!(r.headers.get("allow").unwrap(), "POST, OPTIONS");
}
