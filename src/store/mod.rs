//! PostgreSQL through Diesel: one function per query, each taking
//! `&mut PgConnection`, run on the blocking pool through [`blocking`] (the
//! room task) or the [`Store`] handle (HTTP handlers, which never hold a
//! connection). Failures are a [`StoreError`]: whoever serves a client
//! says what it means to them.

pub mod api;
pub mod embedded;
pub mod homes;
pub mod messages;
pub mod models;
pub mod participants;
pub mod polls;
pub mod presence;
pub mod questions;
pub mod reactions;
pub mod recordings;
pub mod retention;
pub mod rooms;
pub mod schema;
pub mod stage;
pub mod stats;

use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub type PgPool = Pool<ConnectionManager<PgConnection>>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applies pending migrations; returns how many ran.
pub fn run_migrations(conn: &mut PgConnection) -> anyhow::Result<usize> {
    // Nodes starting together on one database migrate it once: the others
    // wait on the lock, then find nothing pending.
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .context("waiting for the migration lock")?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|v| v.len())
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"));
    let _ = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
    applied
}

/// The advisory lock key migrations hold ("podium" in ASCII).
const MIGRATION_LOCK: i64 = 0x706f_6469_756d;

/// Connects to `url`, creating its database first if the server lacks it.
pub fn connect_creating(url: &str) -> anyhow::Result<PgConnection> {
    match PgConnection::establish(url) {
        Ok(conn) => Ok(conn),
        Err(first) if first.to_string().contains("does not exist") => {
            let (admin_url, name) = maintenance_url(url)?;
            let mut admin = PgConnection::establish(&admin_url)
                .with_context(|| format!("cannot reach PostgreSQL to create database {name:?}"))?;
            match admin.batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name))) {
                Ok(()) => tracing::info!(database = %name, "created database"),
                // Another node starting at the same moment created it.
                Err(e)
                    if e.to_string().contains("already exists")
                        || e.to_string().contains("pg_database_datname_index") => {}
                Err(e) => return Err(e).with_context(|| format!("creating database {name:?}")),
            }
            PgConnection::establish(url).context("connecting to the new database")
        }
        Err(e) => Err(e).context("cannot connect to PostgreSQL"),
    }
}

/// The same server's `postgres` database, and the database name of `url`.
fn maintenance_url(url: &str) -> anyhow::Result<(String, String)> {
    let mut parsed = url::Url::parse(url).context("DATABASE_URL is not a URL")?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    anyhow::ensure!(!name.is_empty(), "DATABASE_URL names no database");
    parsed.set_path("/postgres");
    Ok((parsed.to_string(), name))
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub use api::Store;

/// Why the database did not do what was asked. What was asked did not
/// happen either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// PostgreSQL is out of reach: try again shortly.
    #[error("the database is unavailable")]
    Unavailable,
    /// Anything else; the cause is for the log only.
    #[error("database error: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            // A dropped connection means the database went away: the write
            // did not happen, and the client may retry.
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => {
                tracing::warn!(error = %e, "database connection lost");
                StoreError::Unavailable
            }
            _ => StoreError::Internal(e.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection");
        StoreError::Unavailable
    }
}

/// Runs database work on the blocking pool with a pooled connection. The
/// one way the server reaches PostgreSQL outside start-up, so failures are
/// counted once, here.
pub async fn blocking<T, F>(pool: &PgPool, work: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        work(&mut conn)
    })
    .await
    .unwrap_or_else(|e| Err(StoreError::Internal(format!("database task failed: {e}"))));
    if result.is_err() {
        crate::metrics::db_error();
    }
    result
}

pub fn build_pool(url: &str, size: u32) -> PgPool {
    Pool::builder()
        .max_size(size.max(1))
        // Fail fast when PostgreSQL is away: the client gets 503, not a hang;
        // a checked-out connection is tested so one dead after a database
        // restart is replaced instead of failing a request.
        .connection_timeout(Duration::from_secs(3))
        .test_on_check_out(true)
        // Connections are opened when needed, not by background threads at
        // start-up: a process stopped moments after starting must not exit
        // while such a thread is inside the TLS library (a crash at exit).
        .min_idle(Some(0))
        .build_unchecked(ConnectionManager::new(url))
}

/// Stops the TLS library libpq uses (the system's OpenSSL) from freeing
/// its tables in an exit handler. The pool opens connections on threads of
/// its own; one still in its TLS handshake as the process exits would read
/// freed memory and crash the exit (seen under SIGTERM just after start).
/// OpenSSL's documented remedy is `OPENSSL_INIT_NO_ATEXIT`, which must come
/// before its first use: call this first thing in `main`. Found at run
/// time, as libpq loaded it; without OpenSSL there is nothing to do.
pub fn keep_tls_library_at_exit() {
    const OPENSSL_INIT_NO_ATEXIT: u64 = 0x0008_0000;
    type Init = unsafe extern "C" fn(u64, *const libc::c_void) -> libc::c_int;
    // SAFETY: dlsym with a NUL-terminated name; the symbol, when present,
    // has OpenSSL 3's signature for OPENSSL_init_crypto.
    unsafe {
        let sym = libc::dlsym(libc::RTLD_DEFAULT, c"OPENSSL_init_crypto".as_ptr());
        if !sym.is_null() {
            let init: Init = std::mem::transmute::<*mut libc::c_void, Init>(sym);
            init(OPENSSL_INIT_NO_ATEXIT, std::ptr::null());
        }
    }
}

/// `SELECT 1`, for health checks.
pub fn ping(conn: &mut PgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maintenance_url_keeps_host_and_query() {
        let (admin, name) =
            maintenance_url("postgres://postgres@localhost:5432/podium?host=/run/pg").unwrap();
        assert_eq!(
            admin,
            "postgres://postgres@localhost:5432/postgres?host=/run/pg"
        );
        assert_eq!(name, "podium");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
