//! What the benches share: a database of their own, a high open-file limit,
//! the server binary as a child process pinned to a CPU, its CPU time.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

pub fn pin_to(cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The server binary, its HTTP base URL and pid.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

/// Starts the `podium` binary (`bin`: the bench's CARGO_BIN_EXE_podium)
/// on a fresh database with limits out of the way, every thread on `cpu`.
pub fn start_server(bin: &str, db_url: &str, extra: &[&str], cpu: Option<usize>) -> Server {
    let mut cmd = Command::new(bin);
    cmd.args([
        "--bind",
        "127.0.0.1:0",
        "--media-bind",
        "127.0.0.1:0",
        "--join-per-minute",
        "1000000",
        "--token-per-second",
        "1000000",
        "--password-per-minute",
        "1000000",
        "--room-password-per-minute",
        "1000000",
        "--ws-sends-per-second",
        "1000000",
        "--database-url",
        db_url,
    ])
    .args(extra)
    .env("RUST_LOG", "warn,podium::startup=info")
    .env("NO_COLOR", "1");
    start(cmd, cpu)
}

/// Starts a server process that prints `listening http=ADDR` once ready,
/// every thread on `cpu`; stopped with SIGTERM when dropped.
pub fn start(mut cmd: Command, cpu: Option<usize>) -> Server {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    if let Some(cpu) = cpu {
        // Set before exec: every thread the server makes inherits it.
        unsafe {
            cmd.pre_exec(move || {
                pin_to(cpu);
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().expect("start the server");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the server exited");
        if let Some(rest) = line.split("listening http=").nth(1) {
            break format!("http://{}", rest.split_whitespace().next().unwrap());
        }
    };
    std::thread::spawn(move || for _ in out.lines() {});
    Server { child, base }
}

/// CPU time of every thread of `pid`, from the scheduler's own accounting.
pub fn cpu_time(pid: u32) -> Duration {
    let mut ns = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                ns += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Duration::from_nanos(ns)
}

pub fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}
