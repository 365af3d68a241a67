//! Command line and environment: every flag has an environment twin.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "podium",
    version,
    about = "Self-hosted webinars: live video, chat and Q&A with votes"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// HTTP address to listen on; port 0 picks a free port.
    #[arg(
        long,
        env = "PODIUM_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// PostgreSQL URL. Without it Podium uses PostgreSQL on 127.0.0.1:5432
    /// if one answers, else a private cluster under the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// UDP address of the media endpoint [default: the --bind IP, port 7100].
    #[arg(long, env = "PODIUM_MEDIA_BIND", global = true)]
    pub media_bind: Option<SocketAddr>,

    /// TCP address of the media endpoint, for peers whose networks drop
    /// UDP [default: the media UDP address, on TCP].
    #[arg(long, env = "PODIUM_MEDIA_TCP_BIND", global = true)]
    pub media_tcp_bind: Option<SocketAddr>,

    /// IP announced to WebRTC peers [default: the media bind IP].
    #[arg(long, env = "PODIUM_MEDIA_PUBLIC_IP", global = true)]
    pub media_public_ip: Option<IpAddr>,

    /// Media threads, each serving a share of the viewers [default: one
    /// per CPU core].
    #[arg(long, env = "PODIUM_MEDIA_SHARDS", value_parser = clap::value_parser!(u16).range(1..=256), global = true)]
    pub media_shards: Option<u16>,

    /// Base URL of the links handed out [default: http://{bind}].
    #[arg(long, env = "PODIUM_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Where the private PostgreSQL cluster and other state live.
    #[arg(long, env = "PODIUM_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Proxy addresses whose X-Forwarded-For is believed (comma separated).
    #[arg(
        long,
        env = "PODIUM_TRUSTED_PROXY",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxy: Vec<IpAddr>,

    /// An origin (`https://example.com`) whose pages may call WHIP/WHEP,
    /// and then the rest of the API, from the browser; repeatable. `*`: any
    /// page may use WHIP/WHEP, and the rest of the API stays same-origin.
    #[arg(
        long = "cors-origin",
        env = "PODIUM_CORS_ORIGIN",
        value_delimiter = ',',
        value_parser = parse_origin,
        default_value = "*",
        global = true
    )]
    pub cors_origin: Vec<CorsOrigin>,

    /// A TURN server clients may relay media through (`turn:host:3478`,
    /// `turns:host:443?transport=tcp`); repeatable. Needs --turn-secret.
    #[arg(
        long = "turn-url",
        env = "PODIUM_TURN_URL",
        value_delimiter = ',',
        value_parser = crate::turn::parse_url,
        global = true
    )]
    pub turn_url: Vec<String>,

    /// The TURN server's shared secret (coturn's `static-auth-secret`):
    /// each media session gets credentials made from it.
    #[arg(
        long,
        env = "PODIUM_TURN_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub turn_secret: Option<String>,

    /// How long TURN credentials stay valid, in seconds.
    #[arg(long, env = "PODIUM_TURN_TTL", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(60..=604_800), global = true)]
    pub turn_ttl: u64,

    /// Log format.
    #[arg(long, env = "PODIUM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Serve /metrics on this address only (not on --bind) [default: on
    /// --bind].
    #[arg(long, env = "PODIUM_METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,

    /// Require `Authorization: Bearer <this>` on /metrics [default: open].
    #[arg(long, env = "PODIUM_METRICS_TOKEN", global = true)]
    pub metrics_token: Option<String>,

    /// Privacy mode: logs show client IPs with their host part zeroed
    /// (IPv4 /24, IPv6 /48).
    #[arg(long, env = "PODIUM_PRIVACY", global = true)]
    pub privacy: bool,

    /// Days after a room ended before its personal data (names, chat,
    /// questions, polls) is erased; its numbers stay.
    #[arg(
        long,
        env = "PODIUM_RETENTION_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub retention_days: u32,

    /// This process's name among nodes sharing one database, shown in
    /// /api/health as `node` (default: hostname:port).
    #[arg(long, env = "PODIUM_NODE_ID", global = true)]
    pub node_id: Option<String>,

    /// NATS for several nodes on one database (`nats://host:port`): any
    /// node then serves any room. Without it this process is alone.
    #[arg(long, env = "PODIUM_NATS_URL", global = true)]
    pub nats_url: Option<String>,

    /// Where recordings are written (default: `recordings` under
    /// `--data-dir`).
    #[arg(long, env = "PODIUM_RECORDINGS_DIR", global = true)]
    pub recordings_dir: Option<PathBuf>,

    /// The most a room's recordings may hold, in bytes; recording stops
    /// there (the session goes on).
    #[arg(
        long,
        env = "PODIUM_RECORDING_MAX_BYTES",
        default_value_t = 20_000_000_000,
        global = true
    )]
    pub recording_max_bytes: u64,

    /// Database connections kept in the pool.
    #[arg(long, env = "PODIUM_DB_POOL_SIZE", default_value_t = 16, global = true)]
    pub db_pool_size: u32,

    #[command(flatten)]
    pub limits: Limits,
}

/// One `--cors-origin`: every origin, or one origin as browsers send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigin {
    Any,
    /// Serialised as in the `Origin` header: `scheme://host[:port]`,
    /// lower case, without a default port.
    Named(String),
}

/// Which pages on other origins may call the server from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Any page may use WHIP/WHEP; the rest of the API is same-origin.
    Any,
    /// These pages may use WHIP/WHEP and the rest of the API.
    Named(Vec<String>),
}

fn parse_origin(s: &str) -> Result<CorsOrigin, String> {
    let s = s.trim();
    if s == "*" {
        return Ok(CorsOrigin::Any);
    }
    let url = url::Url::parse(s).map_err(|e| format!("{s:?} is not an origin: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{s:?}: an origin is http:// or https://"));
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(format!(
            "{s:?}: an origin is scheme://host[:port], without user, path, query or fragment"
        ));
    }
    // The form browsers send, so that comparing strings is comparing origins.
    Ok(CorsOrigin::Named(url.origin().ascii_serialization()))
}

#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Attendee limit of a room created without max_participants.
    #[arg(
        long,
        env = "PODIUM_DEFAULT_MAX_PARTICIPANTS",
        default_value_t = 1000,
        global = true
    )]
    pub default_max_participants: u32,

    /// Password hashes computed at once [default: the number of cores].
    #[arg(long, env = "PODIUM_HASH_CONCURRENCY", global = true)]
    pub hash_concurrency: Option<usize>,

    /// Rooms one client IP may create per minute.
    #[arg(
        long,
        env = "PODIUM_RATE_CREATE_PER_MINUTE",
        default_value_t = 10,
        global = true
    )]
    pub create_per_minute: u32,

    /// Join attempts one client IP may make per minute (offices share an IP).
    #[arg(
        long,
        env = "PODIUM_RATE_JOIN_PER_MINUTE",
        default_value_t = 300,
        global = true
    )]
    pub join_per_minute: u32,

    /// Password attempts one client IP may make per minute.
    #[arg(
        long,
        env = "PODIUM_RATE_PASSWORD_PER_MINUTE",
        default_value_t = 10,
        global = true
    )]
    pub password_per_minute: u32,

    /// Password attempts one room accepts per minute from all IPs together.
    #[arg(
        long,
        env = "PODIUM_RATE_ROOM_PASSWORD_PER_MINUTE",
        default_value_t = 600,
        global = true
    )]
    pub room_password_per_minute: u32,

    /// Requests one participant token may make per second.
    #[arg(
        long,
        env = "PODIUM_RATE_TOKEN_PER_SECOND",
        default_value_t = 20,
        global = true
    )]
    pub token_per_second: u32,

    /// Actions (every frame but hello and ping) one WebSocket may send per
    /// second.
    #[arg(
        long,
        env = "PODIUM_WS_SENDS_PER_SECOND",
        default_value_t = 10,
        global = true
    )]
    pub ws_sends_per_second: u32,

    /// Seconds between server pings; a socket silent for three is dropped.
    #[arg(long, env = "PODIUM_WS_PING_SECS", default_value_t = 10, global = true)]
    pub ws_ping_secs: u64,
}

#[derive(Parser)]
struct ConfigOnly {
    #[command(flatten)]
    config: Config,
}

impl Config {
    /// Defaults, overridden by the environment and then by `args`.
    pub fn from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args = std::iter::once("podium".into()).chain(args.into_iter().map(Into::into));
        ConfigOnly::try_parse_from(args).map(|c| c.config)
    }

    pub fn media_bind(&self) -> SocketAddr {
        self.media_bind
            .unwrap_or_else(|| SocketAddr::new(self.bind.ip(), 7100))
    }

    pub fn recordings_dir(&self) -> PathBuf {
        self.recordings_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("recordings"))
    }

    pub fn media_shards(&self) -> usize {
        self.media_shards.map_or_else(
            || {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            },
            usize::from,
        )
    }

    /// The `--cors-origin` list as one choice: `*` or named origins, not
    /// both (a named origin next to `*` would suggest a restriction that
    /// `*` lifts).
    pub fn cors_origins(&self) -> Result<CorsOrigins, String> {
        let mut named = Vec::new();
        let mut any = false;
        for origin in &self.cors_origin {
            match origin {
                CorsOrigin::Any => any = true,
                CorsOrigin::Named(o) if !named.contains(o) => named.push(o.clone()),
                CorsOrigin::Named(_) => {}
            }
        }
        match (any, named.is_empty()) {
            (_, true) => Ok(CorsOrigins::Any),
            (false, false) => Ok(CorsOrigins::Named(named)),
            (true, false) => Err("--cors-origin: give '*' or a list of origins, not both".into()),
        }
    }

    /// The TURN servers, when both URLs and the secret are given.
    pub fn turn(&self) -> Result<Option<crate::turn::TurnServers>, String> {
        match (self.turn_url.is_empty(), &self.turn_secret) {
            (true, None) => Ok(None),
            (false, Some(secret)) if !secret.is_empty() => Ok(Some(crate::turn::TurnServers::new(
                self.turn_url.clone(),
                secret.clone(),
                std::time::Duration::from_secs(self.turn_ttl),
            ))),
            (false, _) => {
                Err("--turn-url needs --turn-secret (the TURN server's static-auth-secret)".into())
            }
            (true, Some(_)) => Err("--turn-secret needs at least one --turn-url".into()),
        }
    }

    pub fn hash_concurrency(&self) -> usize {
        self.limits.hash_concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_flags_parse() {
        let c = Config::from_args([
            "--privacy",
            "--metrics-bind",
            "127.0.0.1:9100",
            "--metrics-token",
            "t",
            "--media-shards",
            "3",
        ])
        .unwrap();
        assert!(c.privacy);
        assert_eq!(c.metrics_bind, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(c.metrics_token.as_deref(), Some("t"));
        assert_eq!(c.media_shards(), 3);
        assert!(Config::from_args(["--media-shards", "0"]).is_err());
        assert!(!Config::from_args(Vec::<String>::new()).unwrap().privacy);
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = Config::from_args(Vec::<String>::new()).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
        assert_eq!(
            c.media_bind(),
            "127.0.0.1:7100".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn flags_parse() {
        let c = Config::from_args([
            "--bind",
            "0.0.0.0:0",
            "--trusted-proxy",
            "10.0.0.1,::1",
            "--log-format",
            "json",
            "--join-per-minute",
            "5",
        ])
        .unwrap();
        assert_eq!(c.bind.port(), 0);
        assert_eq!(c.trusted_proxy.len(), 2);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.limits.join_per_minute, 5);
        assert_eq!(
            c.media_bind(),
            "0.0.0.0:7100".parse::<SocketAddr>().unwrap()
        );
    }

    #[test]
    fn cors_origins_parse() {
        let default = Config::from_args(Vec::<String>::new()).unwrap();
        assert_eq!(default.cors_origins(), Ok(CorsOrigins::Any));
        let c = Config::from_args([
            "--cors-origin",
            "https://Player.Example.com:443",
            "--cors-origin",
            "http://127.0.0.1:8081,https://cdn.example.net/",
        ])
        .unwrap();
        assert_eq!(
            c.cors_origins(),
            Ok(CorsOrigins::Named(vec![
                "https://player.example.com".into(),
                "http://127.0.0.1:8081".into(),
                "https://cdn.example.net".into(),
            ]))
        );
        for bad in [
            "example.com",
            "ftp://example.com",
            "https://example.com/player",
            "https://user@example.com",
            "https://example.com?x=1",
            "null",
        ] {
            let e = Config::from_args(["--cors-origin", bad]).unwrap_err();
            assert!(e.to_string().contains("origin"), "{bad}: {e}");
        }
        let both = Config::from_args(["--cors-origin", "*", "--cors-origin", "https://a.example"])
            .unwrap();
        assert!(both.cors_origins().unwrap_err().contains("not both"));
    }

    #[test]
    fn every_flag_has_an_environment_twin() {
        use clap::CommandFactory;
        let command = ConfigOnly::command();
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or("");
            assert!(
                env.starts_with("PODIUM_") || env == "DATABASE_URL",
                "--{id} has no PODIUM_ environment twin"
            );
        }
        let cors = command
            .get_arguments()
            .find(|a| a.get_id() == "cors_origin")
            .unwrap();
        assert_eq!(cors.get_env().unwrap(), "PODIUM_CORS_ORIGIN");
    }

    #[test]
    fn subcommands_take_flags_after_them() {
        let cli =
            Cli::try_parse_from(["podium", "migrate", "--database-url", "postgres://x/y"]).unwrap();
        assert_eq!(cli.command, Some(Command::Migrate));
        assert_eq!(cli.config.database_url.as_deref(), Some("postgres://x/y"));
        assert_eq!(Cli::try_parse_from(["podium"]).unwrap().command, None);
    }
}
