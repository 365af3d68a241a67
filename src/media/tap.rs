//! What the media core hands to the recorder: every packet the publishers
//! of a recording room send, as it arrived, and when a publisher's session
//! ends. The core only copies references; files are the recorder's.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use str0m::format::Codec;
use str0m::media::{MediaKind, Rid};

use super::{PeerId, Source};

/// One publisher packet of a recording room.
#[derive(Debug, Clone)]
pub struct Tap {
    pub room: i64,
    pub publisher: PeerId,
    /// The participant publishing (0: the host key).
    pub owner: i64,
    pub source: Source,
    pub kind: MediaKind,
    pub codec: Codec,
    pub clock_rate: u32,
    /// The simulcast layer (`None`: the source's only one).
    pub rid: Option<Rid>,
    /// Extended sequence number.
    pub seq: u64,
    /// RTP timestamp.
    pub ts: u32,
    pub marker: bool,
    pub arrival: Instant,
    /// The sender's last report: its wall clock at an RTP timestamp, which
    /// lines up the sources of one sender.
    pub sender: Option<(SystemTime, u32)>,
    pub payload: Arc<[u8]>,
}

#[derive(Debug, Clone)]
pub enum TapEvent {
    Packet(Box<Tap>),
    /// A publisher's session ended: its files are complete.
    Ended(PeerId),
    /// Recording was switched on in a room (again).
    Started(i64),
}
