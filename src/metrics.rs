//! Prometheus metrics: every name in one place, recorded through the
//! `metrics` facade and rendered by its Prometheus exporter. The recorder is
//! process-wide (installed once); gauges that are cheaper to read than to
//! track (pool, media peers) are set when `/metrics` is scraped.

use std::sync::OnceLock;
use std::time::Duration;

use ::metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::media::core::Counters;

pub const HTTP_DURATION: &str = "podium_http_request_duration_seconds";
pub const WS_IN: &str = "podium_ws_messages_in_total";
pub const WS_OUT: &str = "podium_ws_messages_out_total";
pub const CHAT_DELIVERY: &str = "podium_chat_delivery_seconds";
pub const RATE_LIMITED: &str = "podium_rate_limited_total";
pub const DB_POOL: &str = "podium_db_pool_connections";
pub const DB_ERRORS: &str = "podium_db_errors_total";
pub const ROOMS_ERASED: &str = "podium_rooms_erased_total";
pub const ROOMS_LIVE: &str = "podium_rooms_live";
pub const PARTICIPANTS: &str = "podium_participants_connected";
pub const MEDIA_PEERS: &str = "podium_media_peers";
pub const MEDIA_PACKETS: &str = "podium_media_packets_forwarded_total";
pub const MEDIA_BYTES: &str = "podium_media_bytes_forwarded_total";
pub const MEDIA_KEYFRAMES: &str = "podium_media_keyframe_requests_total";
pub const MEDIA_NACKS: &str = "podium_media_nacks_total";
pub const MEDIA_DELAY: &str = "podium_media_forward_delay_seconds";
pub const MEDIA_DROPPED: &str = "podium_media_send_dropped_total";
pub const RECORDING_BYTES: &str = "podium_recording_bytes_written_total";
pub const RECORDINGS_OPEN: &str = "podium_recordings_open";
pub const RECORDING_ERRORS: &str = "podium_recording_errors_total";
pub const CLUSTER_HOME_ROOMS: &str = "podium_cluster_home_rooms";
pub const CLUSTER_REMOTE_MEMBERS: &str = "podium_cluster_remote_members";
pub const CLUSTER_ASKS: &str = "podium_cluster_asks_total";
pub const CLUSTER_FRAMES_IN: &str = "podium_cluster_frames_delivered_total";
pub const CLUSTER_DROPPED: &str = "podium_cluster_deliveries_dropped_total";
pub const CLUSTER_RESYNCS: &str = "podium_cluster_resynced_members_total";
pub const CLUSTER_SLOW: &str = "podium_cluster_slow_consumer_total";
pub const CLUSTER_UPSTREAMS: &str = "podium_cluster_upstreams";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once per process) and returns the renderer.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(MEDIA_DELAY.into()),
                    &[
                        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
                        0.05, 0.1,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Suffix("_seconds".into()),
                        &[
                            0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        ],
                    )
                })
                .expect("bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder (a test harness's) may be installed: keep it.
            let _ = ::metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_histogram!(
        HTTP_DURATION,
        "HTTP request duration by route, method and status"
    );
    describe_counter!(WS_IN, "WebSocket frames received, by type");
    describe_counter!(WS_OUT, "WebSocket frames queued to sockets, by type");
    describe_histogram!(
        CHAT_DELIVERY,
        "Chat message received to queued on every socket of the room (stored in between)"
    );
    describe_counter!(RATE_LIMITED, "Requests and frames refused by a rate limit");
    describe_gauge!(DB_POOL, "Database pool connections by state (in_use, idle)");
    describe_counter!(DB_ERRORS, "Database operations that failed");
    describe_counter!(
        ROOMS_ERASED,
        "Rooms whose personal data was erased (retention or their presenter)"
    );
    describe_gauge!(ROOMS_LIVE, "Rooms whose presenter is publishing");
    describe_gauge!(PARTICIPANTS, "Connected WebSocket sessions by role");
    describe_gauge!(MEDIA_PEERS, "Media sessions by kind (publisher, viewer)");
    describe_counter!(MEDIA_PACKETS, "RTP packets written to viewers");
    describe_counter!(MEDIA_BYTES, "RTP payload bytes written to viewers");
    describe_counter!(MEDIA_KEYFRAMES, "Keyframe requests sent to publishers");
    describe_counter!(MEDIA_NACKS, "NACKs received from viewers");
    describe_histogram!(
        MEDIA_DELAY,
        "Publisher packet received to written to every viewer of its shard"
    );
    describe_counter!(
        MEDIA_DROPPED,
        "Media datagrams dropped on a full send buffer"
    );
    describe_counter!(RECORDING_BYTES, "Bytes written to recording files");
    describe_gauge!(RECORDINGS_OPEN, "Recording files being written");
    describe_counter!(
        RECORDING_ERRORS,
        "Recording failures by kind (disk_full, write, limit, dropped)"
    );
    describe_gauge!(
        CLUSTER_HOME_ROOMS,
        "Rooms whose core runs on this node (it is their home)"
    );
    describe_gauge!(
        CLUSTER_REMOTE_MEMBERS,
        "Sockets on this node in rooms homed on other nodes"
    );
    describe_counter!(CLUSTER_ASKS, "Asks sent to other nodes' rooms over NATS");
    describe_counter!(
        CLUSTER_FRAMES_IN,
        "Frames from other nodes' rooms queued to sockets here"
    );
    describe_counter!(
        CLUSTER_DROPPED,
        "Deliveries to other nodes not published (a full queue, NATS away)"
    );
    describe_counter!(
        CLUSTER_RESYNCS,
        "Sockets closed for a fresh snapshot after a gap or a lost home"
    );
    describe_counter!(CLUSTER_SLOW, "NATS slow-consumer events on this node");
    describe_gauge!(
        CLUSTER_UPSTREAMS,
        "Rooms whose media this node takes from their home node, once each, for its viewers"
    );
}

pub fn cluster_upstreams(n: usize) {
    gauge!(CLUSTER_UPSTREAMS).set(n as f64);
}

pub fn cluster_home_rooms(n: usize) {
    gauge!(CLUSTER_HOME_ROOMS).set(n as f64);
}

pub fn cluster_members(n: usize) {
    gauge!(CLUSTER_REMOTE_MEMBERS).set(n as f64);
}

pub fn cluster_ask() {
    counter!(CLUSTER_ASKS).increment(1);
}

pub fn cluster_frames_in(n: usize) {
    counter!(CLUSTER_FRAMES_IN).increment(n as u64);
}

pub fn cluster_delivery_dropped() {
    counter!(CLUSTER_DROPPED).increment(1);
}

pub fn cluster_resync(n: usize) {
    counter!(CLUSTER_RESYNCS).increment(n as u64);
}

pub fn cluster_slow_consumer() {
    counter!(CLUSTER_SLOW).increment(1);
}

pub fn recording_bytes(n: u64) {
    counter!(RECORDING_BYTES).increment(n);
}

pub fn recordings_open(n: usize) {
    gauge!(RECORDINGS_OPEN).set(n as f64);
}

pub fn recording_error(kind: &'static str) {
    counter!(RECORDING_ERRORS, "kind" => kind).increment(1);
}

pub fn http_request(route: String, method: String, status: u16, took: Duration) {
    histogram!(HTTP_DURATION, "route" => route, "method" => method, "status" => status.to_string())
        .record(took.as_secs_f64());
}

pub fn ws_in(kind: &'static str) {
    counter!(WS_IN, "type" => kind).increment(1);
}

pub fn ws_out(kind: &'static str, sockets: u64) {
    counter!(WS_OUT, "type" => kind).increment(sockets);
}

pub fn chat_delivered(took: Duration) {
    histogram!(CHAT_DELIVERY).record(took.as_secs_f64());
}

pub fn rate_limited(scope: &'static str) {
    counter!(RATE_LIMITED, "scope" => scope).increment(1);
}

pub fn room_erased() {
    counter!(ROOMS_ERASED).increment(1);
}

pub fn db_error() {
    counter!(DB_ERRORS).increment(1);
}

pub fn participants(role: &'static str, delta: f64) {
    gauge!(PARTICIPANTS, "role" => role).increment(delta);
}

pub fn rooms_live(n: usize) {
    gauge!(ROOMS_LIVE).set(n as f64);
}

pub fn db_pool(in_use: u32, idle: u32) {
    gauge!(DB_POOL, "state" => "in_use").set(f64::from(in_use));
    gauge!(DB_POOL, "state" => "idle").set(f64::from(idle));
}

pub fn media_peers(publishers: usize, viewers: usize) {
    gauge!(MEDIA_PEERS, "kind" => "publisher").set(publishers as f64);
    gauge!(MEDIA_PEERS, "kind" => "viewer").set(viewers as f64);
}

/// What a media shard did since it last reported.
pub fn media(delta: Counters, dropped: u64) {
    counter!(MEDIA_PACKETS).increment(delta.packets);
    counter!(MEDIA_BYTES).increment(delta.bytes);
    counter!(MEDIA_KEYFRAMES).increment(delta.keyframe_requests);
    counter!(MEDIA_NACKS).increment(delta.nacks);
    counter!(MEDIA_DROPPED).increment(dropped);
}

pub fn media_delay(took: Duration) {
    histogram!(MEDIA_DELAY).record(took.as_secs_f64());
}
