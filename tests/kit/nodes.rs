//! A cluster as the tests start it: a nats-server of their own on a free
//! port, and `podium` processes on one database, each with its node id.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process::{self, Server, LOOPBACK};
use super::{Api, TestDb};

/// Debian's nats-server, started by the test, on loopback.
pub struct Nats {
    child: Child,
    pub port: u16,
}

impl Nats {
    pub fn start() -> Nats {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Nats::on(port)
    }

    fn on(port: u16) -> Nats {
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is installed (apt-get install nats-server)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nats { child, port }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port, after [`stop`](Self::stop).
    pub fn start_again(&mut self) {
        let port = self.port;
        *self = Nats::on(port);
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Nodes named `node-a`, `node-b`, … on one database and one NATS.
pub struct Nodes {
    pub servers: Vec<Server>,
    pub apis: Vec<Api>,
    pub nats: Nats,
    pub db: TestDb,
    /// One cluster at a time: three servers each on a 2-core machine, and
    /// the media tests' timing would measure the neighbours.
    _alone: std::sync::MutexGuard<'static, ()>,
}

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Nodes {
    pub fn start(n: usize) -> Nodes {
        let alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let nats = Nats::start();
        let db = TestDb::new();
        let starting: Vec<_> = (0..n)
            .map(|i| {
                let (nats, db_url) = (nats.url(), db.url.clone());
                let recordings = super::recordings_of(&db).display().to_string();
                std::thread::spawn(move || node(i, &nats, &db_url, &recordings))
            })
            .collect();
        let servers: Vec<Server> = starting
            .into_iter()
            .map(|s| s.join().expect("every node starts"))
            .collect();
        let apis = servers.iter().map(|s| Api::new(s.base())).collect();
        Nodes {
            servers,
            apis,
            nats,
            db,
            _alone: alone,
        }
    }

    /// Starts node `i` again (after it was killed), on new ports.
    pub fn restart(&mut self, i: usize) {
        let recordings = super::recordings_of(&self.db).display().to_string();
        self.servers[i] = node(i, &self.nats.url(), &self.db.url, &recordings);
        self.apis[i] = Api::new(self.servers[i].base());
    }
}

pub fn name(i: usize) -> String {
    format!("node-{}", (b'a' + i as u8) as char)
}

fn node(i: usize, nats: &str, db_url: &str, recordings: &str) -> Server {
    let name = name(i);
    let args: Vec<&str> = LOOPBACK
        .iter()
        .copied()
        .chain([
            "--node-id",
            &name,
            "--nats-url",
            nats,
            "--recordings-dir",
            recordings,
        ])
        .collect();
    // Every test client is on loopback: per-address limits would count
    // them all as one person.
    let limits = [
        ("PODIUM_RATE_JOIN_PER_MINUTE", "100000"),
        ("PODIUM_RATE_TOKEN_PER_SECOND", "1000"),
    ];
    process::start_with_env(&args, Some(db_url), &limits)
}
