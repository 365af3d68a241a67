//! The one place with a socket and a clock: a thread of its own running a
//! single-threaded tokio loop around the SFU core.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::core::SfuCore;
use super::{MediaError, MediaState, PeerId, Source};

enum Command {
    Publish {
        room: i64,
        source: Source,
        offer: String,
        reply: oneshot::Sender<Result<(PeerId, String), MediaError>>,
    },
    View {
        room: i64,
        offer: String,
        reply: oneshot::Sender<Result<(PeerId, String), MediaError>>,
    },
    Remove {
        peer: PeerId,
        room: i64,
        reply: oneshot::Sender<bool>,
    },
    EndRoom {
        room: i64,
    },
    State {
        room: i64,
        reply: oneshot::Sender<MediaState>,
    },
}

/// The HTTP side's handle on the media engine.
#[derive(Clone)]
pub struct MediaHandle {
    tx: mpsc::Sender<Command>,
    local: SocketAddr,
}

fn stopped() -> MediaError {
    MediaError::Unsupported("the media engine is not running".into())
}

impl MediaHandle {
    /// Starts the engine on `socket`, announcing `announce` to peers, and
    /// calls `on_state` (from the engine's thread) when a room's media
    /// state changes.
    pub fn spawn(
        socket: std::net::UdpSocket,
        announce: SocketAddr,
        on_state: impl Fn(MediaState) + Send + 'static,
    ) -> std::io::Result<Self> {
        socket.set_nonblocking(true)?;
        let (tx, rx) = mpsc::channel(1024);
        std::thread::Builder::new()
            .name("podium-media".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match rt {
                    Ok(rt) => rt.block_on(run(socket, announce, rx, on_state)),
                    Err(e) => tracing::error!(error = %e, "media runtime failed to start"),
                }
            })?;
        Ok(Self {
            tx,
            local: announce,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.ok()?;
        rx.await.ok()
    }

    pub async fn publish(
        &self,
        room: i64,
        source: Source,
        offer: String,
    ) -> Result<(PeerId, String), MediaError> {
        self.ask(|reply| Command::Publish {
            room,
            source,
            offer,
            reply,
        })
        .await
        .unwrap_or_else(|| Err(stopped()))
    }

    pub async fn view(&self, room: i64, offer: String) -> Result<(PeerId, String), MediaError> {
        self.ask(|reply| Command::View { room, offer, reply })
            .await
            .unwrap_or_else(|| Err(stopped()))
    }

    /// Ends a session if it belongs to `room`; whether it did.
    pub async fn remove(&self, peer: PeerId, room: i64) -> bool {
        self.ask(|reply| Command::Remove { peer, room, reply })
            .await
            .unwrap_or(false)
    }

    pub async fn end_room(&self, room: i64) {
        let _ = self.tx.send(Command::EndRoom { room }).await;
    }

    pub async fn state(&self, room: i64) -> MediaState {
        self.ask(|reply| Command::State { room, reply })
            .await
            .unwrap_or(MediaState {
                room_id: room,
                live: false,
                screen: false,
            })
    }
}

async fn run(
    socket: std::net::UdpSocket,
    announce: SocketAddr,
    mut rx: mpsc::Receiver<Command>,
    on_state: impl Fn(MediaState),
) {
    let socket = match UdpSocket::from_std(socket) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "media socket unusable");
            return;
        }
    };
    let mut core = SfuCore::new(announce);
    let mut buf = vec![0u8; 2048];
    let mut dropped: u64 = 0;
    let mut send = |to: SocketAddr, data: &[u8]| {
        // UDP: a full send buffer drops the packet, as the network would.
        if socket.try_send_to(data, to).is_err() {
            dropped += 1;
        }
    };
    loop {
        let deadline = core
            .next_deadline()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, from)) => core.handle_datagram(Instant::now(), from, &buf[..n], &mut send),
                Err(e) => tracing::debug!(error = %e, "media recv failed"),
            },
            _ = tokio::time::sleep_until(deadline.into()) => core.handle_timeout(Instant::now(), &mut send),
            cmd = rx.recv() => {
                let now = Instant::now();
                match cmd {
                    None => break,
                    Some(Command::Publish { room, source, offer, reply }) => {
                        let _ = reply.send(core.add_publisher(now, room, source, &offer, &mut send));
                    }
                    Some(Command::View { room, offer, reply }) => {
                        let _ = reply.send(core.add_viewer(now, room, &offer, &mut send));
                    }
                    Some(Command::Remove { peer, room, reply }) => {
                        let ours = core.room_of(peer) == Some(room);
                        if ours {
                            core.remove(peer, now);
                        }
                        let _ = reply.send(ours);
                    }
                    Some(Command::EndRoom { room }) => core.remove_room(room, now),
                    Some(Command::State { room, reply }) => {
                        let _ = reply.send(core.media_state(room));
                    }
                }
            }
        }
        for event in core.take_events() {
            on_state(event);
        }
    }
    tracing::info!(dropped, "media engine stopped");
}
