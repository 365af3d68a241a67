//! The home side: asks from other nodes for the rooms this node runs,
//! each answered by the room's task here.

use std::sync::Arc;

use futures_util::StreamExt;

use super::wire::{Answer, Ask, MediaEffect, ToAll, ToHome};
use super::{encode, Cluster, MEDIA_EFFECTS};
use crate::live::{Hub, RoomError};

pub(super) async fn asks(cluster: Arc<Cluster>, hub: Hub) {
    let subject = cluster.asks_subject(&cluster.node);
    let Some(mut sub) = cluster.subscribe(subject).await else {
        return;
    };
    while let Some(msg) = sub.next().await {
        let ask: ToHome = match serde_json::from_slice(&msg.payload) {
            Ok(ask) => ask,
            Err(e) => {
                tracing::warn!(error = %e, "cluster: unreadable ask");
                continue;
            }
        };
        // Each ask waits for its room, never for another room's.
        let (cluster, hub) = (cluster.clone(), hub.clone());
        tokio::spawn(async move {
            let answer = answer(&hub, ask).await;
            if let (Some(reply), Some(answer)) = (msg.reply, answer) {
                if let Err(e) = cluster.client.publish(reply, encode(&answer)).await {
                    tracing::warn!(error = %e, "cluster: answer not sent");
                }
            }
        });
    }
}

/// Applies to this node's sessions what another node's action did to a
/// room's media.
pub(super) async fn media_effects(cluster: Arc<Cluster>) {
    let Some(mut sub) = cluster.subscribe(MEDIA_EFFECTS.to_owned()).await else {
        return;
    };
    while let Some(msg) = sub.next().await {
        let Ok(ToAll { room, from, effect }) = serde_json::from_slice(&msg.payload) else {
            tracing::warn!("cluster: unreadable media effect");
            continue;
        };
        let Some(media) = cluster.media.get().filter(|_| from != cluster.node) else {
            continue;
        };
        match effect {
            MediaEffect::EndRoom => media.end_room(room).await,
            MediaEffect::EndSessionsOf(p) => {
                for peer in media.sessions_of(room, p) {
                    media.remove(peer, room).await;
                }
            }
            MediaEffect::EndPublishingOf(p) => {
                for peer in media.publishing_sessions_of(room, p) {
                    media.remove(peer, room).await;
                }
            }
            MediaEffect::Record(on) => media.set_recording(room, on),
        }
    }
}

async fn answer(hub: &Hub, ToHome { room, from, ask }: ToHome) -> Option<Answer> {
    let refused = |e: RoomError| match e {
        RoomError::Moved => Answer::NotHome,
        e => Answer::Refused(e.into()),
    };
    Some(match ask {
        Ask::Connect { token, member } => match hub.connect_from(room, member, from, token).await {
            Ok(()) => Answer::Taken,
            Err(e) => refused(e),
        },
        Ask::Act { member, act } => match hub.act_here(room, member, act).await {
            Ok(done) => Answer::Done(done.into()),
            Err(e) => refused(e),
        },
        Ask::Disconnect { epoch, conn } => {
            hub.disconnect_from(room, epoch, conn);
            return None;
        }
        Ask::Keep { conns } => match hub.keep(room, from, conns).await {
            Some(kept) => Answer::Kept {
                epoch: kept.epoch,
                seq: kept.seq,
                unknown: kept.unknown,
            },
            None => Answer::NotHome,
        },
        Ask::Media(state) => match hub.media_here(state).await {
            Ok(()) => Answer::Taken,
            Err(e) => refused(e),
        },
        Ask::Upstream { offer } => match hub.upstream_here(room, offer).await {
            Ok(answer) => Answer::Sdp(answer),
            Err(e) => refused(e),
        },
        Ask::Http(ask) => {
            let here = hub.cluster().and_then(|c| c.http_addr());
            match here {
                Some(addr) => super::forward::serve(addr, ask).await,
                None => Answer::NotHome,
            }
        }
    })
}
