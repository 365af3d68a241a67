//! Replays the fuzzers' committed inputs through the code the fuzz targets
//! run (fuzz/fuzz_targets/common.rs), so every input is checked again, on
//! stable Rust, in every test run: the seeds and past crashes
//! (fuzz/seeds/<target>/, kept by hand) and the corpus the fuzzers kept
//! (fuzz/corpus/<target>/, minimised by `fuzz/run`, docs/RELIABILITY.md).

#[path = "../../fuzz/fuzz_targets/common.rs"]
mod fuzz_targets;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use podium::media::core::SfuCore;
use podium::media::{Protocol, Source};

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = Vec::new();
    for dir in [
        root.join("seeds").join(target),
        root.join("corpus").join(target),
    ] {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        inputs.extend(entries.map(|entry| std::fs::read(entry.unwrap().path()).unwrap()));
    }
    assert!(inputs.len() > 1, "no inputs for {target}");
    inputs
}

#[test]
fn websocket_frames_from_the_corpus_never_panic() {
    corpus("ws_frame")
        .iter()
        .for_each(|d| fuzz_targets::ws_frame(d));
}

#[test]
fn json_bodies_from_the_corpus_never_panic() {
    corpus("json_body")
        .iter()
        .for_each(|d| fuzz_targets::json_body(d));
}

#[test]
fn media_inputs_from_the_corpus_never_panic() {
    corpus("media").iter().for_each(|d| fuzz_targets::media(d));
}

/// The media seeds are offers the engine accepts, so the fuzzer starts from
/// inputs that reach past SDP parsing into negotiation.
#[test]
fn the_seed_offers_are_accepted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/media");
    let offer = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        String::from_utf8(bytes[1..].to_vec()).unwrap()
    };
    let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let mut sink = |_: Protocol, _: SocketAddr, _: &[u8]| {};
    let mut core = SfuCore::new(local);
    let now = Instant::now();
    core.add_publisher(now, 1, 1, Source::Camera, &offer("seed-publish"), &mut sink)
        .expect("the publish seed is accepted");
    core.add_viewer(now, 1, &offer("seed-watch"), &mut sink)
        .expect("the watch seed is accepted");
}
