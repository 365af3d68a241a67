//! Test support: the real application on port 0, each test with its own
//! database cloned from a template that was migrated once.
#![allow(dead_code)]

pub mod db;
pub mod process;
pub mod sdp;
pub mod ws;

use std::time::Duration;

use awc::http::StatusCode;
use podium::config::Config;
use podium::startup::Application;
use serde_json::{json, Value};

pub use db::TestDb;

pub struct TestApp {
    pub base: String,
    pub db: TestDb,
    client: awc::Client,
}

impl TestApp {
    /// Helpers for a server that runs elsewhere (a child process).
    pub fn at(base: String, db: TestDb) -> TestApp {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish();
        TestApp { base, db, client }
    }
}

/// A response: status, headers and the body parsed as JSON (or Null).
pub struct Resp {
    pub status: StatusCode,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    /// The contract's error code, asserting the error shape on the way.
    pub fn code(&self) -> &str {
        let message = self.body["error"]["message"].as_str().unwrap_or("");
        assert!(
            !message.is_empty(),
            "{} error without message: {} (headers {:?})",
            self.status,
            self.body,
            self.headers
        );
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// Limits high enough that ordinary tests never meet them.
pub fn test_config() -> Config {
    let mut config = Config::from_args([
        "--bind",
        "127.0.0.1:0",
        "--media-bind",
        "127.0.0.1:0",
        "--db-pool-size",
        "4",
        "--create-per-minute",
        "100000",
        "--join-per-minute",
        "100000",
        "--password-per-minute",
        "100000",
        "--room-password-per-minute",
        "100000",
        "--token-per-second",
        "100000",
        "--hash-concurrency",
        "2",
        "--ws-sends-per-second",
        "100000",
    ])
    .expect("test config parses");
    config.data_dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("data");
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new();
    let mut config = test_config();
    config.database_url = Some(db.url.clone());
    adjust(&mut config);
    let app = Application::build(config)
        .await
        .expect("application builds");
    let base = format!("http://{}", app.http_addr());
    actix_rt::spawn(app.run_until_stopped());
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    TestApp { base, db, client }
}

/// The application on a thread of its own, for many tests sharing one
/// server (each with its own runtime); returns its base URL.
pub fn serve_in_background(db: &TestDb) -> String {
    let mut config = test_config();
    config.database_url = Some(db.url.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let app = Application::build(config)
                .await
                .expect("application builds");
            tx.send(format!("http://{}", app.http_addr())).unwrap();
            let _ = app.run_until_stopped().await;
        })
    });
    rx.recv().expect("the server starts")
}

impl TestApp {
    pub async fn send(&self, req: awc::ClientRequest, body: Option<&Value>) -> Resp {
        let res = match body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        };
        read(res.expect("request reaches the server")).await
    }

    pub fn request(
        &self,
        method: awc::http::Method,
        path: &str,
        token: Option<&str>,
    ) -> awc::ClientRequest {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        req
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.request(awc::http::Method::GET, path, token), None)
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send(
            self.request(awc::http::Method::POST, path, token),
            Some(body),
        )
        .await
    }

    /// `post` with owned arguments, for many requests in flight at once.
    pub async fn post_owned(&self, path: String, token: String, body: Value) -> Resp {
        self.post(&path, Some(&token), &body).await
    }

    /// A bodyless request with owned arguments.
    pub async fn call_owned(&self, method: awc::http::Method, path: String, token: String) -> Resp {
        self.send(self.request(method, &path, Some(&token)), None)
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.request(awc::http::Method::DELETE, path, token), None)
            .await
    }

    /// POST with a raw body and content type, for malformed-input tests.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Resp {
        self.send_body(
            self.request(awc::http::Method::POST, path, None),
            content_type,
            body,
        )
        .await
    }

    /// Sends `req` with a raw body of `content_type`.
    pub async fn send_body(
        &self,
        req: awc::ClientRequest,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> Resp {
        let req = req.insert_header(("Content-Type", content_type));
        read(
            req.send_body(body.into())
                .await
                .expect("request reaches the server"),
        )
        .await
    }

    pub async fn create_room(&self, body: Value) -> Room {
        let r = self.post("/api/rooms", None, &body).await;
        assert_eq!(r.status, 201, "create room: {}", r.body);
        Room {
            slug: r.body["slug"].as_str().unwrap().to_owned(),
            host_key: r.body["host_key"].as_str().unwrap().to_owned(),
            moderator_key: r.body["moderator_key"].as_str().unwrap().to_owned(),
            created: r.body,
        }
    }

    pub async fn open_room(&self) -> Room {
        self.create_room(json!({"title": "Rust at Scale", "presenter_name": "Ada"}))
            .await
    }

    pub async fn join(&self, slug: &str, body: Value) -> Resp {
        self.post(&format!("/api/rooms/{slug}/join"), None, &body)
            .await
    }

    /// Joins and returns the token, asserting success.
    pub async fn join_ok(&self, slug: &str, body: Value) -> String {
        let r = self.join(slug, body).await;
        assert_eq!(r.status, 200, "join: {}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// Joins and returns the token and the participant's id, asserting
    /// success.
    pub async fn joined(&self, slug: &str, body: Value) -> (String, i64) {
        let r = self.join(slug, body).await;
        assert_eq!(r.status, 200, "join: {}", r.body);
        (
            r.body["token"].as_str().unwrap().to_owned(),
            r.body["participant"]["id"].as_i64().unwrap(),
        )
    }
}

pub struct Room {
    pub slug: String,
    pub host_key: String,
    pub moderator_key: String,
    pub created: Value,
}

async fn read<S>(mut res: awc::ClientResponse<S>) -> Resp
where
    S: futures_core::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
{
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.body().limit(1 << 20).await.expect("response body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Resp {
        status,
        headers,
        body,
    }
}
