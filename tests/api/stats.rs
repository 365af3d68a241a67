//! A scripted session with known joins, leaves, messages, questions and
//! votes: its statistics and CSVs, exactly. The server stamps rows with its
//! own clock; the test then moves every stamp to a fixed instant, so the
//! expected output is the same on every run, byte for byte.

use std::time::Duration;

use diesel::RunQueryDsl;
use serde_json::json;

use crate::kit;

fn sql(conn: &mut diesel::PgConnection, q: &str) {
    diesel::sql_query(q).execute(conn).expect(q);
}

async fn samples_reach(db: &kit::db::TestDb, n: i64) {
    for _ in 0..200 {
        let got = kit::db::count(
            &mut db.conn(),
            "SELECT count(*) AS n FROM attendance_samples",
        );
        if got >= n {
            assert_eq!(got, n, "one sample per change of the count");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("attendance samples did not reach {n}");
}

/// A CSV export read with `token` (a participant's, or a key).
async fn csv(app: &kit::TestApp, path: &str, token: &str) -> String {
    let r = app.get(path, Some(token)).await;
    assert_eq!(r.status, 200);
    r.text
}

#[actix_rt::test]
async fn a_scripted_session_gives_exactly_the_expected_stats_and_csv() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let base = room.path("");
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let a = room.attendee("Grace").await;
    let b = room.attendee("Linus").await;
    let c = room.attendee("Barbara").await;

    // Attendance: Grace comes, Linus comes, Grace leaves, Linus leaves.
    let (ws_a, _) = a.ws().await;
    samples_reach(&app.db, 1).await;
    let (ws_b, _) = b.ws().await;
    samples_reach(&app.db, 2).await;
    drop(ws_a);
    samples_reach(&app.db, 3).await;
    drop(ws_b);
    samples_reach(&app.db, 4).await;

    // Chat: Grace twice, Linus once; Barbara is silent.
    let mut chat = Vec::new();
    for (who, body) in [(&a, "hello"), (&a, "a, b \"c\""), (&b, "hi")] {
        let r = who.post("/messages", json!({"body": body})).await;
        assert_eq!(r.status, 201);
        chat.push(r.body["id"].as_i64().unwrap());
    }
    // Questions: Grace asks one, Linus one anonymously; everyone votes for
    // Linus's, Grace also for her own; Mo answers Linus's.
    let q1 = a
        .post("/questions", json!({"body": "=1+1 is it?"}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let q2 = b
        .post(
            "/questions",
            json!({"body": "When is the next one?", "anonymous": true}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    for (who, q) in [(&a, q2), (&b, q2), (&c, q2), (&a, q1)] {
        let r = who.put(&format!("/questions/{q}/vote")).await;
        assert_eq!(r.status, 200);
    }
    let r = moderator
        .patch(
            &format!("/questions/{q2}"),
            json!({"answer": "Next month", "answered": true}),
        )
        .await;
    assert_eq!(r.status, 200);
    // A poll: Grace and Linus say yes (Linus after saying no), Barbara no.
    let r = moderator
        .post(
            "/polls",
            json!({"question": "Again next month?", "options": ["Yes", "No"]}),
        )
        .await;
    let poll = r.body["id"].as_i64().unwrap();
    let poll_path = format!("/polls/{poll}");
    moderator.patch(&poll_path, json!({"status": "open"})).await;
    for (who, choice) in [(&a, 0), (&b, 1), (&c, 1), (&b, 0)] {
        let r = who
            .put_json(&format!("{poll_path}/vote"), json!({"options": [choice]}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    moderator
        .patch(&poll_path, json!({"status": "closed"}))
        .await;
    // Reactions: three thumbs from Grace, two cheers from Linus.
    for (who, emoji) in [(&a, "👍"), (&a, "👍"), (&b, "🎉"), (&a, "👍"), (&b, "🎉")] {
        let r = who.post("/reactions", json!({"emoji": emoji})).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    assert_eq!(presenter.delete("").await.status, 200);

    // The fixed clock: the session ran from 10:01 to 11:01 on 2030-01-01.
    let mut conn = app.db.conn();
    let t = |s: i64| format!("timestamptz '2030-01-01 10:00:00+00' + interval '{s} seconds'");
    sql(
        &mut conn,
        &format!(
            "UPDATE rooms SET created_at = {}, started_at = {}, ended_at = {}",
            t(0),
            t(60),
            t(3660)
        ),
    );
    sql(&mut conn, &format!(
        "UPDATE attendance_samples s SET at = {} + (o.rn - 1) * interval '10 minutes' \
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM attendance_samples) o WHERE o.id = s.id",
        t(60)
    ));
    sql(&mut conn, &format!(
        "UPDATE participant_sessions s SET connected_at = CASE p.name WHEN 'Grace' THEN {} ELSE {} END, \
         disconnected_at = CASE p.name WHEN 'Grace' THEN {} ELSE {} END \
         FROM participants p WHERE p.id = s.participant_id",
        t(60), t(660), t(1260), t(1860)
    ));
    sql(
        &mut conn,
        &format!(
            "UPDATE questions SET created_at = {} + (id - {q1}) * interval '1 minute'",
            t(300)
        ),
    );
    sql(
        &mut conn,
        &format!(
            "UPDATE questions SET answered_at = {} WHERE answered",
            t(900)
        ),
    );
    sql(&mut conn, &format!(
        "UPDATE participants p SET joined_at = {} + (o.rn - 1) * interval '10 seconds' \
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM participants) o WHERE o.id = p.id",
        t(0)
    ));
    sql(
        &mut conn,
        &format!(
            "UPDATE messages m SET created_at = {} + (o.rn - 1) * interval '30 seconds' \
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM messages) o WHERE o.id = m.id",
            t(120)
        ),
    );

    sql(
        &mut conn,
        &format!(
            "UPDATE polls SET created_at = {}, opened_at = {}, closed_at = {}",
            t(0),
            t(1200),
            t(1500)
        ),
    );
    // Every reaction into one minute (they may have straddled two).
    sql(
        &mut conn,
        &format!(
            "WITH moved AS (DELETE FROM reaction_counts RETURNING *) \
             INSERT INTO reaction_counts (room_id, minute, emoji, count) \
             SELECT room_id, {}, emoji, sum(count) FROM moved GROUP BY room_id, emoji",
            t(600)
        ),
    );

    let stats = moderator.get("/stats").await;
    assert_eq!(stats.status, 200);
    assert_eq!(
        stats.body,
        json!({
            "peak_concurrent": 2,
            "total_participants": 5,
            "total_messages": 3,
            "total_questions": 2,
            "total_votes": 4,
            "started_at": "2030-01-01T10:01:00Z",
            "ended_at": "2030-01-01T11:01:00Z",
            "duration_seconds": 3600,
            "timeline": [
                {"at": "2030-01-01T10:01:00Z", "concurrent": 1},
                {"at": "2030-01-01T10:11:00Z", "concurrent": 2},
                {"at": "2030-01-01T10:21:00Z", "concurrent": 1},
                {"at": "2030-01-01T10:31:00Z", "concurrent": 0},
            ],
            // Grace 20 minutes, Linus 20 minutes; Barbara never connected.
            "average_watch_seconds": 1200,
            "participation": {"attendees": 3, "asked": 2.0 / 3.0, "voted": 1.0, "chatted": 2.0 / 3.0},
            "top_questions": [
                {"id": q2, "body": "When is the next one?", "author_name": null, "votes": 3,
                 "answered": true, "answer": "Next month"},
                {"id": q1, "body": "=1+1 is it?", "author_name": "Grace", "votes": 1,
                 "answered": false, "answer": null},
            ],
            "media": {"live_seconds": 0, "peak_viewers": 0},
            "total_reactions": 5,
            "reactions_timeline": [
                {"at": "2030-01-01T10:10:00Z", "counts": {"👍": 3, "🎉": 2}},
            ],
            "polls": [{
                "id": poll, "question": "Again next month?",
                "options": [{"text": "Yes", "votes": 2}, {"text": "No", "votes": 1}],
                "multiple": false, "status": "closed", "total_voters": 3,
                "created_at": "2030-01-01T10:00:00Z", "opened_at": "2030-01-01T10:20:00Z",
                "closed_at": "2030-01-01T10:25:00Z",
            }],
        })
    );
    let polls_csv = "poll,question,status,multiple,option_number,option,votes,total_voters,opened_at,closed_at\n\
         1,Again next month?,closed,false,1,Yes,2,3,2030-01-01T10:20:00Z,2030-01-01T10:25:00Z\n\
         1,Again next month?,closed,false,2,No,1,3,2030-01-01T10:20:00Z,2030-01-01T10:25:00Z\n";
    assert_eq!(
        csv(&app, &format!("{base}/polls.csv"), &moderator.token).await,
        polls_csv
    );

    let attendance = "at,concurrent\n\
         2030-01-01T10:01:00Z,1\n\
         2030-01-01T10:11:00Z,2\n\
         2030-01-01T10:21:00Z,1\n\
         2030-01-01T10:31:00Z,0\n";
    assert_eq!(
        csv(&app, &format!("{base}/stats.csv"), &moderator.token).await,
        attendance
    );
    let questions = format!(
        "id,question,author,votes,status,pinned,hidden,answer,created_at,answered_at\n\
         {q2},When is the next one?,Anonymous,3,answered,false,false,Next month,2030-01-01T10:06:00Z,2030-01-01T10:15:00Z\n\
         {q1},'=1+1 is it?,Grace,1,open,false,false,,2030-01-01T10:05:00Z,\n"
    );
    assert_eq!(
        csv(&app, &format!("{base}/questions.csv"), &presenter.token).await,
        questions
    );
    // One row per person: watch time merged per person, Linus's anonymous
    // question not counted under his name, staff listed with their role.
    let people =
        "name,role,first_joined,last_left,watch_seconds,messages,questions,votes,removed_at\n\
         Ada,presenter,2030-01-01T10:00:00Z,,0,0,0,0,\n\
         Mo,moderator,2030-01-01T10:00:10Z,,0,0,0,0,\n\
         Grace,attendee,2030-01-01T10:00:20Z,2030-01-01T10:21:00Z,1200,2,1,2,\n\
         Linus,attendee,2030-01-01T10:00:30Z,2030-01-01T10:31:00Z,1200,1,0,1,\n\
         Barbara,attendee,2030-01-01T10:00:40Z,,0,0,0,1,\n";
    assert_eq!(
        csv(&app, &format!("{base}/participants.csv"), &moderator.token).await,
        people
    );
    let chat_csv = format!(
        "id,sent_at,name,role,message\n\
         {},2030-01-01T10:02:00Z,Grace,attendee,hello\n\
         {},2030-01-01T10:02:30Z,Grace,attendee,\"a, b \"\"c\"\"\"\n\
         {},2030-01-01T10:03:00Z,Linus,attendee,hi\n",
        chat[0], chat[1], chat[2]
    );
    assert_eq!(
        csv(&app, &format!("{base}/chat.csv"), &moderator.token).await,
        chat_csv
    );
    // The presenter and moderator links' keys open the report and every
    // export from any browser after the end, when no token can be had.
    for key in [&room.host_key, &room.moderator_key] {
        assert_eq!(
            app.get(&format!("{base}/stats"), Some(key)).await.body,
            stats.body
        );
        for (name, want) in [
            ("stats.csv", attendance.to_owned()),
            ("questions.csv", questions.clone()),
            ("participants.csv", people.to_owned()),
            ("chat.csv", chat_csv.clone()),
            ("polls.csv", polls_csv.to_owned()),
        ] {
            assert_eq!(
                csv(&app, &format!("{base}/{name}"), key).await,
                want,
                "{name}"
            );
        }
    }
    let other = app.room().await;
    let r = app
        .get(&format!("{base}/stats"), Some(&other.host_key))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (401, "unauthorized"),
        "another room's key"
    );
    // The numbers agree with each other.
    let timeline = stats.body["timeline"].as_array().unwrap();
    assert!(timeline
        .iter()
        .all(|s| s["concurrent"].as_i64().unwrap()
            <= stats.body["peak_concurrent"].as_i64().unwrap()));
}
