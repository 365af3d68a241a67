//! The client's address for rate limits. X-Forwarded-For is believed only
//! when the connection comes from a configured proxy; otherwise anyone could
//! pick their own address and slip past the limits.

use std::net::IpAddr;

use actix_web::HttpRequest;

pub fn client_ip(req: &HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(from_forwarded(&forwarded, trusted).unwrap_or(peer))
}

/// The rightmost address that is not one of our proxies: entries left of it
/// were written by the client and prove nothing.
fn from_forwarded(headers: &[&str], trusted: &[IpAddr]) -> Option<IpAddr> {
    for entry in headers.iter().rev().flat_map(|h| h.rsplit(',')) {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            Err(_) => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn rightmost_untrusted_entry_wins() {
        let trusted = [ip("10.0.0.1")];
        assert_eq!(
            from_forwarded(&["6.6.6.6, 203.0.113.7"], &trusted),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            from_forwarded(&["203.0.113.7, 10.0.0.1"], &trusted),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            from_forwarded(&["1.1.1.1", "203.0.113.9"], &trusted),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn garbage_falls_back_to_the_peer() {
        assert_eq!(from_forwarded(&["not-an-ip"], &[]), None);
        assert_eq!(from_forwarded(&[], &[]), None);
    }
}
