//! The embedded default and the command line: migrations, creating the
//! database, a private PostgreSQL cluster, the `podium` binary itself.

use std::process::Command;
use std::time::Duration;

use diesel::Connection;
use podium::store::embedded::{find_bindir, PrivateCluster};

use crate::kit;
use crate::kit::db::{count, TestDb};

#[test]
fn migrate_command_migrates_an_empty_database() {
    let db = TestDb::empty();
    let out = Command::new(env!("CARGO_BIN_EXE_podium"))
        .args(["migrate", "--database-url", &db.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut conn = db.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM rooms"), 0);
    assert!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM __diesel_schema_migrations"
        ) >= 1
    );
}

#[test]
fn migrations_reverse_cleanly() {
    use diesel_migrations::MigrationHarness;
    let db = TestDb::empty();
    let mut conn = db.conn();
    podium::store::run_migrations(&mut conn).unwrap();
    conn.revert_all_migrations(podium::store::MIGRATIONS)
        .unwrap();
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'"),
        0
    );
    podium::store::run_migrations(&mut conn).unwrap();
}

#[test]
fn server_creates_its_database_serves_and_stops_on_sigterm() {
    let db = TestDb::unborn();
    let data = tempdir("serve");
    let data = data.to_str().unwrap();
    let mut server = kit::process::start(
        &[
            "--bind",
            "127.0.0.1:0",
            "--media-bind",
            "127.0.0.1:0",
            "--data-dir",
            data,
        ],
        Some(&db.url),
    );
    let body = http_get(&server.addr, "/api/health");
    assert!(
        body.contains(r#"{"database":"ok","status":"ok"}"#) || body.contains(r#""status":"ok""#),
        "{body}"
    );
    server.signal(nix::sys::signal::Signal::SIGTERM);
    let (status, _) = server.wait(Duration::from_secs(15));
    assert!(status.success(), "exit 0 after SIGTERM, got {status:?}");
}

#[test]
fn nodes_starting_together_on_a_new_database_create_and_migrate_it_once() {
    let db = TestDb::unborn();
    let nodes: [&'static str; 3] = ["node-a", "node-b", "node-c"];
    let starting: Vec<_> = nodes
        .into_iter()
        .map(|node| {
            let (url, data) = (db.url.clone(), tempdir(node));
            std::thread::spawn(move || {
                let data = data.to_str().unwrap();
                kit::process::start(
                    &[
                        "--bind",
                        "127.0.0.1:0",
                        "--media-bind",
                        "127.0.0.1:0",
                        "--data-dir",
                        data,
                        "--node-id",
                        node,
                    ],
                    Some(&url),
                )
            })
        })
        .collect();
    let servers: Vec<_> = starting
        .into_iter()
        .map(|s| s.join().expect("every node starts"))
        .collect();
    for (server, node) in servers.iter().zip(nodes) {
        let body = http_get(&server.addr, "/api/health");
        assert!(body.contains(r#""status":"ok""#), "{body}");
        assert!(body.contains(&format!(r#""node":"{node}""#)), "{body}");
    }
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
        .count();
    let mut conn = db.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM __diesel_schema_migrations"
        ) as usize,
        migrations,
        "each migration applied once"
    );
}

#[test]
fn private_cluster_starts_serves_and_stops() {
    let bindir = find_bindir().expect("PostgreSQL server binaries are installed");
    let root = tempdir("cluster");
    let mut cluster = PrivateCluster::start(&bindir, &root.join("postgres")).unwrap();
    let url = cluster.url("podium");
    let mut conn = podium::store::connect_creating(&url).unwrap();
    podium::store::run_migrations(&mut conn).unwrap();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM rooms"), 0);
    drop(conn);
    cluster.stop().unwrap();
    assert!(
        diesel::PgConnection::establish(&url).is_err(),
        "stopped means stopped"
    );
    // A second start reuses the initialised cluster.
    let mut again = PrivateCluster::start(&bindir, &root.join("postgres")).unwrap();
    let mut conn = diesel::PgConnection::establish(&url).unwrap();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM rooms"), 0);
    drop(conn);
    again.stop().unwrap();
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    // Under target/: the postgres user must be able to reach it.
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    let name: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{tag}-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}
