//! One recording file: VP8 and Opus in WebM through libwebm (the `webm`
//! crate). Frames go to the file as they come (libwebm writes each into the
//! open cluster at once and starts a cluster at each keyframe), so after a
//! crash the file plays up to its last frames; closing it writes the cues
//! and the duration that make it seekable.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use super::file::{Finished, RecordingFile, WriteError};
use webm::mux::{
    AudioCodecId, AudioTrack, Segment, SegmentBuilder, Track, VideoCodecId, VideoTrack, Writer,
};

/// Frames wait this long (in media time) for later-arriving frames of the
/// other track, so both go into the file in time order.
const REORDER_NS: u64 = 300_000_000;
/// WebM's time unit here (libwebm's default timecode scale).
const TICK_NS: u64 = 1_000_000;

/// What the file under the muxer has seen, read beside the muxer.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Written>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Written> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Default)]
struct Written {
    /// The file's length.
    len: u64,
    error: Option<io::ErrorKind>,
}

/// The file under the muxer, noting its length and the first error.
struct Disk {
    file: File,
    pos: u64,
    written: Shared,
}

impl Disk {
    fn note<T>(&self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r {
            self.written.lock().error.get_or_insert(e.kind());
        }
        r
    }
}

impl Write for Disk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.file.write(buf);
        let n = self.note(r)?;
        self.pos += n as u64;
        let mut w = self.written.lock();
        w.len = w.len.max(self.pos);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.file.flush();
        self.note(r)
    }
}

impl Seek for Disk {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let r = self.file.seek(to);
        self.pos = self.note(r)?;
        Ok(self.pos)
    }
}

/// Opus's identification header (RFC 7845 5.1), which WebM carries as the
/// track's codec private data: stereo at 48 kHz, no pre-skip (WebRTC sends
/// none).
const OPUS_HEAD: [u8; 19] = [
    b'O', b'p', b'u', b's', b'H', b'e', b'a', b'd', 1, 2, 0, 0, 0x80, 0xbb, 0, 0, 0, 0, 0,
];

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    ns: u64,
    order: u64,
    video: bool,
    keyframe: bool,
    data: Vec<u8>,
}

pub struct WebmFile {
    segment: Option<Segment<Disk>>,
    video: Option<VideoTrack>,
    audio: Option<AudioTrack>,
    written: Shared,
    pending: BinaryHeap<Reverse<Pending>>,
    order: u64,
    /// The newest frame's time, and the last written (of any track, and
    /// of each).
    newest: u64,
    last: u64,
    last_video: Option<u64>,
    last_audio: Option<u64>,
}

fn mux_error(written: &Shared) -> WriteError {
    match written.lock().error {
        Some(io::ErrorKind::StorageFull) => WriteError::Full,
        Some(kind) => WriteError::Io(kind),
        None => WriteError::Mux,
    }
}

impl WebmFile {
    /// A new file at `path` with a VP8 track of `video`'s size, and an Opus
    /// track if `audio`.
    pub fn create(path: &Path, video: Option<(u32, u32)>, audio: bool) -> Result<Self, WriteError> {
        let file = File::create(path).map_err(|e| match e.kind() {
            io::ErrorKind::StorageFull => WriteError::Full,
            kind => WriteError::Io(kind),
        })?;
        let written = Shared::default();
        let disk = Disk {
            file,
            pos: 0,
            written: written.clone(),
        };
        let fail = |_| mux_error(&written);
        let mut builder = SegmentBuilder::new(Writer::new(disk))
            .map_err(fail)?
            .set_writing_app("Podium")
            .map_err(fail)?;
        let mut video_track = None;
        if let Some((w, h)) = video {
            let (b, t) = builder
                .add_video_track(w, h, VideoCodecId::VP8, None)
                .map_err(fail)?;
            builder = b;
            video_track = Some(t);
        }
        let mut audio_track = None;
        if audio {
            let (b, t) = builder
                .add_audio_track(48_000, 2, AudioCodecId::Opus, None)
                .map_err(fail)?;
            builder = b.set_codec_private(t, &OPUS_HEAD).map_err(fail)?;
            audio_track = Some(t);
        }
        Ok(Self {
            segment: Some(builder.build()),
            video: video_track,
            audio: audio_track,
            written,
            pending: BinaryHeap::new(),
            order: 0,
            newest: 0,
            last: 0,
            last_video: None,
            last_audio: None,
        })
    }

    fn write_older_than(&mut self, limit: u64) -> Result<(), WriteError> {
        while self.pending.peek().is_some_and(|Reverse(p)| p.ns <= limit) {
            let Some(Reverse(p)) = self.pending.pop() else {
                break;
            };
            // Time only moves on in a file, across its tracks, and each
            // track's frames are at least a tick (1 ms) apart: a clock that
            // moved back a little (the sender's first report) must not
            // give two frames one time.
            let own = if p.video {
                &mut self.last_video
            } else {
                &mut self.last_audio
            };
            let ns = p.ns.max(self.last).max(own.map_or(0, |t| t + TICK_NS));
            *own = Some(ns);
            let track = if p.video {
                self.video.map(|t| t.track_number())
            } else {
                self.audio.map(|t| t.track_number())
            };
            let (Some(segment), Some(track)) = (self.segment.as_mut(), track) else {
                continue;
            };
            segment
                .add_frame(track, &p.data, ns, p.keyframe)
                .map_err(|_| mux_error(&self.written))?;
            self.last = ns;
        }
        Ok(())
    }
}

impl RecordingFile for WebmFile {
    fn add(
        &mut self,
        video: bool,
        ns: u64,
        data: Vec<u8>,
        keyframe: bool,
    ) -> Result<(), WriteError> {
        if (video && self.video.is_none()) || (!video && self.audio.is_none()) {
            return Ok(());
        }
        self.order += 1;
        self.newest = self.newest.max(ns);
        self.pending.push(Reverse(Pending {
            ns,
            order: self.order,
            video,
            keyframe: keyframe || !video,
            data,
        }));
        self.write_older_than(self.newest.saturating_sub(REORDER_NS))
    }

    fn has_audio(&self) -> bool {
        self.audio.is_some()
    }

    fn bytes(&self) -> u64 {
        self.written.lock().len
    }

    fn duration_ns(&self) -> u64 {
        self.last
    }

    /// Writes what waits, the cues and the duration, and closes the file;
    /// its length.
    fn finish(mut self: Box<Self>) -> Result<Finished, WriteError> {
        let flushed = self.write_older_than(u64::MAX);
        let done = |f: &Self| Finished {
            bytes: f.bytes(),
            duration_ns: f.last,
        };
        let Some(segment) = self.segment.take() else {
            return flushed.map(|_| done(&self));
        };
        let closed = segment.finalize(None);
        flushed?;
        match closed {
            Ok(writer) => {
                let mut disk = writer.into_inner();
                disk.flush().map_err(|e| WriteError::Io(e.kind()))?;
                disk.file
                    .sync_data()
                    .map_err(|e| WriteError::Io(e.kind()))?;
                Ok(done(&self))
            }
            Err(_) => Err(mux_error(&self.written)),
        }
    }
}

impl Drop for WebmFile {
    fn drop(&mut self) {
        // A file dropped unfinished (after a write error) is closed as far
        // as it goes; what is on disk stays playable either way.
        if let Some(segment) = self.segment.take() {
            let _ = segment.finalize(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_out_of_order_across_tracks_go_in_in_time_order() {
        let dir = std::env::temp_dir().join(format!("podium-webm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.webm");
        let mut f = WebmFile::create(&path, Some((320, 240)), true).unwrap();
        // A fake keyframe (the muxer does not decode), then audio that
        // arrives late.
        f.add(
            true,
            0,
            vec![0x10, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 1, 0xf0, 0],
            true,
        )
        .unwrap();
        f.add(true, 100_000_000, vec![0x11, 0, 0], false).unwrap();
        f.add(false, 20_000_000, vec![0xfc, 0xff, 0xfe], true)
            .unwrap();
        f.add(true, 500_000_000, vec![0x11, 0, 0], false).unwrap();
        let bytes = Box::new(f).finish().unwrap().bytes;
        assert_eq!(bytes, std::fs::metadata(&path).unwrap().len());
        let data = std::fs::read(&path).unwrap();
        assert_eq!(&data[..4], &[0x1a, 0x45, 0xdf, 0xa3], "an EBML file");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
