//! Media over TCP, for networks that drop UDP: peers connect to the
//! passive TCP candidate every answer offers (RFC 6544), and each
//! connection carries the peer's datagrams as RFC 4571 frames (a 16-bit
//! length, then the datagram). This is the I/O side only: frames go to the
//! shard that owns the peer, as UDP datagrams do, and the shards' replies
//! come back here to be framed. One thread runs every connection.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

/// Connections at once; more are closed on arrival (each costs a task and
/// two buffers, and TCP is the fallback of the few).
const MAX_CONNECTIONS: usize = 4096;
/// A connection that names no known session in this long is closed.
const FIRST_FRAME_WITHIN: Duration = Duration::from_secs(10);
/// A connection silent this long is closed (browsers send consent checks
/// every few seconds; the session itself ends after 8 s of silence).
const IDLE_LIMIT: Duration = Duration::from_secs(30);
/// Frames queued towards one peer; a full queue drops, as a full socket
/// buffer does for UDP (NACK and the estimate deal with it).
const QUEUE: usize = 1024;

/// Where a frame that arrived goes: the shard (`None`: no session knows
/// this connection yet, close it).
pub type Deliver =
    dyn Fn(Option<usize>, Instant, SocketAddr, Vec<u8>) -> Option<usize> + Send + Sync;

/// The open connections, by the peer's address: how a shard sends.
#[derive(Default)]
pub struct Links {
    out: Mutex<HashMap<SocketAddr, mpsc::Sender<Bytes>>>,
}

impl Links {
    fn out(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, mpsc::Sender<Bytes>>> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Frames `data` to the connection from `to`; false if there is none or
    /// its queue is full.
    pub fn send(&self, to: SocketAddr, data: &[u8]) -> bool {
        match self.out().get(&to) {
            Some(tx) => tx.try_send(Bytes::copy_from_slice(data)).is_ok(),
            None => false,
        }
    }

    pub fn count(&self) -> usize {
        self.out().len()
    }
}

fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(2)
        .max_frame_length(usize::from(u16::MAX))
        .new_codec()
}

/// Serves `listener` on a thread of its own until `alive` is gone.
/// `deliver` routes each frame: given the connection's shard so far (none
/// for its first frames), it returns the shard that took it.
pub fn spawn<T: Send + Sync + 'static>(
    listener: StdListener,
    links: Arc<Links>,
    alive: Weak<T>,
    deliver: Arc<Deliver>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name("podium-media-tcp".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else {
                    tracing::error!("media TCP listener could not be registered");
                    return;
                };
                accept(listener, links, alive, deliver).await;
            });
        })?;
    Ok(())
}

async fn accept<T>(
    listener: TcpListener,
    links: Arc<Links>,
    alive: Weak<T>,
    deliver: Arc<Deliver>,
) {
    loop {
        let accepted = tokio::time::timeout(Duration::from_secs(1), listener.accept()).await;
        if alive.strong_count() == 0 {
            break;
        }
        let Ok(accepted) = accepted else { continue };
        let (stream, from) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(error = %e, "media TCP accept failed");
                continue;
            }
        };
        if links.count() >= MAX_CONNECTIONS {
            continue;
        }
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve(stream, from, links.clone(), deliver.clone()));
    }
}

async fn serve(stream: TcpStream, from: SocketAddr, links: Arc<Links>, deliver: Arc<Deliver>) {
    let (read, write) = stream.into_split();
    let mut frames = FramedRead::new(read, codec());
    let (tx, mut rx) = mpsc::channel::<Bytes>(QUEUE);
    links.out().insert(from, tx);
    let writer = tokio::spawn(async move {
        let mut out = FramedWrite::new(write, codec());
        while let Some(frame) = rx.recv().await {
            if out.send(frame).await.is_err() {
                break;
            }
        }
    });
    let opened = Instant::now();
    let mut shard = None;
    loop {
        let limit = if shard.is_some() {
            IDLE_LIMIT
        } else {
            FIRST_FRAME_WITHIN.saturating_sub(opened.elapsed())
        };
        let frame = match tokio::time::timeout(limit, frames.next()).await {
            Ok(Some(Ok(frame))) => frame,
            // Closed, broken framing, or silent.
            _ => break,
        };
        shard = deliver(shard, Instant::now(), from, frame.to_vec()).or(shard);
        if shard.is_none() && opened.elapsed() >= FIRST_FRAME_WITHIN {
            break;
        }
    }
    links.out().remove(&from);
    writer.abort();
}
