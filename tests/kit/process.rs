//! The `podium` binary (or any server that logs its address the same way)
//! as a child process: started with arguments, its HTTP address read from
//! its log, stopped by signal within a limit, killed if the test fails.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    /// host:port of its HTTP listener.
    pub addr: String,
    /// Every line it has logged so far.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// The `podium` binary with `args`, `DATABASE_URL` when given, and `env`.
pub fn command(args: &[&str], database_url: Option<&str>, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_podium"));
    cmd.args(args)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1");
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd
}

/// Starts the binary with `args` (and `DATABASE_URL` when given) and waits
/// for `listening http=ADDR media=ADDR`.
pub fn start(args: &[&str], database_url: Option<&str>) -> Server {
    start_with_env(args, database_url, &[])
}

/// `start` with extra environment variables.
pub fn start_with_env(args: &[&str], database_url: Option<&str>, env: &[(&str, &str)]) -> Server {
    let server = spawn(command(args, database_url, env));
    let listening = server
        .log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("listening http=") && l.contains(" media="));
    assert!(listening, "the server logged no media address");
    server
}

// The child is returned to the caller, whose Server waits for it.
#[allow(clippy::zombie_processes)]
/// Starts `cmd`, a server that logs `listening http=ADDR` (and perhaps
/// ` media=ADDR`) on stdout once it serves, and waits for that line.
pub fn spawn(mut cmd: Command) -> Server {
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the server exited before listening"
        );
        log.lock().unwrap().push(line.clone());
        if let Some(rest) = line.split("listening http=").nth(1) {
            // Text logs end the address with a space or the line; JSON
            // logs with the string's quote.
            let end = |s: &str| {
                s.split(['"', ' ', '\n'])
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            };
            let addr = end(rest);
            let media = rest.split_once(" media=").map(|(_, m)| end(m));
            let bad = |a: &str| a.parse::<std::net::SocketAddr>().is_err();
            if bad(&addr) || media.as_deref().is_some_and(bad) {
                let _ = child.kill();
                panic!("no address in {line}");
            }
            // Keep reading the log so the server never blocks on a full pipe.
            let lines = log.clone();
            std::thread::spawn(move || {
                for l in stdout.lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(l);
                }
            });
            return Server { child, addr, log };
        }
    }
}

/// Loopback addresses of its own for HTTP and media.
pub const LOOPBACK: [&str; 4] = ["--bind", "127.0.0.1:0", "--media-bind", "127.0.0.1:0"];

/// The binary on loopback ports of its own, with `extra` arguments and
/// environment, on `db`; and a client for it.
pub fn serve(db: super::TestDb, extra: &[&str], env: &[(&str, &str)]) -> (Server, super::TestApp) {
    let recordings = super::recordings_of(&db);
    let dir = recordings.display().to_string();
    let args: Vec<&str> = LOOPBACK
        .iter()
        .chain(extra)
        .copied()
        .chain(["--recordings-dir", dir.as_str()])
        .collect();
    let server = start_with_env(&args, Some(&db.url), env);
    let api = super::Api::new(server.base());
    (
        server,
        super::TestApp {
            api,
            db,
            recordings,
        },
    )
}

impl Drop for Server {
    // A test that fails half-way must not leave its server running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    /// Its HTTP base URL.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its open files (sockets included), from /proc.
    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .count()
    }

    /// Its resident memory in KiB, from /proc.
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// Waits for the exit; kills the process and fails past `limit`.
    pub fn wait(&mut self, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, start.elapsed());
            }
            if start.elapsed() > limit {
                self.child.kill().unwrap();
                panic!("server did not stop within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
