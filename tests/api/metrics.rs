//! `/metrics`: valid Prometheus text whose figures move with a session,
//! behind a token when one is set, or on an address of its own.

use std::collections::HashMap;

use prometheus_parse::{Scrape, Value as Sample};
use serde_json::json;

use crate::kit;

/// Every sample as `name{labels}` -> value (histograms by their count).
fn parse(text: &str) -> HashMap<String, f64> {
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");
    let mut out = HashMap::new();
    for s in scrape.samples {
        let mut labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        labels.sort();
        let value = match s.value {
            Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => v,
            Sample::Histogram(h) => h.iter().map(|b| b.count).fold(0.0, f64::max),
            Sample::Summary(_) => continue,
        };
        out.insert(format!("{}{{{}}}", s.metric, labels.join(",")), value);
    }
    out
}

fn get(m: &HashMap<String, f64>, key: &str) -> f64 {
    m.get(key).copied().unwrap_or(0.0)
}

async fn scrape(app: &kit::TestApp) -> HashMap<String, f64> {
    let r = app.get("/metrics", None).await;
    assert_eq!(r.status, 200);
    assert!(r
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let serde_json::Value::String(text) = r.body else {
        panic!("text expected")
    };
    parse(&text)
}

#[actix_rt::test]
async fn metrics_parse_and_move_with_a_session() {
    let app = kit::spawn_app().await;
    let before = scrape(&app).await;

    let room = app.room().await;
    let (mut ws, _) = room.attendee("Grace").await.ws().await;
    ws.send(json!({"type": "chat.send", "body": "hello", "ref": 1}))
        .await;
    ws.recv_type("ack").await;
    ws.send(json!({"type": "nonsense"})).await;
    ws.recv_type("error").await;
    let after = scrape(&app).await;

    let moved = |key: &str| get(&after, key) - get(&before, key);
    assert!(moved("podium_ws_messages_in_total{type=chat.send}") >= 1.0);
    assert!(moved("podium_ws_messages_in_total{type=invalid}") >= 1.0);
    assert!(moved("podium_ws_messages_out_total{type=chat.message}") >= 1.0);
    assert!(moved("podium_ws_messages_out_total{type=welcome}") >= 1.0);
    assert!(moved("podium_chat_delivery_seconds{}") >= 1.0);
    assert!(
        moved("podium_http_request_duration_seconds{method=POST,route=/api/rooms,status=201}")
            >= 1.0
    );
    assert!(get(&after, "podium_participants_connected{role=attendee}") >= 1.0);
    assert!(after.contains_key("podium_db_pool_connections{state=idle}"));
    assert!(after.contains_key("podium_media_peers{kind=viewer}"));
}

#[actix_rt::test]
async fn a_metrics_token_is_required_when_set() {
    let app = kit::spawn_app_with(|c| c.metrics_token = Some("s3cret-operator".into())).await;
    let r = app.get("/metrics", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "unauthorized");
    let r = app.get("/metrics", Some("wrong")).await;
    assert_eq!(r.status, 401);
    let r = app.get("/metrics", Some("s3cret-operator")).await;
    assert_eq!(r.status, 200);
}

#[actix_rt::test]
async fn metrics_can_live_on_their_own_address() {
    let db = kit::db::TestDb::new();
    let mut config = kit::test_config();
    config.database_url = Some(db.url.clone());
    config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    let app = podium::startup::Application::build(config).await.unwrap();
    let main = format!("http://{}", app.http_addr());
    let metrics = format!("http://{}", app.metrics_addr().unwrap());
    actix_rt::spawn(app.run_until_stopped());
    let client = awc::Client::default();
    let on_main = client.get(format!("{main}/metrics")).send().await.unwrap();
    assert_eq!(on_main.status(), 404, "not on the public address");
    let mut own = client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let text = String::from_utf8(own.body().await.unwrap().to_vec()).unwrap();
    assert!(!parse(&text).is_empty());
    let api = client
        .get(format!("{metrics}/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404, "only metrics there");
}
