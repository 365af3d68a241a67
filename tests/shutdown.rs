//! SIGTERM in the middle of a session: sockets hear `server.restarting` and
//! are closed with 1012, the process exits 0 well within 10 seconds, and
//! everything that was acknowledged is stored, with sessions closed.

mod common;

use std::time::Duration;

use common::db::{count, TestDb};
use common::ws::Ws;
use common::TestApp;
use serde_json::json;

#[actix_rt::test]
async fn sigterm_tells_clients_stores_everything_and_exits_in_time() {
    let db = TestDb::new();
    let mut server = common::process::start(
        &["--bind", "127.0.0.1:0", "--media-bind", "127.0.0.1:0"],
        Some(&db.url),
    );
    let app = TestApp::at(format!("http://{}", server.addr), db);
    let room = app.open_room().await;
    let grace = app.join_ok(&room.slug, json!({"name": "Grace"})).await;
    let linus = app.join_ok(&room.slug, json!({"name": "Linus"})).await;
    let (mut a, _) = Ws::join(&app, &room.slug, &grace).await;
    let (mut b, _) = Ws::join(&app, &room.slug, &linus).await;

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
