//! Interop: clients built on webrtc-rs, a WebRTC stack independent of the
//! str0m the server uses, publish over WHIP and watch over WHEP. Two
//! implementations agreeing on SDP, ICE-lite, DTLS and SRTP is a far stronger
//! claim than str0m talking to str0m.
//!
//! webrtc-rs needs a multi-threaded tokio runtime while `#[actix_rt::test]`
//! gives a single-threaded one, so the clients run on their own thread and
//! runtime. They hand their SDP offers back to the test, which posts them
//! with the same HTTP client as every other test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media::Sample;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, Registry,
};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

use crate::kit;

/// What the viewer must receive on each track before the test is satisfied.
const ENOUGH_PACKETS: usize = 30;
/// Generous: on loopback the packets flow within a second of connecting.
const MEDIA_DEADLINE: Duration = Duration::from_secs(8);
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);

const AUDIO_SSRC: u32 = 0x0A0D_1001;
const VIDEO_SSRC: u32 = 0x0B1D_E002;

/// (status, Location header, body) of an SDP POST.
type SdpReply = (u16, Option<String>, String);

/// An SDP offer the clients' thread asks the test to post.
struct SdpPost {
    path: String,
    token: String,
    offer: String,
    reply: oneshot::Sender<SdpReply>,
}

/// Where the clients send offers and for whom: the presenter publishes over
/// WHIP, the attendee watches over WHEP.
struct Signalling {
    posts: mpsc::UnboundedSender<SdpPost>,
    whip: String,
    presenter: String,
    whep: String,
    attendee: String,
}

/// What the viewer got, for the assertions and the test's output.
#[derive(Debug)]
struct Received {
    audio: usize,
    video: usize,
    after: Duration,
}

#[actix_rt::test]
async fn webrtc_rs_publisher_reaches_webrtc_rs_viewer() {
    let app = kit::spawn_app().await;
    let room = app.room().await;
    let (posts, mut offers) = mpsc::unbounded_channel();
    let signalling = Signalling {
        posts,
        whip: room.path("/whip?kind=camera"),
        presenter: room.presenter().await.token,
        whep: room.path("/whep"),
        attendee: room.attendee("Bob").await.token,
    };
    let clients = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime for webrtc-rs")
            .block_on(run_clients(signalling))
    });

    // Post the clients' offers until they hang up, which they do once both
    // are negotiated (or when they panic).
    while let Some(post) = offers.recv().await {
        let reply = kit::sdp::post(&app, &post.path, Some(&post.token), post.offer).await;
        let _ = post.reply.send(reply);
    }
    // Keep this thread's runtime (and with it the server) turning while the
    // media flows; a blocking join would starve it.
    while !clients.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = clients
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));

    println!("webrtc-rs viewer received {received:?}");
    assert!(
        received.video >= ENOUGH_PACKETS,
        "viewer got only {} video RTP packets in {:?}",
        received.video,
        received.after
    );
    assert!(
        received.audio >= ENOUGH_PACKETS,
        "viewer got only {} audio RTP packets in {:?}",
        received.audio,
        received.after
    );
}

/// The webrtc-rs side: publish, watch, stream synthetic media and count
/// what arrives. Runs on the clients' own tokio runtime.
async fn run_clients(signalling: Signalling) -> Received {
    let publisher_events = Events::new();
    let publisher = peer(publisher_events.clone()).await;
    let audio = local_track(RtpCodecKind::Audio, opus(), AUDIO_SSRC);
    let video = local_track(RtpCodecKind::Video, vp8(), VIDEO_SSRC);
    let mut senders = Vec::new();
    for track in [&audio, &video] {
        let transceiver = publisher
            .add_transceiver_from_track(
                Arc::clone(track) as Arc<dyn TrackLocal>,
                Some(direction(RTCRtpTransceiverDirection::Sendonly)),
            )
            .await
            .expect("publisher transceiver");
        senders.push(transceiver.sender().await.unwrap().expect("a sender"));
    }
    let (path, token) = (&signalling.whip, &signalling.presenter);
    negotiate(&publisher, &publisher_events, &signalling, path, token).await;

    let viewer_events = Events::new();
    let viewer = peer(viewer_events.clone()).await;
    for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
        viewer
            .add_transceiver_from_kind(kind, Some(direction(RTCRtpTransceiverDirection::Recvonly)))
            .await
            .expect("viewer transceiver");
    }
    let (path, token) = (&signalling.whep, &signalling.attendee);
    negotiate(&viewer, &viewer_events, &signalling, path, token).await;
    // Both negotiated: hanging up lets the test stop serving posts.
    drop(signalling);

    publisher_events.connected("publisher").await;
    viewer_events.connected("viewer").await;

    // The payload types the server accepted, which write_sample stamps on
    // every packet.
    let mut pts = Vec::new();
    for sender in &senders {
        let params = sender.get_parameters().await.expect("sender parameters");
        pts.push(params.rtp_parameters.codecs[0].payload_type);
    }
    // Synthetic media: the SFU forwards RTP without decoding it, so any bytes
    // do. VP8 at 30 fps in frames big enough to span packets; Opus every 20 ms.
    let streams = [
        tokio::spawn(stream(audio, AUDIO_SSRC, pts[0], 80, 20)),
        tokio::spawn(stream(video, VIDEO_SSRC, pts[1], 1000, 33)),
    ];

    let start = Instant::now();
    let counts = &viewer_events.counts;
    let received = loop {
        let received = Received {
            audio: counts.audio.load(Ordering::Relaxed),
            video: counts.video.load(Ordering::Relaxed),
            after: start.elapsed(),
        };
        let enough = received.audio >= ENOUGH_PACKETS && received.video >= ENOUGH_PACKETS;
        if enough || received.after >= MEDIA_DEADLINE {
            break received;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    for s in streams {
        s.abort();
    }
    let _ = viewer.close().await;
    let _ = publisher.close().await;
    received
}

/// Offers, waits for all candidates (WHIP and WHEP are not trickled), posts
/// the offer and applies the server's answer.
async fn negotiate(
    pc: &impl PeerConnection,
    events: &Events,
    signalling: &Signalling,
    path: &str,
    token: &str,
) {
    let offer = pc.create_offer(None).await.expect("offer");
    pc.set_local_description(offer).await.expect("local offer");
    tokio::time::timeout(CONNECT_DEADLINE, events.gathered.notified())
        .await
        .expect("ICE gathering completes");
    let offer = pc.local_description().await.expect("local description").sdp;

    let (reply, answer) = oneshot::channel();
    let post = SdpPost {
        path: path.to_owned(),
        token: token.to_owned(),
        offer,
        reply,
    };
    signalling.posts.send(post).expect("the test serves posts");
    let (status, location, answer) = answer.await.expect("the test replies");
    assert_eq!(status, 201, "{path}: {answer}");
    assert!(location.is_some(), "{path}: 201 without Location");
    let answer = RTCSessionDescription::answer(answer).expect("answer parses");
    pc.set_remote_description(answer)
        .await
        .expect("server answer accepted");
}

/// A peer connection on one loopback socket, as the server is ICE-lite and
/// announces only 127.0.0.1. webrtc-rs expands a wildcard bind address into
/// the machine's interfaces *without* loopback, but binds a concrete address
/// as given, so `127.0.0.1:0` yields exactly the host candidate we need.
/// (`SettingEngineBuilder::with_include_loopback_candidate` exists in 0.21
/// but nothing reads it, so it would not help.)
async fn peer(events: Arc<Events>) -> impl PeerConnection {
    let mut media = MediaEngine::default();
    media
        .register_codec(opus(), RtpCodecKind::Audio)
        .expect("register Opus");
    media
        .register_codec(vp8(), RtpCodecKind::Video)
        .expect("register VP8");
    let registry =
        register_default_interceptors(Registry::new(), &mut media).expect("interceptors");
    PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_handler(events)
        .with_udp_addrs(vec!["127.0.0.1:0"])
        .build()
        .await
        .expect("peer connection builds")
}

fn opus() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        payload_type: 111,
    }
}

fn vp8() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
        payload_type: 96,
    }
}

fn direction(direction: RTCRtpTransceiverDirection) -> RTCRtpTransceiverInit {
    RTCRtpTransceiverInit {
        direction,
        ..Default::default()
    }
}

fn local_track(
    kind: RtpCodecKind,
    codec: RTCRtpCodecParameters,
    ssrc: u32,
) -> Arc<TrackLocalStaticSample> {
    let track = MediaStreamTrack::new(
        "podium-interop".to_owned(),
        format!("podium-interop-{kind}"),
        format!("podium-interop-{kind}"),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: codec.rtp_codec,
            ..Default::default()
        }],
    );
    Arc::new(TrackLocalStaticSample::new(Instant::now(), track).expect("local track"))
}

/// Writes a `size`-byte sample every `every_ms` until aborted.
async fn stream(track: Arc<TrackLocalStaticSample>, ssrc: u32, pt: u8, size: usize, every_ms: u64) {
    let every = Duration::from_millis(every_ms);
    // 0x10: a VP8 payload header with the keyframe bit clear, i.e. a keyframe;
    // harmless filler for Opus.
    let data = Bytes::from(vec![0x10; size]);
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        let sample = Sample {
            data: data.clone(),
            duration: every,
            ..Sample::new(Instant::now())
        };
        track
            .sample_writer(ssrc, pt)
            .write_sample(&sample)
            .await
            .expect("sample written");
    }
}

/// RTP packets the viewer read, per kind.
#[derive(Default)]
struct Counts {
    audio: AtomicUsize,
    video: AtomicUsize,
}

/// One peer's callbacks, turned into things the clients can await or read.
struct Events {
    gathered: Notify,
    state: watch::Sender<RTCPeerConnectionState>,
    counts: Arc<Counts>,
}

impl Events {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            gathered: Notify::new(),
            state: watch::Sender::new(RTCPeerConnectionState::New),
            counts: Arc::default(),
        })
    }

    async fn connected(&self, who: &str) {
        let mut state = self.state.subscribe();
        let reached = tokio::time::timeout(
            CONNECT_DEADLINE,
            state.wait_for(|s| {
                matches!(
                    s,
                    RTCPeerConnectionState::Connected | RTCPeerConnectionState::Failed
                )
            }),
        )
        .await
        .map(|s| *s.expect("state sender alive"));
        assert_eq!(
            reached,
            Ok(RTCPeerConnectionState::Connected),
            "{who} did not connect"
        );
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            // Stores a permit if nobody waits yet, so the order does not matter.
            self.gathered.notify_one();
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let kind = track.kind().await;
        let counts = Arc::clone(&self.counts);
        // Read on a task of its own: the callback must return for the
        // connection to carry on.
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(_) = event {
                    let counter = match kind {
                        RtpCodecKind::Audio => &counts.audio,
                        RtpCodecKind::Video => &counts.video,
                        _ => continue,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
}
