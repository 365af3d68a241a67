//! Hostile text (HTML, script, SQL, right-to-left overrides, zero-width
//! characters, 4-byte emoji, formulas, fake log lines) as names, titles,
//! chat, questions and answers: stored and given back verbatim on every
//! path, never breaking the CSV or the logs; and no secret in the logs,
//! even those of failed attempts, at debug level.

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::kit;
use crate::kit::ws::Ws;
use crate::kit::TestDb;

/// Each fits the shortest limit (a name: 60 characters).
const HOSTILE: [&str; 10] = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "'; DROP TABLE messages; --",
    "Robert'); DELETE FROM questions; --",
    "\u{202E}gnp.exe",
    "zero\u{200B}width\u{200D}joiner\u{FEFF}",
    "🦀🎉👩‍💻 𝕌𝕟𝕚𝕔𝕠𝕕𝕖",
    "=cmd|' /C calc'!A0",
    "%s%n%x {0} ${PATH} \\u0000",
    "@SUM(1+1)*cmd|' /C calc'!A0",
];

/// What a spreadsheet-safe CSV cell holds for `s`.
fn defused(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

#[actix_rt::test]
async fn hostile_text_comes_back_verbatim_everywhere() {
    let app = kit::spawn_app().await;
    let title = HOSTILE[0];
    let room = app
        .create_room(json!({"title": title, "presenter_name": HOSTILE[6]}))
        .await;
    let moderator = room
        .joined(json!({"name": HOSTILE[4], "key": room.moderator_key}))
        .await;
    let (mut staff_ws, _) = moderator.ws().await;

    let mut questions = Vec::new();
    // Kept open: the participant list names those connected.
    let mut sockets = Vec::new();
    for (i, text) in HOSTILE.iter().enumerate() {
        let author = room.attendee(text).await;
        let (mut ws, welcome) = author.ws().await;
        assert_eq!(welcome["participant"]["name"], *text);
        ws.send(json!({"type": "chat.send", "body": text, "ref": i}))
            .await;
        assert_eq!(ws.recv_type("ack").await["ref"], i);
        let seen = &staff_ws.recv_type("chat.message").await["message"];
        assert_eq!(
            (&seen["body"], &seen["name"]),
            (&json!(text), &json!(text)),
            "broadcast"
        );
        let q = author.post("/questions", json!({"body": text})).await;
        assert_eq!(q.status, 201, "{}", q.body);
        assert_eq!(q.body["body"], *text);
        let id = q.body["id"].as_i64().unwrap();
        let answered = moderator
            .patch(&format!("/questions/{id}"), json!({"answer": text}))
            .await;
        assert_eq!(answered.status, 200, "{}", answered.body);
        assert_eq!(answered.body["answer"], *text);
        questions.push(id);
        sockets.push(ws);
    }

    // The card, the histories and a fresh snapshot give the same text.
    let card = room.card().await;
    assert_eq!(
        (&card.body["title"], &card.body["presenter_name"]),
        (&json!(title), &json!(HOSTILE[6]))
    );
    let messages = moderator.get("/messages?limit=50").await;
    let bodies: Vec<&str> = messages.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, HOSTILE);
    for m in messages.body["messages"].as_array().unwrap() {
        assert_eq!(m["name"], m["body"], "each author was named by their text");
    }
    let listed = moderator.get("/questions?sort=new").await;
    for q in listed.body["questions"].as_array().unwrap() {
        assert!(HOSTILE.contains(&q["body"].as_str().unwrap()));
        assert_eq!((&q["author_name"], &q["answer"]), (&q["body"], &q["body"]));
    }
    let (_ws, snapshot) = moderator.ws().await;
    let names: Vec<&str> = snapshot["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for text in HOSTILE {
        assert!(names.contains(&text), "{text:?} in the participant list");
    }

    // Stored as given: nothing was run, nothing was dropped.
    let mut conn = app.db.conn();
    let stored = kit::db::count(
        &mut conn,
        "SELECT count(*) AS n FROM messages m JOIN participants p ON p.id = m.participant_id
         WHERE m.body = p.name",
    );
    assert_eq!(stored, HOSTILE.len() as i64);
    #[derive(QueryableByName)]
    struct Body {
        #[diesel(sql_type = diesel::sql_types::Text)]
        body: String,
    }
    let stored: Vec<String> = diesel::sql_query("SELECT body FROM questions ORDER BY id")
        .load::<Body>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|b| b.body)
        .collect();
    assert_eq!(stored, HOSTILE);

    // The questions CSV: one record per question, each cell the text,
    // defused where a spreadsheet would run it.
    let csv_text = moderator.get("/questions.csv").await.text;
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv_text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), HOSTILE.len());
    for row in rows {
        let id: i64 = row[0].parse().unwrap();
        let text = HOSTILE[questions.iter().position(|q| *q == id).unwrap()];
        assert_eq!(
            (&row[1], &row[2], &row[7]),
            (
                defused(text).as_str(),
                defused(text).as_str(),
                defused(text).as_str()
            )
        );
    }
}

#[actix_rt::test]
async fn logs_stay_whole_and_hold_no_secret_even_of_failed_attempts() {
    let (mut server, app) = kit::process::serve(
        TestDb::new(),
        &["--log-format", "json"],
        &[("RUST_LOG", "debug")],
    );
    let password = "correct horse battery staple";
    let wrong = "tr0ub4dor&3-wrong";
    let room = app
        .create_room(json!({"title": "Logs", "presenter_name": "Ada", "password": password}))
        .await;
    let r = room.join(json!({"name": "Eve", "password": wrong})).await;
    assert_eq!(r.status, 401);
    let grace = room
        .joined(json!({"name": "Grace", "password": password}))
        .await;
    let presenter = room.presenter().await;
    let forged = "Zm9yZ2VkLXRva2VuLW5ldmVyLWlzc3VlZC1ieS1wb2RpdW0";
    assert_eq!(app.get(&room.path("/me"), Some(forged)).await.status, 401);
    let mut ws = Ws::open(&app, &room.slug).await;
    ws.send(json!({"type": "hello", "token": forged})).await;
    assert!(ws.closed().await.is_some());
    let (status, _, _) = kit::sdp::post(
        &app,
        &room.path("/whip"),
        Some(&room.moderator_key),
        kit::sdp::offer(&kit::sdp::AV_SEND),
    )
    .await;
    assert_eq!(status, 401, "a moderator key is not a publishing key");
    let (status, location, _) = kit::sdp::post(
        &app,
        &room.path("/whip"),
        Some(&room.host_key),
        kit::sdp::offer(&kit::sdp::AV_SEND),
    )
    .await;
    assert_eq!(status, 201);
    let location = location.unwrap();
    let (mut ws, _) = grace.ws().await;
    // A chat line that pretends to be a log line of its own.
    let fake = "hi\n{\"level\":\"ERROR\",\"fields\":{\"message\":\"fake\"}}\nINFO forged line";
    ws.send(json!({"type": "chat.send", "body": fake, "ref": 1}))
        .await;
    ws.recv_type("ack").await;
    for text in HOSTILE {
        ws.send(json!({"type": "question.ask", "body": text, "ref": text}))
            .await;
        ws.recv_type("ack").await;
    }
    for _ in 0..6 {
        presenter.get("/me").await;
    }
    presenter.delete("").await;
    server.signal(nix::sys::signal::Signal::SIGTERM);
    server.wait(std::time::Duration::from_secs(10));

    let log = server.log.lock().unwrap().join("\n");
    for secret in [
        grace.token.as_str(),
        presenter.token.as_str(),
        room.host_key.as_str(),
        room.moderator_key.as_str(),
        password,
        wrong,
        forged,
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    // Media URLs name the session, never a credential.
    assert!(!location.contains(&room.host_key) && !location.contains(&grace.token));
    let mut lines = 0;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        assert_ne!(
            v["fields"]["message"], "fake",
            "user text forged a log line"
        );
        // Each event sits in its own request's spans, never in another's
        // (an open socket once lent its span to requests on its thread).
        let requests = v["spans"]
            .as_array()
            .map_or(0, |s| s.iter().filter(|s| s["name"] == "request").count());
        assert!(requests <= 1, "an event inside two requests' spans: {line}");
        lines += 1;
    }
    assert!(lines > 20, "debug logging was on ({lines} lines)");
}

#[actix_rt::test]
async fn no_participant_is_ever_sent_a_secret() {
    let app = kit::spawn_app().await;
    let password = "a shared secret";
    let room = app
        .create_room(json!({"title": "Secrets", "presenter_name": "Ada", "password": password}))
        .await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let grace = room
        .joined(json!({"name": "Grace", "password": password}))
        .await;
    let (mut staff_ws, staff_welcome) = moderator.ws().await;
    let (mut grace_ws, grace_welcome) = grace.ws().await;
    let bob = room
        .joined(json!({"name": "Bob", "password": password}))
        .await;
    let (mut bob_ws, _) = bob.ws().await;
    bob_ws
        .send(json!({"type": "chat.send", "body": "hi", "ref": 1}))
        .await;
    bob_ws.recv_type("ack").await;
    let q = bob
        .post("/questions", json!({"body": "q?", "anonymous": true}))
        .await;
    let id = q.body["id"].as_i64().unwrap();
    presenter
        .patch(
            &format!("/questions/{id}"),
            json!({"answer": "a", "pinned": true}),
        )
        .await;
    let location = grace.whep().await;

    // Everything the moderator and an attendee were sent or could fetch.
    let mut seen = vec![
        staff_welcome.to_string(),
        grace_welcome.to_string(),
        location,
    ];
    for ws in [&mut staff_ws, &mut grace_ws] {
        let frames = ws.drain(std::time::Duration::from_millis(500)).await;
        assert!(!frames.is_empty());
        seen.extend(frames.iter().map(Value::to_string));
    }
    for (who, rest) in [
        (&moderator, "/stats"),
        (&moderator, "/questions"),
        (&moderator, "/messages"),
        (&grace, "/questions"),
        (&grace, "/messages"),
        (&grace, "/me"),
        (&grace, ""),
    ] {
        seen.push(who.get(rest).await.body.to_string());
    }
    seen.push(moderator.get("/questions.csv").await.body.to_string());
    let seen = seen.join("\n");
    assert!(seen.contains("\"Bob\""), "the check reads real content");
    for secret in [
        presenter.token.as_str(),
        moderator.token.as_str(),
        grace.token.as_str(),
        bob.token.as_str(),
        room.host_key.as_str(),
        room.moderator_key.as_str(),
        password,
    ] {
        assert!(!seen.contains(secret), "a secret was sent to a participant");
    }
}
