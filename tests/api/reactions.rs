//! Reactions: the six emoji only, 5 a second per participant (a burst of
//! 10), counts exact and told at most four times a second however many
//! are sent, in the stats by minute.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use serde_json::{json, Value};

use crate::kit;
use crate::kit::db::count;
use crate::kit::ws::{busiest_second, reaction_storm, reactions_told};

#[actix_rt::test]
async fn only_the_six_and_only_so_many_a_second() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let bea = room.attendee("Bea").await;
    for bad in ["👎", "", "thumbs up", "👍👍"] {
        let r = bea.post("/reactions", json!({"emoji": bad})).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (400, "invalid_input"),
            "{bad:?}"
        );
    }
    let r = bea.post("/reactions", json!({"emoji": "👍", "x": 1})).await;
    assert_eq!(r.status, 400);
    let mut statuses = Vec::new();
    for _ in 0..15 {
        let r = bea.post("/reactions", json!({"emoji": "👍"})).await;
        if r.status == 429 {
            assert_eq!(r.code(), "rate_limited");
            assert!(r.header("retry-after").is_some());
        }
        statuses.push(r.status.as_u16());
    }
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    // Ten at once, and the one or two the allowance refilled meanwhile.
    assert!(
        (10..=12).contains(&accepted),
        "{accepted} accepted: {statuses:?}"
    );
    assert_eq!(
        statuses.len() - accepted,
        statuses.iter().filter(|s| **s == 429).count()
    );
    let stored = count(
        &mut app.db.conn(),
        "SELECT coalesce(sum(count), 0)::bigint AS n FROM reaction_counts",
    );
    assert_eq!(stored, accepted as i64, "only the accepted are counted");
    let stats = room.moderator().await.get("/stats").await.body;
    assert_eq!(stats["total_reactions"], accepted as i64);
    assert_eq!(
        stats["reactions_timeline"][0]["counts"]["👍"],
        accepted as i64
    );
}

#[actix_rt::test]
async fn a_storm_of_two_thousand_a_second_from_500_sockets_is_counted_exactly() {
    let app = kit::spawn_app().await;
    let room = app
        .create_room(json!({"title": "Big", "presenter_name": "Ada", "max_participants": 1000}))
        .await;
    let presenter = room.presenter().await;
    let people: Vec<_> = stream::iter(0..500)
        .map(|i| {
            let room = &room;
            async move { room.attendee(&format!("Fan {i}")).await }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    let mut sockets = Vec::new();
    for p in &people {
        sockets.push(p.ws().await.0);
    }
    let (mut watcher, _) = presenter.ws().await;
    // The watcher reads as the storm runs: every `reactions` frame, when.
    let frames: Rc<RefCell<Vec<(Instant, Value)>>> = Rc::default();
    let reading = {
        let frames = frames.clone();
        actix_rt::spawn(async move {
            while let Some(f) = watcher
                .gets_within("reactions", Duration::from_secs(3))
                .await
            {
                frames.borrow_mut().push((Instant::now(), f));
            }
        })
    };
    // Each socket sends four a second for three seconds: 2,000 a second.
    const ROUNDS: u64 = 12;
    let started = Instant::now();
    let accepted = reaction_storm(sockets, started, ROUNDS).await;
    let storm = started.elapsed();
    reading.await.unwrap();
    let frames = frames.borrow();
    let told = reactions_told(frames.iter().map(|(_, f)| f));
    let total: u64 = accepted.iter().sum();
    eprintln!(
        "{total} reactions accepted in {storm:?} ({:.0}/s); {} frames",
        total as f64 / storm.as_secs_f64(),
        frames.len()
    );
    assert_eq!(total, 500 * ROUNDS, "none refused at 4 a second");
    assert_eq!(
        told, accepted,
        "the frames add up to exactly what was accepted"
    );
    let stored = count(
        &mut app.db.conn(),
        "SELECT coalesce(sum(count), 0)::bigint AS n FROM reaction_counts",
    );
    assert_eq!(stored as u64, total);
    // At most four a second: over the whole storm, and in any second.
    let span = frames.last().unwrap().0 - frames.first().unwrap().0;
    let most = (span.as_secs_f64() * 4.0).ceil() as usize + 1;
    assert!(frames.len() <= most, "{} frames in {span:?}", frames.len());
    let at: Vec<Instant> = frames.iter().map(|(t, _)| *t).collect();
    let busiest = busiest_second(&at);
    eprintln!("busiest second: {busiest} frames");
    assert!(busiest <= 4, "{busiest} frames within one second");
}
