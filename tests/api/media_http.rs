//! WHIP and WHEP against the real server: str0m clients on real UDP
//! sockets publish synthetic VP8 + Opus and watch it.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::kit;
use crate::kit::peer::{peer, run, Peer};
use crate::kit::sdp::{self, AV_RECV, AV_SEND};

#[actix_rt::test]
async fn whip_publisher_reaches_whep_viewers_over_udp() {
    // Three media shards: viewers are placed on the least busy ones, so
    // some sit away from the presenter's and get its media relayed.
    let app = kit::spawn_app_with(|c| c.media_shards = Some(3)).await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let (mut ws, w) = presenter.ws().await;
    assert_eq!(w["media"]["live"], false);

    let (mut publisher, offer, pending) = peer(&AV_SEND, false);
    let (status, location, answer) = presenter.post_sdp("/whip?kind=camera", offer).await;
    assert_eq!(status, 201, "{answer}");
    let location = location.expect("Location header");
    assert!(answer.starts_with("v=0"));
    publisher.accept(pending, &answer);

    let mut peers = vec![publisher];
    for i in 0..3 {
        let viewer = room.attendee(&format!("V{i}")).await;
        let (mut v, offer, pending) = peer(&AV_RECV, true);
        let (status, _, answer) = viewer.post_sdp("/whep", offer).await;
        assert_eq!(status, 201, "{answer}");
        v.accept(pending, &answer);
        peers.push(v);
    }
    // An attendee's crafted offer (one payload type, two meanings; it once
    // made str0m assert on the shard's thread) is refused, and the others'
    // media goes on.
    let crafted = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/seeds/media/regression-pt-conflict-1"
    ))
    .unwrap();
    let attacker = room.attendee("Mallory").await;
    let (status, _, body) = attacker
        .post_sdp("/whep", String::from_utf8(crafted[1..].to_vec()).unwrap())
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("payload type"), "{body}");
    let peers = run(peers, Duration::from_secs(4)).await;
    assert!(peers[0].connected, "publisher connected");
    for (i, v) in peers[1..].iter().enumerate() {
        assert!(v.connected, "viewer {i} connected");
        assert!(
            v.packets > 100,
            "viewer {i} received only {} packets",
            v.packets
        );
    }
    let state = ws.recv_type("media.state").await;
    assert_eq!(
        (state["live"].clone(), state["screen"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(room.card().await.body["status"], "live");

    // The media figures reached the metrics (shards report every second).
    let metric = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let serde_json::Value::String(text) = app.get("/metrics", None).await.body else {
        panic!("metrics text")
    };
    assert!(metric(&text, "podium_media_packets_forwarded_total ") > 300.0);
    assert!(metric(&text, "podium_media_bytes_forwarded_total ") > 30_000.0);
    assert!(metric(&text, "podium_media_keyframe_requests_total ") >= 1.0);
    assert!(text.contains("podium_media_forward_delay_seconds_bucket"));
    assert_eq!(metric(&text, "podium_media_peers{kind=\"viewer\"} "), 3.0);

    let r = app.delete(&location, Some(&presenter.token)).await;
    assert_eq!(r.status, 200);
    // Earlier frames (live, as tracks arrived) may still be queued; the
    // last one says off.
    assert_eq!(last_state(&mut ws).await["live"], false);
    assert_eq!(room.card().await.body["status"], "open");
}

#[actix_rt::test]
async fn whip_and_whep_refuse_what_they_cannot_serve() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let attendee = room.attendee("Bob").await;
    let whip = room.path("/whip");
    let (_, offer, _) = peer(&AV_SEND, false);
    let host_key = Some(room.host_key.as_str());

    let (status, _, body) = attendee.post_sdp("/whip", offer.clone()).await;
    assert_eq!(status, 403, "attendees cannot publish: {body}");
    let (status, _, _) = sdp::post(&app, &whip, Some("not-a-token"), offer.clone()).await;
    assert_eq!(status, 401);
    let (status, _, body) = sdp::post(
        &app,
        &format!("{whip}?kind=hologram"),
        host_key,
        offer.clone(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = sdp::post(&app, &whip, host_key, "v=0\r\nthis is not sdp".into()).await;
    assert_eq!(status, 400, "{body}");
    let req = app
        .request(awc::http::Method::POST, &whip, Some(&room.host_key))
        .insert_header(("Content-Type", "application/json"));
    let res = req.send_body(offer.clone()).await.unwrap();
    assert_eq!(res.status(), 415);
    // Offers past 64 KiB, however far past, get the contract's 413.
    for size in [65 * 1024, 300 * 1024, 4 << 20] {
        let huge = format!("v=0\r\n{}", "a=x\r\n".repeat(size / 5));
        for (path, token) in [
            (whip.clone(), room.host_key.as_str()),
            (room.path("/whep"), attendee.token.as_str()),
        ] {
            let r = app
                .send_body(
                    app.request(awc::http::Method::POST, &path, Some(token)),
                    "application/sdp",
                    huge.clone(),
                )
                .await;
            assert_eq!(
                (r.status.as_u16(), r.code()),
                (413, "too_large"),
                "{size} bytes"
            );
        }
    }
    // The host key itself is a valid WHIP bearer (for tools like OBS).
    let (status, location, body) = sdp::post(&app, &whip, host_key, offer).await;
    assert_eq!(status, 201, "{body}");
    let location = location.unwrap();
    // Only its owner (or the presenter) may end a session.
    let r = app.delete(&location, Some(&attendee.token)).await;
    assert_eq!(r.status, 404);
    let trickle = app
        .request(awc::http::Method::PATCH, &location, Some(&room.host_key))
        .insert_header(("Content-Type", "application/trickle-ice-sdpfrag"));
    assert_eq!(
        trickle
            .send_body("a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n")
            .await
            .unwrap()
            .status(),
        204
    );
    let r = app.delete(&location, Some(&room.host_key)).await;
    assert_eq!(r.status, 200);
    // Gone once deleted: no trickle, and nothing for anyone else to find;
    // its owner's repeated DELETE is answered as the first was.
    let trickle = app
        .request(awc::http::Method::PATCH, &location, Some(&room.host_key))
        .insert_header(("Content-Type", "application/trickle-ice-sdpfrag"));
    assert_eq!(trickle.send_body("").await.unwrap().status(), 404);
    let r = app.delete(&location, Some(&attendee.token)).await;
    assert_eq!(r.status, 404);
    let r = app.delete(&location, Some(&room.host_key)).await;
    assert_eq!(r.status, 200, "DELETE is idempotent for the owner");
}

#[actix_rt::test]
async fn kicking_a_viewer_ends_its_media_session() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let troll = room.attendee("Troll").await;
    let (_, offer, _) = peer(&AV_RECV, true);
    let (status, location, _) = troll.post_sdp("/whep", offer).await;
    assert_eq!(status, 201);
    let kick = format!("/participants/{}/kick", troll.id);
    assert_eq!(presenter.post(&kick, json!({})).await.status, 204);
    let r = app.delete(&location.unwrap(), Some(&presenter.token)).await;
    assert_eq!(r.status, 404, "the kicked viewer's session is already gone");
}

#[actix_rt::test]
async fn a_delete_after_the_peer_closed_is_200_for_its_owner_only() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let owner = room.attendee("Bob").await;
    let other = room.attendee("Cy").await;
    let presenter = room.presenter().await;
    let (mut viewer, offer, pending) = peer(&AV_RECV, true);
    let (status, location, answer) = owner.post_sdp("/whep", offer).await;
    assert_eq!(status, 201, "{answer}");
    let location = location.unwrap();
    viewer.accept(pending, &answer);
    let mut peers = run(vec![viewer], Duration::from_secs(2)).await;
    assert!(peers[0].connected, "the viewer connected");

    // As a browser's pc.close() before its DELETE (Medooze's WHEPClient
    // does so): DTLS close_notify, and the server ends the session.
    peers[0].rtc.close().unwrap();
    let _ = run(peers, Duration::from_millis(300)).await;
    let patch = || {
        app.send_body(
            app.request(awc::http::Method::PATCH, &location, Some(&owner.token)),
            "application/trickle-ice-sdpfrag",
            "a=end-of-candidates\r\n",
        )
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = patch().await;
        if r.status == 404 {
            assert_eq!(r.code(), "not_found", "an ended session takes no trickle");
            break;
        }
        assert!(Instant::now() < deadline, "the server never saw the close");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // To anyone but its owner, the ended session is exactly like one that
    // never existed; the presenter, who could end it while it lived, too.
    let never = location.rsplit_once('/').unwrap().0.to_owned() + "/999999";
    let unknown = app.delete(&never, Some(&owner.token)).await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.code()),
        (404, "not_found")
    );
    for token in [&other.token, &presenter.token, &room.host_key] {
        let r = app.delete(&location, Some(token)).await;
        assert_eq!((r.status.as_u16(), &r.body), (404, &unknown.body));
    }
    let r = app.delete(&location, Some(&owner.token)).await;
    assert_eq!(
        r.status, 200,
        "the owner's DELETE after the close: {}",
        r.body
    );
    let r = app.delete(&location, Some(&owner.token)).await;
    assert_eq!(
        r.status, 200,
        "and again: DELETE is idempotent for its owner"
    );
    assert_eq!(patch().await.status, 404);
}

/// Packets each viewer (all but the first peer) has received so far.
fn received(peers: &[Peer]) -> Vec<usize> {
    peers[1..].iter().map(|v| v.packets).collect()
}

#[actix_rt::test]
async fn postgresql_restarting_mid_session_costs_writes_not_media() {
    use podium::store::embedded::{find_bindir, PrivateCluster};
    let bindir = find_bindir().expect("PostgreSQL server binaries are installed");
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("pg-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let cluster = PrivateCluster::start(&bindir, &root).unwrap();
    let url = cluster.url("podium");
    let server_url = url.clone();
    let app = kit::spawn_app_with(move |c| c.database_url = Some(server_url)).await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let attendee = room.attendee("Bob").await;
    let (mut ws, _) = attendee.ws().await;
    let (mut publisher, offer, pending) = peer(&AV_SEND, false);
    let (status, _, answer) = presenter.post_sdp("/whip", offer).await;
    assert_eq!(status, 201, "{answer}");
    publisher.accept(pending, &answer);
    let mut peers = vec![publisher];
    for _ in 0..2 {
        let (mut v, offer, pending) = peer(&AV_RECV, true);
        let (status, _, answer) = attendee.post_sdp("/whep", offer).await;
        assert_eq!(status, 201, "{answer}");
        v.accept(pending, &answer);
        peers.push(v);
    }
    let r = attendee.post("/messages", json!({"body": "before"})).await;
    assert_eq!(r.status, 201);
    let peers = run(peers, Duration::from_secs(2)).await;
    let before = received(&peers);
    assert!(before.iter().all(|n| *n > 50), "media flows: {before:?}");

    // PostgreSQL stops (a restart's first half).
    let cluster = actix_web::rt::task::spawn_blocking(move || {
        let mut cluster = cluster;
        cluster.stop().unwrap();
        cluster
    })
    .await
    .unwrap();
    let outage = async {
        let r = app.get("/api/health", None).await;
        assert_eq!((r.status.as_u16(), r.code()), (503, "unavailable"));
        assert_eq!(r.body["database"], "unavailable");
        let r = attendee
            .post("/messages", json!({"body": "lost in REST"}))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (503, "unavailable"),
            "{}",
            r.body
        );
        ws.send(json!({"type": "chat.send", "body": "lost on the socket", "ref": 1}))
            .await;
        let reply = ws.recv_type("error").await;
        assert_eq!(
            (reply["ref"].clone(), reply["code"].clone()),
            (json!(1), json!("unavailable"))
        );
    };
    let (peers, ()) = futures_util::join!(run(peers, Duration::from_secs(8)), outage);
    let during = received(&peers);
    for (b, d) in before.iter().zip(&during) {
        assert!(
            d - b > 100,
            "media went on during the outage: {before:?} -> {during:?}"
        );
    }

    // PostgreSQL is back: the same server, the same socket, work again.
    let cluster_root = root.clone();
    drop(cluster);
    let cluster = actix_web::rt::task::spawn_blocking(move || {
        PrivateCluster::start(&bindir, &cluster_root).unwrap()
    })
    .await
    .unwrap();
    let recovered = async {
        let r = app.get("/api/health", None).await;
        assert_eq!(
            (r.body["status"].clone(), r.body["database"].clone()),
            (json!("ok"), json!("ok"))
        );
        let r = attendee.post("/messages", json!({"body": "after"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ws.send(json!({"type": "chat.send", "body": "after, on the socket", "ref": 2}))
            .await;
        assert_eq!(ws.recv_type("ack").await["ref"], 2);
    };
    let (peers, ()) = futures_util::join!(run(peers, Duration::from_secs(2)), recovered);
    let after = received(&peers);
    for (d, a) in during.iter().zip(&after) {
        assert!(a > d, "media still flows: {during:?} -> {after:?}");
    }
    // Stored: what was acknowledged, and nothing that was refused.
    let listed = attendee.get("/messages").await;
    let bodies: Vec<&str> = listed.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["before", "after", "after, on the socket"]);
    drop(app);
    let mut cluster = cluster;
    cluster.stop().unwrap();
    let _ = std::fs::remove_dir_all(&root);
}

/// The engine's media state reaches the room in the order it changed. A
/// presenter who republishes again and again (each new session replaces
/// the last: off, then live once it connects) ends live everywhere: in the
/// last frame sockets got, in a new socket's welcome, on the room's card
/// and in the metrics; and off everywhere once they stop.
#[actix_rt::test]
async fn quick_live_off_live_flips_end_in_the_last_state_everywhere() {
    let app = kit::spawn_app_with(|c| c.media_shards = Some(2)).await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let bea = room.attendee("Bea").await;
    let (mut ws, _) = bea.ws().await;
    let mut peers = Vec::new();
    let mut location = None;
    for _ in 0..6 {
        let (mut publisher, offer, pending) = peer(&AV_SEND, false);
        let (status, at, answer) = presenter.post_sdp("/whip?kind=camera", offer).await;
        assert_eq!(status, 201, "{answer}");
        publisher.accept(pending, &answer);
        location = at;
        peers.push(publisher);
        peers = run(peers, Duration::from_millis(250)).await;
    }
    peers = run(peers, Duration::from_millis(500)).await;
    let state = last_state(&mut ws).await;
    assert_eq!(
        (&state["live"], &state["reconnecting"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(
        everywhere(&app, &room).await,
        (json!("live"), json!(true), 1.0)
    );

    let r = app.delete(&location.unwrap(), Some(&presenter.token)).await;
    assert_eq!(r.status, 200);
    let _ = run(peers, Duration::from_millis(300)).await;
    let state = last_state(&mut ws).await;
    assert_eq!(
        (&state["live"], &state["reconnecting"]),
        (&json!(false), &json!(false))
    );
    assert_eq!(
        everywhere(&app, &room).await,
        (json!("open"), json!(false), 0.0)
    );
}

/// The last media state a socket was told (frames until 0.7 s of quiet).
async fn last_state(ws: &mut kit::ws::Ws) -> serde_json::Value {
    let mut last = None;
    while let Some(s) = ws
        .gets_within("media.state", Duration::from_millis(700))
        .await
    {
        last = Some(s);
    }
    last.expect("media states were sent")
}

/// The room's media state as the card, a new socket's welcome and the
/// metrics tell it.
async fn everywhere(
    app: &kit::TestApp,
    room: &kit::room::Room,
) -> (serde_json::Value, serde_json::Value, f64) {
    let status = room.card().await.body["status"].clone();
    let late = room.attendee("Late").await;
    let (_, welcome) = late.ws().await;
    let serde_json::Value::String(text) = app.get("/metrics", None).await.body else {
        panic!("metrics text")
    };
    let live_rooms = text
        .lines()
        .find_map(|l| l.strip_prefix("podium_rooms_live ")?.trim().parse().ok())
        .unwrap_or(-1.0);
    (status, welcome["media"]["live"].clone(), live_rooms)
}
