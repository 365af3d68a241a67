//! The baseline forwarder for the media bench: the smallest honest SFU on
//! another Rust WebRTC stack (webrtc-rs), written the way its own broadcast
//! example is. One peer connection per publisher and per viewer (each on
//! its own loopback socket, default codecs and interceptors); each
//! publisher track's RTP goes into a broadcast channel, and a task per
//! viewer track rewrites the SSRC and writes it to that viewer. It speaks
//! just enough WHIP and WHEP (`POST …/whip`, `POST …/whep`, SDP in and out,
//! no auth) for the bench's clients to use it exactly as they use Podium.
//!
//! It runs as `media_server --baseline-server` in a process of its own, so
//! its CPU time is measured like Podium's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{broadcast, Notify};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState,
    RTCSessionDescription, Registry, SettingEngineBuilder,
};

/// A publisher track as viewers see it: its codec and its packets.
#[derive(Clone)]
struct Source {
    codec: RTCRtpCodec,
    packets: broadcast::Sender<rtp::Packet>,
}

#[derive(Default)]
struct Shared {
    audio: Mutex<Option<Source>>,
    video: Mutex<Option<Source>>,
    /// Packets written to viewers, for the bench's per-packet figures.
    forwarded: AtomicU64,
    peers: Mutex<Vec<Arc<dyn PeerConnection>>>,
}

struct Events {
    gathered: Notify,
    shared: Option<Arc<Shared>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.notify_one();
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        let kind = track.kind().await;
        let Some(ssrc) = track.ssrcs().await.first().copied() else {
            return;
        };
        let Some(codec) = track.codec(ssrc).await else {
            return;
        };
        let (packets, _) = broadcast::channel(1024);
        let source = Source {
            codec,
            packets: packets.clone(),
        };
        match kind {
            RtpCodecKind::Audio => *shared.audio.lock().unwrap() = Some(source),
            RtpCodecKind::Video => *shared.video.lock().unwrap() = Some(source),
            _ => return,
        }
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(p) = event {
                    let _ = packets.send(p);
                }
            }
        });
    }
}

async fn peer(events: Arc<Events>) -> Arc<dyn PeerConnection> {
    let mut media = MediaEngine::default();
    media.register_default_codecs().expect("codecs");
    let registry =
        register_default_interceptors(Registry::new(), &mut media).expect("interceptors");
    Arc::new(
        PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            // No mDNS: the bench's clients give their addresses, and its
            // network namespace has no multicast route for it.
            .with_setting_engine(
                SettingEngineBuilder::default()
                    .with_multicast_dns_mode(MulticastDnsMode::Disabled)
                    .build(),
            )
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_handler(events)
            .with_udp_addrs(vec!["127.0.0.1:0"])
            .build()
            .await
            .expect("peer connection builds"),
    )
}

/// Answers an offer once ICE gathering is complete (no trickle).
async fn answer(pc: &Arc<dyn PeerConnection>, events: &Events, offer: String) -> String {
    let offer = RTCSessionDescription::offer(offer).expect("offer parses");
    pc.set_remote_description(offer)
        .await
        .expect("remote offer");
    let answer = pc.create_answer(None).await.expect("answer");
    pc.set_local_description(answer)
        .await
        .expect("local answer");
    let _ = tokio::time::timeout(Duration::from_secs(10), events.gathered.notified()).await;
    pc.local_description().await.expect("local description").sdp
}

async fn publish(shared: Arc<Shared>, offer: String) -> String {
    let events = Arc::new(Events {
        gathered: Notify::new(),
        shared: Some(shared.clone()),
    });
    let pc = peer(events.clone()).await;
    let sdp = answer(&pc, &events, offer).await;
    shared.peers.lock().unwrap().push(pc);
    sdp
}

async fn watch(shared: Arc<Shared>, offer: String) -> String {
    // Viewers join once the publisher's tracks are known (the bench
    // publishes first).
    let mut sources = None;
    for _ in 0..200 {
        let audio = shared.audio.lock().unwrap().clone();
        let video = shared.video.lock().unwrap().clone();
        if let (Some(a), Some(v)) = (audio, video) {
            sources = Some([(RtpCodecKind::Audio, a), (RtpCodecKind::Video, v)]);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sources = sources.expect("the publisher's tracks arrive");
    let events = Arc::new(Events {
        gathered: Notify::new(),
        shared: None,
    });
    let pc = peer(events.clone()).await;
    let mut feeds = Vec::new();
    for (kind, source) in sources {
        let ssrc: u32 = rand_ssrc();
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            format!("baseline-{ssrc}"),
            format!("baseline-{kind}-{ssrc}"),
            format!("baseline-{ssrc}"),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: source.codec.clone(),
                ..Default::default()
            }],
        )));
        pc.add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
            .await
            .expect("track added");
        feeds.push((track, ssrc, source.packets.subscribe()));
    }
    let sdp = answer(&pc, &events, offer).await;
    for (track, ssrc, mut rx) in feeds {
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(mut packet) => {
                        packet.header.ssrc = ssrc;
                        if track.write_rtp(packet).await.is_ok() {
                            shared.forwarded.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }
    shared.peers.lock().unwrap().push(pc);
    sdp
}

fn rand_ssrc() -> u32 {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("random");
    u32::from_be_bytes(b)
}

/// Serves until killed; prints `listening http=ADDR` once ready.
pub fn serve() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let webrtc = rt.handle().clone();
    let shared = Arc::new(Shared::default());
    actix_rt::System::new().block_on(async move {
        let state = (webrtc, shared);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/api/rooms/{slug}/whip", web::post().to(whip))
                .route("/api/rooms/{slug}/whep", web::post().to(whep))
                .route("/metrics", web::get().to(metrics))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind");
        let addr = server.addrs()[0];
        println!("baseline listening http={addr}");
        server.run().await.expect("serve");
    });
}

type State = web::Data<(tokio::runtime::Handle, Arc<Shared>)>;

async fn whip(state: State, body: String) -> HttpResponse {
    let (rt, shared) = (state.0.clone(), state.1.clone());
    let sdp = rt.spawn(publish(shared, body)).await.expect("publish");
    created(sdp)
}

async fn whep(state: State, body: String) -> HttpResponse {
    let (rt, shared) = (state.0.clone(), state.1.clone());
    let sdp = rt.spawn(watch(shared, body)).await.expect("watch");
    created(sdp)
}

fn created(sdp: String) -> HttpResponse {
    HttpResponse::Created()
        .content_type("application/sdp")
        .insert_header(("location", "/session"))
        .body(sdp)
}

/// The forwarded count in the same name and format as Podium's.
async fn metrics(state: State) -> HttpResponse {
    let n = state.1.forwarded.load(Ordering::Relaxed);
    HttpResponse::Ok().content_type("text/plain").body(format!(
        "# TYPE podium_media_packets_forwarded_total counter\npodium_media_packets_forwarded_total {n}\n"
    ))
}
