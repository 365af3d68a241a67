//! What the recorder asks of a recording file, whichever its container.

use std::io;

/// Why a file could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("the disk is full")]
    Full,
    #[error("the file could not be written: {0}")]
    Io(io::ErrorKind),
    #[error("the muxer refused the frame")]
    Mux,
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::StorageFull => WriteError::Full,
            kind => WriteError::Io(kind),
        }
    }
}

/// A closed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    pub bytes: u64,
    pub duration_ns: u64,
}

/// One recording file being written: frames go to disk as they come, so
/// after a crash it plays up to its last seconds.
pub trait RecordingFile: Send {
    /// A frame at `ns` from the file's start; frames of a track the file
    /// lacks are ignored.
    fn add(
        &mut self,
        video: bool,
        ns: u64,
        data: Vec<u8>,
        keyframe: bool,
    ) -> Result<(), WriteError>;
    fn has_audio(&self) -> bool;
    /// The file's length so far.
    fn bytes(&self) -> u64;
    /// The media time written so far.
    fn duration_ns(&self) -> u64;
    /// Writes what waits and the index that makes it seekable, and closes
    /// the file; its length and the media time it holds.
    fn finish(self: Box<Self>) -> Result<Finished, WriteError>;
}
