//! What the benches share: a database of their own, a high open-file limit.
#![allow(dead_code)]

use diesel::connection::SimpleConnection;
use diesel::Connection;

pub fn admin_url() -> String {
    std::env::var("PODIUM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database (the server migrates it); dropped with the value.
pub struct BenchDb {
    pub url: String,
    name: String,
}

impl BenchDb {
    pub fn new() -> BenchDb {
        let mut b = [0u8; 6];
        getrandom::fill(&mut b).unwrap();
        let name = format!(
            "podium_bench_{}",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        );
        let mut url = url::Url::parse(&admin_url()).unwrap();
        url.set_path(&name);
        BenchDb {
            url: url.to_string(),
            name,
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = diesel::PgConnection::establish(&admin_url()) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

pub fn raise_open_files() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
