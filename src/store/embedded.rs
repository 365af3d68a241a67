//! The embedded default: with no DATABASE_URL, use the PostgreSQL on
//! 127.0.0.1:5432 if it answers, else run a private cluster under the data
//! directory (unix socket only) and stop it when Podium exits.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{bail, Context};
use diesel::{Connection, PgConnection};

pub const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/podium";
const LOCAL_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const INSTALL_HINT: &str = "no PostgreSQL found: install it (Debian/Ubuntu: \
    `apt-get install -y postgresql`) or point DATABASE_URL / --database-url at a server";

/// Where the database is, and the cluster to stop on exit if we started one.
pub struct Resolved {
    pub url: String,
    pub cluster: Option<PrivateCluster>,
}

pub fn resolve(database_url: Option<&str>, data_dir: &Path) -> anyhow::Result<Resolved> {
    if let Some(url) = database_url {
        return Ok(Resolved {
            url: url.to_owned(),
            cluster: None,
        });
    }
    match local_server_answers() {
        Ok(()) => {
            tracing::info!("using PostgreSQL at 127.0.0.1:5432");
            return Ok(Resolved {
                url: LOCAL_URL.to_owned(),
                cluster: None,
            });
        }
        Err(why) => {
            tracing::info!(%why, "no usable PostgreSQL at 127.0.0.1:5432; starting a private one")
        }
    }
    let bindir = find_bindir().context(INSTALL_HINT)?;
    let cluster = PrivateCluster::start(&bindir, &data_dir.join("postgres"))?;
    Ok(Resolved {
        url: cluster.url("podium"),
        cluster: Some(cluster),
    })
}

fn local_server_answers() -> anyhow::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], 5432));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).context("nothing listens")?;
    PgConnection::establish(LOCAL_ADMIN_URL).context("it refused user postgres")?;
    Ok(())
}

/// The directory holding `initdb` and `pg_ctl`.
pub fn find_bindir() -> anyhow::Result<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return Ok(dir);
        }
    }
    // Debian keeps server binaries out of PATH, one directory per version.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_tools(d))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|d| has_tools(d))
        .context("initdb and pg_ctl are not installed")
}

/// A PostgreSQL cluster owned by this process, reachable only through a
/// unix socket in its own directory.
pub struct PrivateCluster {
    bindir: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    owner: Option<nix::unistd::User>,
    running: bool,
}

impl PrivateCluster {
    pub fn start(bindir: &Path, root: &Path) -> anyhow::Result<Self> {
        let root = std::path::absolute(root)?;
        let data = root.join("data");
        let socket_dir = root.join("run");
        std::fs::create_dir_all(&socket_dir)
            .with_context(|| format!("creating {}", socket_dir.display()))?;
        // PostgreSQL refuses to run as root: hand the cluster to its own user.
        let owner = if nix::unistd::geteuid().is_root() {
            Some(nix::unistd::User::from_name("postgres")?.context(
                "running as root, PostgreSQL needs an unprivileged 'postgres' user; \
                 create one or set DATABASE_URL",
            )?)
        } else {
            None
        };
        let mut cluster = Self {
            bindir: bindir.to_owned(),
            data,
            socket_dir,
            owner,
            running: false,
        };
        cluster.own(&root)?;
        cluster.own(&cluster.socket_dir.clone())?;
        if !cluster.data.join("PG_VERSION").exists() {
            std::fs::create_dir_all(&cluster.data)?;
            std::fs::set_permissions(&cluster.data, std::fs::Permissions::from_mode(0o700))?;
            cluster.own(&cluster.data.clone())?;
            tracing::info!(dir = %cluster.data.display(), "initialising a private PostgreSQL cluster");
            cluster.run(
                "initdb",
                &[
                    "-D",
                    path_str(&cluster.data)?,
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ],
            )?;
        }
        let status = cluster
            .command("pg_ctl")
            .args(["status", "-D", path_str(&cluster.data)?])
            .output()?;
        if !status.status.success() {
            let log = root.join("postgres.log");
            let opts = format!(
                "-c listen_addresses='' -c port=5432 -k '{}'",
                path_str(&cluster.socket_dir)?
            );
            cluster.run(
                "pg_ctl",
                &[
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    path_str(&cluster.data)?,
                    "-l",
                    path_str(&log)?,
                    "-o",
                    &opts,
                ],
            )?;
        }
        cluster.running = true;
        tracing::info!(socket = %cluster.socket_dir.display(), "private PostgreSQL running");
        Ok(cluster)
    }

    pub fn url(&self, database: &str) -> String {
        let mut url = url::Url::parse("postgres://postgres@localhost:5432/").expect("static URL");
        url.set_path(database);
        url.query_pairs_mut()
            .append_pair("host", &self.socket_dir.to_string_lossy());
        url.to_string()
    }

    pub fn stop(&mut self) -> anyhow::Result<()> {
        if std::mem::take(&mut self.running) {
            self.run(
                "pg_ctl",
                &["stop", "-w", "-m", "fast", "-D", path_str(&self.data)?],
            )?;
            tracing::info!("private PostgreSQL stopped");
        }
        Ok(())
    }

    fn own(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(user) = &self.owner {
            std::os::unix::fs::chown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .with_context(|| format!("handing {} to user postgres", path.display()))?;
        }
        Ok(())
    }

    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(tool));
        cmd.current_dir(&self.socket_dir);
        if let Some(user) = &self.owner {
            cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        cmd
    }

    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<Output> {
        let out = self
            .command(tool)
            .args(args)
            .output()
            .with_context(|| format!("running {tool}"))?;
        if !out.status.success() {
            bail!(
                "{tool} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(out)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!(error = %e, "stopping the private PostgreSQL failed");
        }
    }
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("path {} is not UTF-8", p.display()))
}
