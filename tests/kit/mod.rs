//! The test kit, shared by the test binary (tests/api), the escalation
//! binary and the benches: the real application on port 0, each test with
//! its own database cloned from a template that was migrated once, and
//! typed rooms and participants to drive it:
//!
//! ```text
//! let app = kit::spawn_app().await;
//! let room = app.room().await;
//! let (ada, bob) = (room.presenter().await, room.attendee("Bob").await);
//! bob.post("/questions", json!({"body": "Why Rust?"})).await;
//! let (mut ws, welcome) = ada.ws().await;
//! ```

pub mod api;
pub mod db;
pub mod media_net;
pub mod nodes;
pub mod peer;
pub mod process;
pub mod room;
pub mod sdp;
pub mod ws;

use podium::config::Config;
use podium::startup::Application;

pub use api::{Api, Resp};
pub use db::TestDb;
pub use room::{Participant, Room};

/// The application and its own database; requests go through its `Api`.
pub struct TestApp {
    pub api: Api,
    pub db: TestDb,
    /// Its recordings directory (each app has its own).
    pub recordings: std::path::PathBuf,
}

impl std::ops::Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
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
    config.recordings_dir = Some(recordings_of(&db));
    adjust(&mut config);
    let recordings = config.recordings_dir();
    let app = Application::build(config)
        .await
        .expect("application builds");
    let api = Api::new(format!("http://{}", app.http_addr()));
    actix_rt::spawn(app.run_until_stopped());
    TestApp {
        api,
        db,
        recordings,
    }
}

/// A directory of its own for each database's recordings (room ids repeat
/// across test databases).
pub(crate) fn recordings_of(db: &TestDb) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("recordings-{}", db.name))
}

/// The application on a thread of its own (for tests whose clients live
/// in runtimes of their own, or in other processes): its base URL.
pub fn serve_in_background(db: &TestDb) -> String {
    let mut config = test_config();
    config.database_url = Some(db.url.clone());
    config.recordings_dir = Some(recordings_of(db));
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
