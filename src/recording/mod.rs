//! The recorder: every published source of a recording room, written to
//! files on a thread of its own, off the media shards. The media core
//! hands over the packets (`media::tap`); here they become frames
//! (`assemble`), get times on one clock (`clock`) and go into files, as
//! they came, without transcoding: VP8 with Opus in WebM (`webm_file`),
//! H.264 with Opus in fragmented MP4 (`mp4_file`). One file per source,
//! and a new one when its picture size (or H.264's parameter sets)
//! change, each with a row in `recordings`.

pub mod assemble;
pub mod clock;
pub mod file;
pub mod mp4_file;
pub mod webm_file;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use str0m::format::Codec;
use str0m::media::{MediaKind, Rid};

use crate::media::tap::{Tap, TapEvent};
use crate::media::{PeerId, Source};
use crate::store::recordings::{self, NewRecording};
use crate::store::PgPool;
use assemble::{H264Frames, ParamSets, Vp8Frames};
use file::{RecordingFile, WriteError};
use mp4_file::Mp4File;
use webm_file::WebmFile;

/// Packets waiting for the recorder: about ten seconds of a room's media.
/// A recorder that falls this far behind (a disk that stalls) loses
/// packets rather than slowing the media.
const QUEUE: usize = 16_384;
/// How often a file's progress is stored (a crash loses at most this much
/// of what the row says, never of the file).
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// A recorded picture gets a keyframe this often, so the replay can seek
/// (publishers send keyframes only when asked).
const KEYFRAME_EVERY: Duration = Duration::from_secs(5);
/// Simulcast: the layers' rates are compared this long before the best is
/// chosen for the file.
const CHOOSE_AFTER: Duration = Duration::from_millis(500);
/// A source silent this long is over.
const IDLE: Duration = Duration::from_secs(5);
/// Audio alone this long: the source has no picture, and the file is audio
/// only.
const AUDIO_ONLY_AFTER: Duration = Duration::from_secs(2);
/// Audio packets held for a file not yet open (a second of 20 ms packets).
const EARLY_AUDIO: usize = 50;

/// A recording's container, as its file is named and served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Webm,
    Mp4,
}

impl Container {
    fn content_type(self) -> &'static str {
        match self {
            Container::Webm => "video/webm",
            Container::Mp4 => "video/mp4",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Container::Webm => "webm",
            Container::Mp4 => "mp4",
        }
    }
}

/// What a video file is opened for: its picture size and, for H.264, the
/// parameter sets its track description holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Picture {
    size: (u32, u32),
    params: Option<std::sync::Arc<ParamSets>>,
}

/// One layer's packets to frames, by codec.
enum Assembler {
    Vp8(Vp8Frames),
    H264(H264Frames),
}

impl Assembler {
    fn push(
        &mut self,
        seq: u64,
        ts: u32,
        marker: bool,
        payload: std::sync::Arc<[u8]>,
    ) -> Vec<assemble::Frame> {
        match self {
            Assembler::Vp8(f) => f.push(seq, ts, marker, payload),
            Assembler::H264(f) => f.push(seq, ts, marker, payload),
        }
    }
}

/// Where files go and how much a room may fill.
#[derive(Debug, Clone)]
pub struct Settings {
    pub dir: PathBuf,
    /// Per room, over all its files.
    pub max_bytes: u64,
}

/// Why a room's recording stopped by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Stopped {
    DiskFull,
    Limit,
    WriteFailed,
}

impl Stopped {
    pub fn code(self) -> &'static str {
        match self {
            Stopped::DiskFull => "disk_full",
            Stopped::Limit => "limit",
            Stopped::WriteFailed => "write_failed",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Stopped::DiskFull => "Recording stopped: the server's disk is full. The session goes on; what was recorded so far is kept.",
            Stopped::Limit => "Recording stopped: this room reached its recording size limit. The session goes on; what was recorded so far is kept.",
            Stopped::WriteFailed => "Recording stopped: the server could not write the recording. The session goes on; what was recorded so far is kept.",
        }
    }
}

enum Msg {
    Tap(TapEvent),
    Stop(std::sync::mpsc::SyncSender<()>),
}

/// The media engine's way to the recorder.
#[derive(Clone)]
pub struct Taps(SyncSender<Msg>);

impl Taps {
    pub fn send(&self, event: TapEvent) {
        if let Err(TrySendError::Full(_)) = self.0.try_send(Msg::Tap(event)) {
            crate::metrics::recording_error("dropped");
        }
    }
}

/// The recorder's handle: stopping it closes every open file.
#[derive(Clone)]
pub struct Recorder {
    tx: SyncSender<Msg>,
    thread: std::sync::Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Recorder {
    /// Repairs what a crash left open, then starts the recorder thread.
    /// `stopped` is told when a room's recording stops by itself,
    /// `keyframe` asks a publisher for a keyframe (room, session).
    pub fn spawn(
        settings: Settings,
        pool: PgPool,
        stopped: impl Fn(i64, Stopped) + Send + 'static,
        keyframe: impl Fn(i64, PeerId) + Send + 'static,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(&settings.dir)?;
        repair(&pool, &settings.dir);
        let (tx, rx) = sync_channel(QUEUE);
        let state = State {
            settings,
            pool,
            stopped: Box::new(stopped),
            keyframe: Box::new(keyframe),
            publishers: HashMap::new(),
            rooms: HashMap::new(),
            epoch: (Instant::now(), SystemTime::now()),
        };
        let thread = std::thread::Builder::new()
            .name("podium-recorder".into())
            .spawn(move || state.run(rx))?;
        Ok(Self {
            tx,
            thread: std::sync::Arc::new(std::sync::Mutex::new(Some(thread))),
        })
    }

    pub fn taps(&self) -> Taps {
        Taps(self.tx.clone())
    }

    /// Closes every file and ends the thread (the server stops): nothing
    /// of it runs while the process exits.
    pub fn stop(&self) {
        let (done, wait) = sync_channel(1);
        if self.tx.send(Msg::Stop(done)).is_ok()
            && wait.recv_timeout(Duration::from_secs(10)).is_ok()
        {
            let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
    }
}

/// Rows a crash left `recording`: their files play up to the crash (frames
/// were on disk as they came), so they end where their last progress said,
/// with the bytes the file really has.
fn repair(pool: &PgPool, dir: &Path) {
    let Ok(mut conn) = pool.get() else {
        tracing::warn!("recordings not repaired: no database connection");
        return;
    };
    let open = match recordings::unfinished(&mut conn) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "recordings not repaired");
            return;
        }
    };
    for r in open {
        let path = dir.join(&r.file);
        if r.content_type == Container::Mp4.content_type() {
            if let Err(e) = mp4_file::repair(&path) {
                tracing::warn!(recording = r.id, error = %e, "recording file not repaired");
            }
        }
        let bytes = std::fs::metadata(&path).map_or(0, |m| m.len() as i64);
        let ended = r.started_at + chrono::Duration::milliseconds(r.duration_ms);
        match recordings::finish(&mut conn, r.id, "repaired", ended, r.duration_ms, bytes) {
            Ok(()) => tracing::info!(
                recording = r.id,
                bytes,
                duration_ms = r.duration_ms,
                "recording repaired after a crash"
            ),
            Err(e) => tracing::warn!(recording = r.id, error = %e, "recording not repaired"),
        }
    }
}

/// A file being written.
struct Open {
    id: i64,
    file: Box<dyn RecordingFile>,
    /// The wall time of its first frame (media time 0).
    start: SystemTime,
    picture: Option<Picture>,
    path: PathBuf,
    progress_at: Instant,
    /// What the room's total has counted of this file.
    counted: u64,
}

/// One publisher session being recorded.
struct Publisher {
    room: i64,
    owner: i64,
    source: Source,
    sender: clock::Sender,
    audio_clock: clock::Track,
    video_clocks: HashMap<Option<Rid>, clock::Track>,
    frames: HashMap<Option<Rid>, Assembler>,
    /// Simulcast: bytes per layer since the first video packet, then the
    /// layer the file holds.
    layer_bytes: HashMap<Option<Rid>, u64>,
    first_video: Option<Instant>,
    first_audio: Option<Instant>,
    layer: Option<Option<Rid>>,
    /// Frames of each layer until one is chosen, and audio until a file
    /// opens.
    early: HashMap<Option<Rid>, Vec<(SystemTime, assemble::Frame)>>,
    early_audio: Vec<(SystemTime, Vec<u8>)>,
    file: Option<Open>,
    heard: Instant,
    keyframe_asked: Instant,
    /// Not recordable (another codec): said once.
    skipped: bool,
}

#[derive(Default)]
struct Room {
    /// Bytes its files hold (looked up when its first file opens, then
    /// counted here).
    bytes: Option<u64>,
    /// Stopped by itself (full disk, limit): nothing more until recording
    /// is switched on again.
    stopped: bool,
}

struct State {
    settings: Settings,
    pool: PgPool,
    stopped: Box<dyn Fn(i64, Stopped) + Send>,
    keyframe: Box<dyn Fn(i64, PeerId) + Send>,
    publishers: HashMap<PeerId, Publisher>,
    rooms: HashMap<i64, Room>,
    /// One instant on both clocks: arrival instants to wall time.
    epoch: (Instant, SystemTime),
}

fn utc(t: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(t)
}

fn since(t: SystemTime, start: SystemTime) -> u64 {
    t.duration_since(start).map_or(0, |d| d.as_nanos() as u64)
}

impl State {
    fn run(mut self, rx: Receiver<Msg>) {
        let mut ticked = Instant::now();
        let done = loop {
            match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(Msg::Tap(TapEvent::Packet(tap))) => self.packet(*tap),
                Ok(Msg::Tap(TapEvent::Ended(peer))) => self.close(peer),
                Ok(Msg::Tap(TapEvent::Started(room))) => {
                    self.rooms.entry(room).or_default().stopped = false;
                }
                Ok(Msg::Stop(done)) => break Some(done),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break None,
            }
            let now = Instant::now();
            if now.duration_since(ticked) >= Duration::from_millis(250) {
                ticked = now;
                self.tick(now);
            }
        };
        let all: Vec<PeerId> = self.publishers.keys().copied().collect();
        all.into_iter().for_each(|p| self.close(p));
        // Everything this thread holds (its database connections) goes
        // before the server is told: it exits next.
        drop(self);
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    fn wall(&self, at: Instant) -> SystemTime {
        let (i0, s0) = self.epoch;
        match at.checked_duration_since(i0) {
            Some(d) => s0 + d,
            None => s0 - i0.duration_since(at),
        }
    }

    fn packet(&mut self, tap: Tap) {
        if self.rooms.get(&tap.room).is_some_and(|r| r.stopped) {
            return;
        }
        let now = Instant::now();
        let arrival = self.wall(tap.arrival);
        let publisher = self
            .publishers
            .entry(tap.publisher)
            .or_insert_with(|| Publisher {
                room: tap.room,
                owner: tap.owner,
                source: tap.source,
                sender: clock::Sender::default(),
                audio_clock: clock::Track::new(48_000),
                video_clocks: HashMap::new(),
                frames: HashMap::new(),
                layer_bytes: HashMap::new(),
                first_video: None,
                first_audio: None,
                layer: None,
                early: HashMap::new(),
                early_audio: Vec::new(),
                file: None,
                heard: now,
                keyframe_asked: now,
                skipped: false,
            });
        publisher.heard = now;
        match (tap.kind, tap.codec) {
            (MediaKind::Video, Codec::Vp8 | Codec::H264) => self.video(tap, arrival, now),
            (MediaKind::Audio, Codec::Opus) => self.audio(tap, arrival, now),
            (_, codec) => {
                if !publisher.skipped {
                    publisher.skipped = true;
                    tracing::warn!(
                        room = tap.room,
                        ?codec,
                        "not recorded: only VP8, H.264 and Opus are"
                    );
                }
            }
        }
    }

    fn video(&mut self, tap: Tap, arrival: SystemTime, now: Instant) {
        let Some(p) = self.publishers.get_mut(&tap.publisher) else {
            return;
        };
        if p.layer.is_none() {
            *p.layer_bytes.entry(tap.rid).or_default() += tap.payload.len() as u64;
        }
        let first = *p.first_video.get_or_insert(now);
        if p.layer.is_some_and(|layer| layer != tap.rid) {
            // Another layer than the file's: not even assembled.
            return;
        }
        let frames = p
            .frames
            .entry(tap.rid)
            .or_insert_with(|| match tap.codec {
                Codec::H264 => Assembler::H264(H264Frames::default()),
                _ => Assembler::Vp8(Vp8Frames::default()),
            })
            .push(tap.seq, tap.ts, tap.marker, tap.payload.clone());
        let clock = p
            .video_clocks
            .entry(tap.rid)
            .or_insert_with(|| clock::Track::new(tap.clock_rate));
        let timed: Vec<_> = frames
            .into_iter()
            .map(|f| (clock.wall(&mut p.sender, f.ts, arrival, tap.sender), f))
            .collect();
        match p.layer {
            // The file's layer (others returned above).
            Some(_) => {
                for (wall, frame) in timed {
                    self.write_video(tap.publisher, wall, frame);
                }
            }
            None => {
                // Until the layers can be compared, every layer's frames
                // wait: the chosen one's go in from its first keyframe.
                p.early.entry(tap.rid).or_default().extend(timed);
                if now.duration_since(first) >= CHOOSE_AFTER {
                    // The layer sending most is the best picture.
                    let layer = p
                        .layer_bytes
                        .iter()
                        .max_by_key(|(_, b)| **b)
                        .map(|(r, _)| *r);
                    p.layer = layer;
                    // What waited goes in in time order, audio and video
                    // together (the file opens at the first keyframe).
                    let mut backlog: Vec<(SystemTime, Option<assemble::Frame>, Vec<u8>)> = p
                        .early
                        .remove(&layer.flatten())
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(wall, f)| (wall, Some(f), Vec::new()))
                        .collect();
                    p.early.clear();
                    // The other layers are not recorded: nothing of them is kept.
                    p.frames.retain(|rid, _| layer == Some(*rid));
                    p.layer_bytes.clear();
                    backlog.extend(
                        p.early_audio
                            .drain(..)
                            .map(|(wall, data)| (wall, None, data)),
                    );
                    backlog.sort_by_key(|(wall, _, _)| *wall);
                    for (wall, frame, data) in backlog {
                        match frame {
                            Some(frame) => self.write_video(tap.publisher, wall, frame),
                            None => self.write_audio(tap.publisher, wall, data),
                        }
                    }
                }
            }
        }
    }

    fn write_video(&mut self, peer: PeerId, wall: SystemTime, frame: assemble::Frame) {
        let Some(p) = self.publishers.get(&peer) else {
            return;
        };
        let picture = frame.size.filter(|_| frame.keyframe).map(|size| Picture {
            size,
            params: frame.params.clone(),
        });
        let reopen = picture.as_ref().is_some_and(|pic| {
            p.file
                .as_ref()
                .is_none_or(|f| f.picture.as_ref().is_some_and(|had| had != pic))
        });
        if reopen {
            let audio = p.source != Source::Screen || p.first_audio.is_some();
            self.close_file(peer, "complete");
            self.open(peer, wall, picture, audio);
        }
        let Some(open) = self.publishers.get_mut(&peer).and_then(|p| p.file.as_mut()) else {
            return;
        };
        let ns = since(wall, open.start);
        let result = open.file.add(true, ns, frame.data, frame.keyframe);
        self.after_write(peer, result);
    }

    fn audio(&mut self, tap: Tap, arrival: SystemTime, now: Instant) {
        let Some(p) = self.publishers.get_mut(&tap.publisher) else {
            return;
        };
        let first = *p.first_audio.get_or_insert(now);
        let wall = p
            .audio_clock
            .wall(&mut p.sender, tap.ts, arrival, tap.sender);
        if p.file.is_none()
            && p.first_video.is_none()
            && now.duration_since(first) >= AUDIO_ONLY_AFTER
        {
            self.open(tap.publisher, wall, None, true);
        }
        let Some(p) = self.publishers.get_mut(&tap.publisher) else {
            return;
        };
        if p.file.is_none() {
            // Held (a little) for the file the picture's keyframe opens.
            p.early_audio.push((wall, tap.payload.to_vec()));
            let keep = p.early_audio.len().saturating_sub(EARLY_AUDIO);
            p.early_audio.drain(..keep);
            return;
        }
        self.write_audio(tap.publisher, wall, tap.payload.to_vec());
    }

    fn write_audio(&mut self, peer: PeerId, wall: SystemTime, data: Vec<u8>) {
        let Some(open) = self.publishers.get_mut(&peer).and_then(|p| p.file.as_mut()) else {
            return;
        };
        // Audio from before the picture's first keyframe is not in the file.
        if wall < open.start || !open.file.has_audio() {
            return;
        }
        let ns = since(wall, open.start);
        let result = open.file.add(false, ns, data, true);
        self.after_write(peer, result);
    }

    /// Starts a file for a publisher at `start`.
    fn open(&mut self, peer: PeerId, start: SystemTime, picture: Option<Picture>, audio: bool) {
        let Some(p) = self.publishers.get(&peer) else {
            return;
        };
        let room = p.room;
        let source = if p.source == Source::Screen {
            "screen"
        } else {
            "camera"
        };
        let container = match picture.as_ref().and_then(|pic| pic.params.as_ref()) {
            Some(_) => Container::Mp4,
            None => Container::Webm,
        };
        let new = NewRecording {
            room_id: room,
            participant_id: (p.owner > 0).then_some(p.owner),
            source,
            started_at: utc(start),
            content_type: container.content_type(),
            file: "",
            url_key: &crate::secrets::new_token(),
        };
        let inserted = self
            .pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                // What the room's files hold already (for its limit), once.
                let held = match self.rooms.get(&room).and_then(|r| r.bytes) {
                    Some(b) => b,
                    None => recordings::bytes_of_room(&mut c, room)
                        .map_err(|e| e.to_string())?
                        .max(0) as u64,
                };
                let id = recordings::insert(&mut c, &new).map_err(|e| e.to_string())?;
                let name = file_name(room, id, container);
                recordings::set_file(&mut c, id, &name).map_err(|e| e.to_string())?;
                Ok((id, name, held))
            });
        let (id, name, held) = match inserted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(room, error = %e, "recording not started: the database refused");
                crate::metrics::recording_error("write");
                return;
            }
        };
        self.rooms.entry(room).or_default().bytes = Some(held);
        let path = self.settings.dir.join(&name);
        let created = std::fs::create_dir_all(path.parent().unwrap_or(&self.settings.dir))
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::StorageFull {
                    WriteError::Full
                } else {
                    WriteError::Io(e.kind())
                }
            })
            .and_then(|_| -> Result<Box<dyn RecordingFile>, WriteError> {
                let params = picture.as_ref().and_then(|pic| pic.params.as_deref());
                Ok(match container {
                    Container::Mp4 => Box::new(Mp4File::create(&path, params, audio)?),
                    Container::Webm => Box::new(WebmFile::create(
                        &path,
                        picture.as_ref().map(|pic| pic.size),
                        audio,
                    )?),
                })
            });
        match created {
            Ok(file) => {
                tracing::info!(room, recording = id, source, ?container, size = ?picture.as_ref().map(|pic| pic.size), audio, "recording");
                if let Some(p) = self.publishers.get_mut(&peer) {
                    // Audio held from before the file's start is not in it.
                    p.early_audio.clear();
                    p.file = Some(Open {
                        id,
                        file,
                        start,
                        picture,
                        path,
                        progress_at: Instant::now(),
                        counted: 0,
                    });
                }
                self.count_open();
            }
            Err(e) => {
                tracing::warn!(room, recording = id, error = %e, "recording file not created");
                if let Ok(mut c) = self.pool.get() {
                    let _ = recordings::finish(&mut c, id, "failed", utc(start), 0, 0);
                }
                self.stop_room(room, stopped_by(e));
            }
        }
    }

    /// Counts what a write added; a failed write or the room's limit stops
    /// the room's recording.
    fn after_write(&mut self, peer: PeerId, result: Result<(), WriteError>) {
        let Some(p) = self.publishers.get_mut(&peer) else {
            return;
        };
        let room = p.room;
        if let Err(e) = result {
            tracing::warn!(room, error = %e, "recording write failed");
            self.close_file(peer, "failed");
            self.stop_room(room, stopped_by(e));
            return;
        }
        let Some(open) = p.file.as_mut() else { return };
        let grown = open.file.bytes().saturating_sub(open.counted);
        open.counted += grown;
        crate::metrics::recording_bytes(grown);
        // Known since the file opened.
        let total = self.rooms.entry(room).or_default().bytes.get_or_insert(0);
        *total += grown;
        if *total > self.settings.max_bytes {
            tracing::warn!(
                room,
                bytes = *total,
                limit = self.settings.max_bytes,
                "recording stopped at the room's limit"
            );
            self.stop_room(room, Stopped::Limit);
        }
    }

    /// Ends a room's recording by itself: its files close, staff are told.
    fn stop_room(&mut self, room: i64, why: Stopped) {
        crate::metrics::recording_error(why.code());
        let ours: Vec<PeerId> = self
            .publishers
            .iter()
            .filter(|(_, p)| p.room == room)
            .map(|(id, _)| *id)
            .collect();
        for peer in ours {
            let state = if why == Stopped::Limit {
                "complete"
            } else {
                "failed"
            };
            self.close_file(peer, state);
            self.publishers.remove(&peer);
        }
        let r = self.rooms.entry(room).or_default();
        if !r.stopped {
            r.stopped = true;
            (self.stopped)(room, why);
        }
        self.count_open();
    }

    /// A publisher's session ended.
    fn close(&mut self, peer: PeerId) {
        self.close_file(peer, "complete");
        self.publishers.remove(&peer);
        self.count_open();
    }

    fn close_file(&mut self, peer: PeerId, state: &str) {
        let Some(open) = self.publishers.get_mut(&peer).and_then(|p| p.file.take()) else {
            return;
        };
        let so_far = open.file.duration_ns();
        let (state, bytes, duration) = match open.file.finish() {
            Ok(f) => (state, f.bytes, f.duration_ns),
            Err(e) => {
                tracing::warn!(recording = open.id, error = %e, "recording not finalised (it plays up to its last frames)");
                (
                    "failed",
                    std::fs::metadata(&open.path).map_or(0, |m| m.len()),
                    so_far,
                )
            }
        };
        let ms = (duration / 1_000_000) as i64;
        let ended = utc(open.start) + chrono::Duration::milliseconds(ms);
        match self.pool.get() {
            Ok(mut c) => {
                if let Err(e) = recordings::finish(&mut c, open.id, state, ended, ms, bytes as i64)
                {
                    tracing::warn!(recording = open.id, error = %e, "recording row not closed");
                }
            }
            Err(e) => tracing::warn!(recording = open.id, error = %e, "recording row not closed"),
        }
        tracing::info!(
            recording = open.id,
            state,
            bytes,
            duration_ms = ms,
            "recording closed"
        );
    }

    fn count_open(&self) {
        crate::metrics::recordings_open(
            self.publishers
                .values()
                .filter(|p| p.file.is_some())
                .count(),
        );
    }

    /// Progress to the rows, keyframes for seeking, silent sources closed.
    fn tick(&mut self, now: Instant) {
        let idle: Vec<PeerId> = self
            .publishers
            .iter()
            .filter(|(_, p)| now.duration_since(p.heard) >= IDLE)
            .map(|(id, _)| *id)
            .collect();
        for peer in idle {
            self.close(peer);
        }
        let mut conn = None;
        for (peer, p) in self.publishers.iter_mut() {
            let Some(open) = p.file.as_mut() else {
                continue;
            };
            if open.picture.is_some() && now.duration_since(p.keyframe_asked) >= KEYFRAME_EVERY {
                p.keyframe_asked = now;
                (self.keyframe)(p.room, *peer);
            }
            if now.duration_since(open.progress_at) < PROGRESS_EVERY {
                continue;
            }
            open.progress_at = now;
            if conn.is_none() {
                conn = self.pool.get().ok();
            }
            if let Some(c) = conn.as_mut() {
                let ms = (open.file.duration_ns() / 1_000_000) as i64;
                let _ = recordings::progress(c, open.id, ms, open.file.bytes() as i64);
            }
        }
    }
}

/// A room's files are under a directory of its own (erasure removes it
/// whole), named by id.
fn room_dir(room: i64) -> String {
    room.to_string()
}

fn file_name(room: i64, id: i64, container: Container) -> String {
    format!("{}/{id}.{}", room_dir(room), container.extension())
}

/// Removes a room's recording files (its rows are gone: the room was
/// erased).
pub fn remove_room_files(dir: &Path, room: i64) {
    let path = dir.join(room_dir(room));
    match std::fs::remove_dir_all(&path) {
        Ok(()) => tracing::info!(room, "recording files removed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(room, error = %e, "recording files not removed"),
    }
}

fn stopped_by(e: WriteError) -> Stopped {
    match e {
        WriteError::Full => Stopped::DiskFull,
        _ => Stopped::WriteFailed,
    }
}
