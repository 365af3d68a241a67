//! This node's viewers of rooms homed elsewhere: each such room's media is
//! taken from its home once (one upstream session, str0m to str0m) and
//! fanned out here, so a node's forwarding work grows with its own
//! viewers. Made with the first viewer, remade when it dies (the home
//! moved, or restarted) while viewers remain, ended when none are left.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Mutex;

use super::wire::{Answer, Ask};
use super::Cluster;
use crate::live::RoomError;
use crate::media::driver::MediaHandle;
use crate::media::PeerId;

/// How often the upstream sessions are looked after.
const TEND_EVERY: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(crate) struct Upstreams {
    /// Room -> its home and the upstream session from it. The lock is held
    /// while one is made, so a room gets one.
    rooms: Mutex<HashMap<i64, (String, PeerId)>>,
    /// This node's viewers of each room, as last noted.
    noted: Mutex<HashMap<i64, usize>>,
}

impl Upstreams {
    /// Makes sure this node takes the room's media from `home`.
    pub(crate) async fn ensure(
        &self,
        cluster: &Cluster,
        media: &MediaHandle,
        home: &str,
        room: i64,
    ) -> Result<(), RoomError> {
        let mut rooms = self.rooms.lock().await;
        if let Some((from, peer)) = rooms.get(&room) {
            if from == home && media.upstream_alive(*peer) {
                return Ok(());
            }
            media.remove(*peer, room).await;
        }
        rooms.remove(&room);
        let (peer, offer) = media
            .upstream(room)
            .await
            .map_err(|e| RoomError::Internal(e.to_string()))?;
        let answer = match cluster.ask(home, room, Ask::Upstream { offer }).await {
            Ok(Answer::Sdp(answer)) => answer,
            other => {
                media.remove(peer, room).await;
                return Err(super::remote::refusal(other));
            }
        };
        if let Err(e) = media.upstream_answer(peer, answer).await {
            media.remove(peer, room).await;
            return Err(RoomError::Internal(e.to_string()));
        }
        tracing::info!(room, home, %peer, "cluster: taking the room's media from its home");
        rooms.insert(room, (home.to_owned(), peer));
        Ok(())
    }

    /// Ends the sessions no viewer here needs, and remakes the dead ones
    /// that viewers still wait on (from the room's home now).
    /// This node's viewers of each room it has viewers of (and 0 for those
    /// it had), towards the rooms' peaks over all nodes.
    /// Writes only what changed since the last time.
    async fn note_viewers(&self, cluster: &Cluster, now: &HashMap<i64, usize>) {
        let mut noted = self.noted.lock().await;
        let gone = noted
            .keys()
            .filter(|r| !now.contains_key(r))
            .map(|r| (*r, 0));
        let changed = now
            .iter()
            .filter(|(r, n)| noted.get(r) != Some(n))
            .map(|(r, n)| (*r, *n));
        let writes: Vec<(i64, usize)> = changed.chain(gone).collect();
        for (room, viewers) in writes {
            let n = i32::try_from(viewers).unwrap_or(i32::MAX);
            if let Err(e) = cluster.note_viewers(room, n).await {
                tracing::debug!(room, error = %e, "viewers not noted");
            }
        }
        noted.clone_from(now);
    }

    async fn tend(&self, cluster: &Cluster, media: &MediaHandle) {
        let viewed = media.viewers_by_room();
        self.note_viewers(cluster, &viewed).await;
        let held: Vec<(i64, String, PeerId)> = self
            .rooms
            .lock()
            .await
            .iter()
            .map(|(room, (home, peer))| (*room, home.clone(), *peer))
            .collect();
        // Viewers here of a room this node takes nothing for (it was the
        // room's home when they came, and is no longer): from its home now.
        for &room in viewed.keys() {
            if held.iter().any(|(r, _, _)| *r == room) {
                continue;
            }
            if let Ok(Some(home)) = cluster.holder_of(room).await {
                if home != cluster.node() {
                    if let Err(e) = self.ensure(cluster, media, &home, room).await {
                        tracing::info!(room, error = %e, "cluster: upstream not made yet");
                    }
                }
            }
        }
        for (room, home, peer) in held {
            let watched = viewed.contains_key(&room);
            let alive = media.upstream_alive(peer);
            // A room that moved: its media comes from the new home (the
            // old session would only end by its silence).
            let moved = matches!(cluster.holder_of(room).await, Ok(Some(h)) if h != home);
            if alive && watched && !moved {
                continue;
            }
            if !watched || moved {
                media.remove(peer, room).await;
                self.rooms.lock().await.remove(&room);
                if !watched {
                    continue;
                }
            }
            let now_home = match cluster.home_of(room).await {
                Ok(h) if h != cluster.node() => h,
                // This node took the room: its viewers wait for a publish
                // here.
                _ => {
                    self.rooms.lock().await.remove(&room);
                    continue;
                }
            };
            if let Err(e) = self.ensure(cluster, media, &now_home, room).await {
                tracing::info!(room, old = home, error = %e, "cluster: upstream not remade yet");
            }
        }
    }
}

pub(super) async fn tend(cluster: std::sync::Arc<Cluster>) {
    let mut every = tokio::time::interval(TEND_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Some(media) = cluster.media.get() {
            cluster.upstreams.tend(&cluster, media).await;
        }
    }
}
