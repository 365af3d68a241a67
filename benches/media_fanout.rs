//! Media fan-out cost of the SFU core: one presenter publishing 1.5 Mbit/s
//! VP8-like video at 30 fps and Opus at 50 packets/s, N viewers. The
//! clients are str0m peers on a simulated network; once they are connected
//! the server's datagrams go out of a real UDP socket (to a receiver that
//! never reads), so the measured time is the server's own work: SRTP
//! decrypt, routing, rewriting, SRTP encrypt and one sendto per packet.
//!
//! With `--shards 1,2` the same server runs as one core, then as two shards
//! handing relays to each other (timed together: the total work, relays
//! included, which spreads over as many cores as shards).
//!
//! `cargo bench --bench media_fanout -- --viewers 50,100,200,400 --shards 1,2`
//! Without `--bench` (as `cargo test --all-targets` runs it) a small smoke
//! run of the same path.

// The tests' kit, of which this bench uses the simulated network.
#[allow(dead_code, unused_imports)]
#[path = "../tests/kit/mod.rs"]
mod kit;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use kit::media_net::Net;
use kit::sdp::{AV_RECV, AV_SEND};
use podium::media::Source;

/// Bench mode: from now on the server's datagrams really go out of a UDP
/// socket, to a receiver that never reads, and no simulated client gets
/// them; the core's time is counted afresh.
fn start_blackhole(net: &mut Net) {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sink.local_addr().unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    net.blackhole = Some((sock, addr, sink));
    net.core_time = Duration::ZERO;
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let bench = argv.iter().any(|a| a == "--bench");
    let list = |flag: &str, default: Vec<usize>| -> Vec<usize> {
        argv.iter()
            .position(|a| a == flag)
            .and_then(|i| argv.get(i + 1))
            .map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect())
            .unwrap_or(default)
    };
    let viewers = list(
        "--viewers",
        if bench { vec![50, 100, 200] } else { vec![3] },
    );
    let shard_counts = list("--shards", vec![1, 2]);
    let measure = Duration::from_secs(if bench { 4 } else { 1 });

    // The floor: one sendto of a 1200-byte datagram on loopback.
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = sink.local_addr().unwrap();
    let buf = [0u8; 1200];
    let n = if bench { 200_000 } else { 2_000 };
    let t0 = Instant::now();
    for _ in 0..n {
        let _ = sock.send_to(&buf, to);
    }
    let send_us = t0.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("media_fanout: floor: one 1200-byte sendto = {send_us:.2} us");

    for (shards, n) in shard_counts
        .iter()
        .flat_map(|s| viewers.iter().map(move |n| (*s, *n)))
    {
        let mut net = Net::sharded(0, shards);
        net.video_bytes = 6250; // 1.5 Mbit/s at 30 fps
        net.join(&AV_SEND, Some(Source::Camera), 0xCA);
        for _ in 0..n {
            net.join(&AV_RECV, None, 0);
        }
        net.run(Duration::from_secs(3));
        let connected = net.clients.iter().filter(|c| c.connected).count();
        assert_eq!(connected, n + 1, "every peer connects before measuring");
        start_blackhole(&mut net);
        let f0 = net.forwarded();
        net.run(measure);
        let forwarded = net.forwarded() - f0;
        let per_packet_us = net.core_time.as_secs_f64() * 1e6 / forwarded.max(1) as f64;
        let pps_per_viewer = forwarded as f64 / n as f64 / measure.as_secs_f64();
        let viewers_per_core = 1e6 / (per_packet_us * pps_per_viewer);
        println!(
            "media_fanout: shards={shards} viewers={n} forwarded={forwarded} ({pps_per_viewer:.0} pkt/s per viewer) \
             server time per forwarded packet={per_packet_us:.2} us ({:.1}x the sendto floor) \
             -> {viewers_per_core:.0} viewers per core, {:.0} on {shards} cores",
            per_packet_us / send_us,
            viewers_per_core * shards as f64
        );
    }
}
