//! A room's media taken from its home node (several nodes): this node's
//! end of a WHEP session with the home, made by this node's core. Its
//! sections are the ones a full viewer asks for (the microphone and
//! camera, the screen, each seat's audio and video), each video offered as
//! simulcast (`RIDS`), so the home sends each source once with every layer;
//! here each section stands for a source of the room, as a publisher
//! would, and local viewers are fed from it and choose their layers.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpPendingOffer;
use str0m::media::{Direction, MediaKind, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::Rtc;

use super::{PeerId, SEATS};

/// The rids of each upstream video section, lowest first: the home sends
/// every layer of a source, each on the rid of its rank (a source with
/// fewer layers fills the top ones), so this node chooses per viewer.
pub const RIDS: [&str; 3] = ["l0", "l1", "l2"];

/// A screen is taken as shared while its packets keep coming.
const SHARING_FOR: Duration = Duration::from_millis(1500);

pub(super) struct Upstream {
    /// The offer, until the home's answer comes.
    pub pending: Option<SdpPendingOffer>,
    /// The room's sources here: the camera (and microphone), the screen,
    /// the seats. Ids of their own, never a peer's.
    pub camera: PeerId,
    pub screen: PeerId,
    pub seats: [PeerId; SEATS],
    /// Each section, in the offer's order, and the source it carries.
    pub sections: Vec<(Mid, MediaKind, PeerId)>,
    /// The last keyframe request sent up for each source and layer.
    pub last_pli: Vec<(PeerId, Option<Rid>, Instant)>,
    pub last_screen: Option<Instant>,
}

impl Upstream {
    /// Adds the sections to `rtc` and makes the offer; `id` gives a new
    /// source id each call.
    pub fn offer(rtc: &mut Rtc, mut id: impl FnMut() -> PeerId) -> Option<(Self, String)> {
        let (camera, screen) = (id(), id());
        let seats = [(); SEATS].map(|_| id());
        let mut api = rtc.sdp_api();
        let mut sections = Vec::new();
        let mut add = |kind, source| {
            let simulcast = (kind == MediaKind::Video).then(|| {
                let mut s = Simulcast::new();
                for rid in RIDS {
                    s.add_recv_layer(SimulcastLayer::new(rid));
                }
                s
            });
            let mid = api.add_media(kind, Direction::RecvOnly, None, None, simulcast);
            sections.push((mid, kind, source));
        };
        add(MediaKind::Audio, camera);
        add(MediaKind::Video, camera);
        add(MediaKind::Video, screen);
        for seat in seats {
            add(MediaKind::Audio, seat);
            add(MediaKind::Video, seat);
        }
        let (offer, pending) = api.apply()?;
        let up = Upstream {
            pending: Some(pending),
            camera,
            screen,
            seats,
            sections,
            last_pli: Vec::new(),
            last_screen: None,
        };
        Some((up, offer.to_sdp_string()))
    }

    /// The source a section carries.
    pub fn source(&self, mid: Mid) -> Option<PeerId> {
        self.sections
            .iter()
            .find(|(m, _, _)| *m == mid)
            .map(|(_, _, s)| *s)
    }

    /// The video sections of a source.
    pub fn video_of(&self, source: PeerId) -> impl Iterator<Item = Mid> + '_ {
        self.sections
            .iter()
            .filter(move |(_, k, s)| *k == MediaKind::Video && *s == source)
            .map(|(m, _, _)| *m)
    }

    pub fn sources(&self) -> impl Iterator<Item = PeerId> + '_ {
        [self.camera, self.screen].into_iter().chain(self.seats)
    }

    pub fn sharing(&self, now: Instant) -> bool {
        self.last_screen
            .is_some_and(|t| now.saturating_duration_since(t) < SHARING_FOR)
    }
}

/// The UDP host candidates of an answer: where the home's media is.
pub fn candidates(answer: &str) -> Vec<SocketAddr> {
    answer
        .lines()
        .filter_map(|l| l.strip_prefix("a=candidate:"))
        .filter_map(|c| {
            let f: Vec<&str> = c.split_whitespace().collect();
            // foundation component transport priority address port typ kind
            if f.len() < 8 || !f[2].eq_ignore_ascii_case("udp") {
                return None;
            }
            format!("{}:{}", f[4], f[5])
                .parse()
                .ok()
                .or_else(|| format!("[{}]:{}", f[4], f[5]).parse().ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::candidates;

    #[test]
    fn an_answers_udp_candidates_are_where_its_media_is() {
        let answer = "v=0\r\na=candidate:1 1 udp 2130706175 10.0.0.11 7100 typ host\r\n\
                      a=candidate:2 1 tcp 2130706175 10.0.0.11 7100 typ host tcptype passive\r\n\
                      a=candidate:3 1 UDP 2130706175 ::1 7101 typ host\r\n";
        assert_eq!(
            candidates(answer),
            [
                "10.0.0.11:7100".parse().unwrap(),
                "[::1]:7101".parse().unwrap()
            ]
        );
    }
}
