//! Wiring: from a `Config` to a running server. Tests build the same
//! `Application` on port 0.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use actix_web::dev::{Server, Service};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::http::spans::RequestSpan;

use crate::cluster::Cluster;
use crate::config::Config;
use crate::http::{self, AppContext};
use crate::live::Hub;
use crate::live::{Act, Member};
use crate::media::driver::{MediaHandle, Sockets};
use crate::media::MediaState;
use crate::recording::{self, Recorder};
use crate::store::{self, embedded::PrivateCluster};
use std::sync::{Arc, Mutex};

pub struct Application {
    http_addr: SocketAddr,
    media_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    server: Server,
    metrics_server: Option<Server>,
    ctx: web::Data<AppContext>,
    cluster: Option<PrivateCluster>,
    recorder: Recorder,
    /// The recorder's way to the engine, dropped before the engine stops.
    engine: Arc<Mutex<Option<MediaHandle>>>,
}

/// In-flight requests get this long to finish once the server stops.
const DRAIN: u64 = 3;
/// A connection must send its whole first request head within this, or it
/// gets 408 and is closed: idle and trickling connections cannot pile up.
const REQUEST_HEAD_WITHIN: Duration = Duration::from_secs(5);
/// Rooms get this long to say goodbye and store what is pending.
const ROOMS_GRACE: Duration = Duration::from_secs(5);

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let origins = config.cors_origins().map_err(anyhow::Error::msg)?;
        config.turn().map_err(anyhow::Error::msg)?;
        raise_open_file_limit();
        let (url, cluster) = prepare_database(&config).await?;
        let pool = store::build_pool(&url, config.db_pool_size);

        let listener =
            listen(config.bind).with_context(|| format!("cannot listen on {}", config.bind))?;
        let http_addr = listener.local_addr()?;
        let media_socket = UdpSocket::bind(config.media_bind())
            .with_context(|| format!("cannot bind media UDP {}", config.media_bind()))?;
        let media_addr = media_socket.local_addr()?;
        let announce_ip = config.media_public_ip.unwrap_or(media_addr.ip());
        anyhow::ensure!(
            !announce_ip.is_unspecified(),
            "media listens on every address ({media_addr}): set --media-public-ip to the address viewers reach"
        );
        let announce = SocketAddr::new(announce_ip, media_addr.port());
        // The TCP port defaults to the UDP one (any free one when the UDP
        // port was left to the system).
        let tcp_bind = config.media_tcp_bind.unwrap_or_else(|| {
            let port = if config.media_bind().port() == 0 {
                0
            } else {
                media_addr.port()
            };
            SocketAddr::new(media_addr.ip(), port)
        });
        let media_tcp = std::net::TcpListener::bind(tcp_bind)
            .with_context(|| format!("cannot listen on media TCP {tcp_bind}"))?;
        let tcp_addr = media_tcp.local_addr()?;
        let tcp_announce = SocketAddr::new(announce_ip, tcp_addr.port());
        let sockets = Sockets {
            udp: media_socket,
            announce,
            tcp: Some((media_tcp, tcp_announce)),
        };
        // The engine's state changes travel to the rooms on one channel,
        // so they arrive in the order the engine made them.
        let (events, changes) = tokio::sync::mpsc::unbounded_channel();
        let shards = config.media_shards();
        // The recorder asks the engine for keyframes, and tells the rooms
        // when their recording stops by itself; both exist only after it.
        let engine: Arc<Mutex<Option<MediaHandle>>> = Arc::default();
        let (stops, stopped) = tokio::sync::mpsc::unbounded_channel();
        let asks = engine.clone();
        let recorder = Recorder::spawn(
            recording::Settings {
                dir: config.recordings_dir(),
                max_bytes: config.recording_max_bytes,
            },
            pool.clone(),
            move |room, why| {
                let _ = stops.send((room, why));
            },
            move |room, peer| {
                if let Some(m) = asks.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    m.keyframe(room, peer);
                }
            },
        )
        .with_context(|| {
            format!(
                "cannot write recordings to {}",
                config.recordings_dir().display()
            )
        })?;
        let media = MediaHandle::spawn_recording(
            sockets,
            shards,
            move |s: MediaState| {
                let _ = events.send(s);
            },
            Some(recorder.taps()),
        )?;
        *engine.lock().unwrap_or_else(|e| e.into_inner()) = Some(media.clone());
        let node = config.node_id.clone().unwrap_or_else(|| {
            let host = nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "localhost".into());
            format!("{host}:{}", http_addr.port())
        });
        let mut hub = Hub::new(pool.clone(), media.clone());
        if let Some(url) = &config.nats_url {
            let cluster = Cluster::start(url, node.clone(), pool.clone()).await?;
            hub = hub.with_cluster(cluster.clone());
            cluster.serve(hub.clone(), http_addr, media.clone());
        }
        hub.follow_media(changes);
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{http_addr}"));

        let ctx = web::Data::from(AppContext::new(
            &config,
            store::Store::new(pool),
            hub,
            media,
            public_url,
            node,
        ));
        spawn_limiter_cleanup(ctx.clone());
        spawn_retention(
            ctx.store.pool().clone(),
            config.retention_days,
            config.recordings_dir(),
        );
        spawn_recording_stops(ctx.clone(), stopped);
        let separate_metrics = config.metrics_bind.is_some();
        let app_ctx = ctx.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(http::site::security_headers())
                .wrap_fn(|req, srv| {
                    let started = Instant::now();
                    // The route pattern, not the path: bounded label values.
                    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
                    let method = req.method().to_string();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?;
                        let status = res.status().as_u16();
                        crate::metrics::http_request(route, method, status, started.elapsed());
                        Ok(res)
                    }
                })
                .wrap(TracingLogger::<RequestSpan>::new())
                .app_data(app_ctx.clone())
                .configure(|cfg| {
                    if separate_metrics {
                        http::routes(cfg, &origins)
                    } else {
                        http::routes_with_metrics(cfg, &origins)
                    }
                })
        })
        .client_request_timeout(REQUEST_HEAD_WITHIN)
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(DRAIN)
        .run();
        let (metrics_server, metrics_addr) = match config.metrics_bind {
            Some(addr) => {
                let listener =
                    listen(addr).with_context(|| format!("cannot listen for metrics on {addr}"))?;
                let bound = listener.local_addr()?;
                let metrics_ctx = ctx.clone();
                let server = HttpServer::new(move || {
                    App::new()
                        .wrap(http::site::security_headers())
                        .app_data(metrics_ctx.clone())
                        .configure(http::metrics_routes)
                })
                .workers(1)
                .listen(listener)?
                .disable_signals()
                .shutdown_timeout(1)
                .run();
                tracing::info!("metrics on http://{bound}/metrics");
                (Some(server), Some(bound))
            }
            None => (None, None),
        };
        tracing::info!(shards, "media engine started");
        tracing::info!("listening http={http_addr} media={media_addr} media-tcp={tcp_addr}");
        Ok(Self {
            http_addr,
            media_addr,
            metrics_addr,
            server,
            metrics_server,
            ctx,
            cluster,
            recorder,
            engine,
        })
    }

    pub fn port(&self) -> u16 {
        self.http_addr.port()
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn media_addr(&self) -> SocketAddr {
        self.media_addr
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Serves until SIGINT/SIGTERM, then shuts down in order: stop
    /// accepting; every room tells its sockets `server.restarting`, closes
    /// them and stores open sessions and media time; in-flight requests
    /// finish; media sessions end; the pool closes; a private database
    /// stops. Well within 10 seconds.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            server,
            metrics_server,
            ctx,
            mut cluster,
            recorder,
            engine,
            ..
        } = self;
        let handle = server.handle();
        let metrics = metrics_server.map(|s| {
            let handle = s.handle();
            actix_web::rt::spawn(s);
            handle
        });
        // The server runs as its own task: it must be polled to act on
        // pause and stop.
        let mut server = actix_web::rt::spawn(server);
        let result = tokio::select! {
            r = &mut server => r.map_err(std::io::Error::other)?,
            () = stop_signal() => {
                tracing::info!("stopping: telling rooms, storing sessions, draining requests");
                handle.pause().await;
                if tokio::time::timeout(ROOMS_GRACE, ctx.hub.shutdown()).await.is_err() {
                    tracing::warn!("some rooms did not finish in time");
                }
                let stopping = handle.stop(true);
                engine.lock().unwrap_or_else(|e| e.into_inner()).take();
                ctx.media.stop().await;
                // The sessions ended: their recordings close.
                let closing = recorder.clone();
                let _ = tokio::task::spawn_blocking(move || closing.stop()).await;
                stopping.await;
                server.await.map_err(std::io::Error::other)?
            }
        };
        if let Some(m) = metrics {
            m.stop(false).await;
        }
        // The last handle on the pool: its connections close here.
        drop(ctx);
        if let Some(mut cluster) = cluster.take() {
            tokio::task::spawn_blocking(move || cluster.stop())
                .await
                .map_err(std::io::Error::other)?
                .map_err(std::io::Error::other)?;
        }
        result
    }
}

/// Finds or starts PostgreSQL, creates the database if needed and migrates.
pub async fn prepare_database(config: &Config) -> anyhow::Result<(String, Option<PrivateCluster>)> {
    let url = config.database_url.clone();
    let data_dir = config.data_dir.clone();
    tokio::task::spawn_blocking(move || {
        let resolved = store::embedded::resolve(url.as_deref(), &data_dir)?;
        let mut conn = store::connect_creating(&resolved.url)?;
        let applied = store::run_migrations(&mut conn)?;
        store::rooms::reset_live(&mut conn)?;
        tracing::info!(applied, "database migrated");
        Ok((resolved.url, resolved.cluster))
    })
    .await?
}

/// `podium migrate`: migrate and exit.
pub async fn migrate(config: Config) -> anyhow::Result<()> {
    let (_, cluster) = prepare_database(&config).await?;
    if let Some(mut cluster) = cluster {
        tokio::task::spawn_blocking(move || cluster.stop()).await??;
    }
    Ok(())
}

async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn spawn_limiter_cleanup(ctx: web::Data<AppContext>) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            ctx.limits.forget_idle();
        }
    });
}

/// How often the retention job looks for rooms to erase.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// The retention job: at start and every hour, erases the personal data of
/// rooms that ended more than `days` days ago (their numbers stay).
fn spawn_retention(pool: store::PgPool, days: u32, recordings: std::path::PathBuf) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(RETENTION_EVERY);
        loop {
            tick.tick().await;
            let run = store::blocking(&pool, move |c| {
                Ok(store::retention::run(c, chrono::Utc::now(), days)?)
            })
            .await;
            match run {
                Ok(done) => {
                    let (mut participants, mut messages, mut questions, mut polls) = (0, 0, 0, 0);
                    for (room, e) in &done {
                        crate::metrics::room_erased();
                        recording::remove_room_files(&recordings, room.id);
                        participants += e.participants;
                        messages += e.messages;
                        questions += e.questions;
                        polls += e.polls;
                    }
                    tracing::info!(
                        retention_days = days,
                        rooms = done.len(),
                        participants,
                        messages,
                        questions,
                        polls,
                        "retention run"
                    );
                }
                Err(e) => tracing::warn!(error = %e, "retention run failed; next in an hour"),
            }
        }
    });
}

/// A room whose recording stopped by itself (a full disk, its limit): the
/// room switches the setting off and tells its staff why.
fn spawn_recording_stops(
    ctx: web::Data<AppContext>,
    mut stopped: tokio::sync::mpsc::UnboundedReceiver<(i64, recording::Stopped)>,
) {
    actix_web::rt::spawn(async move {
        while let Some((room, why)) = stopped.recv().await {
            let act = Act::RecordingStopped { why };
            if let Err(e) = ctx.act(room, Member::system(), act).await {
                tracing::warn!(room, error = ?e, "the room did not hear that its recording stopped");
            }
        }
    });
}

/// Every socket is an open file: take the whole hard limit, since the usual
/// soft default (1,024) would cap the audience far below a room's size.
fn raise_open_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => tracing::info!(open_files = hard, "open file limit raised"),
            Err(e) => tracing::warn!(open_files = soft, error = %e, "open file limit not raised"),
        },
        Ok((soft, _)) => tracing::info!(open_files = soft, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "open file limit unknown"),
    }
}

/// Connections the kernel may queue before we accept them. The standard
/// library listens with 128; a crowd joining at once overflows that, and
/// each overflow costs its client a second's SYN retry. (The kernel caps it
/// at net.core.somaxconn.)
const LISTEN_BACKLOG: i32 = 4096;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}
