//! Per-test databases: migrations run once into a template database (named
//! by a hash of the migrations), each test copies it with
//! `CREATE DATABASE .. TEMPLATE` and drops its copy afterwards.

use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use podium::store::{quote_ident, run_migrations};
use sha2::{Digest, Sha256};

/// Where tests find PostgreSQL: PODIUM_TEST_DATABASE_URL, or the local server.
pub fn admin_url() -> String {
    std::env::var("PODIUM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn url_for(name: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).expect("test database URL parses");
    url.set_path(name);
    url.to_string()
}

pub fn admin() -> PgConnection {
    PgConnection::establish(&admin_url()).unwrap_or_else(|e| {
        panic!(
            "the tests need PostgreSQL at {} (user postgres, trust auth): {e}. \
             Start it (tests/run does) or set PODIUM_TEST_DATABASE_URL.",
            admin_url()
        )
    })
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

fn exists(conn: &mut PgConnection, name: &str) -> bool {
    diesel::sql_query("SELECT datname FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .load::<Name>(conn)
        .expect("query pg_database")
        .iter()
        .any(|n| n.datname == name)
}

fn migrations_hash() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).expect("read migration"));
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .expect("migrations directory")
        .flatten()
        .flat_map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                vec![e.path()]
            }
        })
        .collect()
}

/// The migrated template, made once per machine and migration set.
/// An advisory lock keeps parallel test processes from racing to make it.
pub fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("podium_tpl_{}", migrations_hash());
        let mut conn = admin();
        conn.batch_execute("SELECT pg_advisory_lock(72731)")
            .unwrap();
        if !exists(&mut conn, &name) {
            let building = format!("{name}_building");
            // Separate statements: a multi-statement batch is one transaction,
            // and DROP/CREATE DATABASE refuse to run inside one.
            let building_ident = quote_ident(&building);
            conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {building_ident} WITH (FORCE)"
            ))
            .unwrap();
            conn.batch_execute(&format!("CREATE DATABASE {building_ident}"))
                .unwrap();
            {
                let mut t = PgConnection::establish(&url_for(&building)).unwrap();
                run_migrations(&mut t).expect("migrations apply to the template");
            }
            // Renamed only when complete, so a crash never leaves a half template.
            conn.batch_execute(&format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote_ident(&building),
                quote_ident(&name)
            ))
            .unwrap();
        }
        conn.batch_execute("SELECT pg_advisory_unlock(72731)")
            .unwrap();
        name
    })
}

/// A database of one test's own, dropped when the value is.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> Self {
        let template = template();
        let name = format!("podium_test_{}", hex_random());
        let mut conn = admin();
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&name),
            quote_ident(template)
        );
        // Copying needs the template free of sessions; parallel copies can
        // briefly collide, so try again.
        let mut attempt = 0;
        while let Err(e) = conn.batch_execute(&sql) {
            attempt += 1;
            assert!(attempt < 50, "cannot create test database: {e}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Self {
            url: url_for(&name),
            name,
        }
    }

    /// An empty database (no template, no migrations) for migration tests.
    pub fn empty() -> Self {
        let name = format!("podium_test_{}", hex_random());
        admin()
            .batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .unwrap();
        Self {
            url: url_for(&name),
            name,
        }
    }

    /// A name no database has yet, to test that the server creates it.
    pub fn unborn() -> Self {
        let name = format!("podium_test_{}", hex_random());
        Self {
            url: url_for(&name),
            name,
        }
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to test database")
    }

    /// Drops the database under a running server, as an outage would.
    pub fn drop_now(&self) {
        admin()
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&self.name)
            ))
            .unwrap();
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&admin_url()) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&self.name)
            ));
        }
    }
}

fn hex_random() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs a query returning one bigint.
pub fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql).get_result::<N>(conn).expect(sql).n
}
