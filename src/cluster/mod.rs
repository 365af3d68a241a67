//! Several nodes on one PostgreSQL and NATS (`--nats-url`).
//!
//! Each active room has one home node, held by a lease in PostgreSQL
//! (`store::homes`), which runs the room's core (`live::task`) exactly as
//! a single node does: the core stays the one place the room's order is
//! decided. Another node with members in the room forwards their
//! connections and actions to the home by NATS request/reply
//! ([`wire::Ask`]), and the home sends each such node, in order, the
//! frames its members are to see ([`wire::Delivery`] on
//! `podium.room.{room}.to.{node}`): one copy per node with the
//! connections it is for, so each recipient gets its own view (staff-only
//! frames, a pending question to its author).
//!
//! Deliveries are numbered per room core. A node that sees a gap (a NATS
//! reconnect, a slow consumer), or a home that no longer knows its
//! members, or a home that is gone, closes those sockets with 1012 and the
//! clients reconnect to a fresh snapshot: that is the resync. Actions are
//! acknowledged only after the home stored them, so nothing acknowledged
//! is lost when a node or NATS restarts; a dead home's lease runs out and
//! the next node asked for the room takes it.

mod forward;
mod remote;
mod serve;
mod upstream;
pub mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use tokio::sync::mpsc;

use self::remote::Remotes;
pub use self::remote::REMOTE_CONN;
use self::upstream::Upstreams;
use self::wire::{Answer, Ask, Delivery, HttpAnswer, HttpAsk, MediaEffect, ToAll, ToHome};
use crate::live::RoomError;
use crate::store::{self, PgPool, StoreError};

/// How long a home's lease on a room lasts without renewal: how soon a
/// dead node's rooms can move.
pub const LEASE: Duration = Duration::from_secs(4);
/// How often a home renews its rooms' leases.
pub const RENEW_EVERY: Duration = Duration::from_secs(1);
/// How often a node tells each home which of its members are still there.
pub const KEEP_EVERY: Duration = Duration::from_secs(1);
/// A home forgets a node's members after this long without hearing from
/// it (the node died, or NATS lost it).
pub const SILENCE: Duration = Duration::from_secs(5);
/// How long an ask waits for the home's answer.
const ASK_WITHIN: Duration = Duration::from_secs(3);
/// Where every node hears what actions did to rooms' media.
const MEDIA_EFFECTS: &str = "podium.media";
/// Deliveries queued for NATS before the newest are dropped (the nodes
/// they were for see the gap and resync).
const OUTBOX: usize = 65_536;

pub struct Cluster {
    client: async_nats::Client,
    node: String,
    token: String,
    pool: PgPool,
    remotes: Remotes,
    outbox: mpsc::Sender<(String, Bytes)>,
    /// This node's own HTTP listener, where forwarded requests are served.
    http: OnceLock<SocketAddr>,
    /// This node's media engine, and its sessions taking rooms' media
    /// from their homes.
    media: OnceLock<crate::media::driver::MediaHandle>,
    upstreams: Upstreams,
}

/// Why an ask got no answer.
#[derive(Debug)]
pub(crate) enum AskFailed {
    /// Nobody listens for that node: it is gone.
    Gone,
    /// No answer in time, or NATS is away.
    Silent,
}

impl Cluster {
    /// Connects to NATS (failing start-up with a clear error when it is
    /// not there) and starts serving: asks for the rooms this node is home
    /// to, deliveries for its members elsewhere, and their keep-alives.
    pub async fn start(url: &str, node: String, pool: PgPool) -> anyhow::Result<Arc<Self>> {
        let client = async_nats::ConnectOptions::new()
            .name(format!("podium {node}"))
            .connection_timeout(Duration::from_secs(3))
            // Back within a second of NATS coming back, not the client's
            // default of up to several.
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((attempts as u64 * 100).min(1000))
            })
            .event_callback(|event| async move {
                tracing::info!(%event, "nats");
                if let async_nats::Event::SlowConsumer(_) = event {
                    crate::metrics::cluster_slow_consumer();
                }
            })
            .connect(url)
            .await
            .with_context(|| format!("cannot reach NATS at {url}"))?;
        let (outbox, queued) = mpsc::channel(OUTBOX);
        let cluster = Arc::new(Self {
            token: subject_token(&node),
            client,
            node,
            pool,
            remotes: Remotes::default(),
            outbox,
            http: OnceLock::new(),
            media: OnceLock::new(),
            upstreams: Upstreams::default(),
        });
        tokio::spawn(publish(cluster.client.clone(), queued));
        tokio::spawn(remote::deliveries(cluster.clone()));
        tokio::spawn(remote::keep_alive(cluster.clone()));
        tracing::info!(node = %cluster.node, "cluster: joined on NATS");
        Ok(cluster)
    }

    /// Serves asks from other nodes for the rooms this node is home to;
    /// forwarded HTTP requests go to `http`, this node's own listener.
    pub fn serve(
        self: &Arc<Self>,
        hub: crate::live::Hub,
        http: SocketAddr,
        media: crate::media::driver::MediaHandle,
    ) {
        let _ = self.http.set(http);
        let _ = self.media.set(media);
        tokio::spawn(serve::asks(self.clone(), hub));
        tokio::spawn(upstream::tend(self.clone()));
        tokio::spawn(serve::media_effects(self.clone()));
    }

    /// Tells every other node what an action did to the room's media (this
    /// node applied it to its own sessions already).
    pub fn tell_all(&self, room: i64, effect: MediaEffect) {
        let body = encode(&ToAll {
            room,
            from: self.node.clone(),
            effect,
        });
        self.queue(MEDIA_EFFECTS.to_owned(), body);
    }

    /// Makes sure this node takes the room's media from its home, `home`,
    /// for its own viewers.
    pub async fn take_media(&self, home: &str, room: i64) -> Result<(), RoomError> {
        let media = self
            .media
            .get()
            .ok_or_else(|| RoomError::Internal("no media engine".into()))?;
        self.upstreams.ensure(self, media, home, room).await
    }

    fn http_addr(&self) -> Option<SocketAddr> {
        self.http.get().copied()
    }

    /// Has the room's home serve an HTTP request that came here (`None`
    /// when the home is gone or silent).
    pub async fn forward(&self, home: &str, room: i64, ask: HttpAsk) -> Option<HttpAnswer> {
        match self.ask(home, room, Ask::Http(ask)).await {
            Ok(Answer::Http(answer)) => Some(answer),
            _ => None,
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Sockets here in rooms homed on other nodes.
    pub fn members_here(&self) -> usize {
        self.remotes.members()
    }

    pub(crate) fn remotes(&self) -> &Remotes {
        &self.remotes
    }

    fn asks_subject(&self, node: &str) -> String {
        format!("podium.node.{}.rooms", subject_token(node))
    }

    /// Where a room's home sends one node its deliveries.
    pub(crate) fn delivery_subject(&self, room: i64, node: &str) -> String {
        format!("podium.room.{room}.to.{}", subject_token(node))
    }

    /// The node that is the room's home now, taking the room for this one
    /// when nobody holds it.
    pub async fn home_of(&self, room: i64) -> Result<String, RoomError> {
        let node = self.node.clone();
        store::blocking(&self.pool, move |c| {
            Ok(store::homes::acquire(c, room, &node, LEASE.as_secs_f64())?)
        })
        .await
        .map_err(RoomError::from)
    }

    /// The node holding the room now, if any (takes nothing).
    pub async fn holder_of(&self, room: i64) -> Result<Option<String>, StoreError> {
        store::blocking(&self.pool, move |c| Ok(store::homes::holder(c, room)?)).await
    }

    /// This node's viewers of the room now (the room's peak is over all
    /// nodes).
    pub async fn note_viewers(&self, room: i64, viewers: i32) -> Result<(), StoreError> {
        let node = self.node.clone();
        store::blocking(&self.pool, move |c| {
            Ok(store::rooms::note_node_viewers(c, room, &node, viewers)?)
        })
        .await
    }

    /// Extends this node's lease on the room; false when it lost it.
    pub async fn renew(&self, room: i64) -> Result<bool, StoreError> {
        let node = self.node.clone();
        store::blocking(&self.pool, move |c| {
            Ok(store::homes::renew(c, room, &node, LEASE.as_secs_f64())?)
        })
        .await
    }

    /// Lets the room go (its core stopped here).
    pub async fn release(&self, room: i64) {
        let node = self.node.clone();
        let released = store::blocking(&self.pool, move |c| {
            Ok(store::homes::release(c, room, &node)?)
        })
        .await;
        if let Err(e) = released {
            tracing::warn!(room, error = %e, "room lease not released (it runs out)");
        }
    }

    /// Asks the room's home node and waits for its answer.
    pub(crate) async fn ask(&self, home: &str, room: i64, ask: Ask) -> Result<Answer, AskFailed> {
        let body = encode(&ToHome {
            room,
            from: self.node.clone(),
            ask,
        });
        let request = async_nats::Request::new()
            .payload(body)
            .timeout(Some(ASK_WITHIN));
        crate::metrics::cluster_ask();
        match self
            .client
            .send_request(self.asks_subject(home), request)
            .await
        {
            Ok(msg) => serde_json::from_slice(&msg.payload).map_err(|e| {
                tracing::warn!(error = %e, "unreadable answer from {home}");
                AskFailed::Silent
            }),
            Err(e) if e.kind() == async_nats::client::RequestErrorKind::NoResponders => {
                Err(AskFailed::Gone)
            }
            Err(e) => {
                tracing::debug!(error = %e, home, "ask unanswered");
                Err(AskFailed::Silent)
            }
        }
    }

    /// A subscription, or `None` (logged) when NATS refuses it.
    async fn subscribe(&self, subject: String) -> Option<async_nats::Subscriber> {
        match self.client.subscribe(subject.clone()).await {
            Ok(sub) => Some(sub),
            Err(e) => {
                tracing::error!(error = %e, subject, "cluster: cannot subscribe");
                None
            }
        }
    }

    /// Tells the room's home something that needs no answer.
    pub(crate) fn tell(&self, home: &str, room: i64, ask: Ask) {
        let body = encode(&ToHome {
            room,
            from: self.node.clone(),
            ask,
        });
        self.queue(self.asks_subject(home), body);
    }

    /// Queues a delivery for a node, behind everything queued before it.
    pub(crate) fn deliver(&self, subject: &str, delivery: &Delivery<'_>) {
        self.queue(subject.to_owned(), encode(delivery));
    }

    fn queue(&self, subject: String, body: Bytes) {
        if self.outbox.try_send((subject, body)).is_err() {
            crate::metrics::cluster_delivery_dropped();
        }
    }

    /// The members this node holds for rooms at other homes are told the
    /// server restarts (1012), and their homes that they left.
    pub fn shutdown(&self) {
        self.remotes.shutdown(self);
    }
}

/// Publishes in queue order: deliveries to a node stay in the order the
/// home made them.
async fn publish(client: async_nats::Client, mut queued: mpsc::Receiver<(String, Bytes)>) {
    while let Some((subject, body)) = queued.recv().await {
        if let Err(e) = client.publish(subject, body).await {
            tracing::warn!(error = %e, "nats publish failed");
            crate::metrics::cluster_delivery_dropped();
        }
    }
}

fn encode(value: &impl serde::Serialize) -> Bytes {
    serde_json::to_vec(value)
        .expect("wire types always serialise")
        .into()
}

/// A node id as one NATS subject token: its letters, digits, `-` and `_`
/// kept, anything else (`.`, `:`, spaces) made `_`, and a hash of the
/// whole id so two ids never share a token.
fn subject_token(node: &str) -> String {
    let clean: String = node
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // FNV-1a: stable across builds and machines.
    let hash = node.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    format!("{clean}-{hash:08x}")
}

#[cfg(test)]
mod tests {
    use super::subject_token;

    #[test]
    fn a_node_id_makes_one_safe_token_of_its_own() {
        let a = subject_token("host.example.org:8080");
        assert!(a.starts_with("host_example_org_8080-"), "{a}");
        assert!(!a.contains(['.', ':', ' ', '*', '>']));
        assert_ne!(a, subject_token("host_example_org_8080"));
        assert_eq!(a, subject_token("host.example.org:8080"));
    }
}
