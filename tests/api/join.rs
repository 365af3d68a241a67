//! Joining by name, password and keys; resuming with the token.

use serde_json::json;

use crate::kit;
use crate::kit::db::count;

#[actix_rt::test]
async fn keys_give_roles_and_no_key_makes_an_attendee() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    for (body, role) in [
        (json!({"name": "Ada", "key": room.host_key}), "presenter"),
        (
            json!({"name": "Mo", "key": room.moderator_key}),
            "moderator",
        ),
        (json!({"name": "Bob"}), "attendee"),
    ] {
        let r = room.join(body).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["participant"]["role"], role);
        assert!(r.body["participant"]["id"].is_i64());
        assert_eq!(r.body["room"]["slug"], room.slug.as_str());
        // 256 bits in base64 need at least 43 characters.
        assert!(r.body["token"].as_str().unwrap().len() >= 43);
    }
    let r = room
        .join(json!({"name": "Eve", "key": "not-the-key-at-all"}))
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "unauthorized"));
    let other = app.room().await;
    let r = room
        .join(json!({"name": "Eve", "key": other.host_key}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (401, "unauthorized"),
        "a key opens only its own room"
    );
}

#[actix_rt::test]
async fn password_room_admits_the_right_password_only() {
    let app = kit::spawn_app().await;
    let room = app
        .create_room(json!({"title": "Board", "presenter_name": "Ada", "password": "s3cret pass"}))
        .await;
    let r = room.join(json!({"name": "Bob"})).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "bad_password"));
    let r = room
        .join(json!({"name": "Bob", "password": "S3cret pass"}))
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "bad_password"));
    let r = room
        .join(json!({"name": "Bob", "password": "s3cret pass"}))
        .await;
    assert_eq!(r.status, 200);
    // Surrounding whitespace is trimmed, as when the password was set.
    let r = room
        .join(json!({"name": "Bob", "password": " s3cret pass "}))
        .await;
    assert_eq!(r.status, 200);
    // Keys bypass the password.
    let r = room
        .join(json!({"name": "Ada", "key": room.host_key}))
        .await;
    assert_eq!(r.body["participant"]["role"], "presenter");
    let r = room
        .join(json!({"name": "Mo", "key": room.moderator_key, "password": "wrong"}))
        .await;
    assert_eq!(r.body["participant"]["role"], "moderator");
    assert_eq!(
        count(&mut app.db.conn(), "SELECT count(*) AS n FROM participants"),
        4,
        "refused joins leave no participant behind"
    );
}

#[actix_rt::test]
async fn a_password_sent_to_an_open_room_is_harmless() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let r = room
        .join(json!({"name": "Bob", "password": "anything"}))
        .await;
    assert_eq!(r.status, 200);
}

#[actix_rt::test]
async fn full_room_refuses_attendees_but_not_staff() {
    let app = kit::spawn_app().await;
    let room = app
        .create_room(json!({"title": "Small", "presenter_name": "Ada", "max_participants": 2}))
        .await;
    room.attendee("A1").await;
    room.attendee("A2").await;
    let r = room.join(json!({"name": "A3"})).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "room_full"));
    room.presenter().await;
    room.moderator().await;
}

#[actix_rt::test]
async fn concurrent_joins_never_overfill_a_room() {
    let app = kit::spawn_app().await;
    let room = app
        .create_room(json!({"title": "Tight", "presenter_name": "Ada", "max_participants": 5}))
        .await;
    let joins = (0..30).map(|i| room.join(json!({"name": format!("P{i}")})));
    let results = futures_util::future::join_all(joins).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    let full = results.iter().filter(|r| r.status == 409).count();
    assert_eq!((ok, full), (5, 25));
    assert_eq!(
        count(&mut app.db.conn(), "SELECT count(*) AS n FROM participants"),
        5
    );
}

#[actix_rt::test]
async fn me_resumes_the_same_participant() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let r = room.join(json!({"name": "Bob"})).await;
    let token = r.body["token"].as_str().unwrap();
    let me = app.get(&room.path("/me"), Some(token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["participant"], r.body["participant"]);
    assert_eq!(me.body["room"]["slug"], room.slug.as_str());
    assert!(
        me.body.get("token").is_none(),
        "the token is never sent back"
    );
}

#[actix_rt::test]
async fn tokens_are_checked() {
    let app = kit::spawn_app().await;
    let a = app.room().await;
    let b = app.room().await;
    let token = a.attendee("Bob").await.token;
    let me_b = b.path("/me");

    let r = app.get(&me_b, Some(&token)).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (401, "unauthorized"),
        "room A's token on room B"
    );
    let truncated = &token[..token.len() - 1];
    // The last character changed (to another one: a token ending in A
    // would otherwise be "forged" into itself).
    let last = if token.ends_with('A') { 'B' } else { 'A' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    let me_a = a.path("/me");
    for bad in [truncated, forged.as_str(), "x", &"y".repeat(500)] {
        let r = app.get(&me_a, Some(bad)).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (401, "unauthorized"),
            "{bad}"
        );
    }
    let r = app.get(&me_a, None).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "unauthorized"));
    let req = app
        .request(awc::http::Method::GET, &me_a, None)
        .insert_header(("Authorization", format!("Basic {token}")));
    let r = app.send(req, None).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "unauthorized"));
    let r = app
        .get("/api/rooms/missing-room-ABCDEFGHIJ/me", Some(&token))
        .await;
    assert_eq!(r.status, 401, "an unknown room is no room of this token");
}

#[actix_rt::test]
async fn bad_join_bodies_are_refused_and_create_nothing() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let cases = [
        json!({"name": ""}),
        json!({"name": "  "}),
        json!({"name": "n".repeat(61)}),
        json!({"name": "Bo\u{0}b"}),
        json!({"name": 42}),
        json!({"name": null}),
        json!({}),
        json!({"name": "Bob", "role": "presenter"}),
        json!({"name": "Bob", "key": ""}),
        json!({"name": "Bob", "key": 12}),
        json!({"name": "Bob", "password": ""}),
        json!({"name": "Bob", "password": false}),
        json!("Bob"),
    ];
    for body in cases {
        let r = room.join(body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (400, "invalid_input"),
            "{body} -> {}",
            r.body
        );
    }
    let bob = json!({"name": "Bob"});
    let r = app.post("/api/rooms/bad!slug/join", None, &bob).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
    let r = app
        .post("/api/rooms/unknown-room-ABCDEFGHIJ/join", None, &bob)
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
    let path = room.path("/join");
    let r = app
        .post_raw(&path, "application/x-www-form-urlencoded", "name=Bob")
        .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (415, "unsupported_media_type")
    );
    let r = app
        .post_raw(
            &path,
            "application/json",
            format!(r#"{{"name":"{}"}}"#, "n".repeat(70_000)),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (413, "too_large"));
    assert_eq!(
        count(&mut app.db.conn(), "SELECT count(*) AS n FROM participants"),
        0
    );
}

/// Joins with the browser mark `cookie` (as a browser would send it back);
/// gives the response and the mark the server set, if any.
async fn join_as_browser(
    app: &kit::TestApp,
    room: &kit::Room,
    cookie: Option<&str>,
    body: serde_json::Value,
) -> (kit::Resp, Option<String>) {
    let mut req = app.request(awc::http::Method::POST, &room.path("/join"), None);
    if let Some(c) = cookie {
        req = req.insert_header(("Cookie", c.to_owned()));
    }
    let r = app.send(req, Some(&body)).await;
    let set = r.header("set-cookie").map(str::to_owned);
    (r, set)
}

#[actix_rt::test]
async fn a_removed_browser_stays_out_under_any_name() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let (r, set) = join_as_browser(&app, &room, None, json!({"name": "Troll"})).await;
    assert_eq!(r.status, 200);
    let set = set.expect("the first join marks the browser");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(
        set.contains(&format!("Path=/api/rooms/{}", room.slug)),
        "scoped to the room: {set}"
    );
    let mark = set.split(';').next().unwrap().to_owned();
    let troll = r.body["participant"]["id"].as_i64().unwrap();
    // The same browser joining again keeps its mark.
    let (again, set_again) =
        join_as_browser(&app, &room, Some(&mark), json!({"name": "Troll 2"})).await;
    assert_eq!(again.status, 200);
    assert!(set_again.is_none(), "the mark is not replaced");

    let kick = format!("/participants/{troll}/kick");
    assert_eq!(moderator.post(&kick, json!({})).await.status, 204);
    let before = count(&mut app.db.conn(), "SELECT count(*) AS n FROM participants");
    let (r, _) = join_as_browser(&app, &room, Some(&mark), json!({"name": "Not a troll"})).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (403, "forbidden"),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["error"]["message"],
        "A moderator removed you from this session, so you cannot rejoin it."
    );
    assert_eq!(
        count(&mut app.db.conn(), "SELECT count(*) AS n FROM participants"),
        before,
        "the refused join stored nothing"
    );
    // Another browser is someone else; another room does not know the mark.
    let (r, _) = join_as_browser(&app, &room, None, json!({"name": "Grace"})).await;
    assert_eq!(r.status, 200);
    let other = app.room().await;
    let (r, _) = join_as_browser(&app, &other, Some(&mark), json!({"name": "Troll"})).await;
    assert_eq!(r.status, 200);
}

#[actix_rt::test]
async fn a_locked_room_admits_no_new_attendees_but_keys_and_tokens_work() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let bob = room.attendee("Bob").await;
    let r = moderator
        .patch("", json!({"settings": {"locked": true}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["settings"]["locked"], true);
    assert_eq!(room.card().await.body["settings"]["locked"], true);

    let r = room.join(json!({"name": "Late"})).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"));
    assert_eq!(
        r.body["error"]["message"],
        "This room is locked: no new attendees can join right now."
    );
    assert_eq!(bob.get("/me").await.status, 200, "Bob's reload works");
    let r = room
        .join(json!({"name": "Mia", "key": room.moderator_key}))
        .await;
    assert_eq!(r.status, 200, "keys still open a locked room");

    moderator
        .patch("", json!({"settings": {"locked": false}}))
        .await;
    assert_eq!(room.join(json!({"name": "Late"})).await.status, 200);
}
