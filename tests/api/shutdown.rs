//! SIGTERM in the middle of a session: sockets hear `server.restarting` and
//! are closed with 1012, the process exits 0 well within 10 seconds, and
//! everything that was acknowledged is stored, with sessions closed.

use std::time::Duration;

use serde_json::json;

use crate::kit;
use crate::kit::db::{count, TestDb};

#[actix_rt::test]
async fn sigterm_tells_clients_stores_everything_and_exits_in_time() {
    let (mut server, app) = kit::process::serve(TestDb::new(), &[], &[]);
    let room = app.room().await;
    let (mut a, _) = room.attendee("Grace").await.ws().await;
    let (mut b, _) = room.attendee("Linus").await.ws().await;

    // Acknowledged actions: three messages, a question, two votes.
    for (i, body) in ["one", "two", "three"].iter().enumerate() {
        a.send(json!({"type": "chat.send", "body": body, "ref": i}))
            .await;
        a.recv_type("ack").await;
    }
    b.send(json!({"type": "question.ask", "body": "Will it hold?", "ref": "q"}))
        .await;
    let q = b.recv_type("ack").await["result"]["id"].as_i64().unwrap();
    for ws in [&mut a, &mut b] {
        ws.send(json!({"type": "question.vote", "id": q, "ref": "v"}))
            .await;
        ws.recv_type("ack").await;
    }

    server.signal(nix::sys::signal::Signal::SIGTERM);
    for ws in [&mut a, &mut b] {
        assert!(
            ws.gets_within("server.restarting", Duration::from_secs(5))
                .await
                .is_some(),
            "told the server is restarting"
        );
        assert_eq!(ws.closed().await, Some(1012), "closed as a service restart");
    }
    let (status, took) = server.wait(Duration::from_secs(10));
    assert!(status.success(), "exit 0, got {status:?}");
    println!("shutdown: exited {took:?} after SIGTERM");

    let mut conn = app.db.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM messages"), 3);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM questions"), 1);
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM question_votes"),
        2
    );
    assert_eq!(
        count(&mut conn, "SELECT votes::bigint AS n FROM questions"),
        2
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM participant_sessions WHERE disconnected_at IS NULL"
        ),
        0,
        "every session is closed: watch time is final"
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM participant_sessions"),
        2
    );
}

#[actix_rt::test]
async fn an_ended_rooms_statistics_survive_a_restart() {
    let (mut server, app) = kit::process::serve(TestDb::new(), &[], &[]);
    let room = app.room().await;
    let presenter = room.presenter().await;
    let grace = room.attendee("Grace").await;
    grace.post("/messages", json!({"body": "hi"})).await;
    let ended = presenter.delete("").await;
    assert_eq!(ended.status, 200);
    let before = presenter.get("/stats").await;
    server.signal(nix::sys::signal::Signal::SIGTERM);
    server.wait(Duration::from_secs(10));

    let (_again, app) = kit::process::serve(app.db, &[], &[]);
    let after = presenter.on(&app).get("/stats").await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body, before.body, "the same figures after a restart");
    assert_eq!(after.body["total_messages"], 1);
}

#[actix_rt::test]
async fn logs_carry_rooms_and_participants_but_no_secrets_or_addresses() {
    let (mut server, app) =
        kit::process::serve(TestDb::new(), &["--log-format", "json", "--privacy"], &[]);
    let room = app
        .create_room(
            json!({"title": "Secrets", "presenter_name": "Ada", "password": "hunter2-hunter2"}),
        )
        .await;
    let grace = room
        .joined(json!({"name": "Grace", "password": "hunter2-hunter2"}))
        .await;
    let (mut ws, welcome) = grace.ws().await;
    let participant = welcome["participant"]["id"].as_i64().unwrap();
    ws.send(json!({"type": "chat.send", "body": "hello", "ref": 1}))
        .await;
    ws.recv_type("ack").await;
    grace.get("/me").await;
    server.signal(nix::sys::signal::Signal::SIGTERM);
    server.wait(Duration::from_secs(10));

    let log = server.log.lock().unwrap().join("\n");
    for secret in [
        grace.token.as_str(),
        room.host_key.as_str(),
        room.moderator_key.as_str(),
        "hunter2-hunter2",
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    assert!(
        !log.contains("127.0.0.1\""),
        "no full client address in privacy mode"
    );
    assert!(
        log.contains("127.0.0.0/24"),
        "the client's network is logged"
    );
    assert!(log.contains(&room.slug), "events name the room");
    assert!(
        log.contains(&format!("\"participant\":{participant}")),
        "events name the participant"
    );
    for line in log.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
    }
}

/// SIGKILL in the middle of a session (no shutdown at all): after a restart
/// on the same database, every chat message, question, vote, pin and answer
/// that a client had been acknowledged is there, for REST and for a socket
/// that reconnects; the same tokens still work.
#[actix_rt::test]
async fn sigkill_loses_nothing_that_was_acknowledged() {
    let (mut server, app) = kit::process::serve(TestDb::new(), &[], &[]);
    let room = app.room().await;
    let moderator = room.moderator().await;
    let grace = room.attendee("Grace").await;
    let (mut ws, _) = grace.ws().await;

    for (i, body) in ["one", "two", "three"].iter().enumerate() {
        ws.send(json!({"type": "chat.send", "body": body, "ref": i}))
            .await;
        ws.recv_type("ack").await;
    }
    ws.send(json!({"type": "question.ask", "body": "Does it survive?", "ref": "q"}))
        .await;
    let q = ws.recv_type("ack").await["result"]["id"].as_i64().unwrap();
    // Votes from many participants at once, each acknowledged.
    let mut voters = Vec::new();
    for i in 0..20 {
        voters.push(room.attendee(&format!("V{i}")).await);
    }
    let vote = format!("/questions/{q}/vote");
    let votes = voters.iter().map(|v| v.put(&vote));
    let acked = futures_util::future::join_all(votes)
        .await
        .iter()
        .filter(|r| r.status == 200)
        .count();
    assert_eq!(acked, 20);
    ws.send(
        json!({"type": "question.update", "id": q, "pinned": true, "answered": true,
        "answer": "It does.", "ref": "a"}),
    )
    .await;
    // An attendee may not answer: refused, so not part of what must survive.
    assert_eq!(ws.recv_type("error").await["code"], "forbidden");
    let r = moderator
        .patch(
            &format!("/questions/{q}"),
            json!({"pinned": true, "answered": true, "answer": "It does."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    server.signal(nix::sys::signal::Signal::SIGKILL);
    server.wait(Duration::from_secs(10));

    let (_again, app) = kit::process::serve(app.db, &[], &[]);
    // The same tokens work on the restarted server.
    let grace = grace.on(&app);
    let messages = grace.get("/messages").await;
    let bodies: Vec<&str> = messages.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["one", "two", "three"]);
    let questions = grace.get("/questions").await;
    let question = &questions.body["questions"][0];
    assert_eq!(question["votes"], 20);
    assert_eq!(question["pinned"], true);
    assert_eq!(question["answered"], true);
    assert_eq!(question["answer"], "It does.");
    // A client reconnecting after the crash gets the same in its snapshot.
    let (_, welcome) = grace.ws().await;
    assert_eq!(welcome["questions"][0]["votes"], 20);
    assert_eq!(welcome["messages"].as_array().unwrap().len(), 3);
}
