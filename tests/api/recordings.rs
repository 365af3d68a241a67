//! Recordings over REST: who may list them and fetch their files (with
//! Range), the replay's data in time, the presenter deleting one, and an
//! erased room taking its files with it. The files here are planted
//! beside rows the recorder would have written (tests/browser/
//! recording.test.mjs records real media end to end).

use diesel::prelude::*;
use serde_json::json;

use crate::kit;

/// A row and a file of `bytes` for the room, as the recorder leaves them;
/// the file's path.
fn plant(app: &kit::TestApp, slug: &str, bytes: usize) -> std::path::PathBuf {
    use podium::store::recordings::{finish, insert, set_file, NewRecording};
    let mut conn = app.db.conn();
    let room: i64 = podium::store::schema::rooms::table
        .filter(podium::store::schema::rooms::slug.eq(slug))
        .select(podium::store::schema::rooms::id)
        .first(&mut conn)
        .unwrap();
    let start = chrono::Utc::now();
    let id = insert(
        &mut conn,
        &NewRecording {
            room_id: room,
            participant_id: None,
            source: "camera",
            started_at: start,
            content_type: "video/webm",
            file: "",
            url_key: "k3y-of-the-file",
        },
    )
    .unwrap();
    let name = format!("{room}/{id}.webm");
    set_file(&mut conn, id, &name).unwrap();
    finish(
        &mut conn,
        id,
        "complete",
        start + chrono::Duration::seconds(4),
        4000,
        bytes as i64,
    )
    .unwrap();
    let path = app.recordings.join(&name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        (0..bytes).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    path
}

#[actix_rt::test]
async fn recordings_are_for_staff_until_the_room_shares_its_replay_after_the_end() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let attendee = room.attendee("Grace").await;
    let file = plant(&app, &room.slug, 10_000);
    let q = attendee
        .post("/questions", json!({"body": "Is the replay in time?"}))
        .await;
    assert_eq!(q.status, 201);
    let hidden = attendee
        .post("/questions", json!({"body": "A question hidden later"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    moderator
        .patch(&format!("/questions/{hidden}"), json!({"hidden": true}))
        .await;
    assert_eq!(
        attendee
            .post("/messages", json!({"body": "hello"}))
            .await
            .status,
        201
    );

    // Staff and the keys list them; attendees may not.
    assert_eq!(attendee.get("/recordings").await.status, 403);
    let list = moderator.get("/recordings").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let rec = &list.body["recordings"][0];
    assert_eq!(rec["source"], "camera");
    assert_eq!(rec["bytes"], 10_000);
    assert_eq!(rec["duration_seconds"], 4.0);
    assert_eq!(rec["content_type"], "video/webm");
    let by_key = app
        .get(&room.path("/recordings"), Some(&room.moderator_key))
        .await;
    assert_eq!(by_key.status, 200);

    // The file at its URL: whole, a range, and nothing with a wrong key.
    let url = rec["url"].as_str().unwrap().to_owned();
    let whole = app.get(&url, None).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("content-type"), Some("video/webm"));
    assert_eq!(whole.raw.len(), 10_000);
    let ranged = app
        .send(
            app.request(awc::http::Method::GET, &url, None)
                .insert_header(("range", "bytes=1000-1099")),
            None,
        )
        .await;
    assert_eq!(ranged.status, 206);
    assert_eq!(ranged.raw.len(), 100);
    assert_eq!(ranged.raw[0], (1000 % 251) as u8);
    let wrong = app
        .get(&url.replace("k3y-of-the-file", "guess"), None)
        .await;
    assert_eq!(wrong.status, 404);
    assert_eq!(wrong.code(), "not_found");

    // Sharing the replay opens it to attendees once the room ended.
    let shared = moderator
        .patch("", json!({"settings": {"replay_public": true}}))
        .await;
    assert_eq!(shared.body["settings"]["replay_public"], true);
    assert_eq!(attendee.get("/replay").await.status, 403, "not while live");
    assert_eq!(presenter.delete("").await.status, 200);
    let replay = attendee.get("/replay").await;
    assert_eq!(replay.status, 200, "{}", replay.body);
    let questions: Vec<&str> = replay.body["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["body"].as_str().unwrap())
        .collect();
    assert_eq!(questions, ["Is the replay in time?"], "no hidden question");
    assert_eq!(replay.body["chat"][0]["body"], "hello");
    assert!(replay.body["chat"][0]["at"].is_string());
    assert_eq!(replay.body["recordings"][0]["url"], url.as_str());
    let staff = app.get(&room.path("/replay"), Some(&room.host_key)).await;
    assert_eq!(staff.body["questions"].as_array().unwrap().len(), 2);

    // The presenter deletes it, after the end: row and file go.
    let id = rec["id"].as_i64().unwrap();
    let path = format!("/recordings/{id}");
    assert_eq!(moderator.delete(&path).await.status, 403);
    assert_eq!(attendee.delete(&path).await.status, 403);
    assert_eq!(
        app.delete(&room.path(&path), Some(&room.host_key))
            .await
            .status,
        204
    );
    assert!(!file.exists(), "the file is gone from disk");
    assert_eq!(
        app.delete(&room.path(&path), Some(&room.host_key))
            .await
            .status,
        404
    );
    assert_eq!(app.get(&url, None).await.status, 404);
}

#[actix_rt::test]
async fn erasing_a_room_takes_its_recordings_and_their_files() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let file = plant(&app, &room.slug, 2_000);
    let other = app.room().await;
    let kept = plant(&app, &other.slug, 2_000);
    assert_eq!(presenter.delete("").await.status, 200);
    assert_eq!(
        app.delete(&room.path("/data"), Some(&room.host_key))
            .await
            .status,
        204
    );
    assert!(!file.exists(), "the room's file is erased");
    assert!(!file.parent().unwrap().exists(), "and its directory");
    assert!(kept.exists(), "another room's is not");
    let mut conn = app.db.conn();
    assert_eq!(
        kit::db::count(
            &mut conn,
            "SELECT count(*) AS n FROM recordings r JOIN rooms m ON m.id = r.room_id WHERE m.erased_at IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        kit::db::count(&mut conn, "SELECT count(*) AS n FROM recordings"),
        1
    );
}

#[actix_rt::test]
async fn a_recording_is_switched_on_by_staff_only_and_everyone_hears_it() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let attendee = room.attendee("Ann").await;
    let (mut ws, welcome) = attendee.ws().await;
    assert_eq!(welcome["room"]["settings"]["recording"], false);
    let refused = attendee
        .patch("", json!({"settings": {"recording": true}}))
        .await;
    assert_eq!(refused.status, 403);
    let on = moderator
        .patch("", json!({"settings": {"recording": true}}))
        .await;
    assert_eq!(on.status, 200);
    let heard = ws.recv_type("room.updated").await;
    assert_eq!(heard["room"]["settings"]["recording"], true);
    assert_eq!(room.card().await.body["settings"]["recording"], true);
}
