//! CSV exports: quoting, spreadsheet-formula neutralising, permissions.

use serde_json::json;

use crate::kit;

#[actix_rt::test]
async fn questions_csv_quotes_and_defuses_user_text() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let eve = room.attendee("=HYPERLINK(\"x\")").await;
    let bob = room.attendee("Bob").await;
    let q1 = eve
        .post("/questions", json!({"body": "=cmd|' /C calc'!A0"}))
        .await;
    let q2 = bob
        .post(
            "/questions",
            json!({"body": "a, b \"quoted\"\nnew line", "anonymous": true}),
        )
        .await;
    eve.put(&format!("/questions/{}/vote", q2.body["id"])).await;
    moderator
        .patch(
            &format!("/questions/{}", q2.body["id"]),
            json!({"answer": "-1, sadly"}),
        )
        .await;

    let r = moderator.get("/questions.csv").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-disposition").unwrap_or_default(),
        format!("attachment; filename=\"{}-questions.csv\"", room.slug)
    );
    let body = r.text;
    let mut rows = csv::Reader::from_reader(body.as_bytes());
    let headers: Vec<String> = rows.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        headers,
        [
            "id",
            "question",
            "author",
            "votes",
            "status",
            "pinned",
            "hidden",
            "answer",
            "created_at",
            "answered_at"
        ]
    );
    let rows: Vec<Vec<String>> = rows
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 2);
    // Most voted first; the anonymous author stays anonymous.
    assert_eq!(rows[0][0], q2.body["id"].to_string());
    assert_eq!(
        &rows[0][1..8],
        [
            "a, b \"quoted\"\nnew line",
            "Anonymous",
            "1",
            "answered",
            "false",
            "false",
            "'-1, sadly"
        ]
    );
    assert_eq!(
        &rows[1][1..5],
        ["'=cmd|' /C calc'!A0", "'=HYPERLINK(\"x\")", "0", "open"]
    );
    assert_eq!(rows[1][0], q1.body["id"].to_string());
    // On the wire: the multi-line cell is quoted with doubled quotes.
    assert!(body.contains("\"a, b \"\"quoted\"\"\nnew line\""), "{body}");

    assert_eq!(bob.get("/questions.csv").await.status, 403);
}

#[actix_rt::test]
async fn attendance_csv_has_one_row_per_sample() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let (_ws, _) = moderator.ws().await;
    let mut samples = 0;
    for _ in 0..50 {
        samples = kit::db::count(
            &mut app.db.conn(),
            "SELECT count(*) AS n FROM attendance_samples",
        );
        if samples > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(samples > 0);
    let r = moderator.get("/stats.csv").await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-disposition")
        .unwrap_or_default()
        .contains("-attendance.csv"));
    let body = r.text;
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "at,concurrent");
    assert_eq!(lines.len() as i64, samples + 1, "{body}");
    assert!(lines[1].ends_with(",1"), "{body}");
}
