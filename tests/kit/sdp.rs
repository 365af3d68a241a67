//! SDP offers from a real str0m peer, and posting them as WHIP/WHEP does.

use std::time::Instant;

use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

pub const AV_SEND: [(MediaKind, Direction); 2] = [
    (MediaKind::Audio, Direction::SendOnly),
    (MediaKind::Video, Direction::SendOnly),
];
pub const AV_RECV: [(MediaKind, Direction); 2] = [
    (MediaKind::Audio, Direction::RecvOnly),
    (MediaKind::Video, Direction::RecvOnly),
];

/// An offer for `media` from a peer that will never answer: enough for
/// signalling tests.
pub fn offer(media: &[(MediaKind, Direction)]) -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    rtc.add_local_candidate(Candidate::host("127.0.0.1:9".parse().unwrap(), "udp").unwrap());
    let mut api = rtc.sdp_api();
    for (kind, dir) in media {
        api.add_media(*kind, *dir, None, None, None);
    }
    let (offer, _) = api.apply().unwrap();
    offer.to_sdp_string()
}

/// POSTs `sdp` as `application/sdp`: status, Location and body.
pub async fn post(
    app: &super::Api,
    path: &str,
    token: Option<&str>,
    sdp: String,
) -> (u16, Option<String>, String) {
    let req = app
        .request(awc::http::Method::POST, path, token)
        .insert_header(("Content-Type", "application/sdp"));
    let mut res = req.send_body(sdp).await.unwrap();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    (res.status().as_u16(), location, body)
}
