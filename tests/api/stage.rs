//! The stage over REST and WebSocket: hands in the order raised, an
//! invitation accepted or declined, the stage full, a speaker's own WHIP,
//! taken off stage (their media ends at once, their WHIP refused after),
//! stepping down.

use serde_json::json;

use crate::kit;
use crate::kit::sdp::{offer, AV_SEND};

#[actix_rt::test]
async fn hands_are_kept_in_the_order_raised_and_staff_lower_them() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let bea = room.attendee("Bea").await;
    let cy = room.attendee("Cy").await;
    let (mut mod_ws, welcome) = moderator.ws().await;
    assert_eq!(welcome["stage"]["hands"], json!([]));
    let (mut cy_ws, _) = cy.ws().await;
    for who in [&bea, &cy] {
        let r = who.post("/hand", json!({})).await;
        assert_eq!(
            (r.status.as_u16(), &r.body),
            (200, &json!({"raised": true}))
        );
    }
    // Again: nothing changes, the place in the queue is kept.
    assert_eq!(bea.post("/hand", json!({})).await.status, 200);
    let hands = moderator.get("/hands").await.body;
    let names: Vec<&str> = hands["hands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bea", "Cy"]);
    assert!(
        hands["hands"][0]["raised_at"].as_str().unwrap()
            <= hands["hands"][1]["raised_at"].as_str().unwrap()
    );
    let frame = mod_ws.recv_type("hands").await;
    assert!(!frame["hands"].as_array().unwrap().is_empty());
    assert_eq!(cy_ws.recv_type("hand.state").await["raised"], true);
    // Attendees do not see the queue; the presenter and moderators raise
    // no hands.
    assert_eq!(bea.get("/hands").await.status, 403);
    assert_eq!(moderator.post("/hand", json!({})).await.status, 403);
    // A moderator lowers Cy's hand; Cy hears so.
    let r = moderator.delete(&format!("/hands/{}", cy.id)).await;
    assert_eq!(r.status, 204);
    assert_eq!(cy_ws.recv_type("hand.state").await["raised"], false);
    let r = moderator.delete(&format!("/hands/{}", cy.id)).await;
    assert_eq!(r.status, 404, "no hand to lower");
    // Bea lowers her own.
    let r = bea.delete("/hand").await;
    assert_eq!(r.body, json!({"raised": false}));
    assert_eq!(moderator.get("/hands").await.body["hands"], json!([]));
}

#[actix_rt::test]
async fn an_invited_attendee_comes_on_stage_publishes_and_is_taken_off() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let bea = room.attendee("Bea").await;
    let cy = room.attendee("Cy").await;
    let dee = room.attendee("Dee").await;
    let (mut bea_ws, _) = bea.ws().await;
    let (mut dee_ws, _) = dee.ws().await;
    bea.post("/hand", json!({})).await;

    // Only the invited may accept.
    assert_eq!(bea.post("/stage/accept", json!({})).await.status, 403);
    let r = moderator
        .post("/stage", json!({"participant_id": bea.id}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    bea_ws.recv_type("stage.invited").await;
    assert_eq!(cy.post("/stage/accept", json!({})).await.status, 403);
    assert_eq!(
        bea.post("/stage", json!({"participant_id": cy.id}))
            .await
            .status,
        403
    );
    let r = moderator
        .post("/stage", json!({"participant_id": 999_999}))
        .await;
    assert_eq!(r.status, 404, "no such attendee");
    // No WHIP before accepting.
    let (status, _, _) = bea.post_sdp("/whip?kind=camera", offer(&AV_SEND)).await;
    assert_eq!(status, 403);

    let r = bea.post("/stage/accept", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["participant"]["role"], "speaker");
    let update = dee_ws.recv_type("stage.updated").await;
    let on: Vec<&str> = update["speakers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(on, ["Ada", "Bea"], "the presenter first");
    assert_eq!(bea.get("/me").await.body["participant"]["role"], "speaker");
    let lineup = cy.get("/stage").await.body;
    assert_eq!(lineup["speakers"][1]["role"], "speaker");
    assert_eq!(
        moderator.get("/hands").await.body["hands"],
        json!([]),
        "on stage, the hand goes down"
    );

    // A speaker publishes camera and microphone, never the screen.
    let (status, session, _) = bea.post_sdp("/whip?kind=camera", offer(&AV_SEND)).await;
    assert_eq!(status, 201);
    let session = session.unwrap();
    let (status, _, _) = bea.post_sdp("/whip?kind=screen", offer(&AV_SEND)).await;
    assert_eq!(status, 403);
    let (status, _, _) = cy.post_sdp("/whip?kind=camera", offer(&AV_SEND)).await;
    assert_eq!(status, 403, "an attendee publishes nothing");
    // Nor can an attendee take her off.
    assert_eq!(cy.delete(&format!("/stage/{}", bea.id)).await.status, 403);

    // Taken off stage: her media ends at once, her WHIP is refused.
    let trickle = |token: String| {
        let req = app.request(awc::http::Method::PATCH, &session, Some(&token));
        app.send_body(
            req,
            "application/trickle-ice-sdpfrag",
            "a=end-of-candidates\r\n",
        )
    };
    assert_eq!(
        trickle(bea.token.clone()).await.status,
        204,
        "her session is live"
    );
    let r = moderator.delete(&format!("/stage/{}", bea.id)).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        trickle(bea.token.clone()).await.status,
        404,
        "her session ended"
    );
    let (status, _, _) = bea.post_sdp("/whip?kind=camera", offer(&AV_SEND)).await;
    assert_eq!(status, 403);
    assert_eq!(bea.get("/me").await.body["participant"]["role"], "attendee");
    let update = dee_ws.recv_type("stage.updated").await;
    assert_eq!(update["speakers"].as_array().unwrap().len(), 1);

    // Taking someone off who is not a speaker (the presenter) ends nothing
    // of theirs.
    let (status, camera, _) = presenter
        .post_sdp("/whip?kind=camera", offer(&AV_SEND))
        .await;
    assert_eq!(status, 201);
    let camera = camera.unwrap();
    assert_eq!(
        moderator
            .delete(&format!("/stage/{}", presenter.id))
            .await
            .status,
        204
    );
    let req = app.request(awc::http::Method::PATCH, &camera, Some(&presenter.token));
    let r = app
        .send_body(
            req,
            "application/trickle-ice-sdpfrag",
            "a=end-of-candidates\r\n",
        )
        .await;
    assert_eq!(r.status, 204, "the presenter's camera session lives on");
}

#[actix_rt::test]
async fn the_stage_holds_max_speakers_and_a_speaker_can_step_down_or_decline() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let moderator = room.moderator().await;
    let r = moderator
        .patch("", json!({"settings": {"max_speakers": 1}}))
        .await;
    assert_eq!(r.body["settings"]["max_speakers"], 1);
    let r = moderator
        .patch("", json!({"settings": {"max_speakers": 11}}))
        .await;
    assert_eq!(r.status, 400);
    let bea = room.attendee("Bea").await;
    let cy = room.attendee("Cy").await;
    let dee = room.attendee("Dee").await;
    for who in [&bea, &cy, &dee] {
        let r = moderator
            .post("/stage", json!({"participant_id": who.id}))
            .await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(bea.post("/stage/accept", json!({})).await.status, 200);
    let r = cy.post("/stage/accept", json!({})).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "stage_full"));
    // Dee declines; her invitation is gone.
    assert_eq!(dee.post("/stage/decline", json!({})).await.status, 204);
    assert_eq!(dee.post("/stage/accept", json!({})).await.status, 403);
    // Bea steps down; now Cy's acceptance fits.
    assert_eq!(bea.delete(&format!("/stage/{}", bea.id)).await.status, 204);
    assert_eq!(cy.post("/stage/accept", json!({})).await.status, 200);
    let r = moderator
        .post("/stage", json!({"participant_id": cy.id}))
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "already_on_stage"));
    // Over the socket too: Cy steps down (her welcome says she is a speaker).
    let (mut ws, welcome) = crate::kit::ws::Ws::join(&app, &room.slug, &cy.token).await;
    assert_eq!(welcome["participant"]["role"], "speaker");
    ws.send(json!({"type": "stage.remove", "id": cy.id, "ref": 1}))
        .await;
    let ack = loop {
        let v = ws.recv().await;
        if v["ref"] == 1 {
            break v;
        }
    };
    assert_eq!(ack["type"], "ack");
    assert_eq!(
        cy.get("/stage").await.body["speakers"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}
