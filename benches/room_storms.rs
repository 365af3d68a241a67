//! Storms on one room of the real server (the `podium` binary on CPU 0,
//! the clients on CPU 1):
//! - votes: V votes per second spread over 20 questions by many
//!   participants (REST `PUT …/vote`), while one socket watches the room:
//!   the final counts must equal the votes acknowledged; prints the vote
//!   reply latency and the vote-count frames (`question.updated`,
//!   `questions.updated`) per second the room got;
//! - joins: J joins per second into a password room (argon2id checks):
//!   join latency and errors;
//! - poll votes: P a second on one open poll of four options, from P
//!   voters who each vote (changing their minds) once a second: the final
//!   counts must be the voters' last choices exactly; reply latency and
//!   `poll.updated` frames per second;
//! - reactions: R a second from R/4 sockets (four each, within the
//!   allowance): the `reactions` frames a watching socket gets must add up
//!   to exactly the reactions acknowledged, as must the stats; frames per
//!   second.
//!
//! `cargo bench --bench room_storms -- --votes 1000 --joins 100 --poll-votes 1000 --reactions 2000 --seconds 30`
//! Without `--bench` (as `cargo test --all-targets` runs it): a short run.

// The tests' kit (a database, the server as a child process, rooms and
// participants); this bench uses part of it.
#[allow(dead_code, unused_imports)]
#[path = "../tests/kit/mod.rs"]
mod kit;
// The benches' support; this one reads no CPU time.
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use awc::ws::Frame;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

use kit::ws::{busiest_second, reaction_storm, reactions_told};
use kit::Api;

const QUESTIONS: usize = 20;

struct Args {
    votes: u64,
    joins: u64,
    poll_votes: u64,
    reactions: u64,
    seconds: u64,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let bench = argv.iter().any(|a| a == "--bench");
    let get = |name: &str, default: u64| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (v, j, p, r, s) = if bench {
        (1000, 100, 1000, 2000, 30)
    } else {
        (100, 10, 100, 200, 2)
    };
    Args {
        votes: get("--votes", v),
        joins: get("--joins", j),
        poll_votes: get("--poll-votes", p),
        reactions: get("--reactions", r),
        seconds: get("--seconds", s),
    }
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

async fn post(http: &awc::Client, url: String, body: Value, token: Option<&str>) -> (u16, Value) {
    let mut req = http.post(url);
    if let Some(t) = token {
        req = req.insert_header(("authorization", format!("Bearer {t}")));
    }
    match req.send_json(&body).await {
        Ok(mut r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// Runs `f(i)` for i in 0..n, started at `rate` per second; returns the
/// latency of each call that succeeded and the number that failed.
async fn paced<F, Fut>(n: u64, rate: u64, f: F) -> (Vec<Duration>, u64)
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = bool> + 'static,
{
    let done = Rc::new(RefCell::new((Vec::new(), 0u64)));
    let start = Instant::now();
    let mut handles = Vec::new();
    for i in 0..n {
        let at = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(at.into()).await;
        let fut = f(i);
        let done = done.clone();
        handles.push(actix_rt::spawn(async move {
            let t0 = Instant::now();
            let ok = fut.await;
            let mut d = done.borrow_mut();
            if ok {
                d.0.push(t0.elapsed());
            } else {
                d.1 += 1;
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    let (mut lat, failed) = done.borrow().clone();
    lat.sort_unstable();
    (lat, failed)
}

async fn votes(a: &Args, api: &Api, http: &awc::Client) {
    let base = &api.base;
    let room = api
        .create_room(json!({"title": "Votes", "presenter_name": "Ada", "max_participants": 100000}))
        .await;
    let slug = room.slug.clone();
    let host = room.presenter().await;
    let mut questions = Vec::new();
    for i in 0..QUESTIONS {
        let q = host
            .post("/questions", json!({"body": format!("Question {i}")}))
            .await;
        questions.push(q.body["id"].as_i64().unwrap());
    }
    // Each participant votes once on every question.
    let total = a.votes * a.seconds;
    let voters = total.div_ceil(QUESTIONS as u64);
    let mut tokens = Vec::new();
    for i in 0..voters {
        tokens.push(room.attendee(&format!("V{i}")).await.token);
    }

    // One socket watches the room's broadcasts.
    let ws_url = format!("{}/api/rooms/{slug}/ws", base.replace("http://", "ws://"));
    let (_, mut ws) = awc::Client::new().ws(ws_url).connect().await.unwrap();
    ws.send(awc::ws::Message::Text(
        json!({"type": "hello", "token": host.token})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let updates = Rc::new(RefCell::new(Vec::<Instant>::new()));
    let seen = updates.clone();
    actix_rt::spawn(async move {
        while let Some(Ok(frame)) = ws.next().await {
            if let Frame::Text(t) = frame {
                // One question's count, or several in one frame.
                if t.windows(16).any(|w| w == b"question.updated")
                    || t.windows(17).any(|w| w == b"questions.updated")
                {
                    seen.borrow_mut().push(Instant::now());
                }
            }
        }
    });

    let tokens = Rc::new(tokens);
    let questions = Rc::new(questions);
    let started = Instant::now();
    let (lat, failed) = paced(total, a.votes, |i| {
        let http = http.clone();
        let url = format!(
            "{base}/api/rooms/{slug}/questions/{}/vote",
            questions[(i % QUESTIONS as u64) as usize]
        );
        let token = tokens[(i / QUESTIONS as u64) as usize].clone();
        async move {
            http.put(url)
                .insert_header(("authorization", format!("Bearer {token}")))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        }
    })
    .await;
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut r = http
        .get(format!("{base}/api/rooms/{slug}/questions"))
        .insert_header(("authorization", format!("Bearer {}", host.token)))
        .send()
        .await
        .unwrap();
    let list: Value = r.json().limit(1 << 22).await.unwrap();
    let counted: i64 = list["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["votes"].as_i64().unwrap())
        .sum();
    let acknowledged = lat.len() as i64;
    let updates = updates.borrow();
    let window = updates
        .iter()
        .filter(|t| t.duration_since(started) <= took)
        .count();
    println!(
        "room_storms: votes: {acknowledged} acknowledged ({failed} failed) in {:.1} s ({:.0}/s); counts {} ({counted} counted); \
         reply latency p50={:.1} ms p99={:.1} ms max={:.1} ms; vote-count frames {:.1}/s to each socket",
        took.as_secs_f64(),
        acknowledged as f64 / took.as_secs_f64(),
        if counted == acknowledged { "exact" } else { "WRONG" },
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
        window as f64 / took.as_secs_f64(),
    );
    assert_eq!(
        counted, acknowledged,
        "every acknowledged vote is counted, once"
    );
}

async fn joins(a: &Args, api: &Api, http: &awc::Client) {
    let base = &api.base;
    let room = api
        .create_room(json!({"title": "Joins", "presenter_name": "Ada", "password": "a fine password", "max_participants": 100000}))
        .await;
    let slug = room.slug;
    let total = a.joins * a.seconds;
    let started = Instant::now();
    let (lat, failed) = paced(total, a.joins, |i| {
        let http = http.clone();
        let url = format!("{base}/api/rooms/{slug}/join");
        async move {
            let (status, _) = post(
                &http,
                url,
                json!({"name": format!("J{i}"), "password": "a fine password"}),
                None,
            )
            .await;
            status == 200
        }
    })
    .await;
    println!(
        "room_storms: joins: {} in {:.1} s at {}/s, {failed} errors; latency p50={:.1} ms p99={:.1} ms max={:.1} ms",
        lat.len(),
        started.elapsed().as_secs_f64(),
        a.joins,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
    );
}

/// Joins `n` attendees, 50 at a time.
async fn attendees(room: &kit::Room, n: u64, prefix: &str) -> Vec<kit::Participant> {
    futures_util::stream::iter(0..n)
        .map(|i| async move { room.attendee(&format!("{prefix}{i}")).await })
        .buffer_unordered(50)
        .collect()
        .await
}

/// Counts the frames of type `ty` a socket gets, and when, until `stop`.
fn watch(mut ws: kit::ws::Ws, ty: &'static str) -> Rc<RefCell<Vec<(Instant, Value)>>> {
    let seen: Rc<RefCell<Vec<(Instant, Value)>>> = Rc::default();
    let out = seen.clone();
    actix_rt::spawn(async move {
        while let Some(f) = ws.gets_within(ty, Duration::from_secs(5)).await {
            seen.borrow_mut().push((Instant::now(), f));
        }
    });
    out
}

async fn poll_votes(a: &Args, api: &Api) {
    let room = api
        .create_room(json!({"title": "Poll", "presenter_name": "Ada", "max_participants": 100000}))
        .await;
    let host = room.presenter().await;
    let r = host
        .post(
            "/polls",
            json!({"question": "Which?", "options": ["a", "b", "c", "d"]}),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    host.patch(&format!("/polls/{id}"), json!({"status": "open"}))
        .await;
    let voters = attendees(&room, a.poll_votes, "P").await;
    let (ws, _) = host.ws().await;
    let frames = watch(ws, "poll.updated");
    let rounds = a.seconds;
    let started = Instant::now();
    // Voter i's k-th vote, one a second each, spread over the second.
    let choice = |i: u64, k: u64| ((i + k * 3) % 4) as usize;
    let tasks: Vec<_> = voters
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let i = i as u64;
            let offset = Duration::from_secs_f64(i as f64 / a.poll_votes as f64);
            actix_rt::spawn(async move {
                let mut lat = Vec::new();
                let mut last = None;
                for k in 0..rounds {
                    tokio::time::sleep_until((started + offset + Duration::from_secs(k)).into())
                        .await;
                    let t0 = Instant::now();
                    let r = v
                        .put_json(
                            &format!("/polls/{id}/vote"),
                            json!({"options": [choice(i, k)]}),
                        )
                        .await;
                    if r.status == 200 {
                        lat.push(t0.elapsed());
                        last = Some(choice(i, k));
                    }
                }
                (lat, last)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut expected = [0i64; 4];
    for t in tasks {
        let (l, last) = t.await.unwrap();
        lat.extend(l);
        if let Some(c) = last {
            expected[c] += 1;
        }
    }
    let took = started.elapsed();
    lat.sort_unstable();
    let stored = host.get("/polls").await.body;
    let counted: Vec<i64> = stored["polls"][0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes"].as_i64().unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let at: Vec<Instant> = frames
        .borrow()
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| t.duration_since(started) <= took)
        .collect();
    let last_told = frames
        .borrow()
        .last()
        .map(|(_, f)| f["poll"]["options"].clone());
    println!(
        "room_storms: poll votes: {} acknowledged of {} in {:.1} s ({:.0}/s); counts {} ({counted:?}, expected {expected:?}); \
         reply latency p50={:.1} ms p99={:.1} ms max={:.1} ms; poll.updated frames {:.1}/s, at most {} in a second",
        lat.len(),
        a.poll_votes * rounds,
        took.as_secs_f64(),
        lat.len() as f64 / took.as_secs_f64(),
        if counted == expected { "exact" } else { "WRONG" },
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
        at.len() as f64 / took.as_secs_f64(),
        busiest_second(&at),
    );
    assert_eq!(
        counted, expected,
        "the counts are every voter's last choice"
    );
    let told: Vec<i64> = last_told
        .expect("the counts were told")
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes"].as_i64().unwrap())
        .collect();
    assert_eq!(told, expected, "the last frame told the final counts");
}

async fn reactions(a: &Args, api: &Api) {
    let room = api
        .create_room(
            json!({"title": "Reactions", "presenter_name": "Ada", "max_participants": 100000}),
        )
        .await;
    let host = room.presenter().await;
    let senders = a.reactions.div_ceil(4);
    let people = attendees(&room, senders, "R").await;
    let mut sockets = Vec::new();
    for p in &people {
        sockets.push(p.ws().await.0);
    }
    let (ws, _) = host.ws().await;
    let frames = watch(ws, "reactions");
    let rounds = 4 * a.seconds;
    let started = Instant::now();
    let accepted = reaction_storm(sockets, started, rounds).await;
    let took = started.elapsed();
    // The last frame comes within 300 ms of the last reaction.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let frames = frames.borrow().clone();
    let told = reactions_told(frames.iter().map(|(_, f)| f));
    let total: u64 = accepted.iter().sum();
    let at: Vec<Instant> = frames.iter().map(|(t, _)| *t).collect();
    let stats = room.moderator().await.get("/stats").await.body;
    println!(
        "room_storms: reactions: {total} acknowledged of {} in {:.1} s ({:.0}/s) from {senders} sockets; frames add up {} \
         ({told:?} told, {accepted:?} acknowledged), stats {}; reactions frames {:.1}/s, at most {} in a second",
        senders * rounds,
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        if told == accepted { "exactly" } else { "WRONG" },
        stats["total_reactions"],
        at.len() as f64 / took.as_secs_f64(),
        busiest_second(&at),
    );
    assert_eq!(told, accepted, "the frames add up to what was acknowledged");
    assert_eq!(stats["total_reactions"], total, "the stats count them all");
}

fn main() {
    let a = args();
    support::raise_open_files();
    let pinned = support::cpus() >= 2;
    if pinned {
        support::pin_to(1);
    }
    let db = kit::TestDb::new();
    let server = support::start_server(&db.url, &[], pinned.then_some(0));
    actix_rt::System::new().block_on(async {
        // The kit's client sets the rooms up; the storms have their own.
        let api = Api::new(server.base());
        let http = awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish();
        votes(&a, &api, &http).await;
        joins(&a, &api, &http).await;
        poll_votes(&a, &api).await;
        reactions(&a, &api).await;
    });
    drop(server);
    drop(db);
}
