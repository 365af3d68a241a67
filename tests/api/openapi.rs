//! The API against its own description: Schemathesis reads
//! /api/openapi.json from a live server and calls every operation with
//! requests made from it, valid and not, checking that no answer is a
//! server error and that every answer is one the document describes (its
//! status, content type, headers and body). So that the requests get past
//! 401 and 404, each route of the route table is given a real room, the
//! token or key of the weakest role that may call it, and real ids of the
//! room's messages, questions and participants; WHIP and WHEP get real SDP
//! offers besides arbitrary text (tests/openapi/hooks.py), and the media
//! sessions these open are numbered from 0, which the run's ids reach.
//!
//! Schemathesis is a Python program (tests/openapi/requirements.txt pins
//! it; tests/run installs it and names it in PODIUM_SCHEMATHESIS).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use podium::http::route_table::{Access, ApiRoute, API_ROUTES};
use serde_json::json;

use crate::kit::{self, Api, TestDb};

/// Test cases per operation and phase: enough to reach every answer the
/// routes have, few enough that the run takes a minute or two.
const MAX_EXAMPLES: u32 = 100;
/// Reproducible by default; PODIUM_SCHEMATHESIS_SEED explores others.
const SEED: &str = "20261201";
const RUN_AT_MOST: Duration = Duration::from_secs(300);

/// What the generated requests may refer to.
struct Scene {
    slug: String,
    host_key: String,
    moderator_key: String,
    presenter: String,
    moderator: String,
    attendee: String,
    message: i64,
    question: i64,
    /// Whom the moderator's removals name: the presenter and the moderator
    /// (both refused) and an attendee kept for it, never the one whose
    /// token the run uses.
    removable: Vec<i64>,
    /// Another room, for DELETE /api/rooms/{slug}: ending the first would
    /// leave every other write nothing but 410.
    doomed_slug: String,
    doomed_presenter: String,
}

async fn scene(api: &Api, db: &TestDb) -> Scene {
    // Generated ids are mostly small: the scene's people are out of their
    // reach, so only the ids given below can remove one of them.
    diesel::sql_query("ALTER SEQUENCE participants_id_seq RESTART WITH 1000000")
        .execute(&mut db.conn())
        .unwrap();
    let room = api.room().await;
    let presenter = room.presenter().await;
    let moderator = room.moderator().await;
    let attendee = room.attendee("Bea").await;
    let removable = room.attendee("Cy").await;
    let r = attendee.post("/messages", json!({"body": "hello"})).await;
    assert_eq!(r.status, 201, "chat: {}", r.body);
    let message = r.body["id"].as_i64().unwrap();
    let r = attendee.post("/questions", json!({"body": "why?"})).await;
    assert_eq!(r.status, 201, "ask: {}", r.body);
    let question = r.body["id"].as_i64().unwrap();
    let r = attendee.put(&format!("/questions/{question}/vote")).await;
    assert_eq!(r.status, 200, "vote: {}", r.body);
    let doomed = api.room().await;
    let doomed_presenter = doomed.presenter().await;
    Scene {
        slug: room.slug.clone(),
        host_key: room.host_key.clone(),
        moderator_key: room.moderator_key.clone(),
        presenter: presenter.token,
        moderator: moderator.token,
        attendee: attendee.token,
        message,
        question,
        removable: vec![presenter.id, moderator.id, removable.id],
        doomed_slug: doomed.slug.clone(),
        doomed_presenter: doomed_presenter.token,
    }
}

fn ends_the_room(route: &ApiRoute) -> bool {
    route.method == "DELETE" && route.path == "/api/rooms/{slug}"
}

/// The credential a route is called with: the weakest that may call it
/// (a key where the route takes one), so each role's paths are walked.
fn credential<'a>(route: &ApiRoute, s: &'a Scene) -> Option<&'a str> {
    Some(match route.access {
        Access::Anyone | Access::Socket => return None,
        Access::Participant => &s.attendee,
        Access::Moderator => &s.moderator,
        Access::Report | Access::Replay => &s.moderator_key,
        Access::Presenter if ends_the_room(route) => &s.doomed_presenter,
        Access::Presenter | Access::SessionOwner => &s.presenter,
        Access::Publisher => &s.host_key,
    })
}

/// One `[[operations]]` entry per route of the table: its credential, its
/// room and the real ids of its path (mixed with generated ones, so both
/// "no such" answers and the real thing are tried).
fn operation(route: &ApiRoute, s: &Scene) -> Option<String> {
    let mut entry = String::new();
    if let Some(token) = credential(route, s) {
        entry += &format!("headers = {{ Authorization = \"Bearer {token}\" }}\n");
    }
    let mut parameters = Vec::new();
    if route.path.contains("{slug}") {
        let slug = if ends_the_room(route) {
            &s.doomed_slug
        } else {
            &s.slug
        };
        parameters.push(format!("\"path.slug\" = \"{slug}\""));
    }
    let ids = ["messages", "questions", "participants", "media"]
        .into_iter()
        .find(|kind| route.path.contains(&format!("/{kind}/{{id}}")))
        // A raised hand and a place on stage are a participant's.
        .or_else(|| {
            ["/hands/{id}", "/stage/{id}"]
                .iter()
                .any(|p| route.path.ends_with(p))
                .then_some("participants")
        });
    if let Some(kind) = ids {
        parameters.push(format!(
            "\"path.id\" = {{ dictionary = \"{kind}\", probability = 0.5 }}"
        ));
    }
    if !parameters.is_empty() {
        entry += &format!("parameters = {{ {} }}\n", parameters.join(", "));
    }
    // Refusals here are right, not a sign that the document is off:
    // without the upgrade's headers the socket's handshake is refused,
    // and once the doomed room ended, ending it again is 410.
    // Nor is the stage's answer refused to someone never invited.
    let uninvited = route.path.ends_with("/stage/accept") || route.path.ends_with("/stage/decline");
    if route.access == Access::Socket || ends_the_room(route) || uninvited {
        entry += "warnings = false\n";
    }
    // Schemathesis refuses an entry that changes nothing.
    (!entry.is_empty()).then(|| {
        format!(
            "[[operations]]\ninclude-name = \"{} {}\"\n{entry}",
            route.method, route.path
        )
    })
}

/// The run's configuration: the checks, the hooks and every route's
/// credential and ids.
fn config(s: &Scene, hooks: &Path) -> String {
    let list = |ids: &[i64]| {
        ids.iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let operations: Vec<String> = API_ROUTES.iter().filter_map(|r| operation(r, s)).collect();
    format!(
        r#"hooks = "{hooks}"
# One worker: Hypothesis parses source in each thread, and CPython 3.11's
# parser can fail when two threads do at once.
workers = 1
seed = {seed}

[checks]
enabled = false
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_headers_conformance.enabled = true
response_schema_conformance = {{ enabled = true, validate-formats = true }}
# Other methods get 405 with the path's methods in Allow.
unsupported_method.enabled = true
allow_header_conformance.enabled = true
# Routes that need a credential refuse requests without one.
ignored_auth.enabled = true
# What was deleted stays gone.
use_after_free.enabled = true

[generation]
max-examples = {MAX_EXAMPLES}

[dictionaries.messages]
values = [{message}]

[dictionaries.questions]
values = [{question}]

[dictionaries.participants]
values = [{removable}]

# Media sessions are numbered from the start, and the run's own WHIP and
# WHEP calls open them; each lives until its silent peer times out.
[dictionaries.media]
values = [{sessions}]

{operations}"#,
        hooks = hooks.display(),
        seed = std::env::var("PODIUM_SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.to_owned()),
        message = s.message,
        question = s.question,
        removable = list(&s.removable),
        sessions = list(&(0..400).collect::<Vec<_>>()),
        operations = operations.join("\n"),
    )
}

/// The pinned version, from tests/openapi/requirements.txt.
fn pinned_version(dir: &Path) -> String {
    let requirements = std::fs::read_to_string(dir.join("requirements.txt")).unwrap();
    requirements
        .lines()
        .find_map(|l| l.trim().strip_prefix("schemathesis=="))
        .expect("requirements.txt pins schemathesis")
        .to_owned()
}

/// The Schemathesis to run: PODIUM_SCHEMATHESIS, else `schemathesis` on
/// the PATH; either must be the pinned version.
fn schemathesis(dir: &Path) -> PathBuf {
    let exe = std::env::var_os("PODIUM_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("schemathesis"));
    let pinned = pinned_version(dir);
    let how = "tests/run installs it; by hand: python3 -m venv venv && \
         venv/bin/pip install -r tests/openapi/requirements.txt, then \
         PODIUM_SCHEMATHESIS=venv/bin/schemathesis";
    let version = Command::new(&exe)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): {how}", exe.display()));
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(
        version.trim().ends_with(&format!("version {pinned}")),
        "{} is {:?}, not the pinned schemathesis {pinned}: {how}",
        exe.display(),
        version.trim()
    );
    exe
}

#[test]
fn the_api_keeps_to_its_openapi_document() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi");
    let exe = schemathesis(&dir);
    let db = TestDb::new();
    let base = kit::serve_in_background(&db);
    let s = actix_rt::System::new().block_on(scene(&Api::new(base.clone()), &db));
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("openapi");
    std::fs::create_dir_all(&work).unwrap();
    let config_file = work.join("schemathesis.toml");
    std::fs::write(&config_file, config(&s, &dir.join("hooks.py"))).unwrap();
    // Offers from a real WebRTC stack, for hooks.py: one to publish, one
    // to watch.
    let offers = work.join("offers");
    std::fs::create_dir_all(&offers).unwrap();
    std::fs::write(offers.join("whip.sdp"), kit::sdp::offer(&kit::sdp::AV_SEND)).unwrap();
    std::fs::write(offers.join("whep.sdp"), kit::sdp::offer(&kit::sdp::AV_RECV)).unwrap();

    let started = Instant::now();
    let mut child = Command::new(&exe)
        .arg("--no-color")
        .arg("--config-file")
        .arg(&config_file)
        .args(["run", "--request-timeout", "10"])
        // More options for a run by hand, such as `--report har`.
        .args(
            std::env::var("PODIUM_SCHEMATHESIS_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .arg(format!("{base}/api/openapi.json"))
        .current_dir(&work)
        .env("PODIUM_SDP_OFFERS", &offers)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("schemathesis starts");
    // Read its output as it comes, so a full pipe never stalls it.
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_AT_MOST {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "schemathesis ran over {RUN_AT_MOST:?}:\n{}\n{}",
                out.join().unwrap(),
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let report = format!("{}\n{}", out.join().unwrap(), err.join().unwrap());
    assert!(
        status.success(),
        "schemathesis failed ({status}): the API and /api/openapi.json disagree, \
         or the run went wrong:\n{report}"
    );
    println!("{report}");
    println!("schemathesis took {:?}", started.elapsed());
}
