//! Wiring: from a `Config` to a running server. Tests build the same
//! `Application` on port 0.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::config::Config;
use crate::http::{self, AppContext};
use crate::live::Hub;
use crate::media::driver::MediaHandle;
use crate::media::MediaState;
use crate::store::{self, embedded::PrivateCluster};

pub struct Application {
    http_addr: SocketAddr,
    media_addr: SocketAddr,
    server: Server,
    cluster: Option<PrivateCluster>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (url, cluster) = prepare_database(&config).await?;
        let pool = store::build_pool(&url, config.db_pool_size);

        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("cannot listen on {}", config.bind))?;
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
        let hub = Hub::new(pool.clone());
        let on_state = hub.clone();
        let runtime = tokio::runtime::Handle::current();
        let shards = config.media_shards();
        let media = MediaHandle::spawn(media_socket, announce, shards, move |s: MediaState| {
            let hub = on_state.clone();
            runtime.spawn(async move { hub.media_state(s.room_id, s.live, s.screen).await });
        })?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{http_addr}"));

        let ctx = web::Data::from(AppContext::new(&config, pool, hub, media, public_url));
        spawn_limiter_cleanup(ctx.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(http::site::security_headers())
                .wrap(TracingLogger::default())
                .app_data(ctx.clone())
                .configure(http::routes)
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        tracing::info!(shards, "media engine started");
        tracing::info!("listening http={http_addr} media={media_addr}");
        Ok(Self {
            http_addr,
            media_addr,
            server,
            cluster,
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

    /// Serves until SIGINT/SIGTERM, then stops a private database if any.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(mut cluster) = self.cluster.take() {
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

fn spawn_limiter_cleanup(ctx: web::Data<AppContext>) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            ctx.limits.forget_idle();
        }
    });
}
