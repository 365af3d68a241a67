//! Polls over REST and WebSocket: drafts for staff, open and closed once,
//! a change of mind replacing the vote, anonymous counts, exact under a
//! storm, in the stats and polls.csv.

use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use serde_json::{json, Value};

use crate::kit;

fn votes(poll: &Value) -> Vec<i64> {
    poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes"].as_i64().unwrap())
        .collect()
}

#[actix_rt::test]
async fn a_poll_goes_from_draft_to_open_to_closed_and_a_vote_can_change_while_open() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let bea = room.attendee("Bea").await;
    let (mut bea_ws, welcome) = bea.ws().await;
    assert_eq!(welcome["polls"], json!([]));

    let r = moderator
        .post(
            "/polls",
            json!({"question": "Tabs or spaces?", "options": ["tabs", " spaces ", "both"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "draft");
    assert_eq!(
        r.body["options"][1]["text"], "spaces",
        "options are trimmed"
    );
    let id = r.body["id"].as_i64().unwrap();
    let poll = format!("/polls/{id}");
    // A draft is for staff only.
    assert_eq!(bea.get("/polls").await.body["polls"], json!([]));
    assert_eq!(moderator.get("/polls").await.body["polls"][0]["id"], id);
    let r = bea
        .put_json(&format!("{poll}/vote"), json!({"options": [0]}))
        .await;
    assert_eq!(r.status, 404, "no voting on a draft: {}", r.body);

    let r = moderator.patch(&poll, json!({"status": "open"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["opened_at"].is_string());
    let created = bea_ws.recv_type("poll.created").await;
    assert_eq!(created["poll"]["status"], "open");

    let r = bea
        .put_json(&format!("{poll}/vote"), json!({"options": [1]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["my_choice"], json!([1]));
    assert_eq!(votes(&r.body), [0, 1, 0]);
    // A change of mind replaces the vote.
    let r = bea
        .put_json(&format!("{poll}/vote"), json!({"options": [2]}))
        .await;
    assert_eq!(votes(&r.body), [0, 0, 1]);
    assert_eq!(r.body["total_voters"], 1);
    // Over the socket too, with the voter's own frame.
    bea_ws
        .send(json!({"type": "poll.vote", "id": id, "options": [0], "ref": 1}))
        .await;
    let mine = bea_ws.recv_type("poll.voted").await;
    assert_eq!(mine["poll"]["my_choice"], json!([0]));
    let update = bea_ws.recv_type("poll.updated").await;
    assert_eq!(votes(&update["poll"]), [1, 0, 0]);
    assert!(
        update["poll"].get("my_choice").is_none(),
        "broadcasts carry nobody's choice"
    );
    for (bad, why) in [
        (json!({"options": [0, 1]}), "one option"),
        (json!({"options": [3]}), "no such option"),
        (json!({"options": []}), "no option"),
        (json!({"options": [0], "extra": 1}), "unknown field"),
    ] {
        let r = bea.put_json(&format!("{poll}/vote"), bad).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (400, "invalid_input"),
            "{why}"
        );
    }
    // Who chose what is nowhere, not even for staff.
    let seen = moderator.get("/polls").await.body;
    let text = seen.to_string();
    assert!(!text.contains("Bea") && !text.contains(&format!("\"participant_id\":{}", bea.id)));
    assert_eq!(seen["polls"][0]["my_choice"], Value::Null);
    assert_eq!(
        bea.get("/polls").await.body["polls"][0]["my_choice"],
        json!([0])
    );

    let r = moderator.patch(&poll, json!({"status": "closed"})).await;
    assert_eq!(r.status, 200);
    let r = bea
        .put_json(&format!("{poll}/vote"), json!({"options": [1]}))
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "poll_not_open"));
    let r = moderator.patch(&poll, json!({"status": "open"})).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (409, "poll_status"),
        "never back"
    );
    let r = moderator.patch(&poll, json!({"status": "draft"})).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_input"));
    // An attendee may not run polls.
    let r = bea.patch(&poll, json!({"status": "closed"})).await;
    assert_eq!(r.status, 403);

    // The report has the final counts, and a row per option.
    let stats = moderator.get("/stats").await.body;
    assert_eq!(votes(&stats["polls"][0]), [1, 0, 0]);
    let csv = moderator.get("/polls.csv").await;
    let text = csv.body.as_str().unwrap().to_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three options: {text}");
    assert!(lines[1].contains("Tabs or spaces?") && lines[1].contains(",tabs,1,1,"));

    let r = moderator.delete(&poll).await;
    assert_eq!(r.status, 204);
    let removed = bea_ws.recv_type("poll.removed").await;
    assert_eq!(removed["id"], id);
    assert_eq!(bea.get("/polls").await.body["polls"], json!([]));
}

#[actix_rt::test]
async fn a_thousand_votes_at_once_are_counted_exactly_and_told_at_most_ten_times_a_second() {
    let app = kit::spawn_app().await;
    let room = app
        .create_room(json!({"title": "Big", "presenter_name": "Ada", "max_participants": 2000}))
        .await;
    let moderator = room.moderator().await;
    let voters: Vec<_> = stream::iter(0..1000)
        .map(|i| {
            let room = &room;
            async move { room.attendee(&format!("Voter {i}")).await }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    let r = moderator
        .post(
            "/polls",
            json!({"question": "Which day?", "options": ["Mon", "Tue", "Wed", "Thu"]}),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    moderator
        .patch(&format!("/polls/{id}"), json!({"status": "open"}))
        .await;
    let (mut watcher, _) = moderator.ws().await;

    let started = Instant::now();
    let results: Vec<u16> = stream::iter(voters.iter().enumerate())
        .map(|(i, v)| async move {
            v.put_json(&format!("/polls/{id}/vote"), json!({"options": [i % 4]}))
                .await
                .status
                .as_u16()
        })
        .buffer_unordered(200)
        .collect()
        .await;
    let took = started.elapsed();
    assert!(results.iter().all(|s| *s == 200), "every vote is taken");
    // The frames the storm caused, until the counts settle.
    let mut frames = 0;
    let mut last = None;
    while let Some(f) = watcher
        .gets_within("poll.updated", Duration::from_millis(1500))
        .await
    {
        frames += 1;
        last = Some(f);
    }
    let span = started.elapsed() - Duration::from_millis(1500);
    let last = last.expect("the counts were told");
    assert_eq!(votes(&last["poll"]), [250, 250, 250, 250]);
    assert_eq!(last["poll"]["total_voters"], 1000);
    let stored = moderator.get("/polls").await.body;
    assert_eq!(votes(&stored["polls"][0]), [250, 250, 250, 250]);
    let most = (span.as_secs_f64() * 10.0).ceil() as usize + 1;
    eprintln!("1000 votes in {took:?}; {frames} poll.updated frames over {span:?}");
    assert!(
        frames <= most,
        "{frames} frames in {span:?}: more than ten a second"
    );
}
