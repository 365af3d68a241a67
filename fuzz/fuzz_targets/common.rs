//! What each fuzz target does with its input, shared with
//! tests/api/fuzz_corpus.rs, which replays the committed corpus on stable Rust
//! in every test run. Any error is a fine answer; a panic or a hang is a
//! bug.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use podium::domain::qa::{AnswerText, ChatBody, ClientId, QuestionBody};
use podium::domain::{MaxParticipants, ParticipantName, RoomPassword, RoomTitle, Slug};
use podium::live::protocol;
use podium::media::core::SfuCore;
use podium::media::{Protocol, Source};

/// A WebSocket text frame: parsed, turned into the room's action, and its
/// texts checked the way the room checks them.
pub fn ws_frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = protocol::parse(text) else {
        return;
    };
    let _ = parsed.frame.kind();
    // Making the action parses every text the frame carries.
    let _ = parsed.frame.into_act();
}

/// A REST request body: the first byte picks which route's body it is, the
/// rest is the JSON; then every text a handler would check, checked.
pub fn json_body(data: &[u8]) {
    use podium::http::{chat, join, moderation, questions, rooms};
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    let _ = match which % 5 {
        0 => serde_json::from_slice::<rooms::CreateRoom>(json).map(drop),
        1 => serde_json::from_slice::<join::JoinRequest>(json).map(drop),
        2 => serde_json::from_slice::<chat::Send>(json).map(drop),
        3 => serde_json::from_slice::<questions::Ask>(json).map(drop),
        _ => serde_json::from_slice::<moderation::Patch>(json).map(drop),
    };
    // The same bytes as the texts and numbers those bodies carry.
    if let Ok(text) = std::str::from_utf8(json) {
        let _ = RoomTitle::parse(text);
        let _ = ParticipantName::parse(text);
        let _ = RoomPassword::parse(text);
        let _ = ChatBody::parse(text);
        let _ = QuestionBody::parse(text);
        let _ = AnswerText::parse(text);
        let _ = ClientId::parse(text);
        let _ = Slug::parse(text);
        if let Ok(n) = text.trim().parse::<i64>() {
            let _ = MaxParticipants::parse(n);
        }
    }
}

/// The media engine: the first byte picks an SDP offer to publish, an
/// offer to watch, or a datagram arriving on the media port. One engine
/// serves every input (as one shard serves every peer), so its certificate
/// is made once.
pub fn media(data: &[u8]) {
    thread_local! {
        static CORE: std::cell::RefCell<SfuCore> =
            std::cell::RefCell::new(SfuCore::new("127.0.0.1:5000".parse().unwrap()));
    }
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let from: SocketAddr = "127.0.0.1:6000".parse().unwrap();
    let now = Instant::now();
    let mut sink = |_: Protocol, _: SocketAddr, _: &[u8]| {};
    CORE.with_borrow_mut(|core| match mode % 3 {
        0 | 1 => {
            let Ok(offer) = std::str::from_utf8(rest) else {
                return;
            };
            let added = if mode % 3 == 0 {
                core.add_publisher(now, 1, 1, Source::Camera, offer, &mut sink)
            } else {
                core.add_viewer(now, 1, offer, &mut sink)
            };
            if let Ok((id, _answer)) = added {
                core.handle_datagram(now, from, rest, &mut sink);
                core.handle_timeout(now + Duration::from_secs(1), &mut sink);
                core.remove(id, now);
                core.handle_timeout(now + Duration::from_secs(2), &mut sink);
            }
        }
        _ => core.handle_datagram(now, from, rest, &mut sink),
    });
}
