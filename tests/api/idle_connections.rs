//! Thousands of connections that open and then say nothing, or trickle an
//! unfinished request head (slowloris), against the real binary: the room
//! goes on for everyone else, and the server closes every one of them by
//! itself and gets its files back.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::kit;
use crate::kit::TestDb;

const SILENT: usize = 3000;
const TRICKLING: usize = 1000;

/// Whether the server closed `s` (EOF or reset, after any 408 it sent)
/// before `deadline`.
fn closed_by_server(mut s: TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[actix_rt::test]
async fn silent_and_trickling_connections_are_shed_and_the_room_goes_on() {
    let (server, app) = kit::process::serve(TestDb::new(), &[], &[]);
    let addr = server.addr.clone();
    let room = app.room().await;
    let (mut ada, _) = room.presenter().await.ws().await;
    let (mut bob_ws, _) = room.attendee("Bob").await.ws().await;
    let before = server.open_files();

    let target = addr.clone();
    let started = Instant::now();
    let idle = actix_web::rt::task::spawn_blocking(move || {
        let mut conns = Vec::with_capacity(SILENT + TRICKLING);
        for i in 0..SILENT + TRICKLING {
            let mut s = TcpStream::connect(&target).expect("the server accepts");
            if i >= SILENT {
                // A request head that never ends.
                s.write_all(b"GET /api/health HTTP/1.1\r\nHost: podium\r\nX-Slow: ")
                    .unwrap();
            }
            conns.push(s);
        }
        conns
    })
    .await
    .unwrap();
    // The server takes them off its accept queue as fast as it can; on a
    // loaded machine that lags behind the connects: the most it held in
    // the next 2 s (shedding starts after 5).
    let mut held = 0;
    let counting = Instant::now();
    while counting.elapsed() < Duration::from_secs(2) && held < SILENT + TRICKLING {
        held = held.max(server.open_files().saturating_sub(before));
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "{} connections in {:?}; the server holds {held} of them",
        SILENT + TRICKLING,
        started.elapsed()
    );
    // The first ones may already be shed by now (5 s), not most of them.
    assert!(
        held >= (SILENT + TRICKLING) / 2,
        "the server held {held} at once"
    );

    // Meanwhile, the room works for its people, and new people get in.
    let r = app.get("/api/health", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    ada.send(json!({"type": "chat.send", "body": "still here?", "ref": 1}))
        .await;
    assert_eq!(
        bob_ws.recv_type("chat.message").await["message"]["body"],
        "still here?"
    );
    let (_carol_ws, welcome) = room.attendee("Carol").await.ws().await;
    assert_eq!(welcome["messages"][0]["body"], "still here?");

    // The server closes every one of them by itself.
    let shed = actix_web::rt::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        idle.into_iter()
            .map(|s| closed_by_server(s, deadline))
            .filter(|closed| *closed)
            .count()
    })
    .await
    .unwrap();
    assert_eq!(shed, SILENT + TRICKLING, "every idle connection was closed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.open_files() > before + 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server.open_files() <= before + 5,
        "the files come back: {} before, {} after",
        before,
        server.open_files()
    );
    ada.send(json!({"type": "chat.send", "body": "all clear", "ref": 2}))
        .await;
    assert_eq!(
        bob_ws.recv_type("chat.message").await["message"]["body"],
        "all clear"
    );
}
