//! One recording file: H.264 and Opus in fragmented MP4 through the
//! `shiguredo_mp4` muxer (WebM cannot hold H.264). Each fragment (a `moof`
//! and its `mdat`) goes to disk in one write, every second and at each
//! keyframe, so after a crash the file plays up to its last whole
//! fragment, and `repair` cuts a torn one off. Closing it writes the
//! duration and the random-access index (`mfra`) that make it seekable.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::num::NonZeroU32;
use std::path::Path;

use shiguredo_mp4::bitstream::h264::{build_avc1_box, H264SampleEntryConfig, LengthSize};
use shiguredo_mp4::boxes::{AudioSampleEntryFields, DopsBox, OpusBox, SampleEntry};
use shiguredo_mp4::mux::{Fmp4SegmentMuxer, Sample};
use shiguredo_mp4::{FixedPointNumber, TrackKind};

use super::assemble::ParamSets;
use super::file::{Finished, RecordingFile, WriteError};

const VIDEO_TIMESCALE: u32 = 90_000;
const AUDIO_TIMESCALE: u32 = 48_000;
/// A fragment holds at most this much media: what a crash can cost.
const FRAGMENT_NS: u64 = 1_000_000_000;
/// The first fragment fixes the file's tracks: it waits this long for a
/// sample of each.
const TRACKS_WAIT_NS: u64 = 2_000_000_000;
/// An Opus packet of silence (20 ms): put at the start of the audio track
/// when its first sound comes after the picture's, so both start at 0.
const OPUS_SILENCE: [u8; 3] = [0xf8, 0xff, 0xfe];

struct Pending {
    ns: u64,
    ticks: u64,
    keyframe: bool,
    data: Vec<u8>,
}

struct Track {
    kind: TrackKind,
    timescale: NonZeroU32,
    entry: SampleEntry,
    /// The muxer has been given the entry.
    described: bool,
    /// Whether the track is in the file (decided by the first fragment).
    in_file: Option<bool>,
    /// Samples not yet written; the newest waits for the next, which gives
    /// its duration.
    pending: Vec<Pending>,
    last_ticks: Option<u64>,
    last_duration: u32,
    /// Where the written samples end, in ticks.
    end_ticks: u64,
}

impl Track {
    fn new(kind: TrackKind, timescale: u32, entry: SampleEntry) -> Self {
        Self {
            kind,
            timescale: NonZeroU32::new(timescale).unwrap_or(NonZeroU32::MIN),
            entry,
            described: false,
            in_file: None,
            pending: Vec::new(),
            last_ticks: None,
            last_duration: 0,
            end_ticks: 0,
        }
    }

    fn ticks(&self, ns: u64) -> u64 {
        (u128::from(ns) * u128::from(self.timescale.get()) / 1_000_000_000) as u64
    }

    fn push(&mut self, ns: u64, keyframe: bool, data: Vec<u8>) {
        // Each sample at least a millisecond after the one before: a clock
        // that moved back a little must not give two samples one time.
        let step = u64::from(self.timescale.get() / 1000).max(1);
        let ticks = match self.last_ticks {
            Some(last) => self.ticks(ns).max(last + step),
            None => self.ticks(ns),
        };
        if self.last_ticks.is_none() && ticks > 0 && self.kind == TrackKind::Audio {
            self.pending.push(Pending {
                ns: 0,
                ticks: 0,
                keyframe: true,
                data: OPUS_SILENCE.to_vec(),
            });
        }
        self.last_ticks = Some(ticks);
        self.pending.push(Pending {
            ns,
            ticks,
            keyframe,
            data,
        });
    }

    /// Samples whose durations are known (all of them at the end), with
    /// the payload they take, appended to `payload`.
    fn take(&mut self, all: bool, samples: &mut Vec<Sample>, payload: &mut Vec<u8>) -> Option<u64> {
        let keep = usize::from(!all).min(self.pending.len());
        let ready = self.pending.len() - keep;
        if ready == 0 {
            return None;
        }
        let next_ticks: Vec<Option<u64>> = (0..ready)
            .map(|i| self.pending.get(i + 1).map(|p| p.ticks))
            .collect();
        let mut last_ns = 0;
        for (p, next) in self.pending.drain(..ready).zip(next_ticks) {
            let duration = match next {
                Some(n) => u32::try_from(n - p.ticks).unwrap_or(u32::MAX),
                // The very last sample: as long as the one before.
                None if self.last_duration > 0 => self.last_duration,
                None => self.timescale.get() / 50,
            };
            self.last_duration = duration;
            self.end_ticks = p.ticks + u64::from(duration);
            samples.push(Sample {
                track_kind: self.kind,
                sample_entry: (!self.described).then(|| self.entry.clone()),
                keyframe: p.keyframe,
                timescale: self.timescale,
                duration,
                composition_time_offset: None,
                data_offset: payload.len() as u64,
                data_size: p.data.len(),
            });
            self.described = true;
            payload.extend_from_slice(&p.data);
            last_ns = p.ns;
        }
        Some(last_ns)
    }
}

pub struct Mp4File {
    file: File,
    bytes: u64,
    muxer: Fmp4SegmentMuxer,
    video: Option<Track>,
    audio: Option<Track>,
    /// The head of the file (`ftyp` and `moov`), once written.
    init: Option<Vec<u8>>,
    fragment_start: u64,
    newest: u64,
    /// The newest written sample's time.
    last: u64,
}

fn mux_error<E>(_: E) -> WriteError {
    WriteError::Mux
}

impl Mp4File {
    /// A new file at `path` with an H.264 track described by `video`, and
    /// an Opus track if `audio`.
    pub fn create(path: &Path, video: Option<&ParamSets>, audio: bool) -> Result<Self, WriteError> {
        let video = match video {
            Some(p) => {
                let config = H264SampleEntryConfig {
                    length_size: LengthSize::FourBytes,
                };
                let avc1 = build_avc1_box(
                    std::slice::from_ref(&p.sps),
                    std::slice::from_ref(&p.pps),
                    &config,
                )
                .map_err(mux_error)?;
                Some(Track::new(
                    TrackKind::Video,
                    VIDEO_TIMESCALE,
                    SampleEntry::Avc1(avc1),
                ))
            }
            None => None,
        };
        let audio = audio.then(|| {
            let opus = OpusBox {
                audio: AudioSampleEntryFields {
                    data_reference_index: AudioSampleEntryFields::DEFAULT_DATA_REFERENCE_INDEX,
                    channelcount: 2,
                    samplesize: AudioSampleEntryFields::DEFAULT_SAMPLESIZE,
                    samplerate: FixedPointNumber::new(AUDIO_TIMESCALE as u16, 0),
                },
                // WebRTC sends no pre-skip.
                dops_box: DopsBox {
                    output_channel_count: 2,
                    pre_skip: 0,
                    input_sample_rate: AUDIO_TIMESCALE,
                    output_gain: 0,
                },
                unknown_boxes: Vec::new(),
            };
            Track::new(TrackKind::Audio, AUDIO_TIMESCALE, SampleEntry::Opus(opus))
        });
        let file = File::create(path)?;
        Ok(Self {
            file,
            bytes: 0,
            muxer: Fmp4SegmentMuxer::new().map_err(mux_error)?,
            video,
            audio,
            init: None,
            fragment_start: 0,
            newest: 0,
            last: 0,
        })
    }

    /// Writes the samples whose durations are known (all at the end) as
    /// one fragment; the first fragment writes the file's head before it.
    fn flush(&mut self, all: bool) -> Result<(), WriteError> {
        let mut samples = Vec::new();
        let mut payload = Vec::new();
        let first = self.init.is_none();
        for track in [self.video.as_mut(), self.audio.as_mut()]
            .into_iter()
            .flatten()
        {
            if track.in_file == Some(false) {
                track.pending.clear();
                continue;
            }
            let taken = track.take(all, &mut samples, &mut payload);
            if first {
                track.in_file = Some(taken.is_some());
            }
            if let Some(ns) = taken {
                self.last = self.last.max(ns);
            }
        }
        if samples.is_empty() {
            return Ok(());
        }
        let moof = self
            .muxer
            .create_media_segment_metadata(&samples)
            .map_err(mux_error)?;
        let mut out = Vec::with_capacity(moof.len() + payload.len() + 1024);
        if first {
            let init = self.muxer.init_segment_bytes().map_err(mux_error)?;
            out.extend_from_slice(&init);
            self.init = Some(init);
        }
        out.extend_from_slice(&moof);
        out.extend_from_slice(&payload);
        // One write per fragment: a crash leaves whole fragments, or one
        // torn at the end that `repair` cuts off.
        self.file.write_all(&out)?;
        self.bytes += out.len() as u64;
        self.fragment_start = self.newest;
        Ok(())
    }

    /// The duration in the file's head (the movie's time scale is
    /// milliseconds), written over the zero the muxer put there.
    fn write_duration(&mut self, ms: u64) -> io::Result<()> {
        let Some(init) = &self.init else {
            return Ok(());
        };
        let Some(at) = init.windows(4).position(|w| w == b"mehd") else {
            return Ok(());
        };
        // Type, then version (0: a 32-bit duration) and flags.
        if init.get(at + 4) != Some(&0) {
            return Ok(());
        }
        let value = u32::try_from(ms).unwrap_or(u32::MAX).to_be_bytes();
        self.file.seek(SeekFrom::Start((at + 8) as u64))?;
        self.file.write_all(&value)?;
        self.file.seek(SeekFrom::End(0))?;
        Ok(())
    }
}

impl RecordingFile for Mp4File {
    fn add(
        &mut self,
        video: bool,
        ns: u64,
        data: Vec<u8>,
        keyframe: bool,
    ) -> Result<(), WriteError> {
        let track = if video {
            self.video.as_mut()
        } else {
            self.audio.as_mut()
        };
        let Some(track) = track else {
            return Ok(());
        };
        if track.in_file == Some(false) {
            return Ok(());
        }
        track.push(ns, keyframe || !video, data);
        self.newest = self.newest.max(ns);
        let ready = match self.init {
            Some(_) => {
                (video && keyframe)
                    || self.newest.saturating_sub(self.fragment_start) >= FRAGMENT_NS
            }
            // Until the first fragment, the tracks wait for each other.
            None => {
                let every = [self.video.as_ref(), self.audio.as_ref()]
                    .into_iter()
                    .flatten()
                    .all(|t| t.pending.len() >= 2);
                (every && self.newest >= FRAGMENT_NS / 2) || self.newest >= TRACKS_WAIT_NS
            }
        };
        if ready {
            self.flush(false)?;
        }
        Ok(())
    }

    fn has_audio(&self) -> bool {
        self.audio
            .as_ref()
            .is_some_and(|t| t.in_file != Some(false))
    }

    fn bytes(&self) -> u64 {
        self.bytes
    }

    fn duration_ns(&self) -> u64 {
        self.last
    }

    fn finish(mut self: Box<Self>) -> Result<Finished, WriteError> {
        self.flush(true)?;
        if self.init.is_none() {
            return Ok(Finished {
                bytes: self.bytes,
                duration_ns: 0,
            });
        }
        let end_ms = [self.video.as_ref(), self.audio.as_ref()]
            .into_iter()
            .flatten()
            .map(|t| t.end_ticks * 1000 / u64::from(t.timescale.get()))
            .max()
            .unwrap_or(0);
        self.write_duration(end_ms)?;
        // The index assumes the head written first; it is the same unless
        // the muxer learned something since (it cannot: one description
        // per track).
        let same_head = self
            .muxer
            .init_segment_bytes()
            .is_ok_and(|h| Some(h.len()) == self.init.as_ref().map(Vec::len));
        if same_head {
            let mfra = self.muxer.mfra_bytes().map_err(mux_error)?;
            self.file.write_all(&mfra)?;
            self.bytes += mfra.len() as u64;
        }
        self.file.sync_data()?;
        Ok(Finished {
            bytes: self.bytes,
            duration_ns: end_ms * 1_000_000,
        })
    }
}

/// Cuts a file a crash left off after its last whole box (a fragment torn
/// by the crash goes); its length after.
pub fn repair(path: &Path) -> io::Result<u64> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let mut at = 0u64;
    // Where the last whole fragment (or the head) ends.
    let mut good = 0u64;
    let mut header = [0u8; 16];
    while at + 8 <= len {
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut header[..8])?;
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        let size = match size32 {
            0 => len - at,
            1 => {
                if at + 16 > len {
                    break;
                }
                file.read_exact(&mut header[8..16])?;
                let mut wide = [0u8; 8];
                wide.copy_from_slice(&header[8..16]);
                u64::from_be_bytes(wide)
            }
            n => u64::from(n),
        };
        if size < 8 || at + size > len {
            break;
        }
        at += size;
        // A fragment is whole with its media; the head boxes stand alone.
        if &kind != b"moof" {
            good = at;
        }
    }
    if good < len {
        file.set_len(good)?;
        file.sync_data()?;
    }
    Ok(good)
}

#[cfg(test)]
mod tests {
    use super::super::assemble::h264::fixtures::{PPS, SPS_320};
    use super::*;

    /// The file's top-level boxes: type and size.
    fn boxes(data: &[u8]) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 8 <= data.len() {
            let size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
            out.push((
                String::from_utf8_lossy(&data[at + 4..at + 8]).into_owned(),
                size,
            ));
            if size < 8 {
                break;
            }
            at += size;
        }
        out
    }

    fn frame(key: bool) -> Vec<u8> {
        let nal = [if key { 0x65 } else { 0x41 }, 0x88, 1, 2, 3];
        let mut v = (nal.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(&nal);
        v
    }

    fn params() -> ParamSets {
        ParamSets {
            sps: SPS_320.to_vec(),
            pps: PPS.to_vec(),
        }
    }

    #[test]
    fn fragments_go_to_disk_as_they_fill_and_the_end_adds_the_index() {
        let dir = std::env::temp_dir().join(format!("podium-mp4-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.mp4");
        let mut f = Box::new(Mp4File::create(&path, Some(&params()), true).unwrap());
        // Three seconds, as they come: 30 fps video with a keyframe each
        // second, 20 ms audio starting 10 ms after the picture.
        let mut frames: Vec<(u64, bool)> = (0..90u64).map(|i| (i * 33_333_333, true)).collect();
        frames.extend((0..150u64).map(|i| (10_000_000 + i * 20_000_000, false)));
        frames.sort();
        for (ns, video) in frames {
            if video {
                let key = ns % 1_000_000_000 < 33_000_000;
                f.add(true, ns, frame(key), key).unwrap();
            } else {
                f.add(false, ns, vec![0xfc, 1, 2], true).unwrap();
            }
        }
        assert!(f.has_audio());
        let on_disk = std::fs::metadata(&path).unwrap().len();
        assert!(on_disk > 0, "fragments are on disk before the end");
        assert_eq!(f.bytes(), on_disk);
        let done = f.finish().unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(done.bytes, data.len() as u64);
        assert!((2_990..=3_040).contains(&(done.duration_ns / 1_000_000)));
        let kinds: Vec<String> = boxes(&data).into_iter().map(|(k, _)| k).collect();
        assert_eq!(&kinds[..3], ["ftyp", "moov", "moof"]);
        assert_eq!(kinds.last().map(String::as_str), Some("mfra"));
        assert!(
            kinds.iter().filter(|k| *k == "moof").count() >= 3,
            "{kinds:?}"
        );
        // The head says how long the file is: about three seconds.
        let at = data.windows(4).position(|w| w == b"mehd").unwrap();
        let ms = u32::from_be_bytes(data[at + 8..at + 12].try_into().unwrap());
        assert!((2990..=3040).contains(&ms), "{ms} ms");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn repair_cuts_a_torn_fragment_and_keeps_the_whole_ones() {
        let dir = std::env::temp_dir().join(format!("podium-mp4-repair-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.mp4");
        let mut f = Box::new(Mp4File::create(&path, Some(&params()), false).unwrap());
        for i in 0..100u64 {
            f.add(true, i * 33_333_333, frame(i % 30 == 0), i % 30 == 0)
                .unwrap();
        }
        // The crash: the file as it is, then a torn fragment after it.
        drop(f);
        let whole = std::fs::read(&path).unwrap();
        let mut starts = Vec::new();
        let mut at = 0;
        for (kind, size) in boxes(&whole) {
            starts.push((kind, at));
            at += size;
        }
        let (_, moof) = starts.iter().rev().find(|(k, _)| k == "moof").unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(&whole[*moof..*moof + 100]);
        std::fs::write(&path, &torn).unwrap();
        assert_eq!(repair(&path).unwrap(), whole.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        // A file that is whole stays as it is.
        assert_eq!(repair(&path).unwrap(), whole.len() as u64);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
