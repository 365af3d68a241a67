//! Checks on an SDP offer that str0m would otherwise meet with a panic.

use std::collections::HashMap;

/// A payload type that means different codecs (or codec parameters) in
/// different media sections of one offer. str0m asserts that a payload type
/// is bound once, so such an offer must be refused before it gets there.
pub fn conflicting_payload_type(offer: &str) -> Option<u8> {
    // Per payload type: (rtpmap, fmtp) in the sections seen so far, and in
    // the current one.
    let mut seen: HashMap<u8, (String, String)> = HashMap::new();
    let mut current: HashMap<u8, (String, String)> = HashMap::new();
    let mut conflict = None;
    let mut close = |current: &mut HashMap<u8, (String, String)>| {
        for (pt, meaning) in current.drain() {
            match seen.get(&pt) {
                Some(earlier) if *earlier != meaning => {
                    conflict.get_or_insert(pt);
                }
                Some(_) => {}
                None => {
                    seen.insert(pt, meaning);
                }
            }
        }
    };
    for line in offer.lines().map(str::trim_end) {
        if line.starts_with("m=") {
            close(&mut current);
        } else if let Some((pt, value)) = attribute(line, "a=rtpmap:") {
            current.entry(pt).or_default().0 = value.to_ascii_lowercase();
        } else if let Some((pt, value)) = attribute(line, "a=fmtp:") {
            current.entry(pt).or_default().1 = value.to_owned();
        }
    }
    close(&mut current);
    conflict
}

fn attribute<'a>(line: &'a str, prefix: &str) -> Option<(u8, &'a str)> {
    let rest = line.strip_prefix(prefix)?;
    let (pt, value) = rest.split_once(' ')?;
    Some((pt.parse().ok()?, value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIDEO: &str = "m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\n\
        a=rtpmap:96 VP8/90000\r\n\
        a=rtpmap:102 H264/90000\r\n\
        a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n";

    #[test]
    fn the_same_mapping_in_every_section_is_fine() {
        let offer = format!("v=0\r\n{VIDEO}{VIDEO}");
        assert_eq!(conflicting_payload_type(&offer), None);
    }

    #[test]
    fn one_payload_type_with_two_meanings_is_found() {
        let other = VIDEO.replace("42e01f", "42e01e");
        assert_eq!(
            conflicting_payload_type(&format!("v=0\r\n{VIDEO}{other}")),
            Some(102)
        );
        let other = VIDEO.replace("VP8", "VP9");
        assert_eq!(
            conflicting_payload_type(&format!("v=0\r\n{VIDEO}{other}")),
            Some(96)
        );
    }
}
