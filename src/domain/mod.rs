//! Pure types and rules of a webinar room. No I/O, no framework types:
//! every value here was parsed, so an invalid one cannot exist.

pub mod polls;
pub mod qa;
pub mod reactions;
pub mod role;
pub mod room;
pub mod slug;
pub mod spreadsheet;
pub mod stats;
pub mod text;

pub use role::{Action, Role};
pub use room::{
    MaxParticipants, ParticipantName, RoomPassword, RoomSettings, RoomStatus, RoomTitle,
};
pub use slug::Slug;
pub use text::TextError;
