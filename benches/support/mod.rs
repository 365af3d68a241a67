//! What the benches share beyond the tests' kit (tests/kit, which gives
//! them a database of their own and the server as a child process): a high
//! open-file limit, the server pinned to a CPU, its CPU time.

use std::process::Command;
use std::time::Duration;

use crate::kit::process::{self, Server};

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

/// The `podium` binary on loopback and `db_url`, with limits out of the
/// way and `extra` arguments, every thread on `cpu`.
pub fn start_server(db_url: &str, extra: &[&str], cpu: Option<usize>) -> Server {
    let limits = [
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
    ];
    let args: Vec<&str> = process::LOOPBACK
        .iter()
        .chain(&limits)
        .chain(extra)
        .copied()
        .collect();
    let quiet = [("RUST_LOG", "warn,podium::startup=info")];
    start(process::command(&args, Some(db_url), &quiet), cpu)
}

/// Starts a server process that logs `listening http=ADDR` once ready,
/// every thread on `cpu`; killed when dropped.
pub fn start(mut cmd: Command, cpu: Option<usize>) -> Server {
    use std::os::unix::process::CommandExt;
    if let Some(cpu) = cpu {
        // Set before exec: every thread the server makes inherits it.
        unsafe {
            cmd.pre_exec(move || {
                pin_to(cpu);
                Ok(())
            });
        }
    }
    process::spawn(cmd)
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
