//! Media: a sans-IO SFU core (`core`) that owns every WebRTC peer and
//! forwards the presenter's RTP to the viewers, and one thin tokio driver
//! (`driver`) that owns the UDP socket and the clock.

pub mod batch;
pub mod core;
pub mod driver;
pub mod layers;
pub mod offer;
pub mod rewrite;
pub mod speaking;
pub mod tap;
pub mod tcp;
pub mod upstream;

/// How a datagram travels: UDP, or framed on a TCP connection.
pub use str0m::net::Protocol;

use std::fmt;

/// Which source a publisher session carries: the presenter's camera (and
/// microphone) or screen, or a speaker's camera and microphone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Camera,
    Screen,
    Speaker,
}

/// The owner of a session another node opened for its own viewers (never
/// a participant's id).
pub const NODE: i64 = -1;

/// Speakers a room's media carries at once besides the presenter (the
/// most `max_speakers` allows).
pub const SEATS: usize = 10;

impl Source {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "camera" => Some(Source::Camera),
            "screen" => Some(Source::Screen),
            _ => None,
        }
    }
}

/// A peer of the core: publisher or viewer, addressed by an opaque id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u64);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The shard (of `count`) that owns a peer: ids are allocated so that
/// this needs no lookup.
pub fn shard_of(id: PeerId, count: usize) -> usize {
    (id.0 % count.max(1) as u64) as usize
}

/// What the live room needs to know about a room's media. The engine owns
/// it; the room hears each change, and asks for it when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MediaState {
    pub room_id: i64,
    /// Grows with every change the engine makes (per shard, and a room's
    /// changes all come from its home shard): a room that asked for the
    /// state while a change was on its way can tell the older one.
    pub seq: u64,
    /// The presenter's camera/microphone is being published.
    pub live: bool,
    /// A screen is being shared.
    pub screen: bool,
    /// Not live, but the presenter's camera is on its way back: its session
    /// went silent (a network drop, a closed tab) or a new one replaced it
    /// and is still connecting (a reload). Not after a deliberate stop.
    pub reconnecting: bool,
    /// The speaker publishing in each seat (by participant): a viewer's
    /// third video section and on show seat 0's camera, and so on.
    pub seats: [Option<i64>; SEATS],
    /// Who speaks now (by participant), from the audio levels.
    pub speaker: Option<i64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    #[error("the SDP offer is not valid: {0}")]
    BadOffer(String),
    #[error("the offer has nothing we can serve: {0}")]
    Unsupported(String),
    #[error("no such media session")]
    NoSuchPeer,
}
