//! The live room over WebSocket and REST: real server, real PostgreSQL,
//! real WebSocket clients.

use std::time::Duration;

use serde_json::{json, Value};

use crate::kit;
use crate::kit::db::count;
use crate::kit::ws::Ws;
use crate::kit::Participant;

/// Asks a question over REST; its id.
async fn ask(who: &Participant, body: &str) -> i64 {
    let r = who.post("/questions", json!({"body": body})).await;
    r.body["id"].as_i64().unwrap()
}

#[actix_rt::test]
async fn welcome_is_a_full_snapshot() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let bob = room.attendee("Bob").await;
    bob.post("/messages", json!({"body": "first"})).await;
    let (_ws, w) = bob.ws().await;
    assert_eq!(w["participant"]["name"], "Bob");
    assert_eq!(w["participant"]["role"], "attendee");
    assert_eq!(w["room"]["slug"], room.slug.as_str());
    assert_eq!(w["messages"][0]["body"], "first");
    assert_eq!(w["questions"], json!([]));
    assert_eq!(w["presence"]["count"], 1);
    assert_eq!(
        w["media"],
        json!({"live": false, "screen": false, "seats": [], "speaker": null})
    );
    assert!(
        w.get("participants").is_none(),
        "attendees never see each other"
    );
}

#[actix_rt::test]
async fn hello_is_required_within_five_seconds() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let mut ws = Ws::open(&app, &room.slug).await;
    ws.send(json!({"type": "chat.send", "body": "too early"}))
        .await;
    assert_eq!(ws.recv().await["code"], "unauthorized");
    assert_eq!(ws.closed().await, Some(4001));

    let mut ws = Ws::open(&app, &room.slug).await;
    ws.send(json!({"type": "hello", "token": "forged"})).await;
    assert_eq!(ws.recv().await["type"], "error");
    assert_eq!(ws.closed().await, Some(4001));
    assert_eq!(
        count(&mut app.db.conn(), "SELECT count(*) AS n FROM messages"),
        0
    );
}

#[actix_rt::test]
async fn everyone_gets_the_same_events_in_the_same_order() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let mut clients = Vec::new();
    let mut people = Vec::new();
    for i in 0..12 {
        let p = room.attendee(&format!("P{i}")).await;
        clients.push(p.ws().await.0);
        people.push(p);
    }
    // Half over WebSocket, half over REST, interleaved and concurrent.
    let mut rest = Vec::new();
    for i in 0..10 {
        if i % 2 == 0 {
            clients[i]
                .send(json!({"type": "chat.send", "body": format!("ws {i}")}))
                .await;
        } else {
            rest.push(people[i].post("/messages", json!({"body": format!("rest {i}")})));
        }
    }
    for r in futures_util::future::join_all(rest).await {
        assert_eq!(r.status, 201);
    }
    let mut orders = Vec::new();
    for c in clients.iter_mut() {
        let mut seen = Vec::new();
        while seen.len() < 10 {
            let m = c.recv_type("chat.message").await;
            seen.push(m["message"]["id"].as_i64().unwrap());
        }
        orders.push(seen);
    }
    assert!(orders.windows(2).all(|w| w[0] == w[1]), "{orders:?}");
    let mut sorted = orders[0].clone();
    sorted.sort();
    assert_eq!(orders[0], sorted, "broadcast order is the stored order");
    assert_eq!(
        count(&mut app.db.conn(), "SELECT count(*) AS n FROM messages"),
        10
    );
}

#[actix_rt::test]
async fn client_id_makes_sends_idempotent() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let bob = room.attendee("Bob").await;
    let body = json!({"body": "only once", "client_id": "c-1"});
    let a = bob.post("/messages", body.clone()).await;
    let b = bob.post("/messages", body).await;
    assert_eq!(a.body["id"], b.body["id"]);
    let (mut ws, _) = bob.ws().await;
    ws.send(json!({"type": "chat.send", "body": "only once", "client_id": "c-1", "ref": 1}))
        .await;
    let ack = ws.recv_type("ack").await;
    assert_eq!(ack["result"]["id"], a.body["id"]);
    let q = json!({"body": "a question?", "client_id": "q-1"});
    let q1 = bob.post("/questions", q.clone()).await;
    let q2 = bob.post("/questions", q).await;
    assert_eq!(q1.body["id"], q2.body["id"]);
    let mut conn = app.db.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM messages"), 1);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM questions"), 1);
}

#[actix_rt::test]
async fn concurrent_votes_are_exact() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let (mut watcher, _) = moderator.ws().await;
    let qid = ask(&moderator, "Why Rust?").await;
    let mut voters = Vec::new();
    for i in 0..50 {
        voters.push(room.attendee(&format!("V{i}")).await);
    }
    let vote = format!("/questions/{qid}/vote");
    let votes = voters.iter().map(|v| v.put(&vote));
    for r in futures_util::future::join_all(votes).await {
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["voted_by_me"], true);
    }
    // Voting twice changes nothing.
    let again = voters[0].put(&vote).await;
    assert_eq!(again.body["votes"], 50);
    let unvotes = voters[..20].iter().map(|v| v.delete(&vote));
    for r in futures_util::future::join_all(unvotes).await {
        assert_eq!(r.body["voted_by_me"], false);
    }
    let mut conn = app.db.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!("SELECT votes::bigint AS n FROM questions WHERE id = {qid}")
        ),
        30
    );
    assert_eq!(
        count(
            &mut conn,
            &format!("SELECT count(*) AS n FROM question_votes WHERE question_id = {qid}")
        ),
        30
    );
    let list = voters[30].get("/questions").await;
    assert_eq!(list.body["questions"][0]["votes"], 30);
    assert_eq!(list.body["questions"][0]["voted_by_me"], true);
    // The coalesced broadcasts settle on the exact count.
    let mut last = Value::Null;
    while let Some(v) = watcher
        .gets_within("question.updated", Duration::from_millis(800))
        .await
    {
        last = v;
    }
    assert_eq!(last["question"]["votes"], 30);
}

/// The vote-count frames a socket gets until it has been quiet for 800 ms,
/// each as the list of questions it carries.
async fn vote_frames(ws: &mut Ws) -> Vec<Vec<Value>> {
    let mut frames = Vec::new();
    while let Ok(Ok(v)) = tokio::time::timeout(Duration::from_millis(800), ws.next()).await {
        match v["type"].as_str() {
            Some("question.updated") => frames.push(vec![v["question"].clone()]),
            Some("questions.updated") => frames.push(v["questions"].as_array().unwrap().clone()),
            _ => {}
        }
    }
    frames
}

/// The last count each question had in a socket's frames.
fn last_counts(frames: &[Vec<Value>]) -> std::collections::BTreeMap<i64, i64> {
    frames
        .iter()
        .flatten()
        .map(|q| (q["id"].as_i64().unwrap(), q["votes"].as_i64().unwrap()))
        .collect()
}

#[actix_rt::test]
async fn a_vote_storm_reaches_each_socket_as_a_few_room_frames() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let mut public = Vec::new();
    for body in ["One?", "Two?", "Three?"] {
        public.push(ask(&moderator, body).await);
    }
    let r = moderator
        .patch("", json!({"settings": {"questions_need_approval": true}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let author = room.attendee("Asker").await;
    let pending = ask(&author, "Pending?").await;
    let watcher = room.attendee("Watcher").await;
    let (mut watcher_ws, _) = watcher.ws().await;
    let (mut author_ws, _) = author.ws().await;
    let (mut mod_ws, _) = moderator.ws().await;

    let mut voters = Vec::new();
    for i in 0..10 {
        voters.push(room.attendee(&format!("V{i}")).await);
    }
    // 30 votes on the public questions, the author's own vote and a
    // moderator's on the pending one, all at once.
    let mut calls = Vec::new();
    for v in &voters {
        for id in &public {
            calls.push((format!("/questions/{id}/vote"), v));
        }
    }
    calls.push((format!("/questions/{pending}/vote"), &author));
    calls.push((format!("/questions/{pending}/vote"), &moderator));
    let replies =
        futures_util::future::join_all(calls.iter().map(|(vote, who)| who.put(vote))).await;
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
    }

    let expected_public: std::collections::BTreeMap<i64, i64> =
        public.iter().map(|id| (*id, 10)).collect();
    let seen = vote_frames(&mut watcher_ws).await;
    assert_eq!(
        last_counts(&seen),
        expected_public,
        "an attendee sees the public counts, never the pending question"
    );
    // 30 count changes, coalesced into a few frames for the whole room.
    assert!(seen.len() < 15, "{} frames for 30 votes", seen.len());
    assert!(
        seen.iter().any(|f| f.len() > 1),
        "several questions share a frame: {seen:?}"
    );

    let mut all = expected_public.clone();
    all.insert(pending, 2);
    assert_eq!(
        last_counts(&vote_frames(&mut mod_ws).await),
        all,
        "staff see every count"
    );
    assert_eq!(
        last_counts(&vote_frames(&mut author_ws).await),
        all,
        "the author sees their pending question"
    );
    let mut conn = app.db.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!("SELECT votes::bigint AS n FROM questions WHERE id = {pending}")
        ),
        2
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM question_votes"),
        32
    );
}

#[actix_rt::test]
async fn approval_queue_hides_pending_questions_from_other_attendees() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let r = moderator
        .patch("", json!({"settings": {"questions_need_approval": true}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["settings"]["questions_need_approval"], true);
    let author = room.attendee("Asker").await;
    let other = room.attendee("Other").await;
    let (mut other_ws, _) = other.ws().await;
    let (mut mod_ws, _) = moderator.ws().await;

    let q = author.post("/questions", json!({"body": "Pending?"})).await;
    assert_eq!(q.body["status"], "pending");
    let qid = q.body["id"].as_i64().unwrap();
    assert_eq!(
        mod_ws.recv_type("question.created").await["question"]["status"],
        "pending"
    );
    assert!(other_ws
        .gets_within("question.created", Duration::from_millis(500))
        .await
        .is_none());
    let seen = |r: &kit::Resp| {
        r.body["questions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["id"] == qid)
    };
    assert!(!seen(&other.get("/questions").await));
    assert!(seen(&author.get("/questions").await));
    assert!(seen(&moderator.get("/questions").await));
    let (_, w) = other.ws().await;
    assert_eq!(w["questions"], json!([]), "not in the snapshot either");
    let r = other.put(&format!("/questions/{qid}/vote")).await;
    assert_eq!(r.status, 404, "an invisible question cannot be voted on");

    let r = moderator
        .patch(&format!("/questions/{qid}"), json!({"approved": true}))
        .await;
    assert_eq!(r.body["status"], "open");
    assert_eq!(
        other_ws.recv_type("question.created").await["question"]["id"],
        qid
    );
    assert!(seen(&other.get("/questions").await));
}

#[actix_rt::test]
async fn anonymous_authors_are_hidden_from_everyone() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let bob = room.attendee("Bob").await;
    let (mut mod_ws, _) = moderator.ws().await;
    let q = bob
        .post("/questions", json!({"body": "Shy?", "anonymous": true}))
        .await;
    assert_eq!(q.body["author_name"], Value::Null);
    assert_eq!(
        mod_ws.recv_type("question.created").await["question"]["author_name"],
        Value::Null
    );
    for who in [&presenter, &moderator, &bob] {
        let list = who.get("/questions").await;
        assert!(!list.body.to_string().contains("Bob"));
    }
    moderator
        .patch("", json!({"settings": {"anonymous_questions": false}}))
        .await;
    let r = bob
        .post(
            "/questions",
            json!({"body": "Shy again?", "anonymous": true}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"));
}

#[actix_rt::test]
async fn hidden_questions_and_deleted_messages_vanish() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let bob = room.attendee("Bob").await;
    let (mut bob_ws, _) = bob.ws().await;
    let m = bob.post("/messages", json!({"body": "spam"})).await;
    let mid = m.body["id"].as_i64().unwrap();
    let qid = ask(&bob, "rude?").await;

    let r = bob.delete(&format!("/messages/{mid}")).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"));
    let r = moderator.delete(&format!("/messages/{mid}")).await;
    assert_eq!(r.status, 204);
    assert_eq!(bob_ws.recv_type("chat.deleted").await["id"], mid);
    let r = moderator
        .patch(&format!("/questions/{qid}"), json!({"hidden": true}))
        .await;
    assert_eq!(r.body["hidden"], true);
    assert_eq!(bob_ws.recv_type("question.removed").await["id"], qid);

    let history = bob.get("/messages").await;
    assert_eq!(history.body["messages"], json!([]));
    assert_eq!(bob.get("/questions").await.body["questions"], json!([]));
    let (_, w) = bob.ws().await;
    assert_eq!(
        (w["messages"].clone(), w["questions"].clone()),
        (json!([]), json!([]))
    );
    let mod_list = moderator.get("/questions").await;
    assert_eq!(
        mod_list.body["questions"][0]["hidden"], true,
        "moderators still see it"
    );
}

#[actix_rt::test]
async fn top_sort_pins_first_and_answered_last() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let mut ids = Vec::new();
    for b in ["q0", "q1", "q2", "q3"] {
        ids.push(ask(&presenter, b).await);
    }
    for i in 0..3 {
        let v = room.attendee(&format!("V{i}")).await;
        v.put(&format!("/questions/{}/vote", ids[1])).await;
        if i < 2 {
            v.put(&format!("/questions/{}/vote", ids[2])).await;
        }
        v.put(&format!("/questions/{}/vote", ids[0])).await;
    }
    presenter
        .patch(&format!("/questions/{}", ids[3]), json!({"pinned": true}))
        .await;
    let r = presenter
        .patch(
            &format!("/questions/{}", ids[0]),
            json!({"answer": "Because."}),
        )
        .await;
    assert_eq!(r.body["answered"], true);
    assert_eq!(r.body["status"], "answered");
    assert!(r.body["answered_at"].is_string());
    let order = |r: kit::Resp| -> Vec<i64> {
        r.body["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["id"].as_i64().unwrap())
            .collect()
    };
    let top = order(presenter.get("/questions?sort=top").await);
    assert_eq!(top, [ids[3], ids[1], ids[2], ids[0]]);
    let new = order(presenter.get("/questions?sort=new").await);
    assert_eq!(new, [ids[3], ids[2], ids[1], ids[0]]);
    let r = presenter.get("/questions?sort=best").await;
    assert_eq!(r.status, 400);
}

#[actix_rt::test]
async fn kick_closes_the_socket_and_kills_the_token() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let troll = room.attendee("Troll").await;
    let (mut ws, _) = troll.ws().await;
    let kick = format!("/participants/{}/kick", troll.id);
    let r = troll.post(&kick, json!({})).await;
    assert_eq!(r.status, 403, "attendees cannot kick");
    let r = moderator.post(&kick, json!({})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(ws.recv_type("kicked").await["type"], "kicked");
    assert_eq!(ws.closed().await, Some(4003));
    let me = troll.get("/me").await;
    assert_eq!((me.status.as_u16(), me.code()), (401, "unauthorized"));
    let mut again = Ws::open(&app, &room.slug).await;
    again
        .send(json!({"type": "hello", "token": troll.token}))
        .await;
    assert_eq!(again.closed().await, Some(4001));
    // The presenter cannot be kicked, not even by a moderator.
    let pid = presenter.get("/me").await.body["participant"]["id"]
        .as_i64()
        .unwrap();
    let r = moderator
        .post(&format!("/participants/{pid}/kick"), json!({}))
        .await;
    assert_eq!(r.status, 403);
}

#[actix_rt::test]
async fn ending_the_room_tells_every_socket() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let bob = room.attendee("Bob").await;
    let (mut ws, _) = bob.ws().await;
    bob.post("/messages", json!({"body": "bye"})).await;
    let r = presenter.delete("").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["stats"]["total_messages"], 1);
    let ended = ws.recv_type("room.ended").await;
    assert_eq!(ended["stats"]["total_messages"], 1);
    assert_eq!(ws.closed().await, Some(1000));
    let r = bob.post("/messages", json!({"body": "late"})).await;
    assert_eq!((r.status.as_u16(), r.code()), (410, "room_ended"));
}

#[actix_rt::test]
async fn reconnect_snapshot_matches_the_database() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let bob = room.attendee("Bob").await;
    for i in 0..60 {
        bob.post("/messages", json!({"body": format!("m{i}")}))
            .await;
    }
    let q = presenter.post("/questions", json!({"body": "Q"})).await;
    bob.put(&format!("/questions/{}/vote", q.body["id"])).await;
    let (ws, w1) = bob.ws().await;
    drop(ws);
    let (_, w2) = bob.ws().await;
    let history = bob.get("/messages?limit=50").await;
    assert_eq!(w2["messages"], history.body["messages"]);
    assert_eq!(w2["messages"].as_array().unwrap().len(), 50);
    assert_eq!(w2["messages"][49]["body"], "m59", "newest last");
    assert_eq!(history.body["has_more"], true);
    let older = bob
        .get(&format!(
            "/messages?limit=50&before={}",
            w2["messages"][0]["id"]
        ))
        .await;
    assert_eq!(older.body["messages"].as_array().unwrap().len(), 10);
    assert_eq!(older.body["has_more"], false);
    assert_eq!(
        w2["questions"],
        bob.get("/questions").await.body["questions"]
    );
    assert_eq!(w2["questions"][0]["voted_by_me"], true);
    assert_eq!(w1["messages"], w2["messages"]);
}

#[actix_rt::test]
async fn bad_frames_get_errors_and_the_socket_stays() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let bob = room.attendee("Bob").await;
    // Before hello too: an oversized frame is refused unread.
    let mut early = Ws::open(&app, &room.slug).await;
    early
        .send(json!({"type": "hello", "token": "x".repeat(40_000)}))
        .await;
    assert_eq!(early.recv_type("error").await["code"], "too_large");
    early
        .send(json!({"type": "hello", "token": bob.token}))
        .await;
    early.recv_type("welcome").await;
    let (mut ws, _) = bob.ws().await;
    let frames = [
        ("not json".to_owned(), "invalid_input"),
        (r#"{"type":"nope"}"#.to_owned(), "invalid_input"),
        (
            r#"{"type":"chat.send","body":42}"#.to_owned(),
            "invalid_input",
        ),
        (
            r#"{"type":"chat.send","body":""}"#.to_owned(),
            "invalid_input",
        ),
        (
            json!({"type": "chat.send", "body": "x".repeat(2001)}).to_string(),
            "invalid_input",
        ),
        (
            json!({"type": "chat.send", "body": "x".repeat(40_000)}).to_string(),
            "too_large",
        ),
        (r#"{"type":"chat.delete","id":1}"#.to_owned(), "forbidden"),
        (
            r#"{"type":"room.update","settings":{"chat_enabled":false}}"#.to_owned(),
            "forbidden",
        ),
        (
            r#"{"type":"question.update","id":1,"pinned":true}"#.to_owned(),
            "forbidden",
        ),
        (
            r#"{"type":"hello","token":"again"}"#.to_owned(),
            "invalid_input",
        ),
    ];
    for (f, code) in frames {
        ws.send_text(f.clone()).await;
        let e = ws.recv_type("error").await;
        assert_eq!(e["code"], code, "{}", &f[..f.len().min(60)]);
    }
    ws.send_binary(b"\x00\x01").await;
    assert_eq!(ws.recv_type("error").await["code"], "invalid_input");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.recv_type("pong").await["type"], "pong");
    let mut conn = app.db.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM messages"), 0);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM rooms WHERE chat_enabled"
        ),
        1
    );
}

#[actix_rt::test]
async fn disabled_features_refuse_sends() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let bob = room.attendee("Bob").await;
    let (mut ws, _) = bob.ws().await;
    moderator
        .patch(
            "",
            json!({"settings": {"chat_enabled": false, "questions_enabled": false}}),
        )
        .await;
    let updated = ws.recv_type("room.updated").await;
    assert_eq!(updated["room"]["settings"]["chat_enabled"], false);
    let r = bob.post("/messages", json!({"body": "hi"})).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"));
    ws.send(json!({"type": "question.ask", "body": "q?"})).await;
    assert_eq!(ws.recv_type("error").await["code"], "forbidden");
    let r = bob
        .patch("", json!({"settings": {"chat_enabled": true}}))
        .await;
    assert_eq!(r.status, 403);
    let r = moderator
        .patch("", json!({"settings": {"chat": true}}))
        .await;
    assert_eq!(r.status, 400, "unknown setting");
}

#[actix_rt::test]
async fn promote_credits_the_message_author() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let bob = room.attendee("Bob").await;
    let m = bob
        .post("/messages", json!({"body": "How fast is it?"}))
        .await;
    let p = format!("/messages/{}/promote", m.body["id"]);
    assert_eq!(bob.post(&p, json!({})).await.status, 403);
    let q = moderator.post(&p, json!({})).await;
    assert_eq!(q.status, 201, "{}", q.body);
    assert_eq!(q.body["body"], "How fast is it?");
    assert_eq!(q.body["author_name"], "Bob");
    let again = moderator.post(&p, json!({})).await;
    assert_eq!(
        again.body["id"], q.body["id"],
        "promoting twice makes one question"
    );
}

/// Presence is coalesced: intermediate counts may be skipped, never the last.
async fn presence_reaches(ws: &mut Ws, n: i64) {
    while ws.recv_type("presence").await["count"] != n {}
}

#[actix_rt::test]
async fn presence_counts_for_all_and_names_for_staff() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let (mut mod_ws, w) = moderator.ws().await;
    assert_eq!(w["participants"][0]["name"], "Mo");
    let bob = room.attendee("Bob").await;
    let (mut bob_ws, _) = bob.ws().await;
    assert_eq!(
        mod_ws.recv_type("participant.joined").await["participant"]["name"],
        "Bob"
    );
    presence_reaches(&mut mod_ws, 2).await;
    let eve = room.attendee("Eve").await;
    let (eve_ws, _) = eve.ws().await;
    presence_reaches(&mut bob_ws, 3).await;
    assert!(bob_ws
        .gets_within("participant.joined", Duration::from_millis(300))
        .await
        .is_none());
    drop(eve_ws);
    assert_eq!(
        mod_ws.recv_type("participant.left").await["type"],
        "participant.left"
    );
    presence_reaches(&mut bob_ws, 2).await;
}

#[actix_rt::test]
async fn a_client_that_never_reads_is_cut_off_and_others_keep_up() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let slow = room.attendee("Slow").await;
    let (mut slow_ws, _) = slow.ws().await;
    let (mut fast, _) = presenter.ws().await;
    let big = "x".repeat(1900);
    let mut sent = 0;
    let mut cut = false;
    // Fill the slow socket's kernel buffers and then its queue.
    for _batch in 0..40 {
        let sends =
            (0..100).map(|i| presenter.post("/messages", json!({"body": format!("{i} {big}")})));
        for r in futures_util::future::join_all(sends).await {
            assert_eq!(r.status, 201);
        }
        sent += 100;
        let mut got = 0;
        while got < 100 {
            let v = fast.recv().await;
            if v["type"] == "chat.message" {
                got += 1;
            }
            if v["type"] == "presence" && v["count"] == 1 {
                cut = true;
            }
        }
        if cut {
            break;
        }
    }
    assert!(
        cut,
        "the stuck client was not cut off after {sent} messages"
    );
    assert_eq!(slow_ws.closed().await, Some(4008));
}

#[actix_rt::test]
async fn dead_sockets_are_found_by_ping() {
    let app = kit::spawn_app_with(|c| c.limits.ws_ping_secs = 1).await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let (mut watcher, _) = moderator.ws().await;
    let silent = room.attendee("Silent").await;
    // Says hello, then never reads again, so never answers a ping.
    let (_silent, _) = silent.ws().await;
    presence_reaches(&mut watcher, 2).await;
    let left = watcher
        .gets_within("participant.left", Duration::from_secs(8))
        .await;
    assert!(
        left.is_some(),
        "a socket that stopped answering pings is dropped"
    );
    presence_reaches(&mut watcher, 1).await;
}

#[actix_rt::test]
async fn websocket_sends_are_rate_limited_per_connection() {
    let app = kit::spawn_app_with(|c| c.limits.ws_sends_per_second = 2).await;
    let room = app.room().await;
    let bob = room.attendee("Flood").await;
    let ann = room.attendee("Ann").await;
    let question = ask(&ann, "Is anyone else here?").await;
    let (mut ws, _) = bob.ws().await;
    let (mut ann_ws, _) = ann.ws().await;
    // Chat, questions and votes, as fast as the socket goes.
    for i in 0..30 {
        let frame = match i % 3 {
            0 => json!({"type": "chat.send", "body": format!("flood {i}"), "ref": i}),
            1 => json!({"type": "question.ask", "body": format!("flood {i}?"), "ref": i}),
            _ => json!({"type": "question.vote", "id": question, "ref": i}),
        };
        ws.send(frame).await;
    }
    // Acknowledged sends by kind: chat, questions, votes.
    let mut acks = [0i64; 3];
    let mut limited = 0;
    while acks.iter().sum::<i64>() + limited < 30 {
        let v = ws.recv().await;
        match v["type"].as_str() {
            Some("ack") => acks[v["ref"].as_u64().unwrap() as usize % 3] += 1,
            Some("error") if v["code"] == "rate_limited" => limited += 1,
            _ => {}
        }
    }
    let total: i64 = acks.iter().sum();
    assert!(
        limited > 0 && total >= 6,
        "acks {acks:?}, limited {limited}"
    );
    // Only acknowledged sends are stored (a vote counts once however often).
    let mut conn = app.db.conn();
    assert_eq!(
        [
            count(&mut conn, "SELECT count(*) AS n FROM messages"),
            count(&mut conn, "SELECT count(*) AS n FROM questions") - 1,
            count(&mut conn, "SELECT count(*) AS n FROM question_votes"),
        ],
        [acks[0], acks[1], acks[2].min(1)]
    );
    // The room is unharmed: the others' sends go through and reach everyone.
    ann_ws
        .send(json!({"type": "chat.send", "body": "still fine", "ref": "a"}))
        .await;
    assert_eq!(ann_ws.recv_type("ack").await["ref"], "a");
    loop {
        let m = ws.recv_type("chat.message").await;
        if m["message"]["body"] == "still fine" {
            break;
        }
    }
}

#[actix_rt::test]
async fn attendance_is_recorded_as_the_room_runs() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let (mut watcher, _) = presenter.ws().await;
    let mut sockets = Vec::new();
    for i in 0..3 {
        let a = room.attendee(&format!("A{i}")).await;
        sockets.push(a.ws().await.0);
    }
    presence_reaches(&mut watcher, 4).await;
    sockets.truncate(1);
    presence_reaches(&mut watcher, 2).await;
    // Samples are written beside the room's loop; give them a moment.
    let mut conn = app.db.conn();
    let mut peak = 0;
    for _ in 0..50 {
        peak = count(
            &mut conn,
            "SELECT peak_concurrent::bigint AS n FROM room_stats",
        );
        let closed = count(
            &mut conn,
            "SELECT count(*) AS n FROM participant_sessions WHERE disconnected_at IS NOT NULL",
        );
        let sampled = count(
            &mut conn,
            "SELECT count(*) AS n FROM attendance_samples WHERE concurrent = 2",
        );
        if peak == 4 && closed == 2 && sampled > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(peak, 4);
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM participant_sessions"),
        4
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM participant_sessions WHERE disconnected_at IS NOT NULL"
        ),
        2
    );
    let stats = moderator.get("/stats").await;
    assert_eq!(stats.status, 200);
    assert_eq!(stats.body["peak_concurrent"], 4);
    let timeline = stats.body["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().any(|s| s["concurrent"] == 2),
        "{timeline:?}"
    );
    let bob = room.attendee("Bob").await;
    assert_eq!(bob.get("/stats").await.status, 403);
}

#[actix_rt::test]
async fn the_presenter_can_end_the_room_over_websocket() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let (mut mod_ws, _) = moderator.ws().await;
    mod_ws.send(json!({"type": "room.end", "ref": "m"})).await;
    assert_eq!(mod_ws.recv_type("error").await["code"], "forbidden");
    let (mut ws, _) = presenter.ws().await;
    ws.send(json!({"type": "room.end"})).await;
    assert!(ws.recv_type("room.ended").await["stats"].is_object());
    assert_eq!(mod_ws.recv_type("room.ended").await["type"], "room.ended");
    assert_eq!(room.card().await.body["status"], "ended");
}
