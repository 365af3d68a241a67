//! CSV exports: quoting, spreadsheet-formula neutralising, permissions.

use serde_json::json;

use crate::kit;

async fn csv_of(app: &kit::TestApp, path: &str, token: &str) -> (u16, String, String) {
    let mut res = app
        .request(awc::http::Method::GET, path, Some(token))
        .send()
        .await
        .unwrap();
    let disposition = res
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    (res.status().as_u16(), disposition, body)
}

#[actix_rt::test]
async fn questions_csv_quotes_and_defuses_user_text() {
    let app = kit::spawn_app().await;
    let room = app.open_room().await;
    let moderator = app
        .join_ok(&room.slug, json!({"name": "Mo", "key": room.moderator_key}))
        .await;
    let eve = app
        .join_ok(&room.slug, json!({"name": "=HYPERLINK(\"x\")"}))
        .await;
    let bob = app.join_ok(&room.slug, json!({"name": "Bob"})).await;
    let base = format!("/api/rooms/{}", room.slug);
    let q1 = app
        .post(
            &format!("{base}/questions"),
            Some(&eve),
            &json!({"body": "=cmd|' /C calc'!A0"}),
        )
        .await;
    let q2 = app
        .post(
            &format!("{base}/questions"),
            Some(&bob),
            &json!({"body": "a, b \"quoted\"\nnew line", "anonymous": true}),
        )
        .await;
    let vote = format!("{base}/questions/{}/vote", q2.body["id"]);
    app.send(app.request(awc::http::Method::PUT, &vote, Some(&eve)), None)
        .await;
    let patch = format!("{base}/questions/{}", q2.body["id"]);
    app.send(
        app.request(awc::http::Method::PATCH, &patch, Some(&moderator)),
        Some(&json!({"answer": "-1, sadly"})),
    )
    .await;

    let (status, disposition, body) =
        csv_of(&app, &format!("{base}/questions.csv"), &moderator).await;
    assert_eq!(status, 200);
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{}-questions.csv\"", room.slug)
    );
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

    let (status, _, _) = csv_of(&app, &format!("{base}/questions.csv"), &bob).await;
    assert_eq!(status, 403);
}

#[actix_rt::test]
async fn attendance_csv_has_one_row_per_sample() {
    let app = kit::spawn_app().await;
    let room = app.open_room().await;
    let moderator = app
        .join_ok(&room.slug, json!({"name": "Mo", "key": room.moderator_key}))
        .await;
    let (_ws, _) = kit::ws::Ws::join(&app, &room.slug, &moderator).await;
    let base = format!("/api/rooms/{}", room.slug);
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
    let (status, disposition, body) = csv_of(&app, &format!("{base}/stats.csv"), &moderator).await;
    assert_eq!(status, 200);
    assert!(disposition.contains("-attendance.csv"));
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "at,concurrent");
    assert_eq!(lines.len() as i64, samples + 1, "{body}");
    assert!(lines[1].ends_with(",1"), "{body}");
}
