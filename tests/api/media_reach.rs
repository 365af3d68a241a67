//! Every attendee can watch, against the real server: a viewer picks its
//! simulcast layer through the WHEP layer extension and follows the
//! `layers` events; a viewer whose network drops UDP watches over TCP; TURN
//! servers come with fresh credentials.

use std::time::{Duration, Instant};

use awc::http::Method;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::kit;
use crate::kit::api::Resp;
use crate::kit::peer::{run, simulcast_publisher, viewer, Peer, Via, THREE_LAYERS};
use crate::kit::room::Participant;

/// POSTs an offer to `rest` (WHIP or WHEP) as `who`: the whole response.
async fn post_offer(app: &kit::TestApp, who: &Participant, rest: &str, sdp: String) -> Resp {
    let req = app.request(Method::POST, &who.path(rest), Some(&who.token));
    app.send_body(req, "application/sdp", sdp).await
}

/// The response's `Link` headers.
fn links(r: &Resp) -> Vec<String> {
    r.headers
        .get_all("link")
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The URL of the link with `rel`.
fn link_url(r: &Resp, rel: &str) -> String {
    let link = links(r)
        .into_iter()
        .find(|l| l.contains(&format!("rel=\"{rel}\"")))
        .unwrap_or_else(|| panic!("no {rel} link in {:?}", links(r)));
    link[1..link.find('>').unwrap()].to_owned()
}

/// A presenter publishing three layers, connected and sending.
async fn publishing(presenter: &Participant, app: &kit::TestApp) -> Peer {
    let (mut publisher, offer, pending) = simulcast_publisher(&THREE_LAYERS);
    let r = post_offer(app, presenter, "/whip?kind=camera", offer).await;
    assert_eq!(r.status, 201, "{}", r.text);
    publisher.accept(pending, &r.text);
    let mut peers = run(vec![publisher], Duration::from_millis(1500)).await;
    let publisher = peers.remove(0);
    assert!(publisher.connected, "the publisher connected");
    publisher
}

/// Reads the next `layers` event of an event stream (within `within`).
async fn next_layers<S>(events: &mut S, buf: &mut String, within: Duration) -> Option<Value>
where
    S: futures_core::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if let Some(data) = event
                .strip_prefix("event: layers\ndata: ")
                .map(|d| d.trim_end())
            {
                return Some(serde_json::from_str(data).expect("layers data is JSON"));
            }
            continue;
        }
        let chunk = tokio::time::timeout_at(deadline, events.next())
            .await
            .ok()??;
        buf.push_str(std::str::from_utf8(&chunk.ok()?).unwrap());
    }
}

/// The video section's entry of a `layers` event (or the layer URL's
/// answer): encodings lowest first, what it gets, its mode.
fn section(layers: &Value) -> (Vec<String>, Value, String) {
    let (_, s) = layers
        .as_object()
        .unwrap()
        .iter()
        .next()
        .expect("a video section");
    let ids = s["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["encodingId"].as_str().unwrap().to_owned())
        .collect();
    (
        ids,
        s["current"].clone(),
        s["mode"].as_str().unwrap().to_owned(),
    )
}

#[actix_rt::test]
async fn a_viewer_pins_a_layer_through_the_layer_url_and_follows_the_layers_events() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let bea = room.attendee("Bea").await;
    let publisher = publishing(&presenter, &app).await;

    let (mut watcher, offer, pending) = viewer(Via::Udp);
    let r = post_offer(&app, &bea, "/whep", offer).await;
    assert_eq!(r.status, 201, "{}", r.text);
    watcher.accept(pending, &r.text);
    let session = r.header("location").unwrap().to_owned();
    let layer_url = link_url(&r, "urn:ietf:params:whep:ext:core:layer");
    let events_url = link_url(&r, "urn:ietf:params:whep:ext:core:server-sent-events");
    assert_eq!(layer_url, format!("{session}/layer"));
    assert!(links(&r).iter().any(|l| l.contains("events=\"layers\"")));

    // Automatic: the estimate of an open loopback picks a layer above
    // the lowest.
    let peers = run(vec![publisher, watcher], Duration::from_secs(4)).await;
    let auto = peers[1].widths_since(0);
    assert!(
        peers[1].frames.len() > 60,
        "video flows: {}",
        peers[1].frames.len()
    );
    assert!(
        auto.iter().any(|w| *w > 320),
        "automatic picks more than the lowest layer: {auto:?}"
    );

    // The event stream: opened by POST (201 and its URL), read without a
    // token, as a browser's EventSource does.
    let opened = app
        .post(&events_url, Some(&bea.token), &json!(["layers"]))
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let stream_url = opened.header("location").unwrap().to_owned();
    let mut res = awc::Client::new()
        .get(format!("{}{stream_url}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let mut buf = String::new();
    let first = next_layers(&mut res, &mut buf, Duration::from_secs(3))
        .await
        .expect("a layers event at once");
    let (ids, _, mode) = section(&first);
    assert_eq!(ids, ["l", "m", "h"], "the layers, lowest first: {first}");
    assert_eq!(mode, "auto");

    // Pinned low: 200, then the low resolution only, after one keyframe.
    let mid = first.as_object().unwrap().keys().next().unwrap().clone();
    let r = app
        .post(
            &layer_url,
            Some(&bea.token),
            &json!({"mediaId": mid, "encodingId": "l"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(section(&r.body).2, "pinned");
    let from = peers[1].frames.len();
    let (peers, update) = futures_util::join!(run(peers, Duration::from_secs(3)), async {
        // The stream tells of the switch once it happened.
        let mut last = None;
        while let Some(l) = next_layers(&mut res, &mut buf, Duration::from_millis(2500)).await {
            last = Some(l);
        }
        last
    });
    peers[1].settled_on_width(from, 320);
    assert!(
        peers[1].frames_in_last(Duration::from_secs(1)) >= 20,
        "the low layer plays on"
    );
    let (_, current, mode) = section(&update.expect("the stream told of the switch"));
    assert_eq!((current, mode.as_str()), (json!("l"), "pinned"));

    // Audio only: video stops, audio goes on.
    let r = app
        .post(&layer_url, Some(&bea.token), &json!({"video": false}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(section(&r.body).2, "off");
    let mut peers = run(peers, Duration::from_millis(300)).await;
    let (frames, packets) = (peers[1].frames.len(), peers[1].packets);
    peers = run(peers, Duration::from_secs(2)).await;
    assert_eq!(peers[1].frames.len(), frames, "no video while audio only");
    assert!(peers[1].packets > packets + 30, "audio goes on");

    // `{}`: automatic again, and video with it.
    let r = app.post(&layer_url, Some(&bea.token), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(section(&r.body).2, "auto");
    // (The next keyframe of the chosen layer: this publisher sends one a
    // second.)
    let peers = run(peers, Duration::from_secs(3)).await;
    assert!(peers[1].frames.len() > frames + 15, "video is back");

    // Bad requests change nothing and say why.
    let bad = [
        json!({"encodingId": "x"}),
        json!({"mediaId": "99"}),
        json!({"video": false, "encodingId": "l"}),
        json!({"spatialLayerId": 1}),
    ];
    for body in bad {
        let r = app.post(&layer_url, Some(&bea.token), &body).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (400, "invalid_input"),
            "{body}"
        );
    }
    let r = app.post(&layer_url, Some(&bea.token), &json!({})).await;
    assert_eq!(section(&r.body).2, "auto", "still automatic");
    // Someone else's session, and a wrong stream secret, do not exist.
    let cy = room.attendee("Cy").await;
    let r = app.post(&layer_url, Some(&cy.token), &json!({})).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
    let wrong = format!("{}x", &stream_url[..stream_url.len() - 1]);
    let r = app.get(&wrong, None).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
    // Nor does it under another room's name.
    let other = app.room().await;
    let elsewhere = stream_url.replace(&room.slug, &other.slug);
    let r = app.get(&elsewhere, None).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));

    // The session's end ends its stream.
    let r = app.delete(&session, Some(&bea.token)).await;
    assert_eq!(r.status, 200);
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(_)) = res.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream closed with its session");
    let r = app.get(&stream_url, None).await;
    assert_eq!(r.status, 404);
    drop(peers);
}

#[actix_rt::test]
async fn a_publishers_session_has_no_layers_to_choose() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let (_, offer, _) = simulcast_publisher(&THREE_LAYERS);
    let r = post_offer(&app, &presenter, "/whip?kind=camera", offer).await;
    assert_eq!(r.status, 201);
    assert!(
        !links(&r).iter().any(|l| l.contains("whep:ext")),
        "WHIP offers no WHEP extensions: {:?}",
        links(&r)
    );
    let session = r.header("location").unwrap().to_owned();
    let r = app
        .post(
            &format!("{session}/layer"),
            Some(&presenter.token),
            &json!({}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_input"));
    let r = app
        .post(
            &format!("{session}/events"),
            Some(&presenter.token),
            &json!(["layers"]),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_input"));
}

#[actix_rt::test]
async fn a_viewer_whose_network_drops_udp_watches_over_tcp() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let bea = room.attendee("Bea").await;
    let publisher = publishing(&presenter, &app).await;

    let (mut watcher, offer, pending) = viewer(Via::Tcp);
    let asked = Instant::now();
    let r = post_offer(&app, &bea, "/whep", offer).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let tcp = r
        .text
        .lines()
        .find(|l| l.contains(" tcp ") && l.contains("tcptype passive"))
        .unwrap_or_else(|| panic!("a passive TCP candidate in {}", r.text));
    assert!(tcp.contains("typ host"), "{tcp}");
    watcher.accept(pending, &r.text);
    let peers = run(vec![publisher, watcher], Duration::from_secs(4)).await;
    let w = &peers[1];
    assert!(w.connected, "connected over TCP");
    let first = w.frames.first().expect("video over TCP").at - asked;
    eprintln!(
        "over TCP: connected {:?}, first frame {first:?} after the offer",
        w.connected_at.unwrap() - asked
    );
    assert!(
        first < Duration::from_secs(3),
        "first frame within 3 s: {first:?}"
    );
    assert!(
        w.frames_in_last(Duration::from_secs(1)) >= 20,
        "video keeps flowing over TCP: {} frames in the last second",
        w.frames_in_last(Duration::from_secs(1))
    );
}

#[actix_rt::test]
async fn turn_servers_come_with_fresh_credentials_to_participants_only() {
    let urls = [
        "turn:198.51.100.7:3478",
        "turns:turn.example.net:443?transport=tcp",
    ];
    let app = kit::spawn_app_with(|c| {
        c.turn_url = urls.iter().map(|u| u.to_string()).collect();
        c.turn_secret = Some("coturn-shared-secret".into());
        c.turn_ttl = 600;
    })
    .await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let bea = room.attendee("Bea").await;
    let ice = |r: &Resp| -> Vec<String> {
        links(r)
            .into_iter()
            .filter(|l| l.contains("rel=\"ice-server\""))
            .collect()
    };
    let check = |found: Vec<String>| {
        assert_eq!(found.len(), 2, "{found:?}");
        for (link, url) in found.iter().zip(urls) {
            assert!(link.starts_with(&format!("<{url}>")), "{link}");
            let field = |name: &str| {
                let at = link.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                link[at..at + link[at..].find('"').unwrap()].to_owned()
            };
            let (username, credential) = (field("username"), field("credential"));
            let expiry: u64 = username.split(':').next().unwrap().parse().unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            assert!((now + 590..=now + 610).contains(&expiry), "{username}");
            use base64::Engine;
            use hmac::Mac;
            let mut mac =
                hmac::Hmac::<sha1::Sha1>::new_from_slice(b"coturn-shared-secret").unwrap();
            mac.update(username.as_bytes());
            let expected =
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            assert_eq!(credential, expected, "coturn's use-auth-secret credential");
        }
    };

    let r = post_offer(&app, &bea, "/whep", kit::sdp::offer(&kit::sdp::AV_RECV)).await;
    assert_eq!(r.status, 201);
    check(ice(&r));
    let r = post_offer(
        &app,
        &presenter,
        "/whip",
        kit::sdp::offer(&kit::sdp::AV_SEND),
    )
    .await;
    assert_eq!(r.status, 201);
    check(ice(&r));
    // Before the offer (a relay-only client needs them to gather): OPTIONS
    // with the token; without one, or with a wrong one, no credentials.
    let options = |token: Option<String>| {
        let req = app.request(Method::OPTIONS, &bea.path("/whep"), token.as_deref());
        app.send(req, None)
    };
    let r = options(Some(bea.token.clone())).await;
    assert_eq!(r.status, 204);
    check(ice(&r));
    for token in [None, Some(podium::secrets::new_token())] {
        let r = options(token).await;
        assert_eq!(r.status, 204);
        assert!(ice(&r).is_empty(), "no TURN credentials for strangers");
    }
    // Only WHIP and WHEP hand them out, not a session's URLs.
    let r = post_offer(&app, &bea, "/whep", kit::sdp::offer(&kit::sdp::AV_RECV)).await;
    let layer = format!("{}/layer", r.header("location").unwrap());
    let r = app
        .send(app.request(Method::OPTIONS, &layer, Some(&bea.token)), None)
        .await;
    assert_eq!(r.status, 204);
    assert!(ice(&r).is_empty(), "{:?}", links(&r));
}

#[actix_rt::test]
async fn opus_is_answered_with_in_band_fec_and_dtx() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let presenter = room.presenter().await;
    let r = post_offer(
        &app,
        &presenter,
        "/whip",
        kit::sdp::offer(&kit::sdp::AV_SEND),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let opus_pt = r
        .text
        .lines()
        .find_map(|l| l.strip_prefix("a=rtpmap:")?.strip_suffix(" opus/48000/2"))
        .expect("Opus in the answer");
    let fmtp = r
        .text
        .lines()
        .find(|l| l.starts_with(&format!("a=fmtp:{opus_pt} ")))
        .expect("Opus parameters");
    for p in ["useinbandfec=1", "usedtx=1"] {
        assert!(fmtp.contains(p), "{p} in {fmtp}");
    }
}
