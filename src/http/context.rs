//! What every handler shares: the store, the rooms, the media engine,
//! password hashing, rate limits and the settings that shape responses.

use std::net::IpAddr;
use std::sync::Arc;

use super::rate_limit::RateLimits;
use crate::cluster::wire::MediaEffect;
use crate::config::Config;
use crate::http::error::ApiError;
use crate::live::{Act, Done, Hub, Member};
use crate::media::driver::MediaHandle;
use crate::passwords::Passwords;
use crate::store::Store;

pub struct AppContext {
    pub store: Store,
    pub hub: Hub,
    pub media: MediaHandle,
    pub passwords: Passwords,
    pub limits: RateLimits,
    pub public_url: String,
    pub trusted_proxies: Vec<IpAddr>,
    /// Logs show client networks, not addresses.
    pub privacy: bool,
    /// Days an ended room keeps its personal data.
    pub retention_days: u32,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub metrics_token: Option<String>,
    pub default_max_participants: u32,
    pub ws_sends_per_second: u32,
    pub ws_ping: std::time::Duration,
    /// TURN servers for media sessions (checked at start-up).
    pub turn: Option<crate::turn::TurnServers>,
    pub recordings_dir: std::path::PathBuf,
    /// This node's name (`--node-id`, or hostname:port).
    pub node: String,
}

impl AppContext {
    pub fn new(
        config: &Config,
        store: Store,
        hub: Hub,
        media: MediaHandle,
        public_url: String,
        node: String,
    ) -> Arc<Self> {
        Arc::new(Self {
            hub,
            media,
            store,
            passwords: Passwords::new(config.hash_concurrency()),
            limits: RateLimits::new(&config.limits),
            public_url: public_url.trim_end_matches('/').to_owned(),
            trusted_proxies: config.trusted_proxy.clone(),
            privacy: config.privacy,
            retention_days: config.retention_days,
            metrics: crate::metrics::install(),
            metrics_token: config.metrics_token.clone(),
            default_max_participants: config.limits.default_max_participants,
            ws_sends_per_second: config.limits.ws_sends_per_second.max(1),
            ws_ping: std::time::Duration::from_secs(config.limits.ws_ping_secs.max(1)),
            turn: config.turn().unwrap_or_default(),
            recordings_dir: config.recordings_dir(),
            node,
        })
    }

    /// Asks the room to act, then ends the media sessions the act ends:
    /// all of them when the room ends, a participant's when removed. Both
    /// REST and WebSocket come through here.
    pub async fn act(&self, room: i64, member: Member, act: Act) -> Result<Done, ApiError> {
        enum Ends {
            Room,
            SessionsOf(i64),
            PublishingOf(i64),
        }
        let ends = match act {
            Act::End => Some(Ends::Room),
            Act::Kick { participant_id } => Some(Ends::SessionsOf(participant_id)),
            // Off stage, their camera and microphone end at once; they
            // keep watching.
            Act::RemoveFromStage { participant_id } => Some(Ends::PublishingOf(participant_id)),
            _ => None,
        };
        let settings = matches!(act, Act::Settings(_) | Act::RecordingStopped { .. });
        let result = self.hub.act(room, member, act).await?;
        // Every node's media sessions of the room hear it too.
        let tell = |effect| {
            if let Some(cluster) = self.hub.cluster() {
                cluster.tell_all(room, effect);
            }
        };
        // The media engine records what the room's setting says.
        if let (true, Done::Room(view)) = (settings, &result) {
            self.media.set_recording(room, view.settings.recording);
            tell(MediaEffect::Record(view.settings.recording));
        }
        match &ends {
            Some(Ends::Room) => tell(MediaEffect::EndRoom),
            Some(Ends::SessionsOf(p)) => tell(MediaEffect::EndSessionsOf(*p)),
            Some(Ends::PublishingOf(p)) if result == Done::Unstaged => {
                tell(MediaEffect::EndPublishingOf(*p))
            }
            _ => {}
        }
        match ends {
            Some(Ends::Room) => self.media.end_room(room).await,
            Some(Ends::SessionsOf(participant)) => {
                for peer in self.media.sessions_of(room, participant) {
                    self.media.remove(peer, room).await;
                }
            }
            // Only when a speaker really went off stage: someone who was
            // not on it (the presenter, say) keeps what they publish.
            Some(Ends::PublishingOf(participant)) if result == Done::Unstaged => {
                for peer in self.media.publishing_sessions_of(room, participant) {
                    self.media.remove(peer, room).await;
                }
            }
            Some(Ends::PublishingOf(_)) => {}
            None => {}
        }
        Ok(result)
    }
}
