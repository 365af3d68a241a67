//! Creating, reading and ending rooms (POST/GET/DELETE /api/rooms...).

use serde_json::{json, Value};

use crate::kit;
use crate::kit::db::count;

fn card_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[actix_rt::test]
async fn create_returns_slug_keys_and_links() {
    let app = kit::spawn_app().await;
    let r = app
        .post(
            "/api/rooms",
            None,
            &json!({"title": "Rust at Scale", "presenter_name": "Ada", "password": "open sesame", "max_participants": 50}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let b = &r.body;
    let slug = b["slug"].as_str().unwrap();
    assert!(slug.starts_with("rust-at-scale-"), "{slug}");
    assert!(slug.len() >= "rust-at-scale-".len() + 10);
    assert_eq!(b["title"], "Rust at Scale");
    let host_key = b["host_key"].as_str().unwrap();
    let moderator_key = b["moderator_key"].as_str().unwrap();
    // 128 bits in base64 need at least 22 characters.
    assert!(host_key.len() >= 22 && moderator_key.len() >= 22);
    assert_ne!(host_key, moderator_key);
    assert_eq!(b["urls"]["attend"], format!("{}/r/{slug}", app.base));
    assert!(b["urls"]["present"].as_str().unwrap().contains(host_key));
    assert!(b["urls"]["moderate"]
        .as_str()
        .unwrap()
        .contains(moderator_key));
    assert!(!b["urls"]["attend"].as_str().unwrap().contains(host_key));
}

#[actix_rt::test]
async fn public_card_shows_the_room_and_no_secret() {
    let app = kit::spawn_app().await;
    let room = app
        .create_room(
            json!({"title": "Q3 all hands", "presenter_name": "Grace", "password": "pw-123"}),
        )
        .await;
    let r = room.card().await;
    assert_eq!(r.status, 200);
    assert_eq!(
        card_keys(&r.body),
        [
            "created_at",
            "erased",
            "has_password",
            "max_participants",
            "participant_count",
            "presenter_name",
            "retention_days",
            "settings",
            "slug",
            "status",
            "title"
        ]
    );
    assert_eq!(r.body["title"], "Q3 all hands");
    assert_eq!(r.body["presenter_name"], "Grace");
    assert_eq!(r.body["has_password"], true);
    assert_eq!(r.body["status"], "open");
    assert_eq!(r.body["participant_count"], 0);
    assert_eq!(r.body["max_participants"], 1000);
    assert_eq!(
        r.body["settings"],
        json!({"chat_enabled": true, "questions_enabled": true, "anonymous_questions": true, "questions_need_approval": false, "locked": false, "max_speakers": 3, "recording": false, "replay_public": false})
    );
    let text = r.body.to_string();
    for secret in [
        room.host_key.as_str(),
        room.moderator_key.as_str(),
        "pw-123",
        "argon2",
    ] {
        assert!(!text.contains(secret), "card leaks {secret}");
    }

    room.joined(json!({"name": "Bob", "password": "pw-123"}))
        .await;
    let r = room.card().await;
    assert_eq!(r.body["participant_count"], 1);
}

#[actix_rt::test]
async fn secrets_are_stored_only_as_hashes() {
    let app = kit::spawn_app().await;
    let room = app
        .create_room(json!({"title": "T", "presenter_name": "P", "password": "correct horse"}))
        .await;
    let token = room
        .joined(json!({"name": "Bob", "password": "correct horse"}))
        .await
        .token;
    let mut conn = app.db.conn();
    let mut dump = |table: &str| -> String {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            t: String,
        }
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("SELECT {table}::text AS t FROM {table}"))
            .load::<Row>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|r| r.t)
            .collect()
    };
    let all = dump("rooms") + &dump("participants");
    for secret in [
        &room.host_key,
        &room.moderator_key,
        &token,
        &"correct horse".to_owned(),
    ] {
        assert!(
            !all.contains(secret.as_str()),
            "a secret is stored in clear"
        );
    }
    assert!(all.contains("$argon2id$"), "password hashed with argon2id");
}

#[actix_rt::test]
async fn unknown_and_malformed_slugs() {
    let app = kit::spawn_app().await;
    let r = app.get("/api/rooms/no-such-room-ABCDEFGHIJ", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "not_found");
    for bad in [
        "x",
        "bad%20slug-ABCDEFGHIJ",
        "..%2F..%2Fetc",
        &"a".repeat(300),
    ] {
        // A mistyped or truncated link is a room that does not exist.
        let r = app.get(&format!("/api/rooms/{bad}"), None).await;
        assert_eq!(r.status, 404, "{bad}: {}", r.body);
        assert_eq!(r.code(), "not_found");
        assert_eq!(
            r.body["error"]["message"],
            "No such room. Check the link you were given."
        );
    }
}

#[actix_rt::test]
async fn links_are_lower_case_and_work_in_any_case() {
    let app = kit::spawn_app().await;
    let room = app
        .create_room(json!({"title": "Rust at Scale", "presenter_name": "Ada"}))
        .await;
    assert_eq!(room.slug, room.slug.to_lowercase(), "{}", room.slug);
    let shouted = room.slug.to_uppercase();
    let r = app.get(&format!("/api/rooms/{shouted}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["slug"], room.slug.as_str());
    let r = app
        .post(
            &format!("/api/rooms/{shouted}/join"),
            None,
            &json!({"name": "Bob"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.body["token"].as_str().unwrap();
    let r = app
        .get(&format!("/api/rooms/{shouted}/me"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[actix_rt::test]
async fn bad_create_bodies_are_refused_and_create_nothing() {
    let app = kit::spawn_app().await;
    let long = "x".repeat(201);
    let cases = [
        json!({"title": "", "presenter_name": "Ada"}),
        json!({"title": "   ", "presenter_name": "Ada"}),
        json!({"title": long, "presenter_name": "Ada"}),
        json!({"title": "T", "presenter_name": "x".repeat(61)}),
        json!({"title": "T", "presenter_name": ""}),
        json!({"title": "T\u{0007}", "presenter_name": "Ada"}),
        json!({"title": "T", "presenter_name": "A\nda"}),
        json!({"title": 5, "presenter_name": "Ada"}),
        json!({"title": "T", "presenter_name": ["Ada"]}),
        json!({"title": "T"}),
        json!({"presenter_name": "Ada"}),
        json!({"title": "T", "presenter_name": "Ada", "password": ""}),
        json!({"title": "T", "presenter_name": "Ada", "password": "p".repeat(201)}),
        json!({"title": "T", "presenter_name": "Ada", "password": 1234}),
        json!({"title": "T", "presenter_name": "Ada", "max_participants": 0}),
        json!({"title": "T", "presenter_name": "Ada", "max_participants": -5}),
        json!({"title": "T", "presenter_name": "Ada", "max_participants": 1.5}),
        json!({"title": "T", "presenter_name": "Ada", "max_participants": "10"}),
        json!({"title": "T", "presenter_name": "Ada", "max_participants": 100_001}),
        json!({"title": "T", "presenter_name": "Ada", "is_admin": true}),
        json!(["T", "Ada"]),
        json!(null),
    ];
    for body in cases {
        let r = app.post("/api/rooms", None, &body).await;
        assert_eq!(r.status, 400, "{body} -> {}", r.body);
        assert_eq!(r.code(), "invalid_input", "{body}");
    }
    let r = app
        .post_raw("/api/rooms", "application/json", "{not json")
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_input"));
    let r = app
        .post_raw(
            "/api/rooms",
            "text/plain",
            r#"{"title":"T","presenter_name":"A"}"#,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (415, "unsupported_media_type")
    );
    let huge = format!(
        r#"{{"title":"T","presenter_name":"A","password":"{}"}}"#,
        "p".repeat(70_000)
    );
    let r = app.post_raw("/api/rooms", "application/json", huge).await;
    assert_eq!((r.status.as_u16(), r.code()), (413, "too_large"));

    assert_eq!(
        count(&mut app.db.conn(), "SELECT count(*) AS n FROM rooms"),
        0
    );
}

#[actix_rt::test]
async fn text_is_trimmed_and_otherwise_verbatim() {
    let app = kit::spawn_app().await;
    let room = app
        .create_room(json!({"title": "  Ünïcode <b>talk</b> 🎤  ", "presenter_name": " Zoë "}))
        .await;
    let r = room.card().await;
    assert_eq!(r.body["title"], "Ünïcode <b>talk</b> 🎤");
    assert_eq!(r.body["presenter_name"], "Zoë");
    // Two hundred characters, not bytes.
    app.create_room(json!({"title": "é".repeat(200), "presenter_name": "Zoë"}))
        .await;
}

#[actix_rt::test]
async fn presenter_ends_the_room_and_gets_stats() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let attendee = room.attendee("Bob").await;

    let r = app.delete(&room.path(""), None).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "unauthorized"));
    for who in [&attendee, &moderator] {
        let r = who.delete("").await;
        assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"));
    }
    assert_eq!(room.card().await.body["status"], "open");

    let r = presenter.delete("").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let stats = &r.body["stats"];
    assert_eq!(stats["total_participants"], 3);
    assert_eq!(stats["total_messages"], 0);
    assert_eq!(stats["total_questions"], 0);
    assert_eq!(stats["total_votes"], 0);
    assert!(stats["ended_at"].is_string());
    assert!(stats["started_at"].is_string());
    assert!(stats["duration_seconds"].as_i64().unwrap() >= 0);
    assert!(stats["timeline"].is_array());
    assert!(stats["peak_concurrent"].is_number());

    assert_eq!(room.card().await.body["status"], "ended");
    let r = room.join(json!({"name": "Late"})).await;
    assert_eq!((r.status.as_u16(), r.code()), (410, "room_ended"));
    let r = room
        .join(json!({"name": "Ada", "key": room.host_key}))
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (410, "room_ended"));
    let r = presenter.delete("").await;
    assert_eq!((r.status.as_u16(), r.code()), (410, "room_ended"));
    // A participant reloading the page still learns that it ended.
    let r = attendee.get("/me").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["room"]["status"], "ended");
}
