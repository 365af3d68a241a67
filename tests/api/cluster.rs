//! Several nodes on one database and NATS (CONTRACT "Cluster"): each test
//! starts its own nats-server and three `podium` processes, and puts
//! people of one room on every node.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::kit::nodes::{name, Nodes};
use crate::kit::ws::Ws;
use crate::kit::Participant;

/// Frames a socket gets until `until` arrives (a chat message with that
/// body), the welcome's presence aside.
async fn frames_until(ws: &mut Ws, until: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let f = ws.recv().await;
        let done = f["type"] == "chat.message" && f["message"]["body"] == until;
        seen.push(f);
        if done {
            return seen;
        }
    }
}

/// What everyone in the room sees alike, in order: messages, deletions,
/// questions and settings (presence and vote counts come coalesced, at a
/// pace of their own).
fn shared(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|f| match f["type"].as_str()? {
            "chat.message" => Some(format!("chat {}", f["message"]["body"])),
            "chat.deleted" => Some(format!("deleted {}", f["id"])),
            "question.created" => Some(format!("asked {}", f["question"]["body"])),
            "question.updated" => Some(format!(
                "question {} {}",
                f["question"]["body"], f["question"]["status"]
            )),
            "room.updated" => Some(format!(
                "settings approval={}",
                f["room"]["settings"]["questions_need_approval"]
            )),
            _ => None,
        })
        .collect()
}

/// A room made on A, and the socket on A that made A its home (the first
/// node asked for a room takes it).
async fn homed_on_a(nodes: &Nodes) -> (crate::kit::Room, Ws) {
    let room = nodes.apis[0].room().await;
    let (ws, _) = room.attendee("Early").await.ws().await;
    assert_eq!(home_count(nodes, &room.slug, "node-a"), 1);
    (room, ws)
}

/// Whether `node` is the room's home in the database (1) or not (0).
fn home_count(nodes: &Nodes, slug: &str, node: &str) -> i64 {
    crate::kit::db::count(
        &mut nodes.db.conn(),
        &format!(
            "SELECT count(*) AS n FROM room_homes h JOIN rooms r ON r.id = h.room_id \
             WHERE r.slug = '{slug}' AND h.node_id = '{node}' AND h.expires_at > now()"
        ),
    )
}

/// A sample of a node's /metrics without labels.
async fn metric(api: &crate::kit::Api, name: &str) -> f64 {
    let r = api.get("/metrics", None).await;
    let Value::String(text) = r.body else {
        panic!("metrics are text")
    };
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

async fn presence_reaches(ws: &mut Ws, count: i64) {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if let Some(f) = ws.gets_within("presence", Duration::from_secs(2)).await {
            if f["count"] == count {
                return;
            }
        }
    }
    panic!("presence never reached {count}");
}

#[actix_rt::test]
async fn three_nodes_show_everyone_the_same_events_in_the_same_order() {
    let nodes = Nodes::start(3);
    let [a, b, c] = [0, 1, 2].map(|i| nodes.apis[i].clone());
    let room = a.room().await;
    let presenter = room.presenter().await;
    let moderator = room.on(&b).moderator().await;
    let ann = room.attendee("Ann").await;
    let ben = room.on(&b).attendee("Ben").await;
    let cat = room.on(&c).attendee("Cat").await;

    // Each on their own node's socket.
    let (mut p_ws, _) = presenter.ws().await;
    let (mut m_ws, _) = moderator.ws().await;
    let (mut ann_ws, _) = ann.ws().await;
    let (mut ben_ws, _) = ben.ws().await;
    let (mut cat_ws, welcome) = cat.ws().await;
    assert_eq!(welcome["room"]["slug"], json!(room.slug));
    for ws in [&mut p_ws, &mut m_ws, &mut ann_ws, &mut ben_ws, &mut cat_ws] {
        presence_reaches(ws, 5).await;
    }
    let card = room.on(&c).card().await;
    assert_eq!(card.body["participant_count"], 5, "{}", card.body);
    // The room's core runs on A, where it was first asked for; B and C
    // hold their members for it.
    assert_eq!(home_count(&nodes, &room.slug, "node-a"), 1);
    assert_eq!(metric(&a, "podium_cluster_home_rooms").await, 1.0);
    assert_eq!(metric(&b, "podium_cluster_home_rooms").await, 0.0);
    assert_eq!(metric(&b, "podium_cluster_remote_members").await, 2.0);
    assert_eq!(metric(&c, "podium_cluster_remote_members").await, 1.0);

    // A session's worth of events, asked for on every node.
    ann_ws
        .send(json!({"type": "chat.send", "body": "hello from A", "ref": 1}))
        .await;
    let r = ben.post("/messages", json!({"body": "hello from B"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let from_b = r.body["id"].as_i64().unwrap();
    cat_ws
        .send(json!({"type": "chat.send", "body": "hello from C", "ref": 1}))
        .await;
    let r = moderator.delete(&format!("/messages/{from_b}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = presenter
        .patch("", json!({"settings": {"questions_need_approval": true}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = cat
        .post("/questions", json!({"body": "Pending on C?"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let pending = r.body["id"].as_i64().unwrap();
    let r = moderator
        .patch(&format!("/questions/{pending}"), json!({"approved": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = presenter
        .post("/messages", json!({"body": "the end"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let mut orders = BTreeMap::new();
    for (who, ws) in [
        ("presenter@a", &mut p_ws),
        ("moderator@b", &mut m_ws),
        ("ann@a", &mut ann_ws),
        ("ben@b", &mut ben_ws),
        ("cat@c", &mut cat_ws),
    ] {
        orders.insert(who, shared(&frames_until(ws, "the end").await));
    }
    let staff = &orders["presenter@a"];
    assert_eq!(
        staff,
        &[
            "chat \"hello from A\"",
            "chat \"hello from B\"",
            "chat \"hello from C\"",
            &format!("deleted {from_b}"),
            "settings approval=true",
            "asked \"Pending on C?\"",
            "question \"Pending on C?\" \"open\"",
            "chat \"the end\"",
        ]
        .map(String::from),
        "the presenter's view"
    );
    assert_eq!(&orders["moderator@b"], staff, "staff on another node");
    assert_eq!(
        &orders["cat@c"], staff,
        "the author sees their pending question"
    );
    // Attendees never see the question pending: it reaches them approved.
    let mut public = staff.clone();
    public.retain(|e| e != "asked \"Pending on C?\"");
    public = public
        .into_iter()
        .map(|e| {
            if e.starts_with("question") {
                "asked \"Pending on C?\"".into()
            } else {
                e
            }
        })
        .collect();
    assert_eq!(&orders["ann@a"], &public, "an attendee on A");
    assert_eq!(&orders["ben@b"], &public, "an attendee on B");

    // The moderator on B removes Ann, whose socket is on A.
    let r = moderator
        .post(&format!("/participants/{}/kick", ann.id), json!({}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(ann_ws.closed().await, Some(4003), "kicked across nodes");
    presence_reaches(&mut cat_ws, 4).await;
}

#[actix_rt::test]
async fn a_thousand_votes_spread_over_three_nodes_are_counted_exactly() {
    let nodes = Nodes::start(3);
    let room = nodes.apis[0].room().await;
    let presenter = room.presenter().await;
    let mut questions = Vec::new();
    for i in 0..10 {
        let r = presenter
            .post("/questions", json!({"body": format!("Question {i}?")}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        questions.push(r.body["id"].as_i64().unwrap());
    }
    // A watcher on each node.
    let mut watchers = Vec::new();
    for (i, api) in nodes.apis.iter().enumerate() {
        let w = room.on(api).attendee(&format!("Watcher {i}")).await;
        watchers.push(w.ws().await.0);
    }
    // 100 voters, a third on each node, each voting for every question.
    let mut voters: Vec<Participant> = Vec::new();
    for i in 0..100 {
        let on = room.on(&nodes.apis[i % 3]);
        voters.push(on.attendee(&format!("Voter {i}")).await);
    }
    let started = Instant::now();
    let votes = voters.iter().flat_map(|v| {
        questions
            .iter()
            .map(move |q| async move { v.put(&format!("/questions/{q}/vote")).await })
    });
    let replies = futures_util::future::join_all(votes).await;
    let took = started.elapsed();
    assert_eq!(replies.len(), 1000);
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    eprintln!("1000 votes over 3 nodes in {took:?}");
    let expected: BTreeMap<i64, i64> = questions.iter().map(|q| (*q, 100)).collect();
    // Every node's watcher ends on the exact counts.
    for (i, ws) in watchers.iter_mut().enumerate() {
        let mut last = BTreeMap::new();
        while last != expected {
            let f = tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_else(|| panic!("{}: counts stopped at {last:?}", name(i)));
            let changed = match f["type"].as_str() {
                Some("question.updated") => vec![f["question"].clone()],
                Some("questions.updated") => f["questions"].as_array().unwrap().clone(),
                _ => continue,
            };
            for q in changed {
                last.insert(q["id"].as_i64().unwrap(), q["votes"].as_i64().unwrap());
            }
        }
    }
    // And each node reads the same from the database.
    for api in &nodes.apis {
        let r = presenter.on(api).get("/questions").await;
        let counts: BTreeMap<i64, i64> = r.body["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| (q["id"].as_i64().unwrap(), q["votes"].as_i64().unwrap()))
            .collect();
        assert_eq!(counts, expected);
    }
}

/// Posts chat messages through `who` every 20 ms until `stop` is set: the
/// bodies the server acknowledged (201) and how many it refused.
async fn chatter(
    who: Participant,
    tag: &'static str,
    stop: std::rc::Rc<std::cell::Cell<bool>>,
) -> (Vec<String>, usize) {
    let (mut acked, mut refused) = (Vec::new(), 0);
    let mut i = 0;
    while !stop.get() {
        let body = format!("{tag} {i}");
        i += 1;
        let r = who
            .post("/messages", json!({"body": body, "client_id": body}))
            .await;
        if r.status == 201 {
            acked.push(body);
        } else {
            refused += 1;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    (acked, refused)
}

/// A room made on A with its presenter, Ben joined through B and Cat
/// through C.
async fn three_people(nodes: &Nodes) -> (crate::kit::Room, Participant, Participant, Participant) {
    let room = nodes.apis[0].room().await;
    let presenter = room.presenter().await;
    let ben = room.on(&nodes.apis[1]).attendee("Ben").await;
    let cat = room.on(&nodes.apis[2]).attendee("Cat").await;
    (room, presenter, ben, cat)
}

/// Ben and Cat chatting through their nodes meanwhile.
struct Chatter {
    stop: std::rc::Rc<std::cell::Cell<bool>>,
    running: [actix_rt::task::JoinHandle<(Vec<String>, usize)>; 2],
}

impl Chatter {
    fn start(ben: &Participant, cat: &Participant) -> Chatter {
        let stop = std::rc::Rc::new(std::cell::Cell::new(false));
        let running = [(ben, "B"), (cat, "C")]
            .map(|(who, tag)| actix_rt::spawn(chatter(who.clone(), tag, stop.clone())));
        Chatter { stop, running }
    }

    /// Stops, and checks that every message the server acknowledged is
    /// stored (read through `reader`).
    async fn all_stored(self, reader: &Participant, when: &str) {
        self.stop.set(true);
        let mut acked = Vec::new();
        for (node, c) in ["B", "C"].into_iter().zip(self.running) {
            let (bodies, refused) = c.await.unwrap();
            eprintln!(
                "{when}: {node} {} acknowledged, {refused} refused",
                bodies.len()
            );
            acked.extend(bodies);
        }
        let held = stored(reader).await;
        for body in &acked {
            assert!(held.contains(body), "acknowledged {body:?} is stored");
        }
    }
}

/// Every message body the room holds, read through `who`.
async fn stored(who: &Participant) -> std::collections::HashSet<String> {
    let r = who.get("/messages?limit=200").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits for a socket to be closed for a resync (1012), or for `gone`.
async fn closes_for_resync(ws: &mut Ws) {
    loop {
        match ws.next().await {
            Ok(_) => continue,
            Err(code) => {
                assert_eq!(code, Some(1012), "closed for a resync");
                return;
            }
        }
    }
}

#[actix_rt::test]
async fn when_the_home_node_is_killed_the_room_moves_and_nothing_acknowledged_is_lost() {
    let mut nodes = Nodes::start(3);
    let (room, presenter, ben, cat) = three_people(&nodes).await;
    let (mut p_ws, _) = presenter.ws().await;
    let (mut ben_ws, _) = ben.ws().await;
    let (mut cat_ws, _) = cat.ws().await;
    assert_eq!(home_count(&nodes, &room.slug, "node-a"), 1);

    // Chat keeps coming from B and C while A dies.
    let chatter = Chatter::start(&ben, &cat);
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    nodes.servers[0].signal(nix::sys::signal::Signal::SIGKILL);
    let killed = Instant::now();
    while p_ws.next().await.is_ok() {}
    // (A's sockets went with it.)

    // B's and C's clients are told to come back, and find the room again.
    closes_for_resync(&mut ben_ws).await;
    closes_for_resync(&mut cat_ws).await;
    let (mut ben_ws, _) = ben.reconnect(Duration::from_secs(20)).await;
    let moved = killed.elapsed();
    let (mut cat_ws, _) = cat.reconnect(Duration::from_secs(20)).await;
    // A's client reconnects through another node.
    let presenter = presenter.on(&nodes.apis[1]);
    let (mut p_ws, _) = presenter.reconnect(Duration::from_secs(20)).await;
    let homes = [1, 2].map(|i| home_count(&nodes, &room.slug, &name(i)));
    assert_eq!(homes.iter().sum::<i64>(), 1, "one new home: {homes:?}");
    eprintln!("room moved {moved:?} after kill -9 (home now {homes:?} of b, c)");
    assert!(moved < Duration::from_secs(10), "moved in {moved:?}");

    actix_rt::time::sleep(Duration::from_millis(500)).await;
    chatter.all_stored(&ben, "during the move").await;

    // Everyone goes on together on the new home.
    let r = cat
        .post("/messages", json!({"body": "after the move"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for ws in [&mut ben_ws, &mut cat_ws, &mut p_ws] {
        frames_until(ws, "after the move").await;
    }
    // A comes back as a node like the others.
    nodes.restart(0);
    let ann = room.on(&nodes.apis[0]).attendee("Ann").await;
    let (mut ann_ws, _) = ann.ws().await;
    let r = presenter
        .post("/messages", json!({"body": "welcome back"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    frames_until(&mut ann_ws, "welcome back").await;
}

#[actix_rt::test]
async fn nats_restarting_mid_session_loses_nothing_and_the_nodes_resync() {
    let mut nodes = Nodes::start(3);
    let (_, presenter, ben, cat) = three_people(&nodes).await;
    let (mut p_ws, _) = presenter.ws().await;

    let chatter = Chatter::start(&ben, &cat);
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    nodes.nats.stop();
    actix_rt::time::sleep(Duration::from_secs(2)).await;
    nodes.nats.start_again();
    let back = Instant::now();

    // Each node's clients get every event after the restart, reconnecting
    // if their node resynced them.
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let r = presenter
            .post("/messages", json!({"body": "after nats"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let mut everyone = true;
        for who in [&ben, &cat] {
            let (mut ws, _) = who.reconnect(Duration::from_secs(20)).await;
            let r = presenter.post("/messages", json!({"body": "ping"})).await;
            assert_eq!(r.status, 201, "{}", r.body);
            everyone &= ws
                .gets_within("chat.message", Duration::from_secs(2))
                .await
                .is_some();
        }
        if everyone {
            break;
        }
        assert!(Instant::now() < until, "the nodes never came back together");
        actix_rt::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "nodes deliver again {:?} after NATS is back",
        back.elapsed()
    );
    chatter.all_stored(&presenter, "around the restart").await;
    // The home's own socket lived through it all.
    frames_until(&mut p_ws, "after nats").await;
}

#[actix_rt::test]
async fn a_presenter_publishing_through_one_node_reaches_viewers_on_the_others() {
    use crate::kit::peer::{peer, run};
    use crate::kit::sdp::{AV_RECV, AV_SEND};

    let nodes = Nodes::start(3);
    let [a, b, c] = [0, 1, 2].map(|i| nodes.apis[i].clone());
    let (room, _early) = homed_on_a(&nodes).await;
    let watcher = room.on(&c).attendee("Watcher").await;
    let (mut ws, _) = watcher.ws().await;
    assert_eq!(home_count(&nodes, &room.slug, "node-a"), 1);

    // WHIP through B: the home, A, serves it.
    let presenter = room.on(&b).presenter().await;
    let (mut publisher, offer, pending) = peer(&AV_SEND, false);
    let (status, location, answer) = presenter.post_sdp("/whip?kind=camera", offer).await;
    assert_eq!(status, 201, "{answer}");
    let location = location.expect("Location header");
    publisher.accept(pending, &answer);
    let media_a = nodes.servers[0].log.lock().unwrap().iter().find_map(|l| {
        let m = l.split(" media=").nth(1)?;
        Some(m.split([' ', '\n']).next()?.to_owned())
    });
    let media_a = media_a.expect("A logged its media address");
    let port_a = media_a.rsplit(':').next().unwrap();
    assert!(
        answer
            .lines()
            .any(|l| l.starts_with("a=candidate") && l.contains(port_a)),
        "the answer names A's media port {port_a}: {answer}"
    );

    // Viewers through B and C, and one on A: B and C each take the camera
    // from A once, however many viewers they have.
    let mut peers = vec![publisher];
    for (i, api) in [&b, &c, &b, &b, &a].into_iter().enumerate() {
        let viewer = room.on(api).attendee(&format!("V{i}")).await;
        // Whole frames: a viewer decodes from a keyframe the relay asked for.
        let (mut v, offer, pending) = peer(&AV_RECV, false);
        let (status, _, answer) = viewer.post_sdp("/whep", offer).await;
        assert_eq!(status, 201, "{answer}");
        v.accept(pending, &answer);
        peers.push(v);
    }
    let peers = run(peers, Duration::from_secs(6)).await;
    assert!(peers[0].connected, "the publisher connected");
    // The last viewer is on A itself: the ones on B and C get as much
    // video through their node's copy (over the last two seconds: on a
    // loaded machine a session may take a moment longer to connect).
    let recent = Duration::from_secs(2);
    let direct = peers.last().unwrap().frames_in_last(recent);
    assert!(direct > 30, "the viewer on A: {direct} video frames");
    for (i, v) in peers[1..].iter().enumerate() {
        assert!(
            v.connected && v.packets > 100,
            "viewer {i}: {} frames",
            v.packets
        );
        let got = v.frames_in_last(recent);
        assert!(
            got * 10 >= direct * 8,
            "viewer {i}: {got} video frames in the last 2 s, {direct} on A"
        );
    }
    let media = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    };
    let mut seen = Vec::new();
    for api in [&a, &b, &c] {
        let Value::String(text) = api.get("/metrics", None).await.body else {
            panic!("metrics text")
        };
        seen.push((
            media(&text, "podium_media_peers{kind=\"viewer\"}"),
            media(&text, "podium_cluster_upstreams"),
        ));
    }
    assert_eq!(
        seen,
        [(3.0, 0.0), (3.0, 1.0), (1.0, 1.0)],
        "(viewer sessions, upstreams) on A, B, C: A serves its own viewer and one session to each node"
    );
    // The room is live for a socket on C.
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let state = ws.recv_type("media.state").await;
        if state["live"] == true {
            break;
        }
        assert!(Instant::now() < until, "never live on C");
    }
    // The session URL works through any node: C ends it.
    let r = c.delete(&location, Some(&presenter.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    loop {
        let state = ws.recv_type("media.state").await;
        if state["live"] == false {
            break;
        }
    }
    // Ending the room through B ends every node's sessions of it.
    let r = presenter.delete("").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let mut left = 0.0;
        for api in [&a, &b, &c] {
            let Value::String(text) = api.get("/metrics", None).await.body else {
                panic!("metrics text")
            };
            left += media(&text, "podium_media_peers{kind=\"viewer\"}")
                + media(&text, "podium_cluster_upstreams");
        }
        if left == 0.0 {
            break;
        }
        assert!(
            Instant::now() < until,
            "{left} media sessions left after the end"
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    // The room's peak counts every node's viewers, not the nodes' sessions.
    let r = presenter.on(&c).get("/stats").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["media"]["peak_viewers"], 5, "{}", r.body);
}

#[actix_rt::test]
async fn viewers_on_the_other_nodes_resume_when_the_presenter_republishes_after_the_home_dies() {
    use crate::kit::peer::{peer, run, Peer};
    use crate::kit::sdp::{AV_RECV, AV_SEND};

    let nodes = Nodes::start(3);
    let [b, c] = [1, 2].map(|i| nodes.apis[i].clone());
    let (room, _early) = homed_on_a(&nodes).await;
    let presenter = room.on(&b).presenter().await;
    let publish = || async {
        let started = Instant::now();
        loop {
            let (mut publisher, offer, pending) = peer(&AV_SEND, false);
            let (status, _, answer) = presenter.post_sdp("/whip?kind=camera", offer).await;
            if status == 201 {
                publisher.accept(pending, &answer);
                return publisher;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{status}: {answer}"
            );
            actix_rt::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let publisher = publish().await;
    let mut viewers: Vec<Peer> = Vec::new();
    for (i, api) in [&b, &c].into_iter().enumerate() {
        let viewer = room.on(api).attendee(&format!("V{i}")).await;
        let (mut v, offer, pending) = peer(&AV_RECV, false);
        let (status, _, answer) = viewer.post_sdp("/whep", offer).await;
        assert_eq!(status, 201, "{answer}");
        v.accept(pending, &answer);
        viewers.push(v);
    }
    viewers.insert(0, publisher);
    let mut peers = run(viewers, Duration::from_secs(3)).await;
    let _gone_with_a = peers.remove(0);
    for v in &peers {
        assert!(
            v.frames.len() > 30,
            "{} video frames before",
            v.frames.len()
        );
    }

    nodes.servers[0].signal(nix::sys::signal::Signal::SIGKILL);
    let killed = Instant::now();
    // The viewers' sessions are on B and C: they go on running while the
    // studio publishes again (through B, to the room's new home).
    let watching = actix_rt::spawn(run(peers, Duration::from_secs(20)));
    let publisher = publish().await;
    let republished = Instant::now();
    eprintln!("republished {:?} after the kill", republished - killed);
    let left = Duration::from_secs(20).saturating_sub(killed.elapsed());
    let publishing = actix_rt::spawn(run(vec![publisher], left));
    let viewers = watching.await.unwrap();
    let _ = publishing.await.unwrap();
    for (i, v) in viewers.iter().enumerate() {
        let after: Vec<Instant> = v
            .frames
            .iter()
            .map(|f| f.at)
            .filter(|at| *at > republished)
            .collect();
        let first = after.first().map(|at| *at - republished);
        eprintln!(
            "viewer {i}: first frame {first:?} after the republish, {} since",
            after.len()
        );
        assert!(
            after.len() > 30,
            "viewer {i} resumed: {} frames",
            after.len()
        );
        assert!(
            first.is_some_and(|f| f < Duration::from_secs(5)),
            "viewer {i} resumed within 5 s: {first:?}"
        );
    }
}

#[actix_rt::test]
async fn viewers_on_another_node_choose_among_every_layer_of_the_home() {
    use crate::kit::peer::{run, simulcast_publisher, viewer, Via, THREE_LAYERS};

    let nodes = Nodes::start(3);
    let b = nodes.apis[1].clone();
    let (room, _early) = homed_on_a(&nodes).await;
    let presenter = room.presenter().await;
    let (mut publisher, offer, pending) = simulcast_publisher(&THREE_LAYERS);
    let (status, _, answer) = presenter.post_sdp("/whip?kind=camera", offer).await;
    assert_eq!(status, 201, "{answer}");
    publisher.accept(pending, &answer);

    // Two viewers on B: one automatic, one that will pin the lowest layer.
    let mut peers = vec![publisher];
    let mut layer_urls = Vec::new();
    for name in ["Auto", "Low"] {
        let who = room.on(&b).attendee(name).await;
        let (mut v, offer, pending) = viewer(Via::Udp);
        let req = b.request(
            awc::http::Method::POST,
            &who.path("/whep"),
            Some(&who.token),
        );
        let r = b.send_body(req, "application/sdp", offer).await;
        assert_eq!(r.status, 201, "{}", r.text);
        v.accept(pending, &r.text);
        let location = r.header("location").unwrap().to_owned();
        layer_urls.push((who, format!("{location}/layer")));
        peers.push(v);
    }
    let peers = run(peers, Duration::from_secs(4)).await;
    // B's copy of the camera has the home's three layers.
    let (who, url) = &layer_urls[1];
    let r = b.post(url, Some(&who.token), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (mid, section) = r
        .body
        .as_object()
        .unwrap()
        .iter()
        .next()
        .expect("a video section");
    let ids: Vec<String> = section["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["encodingId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "three layers on B: {}", r.body);
    let auto = peers[1].widths_since(0);
    assert!(
        auto.iter().any(|w| *w > 320),
        "automatic gets more than the lowest: {auto:?}"
    );

    // The other pins the lowest: B serves it the low layer, A still sends
    // B one session.
    let r = b
        .post(
            url,
            Some(&who.token),
            &json!({"mediaId": mid, "encodingId": ids[0]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let from = peers[2].frames.len();
    let peers = run(peers, Duration::from_secs(3)).await;
    peers[2].settled_on_width(from, 320);
    let still = peers[1].widths_since(from);
    assert!(
        still.iter().any(|w| *w > 320),
        "the automatic one is not lowered: {still:?}"
    );
}
