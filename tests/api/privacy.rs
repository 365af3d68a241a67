//! Privacy: an ended room's personal data is erased by the retention job
//! after `--retention-days` (here on a fixed clock) or by its presenter at
//! once; its numbers stay, exactly; afterwards no name or text of it is
//! left in any column of any table, and the room answers 410.

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::kit;

/// Every text a room of `tag` puts in the database, besides its title.
fn needles(tag: &str) -> Vec<String> {
    [
        "presenter",
        "attendee-a",
        "attendee-b",
        "chat",
        "question",
        "answer",
        "poll",
        "option-a",
        "option-b",
        "password",
    ]
    .iter()
    .map(|w| format!("zq{tag}-{w}"))
    .collect()
}

/// A room of `tag` with something of everything, ended; its host key.
async fn session(app: &kit::TestApp, tag: &str) -> (kit::Room, kit::Participant, String) {
    let n = needles(tag);
    let room = app
        .create_room(
            json!({"title": format!("Review {tag}"), "presenter_name": n[0], "password": n[9]}),
        )
        .await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let a = room.joined(json!({"name": n[1], "password": n[9]})).await;
    let b = room.joined(json!({"name": n[2], "password": n[9]})).await;
    let (_ws, _) = a.ws().await;
    assert_eq!(a.post("/messages", json!({"body": n[3]})).await.status, 201);
    let q = a.post("/questions", json!({"body": n[4]})).await.body["id"]
        .as_i64()
        .unwrap();
    assert_eq!(b.put(&format!("/questions/{q}/vote")).await.status, 200);
    moderator
        .patch(&format!("/questions/{q}"), json!({"answer": n[5]}))
        .await;
    let poll = moderator
        .post("/polls", json!({"question": n[6], "options": [n[7], n[8]]}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    moderator
        .patch(&format!("/polls/{poll}"), json!({"status": "open"}))
        .await;
    assert_eq!(
        b.put_json(&format!("/polls/{poll}/vote"), json!({"options": [1]}))
            .await
            .status,
        200
    );
    assert_eq!(
        b.post("/reactions", json!({"emoji": "👏"})).await.status,
        202
    );
    assert_eq!(presenter.delete("").await.status, 200);
    let host = room.host_key.clone();
    (room, a, host)
}

/// How many rows of any text column of any table hold `needle`.
fn found(conn: &mut PgConnection, needle: &str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Col {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
    }
    let cols: Vec<Col> = diesel::sql_query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
            AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY', 'bytea')",
    )
    .load(conn)
    .unwrap();
    assert!(cols.len() > 10, "the scan sees the tables: {}", cols.len());
    cols.into_iter()
        .filter(|c| {
            let n = kit::db::count(
                conn,
                &format!(
                    "SELECT count(*) AS n FROM \"{}\" WHERE encode(convert_to(\"{}\"::text, 'UTF8'), 'escape') LIKE '%{needle}%'",
                    c.table_name, c.column_name
                ),
            );
            n > 0
        })
        .map(|c| format!("{}.{}", c.table_name, c.column_name))
        .collect()
}

fn numbers(stats: &Value) -> Value {
    let mut v = stats.clone();
    let o = v.as_object_mut().unwrap();
    // The texts go; everything else is numbers and times, and stays.
    o.remove("top_questions");
    o.remove("polls");
    o.remove("erased_at");
    v
}

#[actix_rt::test]
async fn a_room_ended_long_ago_is_erased_by_the_job_and_keeps_exactly_its_numbers() {
    let app = kit::spawn_app().await;
    let (old, attendee, host) = session(&app, "old").await;
    let (recent, _, _) = session(&app, "new").await;
    let mut conn = app.db.conn();
    for (room, days) in [(&old, 31), (&recent, 29)] {
        diesel::sql_query(format!(
            "UPDATE rooms SET ended_at = now() - interval '{days} days', started_at = now() - interval '{days} days 1 hour' WHERE slug = '{}'",
            room.slug
        ))
        .execute(&mut conn)
        .unwrap();
    }
    let stats = |room: &kit::Room, key: &str| {
        let (app, path, key) = (&app, room.path("/stats"), key.to_owned());
        async move { app.get(&path, Some(&key)).await }
    };
    let before = stats(&old, &host).await.body;
    assert!(before["top_questions"].as_array().unwrap().len() == 1);
    assert!(before["total_messages"].as_i64().unwrap() == 1);
    for n in needles("old") {
        // The password is stored only as an argon2id hash.
        if !n.ends_with("password") {
            assert!(!found(&mut conn, &n).is_empty(), "{n} is stored before");
        }
    }

    let done = podium::store::retention::run(&mut conn, chrono::Utc::now(), 30).unwrap();
    let erased: Vec<&str> = done.iter().map(|(r, _)| r.slug.as_str()).collect();
    assert_eq!(
        erased,
        [old.slug.as_str()],
        "only the room past its 30 days"
    );
    let (_, counts) = &done[0];
    assert_eq!(
        (
            counts.participants,
            counts.messages,
            counts.questions,
            counts.polls
        ),
        (4, 1, 1, 1)
    );

    let after = stats(&old, &host).await;
    assert_eq!(after.status, 200);
    assert_eq!(
        numbers(&after.body),
        numbers(&before),
        "exactly its numbers"
    );
    assert_eq!(after.body["top_questions"], json!([]));
    assert_eq!(after.body["polls"], json!([]));
    assert!(after.body["erased_at"].is_string());
    for n in needles("old") {
        assert_eq!(
            found(&mut conn, &n),
            Vec::<String>::new(),
            "{n} is left somewhere"
        );
    }
    // The room that ended 29 days ago keeps everything.
    for n in needles("new") {
        if n.ends_with("password") {
            continue; // stored only as an argon2id hash
        }
        assert!(!found(&mut conn, &n).is_empty(), "{n} is kept");
    }
    assert!(stats(&recent, &recent.host_key).await.body["top_questions"][0]["body"].is_string());
    // The erased room answers 410, its card and numbers excepted.
    let r = attendee.get("/messages").await;
    assert_eq!((r.status.as_u16(), r.code()), (410, "room_ended"));
    let card = app.get(&old.path(""), None).await.body;
    assert_eq!(
        (card["erased"].clone(), card["presenter_name"].clone()),
        (json!(true), json!(""))
    );
    assert_eq!(
        app.get(&old.path("/stats.csv"), Some(&host)).await.status,
        200
    );
    assert_eq!(
        app.get(&old.path("/chat.csv"), Some(&host)).await.status,
        410
    );
    // A second run finds nothing more to do.
    assert!(
        podium::store::retention::run(&mut conn, chrono::Utc::now(), 30)
            .unwrap()
            .is_empty()
    );
}

#[actix_rt::test]
async fn the_presenter_erases_a_room_at_once_after_the_end_and_nobody_else_can() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let bea = room.attendee("zqnow-bea").await;
    bea.post("/messages", json!({"body": "zqnow-hello"})).await;
    for who in [&bea, &moderator] {
        let r = who.delete("/data").await;
        assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"));
    }
    let r = presenter.delete("/data").await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (409, "room_live"),
        "not while it runs"
    );
    let mut conn = app.db.conn();
    assert!(
        !found(&mut conn, "zqnow-hello").is_empty(),
        "nothing changed"
    );

    assert_eq!(presenter.delete("").await.status, 200);
    // After the end no token can be had: the presenter link's key erases.
    let key_erase = app.delete(&room.path("/data"), Some(&room.host_key)).await;
    assert_eq!(key_erase.status, 204);
    for n in ["zqnow-bea", "zqnow-hello", "Ada"] {
        assert_eq!(found(&mut conn, n), Vec::<String>::new(), "{n}");
    }
    // Again: already done.
    assert_eq!(
        app.delete(&room.path("/data"), Some(&room.host_key))
            .await
            .status,
        204
    );
    let stats = app
        .get(&room.path("/stats"), Some(&room.moderator_key))
        .await
        .body;
    assert_eq!(stats["total_messages"], 1);
    assert!(stats["erased_at"].is_string());
    let r = bea.get("/questions").await;
    assert_eq!((r.status.as_u16(), r.code()), (410, "room_ended"));
}
